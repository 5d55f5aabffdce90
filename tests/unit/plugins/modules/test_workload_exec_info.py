# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""workload_exec and workload_info main(): the argument specs, the docs, and what each reports, against fakes."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.anatomy.containers.plugins.module_utils import _workload_inspect as inspect
from ansible_collections.anatomy.containers.plugins.modules import workload_exec, workload_info
from tests.unit.support.modules import read_output, run_main


@pytest.fixture
def output(capsys):
    return read_output(capsys)


@pytest.mark.parametrize('module, spec', [(workload_exec, inspect.WORKLOAD_EXEC_ARGUMENT_SPEC),
                                          (workload_info, inspect.WORKLOAD_INFO_ARGUMENT_SPEC)])
def test_documented_options_match_the_argument_spec(module, spec):
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert set(doc['options']) == set(spec)
    for name, option in doc['options'].items():
        assert option['type'] == spec[name]['type'], name
        assert option.get('default') == spec[name].get('default'), name
        assert option.get('required', False) == spec[name].get('required', False), name
        assert option.get('elements') == spec[name].get('elements'), name
    assert set(doc['attributes']) == {'check_mode', 'diff_mode', 'platform'}
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)


class FakeExec:
    def __init__(self, rc=0, out=b'1000\n', err=b''):
        self.answer = (rc, out, err)
        self.prepared = []
        self.ran = []

    def prepare(self, name, argv, user, environment, working_dir):
        self.prepared.append((name, argv, user, environment, working_dir))
        return {'args': argv, 'user': {'uid': 1000, 'gid': 1000}}

    @staticmethod
    def cgroups(name):
        return ['/sys/fs/cgroup/system.slice/anatomy-workload-%s.service' % name]

    def run(self, name, process, stdin, cgroups):
        self.ran.append((name, process, stdin, cgroups))
        return self.answer


@pytest.fixture
def fake_exec(monkeypatch):
    fake = FakeExec()
    monkeypatch.setattr(inspect, 'WorkloadExec', lambda: fake)
    return fake


def test_exec_reports_as_command_does_and_is_changed(fake_exec, output):
    run_main(workload_exec, {'name': 'web', 'command': 'id -u', 'environment': {'A': 1}, 'stdin': 'x'})
    result = output()
    assert result['changed'] is True and result['rc'] == 0 and result['stdout'] == '1000'
    assert result['stdout_lines'] == ['1000'] and result['cmd'] == ['id', '-u'] and 'failed' not in result
    assert result['user'] == {'uid': 1000, 'gid': 1000}
    assert fake_exec.prepared == [('web', ['id', '-u'], None, {'A': '1'}, None)]
    assert fake_exec.ran[0][2] == b'x\n'
    assert fake_exec.ran[0][3] == ['/sys/fs/cgroup/system.slice/anatomy-workload-web.service']


def test_exec_fails_on_a_non_zero_status_with_its_output(fake_exec, output):
    fake_exec.answer = (3, b'', b'nope\n')
    run_main(workload_exec, {'name': 'web', 'command': ['false'], 'stdin': 'x', 'stdin_add_newline': False})
    result = output()
    assert result['failed'] is True and result['rc'] == 3 and result['stderr'] == 'nope'
    assert result['msg'] == 'non-zero return code' and result['changed'] is True
    assert fake_exec.ran[0][2] == b'x'


def test_exec_in_check_mode_runs_nothing_and_is_skipped(fake_exec, output):
    run_main(workload_exec, {'name': 'web', 'command': ['touch', '/x']}, check=True)
    result = output()
    assert result['skipped'] is True and result['changed'] is False and result['cmd'] == ['touch', '/x']
    assert fake_exec.prepared == [] and fake_exec.ran == []


def test_exec_fails_clearly_before_running_anything(fake_exec, output, monkeypatch):
    def unknown(*_args):
        raise inspect.WorkloadError("no workload 'nope' on this host", field='name')
    monkeypatch.setattr(fake_exec, 'prepare', unknown)
    run_main(workload_exec, {'name': 'nope', 'command': 'id'})
    result = output()
    assert result['failed'] is True and result['msg'] == "no workload 'nope' on this host" and result['field'] == 'name'
    assert fake_exec.ran == []
    run_main(workload_exec, {'name': 'web', 'command': ''})
    assert output()['field'] == 'command'


def test_info_reports_workloads_and_warns_of_names_that_are_none(monkeypatch, output):
    seen = []

    class FakeInfo:
        def __init__(self, reads, runner, warn=None):
            seen.append((reads, runner))

        def gather(self, names):
            return [{'name': 'web'}], [n for n in names if n != 'web']

    monkeypatch.setattr(inspect, 'WorkloadInfo', FakeInfo)
    run_main(workload_info, {'name': ['web', 'ghost']}, check=True)
    result = output()
    assert result['changed'] is False and result['workloads'] == [{'name': 'web'}] and result['missing'] == ['ghost']
    run_main(workload_info, {'name': ['Bad/name']})
    assert output()['failed'] is True
