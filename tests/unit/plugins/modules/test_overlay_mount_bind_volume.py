# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""overlay_mount and bind_volume main(): the argument spec against the docs, and runs against an in-memory kernel."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.anatomy.containers.plugins.module_utils import _mounts_resources
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import Records
from ansible_collections.anatomy.containers.plugins.modules import bind_volume, overlay_mount
from ansible_collections.anatomy.containers.tests.unit.support.mounts_fakes import FakeKernel
from tests.unit.support.modules import read_output, run_main

TYPES = {'path': 'path', 'str': 'str', 'bool': 'bool', 'list': 'list'}
# Each module's argument spec lives next to its resource.
SPECS = {overlay_mount: _mounts_resources.OVERLAY_MOUNT_ARGUMENT_SPEC, bind_volume: _mounts_resources.BIND_VOLUME_ARGUMENT_SPEC}


@pytest.mark.parametrize('module, module_options', [
    (overlay_mount, {'purge', 'lazy_unmount'}),
    (bind_volume, {'purge', 'lazy_unmount', 'volumes_root'}),
])
def test_documented_options_match_the_argument_spec(module, module_options):
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = SPECS[module]['config']['options']
    assert set(doc['options']) == {'config'} | module_options
    assert set(SPECS[module]) == {'config', 'state'} | module_options
    suboptions = doc['options']['config']['suboptions']
    assert set(suboptions) == set(options)
    for name, spec in suboptions.items():
        # No defaults on config suboptions: merged must tell "not given" from "given".
        assert 'default' not in spec and 'default' not in options[name], name
        assert spec['type'] == options[name]['type'], name
        assert spec.get('elements') == options[name].get('elements'), name
        assert spec.get('choices') == options[name].get('choices'), name
    assert doc['extends_documentation_fragment'] == [
        'anatomy.containers._attributes', 'anatomy.containers._attributes.RESOURCE',
        'anatomy.containers._resource_state', 'anatomy.containers._restore_record']
    for example in yaml.safe_load(module.EXAMPLES):
        params = example['anatomy.containers.' + module.__name__.rsplit('.', 1)[-1]]
        assert set(params) <= set(doc['options']) | {'state'}
        for item in params.get('config', []):
            assert set(item) <= set(suboptions)
    yaml.safe_load(module.RETURN)


@pytest.fixture
def kernel(monkeypatch, tmp_path):
    fake = FakeKernel()
    monkeypatch.setattr(_mounts_resources, 'Kernel', lambda: fake)
    monkeypatch.setattr(_mounts_resources, 'Records', lambda: Records(str(tmp_path / 'records')))
    monkeypatch.setattr(_mounts_resources, 'processes_using_paths', lambda paths: {p: [] for p in paths})
    return fake


@pytest.fixture
def output(capsys):
    return read_output(capsys)


def test_overlay_main_check_apply_rerun(kernel, tmp_path, output):
    for name in ('a', 'b'):
        (tmp_path / name).mkdir()
    args = {'config': [{'path': str(tmp_path / 'm'), 'lower': [str(tmp_path / 'a'), str(tmp_path / 'b')]}]}
    run_main(overlay_mount, args, check=True, diff=True)
    checked = output()
    assert checked['changed'] and kernel.calls == [] and checked['diff']['before'] == {'config': []}
    run_main(overlay_mount, args)
    applied = output()
    assert applied['changed'] and applied['after'] == checked['after'] and len(kernel.calls) == 1
    run_main(overlay_mount, args)
    assert not output()['changed']


def test_overlay_main_bad_input_names_the_field(kernel, tmp_path, output):
    run_main(overlay_mount, {'config': [{'path': str(tmp_path / 'm'), 'lower': [str(tmp_path / 'nothere')]}]})
    result = output()
    assert result['failed'] and 'does not exist' in result['msg'] and (result['index'], result['field']) == (0, 'lower')


def test_bind_main_volume_and_refused_name(kernel, tmp_path, output):
    (tmp_path / 'root').mkdir()
    volumes = str(tmp_path / 'volumes')
    run_main(bind_volume, {'config': [{'root': str(tmp_path / 'root'), 'target': '/data', 'volume': 'db'}],
                           'volumes_root': volumes})
    result = output()
    assert result['changed'] and result['after'][0]['volume'] == 'db' and (tmp_path / 'volumes/db/_data').is_dir()
    run_main(bind_volume, {'config': [{'root': str(tmp_path / 'root'), 'target': '/x', 'volume': '../etc'}],
                           'volumes_root': volumes})
    result = output()
    assert result['failed'] and "must not contain '/'" in result['msg'] and result['field'] == 'volume'


def test_bind_main_content_in_check_mode_and_diff(kernel, tmp_path, output):
    (tmp_path / 'root').mkdir()
    source = tmp_path / 'c' / 'hosts'
    args = {'config': [{'root': str(tmp_path / 'root'), 'target': '/etc/hosts', 'source': str(source),
                        'content': '127.0.0.1 localhost\n', 'read_only': True}], 'volumes_root': str(tmp_path / 'v')}
    run_main(bind_volume, args, check=True, diff=True)
    checked = output()
    assert checked['changed'] and kernel.calls == [] and not source.exists()
    assert checked['diff']['before'] == {'config': []}
    assert checked['diff']['after']['config'][0]['content'] == '127.0.0.1 localhost\n'
    run_main(bind_volume, args, diff=True)
    applied = output()
    assert applied['after'] == checked['after'] and source.read_text() == '127.0.0.1 localhost\n'
    args['config'][0]['content'] = '127.0.0.1 localhost\n10.88.0.2 web\n'
    run_main(bind_volume, args, diff=True)
    changed = output()
    assert changed['changed'] and changed['diff']['before']['config'][0]['content'] == '127.0.0.1 localhost\n'
    assert changed['diff']['after']['config'][0]['content'] == '127.0.0.1 localhost\n10.88.0.2 web\n'
    run_main(bind_volume, args)
    assert not output()['changed']


def test_bind_main_content_with_a_volume_names_the_field(kernel, tmp_path, output):
    (tmp_path / 'root').mkdir()
    run_main(bind_volume, {'config': [{'root': str(tmp_path / 'root'), 'target': '/etc/hosts', 'volume': 'v',
                                       'content': 'x'}], 'volumes_root': str(tmp_path / 'v')})
    result = output()
    assert result['failed'] and 'content goes with source' in result['msg']
    assert (result['index'], result['field']) == (0, 'content') and kernel.calls == []


def test_main_check_mode_previews_what_earlier_tasks_would_make(kernel, tmp_path, output):
    """main() hands check mode to the resources: a missing layer and a missing root are assumed, for check mode only."""
    (tmp_path / 'base').mkdir()
    rootfs = tmp_path / 'w' / 'rootfs'
    overlay = {'config': [{'path': str(rootfs), 'lower': [str(tmp_path / 'app'), str(tmp_path / 'base')],
                           'upper': str(tmp_path / 'w' / 'upper'), 'work': str(tmp_path / 'w' / 'work')}]}
    binds = {'config': [{'root': str(rootfs), 'target': '/etc/hostname', 'source': str(tmp_path / 'w' / 'hostname'),
                         'content': 'web\n'}], 'volumes_root': str(tmp_path / 'v')}
    for module, args in ((overlay_mount, overlay), (bind_volume, binds)):
        run_main(module, args, check=True)
        result = output()
        assert result['changed'] and len(result['after']) == 1, result
        run_main(module, args)
        result = output()
        assert result['failed'] and (result['index'], result['field']) == (0, 'lower' if module is overlay_mount else 'root')
    assert kernel.calls == [] and not (tmp_path / 'w').exists() and not (tmp_path / 'v').exists()
