# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Health checks: their units, the plan that writes, starts and removes them with the service, the runner's
transitions (the real script, against a fake crun) and the status reader."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _health
from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError, converge
from ansible_collections.anatomy.containers.plugins.module_utils._services import (
    WorkloadService, render, render_health, unit_name,
)
from tests.unit.support.services_fakes import FakeBundleHost, FakeSystemd

WEB = {'name': 'web', 'command': ['/bin/busybox', 'httpd', '-f', '-p', '8080'], 'root': '/srv/web/rootfs',
       'netns': 'web', 'running': True, 'enabled': True}
CHECK = {'test': ['wget', '-q', '-O-', 'http://127.0.0.1:8080/'], 'interval': '5s', 'retries': 2}
HEALTHY = dict(WEB, healthcheck=CHECK)
TIMER, ONESHOT = _health.health_units('web')
BUNDLE = '/var/lib/anatomy/bundles/web'


@pytest.fixture
def systemd(tmp_path):
    units = tmp_path / 'units'
    units.mkdir()
    fake = FakeSystemd(str(units))
    fake.bundles = FakeBundleHost()
    fake.health_dir = str(tmp_path / 'health')
    return fake


def run(systemd, config, state='merged'):
    service = WorkloadService(systemd, unit_dir=systemd.unit_dir, host=systemd.bundles, health_dir=systemd.health_dir)
    return converge(service, config, state)


def normalized(item):
    return WorkloadService(FakeSystemd('/x'), host=FakeBundleHost()).normalize({**WorkloadService.defaults, **item})


def unit_text(systemd, unit):
    with open(os.path.join(systemd.unit_dir, unit)) as handle:
        return handle.read()


# -- rendering ---------------------------------------------------------------------------------------------------------

def test_main_unit_wants_the_timer_and_resets_the_status_at_each_start():
    lines = render(normalized(HEALTHY)).splitlines()
    assert 'Wants=' + TIMER in lines
    assert 'ExecStartPre=-/bin/sh "%s/healthcheck" reset "web"' % BUNDLE in lines
    # The reset comes after the runtime's clean-up, before the container starts.
    assert lines.index('ExecStartPre=-/bin/sh "%s/healthcheck" reset "web"' % BUNDLE) < [
        i for i, line in enumerate(lines) if line.startswith('ExecStart=')][0]


def test_without_a_health_check_the_main_unit_has_nothing_of_it():
    item = normalized(WEB)
    assert 'health' not in render(item).split('\n', 1)[1]
    assert render_health(item) == {}


def test_health_units_run_the_runner_every_interval_tied_to_the_service():
    check = dict(CHECK, test='test -e "/tmp/100%"', timeout='3s', start_period='1m')
    units = render_health(normalized(dict(WEB, healthcheck=check)))
    assert sorted(units) == [ONESHOT, TIMER]
    for text in units.values():
        lines = text.splitlines()
        assert lines[0] == _health.HEALTH_MARK + 'web'
        assert 'PartOf=%s' % unit_name('web') in lines and 'After=%s' % unit_name('web') in lines
        assert not any(line.startswith('[Install]') for line in lines)
    timer = units[TIMER].splitlines()
    for line in ('OnActiveSec=5', 'OnUnitInactiveSec=5', 'AccuracySec=100ms', 'Unit=' + ONESHOT):
        assert line in timer
    oneshot = units[ONESHOT].splitlines()
    assert 'Type=oneshot' in oneshot and 'TimeoutStartSec=33' in oneshot
    # retries, start_period and timeout in seconds, then the test, each word quoted and kept literal.
    assert ('ExecStart="/bin/sh" "' + BUNDLE + '/healthcheck" "check" "web" "2" "60" "3" "/bin/sh" "-c" '
            '"test -e \\"/tmp/100%%\\""') in oneshot


# -- the plan ----------------------------------------------------------------------------------------------------------

def test_create_writes_the_units_and_runner_and_starts_the_timer_in_the_same_calls(systemd):
    result = run(systemd, [HEALTHY, dict(WEB, name='db')])
    assert result['changed']
    assert systemd.verbs() == ['daemon-reload', 'reset-failed', 'enable', 'start']
    assert systemd.calls[-1] == ('start', unit_name('web'), TIMER, unit_name('db'))
    assert systemd.calls[-2] == ('enable', '--no-reload', unit_name('web'), unit_name('db'))
    assert sorted(os.listdir(systemd.unit_dir)) == sorted([unit_name('db'), unit_name('web'), TIMER, ONESHOT])
    assert systemd.bundles.files[BUNDLE + '/healthcheck'] == _health.RUNNER_SCRIPT
    assert '/var/lib/anatomy/bundles/db/healthcheck' not in systemd.bundles.files


def test_second_run_calls_nothing(systemd):
    run(systemd, [HEALTHY])
    systemd.calls.clear()
    assert not run(systemd, [HEALTHY])['changed']
    assert systemd.calls == []


@pytest.mark.parametrize('damage', ['edit', 'remove'])
def test_a_hand_edited_or_missing_health_unit_is_rewritten_and_its_timer_restarted(systemd, damage):
    run(systemd, [HEALTHY])
    path = os.path.join(systemd.unit_dir, ONESHOT if damage == 'remove' else TIMER)
    if damage == 'remove':
        os.unlink(path)
    else:
        with open(path, 'a') as unit:
            unit.write('RandomizedDelaySec=1h\n')
    systemd.calls.clear()
    assert run(systemd, [HEALTHY])['changed']
    # The workload itself is left running.
    assert systemd.calls == [('daemon-reload',), ('reset-failed', TIMER), ('restart', TIMER)]
    assert unit_text(systemd, TIMER) == render_health(normalized(HEALTHY))[TIMER]
    assert os.path.exists(os.path.join(systemd.unit_dir, ONESHOT))


def test_a_hand_edited_runner_is_rewritten(systemd):
    run(systemd, [HEALTHY])
    systemd.bundles.files[BUNDLE + '/healthcheck'] = '#!/bin/sh\nexit 0\n'
    assert run(systemd, [HEALTHY])['changed']
    assert systemd.bundles.files[BUNDLE + '/healthcheck'] == _health.RUNNER_SCRIPT


def test_a_stopped_timer_of_a_running_service_is_started(systemd):
    run(systemd, [HEALTHY])
    systemd.active.discard(TIMER)
    systemd.calls.clear()
    assert run(systemd, [HEALTHY])['changed']
    assert systemd.calls == [('reset-failed', TIMER), ('start', TIMER)]


def test_stopping_the_service_stops_its_timer(systemd):
    run(systemd, [HEALTHY])
    systemd.calls.clear()
    run(systemd, [{'name': 'web', 'running': False}])
    assert systemd.calls == [('stop', unit_name('web'), TIMER)]
    systemd.calls.clear()
    assert not run(systemd, [{'name': 'web', 'running': False}])['changed']


def test_adding_a_health_check_restarts_the_service_with_its_timer(systemd):
    run(systemd, [WEB])
    systemd.calls.clear()
    run(systemd, [HEALTHY])
    assert systemd.verbs() == ['daemon-reload', 'reset-failed', 'restart']
    assert systemd.calls[-1] == ('restart', unit_name('web'), TIMER)


def test_removing_the_health_check_removes_its_units_runner_and_status(systemd):
    run(systemd, [HEALTHY])
    os.makedirs(os.path.join(systemd.health_dir, 'web.state'))
    with open(os.path.join(systemd.health_dir, 'web.json'), 'w') as status:
        status.write('{"status": "healthy", "failing_streak": 0, "log": []}')
    systemd.calls.clear()
    result = run(systemd, [dict(WEB, healthcheck=None)], state='replaced')
    assert result['changed'] and result['after'][0]['healthcheck'] is None
    assert systemd.calls[0] == ('disable', '--no-reload', '--now', ONESHOT, TIMER)
    assert systemd.calls[-1] == ('restart', unit_name('web'))
    assert os.listdir(systemd.unit_dir) == [unit_name('web')]
    assert BUNDLE + '/healthcheck' not in systemd.bundles.files
    assert os.listdir(systemd.health_dir) == []
    systemd.calls.clear()
    assert not run(systemd, [WEB], state='replaced')['changed'] and systemd.calls == []


def test_an_empty_health_check_removes_it_under_merged(systemd):
    run(systemd, [HEALTHY])
    # Ansible hands {} over with every suboption None.
    empty = {'test': None, 'interval': None, 'timeout': None, 'retries': None, 'start_period': None}
    result = run(systemd, [{'name': 'web', 'healthcheck': empty}])
    assert result['changed'] and result['after'][0]['healthcheck'] is None
    assert os.listdir(systemd.unit_dir) == [unit_name('web')]
    with pytest.raises(ResourceError, match='healthcheck must be a mapping with test'):
        run(systemd, [{'name': 'web', 'healthcheck': dict(empty, interval='5s')}])


def test_deleting_the_service_removes_its_health_check_in_the_same_calls(systemd):
    run(systemd, [HEALTHY])
    systemd.calls.clear()
    run(systemd, None, state='deleted')
    assert systemd.calls[0] == ('disable', '--no-reload', '--now', unit_name('web'), ONESHOT, TIMER)
    assert systemd.verbs() == ['disable', 'daemon-reload', 'reset-failed']
    assert os.listdir(systemd.unit_dir) == [] and systemd.bundles.files == {}


def test_gathered_reads_the_health_check_back(systemd):
    run(systemd, [HEALTHY])
    gathered = run(systemd, None, state='gathered')['gathered']
    assert gathered[0]['healthcheck'] == {'test': CHECK['test'], 'interval': 5, 'timeout': 30, 'retries': 2,
                                          'start_period': 0}
    assert not run(systemd, gathered, state='overridden')['changed']


def test_a_service_named_for_another_ones_health_check_is_refused(systemd):
    with pytest.raises(ResourceError, match='health check would take the unit of the service web-health'):
        run(systemd, [HEALTHY, dict(WEB, name='web-health')])
    assert systemd.calls == [] and os.listdir(systemd.unit_dir) == []


def test_a_foreign_timer_in_the_way_is_refused(systemd):
    with open(os.path.join(systemd.unit_dir, TIMER), 'w') as unit:
        unit.write('[Timer]\nOnCalendar=daily\n')
    with pytest.raises(ResourceError, match='not managed by'):
        run(systemd, [HEALTHY])
    assert systemd.calls == [] and os.listdir(systemd.unit_dir) == [TIMER]
    # Without a health check, the service does not care.
    assert run(systemd, [WEB])['changed']
    assert unit_text(systemd, TIMER) == '[Timer]\nOnCalendar=daily\n'


# -- the status reader -------------------------------------------------------------------------------------------------

def test_read_health_returns_the_status_or_none(tmp_path):
    assert _health.read_health('web', str(tmp_path)) is None
    status = {'status': 'unhealthy', 'failing_streak': 3,
              'log': [{'start': 'a', 'end': 'b', 'exit_code': 1, 'output': 'no\n'}]}
    (tmp_path / 'web.json').write_text(json.dumps(status))
    assert _health.read_health('web', str(tmp_path)) == status
    (tmp_path / 'web.json').write_bytes(b'{"status": "healthy", "failing_streak": 0, "log": [{"output": "\xff"}]}')
    assert _health.read_health('web', str(tmp_path))['log'][0]['output'] == '\ufffd'
    for broken in (b'{"status": "healthy"', b'[]', b'{"status": "fine"}'):
        (tmp_path / 'web.json').write_bytes(broken)
        assert _health.read_health('web', str(tmp_path)) is None


# -- the runner, for real, against a fake crun -------------------------------------------------------------------------

FAKE_CRUN = '''#!/bin/sh
# crun --root ROOT state|exec NAME ...: the container is "running" unless DOWN exists; exec runs on this machine.
shift 2
case $1 in
state) [ -e "%(dir)s/DOWN" ] && exit 1; printf '{\\n  "id": "%%s",\\n  "status": "running"\\n}\\n' "$2" ;;
exec) shift 2; exec "$@" ;;
esac
'''


class Runner:
    def __init__(self, tmp_path):
        self.dir = str(tmp_path)
        self.health = os.path.join(self.dir, 'health')
        self.script = os.path.join(self.dir, 'healthcheck')
        with open(self.script, 'w') as handle:
            handle.write(_health.RUNNER_SCRIPT)
        crun = os.path.join(self.dir, 'crun')
        with open(crun, 'w') as handle:
            handle.write(FAKE_CRUN % {'dir': self.dir})
        os.chmod(crun, 0o755)
        self.env = dict(os.environ, ANATOMY_HEALTH_CRUN=crun, ANATOMY_HEALTH_DIR=self.health)

    def __call__(self, *args):
        proc = subprocess.run(['/bin/sh', self.script] + list(args), env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, check=False, timeout=30)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def check(self, *test, retries=3, start_period=0, timeout=5):
        return self('check', 'web', str(retries), str(start_period), str(timeout), *test)

    def status(self):
        return _health.read_health('web', self.health)


@pytest.fixture
def runner(tmp_path):
    if not all(shutil.which(tool) for tool in ('date', 'timeout', 'sed', 'awk', 'head', 'tr')):
        pytest.skip('the runner needs coreutils, sed and awk')
    return Runner(tmp_path)


def test_runner_reset_writes_starting(runner):
    runner('reset', 'web')
    assert runner.status() == {'status': 'starting', 'failing_streak': 0, 'log': []}


def test_runner_success_is_healthy_and_retries_failures_are_unhealthy(runner):
    runner('reset', 'web')
    runner.check('true')
    assert runner.status()['status'] == 'healthy'
    for streak in (1, 2):
        out = runner.check('sh', '-c', 'echo "not \\"yet\\"\t\\\\"; exit 1', retries=3)
        assert 'check failed with exit code 1' in out
        assert runner.status()['status'] == 'healthy' and runner.status()['failing_streak'] == streak
    out = runner.check('false', retries=3)
    assert runner.status()['status'] == 'unhealthy' and runner.status()['failing_streak'] == 3
    assert '<4>web is unhealthy' in out
    log = runner.status()['log']
    assert [entry['exit_code'] for entry in log] == [0, 1, 1, 1]
    assert log[1]['output'] == 'not "yet"\t\\\n'
    assert log[0]['start'] <= log[0]['end'] <= log[1]['start'] and log[0]['start'].endswith('Z')
    runner.check('true')
    assert runner.status()['status'] == 'healthy' and runner.status()['failing_streak'] == 0


def test_runner_failures_in_the_start_period_do_not_count_but_a_success_does(runner):
    runner('reset', 'web')
    for _attempt in range(3):
        runner.check('false', retries=1, start_period=60)
    assert runner.status()['status'] == 'starting' and runner.status()['failing_streak'] == 0
    runner.check('true', retries=1, start_period=60)
    assert runner.status()['status'] == 'healthy'
    # Once healthy, the start period is over for Docker too: the next failure counts.
    runner.check('false', retries=1, start_period=60)
    assert runner.status()['status'] == 'unhealthy'
    # A restart resets the status and streak and keeps the log.
    runner('reset', 'web')
    assert runner.status()['status'] == 'starting' and runner.status()['failing_streak'] == 0
    assert len(runner.status()['log']) == 5


def test_runner_after_the_start_period_failures_count(runner):
    runner('reset', 'web')
    with open(os.path.join(runner.health, 'web.state', 'since'), 'w') as since:
        since.write('%d\n' % (time.time() - 120))
    runner.check('false', retries=1, start_period=60)
    assert runner.status()['status'] == 'unhealthy'


def test_runner_kills_a_test_at_its_timeout(runner):
    runner('reset', 'web')
    began = time.time()
    runner.check('sleep', '30', timeout=1, retries=1)
    assert time.time() - began < 10
    status = runner.status()
    assert status['status'] == 'unhealthy'
    assert status['log'][-1]['exit_code'] == -1 and status['log'][-1]['output'] == 'Health check exceeded timeout (1s)\n'


def test_runner_keeps_five_entries_of_4_kib_at_most(runner):
    runner('reset', 'web')
    for code in range(7):
        runner.check('sh', '-c', 'head -c 10000 /dev/zero | tr "\\0" x; exit %d' % code, retries=100)
    log = runner.status()['log']
    assert [entry['exit_code'] for entry in log] == [2, 3, 4, 5, 6]
    assert all(entry['output'] == 'x' * 4096 + '\n' for entry in log)
    assert not [name for name in os.listdir(runner.health) if name.endswith('.tmp')]


def test_runner_skips_a_container_that_is_not_running(runner):
    runner('reset', 'web')
    open(os.path.join(runner.dir, 'DOWN'), 'w').close()
    runner.check('false', retries=1)
    assert runner.status() == {'status': 'starting', 'failing_streak': 0, 'log': []}


def test_runner_without_a_reset_starts_from_starting(runner):
    runner.check('true')
    assert runner.status()['status'] == 'healthy'
