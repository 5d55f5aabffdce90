# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The restore program: records the modules keep, the boot's restore and its markers, the firewall watch, the
program itself (a zip application that runs without Ansible) and what the container_host role installs."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import (
    _host_plan, _mounts_resources, _netlink_resources, _preview, _restore,
)
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import engine
from ansible_collections.anatomy.containers.plugins.module_utils._resource import OWNER_MARK, run_module
from ansible_collections.anatomy.containers.plugins.module_utils._services import (
    MARK, UNIT_PREFIX, WorkloadService, render, unit_name,
)
from tests.unit.support.resource_fakes import Exit as ModuleExit
from tests.unit.support.resource_fakes import FakeModule, Things
from tests.unit.support.services_fakes import FakeBundleHost, FakeSystemd

MODULE_UTILS = Path(__file__).parents[4] / 'plugins' / 'module_utils'
PACKAGE = 'ansible_collections/anatomy/containers/plugins/module_utils'

BRIDGES = [{'name': 'br0', 'address': '10.88.0.1/24'}]


def read_record(module, directory=None):
    with open(_restore.record_path(module, directory)) as handle:
        return json.load(handle)


# -- records: written by the modules, read by the program -------------------------------------------------------

def test_a_record_is_the_module_params_with_config_the_objects_owned_after_and_state_overridden():
    params = {'config': [{'name': 'asked'}], 'state': 'merged', 'backend': 'nft', 'sysctl_file': None}
    assert _restore.write_record('bridge', params, BRIDGES) is True
    assert read_record('bridge') == {'owner': OWNER_MARK, 'module': 'bridge',
                                     'params': {'config': BRIDGES, 'state': 'overridden', 'backend': 'nft',
                                                'sysctl_file': None}}
    # Under the records' directory (the tests' own, see conftest.py), one file per module, nothing left beside it.
    assert os.listdir(_restore.RESTORE_DIR) == ['bridge.json']
    assert stat.S_IMODE(os.stat(_restore.RESTORE_DIR).st_mode) == 0o700
    # The caller's params are not changed.
    assert params['state'] == 'merged' and params['config'] == [{'name': 'asked'}]


@pytest.mark.parametrize('module', ['overlay_mount', 'bind_volume'])
def test_a_mount_record_never_purges_nor_unmounts_lazily(module):
    params = {'config': None, 'state': 'overridden', 'purge': True, 'lazy_unmount': True, 'volumes_root': '/v'}
    _restore.write_record(module, params, [{'path': '/srv/web/rootfs'}])
    recorded = read_record(module)['params']
    assert recorded['purge'] is False and recorded['lazy_unmount'] is False
    assert recorded['volumes_root'] == '/v' and recorded['config'] == [{'path': '/srv/web/rootfs'}]


def test_record_params_name_options_the_modules_have():
    for module, overrides in _restore.RECORD_PARAMS.items():
        spec = _preview.MODULES[module][0]
        assert set(overrides) <= set(spec), module


def test_an_unchanged_record_is_not_written_again(tmp_path):
    directory = str(tmp_path / 'records')
    assert _restore.write_record('veth', {'state': 'merged'}, [{'name': 'v0'}], directory)
    path = _restore.record_path('veth', directory)
    os.utime(path, (1000000000, 1000000000))
    before = os.stat(path)
    # Only config and state differ from the run that wrote it: the record is the same.
    assert _restore.write_record('veth', {'state': 'overridden', 'config': [{'name': 'x'}]}, [{'name': 'v0'}],
                                 directory) is False
    after = os.stat(path)
    assert (after.st_mtime, after.st_ino) == (before.st_mtime, before.st_ino) == (1000000000, before.st_ino)
    # Another object, or another parameter, is written.
    assert _restore.write_record('veth', {'state': 'merged'}, [{'name': 'v0'}, {'name': 'v1'}], directory) is True
    assert _restore.write_record('veth', {'create_netns': True}, [{'name': 'v0'}, {'name': 'v1'}], directory) is True
    assert read_record('veth', directory)['params'] == {'config': [{'name': 'v0'}, {'name': 'v1'}],
                                                        'create_netns': True, 'state': 'overridden'}


def test_a_record_is_replaced_whole_or_not_at_all(monkeypatch):
    _restore.write_record('netns', {}, [{'name': 'web'}])
    path = _restore.record_path('netns')
    synced = []
    real_fsync, real_rename = os.fsync, os.rename
    monkeypatch.setattr(_restore.os, 'fsync', lambda fd: synced.append(os.readlink('/proc/self/fd/%d' % fd))
                        or real_fsync(fd))

    def crash(source, target):
        # The new record is complete and synced when it takes the old one's place.
        assert target == path and os.path.dirname(source) == os.path.dirname(path) and source.endswith('.tmp')
        assert json.loads(Path(source).read_text())['params']['config'] == [{'name': 'web'}, {'name': 'db'}]
        assert synced == [source]
        raise OSError(5, 'Input/output error')

    monkeypatch.setattr(_restore.os, 'rename', crash)
    with pytest.raises(OSError):
        _restore.write_record('netns', {}, [{'name': 'web'}, {'name': 'db'}])
    # A crash before the rename leaves the old record as it was.
    assert read_record('netns')['params']['config'] == [{'name': 'web'}]
    assert os.listdir(_restore.RESTORE_DIR) == ['netns.json'], 'the temporary file of the failed write is left'
    # (Not monkeypatch.undo(): that would undo conftest.py's records directory too.)
    monkeypatch.setattr(_restore.os, 'rename', real_rename)
    synced.clear()
    assert _restore.write_record('netns', {}, [{'name': 'web'}, {'name': 'db'}])
    assert read_record('netns')['params']['config'] == [{'name': 'web'}, {'name': 'db'}]
    assert os.listdir(_restore.RESTORE_DIR) == ['netns.json']
    # The file, then its directory (the rename), reach the disk.
    assert len(synced) == 2 and synced[0].endswith('.tmp') and synced[1] == _restore.RESTORE_DIR


def test_two_writers_of_one_record_never_share_a_temporary_file(monkeypatch):
    # Module runs outside the roles are not serialized: each write has a file of its own until its rename.
    seen = []
    real_rename = os.rename
    monkeypatch.setattr(_restore.os, 'rename', lambda source, target: seen.append(source) or real_rename(source, target))
    _restore.write_record('netns', {}, [{'name': 'web'}])
    _restore.write_record('netns', {}, [{'name': 'db'}])
    assert len(set(seen)) == 2


def test_no_objects_no_record():
    assert _restore.write_record('netns', {}, []) is False
    assert not os.path.exists(_restore.record_path('netns'))
    _restore.write_record('netns', {}, [{'name': 'web'}])
    assert _restore.write_record('netns', {}, []) is True
    assert not os.path.exists(_restore.record_path('netns'))
    assert _restore.load_records() == {'records': {}, 'problems': [], 'extras': {}}


def test_records_are_read_back_in_the_order_objects_are_made():
    for module in reversed(_restore.ORDER):
        _restore.write_record(module, {'state': 'merged', 'mark': module}, [{'name': module}])
    # A file of no module the program restores is not read.
    Path(_restore.RESTORE_DIR, 'workload_service.json').write_text('{}')
    loaded = _restore.load_records()
    assert loaded['problems'] == []
    assert list(loaded['records']) == list(_restore.ORDER)
    for module, params in loaded['records'].items():
        assert params == dict({'config': [{'name': module}], 'state': 'overridden', 'mark': module},
                              **_restore.RECORD_PARAMS.get(module, {}))


@pytest.mark.parametrize('content, problem', [
    ('{"owner": "anatomy.containers", "module": "veth", "params": {"config": [', 'veth.json: Expecting'),
    ('', 'veth.json: Expecting value'),
    (json.dumps({'owner': 'someone.else', 'module': 'veth', 'params': {'config': [{'name': 'v0'}]}}),
     'veth.json: not a record of anatomy.containers'),
    (json.dumps({'owner': OWNER_MARK, 'module': 'netns', 'params': {'config': [{'name': 'v0'}]}}),
     'veth.json: not a record of anatomy.containers'),
    (json.dumps({'owner': OWNER_MARK, 'module': 'veth', 'params': {'config': {'name': 'v0'}}}),
     'veth.json: not a record of anatomy.containers'),
    (json.dumps({'owner': OWNER_MARK, 'module': 'veth', 'params': [{'name': 'v0'}]}),
     'veth.json: not a record of anatomy.containers'),
    (json.dumps([OWNER_MARK, 'veth']), 'veth.json: not a record of anatomy.containers'),
    (b'\xff\xfe not text', 'veth.json: '),
])
def test_a_record_that_cannot_be_used_is_reported_and_the_others_are_used(content, problem):
    _restore.write_record('netns', {}, [{'name': 'web'}])
    _restore.write_record('bridge', {}, BRIDGES)
    path = Path(_restore.record_path('veth'))
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    loaded = _restore.load_records()
    assert list(loaded['records']) == ['bridge', 'netns']
    assert len(loaded['problems']) == 1
    assert loaded['problems'][0].startswith(str(path) + ': ')
    assert problem in loaded['problems'][0]


def test_an_unreadable_record_is_a_problem_not_a_crash():
    os.makedirs(_restore.record_path('bridge'))  # a directory where the file should be
    loaded = _restore.load_records()
    assert loaded['records'] == {}
    assert loaded['problems'] and loaded['problems'][0].startswith(_restore.record_path('bridge') + ': ')


# -- run_module(..., record=NAME): the modules keep their records -------------------------------------------------

def run(module, resource, record='veth'):
    with pytest.raises(ModuleExit) as exit_:
        run_module(module, resource, record=record)
    return exit_.value.args[0]


def test_a_run_records_every_object_owned_afterwards_not_only_those_it_was_given():
    things = Things(owned=[{'name': 'old', 'size': 2, 'tags': []}])
    module = FakeModule(config=[{'name': 'new', 'size': None, 'tags': ['b', 'a']}], state='merged', backend='nft')
    result = run(module, things)
    assert not result['failed'] and result['changed']
    expected = [{'name': 'new', 'size': 1, 'tags': ['a', 'b']}, {'name': 'old', 'size': 2, 'tags': []}]
    assert result['after'] == expected
    assert read_record('veth') == {'owner': OWNER_MARK, 'module': 'veth',
                                   'params': {'backend': 'nft', 'config': expected, 'state': 'overridden'}}


def test_a_run_that_changes_nothing_still_records_what_it_owns():
    # A host converged before the modules kept records gets them from its next run.
    module = FakeModule(config=[{'name': 'a', 'size': 1, 'tags': []}], state='merged')
    result = run(module, Things(owned=[{'name': 'a', 'size': 1, 'tags': []}]))
    assert not result['changed']
    assert read_record('veth')['params']['config'] == [{'name': 'a', 'size': 1, 'tags': []}]


def test_a_run_that_leaves_nothing_owned_removes_the_record():
    run(FakeModule(config=[{'name': 'a', 'size': 1, 'tags': []}]), Things())
    assert os.path.exists(_restore.record_path('veth'))
    run(FakeModule(state='deleted'), Things(owned=[{'name': 'a', 'size': 1, 'tags': []}]))
    assert not os.path.exists(_restore.record_path('veth'))


def test_no_record_without_a_record_name():
    run(FakeModule(config=[{'name': 'a', 'size': 1, 'tags': []}]), Things(), record=None)
    assert not os.path.exists(_restore.RESTORE_DIR)


def test_check_mode_writes_no_record_and_leaves_the_old_one():
    _restore.write_record('veth', {}, [{'name': 'kept'}])
    result = run(FakeModule(check_mode=True, config=[{'name': 'a', 'size': 1, 'tags': []}]), Things())
    assert result['changed'] and result['after'] == [{'name': 'a', 'size': 1, 'tags': []}]
    assert read_record('veth')['params']['config'] == [{'name': 'kept'}]
    result = run(FakeModule(check_mode=True, state='deleted'), Things(owned=[{'name': 'kept', 'size': 1, 'tags': []}]))
    assert result['after'] == []
    assert read_record('veth')['params']['config'] == [{'name': 'kept'}]


def test_gathered_writes_no_record():
    result = run(FakeModule(state='gathered'), Things(owned=[{'name': 'a', 'size': 1, 'tags': []}]))
    assert result['gathered'] == [{'name': 'a', 'size': 1, 'tags': []}]
    assert not os.path.exists(_restore.RESTORE_DIR)


def test_a_failed_run_writes_no_record():
    _restore.write_record('veth', {}, [{'name': 'kept'}])
    result = run(FakeModule(config=[{'name': 'a', 'size': 0, 'tags': []}]), Things())
    assert result['failed'] and 'size must be a positive integer' in result['msg']
    assert read_record('veth')['params']['config'] == [{'name': 'kept'}]


def test_a_run_the_kernel_refuses_writes_no_record():
    class Refused(Things):
        def create(self, item):
            raise OSError(1, 'Operation not permitted')

    result = run(FakeModule(config=[{'name': 'a', 'size': 1, 'tags': []}]), Refused())
    assert result['failed'] and result['errno'] == 1
    assert not os.path.exists(_restore.record_path('veth'))


def record_name_of(monkeypatch, name):
    """The record name the module's own run function hands run_module (the resources and kernels faked)."""
    seen = []

    def fake_run_module(module, resource, guard=None, finish=None, record=None):
        seen.append(record)

    monkeypatch.setattr(_netlink_resources, 'HAS_PYROUTE2', True)
    monkeypatch.setattr(_netlink_resources, 'Netlink', contextlib.nullcontext)
    monkeypatch.setattr(_netlink_resources, 'run_module', fake_run_module)
    monkeypatch.setattr(engine, 'run_module', fake_run_module)
    monkeypatch.setattr(engine, 'NetworksResource', lambda *args, **kwargs: object())
    monkeypatch.setattr(engine, 'PortsResource', lambda *args, **kwargs: object())
    monkeypatch.setattr(_mounts_resources, 'run_module', fake_run_module)
    monkeypatch.setattr(_mounts_resources, 'Kernel', object)
    monkeypatch.setattr(_mounts_resources, 'OverlayMount', lambda *args, **kwargs: object())
    monkeypatch.setattr(_mounts_resources, 'BindVolume', lambda *args, **kwargs: object())
    module = FakeModule(create_netns=False, backend='auto', sysctl_file=None, purge=False, lazy_unmount=False,
                        volumes_root='/var/lib/anatomy/volumes')
    _restore._run_functions()[name](module)
    return seen


@pytest.mark.parametrize('name', _restore.ORDER)
def test_each_module_the_program_runs_keeps_its_record_under_its_own_name(monkeypatch, name):
    assert record_name_of(monkeypatch, name) == [name]


def test_the_program_runs_every_module_it_restores_and_only_those():
    assert set(_restore._run_functions()) == set(_restore.ORDER)
    assert set(_restore.HOST_MODULES) <= set(_restore.ORDER)
    assert set(_restore.NETFILTER_MODULES) <= set(_restore.HOST_MODULES)
    for name, function in _restore._run_functions().items():
        assert _preview.MODULES[name][1] is function


# -- running a record ------------------------------------------------------------------------------------------

def test_a_record_runs_with_its_params_and_the_given_config_and_state():
    _restore.write_record('bind_volume', {'state': 'merged', 'purge': True, 'lazy_unmount': True,
                                          'volumes_root': '/v'}, [{'root': '/r', 'target': '/t'}, {'root': '/s'}])
    params = _restore.load_records()['records']['bind_volume']
    seen = []

    def run_bind_volume(module):
        seen.append((dict(module.params), module.check_mode, module._diff))
        module.exit_json(changed=True, after=module.params['config'])

    result = _restore.run_record('bind_volume', params, [{'root': '/s'}], 'merged',
                                 run_functions={'bind_volume': run_bind_volume})
    assert result == {'changed': True, 'after': [{'root': '/s'}]}
    assert seen == [({'config': [{'root': '/s'}], 'state': 'merged', 'purge': False, 'lazy_unmount': False,
                      'volumes_root': '/v'}, False, False)]
    # The record's own params are not changed by a run.
    assert params['state'] == 'overridden' and len(params['config']) == 2


def test_a_record_run_that_fails_crashes_or_ends_silently_is_a_failed_result(tmp_path):
    dirs = []

    def failing(module):
        module.fail_json(msg='no such bridge', errno=19)

    def crashing(module):
        dirs.append(module.tmpdir)
        Path(module.tmpdir, 'scratch').write_text('x')
        raise KeyError('create_netns')

    def silent(module):
        module.warn('odd')

    logged = []
    functions = {'veth': failing, 'netns': crashing, 'bridge': silent}
    assert _restore.run_record('veth', {}, [], 'merged', run_functions=functions) == {
        'failed': True, 'msg': 'no such bridge', 'errno': 19}
    assert _restore.run_record('netns', {}, [], 'merged', run_functions=functions) == {
        'failed': True, 'msg': "KeyError: 'create_netns'"}
    # The run's temporary directory goes with it.
    assert dirs and not os.path.exists(dirs[0])
    assert _restore.run_record('bridge', {}, [], 'merged', log=logged.append, run_functions=functions) == {
        'failed': True, 'msg': 'the module ended without a result'}
    assert logged == ['anatomy.containers.bridge: warning: odd']


def test_a_restore_run_that_makes_only_part_of_a_record_does_not_shrink_it():
    """The boot's runs go through run_module, which records what is owned afterwards: after a part failed,
    that is less than the record holds, and the next boot would not even try the failed workload again."""
    _restore.write_record('veth', {'state': 'overridden'}, [{'name': 'db0', 'size': 1, 'tags': []},
                                                            {'name': 'web0', 'size': 1, 'tags': []}])
    kernel = Things()  # after a reboot, nothing is there
    params = _restore.load_records()['records']['veth']
    functions = {'veth': lambda module: run_module(module, kernel, record='veth')}
    result = _restore.run_record('veth', params, [{'name': 'web0', 'size': 1, 'tags': []}], 'merged',
                                 run_functions=functions)
    assert not result.get('failed') and result['after'] == [{'name': 'web0', 'size': 1, 'tags': []}]
    assert read_record('veth')['params']['config'] == [{'name': 'db0', 'size': 1, 'tags': []},
                                                       {'name': 'web0', 'size': 1, 'tags': []}]
    # A module run by Ansible records what it leaves, as before.
    run(FakeModule(state='deleted', config=[{'name': 'db0'}]), kernel)
    assert read_record('veth')['params']['config'] == [{'name': 'web0', 'size': 1, 'tags': []}]


def test_a_record_module_runs_commands_with_their_input():
    module = _restore.RecordModule('port_forward', {})
    assert module.run_command(['cat'], data='*filter\nCOMMIT') == (0, '*filter\nCOMMIT\n', '')
    assert module.run_command(['cat'], data='*filter\nCOMMIT', binary_data=True) == (0, '*filter\nCOMMIT', '')
    assert module.run_command(['cat'], data=b'\x00raw') == (0, '\x00raw', '')
    assert module.run_command(['sh', '-c', 'printf out; echo "bad $0" >&2; exit 3', 'arg']) == (3, 'out', 'bad arg\n')
    # Output that is not UTF-8 comes back, not a crash.
    rc, out, _err = module.run_command(['printf', '\\377'])
    assert rc == 0 and out.encode('utf-8', 'surrogateescape') == b'\xff'
    with pytest.raises(_restore.Exit) as exit_:
        module.run_command(['sh', '-c', 'echo nope >&2; exit 4'], check_rc=True)
    assert exit_.value.result == {'failed': True, 'msg': 'sh failed (rc=4): nope'}


def test_a_record_module_finds_programs_in_the_sbin_dirs_too(tmp_path, monkeypatch):
    sh = _restore.RecordModule.get_bin_path('sh')
    assert sh and os.path.basename(sh) == 'sh' and os.access(sh, os.X_OK)
    tool = tmp_path / 'anatomy-test-tool'
    tool.write_text('#!/bin/sh\n')
    tool.chmod(0o755)
    assert _restore.RecordModule.get_bin_path('anatomy-test-tool') is None
    assert _restore.RecordModule.get_bin_path('anatomy-test-tool', opt_dirs=[str(tmp_path)]) == str(tool)
    # A unit's PATH may lack the sbin dirs where ip, nft and iptables live.
    monkeypatch.setenv('PATH', str(tmp_path))
    assert _restore.RecordModule.get_bin_path('anatomy-test-tool') == str(tool)
    sbin = sorted(name for name in os.listdir('/usr/sbin') if os.access(os.path.join('/usr/sbin', name), os.X_OK)
                  and os.path.isfile(os.path.join('/usr/sbin', name))) if os.path.isdir('/usr/sbin') else []
    if sbin:
        found = _restore.RecordModule.get_bin_path(sbin[0])
        assert found and os.path.realpath(found) == os.path.realpath(os.path.join('/usr/sbin', sbin[0]))


# -- which workload an object belongs to ------------------------------------------------------------------------

WORKLOADS = [{'name': 'web', 'netns': '/run/netns/web', 'root': '/srv/web/rootfs/'},
             {'name': 'db', 'netns': 'db', 'root': '/srv/db/rootfs'},
             {'name': 'host-net', 'netns': None, 'root': '/srv/host-net/rootfs'}]


@pytest.mark.parametrize('module, item, owner', [
    ('netns', {'name': 'web'}, 'web'),
    ('netns', {'name': 'db'}, 'db'),
    ('netns', {'name': 'lab'}, None),
    ('veth', {'name': 'web0', 'netns': 'web'}, 'web'),
    ('veth', {'name': 'db0', 'netns': 'db'}, 'db'),
    ('veth', {'name': 'up0', 'netns': None}, None),
    ('netns_addr', {'netns': 'db', 'interface': 'eth0'}, 'db'),
    ('overlay_mount', {'path': '/srv/web/rootfs'}, 'web'),
    ('overlay_mount', {'path': '/srv/db/rootfs/'}, 'db'),
    ('overlay_mount', {'path': '/srv/db'}, None),
    ('bind_volume', {'root': '/srv/host-net/rootfs', 'target': '/data'}, 'host-net'),
    ('bind_volume', {'root': '/srv/web/rootfs/', 'target': '/data'}, 'web'),
    ('bind_volume', {'root': '/srv/other', 'target': '/data'}, None),
    # A bridge or a rule is the host's, whatever its name.
    ('bridge', {'name': 'web'}, None),
    ('port_forward', {'destination': 'web'}, None),
])
def test_owner_of(module, item, owner):
    assert _restore.owner_of(module, item, WORKLOADS) == owner


def workload_item(name, **values):
    service = WorkloadService(FakeSystemd('/nonexistent'), unit_dir='/nonexistent', host=FakeBundleHost())
    return service.normalize({**WorkloadService.defaults, 'name': name, 'command': ['/bin/true'],
                              'root': '/srv/%s/rootfs' % name, 'netns': name, **values})


def test_workloads_are_read_from_our_units_marks(tmp_path):
    for item in (workload_item('web'), workload_item('db', netns='/run/netns/db-ns')):
        (tmp_path / unit_name(item['name'])).write_text(render(item))
    (tmp_path / (UNIT_PREFIX + 'theirs.service')).write_text('[Unit]\nDescription=not ours\n')
    (tmp_path / (UNIT_PREFIX + 'broken.service')).write_text(MARK + '{not json\n')
    (tmp_path / (UNIT_PREFIX + 'web.service.d')).mkdir()
    (tmp_path / 'sshd.service').write_text(render(workload_item('sshd')))
    # A copy of web's unit under another name: the workload service module calls it foreign, and so does the restore.
    (tmp_path / unit_name('copy')).write_text(render(workload_item('web')))
    workloads = _restore.read_workloads(str(tmp_path))
    assert [(w['name'], w['netns'], w['root']) for w in workloads] == [
        ('db', '/run/netns/db-ns', '/srv/db/rootfs'), ('web', 'web', '/srv/web/rootfs')]
    assert _restore.owner_of('netns', {'name': 'db-ns'}, workloads) == 'db'
    assert _restore.owner_of('overlay_mount', {'path': '/srv/web/rootfs'}, workloads) == 'web'
    assert _restore.read_workloads(str(tmp_path / 'missing')) == []


# -- the boot's restore ------------------------------------------------------------------------------------------

def records(**extra):
    """Records as load_records gives them, each with a parameter of its own to tell them apart."""
    configs = {
        'bridge': BRIDGES,
        'nat_masquerade': [{'subnet': '10.88.0.0/24'}],
        'port_forward': [{'host_port': 8080, 'destination': '10.88.0.2'}],
        'netns': [{'name': 'web'}, {'name': 'db'}, {'name': 'lab'}],
        'veth': [{'name': 'web0', 'netns': 'web'}, {'name': 'db0', 'netns': 'db'}, {'name': 'up0', 'netns': None}],
        'netns_addr': [{'netns': 'web', 'interface': 'eth0'}, {'netns': 'db', 'interface': 'eth0'}],
        'overlay_mount': [{'path': '/srv/db/rootfs'}, {'path': '/srv/web/rootfs'}],
        'bind_volume': [{'root': '/srv/web/rootfs', 'target': '/data'}, {'root': '/srv/db/rootfs', 'target': '/d'}],
    }
    configs.update(extra)
    return {module: {'config': config, 'state': 'overridden', 'backend': module}
            for module, config in reversed(list(configs.items())) if config is not None}


class FakeRun:
    """run_record's stand-in: every call kept; a call fails when its config holds an object named in ``bad``."""

    def __init__(self, records_, bad=()):
        self.records = records_
        self.bad = set(bad)
        self.calls = []

    def __call__(self, module, params, config, state, log=None):
        assert params is self.records[module]
        self.calls.append((module, [self.name(module, item) for item in config], state))
        broken = [self.name(module, item) for item in config if (module, self.name(module, item)) in self.bad]
        if broken:
            return {'failed': True, 'msg': '%s cannot be made' % ', '.join(map(str, broken))}
        return {'changed': True, 'after': config}

    @staticmethod
    def name(module, item):
        if module == 'port_forward':
            return item['host_port']
        if module == 'netns_addr':
            return '%s/%s' % (item['netns'], item['interface'])
        return item.get('name') or item.get('subnet') or item.get('path') or item.get('root')


def everything(records_):
    return [(module, [FakeRun.name(module, item) for item in records_[module]['config']], 'merged')
            for module in _restore.ORDER if module in records_]


def test_every_record_is_made_in_order_one_merged_run_each():
    recs = records()
    run_ = FakeRun(recs)
    logged = []
    outcome = _restore.restore(recs, WORKLOADS, run=run_, log=logged.append)
    assert outcome == {'failed_host': [], 'failed': {}}
    assert run_.calls == everything(recs)
    assert [call[0] for call in run_.calls] == list(_restore.ORDER)
    assert logged[0] == 'bridge: 1 restored, changed' and len(logged) == len(_restore.ORDER)


def test_missing_records_are_skipped():
    recs = records(bridge=None, nat_masquerade=None, port_forward=None, netns_addr=None)
    run_ = FakeRun(recs)
    assert _restore.restore(recs, WORKLOADS, run=run_) == {'failed_host': [], 'failed': {}}
    assert [call[0] for call in run_.calls] == ['netns', 'veth', 'overlay_mount', 'bind_volume']
    assert _restore.restore({}, WORKLOADS, run=FakeRun({})) == {'failed_host': [], 'failed': {}}


@pytest.mark.parametrize('module, bad', [('bridge', 'br0'), ('nat_masquerade', '10.88.0.0/24'), ('port_forward', 8080)])
def test_a_failing_host_module_fails_the_host_and_the_others_still_run(module, bad):
    recs = records()
    run_ = FakeRun(recs, bad={(module, bad)})
    logged = []
    outcome = _restore.restore(recs, WORKLOADS, run=run_, log=logged.append)
    assert outcome == {'failed_host': ['%s: %s cannot be made' % (module, bad)], 'failed': {}}
    # No run object by object for the host's own: each of them is every workload's.
    assert run_.calls == everything(recs)
    assert '%s: FAILED: %s cannot be made' % (module, bad) in logged


def test_a_failing_workload_is_found_by_a_run_per_workload_and_its_later_parts_are_skipped():
    recs = records()
    run_ = FakeRun(recs, bad={('veth', 'db0'), ('overlay_mount', '/srv/db/rootfs')})
    logged = []
    outcome = _restore.restore(recs, WORKLOADS, run=run_, log=logged.append)
    assert outcome == {'failed_host': [], 'failed': {'db': ['veth: db0 cannot be made',
                                                            'netns_addr: skipped, an earlier part failed',
                                                            'overlay_mount: skipped, an earlier part failed',
                                                            'bind_volume: skipped, an earlier part failed']}}
    assert run_.calls == [
        ('bridge', ['br0'], 'merged'),
        ('nat_masquerade', ['10.88.0.0/24'], 'merged'),
        ('port_forward', [8080], 'merged'),
        ('netns', ['web', 'db', 'lab'], 'merged'),
        ('veth', ['web0', 'db0', 'up0'], 'merged'),
        # Objects of no workload first (str(None) sorts before the names), then workload by workload.
        ('veth', ['up0'], 'merged'),
        ('veth', ['db0'], 'merged'),
        ('veth', ['web0'], 'merged'),
        # Nothing more of db is tried: a bind into its root filesystem, not mounted, would hide under it later.
        ('netns_addr', ['web/eth0'], 'merged'),
        ('overlay_mount', ['/srv/web/rootfs'], 'merged'),
        ('bind_volume', ['/srv/web/rootfs'], 'merged'),
    ]
    assert 'veth: FAILED for db: db0 cannot be made' in logged


def test_each_failing_workload_is_reported_on_its_own():
    recs = records()
    run_ = FakeRun(recs, bad={('netns', 'web'), ('netns', 'db'), ('bind_volume', '/srv/db/rootfs')})
    outcome = _restore.restore(recs, WORKLOADS, run=run_)
    skipped = ['%s: skipped, an earlier part failed' % module
               for module in ('veth', 'netns_addr', 'overlay_mount', 'bind_volume')]
    assert outcome == {'failed_host': [], 'failed': {
        'db': ['netns: db cannot be made'] + skipped,
        'web': ['netns: web cannot be made'] + skipped,
    }}
    assert run_.calls[3:] == [
        ('netns', ['web', 'db', 'lab'], 'merged'),
        # lab (no workload's) is made on its own.
        ('netns', ['lab'], 'merged'),
        ('netns', ['db'], 'merged'),
        ('netns', ['web'], 'merged'),
        # What is left is of no workload.
        ('veth', ['up0'], 'merged'),
    ]


def test_a_failing_object_of_no_workload_fails_the_host():
    recs = records()
    run_ = FakeRun(recs, bad={('netns', 'lab')})
    outcome = _restore.restore(recs, WORKLOADS, run=run_)
    assert outcome == {'failed_host': ['netns: lab cannot be made'], 'failed': {}}
    assert ('netns', ['web'], 'merged') in run_.calls and ('netns', ['db'], 'merged') in run_.calls


# -- the boot's outcome, where the workload units look -----------------------------------------------------------

def test_a_failed_workload_gets_a_marker_with_its_reasons(tmp_path):
    directory = str(tmp_path / 'status')
    outcome = {'failed_host': [], 'failed': {'db': ['veth: db0 cannot be made',
                                                    'overlay_mount: skipped, an earlier part failed'],
                                             'gone': ['netns: gone cannot be made']}}
    _restore.write_status(outcome, WORKLOADS, [], directory)
    assert sorted(os.listdir(os.path.join(directory, 'failed'))) == ['db']
    assert _restore.failure_marker('db', directory) == os.path.join(directory, 'failed', 'db')
    assert Path(_restore.failure_marker('db', directory)).read_text() == (
        'restore at boot failed: veth: db0 cannot be made; overlay_mount: skipped, an earlier part failed\n')
    status = json.loads(Path(directory, 'status.json').read_text())
    assert status['failed'] == outcome['failed'] and status['failed_host'] == [] and status['problems'] == []
    assert isinstance(status['time'], float)


def test_a_failed_host_or_an_unusable_record_fails_every_workload(tmp_path):
    directory = str(tmp_path / 'status')
    outcome = {'failed_host': ['bridge: br0 cannot be made'], 'failed': {'db': ['veth: db0 cannot be made']}}
    _restore.write_status(outcome, WORKLOADS, ['/r/veth.json: not a record'], directory)
    assert sorted(os.listdir(os.path.join(directory, 'failed'))) == ['db', 'host-net', 'web']
    assert Path(_restore.failure_marker('web', directory)).read_text() == (
        'restore at boot failed: the host: bridge: br0 cannot be made; the host: /r/veth.json: not a record\n')
    assert Path(_restore.failure_marker('db', directory)).read_text() == (
        'restore at boot failed: the host: bridge: br0 cannot be made; the host: /r/veth.json: not a record; '
        'veth: db0 cannot be made\n')
    assert json.loads(Path(directory, 'status.json').read_text())['problems'] == ['/r/veth.json: not a record']


def test_a_new_outcome_replaces_the_markers_of_the_last(tmp_path):
    directory = str(tmp_path / 'status')
    _restore.write_status({'failed_host': ['bridge: no'], 'failed': {}}, WORKLOADS, [], directory)
    _restore.write_status({'failed_host': [], 'failed': {'web': ['netns: no']}}, WORKLOADS, [], directory)
    assert os.listdir(os.path.join(directory, 'failed')) == ['web']
    _restore.write_status({'failed_host': [], 'failed': {}}, WORKLOADS, [], directory)
    assert os.listdir(os.path.join(directory, 'failed')) == []
    assert json.loads(Path(directory, 'status.json').read_text())['failed_host'] == []


def test_clear_failure_removes_that_workloads_marker_only(tmp_path):
    directory = str(tmp_path / 'status')
    _restore.write_status({'failed_host': ['bridge: no'], 'failed': {}}, WORKLOADS, [], directory)
    _restore.clear_failure('web', directory)
    assert sorted(os.listdir(os.path.join(directory, 'failed'))) == ['db', 'host-net']
    _restore.clear_failure('web', directory)  # gone already: nothing to do
    _restore.clear_failure('web', str(tmp_path / 'never-written'))


def test_status_dir_defaults_to_the_module_setting(tmp_path, monkeypatch):
    monkeypatch.setattr(_restore, 'STATUS_DIR', str(tmp_path / 'run'))
    _restore.write_status({'failed_host': [], 'failed': {'db': ['x']}}, WORKLOADS, [])
    assert _restore.failure_marker('db') == str(tmp_path / 'run' / 'failed' / 'db')
    assert os.path.exists(_restore.failure_marker('db'))
    _restore.clear_failure('db')
    assert not os.path.exists(_restore.failure_marker('db'))


def test_a_workload_the_module_starts_starts_whatever_the_boot_said(tmp_path):
    directory = str(tmp_path / 'status')
    _restore.write_status({'failed_host': ['bridge: no'], 'failed': {}}, WORKLOADS, [], directory)
    systemd = FakeSystemd(str(tmp_path / 'units'))
    os.makedirs(systemd.unit_dir)
    service = WorkloadService(systemd, unit_dir=systemd.unit_dir, host=FakeBundleHost(), status_dir=directory)
    item = {'name': 'web', 'command': ['/bin/true'], 'root': '/srv/web/rootfs', 'netns': 'web'}
    with pytest.raises(ModuleExit):
        run_module(FakeModule(config=[item], state='merged'), service)
    assert ('start', unit_name('web')) in systemd.calls
    assert sorted(os.listdir(os.path.join(directory, 'failed'))) == ['db', 'host-net']


def test_a_running_workload_with_a_marker_is_started_again_by_the_next_run(tmp_path):
    """systemd keeps restarting it (on-failure), each start failing on the marker: the module reads it as not running,
    so a run that converged its parts clears the mark and starts it."""
    directory = str(tmp_path / 'status')
    systemd = FakeSystemd(str(tmp_path / 'units'))
    os.makedirs(systemd.unit_dir)
    bundles = FakeBundleHost()

    def service():
        # One per run, as each module run makes its own; the bundles are on the host's disk.
        return WorkloadService(systemd, unit_dir=systemd.unit_dir, host=bundles, status_dir=directory)

    # As the workload role gives it: running, always.
    item = {'name': 'web', 'command': ['/bin/true'], 'root': '/srv/web/rootfs', 'netns': 'web', 'running': True}
    with pytest.raises(ModuleExit):
        run_module(FakeModule(config=[item], state='merged'), service())
    _restore.write_status({'failed_host': [], 'failed': {'web': ['overlay_mount: no']}}, WORKLOADS, [], directory)
    calls = len(systemd.calls)
    with pytest.raises(ModuleExit) as again:
        run_module(FakeModule(config=[item], state='merged'), service())
    assert again.value.args[0]['changed']
    assert [call for call in systemd.calls[calls:] if call[0] in ('start', 'restart')], systemd.calls[calls:]
    assert not os.path.exists(_restore.failure_marker('web', directory))
    with pytest.raises(ModuleExit) as third:
        run_module(FakeModule(config=[item], state='merged'), service())
    assert not third.value.args[0]['changed']


def test_boot_restores_the_records_and_writes_the_outcome(tmp_path, monkeypatch):
    monkeypatch.setattr(_restore, 'STATUS_DIR', str(tmp_path / 'status'))
    monkeypatch.setattr(engine, 'run_lock', contextlib.nullcontext)
    monkeypatch.setattr(_restore, 'read_workloads', lambda: WORKLOADS)
    made = []

    def make(name):
        def run_function(module):
            made.append((name, module.params['state'], [item['name'] for item in module.params['config']]))
            if module.params['config'][0]['name'] == 'bad':
                module.fail_json(msg='cannot')
            module.exit_json(changed=True)
        return run_function

    monkeypatch.setattr(_restore, '_run_functions', lambda: {name: make(name) for name in _restore.ORDER})
    _restore.write_record('netns', {'state': 'merged'}, [{'name': 'web'}, {'name': 'db'}])
    _restore.write_record('bridge', {}, [{'name': 'br0'}])
    logged = []
    assert _restore.boot(logged.append) == 0
    assert made == [('bridge', 'merged', ['br0']), ('netns', 'merged', ['web', 'db'])]
    assert os.listdir(os.path.join(str(tmp_path / 'status'), 'failed')) == []
    assert logged[-1].startswith('restored in ') and logged[-1].endswith(' s: 0 workload(s) failed')

    # An unusable record fails the boot, and every workload, whatever the others did.
    Path(_restore.record_path('veth')).write_text('{')
    _restore.write_record('bridge', {}, [{'name': 'bad'}])
    logged.clear()
    assert _restore.boot(logged.append) == 1
    assert sorted(os.listdir(os.path.join(str(tmp_path / 'status'), 'failed'))) == ['db', 'host-net', 'web']
    assert any(line.startswith('record not used: %s: ' % _restore.record_path('veth')) for line in logged)
    assert logged[-1].endswith(', the host failed')


# -- the firewall watch -------------------------------------------------------------------------------------------

def test_our_rules_are_put_back_from_their_records_overridden(monkeypatch):
    monkeypatch.setattr(engine, 'run_lock', contextlib.nullcontext)
    for module in _restore.ORDER:
        _restore.write_record(module, {}, [{'name': module}])
    calls = []

    def run_(module, params, config, state, log=None):
        calls.append((module, config, state))
        return {'changed': module == 'port_forward'}

    logged = []
    assert _restore.reapply_netfilter(logged.append, run=run_) is True
    assert calls == [('nat_masquerade', [{'name': 'nat_masquerade'}], 'overridden'),
                     ('port_forward', [{'name': 'port_forward'}], 'overridden')]
    assert logged == ['port_forward: our rules were changed by someone else; put back from the record']
    assert _restore.reapply_netfilter(logged.append, run=lambda *args, **kwargs: {'failed': True, 'msg': 'no'}) \
        is False
    assert logged[-1] == 'port_forward: FAILED to put our rules back: no'
    os.unlink(_restore.record_path('nat_masquerade'))
    os.unlink(_restore.record_path('port_forward'))
    assert _restore.reapply_netfilter(logged.append, run=run_) is False


class Monitor:
    """``nft monitor`` as watch sees it: a process that runs, and its output (a pipe)."""

    def __init__(self, events=b'', close=False):
        read, write = os.pipe()
        self.stdout = os.fdopen(read, 'rb', buffering=0)
        self.writer = os.fdopen(write, 'wb', buffering=0)
        if events:
            self.writer.write(events)
        if close:
            self.writer.close()

    def poll(self):
        return None

    def close(self):
        self.stdout.close()
        if not self.writer.closed:
            self.writer.close()


@pytest.fixture
def watched(monkeypatch):
    reapplied, slept, monitors = [], [], []
    monkeypatch.setattr(_restore, 'reapply_netfilter', lambda log: reapplied.append(True))
    monkeypatch.setattr(_restore.time, 'sleep', slept.append)
    monkeypatch.setattr(_restore, '_monitor', lambda: monitors.pop(0) if monitors else None)
    yield reapplied, slept, monitors


def test_without_nft_the_watch_polls(watched):
    reapplied, slept, _monitors = watched
    assert _restore.watch(lambda message: None, poll=7, rounds=3) == 0
    assert len(reapplied) == 4 and slept == [7, 7, 7]


def test_the_watch_looks_again_after_a_netfilter_event(watched):
    reapplied, slept, monitors = watched
    monitor = Monitor(events=b'delete table inet anatomy\n')
    monitors.append(monitor)
    try:
        assert _restore.watch(lambda message: None, poll=30, settle=0.01, rounds=1) == 0
    finally:
        monitor.close()
    assert len(reapplied) == 2 and slept == []


def test_the_watch_survives_a_monitor_that_ends_and_cannot_be_started_again(watched):
    reapplied, slept, monitors = watched
    monitor = Monitor(close=True)
    monitors.append(monitor)  # then no more: nft is gone
    try:
        assert _restore.watch(lambda message: None, poll=30, settle=0.01, rounds=2) == 0
    finally:
        monitor.close()
    assert len(reapplied) == 3 and slept == [30]


# -- the program -------------------------------------------------------------------------------------------------

def test_the_program_is_the_same_bytes_for_the_same_sources(tmp_path):
    first = _restore.build_program(str(MODULE_UTILS))
    assert first == _restore.build_program(str(MODULE_UTILS))
    # Nor do the files' times matter, nor a bytecode cache beside them.
    copy = tmp_path / 'module_utils'
    subprocess.run(['cp', '-r', str(MODULE_UTILS), str(copy)], check=True)
    for path in copy.rglob('*'):
        os.utime(path, (2000000000, 2000000000))
    (copy / '__pycache__').mkdir(exist_ok=True)
    (copy / '__pycache__' / '_restore.cpython-311.pyc').write_bytes(b'bytecode')
    (copy / 'notes.txt').write_text('not python')
    assert _restore.build_program(str(copy)) == first
    assert _restore.digest(first) == _restore.digest(_restore.build_program(str(copy)))
    # A changed source is another program.
    with open(copy / '_restore.py', 'a') as handle:
        handle.write('\n')
    assert _restore.digest(_restore.build_program(str(copy))) != _restore.digest(first)


def test_the_program_is_a_zip_application_of_the_module_utils():
    data = _restore.build_program(str(MODULE_UTILS))
    assert data.startswith(b'#!/usr/bin/python3\n')
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert names == sorted(names)
    assert '__main__.py' in names
    for package in ('ansible_collections', 'ansible_collections/anatomy', 'ansible_collections/anatomy/containers',
                    'ansible_collections/anatomy/containers/plugins', PACKAGE):
        assert package + '/__init__.py' in names
    assert archive.read(PACKAGE + '/__init__.py') == b''
    for path in MODULE_UTILS.rglob('*.py'):
        assert archive.read(PACKAGE + '/' + path.relative_to(MODULE_UTILS).as_posix()) == path.read_bytes()
    assert PACKAGE + '/_netfilter/engine.py' in names
    assert not [name for name in names if not name.endswith('.py')]
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert b'import main' in archive.read('__main__.py')


def program_env():
    return {key: value for key, value in os.environ.items() if not key.startswith('PYTHON')}


def test_the_program_runs_without_ansible(tmp_path):
    path = tmp_path / 'anatomy-restore'
    path.write_bytes(_restore.build_program(str(MODULE_UTILS)))
    process = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=False,
                             env=program_env(), cwd=str(tmp_path))
    assert process.returncode == 2
    assert process.stderr.startswith('usage: %s boot|watch|netfilter\n' % _restore.PROGRAM)
    assert process.stdout == ''
    # Without site-packages at all (no Ansible, no pyroute2): what boot and the watch import is in the program.
    process = subprocess.run(
        [sys.executable, '-I', '-S', '-c',
         'import sys; sys.path.insert(0, sys.argv[1]); '
         'from ansible_collections.anatomy.containers.plugins.module_utils import _restore; '
         'print(sorted(_restore._run_functions())); _restore.read_workloads(); '
         'print(_restore.__file__); print(sorted(m for m in sys.modules if m.split(".")[0] == "ansible"))',
         str(path)], capture_output=True, text=True, check=False, env=program_env(), cwd=str(tmp_path))
    assert process.returncode == 0, process.stderr
    functions, where, ansible = process.stdout.splitlines()
    assert functions == str(sorted(_restore.ORDER))
    assert where == str(path / PACKAGE / '_restore.py')
    assert ansible == '[]'


def test_the_program_says_how_to_use_it(capsys):
    assert _restore.main(['restore']) == 2
    assert _restore.main([]) == 2
    assert capsys.readouterr().err.count('usage: ') == 2


# -- what the container_host role installs -------------------------------------------------------------------------

RESTORE_PATH = os.path.join(_restore.UNIT_DIR, _restore.RESTORE_UNIT)
FIREWALL_PATH = os.path.join(_restore.UNIT_DIR, _restore.FIREWALL_UNIT)
DIGEST = 'a' * 64


def host_facts(units=None, program=None, dirs=(), unit_states=None):
    """The host as HostRead reads it: the lines its command prints, parsed."""
    read = _host_plan.HostRead('/var/lib/anatomy')
    lines = []
    for path, text in (units or {}).items():
        lines += ['%s:%s' % (path, line) for line in text.splitlines()]
    for path in dirs:
        lines.append('dir:755|root|root|%s|%s' % ('regular file' if path == _restore.PROGRAM else 'directory', path))
    if program is not None:
        lines.append('sum:%s  %s' % (program, _restore.PROGRAM))
    for unit, (enabled, active) in (unit_states or {}).items():
        lines.append('unit:%s %s %s' % (unit, enabled, active))
    return read.parse('\n'.join(lines) + '\n')


def test_units_run_the_program():
    texts = _restore.units('/opt/restore')
    assert sorted(texts) == sorted([RESTORE_PATH, FIREWALL_PATH])
    assert 'ExecStart=/usr/bin/python3 /opt/restore boot' in texts[RESTORE_PATH].splitlines()
    assert 'Type=oneshot' in texts[RESTORE_PATH].splitlines()
    assert 'ExecStart=/usr/bin/python3 /opt/restore watch' in texts[FIREWALL_PATH].splitlines()
    assert 'Restart=always' in texts[FIREWALL_PATH].splitlines()
    assert all(text.startswith('# ' + OWNER_MARK) and text.endswith('\n') for text in texts.values())


def test_a_host_without_the_program_gets_everything():
    facts = host_facts(unit_states={_restore.RESTORE_UNIT: ('', ''), _restore.FIREWALL_UNIT: ('', 'inactive')})
    changes = _restore.host_changes(facts, DIGEST, True)
    assert changes['changed'] is True and changes['program_changed'] is True
    assert changes['program'] == _restore.PROGRAM
    assert changes['units_changed'] == [{'path': path, 'content': _restore.units()[path]}
                                        for path in sorted([RESTORE_PATH, FIREWALL_PATH])]
    # Enabled for the next boot, not started: what it restores was just converged. The watch runs the new program.
    assert changes['services'] == [{'name': _restore.RESTORE_UNIT, 'state': None},
                                   {'name': _restore.FIREWALL_UNIT, 'state': 'restarted'}]
    assert changes['stop'] == [] and changes['remove'] == []


def test_a_host_with_everything_in_place_changes_nothing():
    facts = host_facts(units=_restore.units(), program=DIGEST, dirs=[_restore.PROGRAM, _restore.RESTORE_DIR],
                       unit_states={_restore.RESTORE_UNIT: ('enabled', 'active'),
                                    _restore.FIREWALL_UNIT: ('enabled', 'active')})
    # Read back through the host's read, each unit is the text units() gives.
    assert facts['texts'][RESTORE_PATH] == _restore.units()[RESTORE_PATH]
    changes = _restore.host_changes(facts, DIGEST, True)
    assert changes == {'program': _restore.PROGRAM, 'program_changed': False, 'units_changed': [], 'services': [],
                       'stop': [], 'remove': [], 'changed': False}


@pytest.mark.parametrize('enabled, active', [('enabled', 'inactive'), ('enabled', 'failed'), ('disabled', 'active')])
def test_a_stopped_or_disabled_watch_is_started(enabled, active):
    facts = host_facts(units=_restore.units(), program=DIGEST,
                       unit_states={_restore.RESTORE_UNIT: ('enabled', 'active'),
                                    _restore.FIREWALL_UNIT: (enabled, active)})
    changes = _restore.host_changes(facts, DIGEST, True)
    assert changes['services'] == [{'name': _restore.FIREWALL_UNIT, 'state': 'started'}]
    assert changes['changed'] is True and changes['program_changed'] is False and changes['units_changed'] == []


def test_a_disabled_restore_unit_is_enabled_not_started():
    facts = host_facts(units=_restore.units(), program=DIGEST,
                       unit_states={_restore.RESTORE_UNIT: ('disabled', 'inactive'),
                                    _restore.FIREWALL_UNIT: ('enabled', 'active')})
    changes = _restore.host_changes(facts, DIGEST, True)
    assert changes['services'] == [{'name': _restore.RESTORE_UNIT, 'state': None}]


def test_a_new_program_or_watch_unit_restarts_the_watch():
    in_place = {_restore.RESTORE_UNIT: ('enabled', 'active'), _restore.FIREWALL_UNIT: ('enabled', 'active')}
    changes = _restore.host_changes(host_facts(units=_restore.units(), program='b' * 64, unit_states=in_place),
                                    DIGEST, True)
    assert changes['program_changed'] is True and changes['units_changed'] == []
    assert changes['services'] == [{'name': _restore.FIREWALL_UNIT, 'state': 'restarted'}]
    edited = dict(_restore.units(), **{FIREWALL_PATH: _restore.units()[FIREWALL_PATH] + 'Nice=5\n'})
    changes = _restore.host_changes(host_facts(units=edited, program=DIGEST, unit_states=in_place), DIGEST, True)
    assert changes['units_changed'] == [{'path': FIREWALL_PATH, 'content': _restore.units()[FIREWALL_PATH]}]
    assert changes['services'] == [{'name': _restore.FIREWALL_UNIT, 'state': 'restarted'}]
    # A rewritten restore unit is enabled again (its [Install] may have changed); the watch is left running.
    edited = dict(_restore.units(), **{RESTORE_PATH: _restore.units()[RESTORE_PATH].replace('oneshot', 'simple')})
    changes = _restore.host_changes(host_facts(units=edited, program=DIGEST, unit_states=in_place), DIGEST, True)
    assert changes['services'] == [{'name': _restore.RESTORE_UNIT, 'state': None}]


def test_absent_stops_the_units_and_removes_what_is_there_only():
    facts = host_facts(units=_restore.units(), program=DIGEST, dirs=[_restore.PROGRAM],
                       unit_states={_restore.RESTORE_UNIT: ('enabled', 'active'),
                                    _restore.FIREWALL_UNIT: ('enabled', 'active')})
    changes = _restore.host_changes(facts, None, False)
    assert changes['stop'] == [_restore.FIREWALL_UNIT, _restore.RESTORE_UNIT]
    assert changes['remove'] == [FIREWALL_PATH, RESTORE_PATH, _restore.PROGRAM]
    assert changes['changed'] is True and changes['services'] == [] and changes['units_changed'] == []

    facts = host_facts(units={RESTORE_PATH: _restore.units()[RESTORE_PATH]}, dirs=[_restore.RESTORE_DIR])
    changes = _restore.host_changes(facts, None, False)
    assert changes['stop'] == [_restore.RESTORE_UNIT]
    assert changes['remove'] == [RESTORE_PATH, _restore.RESTORE_DIR]

    changes = _restore.host_changes(host_facts(), None, False)
    assert changes['stop'] == [] and changes['remove'] == [] and changes['changed'] is False


# -- the workload units wait for the restore, and fail when it failed for them -------------------------------------

def start_check(text):
    """The ExecStartPre line that checks the marker, as the argv systemd runs (its quoting and $$ undone)."""
    lines = [line for line in text.splitlines() if line.startswith('ExecStartPre=/bin/sh -c ')]
    assert len(lines) == 1
    return [word.replace('$$', '$').replace('%%', '%') for word in shlex.split(lines[0][len('ExecStartPre='):])]


def test_a_workload_unit_waits_for_the_restore_and_fails_when_it_failed_for_it(tmp_path, monkeypatch):
    monkeypatch.setattr(_restore, 'STATUS_DIR', str(tmp_path / 'run 100%' / 'restore'))
    text = render(workload_item('web'))
    lines = text.splitlines()
    # Ordered after it, never pulling it in: a module run starts workloads holding the run lock the restore takes.
    assert not [line for line in lines if line.startswith(('Wants=', 'Requires=')) and 'anatomy-restore' in line]
    after = [line for line in lines if line.startswith('After=')]
    assert len(after) == 1 and 'anatomy-restore.service' in after[0].split('=', 1)[1].split()
    argv = start_check(text)
    assert argv[:2] == ['/bin/sh', '-c'] and argv[-1] == _restore.failure_marker('web')
    assert argv[-1] == str(tmp_path / 'run 100%' / 'restore' / 'failed' / 'web')

    # No marker: the start goes on.
    process = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert (process.returncode, process.stderr) == (0, '')
    # The boot's restore failed for web: its start fails, with the reason.
    _restore.write_status({'failed_host': [], 'failed': {'web': ['veth: web0 cannot be made']}}, WORKLOADS, [])
    process = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert process.returncode == 1
    assert process.stderr == 'restore at boot failed: veth: web0 cannot be made\n'
    # Another workload's marker is not web's.
    db = start_check(render(workload_item('db')))
    assert subprocess.run(db, capture_output=True, check=False).returncode == 0
    # A module run that starts web clears it.
    _restore.clear_failure('web')
    assert subprocess.run(argv, capture_output=True, check=False).returncode == 0


def test_the_dirs_a_mount_made_outlive_a_reboot_through_its_restore_record(tmp_path, monkeypatch):
    """A workload removed after a reboot still has its own dir tidied away: the mount records (on /run) are gone at
    the reboot, the restore record keeps what the first mount made and gives it to the mount made again."""
    from ansible_collections.anatomy.containers.plugins.module_utils import _mounts_resources
    from ansible_collections.anatomy.containers.plugins.module_utils._mounts import MountSpec, Records
    before_reboot = Records(str(tmp_path / 'mounts-first-boot'))
    made = ['/srv/web', '/srv/web/rootfs', '/srv/web/upper']
    before_reboot.save(MountSpec('overlay', 'overlay', '/srv/web/rootfs', 'overlay', [], {'path': '/srv/web/rootfs'}, made))
    extra = _mounts_resources.OverlayMount(kernel=None, records=before_reboot).record_extra()
    assert extra == {'created': {'/srv/web/rootfs': made}}
    _restore.write_record('overlay_mount', {'purge': True}, [{'path': '/srv/web/rootfs'}], extra=extra)
    loaded = _restore.load_records()
    assert loaded['extras'] == {'overlay_mount': extra}

    # After the reboot the restore mounted it again, finding every dir there: its record says it made none.
    after_reboot = Records(str(tmp_path / 'mounts-second-boot'))
    after_reboot.save(MountSpec('overlay', 'overlay', '/srv/web/rootfs', 'overlay', [], {'path': '/srv/web/rootfs'}, []))
    monkeypatch.setattr(_mounts_resources, 'Records', lambda: after_reboot)
    _restore.adopt_created(loaded['extras'])
    assert after_reboot.load('overlay')[0].created == made
