# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Health checks of workload_service on a real lab host: the test runs inside the container every second, and its
status in /run/anatomy/health/NAME.json moves as Docker's does.

A check's test is ``test -e /tmp/ok`` inside the workload: the file is made and removed from the host, in the
workload's root directory.
"""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _health
from tests.integration.test_overlay_mount import converge_checked
from tests.integration.test_workload_service import BASE, M, UNIT_DIR, main_pid, make_root, root, service

HEALTH_DIR = '/run/anatomy/health'
TIMER = 'anatomy-workload-%s-health.timer'
ONESHOT = 'anatomy-workload-%s-health.service'


def checked(name, test='test -e /tmp/ok', **check):
    return service(name, healthcheck=dict({'test': test, 'interval': '1s', 'timeout': '2s', 'retries': 2}, **check))


def status(host, name):
    out = host.run('cat %s/%s.json' % (HEALTH_DIR, name), check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def wait_status(host, name, wanted, timeout=30, seen=None):
    """Poll the status file until its status is WANTED; every status read on the way is appended to SEEN."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        current = status(host, name)
        if seen is not None and current:
            seen.append(current)
        if current and current['status'] == wanted:
            return current
        time.sleep(0.2)
    raise AssertionError('%s never turned %s on %s: %s' % (name, wanted, host.name, status(host, name)))


def active(host, unit):
    return host.run('systemctl is-active %s' % unit, check=False).stdout.strip()


def ok(host, name, present=True):
    host.run(('touch %s/tmp/ok' if present else 'rm -f %s/tmp/ok') % root(name))


def clean(ansible, host):
    ansible.tasks(host, [{M + 'workload_service': {'state': 'deleted'}},
                         {M + 'netns': {'state': 'deleted'}}])
    host.run('rm -rf %s' % BASE)


@pytest.fixture
def host(hosts, ansible):
    host = hosts[0]
    clean(ansible, host)
    make_root(host, 'alpha')
    results = ansible.tasks(host, [{M + 'netns': {'config': [{'name': 'alpha'}]}}])
    assert results[0]['_status'] == 'ok', results[0].get('msg')
    yield host
    clean(ansible, host)
    # Everything of the health checks went with the services.
    assert host.run('ls %s | grep -c -- -health || true' % UNIT_DIR).stdout.strip() == '0'
    assert host.run('ls %s' % HEALTH_DIR, check=False).stdout.strip() == ''


def test_a_passing_check_runs_inside_the_workload_and_turns_healthy(ansible, host, tmp_path):
    # What only the workload's own root holds: the check runs in the container, not on the host.
    applied = converge_checked(ansible, host, 'workload_service', {
        'config': [checked('alpha', test=['/bin/sh', '-c', 'cat /whoami; hostname'])]})
    assert applied['after'][0]['healthcheck'] == {'test': ['/bin/sh', '-c', 'cat /whoami; hostname'], 'interval': 1,
                                                  'timeout': 2, 'retries': 2, 'start_period': 0}
    assert active(host, TIMER % 'alpha') == 'active'
    healthy = wait_status(host, 'alpha', 'healthy')
    assert healthy['failing_streak'] == 0
    assert healthy['log'][-1]['exit_code'] == 0 and healthy['log'][-1]['output'] == 'alpha\nalpha\n'
    assert healthy['log'][-1]['start'] <= healthy['log'][-1]['end']
    # It goes on every interval: the log grows to Docker's five entries and stays there.
    deadline = time.time() + 20
    while len(status(host, 'alpha')['log']) < 5 and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(2)
    assert len(status(host, 'alpha')['log']) == 5
    # The reader of module_utils reads what the runner wrote.
    (tmp_path / 'alpha.json').write_bytes(host.run('cat %s/alpha.json' % HEALTH_DIR).stdout.encode())
    assert _health.read_health('alpha', str(tmp_path))['status'] == 'healthy'


def test_a_failing_check_turns_unhealthy_after_retries_and_back_when_fixed(ansible, host):
    ok(host, 'alpha')
    ansible(host, M + 'workload_service', {'config': [checked('alpha', retries=3)]})
    wait_status(host, 'alpha', 'healthy')
    pid = main_pid(host, 'alpha')
    ok(host, 'alpha', present=False)
    seen = []
    unhealthy = wait_status(host, 'alpha', 'unhealthy', seen=seen)
    # Healthy with 1 and 2 failures in a row, unhealthy at the third.
    assert all(s['status'] == 'healthy' for s in seen if s['failing_streak'] < 3)
    assert unhealthy['failing_streak'] >= 3 and any(s['failing_streak'] in (1, 2) for s in seen)
    assert [entry['exit_code'] for entry in unhealthy['log'][-3:]] == [1, 1, 1]
    # Unhealthy is not restarted, as with Docker.
    time.sleep(2)
    assert main_pid(host, 'alpha') == pid and active(host, 'anatomy-workload-alpha.service') == 'active'
    journal = host.run('journalctl -u %s --no-pager' % (ONESHOT % 'alpha')).stdout
    assert 'alpha is unhealthy' in journal and 'check failed with exit code 1' in journal
    ok(host, 'alpha')
    assert wait_status(host, 'alpha', 'healthy')['failing_streak'] == 0


def test_failures_in_the_start_period_do_not_count(ansible, host):
    began = time.time()
    ansible(host, M + 'workload_service', {'config': [checked('alpha', retries=1, start_period='8s')]})
    time.sleep(4)
    starting = status(host, 'alpha')
    assert starting['status'] == 'starting' and starting['failing_streak'] == 0
    assert starting['log'] and all(entry['exit_code'] == 1 for entry in starting['log'])
    wait_status(host, 'alpha', 'unhealthy')
    assert time.time() - began >= 8
    # A success within the start period makes it healthy at once.
    ok(host, 'alpha')
    ansible(host, M + 'workload_service', {'config': [checked('alpha', retries=1, start_period='60s')]})
    assert wait_status(host, 'alpha', 'healthy', timeout=15)


def test_stopping_the_workload_stops_the_timer_and_a_restart_resets_the_status(ansible, host):
    ok(host, 'alpha')
    ansible(host, M + 'workload_service', {'config': [checked('alpha', retries=100)]})
    wait_status(host, 'alpha', 'healthy')
    stopped = ansible(host, M + 'workload_service', {'config': [{'name': 'alpha', 'running': False}]})
    assert stopped['changed']
    assert active(host, TIMER % 'alpha') == 'inactive'
    log = status(host, 'alpha')['log']
    time.sleep(3)
    assert status(host, 'alpha')['log'] == log
    ansible(host, M + 'workload_service', {'config': [{'name': 'alpha', 'running': True}]})
    assert active(host, TIMER % 'alpha') == 'active'
    wait_status(host, 'alpha', 'healthy')
    # A restart of the service (by hand: PartOf= restarts the timer with it) starts again from "starting";
    # never healthy since, failures do not make it unhealthy before the retries.
    ok(host, 'alpha', present=False)
    host.run('systemctl restart anatomy-workload-alpha.service')
    time.sleep(3)
    current = status(host, 'alpha')
    assert current['status'] == 'starting' and current['failing_streak'] >= 1
    assert active(host, TIMER % 'alpha') == 'active'
    # A hand-stopped timer of a running workload is started again.
    host.run('systemctl stop %s' % (TIMER % 'alpha'))
    result = ansible(host, M + 'workload_service', {'config': [checked('alpha', retries=100)]})
    assert result['changed'] and active(host, TIMER % 'alpha') == 'active'


def test_removing_the_healthcheck_removes_its_units(ansible, host):
    ok(host, 'alpha')
    ansible(host, M + 'workload_service', {'config': [checked('alpha')]})
    wait_status(host, 'alpha', 'healthy')
    # A hand-edited unit is rewritten.
    host.run("sed -i 's/^OnUnitInactiveSec=1$/OnUnitInactiveSec=3600/' %s/%s" % (UNIT_DIR, TIMER % 'alpha'))
    assert ansible(host, M + 'workload_service', {'config': [checked('alpha')]})['changed']
    assert 'OnUnitInactiveSec=1\n' in host.run('cat %s/%s' % (UNIT_DIR, TIMER % 'alpha')).stdout
    pid = main_pid(host, 'alpha')
    removed = ansible(host, M + 'workload_service', {'config': [{'name': 'alpha', 'healthcheck': {}}]})
    assert removed['changed'] and removed['after'][0]['healthcheck'] is None
    for unit in (TIMER % 'alpha', ONESHOT % 'alpha'):
        assert host.run('test -e %s/%s' % (UNIT_DIR, unit), check=False).returncode == 1
        assert active(host, unit) == 'inactive'
    assert status(host, 'alpha') is None
    assert host.run('test -e /var/lib/anatomy/bundles/alpha/healthcheck', check=False).returncode == 1
    assert main_pid(host, 'alpha') != pid and active(host, 'anatomy-workload-alpha.service') == 'active'
    assert ansible(host, M + 'workload_service', {'config': [{'name': 'alpha', 'healthcheck': {}}]})['changed'] is False
