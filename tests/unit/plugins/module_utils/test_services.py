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
from tests.unit.support.services_fakes import FakeSystemd


WEB = {'name': 'web', 'command': ['/bin/busybox', 'httpd', '-f', '-p', '8080'], 'root': '/srv/web/rootfs',
       'netns': 'web', 'running': True, 'enabled': True}  # the module's defaults of running and enabled


@pytest.fixture
def systemd(tmp_path):
    return FakeSystemd(str(tmp_path))


def service(systemd):
    return WorkloadService(systemd, unit_dir=systemd.unit_dir)


def run(systemd, config, state='merged', check_mode=False):
    return converge(service(systemd), config, state, check_mode)


def test_render_confines_the_process_and_marks_ownership():
    item = service(FakeSystemd('/nonexistent')).normalize({**WorkloadService.defaults, **WEB,
                                                           'environment': {'GREETING': 'a "b" 100%'}})
    text = render(item)
    assert text.startswith(MARK + '{')
    lines = text.splitlines()
    assert 'ExecStart="/bin/busybox" "httpd" "-f" "-p" "8080"' in lines
    assert 'NetworkNamespacePath=/run/netns/web' in lines
    assert 'RootDirectory=/srv/web/rootfs' in lines
    assert 'MountAPIVFS=yes' in lines and 'NoNewPrivileges=yes' in lines and 'Restart=on-failure' in lines
    assert 'Environment="GREETING=a \\"b\\" 100%%"' in lines
    caps = [line for line in lines if line.startswith('CapabilityBoundingSet=')][0].split('=')[1].split()
    assert 'CAP_NET_BIND_SERVICE' in caps and 'CAP_SYS_ADMIN' not in caps
    assert 'running' not in lines[0] and 'enabled' not in lines[0]


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
    assert systemd.verbs() == ['daemon-reload', 'enable', 'start']
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
    assert systemd.calls == [('daemon-reload',), ('restart', unit_name('web'))]


def test_stopped_service_is_started_without_rewriting(systemd):
    run(systemd, [WEB])
    systemd.active.clear()
    systemd.calls.clear()
    result = run(systemd, [WEB])
    assert result['changed']
    assert result['before'][0]['running'] is False
    assert systemd.calls == [('start', unit_name('web'))]


def test_hand_edited_unit_is_rewritten_and_restarted(systemd):
    run(systemd, [WEB])
    path = os.path.join(systemd.unit_dir, unit_name('web'))
    with open(path, 'a') as unit:
        unit.write('ExecStartPre=/bin/true\n')
    systemd.calls.clear()
    assert run(systemd, [WEB])['changed']
    assert ('restart', unit_name('web')) in systemd.calls
    assert 'ExecStartPre' not in open(path).read()


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
    assert systemd.calls[0] == ('disable', '--now', unit_name('db'))
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
                         'capabilities': ['CAP_NET_BIND_SERVICE'], 'revision': '', 'running': True, 'enabled': True}]
    # Fed back as config, gathered output changes nothing.
    assert not run(systemd, gathered, state='overridden')['changed']


def test_a_unit_systemd_has_not_reloaded_gets_a_reload(systemd):
    run(systemd, [WEB])
    systemd.loaded[unit_name('web')] = 'older text'
    systemd.calls.clear()
    # The file is as desired, so nothing is rewritten; only a stopped service would be started.
    systemd.active.clear()
    run(systemd, [WEB])
    assert systemd.calls == [('daemon-reload',), ('start', unit_name('web'))]


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
