# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workload services: unit rendering, ownership, and the systemctl calls a plan makes, against a fake systemd."""

from __future__ import annotations

import os

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError, converge
from ansible_collections.anatomy.containers.plugins.module_utils._services import (
    MARK, WorkloadService, parse_show, quote_arg, render, unit_name,
)
from tests.unit.support.services_fakes import FakeBundleHost, FakeSystemd


WEB = {'name': 'web', 'command': ['/bin/busybox', 'httpd', '-f', '-p', '8080'], 'root': '/srv/web/rootfs',
       'netns': 'web', 'running': True, 'enabled': True}  # the module's defaults of running and enabled


@pytest.fixture
def systemd(tmp_path):
    return FakeSystemd(str(tmp_path))


def service(systemd):
    if not hasattr(systemd, 'bundles'):
        systemd.bundles = FakeBundleHost()
    return WorkloadService(systemd, unit_dir=systemd.unit_dir, host=systemd.bundles)


def run(systemd, config, state='merged', check_mode=False):
    return converge(service(systemd), config, state, check_mode)


def test_render_runs_the_bundle_through_crun_and_marks_ownership():
    item = service(FakeSystemd('/nonexistent')).normalize({**WorkloadService.defaults, **WEB,
                                                           'environment': {'GREETING': 'a "b" 100%'}})
    text = render(item)
    assert text.startswith(MARK + '{')
    lines = text.splitlines()
    assert ('ExecStart="/usr/bin/crun" "--root" "/run/anatomy/crun" --cgroup-manager=disabled run --no-new-keyring '
            '--bundle "/var/lib/anatomy/bundles/web" "web"') in lines
    stop_post = [line for line in lines if line.startswith('ExecStopPost=-/bin/sh -c ')]
    assert len(stop_post) == 1 and '/usr/bin/crun --root /run/anatomy/crun delete --force \\"$$0\\"' in stop_post[0]
    assert stop_post[0].endswith(' "web"')
    assert 'KillMode=mixed' in lines and 'TimeoutStopSec=10' in lines and 'Restart=on-failure' in lines
    assert 'DevicePolicy=closed' in lines
    # Not the host's /dev/null: the runtime hands its stdin to the container's user.
    assert 'StandardInput=file:/var/lib/anatomy/bundles/web/stdin' in lines
    # What the container is lives in its bundle, not in the unit.
    assert not any(line.startswith(('RootDirectory=', 'Environment=', 'User=')) for line in lines)
    assert 'running' not in lines[0] and 'enabled' not in lines[0]


@pytest.mark.parametrize('policy, unit, service_lines', [
    ('no', ['StartLimitIntervalSec=0'], ['Restart=no']),
    ('on-failure', ['StartLimitIntervalSec=0'], ['Restart=on-failure']),
    ('on-failure:3', ['StartLimitIntervalSec=infinity', 'StartLimitBurst=4'], ['Restart=on-failure']),
    ('always', ['StartLimitIntervalSec=0'], ['Restart=always']),
    ('unless-stopped', ['StartLimitIntervalSec=0'], ['Restart=always']),
])
def test_restart_policies_map_onto_systemd(policy, unit, service_lines):
    lines = render(service(FakeSystemd('/x')).normalize({**WorkloadService.defaults, **WEB, 'restart': policy})).splitlines()
    for line in unit + service_lines:
        assert line in lines


def test_limits_are_systemd_settings_of_the_unit():
    item = service(FakeSystemd('/x')).normalize({**WorkloadService.defaults, **WEB, 'stop_timeout': 3,
                                                 'limits': {'memory': '64m', 'cpus': 0.5, 'cpu_shares': 512, 'pids': 20}})
    lines = render(item).splitlines()
    assert item['limits'] == {'memory': 64 * 1024 * 1024, 'cpus': 0.5, 'cpu_shares': 512, 'pids': 20}
    for line in ('MemoryMax=67108864', 'CPUQuota=50%', 'CPUWeight=20', 'TasksMax=20', 'TimeoutStopSec=3'):
        assert line in lines


def test_quote_arg_keeps_specifiers_and_variables_literal():
    assert quote_arg('100%') == '"100%%"'
    assert quote_arg('$HOME') == '"$$HOME"'
    assert quote_arg('a\\b"c') == '"a\\\\b\\"c"'


def test_parse_show_splits_blocks():
    text = 'Id=a.service\nActiveState=active\n\nId=b.service\nActiveState=failed\nUnitFileState=enabled\n'
    assert parse_show(text) == {
        'a.service': {'Id': 'a.service', 'ActiveState': 'active'},
        'b.service': {'Id': 'b.service', 'ActiveState': 'failed', 'UnitFileState': 'enabled'},
    }


def test_create_writes_units_and_calls_systemctl_once_per_verb(systemd):
    config = [{**WEB, 'name': 'w%d' % i} for i in range(5)]
    result = run(systemd, config)
    assert result['changed']
    assert systemd.verbs() == ['daemon-reload', 'reset-failed', 'enable', 'start']
    assert len(systemd.calls[-1]) == 6
    assert sorted(os.listdir(systemd.unit_dir)) == sorted(unit_name('w%d' % i) for i in range(5))
    assert all(item['running'] and item['enabled'] for item in result['after'])


def test_second_run_changes_nothing_and_calls_nothing_but_show(systemd):
    run(systemd, [WEB])
    systemd.calls.clear()
    result = run(systemd, [WEB])
    assert not result['changed']
    assert systemd.calls == []


def test_changed_definition_restarts_that_service_only(systemd):
    run(systemd, [WEB, {**WEB, 'name': 'db'}])
    systemd.calls.clear()
    result = run(systemd, [{**WEB, 'revision': 'layers changed'}, {**WEB, 'name': 'db'}])
    assert result['changed']
    assert systemd.calls == [('daemon-reload',), ('reset-failed', unit_name('web')), ('restart', unit_name('web'))]


def test_stopped_service_is_started_without_rewriting(systemd):
    run(systemd, [WEB])
    systemd.active.clear()
    systemd.calls.clear()
    result = run(systemd, [WEB])
    assert result['changed']
    assert result['before'][0]['running'] is False
    assert systemd.calls == [('reset-failed', unit_name('web')), ('start', unit_name('web'))]


def test_hand_edited_unit_is_rewritten_and_restarted(systemd):
    run(systemd, [WEB])
    path = os.path.join(systemd.unit_dir, unit_name('web'))
    with open(path, 'a') as unit:
        unit.write('ExecStartPost=/bin/true\n')
    systemd.calls.clear()
    assert run(systemd, [WEB])['changed']
    assert ('restart', unit_name('web')) in systemd.calls
    assert 'ExecStartPost' not in open(path).read()


def test_running_false_stops_and_keeps_the_unit(systemd):
    run(systemd, [WEB])
    systemd.calls.clear()
    result = run(systemd, [{'name': 'web', 'running': False, 'enabled': True}])
    assert systemd.calls == [('stop', unit_name('web'))]
    assert result['after'][0]['running'] is False and result['after'][0]['enabled'] is True


def test_overridden_removes_unlisted_services(systemd):
    run(systemd, [WEB, {**WEB, 'name': 'db'}])
    systemd.calls.clear()
    result = run(systemd, [WEB], state='overridden')
    assert [item['name'] for item in result['after']] == ['web']
    assert systemd.calls[0] == ('disable', '--no-reload', '--now', unit_name('db'))
    assert ('daemon-reload',) in systemd.calls
    assert os.listdir(systemd.unit_dir) == [unit_name('web')]


def test_deleted_without_config_removes_every_owned_service_but_not_others(systemd):
    run(systemd, [WEB])
    foreign = os.path.join(systemd.unit_dir, unit_name('theirs'))
    with open(foreign, 'w') as unit:
        unit.write('[Service]\nExecStart=/bin/true\n')
    result = run(systemd, None, state='deleted')
    assert result['after'] == []
    assert os.listdir(systemd.unit_dir) == [unit_name('theirs')]


def test_foreign_unit_of_the_same_name_is_refused(systemd):
    with open(os.path.join(systemd.unit_dir, unit_name('web')), 'w') as unit:
        unit.write('[Service]\nExecStart=/bin/true\n')
    with pytest.raises(ResourceError, match='not managed by'):
        run(systemd, [WEB])
    assert systemd.calls == []


def test_check_mode_predicts_and_changes_nothing(systemd):
    result = run(systemd, [WEB], check_mode=True)
    assert result['changed'] and result['after'][0]['name'] == 'web'
    assert os.listdir(systemd.unit_dir) == [] and systemd.calls == []


def test_gathered_reads_definitions_back_in_config_shape(systemd):
    run(systemd, [{**WEB, 'environment': {'A': '1'}, 'capabilities': ['net_bind_service']}])
    gathered = run(systemd, None, state='gathered')['gathered']
    assert gathered == [{'name': 'web', 'command': WEB['command'], 'root': '/srv/web/rootfs', 'netns': 'web',
                         'user': 'root', 'working_dir': '/', 'environment': {'A': '1'},
                         'capabilities': ['CAP_NET_BIND_SERVICE'], 'revision': '', 'running': True, 'enabled': True,
                         'hostname': 'web', 'bundle': '/var/lib/anatomy/bundles/web', 'seccomp': 'default', 'no_new_privileges': True,
                         'limits': {}, 'ulimits': {}, 'restart': 'on-failure', 'stop_timeout': 10,
                         'stop_signal': 'SIGTERM', 'healthcheck': None}]
    # Fed back as config, gathered output changes nothing.
    assert not run(systemd, gathered, state='overridden')['changed']


def test_a_unit_systemd_has_not_reloaded_gets_a_reload(systemd):
    run(systemd, [WEB])
    systemd.loaded[unit_name('web')] = 'older text'
    systemd.calls.clear()
    # The file is as desired, so nothing is rewritten; only a stopped service would be started.
    systemd.active.clear()
    run(systemd, [WEB])
    assert systemd.calls == [('daemon-reload',), ('reset-failed', unit_name('web')), ('start', unit_name('web'))]


def test_systemctl_failure_is_reported_as_the_resource_error(systemd):
    systemd.fail = 'start'
    with pytest.raises(ResourceError, match='systemctl start'):
        run(systemd, [WEB])


@pytest.mark.parametrize('change, field', [
    ({'name': 'Web'}, 'name'),
    ({'name': 'a/b'}, 'name'),
    ({'command': []}, 'command'),
    ({'command': ['/bin/sh', 'a\nb']}, 'command'),
    ({'root': 'relative'}, 'root'),
    ({'working_dir': 'tmp'}, 'working_dir'),
    ({'netns': 'a/b'}, 'netns'),
    ({'user': 'a b'}, 'user'),
    ({'environment': {'1A': 'x'}}, 'environment'),
    ({'environment': {'A': 'x\ny'}}, 'environment'),
    ({'capabilities': ['sys admin']}, 'capabilities'),
])
def test_bad_input_fails_naming_the_field_before_any_change(systemd, change, field):
    with pytest.raises(ResourceError) as error:
        run(systemd, [{**WEB, **change}])
    assert error.value.details.get('field') == field
    assert systemd.calls == [] and os.listdir(systemd.unit_dir) == []


def test_new_service_without_command_is_refused(systemd):
    with pytest.raises(ResourceError, match='command is required'):
        run(systemd, [{'name': 'web', 'root': '/srv'}])
