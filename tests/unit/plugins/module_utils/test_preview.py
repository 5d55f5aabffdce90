# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The preview module: each task run as its module runs in check mode, against fakes, no root."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.anatomy.containers.plugins.module_utils import _preview
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import engine
from ansible_collections.anatomy.containers.plugins.module_utils._resource import Resource, ResourceError, run_module
from ansible_collections.anatomy.containers.plugins.module_utils._shared_strings import SHARED_STRING, share_strings
from ansible_collections.anatomy.containers.plugins.modules import bridge, nat_masquerade, preview

_SPEC = importlib.util.spec_from_file_location(
    'netfilter_engine_tests', Path(__file__).parent / 'test_netfilter_engine.py')
FAKES = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(FAKES)

MODULES_DIR = Path(__file__).parents[4] / 'plugins' / 'modules'


class Host:
    """The preview's own AnsibleModule, as far as the previewed modules use it."""

    def __init__(self):
        self.warnings = []

    def run_command(self, *args, **kwargs):
        raise AssertionError('no command expected')

    def get_bin_path(self, name, *args, **kwargs):
        return None

    def warn(self, msg):
        self.warnings.append(msg)


@pytest.fixture
def output(capsys):
    return lambda: json.loads(capsys.readouterr().out)


def run_main(module, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()


@pytest.fixture
def runner(monkeypatch):
    """The netfilter modules' commands, faked (an in-memory iptables), and no lock file."""
    fake = FAKES.FakeRunner()
    monkeypatch.setattr(engine, 'ModuleRunner', lambda _module: fake)
    monkeypatch.setattr(engine.run_netfilter_module, '__defaults__', (contextlib.nullcontext, None))
    return fake


class Things(Resource):
    """A fake resource: names in a set; 'bad' is refused, 'boom' crashes."""

    kind = 'thing'
    defaults = {'size': 1}

    def __init__(self, store):
        self.store = store

    def read(self):
        return [dict(name=name, size=size) for name, size in self.store.items()], {'theirs'}

    def normalize(self, item):
        if item['name'] == 'bad':
            raise ResourceError("thing 'bad': size must be small", field='size')
        if item['name'] == 'boom':
            raise KeyError('boom')
        return item

    def create(self, item):
        self.store[item['name']] = item['size']


THINGS_SPEC = {'config': dict(type='list', elements='dict', options=dict(name=dict(type='str'), size=dict(type='int'))),
               'state': dict(type='str', default='merged', choices=['merged', 'overridden'])}


@pytest.fixture
def things(monkeypatch):
    store = {'a': 1}
    seen = []

    def run_things(module):
        seen.append((module.check_mode, module._diff, dict(module.params)))
        run_module(module, Things(store))

    monkeypatch.setitem(_preview.MODULES, 'things', (THINGS_SPEC, run_things))
    return store, seen


# -- one home for what each module accepts ---------------------------------------------------------

def test_every_resource_module_is_previewable_with_the_spec_its_main_uses():
    # host_plan is an action (plugins/action) with no resource behind it; workload_exec runs a command and
    # workload_info only reads; teardown runs the others: none is a resource.
    names = {path.stem for path in MODULES_DIR.glob('*.py')} - {'preview', 'host_plan', '__init__', 'workload_exec', 'teardown',
                                                                'workload_info'}
    assert set(_preview.MODULES) == names
    for name, (spec, run) in _preview.MODULES.items():
        module = importlib.import_module('ansible_collections.anatomy.containers.plugins.modules.' + name)
        assert getattr(module, name.upper() + '_ARGUMENT_SPEC') is spec, name
        assert getattr(module, 'run_' + name) is run, name
        doc = yaml.safe_load(module.DOCUMENTATION)
        assert set(doc['options']) | {'state'} == set(spec), name
        assert set(doc['options']['config']['suboptions']) == set(spec['config']['options']), name


def test_preview_documentation_matches_its_spec():
    doc = yaml.safe_load(preview.DOCUMENTATION)
    assert set(doc['options']) == set(_preview.PREVIEW_ARGUMENT_SPEC)
    options = doc['options']['tasks']['suboptions']
    assert set(options) == set(_preview.PREVIEW_ARGUMENT_SPEC['tasks']['options'])
    assert options['module']['choices'] == list(_preview.MODULES)
    for example in yaml.safe_load(preview.EXAMPLES):
        for task in example.get('anatomy.containers.preview', {}).get('tasks', []):
            assert task['module'] in _preview.MODULES
    yaml.safe_load(preview.RETURN)


# -- each task as its module runs it in check mode -------------------------------------------------

def test_a_task_runs_in_check_mode_without_diff_with_defaulted_params(things):
    store, seen = things
    result = _preview.preview([{'id': 't', 'module': 'things', 'params': {'config': [{'name': 'b', 'size': '2'}]}}], Host())
    assert result == {'tasks': {'t': {'changed': True}}, 'would_change': ['t'], 'errors': []}
    assert seen == [(True, False, {'config': [{'name': 'b', 'size': 2}], 'state': 'merged'})]
    assert store == {'a': 1}


def test_nothing_to_change_is_not_in_would_change(things):
    result = _preview.preview([{'id': 't', 'module': 'things', 'params': {'config': [{'name': 'a'}]}}], Host())
    assert result == {'tasks': {'t': {'changed': False}}, 'would_change': [], 'errors': []}


def test_a_task_whose_params_are_invalid_fails_with_the_modules_own_message_and_the_label(output):
    params = {'config': [{'name': 'br0'}, {'name': 'br1', 'mtu': 'big'}], 'state': 'overridden'}
    run_main(bridge, dict(params, _ansible_module_name='anatomy.containers.bridge'))
    own = output()
    assert own['failed'] and 'mtu' in own['msg']
    result = _preview.preview([{'id': 'bridges', 'module': 'bridge', 'params': params,
                                'labels': ["network 'n0'", "network 'n1'"]}], Host())
    assert result['errors'] == ["bridges: network 'n1': " + own['msg']]
    assert result['tasks'] == {'bridges': {'changed': False, 'msg': "network 'n1': " + own['msg']}}


def test_an_unsupported_parameter_fails_as_the_module_does(output):
    params = {'config': [{'name': 'br0'}], 'colour': 'red'}
    run_main(bridge, dict(params, _ansible_module_name='anatomy.containers.bridge'))
    own = output()
    assert own['msg'].startswith('Unsupported parameters for (anatomy.containers.bridge) module: colour')
    result = _preview.preview([{'id': 'bridges', 'module': 'bridge', 'params': params}], Host())
    assert result['errors'] == ['bridges: ' + own['msg']]


def test_a_resource_error_names_the_item_by_its_label(things):
    result = _preview.preview([{'id': 't', 'module': 'things', 'params': {'config': [{'name': 'b'}, {'name': 'bad'}]},
                                'labels': ["workload 'b'", "workload 'bad'"]}], Host())
    assert result['errors'] == ["t: workload 'bad': thing 'bad': size must be small"]


def test_positions_in_a_message_become_labels_too(things):
    tasks = [{'id': 't', 'module': 'things', 'params': {'config': [{'name': 'b'}, {'name': 'b'}]},
              'labels': ["workload 'x'", "workload 'y'"]},
             {'id': 'u', 'module': 'things', 'params': {'config': [{'name': 'b'}, {'name': 'b'}]}}]
    result = _preview.preview(tasks, Host())
    assert result['errors'] == ["t: workload 'y': thing 'b' is listed twice (also workload 'x')",
                                "u: config[1]: thing 'b' is listed twice (also config[0])"]


def test_a_foreign_object_is_named_by_its_label(things):
    result = _preview.preview([{'id': 't', 'module': 'things', 'params': {'config': [{'name': 'theirs'}]},
                                'labels': ["network 'theirs'"]}], Host())
    assert result['errors'] == ["t: network 'theirs': thing 'theirs' exists and is not managed by anatomy.containers; "
                                "refusing to touch it"]


def test_tasks_are_independent_and_a_crash_is_one_tasks_failure(things):
    store, _seen = things
    tasks = [{'id': 'crash', 'module': 'things', 'params': {'config': [{'name': 'boom'}]}},
             {'id': 'new', 'module': 'things', 'params': {'config': [{'name': 'c'}]}},
             {'id': 'same', 'module': 'things', 'params': {'config': [{'name': 'a'}]}}]
    result = _preview.preview(tasks, Host())
    assert result['errors'] == ["crash: KeyError: 'boom'"]
    assert result['tasks'] == {'crash': {'changed': False, 'msg': "KeyError: 'boom'"},
                               'new': {'changed': True}, 'same': {'changed': False}}
    assert result['would_change'] == ['new']
    assert store == {'a': 1}


def test_a_real_module_previewed_changes_nothing_then_sees_its_own_run(runner, output):
    params = {'backend': 'iptables', 'config': [{'subnet': '10.88.0.0/24'}], 'state': 'overridden'}
    before = runner.iptables.save()
    result = _preview.preview([{'id': 'nat', 'module': 'nat_masquerade', 'params': params}], Host())
    assert result == {'tasks': {'nat': {'changed': True}}, 'would_change': ['nat'], 'errors': []}
    assert runner.iptables.save() == before and runner.files[engine.IP_FORWARD] == '0\n'
    run_main(nat_masquerade, params)
    assert output()['changed']
    result = _preview.preview([{'id': 'nat', 'module': 'nat_masquerade', 'params': params}], Host())
    assert result['would_change'] == []


def test_netfilter_errors_carry_the_label(runner):
    params = {'backend': 'iptables', 'config': [{'subnet': '10.88.0.0/24'}, {'subnet': '10.89.0.1/24'}]}
    result = _preview.preview([{'id': 'nat', 'module': 'nat_masquerade', 'params': params,
                                'labels': ["network 'a'", "network 'b'"]}], Host())
    assert len(result['errors']) == 1 and result['errors'][0].startswith("nat: network 'b': ")
    assert 'host bits set' in result['errors'][0]


# -- the module -------------------------------------------------------------------------------------

def test_main_result_shape(monkeypatch, things, output):
    # 'things' is not one of the module's choices: give the module's spec a copy that knows it.
    spec = {'tasks': dict(_preview.PREVIEW_ARGUMENT_SPEC['tasks'])}
    spec['tasks']['options'] = dict(spec['tasks']['options'], module=dict(type='str', required=True))
    monkeypatch.setattr(preview, 'PREVIEW_ARGUMENT_SPEC', spec)
    run_main(preview, {'tasks': [{'id': 'new', 'module': 'things', 'params': {'config': [{'name': 'c'}]}},
                                 {'id': 'same', 'module': 'things', 'params': {'config': [{'name': 'a'}]}}]})
    result = output()
    assert not result['changed'] and not result.get('failed')
    assert result['tasks'] == {'new': {'changed': True}, 'same': {'changed': False}}
    assert result['would_change'] == ['new']
    run_main(preview, {'tasks': [{'id': 'bad', 'module': 'things', 'params': {'config': [{'name': 'bad'}]},
                                  'labels': ["workload 'bad'"]},
                                 {'id': 'new', 'module': 'things', 'params': {'config': [{'name': 'c'}]}}]})
    result = output()
    assert result['failed'] and not result['changed']
    assert result['msg'] == "bad: workload 'bad': thing 'bad': size must be small"
    assert result['errors'] == [result['msg']]
    assert result['tasks'] == {'bad': {'changed': False, 'msg': "workload 'bad': thing 'bad': size must be small"},
                               'new': {'changed': True}}
    assert result['would_change'] == ['new']


def test_main_takes_shared_strings_and_returns_ids_not_params(monkeypatch, things, output):
    spec = dict(_preview.PREVIEW_ARGUMENT_SPEC, tasks=dict(_preview.PREVIEW_ARGUMENT_SPEC['tasks']))
    spec['tasks']['options'] = dict(spec['tasks']['options'], module=dict(type='str', required=True))
    monkeypatch.setattr(preview, 'PREVIEW_ARGUMENT_SPEC', spec)
    _store, seen = things
    long = 'c' * 300
    tasks = [{'id': 'one', 'module': 'things', 'params': {'config': [{'name': long}]}},
             {'id': 'two', 'module': 'things', 'params': {'config': [{'name': long}]}}]
    sent, strings = share_strings(tasks)
    assert strings == [long]
    run_main(preview, {'tasks': sent, 'strings': strings})
    shared = output()
    assert [params['config'] for _check, _diff, params in seen] == [[{'name': long, 'size': None}]] * 2
    run_main(preview, {'tasks': tasks})
    plain = output()
    assert shared == plain and plain['would_change'] == ['one', 'two']
    assert plain['invocation'] == {'module_args': {'tasks': [{'id': 'one', 'module': 'things'},
                                                             {'id': 'two', 'module': 'things'}]}}
    run_main(preview, {'tasks': sent, 'strings': []})
    assert output()['msg'] == '%s 0: strings has no such item' % SHARED_STRING


def test_unknown_module_name_is_refused(output):
    run_main(preview, {'tasks': [{'id': 'x', 'module': 'docker_container', 'params': {}}]})
    result = output()
    assert result['failed'] and 'docker_container' in result['msg'] and 'bridge' in result['msg']


def test_ids_must_be_unique(things, output):
    run_main(preview, {'tasks': [{'id': 'x', 'module': 'bridge', 'params': {'config': [{'name': 'a', 'mtu': 'no'}]}},
                                 {'id': 'y', 'module': 'bridge'},
                                 {'id': 'x', 'module': 'netns'}]})
    result = output()
    assert result['failed'] and result['msg'] == "tasks[2]: id 'x' is listed twice (also tasks[0])"
    assert 'tasks' not in result


def test_main_runs_the_same_in_check_mode(output):
    run_main(preview, {'tasks': [{'id': 'b', 'module': 'bridge', 'params': {'config': [{'name': 'x', 'mtu': 'no'}]}}],
                       '_ansible_check_mode': True})
    result = output()
    assert result['failed'] and result['msg'].startswith("b: config[0]: argument 'mtu' is of type str")


def test_the_stand_in_module_hands_commands_and_warnings_to_the_real_one():
    host = Host()
    host.tmpdir = '/tmp/x'
    module = _preview.TaskModule('bridge', {'config': None}, host, 'bridges')
    assert (module.check_mode, module._diff, module.tmpdir, module.get_bin_path('nft')) == (True, False, '/tmp/x', None)
    module.warn('careful')
    assert host.warnings == ['bridges: careful']
    with pytest.raises(_preview.TaskExit) as done:
        module.fail_json(msg='no', index=2)
    assert done.value.result == {'msg': 'no', 'index': 2, 'failed': True}


def test_the_stand_in_module_has_everything_the_module_utils_use_of_a_module():
    """A module_util that starts using another AnsibleModule attribute must teach TaskModule too."""
    used = set()
    for path in (MODULES_DIR.parent / 'module_utils').rglob('*.py'):
        used |= set(re.findall(r'\bmodule\.([A-Za-z_]\w*)', path.read_text()))
    module = _preview.TaskModule('bridge', {}, Host())
    assert used and all(hasattr(module, name) for name in used), sorted(n for n in used if not hasattr(module, n))


def test_overlays_whose_layers_change_are_named_for_the_roles_to_take_apart_first(monkeypatch):
    from ansible_collections.anatomy.containers.plugins.module_utils import _preview as preview_module
    before = [{'path': '/w/a/rootfs', 'lower': ['/l/busybox']}, {'path': '/w/b/rootfs', 'lower': ['/l/x']},
              {'path': '/w/gone/rootfs', 'lower': ['/l/x']}]
    after = [{'path': '/w/a/rootfs', 'lower': ['/l/python']}, {'path': '/w/b/rootfs', 'lower': ['/l/x']},
             {'path': '/w/new/rootfs', 'lower': ['/l/x']}]
    monkeypatch.setattr(preview_module, 'preview_task', lambda *args: {'changed': True, 'before': before, 'after': after})
    would_change, errors = [], []
    entry = preview_module._preview_one({'id': 'root_filesystems', 'module': 'overlay_mount'}, None, None, would_change, errors)
    assert entry == {'changed': True, 'updated': ['/w/a/rootfs']} and would_change == ['root_filesystems']
    other = preview_module._preview_one({'id': 'netns', 'module': 'netns'}, None, None, would_change, errors)
    assert 'updated' not in other
