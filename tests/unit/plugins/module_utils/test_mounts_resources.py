# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""overlay_mount and bind_volume resources against an in-memory kernel: plans, validation, ownership.

Directories are real (a temp dir); mounts are entries in a fake mount table: nothing is mounted.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _mounts_resources as resources
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import (
    MNT_DETACH, MS_BIND, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, Records, Resolver,
)
from ansible_collections.anatomy.containers.plugins.module_utils._mounts_resources import BindVolume, OverlayMount
from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError, converge, make_plan
from ansible_collections.anatomy.containers.tests.unit.support.mounts_fakes import FakeKernel, PickyKernel


@pytest.fixture(autouse=True)
def nobody_uses_anything(monkeypatch):
    monkeypatch.setattr(resources, 'processes_using_paths', lambda paths: {p: [] for p in paths})


@pytest.fixture
def tmp(tmp_path):
    for name in ('l1', 'l2', 'l3'):
        (tmp_path / 'layers' / name).mkdir(parents=True)
    return tmp_path


def overlay_resource(tmp, kernel, **kwargs):
    return OverlayMount(kernel, Records(str(tmp / 'records')), link_dir=str(tmp / 'links'), **kwargs)


def ovl(tmp, name='c1', lower=('l1', 'l2'), upper=True, **extra):
    item = {'path': str(tmp / name / 'merged'), 'lower': [str(tmp / 'layers' / n) for n in lower],
            'upper': None, 'work': None, 'options': None}
    if upper:
        item.update(upper=str(tmp / name / 'upper'), work=str(tmp / name / 'work'))
    item.update(extra)
    return item


# -- overlay_mount ----------------------------------------------------------------------------------
def test_overlay_create_is_one_mount_then_idempotent(tmp):
    kernel = FakeKernel()
    item = ovl(tmp)
    result = converge(overlay_resource(tmp, kernel), [item], 'merged')
    assert result['changed'] and result['after'] == [{**item, 'options': []}]
    assert kernel.calls == [('mount', 'overlay', item['path'], 'overlay', 0, 'lowerdir=%s:%s,upperdir=%s,workdir=%s' % (
        item['lower'][0], item['lower'][1], item['upper'], item['work']))]
    assert all(os.path.isdir(item[k]) for k in ('path', 'upper', 'work'))
    again = converge(overlay_resource(tmp, kernel), [item], 'merged')
    assert not again['changed'] and len(kernel.calls) == 1
    assert converge(overlay_resource(tmp, kernel), None, 'gathered')['gathered'] == result['after']


def test_overlay_check_mode_changes_nothing(tmp):
    kernel = FakeKernel()
    result = converge(overlay_resource(tmp, kernel), [ovl(tmp)], 'merged', check_mode=True)
    assert result['changed'] and kernel.calls == [] and not (tmp / 'c1').exists()


def test_overlay_flags_and_data_options(tmp):
    kernel = FakeKernel()
    converge(overlay_resource(tmp, kernel), [ovl(tmp, options=['nodev', 'index=off', 'ro', 'rw'])], 'merged')
    _op, _src, _target, _type, flags, data = kernel.calls[0]
    assert flags == 0x4 | MS_RDONLY and data.endswith(',index=off')


@pytest.mark.parametrize('change, match', [
    ({'lower': ['/nothere']}, 'lower dir /nothere does not exist'),
    ({'lower': []}, 'lower must list at least one directory'),
    ({'work': None}, 'upper and work go together'),
    ({'upper': None, 'work': None, 'lower': ['LAYER']}, 'needs at least two lower dirs'),
    ({'path': 'relative'}, 'must be an absolute path'),
    ({'path': '/'}, "overlay '/' exists and is not managed"),
    ({'options': ['upperdir=/x']}, 'give layers as lower, upper and work'),
    ({'options': ['a,b']}, 'single mount options'),
    ({'upper': 'LAYER'}, 'overlaps lower dir'),
])
def test_overlay_bad_input_is_refused_before_any_change(tmp, change, match):
    kernel = FakeKernel()
    item = {**ovl(tmp), **change}
    item = {k: ([str(tmp / 'layers/l1') if x == 'LAYER' else x for x in v] if isinstance(v, list) else
                (str(tmp / 'layers/l1') if v == 'LAYER' else v)) for k, v in item.items()}
    with pytest.raises(ResourceError, match=match):
        converge(overlay_resource(tmp, kernel), [ovl(tmp, 'good'), item], 'merged')
    assert kernel.calls == [] and not (tmp / 'good').exists()


def test_a_path_through_a_symlink_is_refused(tmp):
    os.symlink(str(tmp), str(tmp / 'link'))
    item = {**ovl(tmp), 'path': str(tmp / 'link' / 'c1' / 'merged')}
    with pytest.raises(ResourceError, match='path goes through a symlink .* give the resolved path'):
        converge(overlay_resource(tmp, FakeKernel()), [item], 'merged')


def test_a_remount_keeps_what_the_first_mount_created(tmp):
    kernel = FakeKernel()
    converge(overlay_resource(tmp, kernel), [ovl(tmp)], 'merged')
    converge(overlay_resource(tmp, kernel), [ovl(tmp, lower=('l3', 'l1'))], 'merged')
    converge(overlay_resource(tmp, kernel), None, 'deleted')
    assert not (tmp / 'c1' / 'merged').exists() and (tmp / 'c1' / 'upper').is_dir()


def test_upper_and_work_on_different_filesystems(tmp):
    work_disk = str(tmp / 'c1' / 'work')

    class TwoDisks(OverlayMount):
        @staticmethod
        def device(path):
            return 2 if path == work_disk else 1

    kernel = FakeKernel()
    (tmp / 'c1' / 'work').mkdir(parents=True)
    resource = TwoDisks(kernel, Records(str(tmp / 'records')))
    with pytest.raises(ResourceError, match='are on different filesystems; overlayfs needs both on one'):
        converge(resource, [ovl(tmp)], 'merged')
    assert kernel.calls == []


def test_upper_on_an_overlay_root_is_refused_naming_it(tmp):
    kernel = FakeKernel()
    kernel.add(str(tmp), 'overlay')
    with pytest.raises(ResourceError) as err:
        converge(overlay_resource(tmp, kernel), [ovl(tmp)], 'merged')
    assert 'is on overlay (mounted at %s): overlayfs cannot use an overlay filesystem' % tmp in str(err.value)
    assert err.value.details['field'] == 'upper'


def test_upper_on_xfs_without_d_type_is_refused(tmp):
    kernel = FakeKernel(dtypes={str(tmp): [('layers', 0)]})
    kernel.add(str(tmp), 'xfs')
    with pytest.raises(ResourceError, match='is on xfs .* without d_type support'):
        converge(overlay_resource(tmp, kernel), [ovl(tmp)], 'merged')
    ok = FakeKernel(dtypes={str(tmp): [('layers', 4)]})
    ok.add(str(tmp), 'xfs')
    assert converge(overlay_resource(tmp, ok), [ovl(tmp)], 'merged')['changed']


def test_upper_on_a_read_only_mount_is_refused(tmp):
    kernel = FakeKernel()
    kernel.add(str(tmp), 'ext4', options=('ro',))
    with pytest.raises(ResourceError, match='is on a read-only mount'):
        converge(overlay_resource(tmp, kernel), [ovl(tmp)], 'merged')


def test_many_layers_use_lowerdir_plus(tmp):
    names = []
    for i in range(100):
        name = 'layer-%03d-%s' % (i, 'x' * 40)
        (tmp / 'layers' / name).mkdir()
        names.append(name)
    kernel = FakeKernel()
    item = ovl(tmp, lower=names)
    converge(overlay_resource(tmp, kernel), [item], 'merged')
    assert kernel.calls[0][0] == 'fsmount' and kernel.calls[0][2][1:101] == [('lowerdir+', p) for p in item['lower']]
    assert not converge(overlay_resource(tmp, kernel), [item], 'merged')['changed']


def test_many_layers_fall_back_to_short_links(tmp):
    names = []
    for i in range(100):
        name = 'layer-%03d-%s' % (i, 'x' * 40)
        (tmp / 'layers' / name).mkdir()
        names.append(name)
    kernel = FakeKernel(fsapi=False)
    item = ovl(tmp, lower=names)
    converge(overlay_resource(tmp, kernel), [item], 'merged')
    op, _src, _target, _type, _flags, data = kernel.calls[-1]
    links = data.split(',')[0][len('lowerdir='):].split(':')
    # Relative to the links' parent, as Docker's overlay2 does (l/ID): 100 layers in well under a page.
    assert op == 'mount' and len(data) < 4096 and links[0].startswith('links/')
    assert [os.readlink(str(tmp / link)) for link in links] == item['lower']
    assert not converge(overlay_resource(tmp, kernel), [item], 'merged')['changed']


def test_changed_layers_remount_only_when_unused(tmp, monkeypatch):
    kernel = FakeKernel()
    converge(overlay_resource(tmp, kernel), [ovl(tmp)], 'merged')
    changed = {'path': ovl(tmp)['path'], 'lower': ovl(tmp, lower=('l3', 'l2'))['lower']}
    monkeypatch.setattr(resources, 'processes_using_paths', lambda paths: {p: ['42 (sleep)'] for p in paths})
    with pytest.raises(ResourceError, match=r'is in use \(processes: 42 \(sleep\)\); it is not unmounted'):
        converge(overlay_resource(tmp, kernel), [changed], 'merged')
    assert len(kernel.calls) == 1
    result = converge(overlay_resource(tmp, kernel, lazy_unmount=True), [changed], 'merged')
    assert result['after'][0]['lower'] == changed['lower'] and result['after'][0]['upper'] == ovl(tmp)['upper']
    assert kernel.calls[1] == ('umount', changed['path'], MNT_DETACH)


def test_a_mount_on_top_makes_an_overlay_busy(tmp):
    kernel = FakeKernel()
    converge(overlay_resource(tmp, kernel), [ovl(tmp)], 'merged')
    kernel.add(ovl(tmp)['path'] + '/data')
    with pytest.raises(ResourceError, match='mounts on it: .*/merged/data'):
        converge(overlay_resource(tmp, kernel), [{'path': ovl(tmp)['path']}], 'deleted')


def test_kernel_busy_is_a_clear_error(tmp):
    kernel = FakeKernel()
    converge(overlay_resource(tmp, kernel), [ovl(tmp)], 'merged')
    kernel.busy.add(ovl(tmp)['path'])
    with pytest.raises(ResourceError, match='is busy .*lazy_unmount=true'):
        converge(overlay_resource(tmp, kernel), None, 'deleted')


def test_deleted_keeps_upper_unless_purged(tmp):
    kernel = FakeKernel()
    item = ovl(tmp)
    converge(overlay_resource(tmp, kernel), [item, ovl(tmp, 'c2')], 'merged')
    (tmp / 'c1' / 'upper' / 'written').write_text('x')
    converge(overlay_resource(tmp, kernel), [{'path': item['path']}], 'deleted')
    assert (tmp / 'c1' / 'upper' / 'written').exists() and not (tmp / 'c1' / 'merged').exists()
    assert converge(overlay_resource(tmp, kernel, purge=True), None, 'deleted')['after'] == []
    assert not (tmp / 'c2' / 'upper').exists() and not (tmp / 'c2' / 'work').exists()


def test_purge_removes_every_dir_the_overlay_made_deepest_first(tmp):
    kernel = FakeKernel()
    item = ovl(tmp, 'w/c1')
    converge(overlay_resource(tmp, kernel), [item], 'merged')
    assert Records(str(tmp / 'records')).load('overlay')[0].created == [
        str(tmp / 'w'), str(tmp / 'w' / 'c1'), item['path'], item['upper'], item['work']]
    (tmp / 'w' / 'c1' / 'upper' / 'written').write_text('x')
    (tmp / 'w' / 'theirs').write_text('y')
    result = converge(overlay_resource(tmp, kernel, purge=True), [{'path': item['path']}], 'deleted')
    assert result['changed'] and result['after'] == []
    # The workload's own dir is gone; a dir made for it that holds something of someone else's stays.
    assert not (tmp / 'w' / 'c1').exists() and (tmp / 'w' / 'theirs').read_text() == 'y'
    assert (tmp / 'layers' / 'l1').is_dir()


def test_purge_refuses_to_remove_through_a_mount(tmp):
    kernel = FakeKernel()
    item = ovl(tmp)
    converge(overlay_resource(tmp, kernel), [item], 'merged')
    (tmp / 'c1' / 'upper' / 'vol').mkdir()
    (tmp / 'c1' / 'upper' / 'vol' / 'data').write_text('keep')
    kernel.add(str(tmp / 'c1' / 'upper' / 'vol'))
    calls = list(kernel.calls)
    with pytest.raises(ResourceError) as err:
        converge(overlay_resource(tmp, kernel, purge=True), [{'path': item['path']}], 'deleted')
    assert '%s is mounted below them; nothing is removed' % (tmp / 'c1' / 'upper' / 'vol') in str(err.value)
    assert (err.value.details['field'], err.value.details['index']) == ('purge', 0)
    assert kernel.calls == calls and (tmp / 'c1' / 'upper' / 'vol' / 'data').read_text() == 'keep'
    assert kernel.mountinfo().at(item['path']) is not None
    # Without purge, nothing is removed but the merged dir: fine.
    assert converge(overlay_resource(tmp, kernel), [{'path': item['path']}], 'deleted')['changed']
    assert (tmp / 'c1' / 'upper' / 'vol' / 'data').read_text() == 'keep'


def test_purge_finds_a_mount_below_an_upper_reached_through_a_symlink(tmp):
    kernel = FakeKernel()
    (tmp / 'real').mkdir()
    os.symlink(tmp / 'real', tmp / 'link')
    item = dict(ovl(tmp), upper=str(tmp / 'link' / 'upper'), work=str(tmp / 'link' / 'work'))
    converge(overlay_resource(tmp, kernel), [item], 'merged')
    (tmp / 'real' / 'upper' / 'vol').mkdir()
    kernel.add(str(tmp / 'real' / 'upper' / 'vol'))
    with pytest.raises(ResourceError, match='real/upper/vol is mounted below them'):
        converge(overlay_resource(tmp, kernel, purge=True), None, 'deleted')
    assert (tmp / 'real' / 'upper' / 'vol').is_dir()


def test_check_mode_assumes_layers_an_earlier_task_builds(tmp):
    kernel = FakeKernel()
    item = ovl(tmp, 'w/c1', lower=('new', 'l1'))
    result = converge(overlay_resource(tmp, kernel), [item], 'merged', check_mode=True)
    assert result['changed'] and result['after'] == [dict(item, options=[])]
    assert kernel.calls == [] and not (tmp / 'w').exists() and not (tmp / 'records').exists()
    with pytest.raises(ResourceError, match=r'lower dir .*/layers/new does not exist'):
        converge(overlay_resource(tmp, kernel), [item], 'merged')
    assert kernel.calls == [] and not (tmp / 'w').exists()
    # Something that is there but is not a directory is refused in check mode too.
    (tmp / 'layers' / 'new').write_text('')
    with pytest.raises(ResourceError, match=r'lower dir .*/layers/new does not exist \(or is not a directory\)'):
        converge(overlay_resource(tmp, kernel), [item], 'merged', check_mode=True)


def test_foreign_and_taken_over_mounts_are_never_touched(tmp):
    kernel = FakeKernel()
    item = ovl(tmp)
    converge(overlay_resource(tmp, kernel), [item], 'merged')
    # Someone remounted it with other layers: not ours any more.
    top = kernel.mountinfo().at(item['path'])
    top.super_options = [('lowerdir', '/elsewhere')]
    with pytest.raises(ResourceError, match='exists and is not managed by anatomy.containers'):
        converge(overlay_resource(tmp, kernel), [item], 'merged')
    assert converge(overlay_resource(tmp, kernel), None, 'deleted')['changed'] is False


# -- bind_volume ------------------------------------------------------------------------------------
def bind_resource(tmp, kernel, **kwargs):
    return BindVolume(kernel, Records(str(tmp / 'records')), volumes_root=str(tmp / 'volumes'),
                      resolver=Resolver(use_openat2=False), **kwargs)


def bind(root, target, **options):
    item = dict.fromkeys(('volume', 'source', 'content', 'read_only', 'propagation', 'recursive', 'owner', 'group',
                          'mode'))
    item.update(root=str(root), target=target, **options)
    return item


@pytest.fixture
def rootfs(tmp):
    root = tmp / 'rootfs'
    (root / 'etc').mkdir(parents=True)
    os.symlink('/etc', root / 'etc-link')
    return root


def test_volume_bind_creates_the_volume_and_mounts_through_fds(tmp, rootfs):
    kernel = FakeKernel()
    result = converge(bind_resource(tmp, kernel), [bind(rootfs, '/data', volume='db', mode='750')], 'merged')
    assert result['changed'] and result['after'][0]['mode'] == '0750'
    op, source, target, _type, flags, _data = kernel.calls[0]
    assert op == 'mount' and source.startswith('/proc/self/fd/') and target.startswith('/proc/self/fd/')
    assert flags == MS_BIND | MS_REC
    assert kernel.calls[-1][2] == str(rootfs / 'data') and kernel.calls[-1][4] == MS_PRIVATE | MS_REC
    data = tmp / 'volumes' / 'db' / '_data'
    assert data.is_dir() and oct(data.stat().st_mode & 0o777) == '0o750'
    assert json.loads((tmp / 'volumes' / 'db' / 'anatomy.json').read_text())['owner'] == 'anatomy.containers'
    calls = len(kernel.calls)
    assert not converge(bind_resource(tmp, kernel), [bind(rootfs, '/data', volume='db', mode='0750')],
                        'merged')['changed']
    assert len(kernel.calls) == calls  # never remounted on a re-run (ansible.posix#459)


def test_target_through_a_symlink_stays_in_the_root(tmp, rootfs):
    kernel = FakeKernel()
    host_etc = sorted(os.listdir('/etc'))
    converge(bind_resource(tmp, kernel), [bind(rootfs, '/etc-link/app', volume='cfg')], 'merged')
    assert kernel.mountinfo().at(str(rootfs / 'etc' / 'app')) is not None and (rootfs / 'etc' / 'app').is_dir()
    assert sorted(os.listdir('/etc')) == host_etc


def test_read_only_is_a_remount_keeping_locked_flags_then_verified(tmp, rootfs):
    kernel = FakeKernel()
    kernel.add(str(tmp / 'src'), 'ext4', options=('rw', 'nosuid'))
    (tmp / 'src').mkdir()
    converge(bind_resource(tmp, kernel), [bind(rootfs, '/ro', source=str(tmp / 'src'), read_only=True)], 'merged')
    bind_mount = kernel.mountinfo().at(str(rootfs / 'ro'))
    assert bind_mount.read_only
    remounts = [c for c in kernel.calls if c[0] == 'mount' and c[4] & MS_REMOUNT]
    # nosuid, which the source's mount has, is carried over: a remount without it fails in a user namespace.
    assert remounts and remounts[0][4] == MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
    # Writable again: in place, the same mount.
    result = converge(bind_resource(tmp, kernel), [bind(rootfs, '/ro', read_only=False)], 'merged')
    assert result['after'][0]['read_only'] is False and kernel.mountinfo().at(str(rootfs / 'ro')) is bind_mount
    assert not [c for c in kernel.calls if c[0] == 'umount']


@pytest.mark.parametrize('propagation', ['shared', 'rshared', 'slave', 'rslave'])
def test_propagation_needs_a_source_mount_that_propagates(tmp, rootfs, propagation):
    kernel = FakeKernel()
    (tmp / 'priv' / 'src').mkdir(parents=True)
    kernel.add(str(tmp / 'priv'), 'tmpfs')
    with pytest.raises(ResourceError) as err:
        converge(bind_resource(tmp, kernel), [bind(rootfs, '/p', source=str(tmp / 'priv/src'),
                                                   propagation=propagation)], 'merged', check_mode=True)
    assert 'lies on %s, which is private' % (tmp / 'priv') in str(err.value) and 'runc#5390' in str(err.value)
    assert kernel.calls == []


def test_slave_of_a_slave_source_is_fine_and_verified(tmp, rootfs):
    kernel = FakeKernel()
    (tmp / 'sl' / 'src').mkdir(parents=True)
    kernel.add(str(tmp / 'sl'), 'tmpfs', optional=('master:5',))
    with pytest.raises(ResourceError, match='propagation shared needs a source on a shared mount'):
        converge(bind_resource(tmp, kernel), [bind(rootfs, '/p', source=str(tmp / 'sl/src'), propagation='shared')],
                 'merged')
    # The shared root: rshared, then what the kernel shows is checked.
    result = converge(bind_resource(tmp, kernel), [bind(rootfs, '/s', volume='v', propagation='rshared')], 'merged')
    assert result['after'][0]['propagation'] == 'rshared'


def test_propagation_that_did_not_take_is_undone(tmp, rootfs):
    kernel = FakeKernel(keep_private=True)
    with pytest.raises(ResourceError, match='asked for propagation rshared, the kernel made it private'):
        converge(bind_resource(tmp, kernel), [bind(rootfs, '/s', volume='v', propagation='rshared')], 'merged')
    assert kernel.mountinfo().at(str(rootfs / 's')) is None and Records(str(tmp / 'records')).load('bind') == []


@pytest.mark.parametrize('item, match', [
    ({'volume': 'a/b'}, "must not contain '/'"),
    ({'volume': '..'}, "must not be '.' or '..'"),
    ({'volume': 'x' * 256}, 'at most 255 bytes'),
    ({'volume': 'a\x00b'}, 'must not contain NUL'),
    ({}, 'give exactly one of volume and source'),
    ({'volume': 'v', 'source': '/etc'}, 'give exactly one of volume and source'),
    ({'source': '/etc', 'mode': '0700'}, 'applies to volumes only'),
    ({'volume': 'v', 'mode': 'rwx'}, 'mode must be octal'),
    ({'volume': 'v', 'owner': 'no-such-user-here'}, "owner 'no-such-user-here' does not exist"),
    ({'volume': 'v', 'target': '/'}, 'must not be the root itself'),
    ({'volume': 'v', 'target': '/loop/x'}, 'cannot be resolved inside'),
])
def test_bind_bad_input_is_refused_before_any_change(tmp, rootfs, item, match):
    os.symlink('loop', rootfs / 'loop')
    kernel = FakeKernel()
    good = bind(rootfs, '/good', volume='good')
    with pytest.raises(ResourceError, match=match):
        converge(bind_resource(tmp, kernel), [good, {**bind(rootfs, '/bad'), **item}], 'merged')
    assert kernel.calls == [] and not (tmp / 'volumes').exists() and not (rootfs / 'good').exists()


def test_check_mode_assumes_a_root_an_earlier_task_mounts(tmp):
    kernel = FakeKernel()
    root = tmp / 'w' / 'c1' / 'rootfs'
    config = [bind(root, '/data', volume='db'),
              bind(root, '/etc/hosts', source=str(tmp / 'w' / 'c1' / 'hosts'), content=HOSTS, read_only=True)]
    result = converge(bind_resource(tmp, kernel), config, 'merged', check_mode=True)
    assert result['changed'] and [(a['target'], a['content']) for a in result['after']] == [
        ('/data', None), ('/etc/hosts', HOSTS)]
    assert kernel.calls == [] and not (tmp / 'w').exists() and not (tmp / 'volumes').exists()
    for check_mode in (False, True):
        # A real run fails as before; so does check mode when something not a directory is in the root's place.
        with pytest.raises(ResourceError, match="bind mount '/data' in .*: root .*/rootfs is not a directory"):
            converge(bind_resource(tmp, kernel), config, 'merged', check_mode=check_mode)
        assert kernel.calls == [] and not (tmp / 'volumes').exists()
        (tmp / 'w' / 'c1').mkdir(parents=True, exist_ok=True)
        root.write_text('')
    # A root that exists but is not mounted yet (an empty dir): planned as usual.
    root.unlink()
    root.mkdir()
    assert converge(bind_resource(tmp, kernel), config, 'merged', check_mode=True)['after'] == result['after']
    assert kernel.calls == [] and list(root.iterdir()) == []


def test_a_foreign_mount_point_is_not_mounted_over(tmp, rootfs):
    kernel = FakeKernel()
    (rootfs / 'proc').mkdir()
    kernel.add(str(rootfs / 'proc'), 'proc')
    with pytest.raises(ResourceError, match='already a mount point not managed'):
        converge(bind_resource(tmp, kernel), [bind(rootfs, '/proc', volume='v')], 'merged')


def test_purge_only_our_volumes_and_never_one_still_mounted(tmp, rootfs):
    kernel = FakeKernel()
    (tmp / 'volumes' / 'theirs' / '_data').mkdir(parents=True)
    config = [bind(rootfs, '/a', volume='ours'), bind(rootfs, '/b', volume='ours'), bind(rootfs, '/c', volume='theirs')]
    converge(bind_resource(tmp, kernel), config, 'merged')
    with pytest.raises(ResourceError, match="volume 'ours': purge would delete its data, but it is still mounted"):
        converge(bind_resource(tmp, kernel, purge=True), [bind(rootfs, '/a')], 'deleted')
    converge(bind_resource(tmp, kernel), [bind(rootfs, '/a')], 'deleted')
    assert (tmp / 'volumes' / 'ours' / '_data').is_dir()  # no purge: kept
    converge(bind_resource(tmp, kernel, purge=True), None, 'deleted')
    assert not (tmp / 'volumes' / 'ours').exists() and (tmp / 'volumes' / 'theirs' / '_data').is_dir()


def test_purge_refused_when_the_same_run_mounts_the_volume_elsewhere(tmp, rootfs):
    kernel = FakeKernel()
    converge(bind_resource(tmp, kernel), [bind(rootfs, '/a', volume='v')], 'merged')
    with pytest.raises(ResourceError, match="volume 'v': purge would delete its data, but it is still mounted at /b"):
        converge(bind_resource(tmp, kernel, purge=True), [bind(rootfs, '/b', volume='v')], 'overridden')
    assert (tmp / 'volumes' / 'v' / '_data').is_dir()


def test_changing_the_source_unmounts_first(tmp, rootfs):
    kernel = FakeKernel()
    converge(bind_resource(tmp, kernel), [bind(rootfs, '/d', volume='one')], 'merged')
    result = converge(bind_resource(tmp, kernel), [bind(rootfs, '/d', volume='two')], 'merged')
    assert result['after'][0]['volume'] == 'two'
    assert [c[0] for c in kernel.calls].count('umount') == 1
    assert (tmp / 'volumes' / 'one' / '_data').is_dir()


# -- bind_volume with content -----------------------------------------------------------------------
HOSTS = '127.0.0.1 localhost\n10.88.0.2 web\n'


def mount_calls(kernel):
    """mount(2) and umount2(2) calls that bind, remount or unmount (propagation changes aside)."""
    return [c for c in kernel.calls if c[0] == 'umount' or c[4] & (MS_BIND | MS_REMOUNT)]


@pytest.mark.parametrize('item, field, match', [
    ({'volume': 'v', 'content': 'x'}, 'content', 'content goes with source'),
    ({'source': 'DIR', 'content': 'x'}, 'source', 'is a directory; with content, source is the file'),
    ({'source': 'LINK', 'content': 'x'}, 'source', 'exists and is not a regular file'),
    ({'source': 'FILE/below', 'content': 'x'}, 'source', 'cannot be made: %s is not a directory'),
    ({'source': 'NEW', 'content': 'x', 'mode': '0600'}, 'mode', 'applies to volumes only'),
    ({'source': 'NEW'}, 'source', 'does not exist'),
])
def test_content_bad_input_is_refused_before_any_change(tmp, rootfs, item, field, match):
    (tmp / 'dir').mkdir()
    (tmp / 'file').write_text('keep\n')
    os.symlink(str(tmp / 'nowhere'), tmp / 'link')
    paths = {'DIR': str(tmp / 'dir'), 'LINK': str(tmp / 'link'), 'FILE': str(tmp / 'file'), 'NEW': str(tmp / 'new/f')}
    item = {k: (paths[v.split('/')[0]] + v[len(v.split('/')[0]):] if k == 'source' else v) for k, v in item.items()}
    kernel = FakeKernel()
    good = bind(rootfs, '/etc/hostname', source=str(tmp / 'good' / 'hostname'), content='good\n')
    with pytest.raises(ResourceError, match=match.replace('%s', '.*')) as err:
        converge(bind_resource(tmp, kernel), [good, {**bind(rootfs, '/etc/bad'), **item}], 'merged')
    assert err.value.details == {'index': 1, 'field': field}
    assert kernel.calls == [] and not (tmp / 'good').exists() and not (tmp / 'new').exists()
    assert not (rootfs / 'etc' / 'hostname').exists() and (tmp / 'file').read_text() == 'keep\n'


def test_content_is_written_then_bound_and_read_back(tmp, rootfs):
    kernel = FakeKernel()
    source = tmp / 'c1' / 'etc' / 'hosts'
    item = bind(rootfs, '/etc/hosts', source=str(source), content=HOSTS, read_only=True)
    result = converge(bind_resource(tmp, kernel), [item], 'merged')
    assert result['changed'] and result['after'][0]['content'] == HOSTS and result['after'][0]['read_only']
    assert source.read_text() == HOSTS and oct(source.stat().st_mode & 0o7777) == '0o644'
    assert all(oct(d.stat().st_mode & 0o7777) == '0o755' for d in (tmp / 'c1', tmp / 'c1' / 'etc'))
    # What the bind shows: the source's inode.
    assert os.stat(rootfs / 'etc' / 'hosts').st_ino == source.stat().st_ino
    assert (rootfs / 'etc' / 'hosts').read_text() == HOSTS
    assert Records(str(tmp / 'records')).load('bind')[0].config['content'] == HOSTS
    calls = len(kernel.calls)
    mtime = source.stat().st_mtime_ns
    again = converge(bind_resource(tmp, kernel), [item], 'merged')
    assert not again['changed'] and len(kernel.calls) == calls and source.stat().st_mtime_ns == mtime
    assert converge(bind_resource(tmp, kernel), None, 'gathered')['gathered'] == result['after']


def test_content_into_an_existing_file_keeps_its_inode_and_mode(tmp, rootfs):
    source = tmp / 'hostname'
    source.write_text('old-name-that-is-longer\n')
    source.chmod(0o640)
    inode = source.stat().st_ino
    kernel = FakeKernel()
    converge(bind_resource(tmp, kernel), [bind(rootfs, '/etc/hostname', source=str(source), content='web\n')],
             'merged')
    assert source.read_text() == 'web\n' and source.stat().st_ino == inode
    assert oct(source.stat().st_mode & 0o7777) == '0o640'


@pytest.mark.parametrize('read_only', [False, True])
def test_a_content_change_is_an_update_written_in_place_without_remount(tmp, rootfs, read_only):
    kernel = FakeKernel()
    source = tmp / 'hosts'
    item = bind(rootfs, '/etc/hosts', source=str(source), content=HOSTS, read_only=read_only)
    converge(bind_resource(tmp, kernel), [item], 'merged')
    inode, calls = source.stat().st_ino, len(kernel.calls)
    new = HOSTS + '10.88.0.3 db\n'
    resource = bind_resource(tmp, kernel)
    owned, foreign = resource.read()
    plan = make_plan(resource, owned, foreign, [dict(item, content=new)], 'merged')
    assert (plan.create, plan.delete, len(plan.update)) == ([], [], 1)
    current, desired = plan.update[0]
    assert (current['content'], desired['content']) == (HOSTS, new)
    assert not resource._remount_needed(current, desired) and not resource._rebind_needed(current, desired)
    result = converge(bind_resource(tmp, kernel), [dict(item, content=new)], 'merged')
    assert result['changed'] and [(b['content'], b['read_only']) for b in result['after']] == [(new, read_only)]
    assert len(kernel.calls) == calls  # not one mount(2) call: neither a remount nor a propagation change
    assert source.stat().st_ino == inode and (rootfs / 'etc' / 'hosts').read_text() == new
    assert Records(str(tmp / 'records')).load('bind')[0].config['content'] == new
    # Shorter content: truncated.
    converge(bind_resource(tmp, kernel), [dict(item, content='x\n')], 'merged')
    assert (rootfs / 'etc' / 'hosts').read_text() == 'x\n' and source.stat().st_ino == inode


def test_remount_needed_ignores_content():
    resource = BindVolume(FakeKernel())
    current = {'volume': None, 'source': '/s', 'recursive': True, 'content': 'a'}
    assert not resource._remount_needed(current, dict(current, content='b'))
    assert not resource._remount_needed(current, dict(current, content=None))
    assert resource._remount_needed(current, dict(current, source='/t'))


def test_a_file_edited_by_hand_is_reported_and_written_again(tmp, rootfs):
    kernel = FakeKernel()
    source = tmp / 'hosts'
    item = bind(rootfs, '/etc/hosts', source=str(source), content=HOSTS)
    converge(bind_resource(tmp, kernel), [item], 'merged')
    inode, calls = source.stat().st_ino, len(kernel.calls)
    with open(source, 'a') as handle:
        handle.write('6.6.6.6 evil\n')
    assert converge(bind_resource(tmp, kernel), None, 'gathered')['gathered'][0]['content'] == HOSTS + '6.6.6.6 evil\n'
    result = converge(bind_resource(tmp, kernel), [item], 'merged', check_mode=True)
    assert result['changed'] and result['before'][0]['content'] == HOSTS + '6.6.6.6 evil\n'
    assert result['after'][0]['content'] == HOSTS and source.read_text() == HOSTS + '6.6.6.6 evil\n'
    # merged without content keeps the file as it is.
    assert not converge(bind_resource(tmp, kernel), [bind(rootfs, '/etc/hosts')], 'merged')['changed']
    result = converge(bind_resource(tmp, kernel), [item], 'replaced')
    assert result['changed'] and result['after'][0]['content'] == HOSTS
    assert source.read_text() == HOSTS and source.stat().st_ino == inode and len(kernel.calls) == calls
    # Bytes that are not UTF-8: shown, and written again.
    source.write_bytes(b'\xff\xfe\n')
    before = converge(bind_resource(tmp, kernel), [item], 'merged')['before'][0]['content']
    assert before == '\ufffd\ufffd\n' and source.read_text() == HOSTS


@pytest.mark.parametrize('how', ['renamed over', 'removed'])
def test_a_file_replaced_at_the_source_path_is_bound_again(tmp, rootfs, how):
    """sed -i and editors replace a file by a rename: writing the new file would not reach the bind."""
    kernel = FakeKernel()
    source = tmp / 'hosts'
    item = bind(rootfs, '/etc/hosts', source=str(source), content=HOSTS)
    converge(bind_resource(tmp, kernel), [item], 'merged')
    if how == 'removed':
        source.unlink()
    else:
        (tmp / 'hosts.new').write_text(HOSTS)  # even with the right content: it is not the file bound
        os.rename(tmp / 'hosts.new', source)
    assert converge(bind_resource(tmp, kernel), None, 'gathered')['gathered'][0]['content'] is None
    result = converge(bind_resource(tmp, kernel), [item], 'merged')
    assert result['changed'] and result['before'][0]['content'] is None and result['after'][0]['content'] == HOSTS
    assert [c[0] for c in mount_calls(kernel)] == ['mount', 'umount', 'mount']
    assert os.stat(rootfs / 'etc' / 'hosts').st_ino == source.stat().st_ino
    assert (rootfs / 'etc' / 'hosts').read_text() == HOSTS
    assert not converge(bind_resource(tmp, kernel), [item], 'merged')['changed']


def test_a_plain_file_bind_given_content_is_written_in_place(tmp, rootfs):
    kernel = FakeKernel()
    source = tmp / 'resolv.conf'
    source.write_text('nameserver 192.0.2.1\n')
    converge(bind_resource(tmp, kernel), [bind(rootfs, '/etc/resolv.conf', source=str(source))], 'merged')
    assert converge(bind_resource(tmp, kernel), None, 'gathered')['gathered'][0]['content'] is None
    calls = len(kernel.calls)
    result = converge(bind_resource(tmp, kernel), [bind(rootfs, '/etc/resolv.conf', content='nameserver ::1\n')],
                      'merged')
    assert result['changed'] and result['after'][0]['content'] == 'nameserver ::1\n' and len(kernel.calls) == calls
    assert (rootfs / 'etc' / 'resolv.conf').read_text() == 'nameserver ::1\n'


def test_content_in_check_mode_writes_nothing(tmp, rootfs):
    kernel = FakeKernel()
    item = bind(rootfs, '/etc/hosts', source=str(tmp / 'c' / 'hosts'), content=HOSTS)
    result = converge(bind_resource(tmp, kernel), [item], 'merged', check_mode=True)
    assert result['changed'] and result['after'][0]['content'] == HOSTS
    assert kernel.calls == [] and not (tmp / 'c').exists() and not (rootfs / 'etc' / 'hosts').exists()
    assert converge(bind_resource(tmp, kernel), [item], 'merged')['after'] == result['after']


def test_deleting_a_content_bind_unmounts_it_and_removes_the_file_it_wrote(tmp, rootfs):
    kernel = FakeKernel()
    source = tmp / 'c' / 'sub' / 'hosts'
    (tmp / 'c').mkdir()
    (tmp / 'c' / 'theirs').write_text('x')
    converge(bind_resource(tmp, kernel), [bind(rootfs, '/etc/hosts', source=str(source), content=HOSTS)], 'merged')
    assert Records(str(tmp / 'records')).load('bind')[0].created == [str(tmp / 'c' / 'sub')]
    result = converge(bind_resource(tmp, kernel), None, 'deleted')
    assert result['changed'] and result['after'] == []
    assert kernel.mountinfo().at(str(rootfs / 'etc' / 'hosts')) is None
    # The file and the directory made for it are gone; what was there before stays.
    assert not (tmp / 'c' / 'sub').exists() and (tmp / 'c' / 'theirs').read_text() == 'x'


def test_a_content_file_another_bind_still_uses_stays(tmp, rootfs):
    kernel = FakeKernel()
    shared = tmp / 'resolv.conf'
    one = bind(rootfs, '/etc/resolv.conf', source=str(shared), content=HOSTS)
    (rootfs / 'b').mkdir()
    two = bind(rootfs, '/b/resolv.conf', source=str(shared), content=HOSTS)
    converge(bind_resource(tmp, kernel), [one, two], 'merged')
    converge(bind_resource(tmp, kernel), [bind(rootfs, '/etc/resolv.conf')], 'deleted')
    assert shared.read_text() == HOSTS
    converge(bind_resource(tmp, kernel), [bind(rootfs, '/b/resolv.conf')], 'deleted')
    assert not shared.exists()


def test_a_content_bind_made_again_keeps_the_file_and_what_it_made(tmp, rootfs):
    kernel = FakeKernel()
    source = tmp / 'c' / 'hosts'
    item = bind(rootfs, '/etc/hosts', source=str(source), content=HOSTS)
    converge(bind_resource(tmp, kernel), [item], 'merged')
    # Replaced by a rename: bound again, not deleted; the record still names the directory made for it.
    (tmp / 'c' / 'new').write_text('other\n')
    os.replace(tmp / 'c' / 'new', source)
    assert converge(bind_resource(tmp, kernel), [item], 'merged')['changed']
    assert source.read_text() == HOSTS
    assert Records(str(tmp / 'records')).load('bind')[0].created == [str(tmp / 'c')]
    converge(bind_resource(tmp, kernel), None, 'deleted')
    assert not (tmp / 'c').exists()


def test_binds_sharing_a_source_file_must_agree_on_its_content(tmp, rootfs):
    kernel = FakeKernel()
    shared = str(tmp / 'resolv.conf')
    (rootfs / 'b').mkdir()
    one = bind(rootfs, '/etc/resolv.conf', source=shared, content='nameserver 192.0.2.1\n')
    same = bind(rootfs, '/b/resolv.conf', source=shared, content='nameserver 192.0.2.1\n')
    other = bind(rootfs, '/b/other.conf', source=shared, content='nameserver 192.0.2.2\n')
    with pytest.raises(ResourceError, match="is also written by bind mount '/b/other.conf' in .*, with other content"):
        converge(bind_resource(tmp, kernel), [one, other], 'merged')
    assert kernel.calls == []
    converge(bind_resource(tmp, kernel), [one, same], 'merged')
    # Against a bind left in place: refused too, naming the one in config.
    with pytest.raises(ResourceError) as err:
        converge(bind_resource(tmp, kernel), [other], 'merged')
    assert err.value.details['index'] == 0
    # Unless that bind goes away in the same run.
    converge(bind_resource(tmp, kernel), [other], 'overridden')
    assert (rootfs / 'b' / 'other.conf').read_text() == 'nameserver 192.0.2.2\n'


def test_each_source_file_is_read_once_a_run(tmp, rootfs, monkeypatch):
    kernel = FakeKernel()
    config = [bind(rootfs, '/etc/f%d' % i, source=str(tmp / 'src' / ('f%d' % i)), content='%d\n' % i)
              for i in range(20)]
    converge(bind_resource(tmp, kernel), config, 'merged')
    opened = []
    real_open = os.open

    def counting_open(path, flags, *args, **kwargs):
        if str(path).startswith(str(tmp / 'src')):
            opened.append((str(path), flags & (os.O_WRONLY | os.O_RDWR)))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, 'open', counting_open)
    changed = [dict(item, content='new %d\n' % i) for i, item in enumerate(config)]
    result = converge(bind_resource(tmp, kernel), changed, 'merged')
    assert result['changed'] and [b['content'] for b in result['after']] == sorted(c['content'] for c in changed)
    reads = [path for path, write in opened if not write]
    writes = [path for path, write in opened if write]
    assert sorted(reads) == sorted(set(reads)) and len(reads) == 20 and len(writes) == 20


def test_records_from_before_content_read_as_without_content(tmp, rootfs):
    kernel = FakeKernel()
    (tmp / 'src').mkdir()
    item = bind(rootfs, '/srv', source=str(tmp / 'src'))
    converge(bind_resource(tmp, kernel), [item], 'merged')
    records = Records(str(tmp / 'records'))
    spec = records.load('bind')[0]
    del spec.config['content']
    records.save(spec)
    gathered = converge(bind_resource(tmp, kernel), None, 'gathered')['gathered']
    assert gathered[0]['content'] is None
    assert not converge(bind_resource(tmp, kernel), [item], 'merged')['changed']


# -- many binds in one call: the batch path ---------------------------------------------------------
def many_binds(tmp, rootfs, count):
    config = []
    for i in range(count):
        config.append(bind(rootfs, '/w%d/data' % i, volume='v%d' % i))
        config.append(bind(rootfs, '/w%d/etc/hosts' % i, source=str(tmp / 'files' / str(i) / 'hosts'),
                           content='10.88.0.%d w%d\n' % (i + 2, i), read_only=True))
    return config


@pytest.mark.parametrize('count', [2, 30])
def test_many_binds_read_the_mount_table_a_fixed_number_of_times(tmp, rootfs, count):
    kernel = FakeKernel()
    config = many_binds(tmp, rootfs, count)
    result = converge(bind_resource(tmp, kernel), config, 'merged')
    # read, then one table to find what the binds made and one to verify them all, then the read for after.
    assert result['changed'] and kernel.reads == 4
    table = kernel.mountinfo()
    for i in range(count):
        assert table.at(str(rootfs / ('w%d' % i) / 'data')).read_only is False
        assert table.at(str(rootfs / ('w%d' % i) / 'etc' / 'hosts')).read_only is True
        assert (rootfs / ('w%d' % i) / 'etc' / 'hosts').read_text() == '10.88.0.%d w%d\n' % (i + 2, i)
    assert len(Records(str(tmp / 'records')).load('bind')) == 2 * count
    kernel.reads, calls = 0, len(kernel.calls)
    assert not converge(bind_resource(tmp, kernel), config, 'merged')['changed']
    assert kernel.reads == 1 and len(kernel.calls) == calls
    # Read-only for all of them at once: remounts in place, the same two reads.
    kernel.reads = 0
    result = converge(bind_resource(tmp, kernel), [dict(item, read_only=True) for item in config], 'merged')
    assert all(b['read_only'] for b in result['after']) and kernel.reads == 4
    assert not [c for c in kernel.calls if c[0] == 'umount']
    # Deleted all at once: one table for every unmount.
    kernel.reads = 0
    assert converge(bind_resource(tmp, kernel), None, 'deleted')['after'] == []
    assert kernel.reads == 3 and [m.mount_point for m in kernel.mountinfo().mounts] == ['/']


def test_a_bind_inside_another_of_the_same_call_keeps_its_own_settings(tmp, rootfs):
    kernel = FakeKernel()
    outer = bind(rootfs, '/srv', volume='outer', read_only=True)
    inner = bind(rootfs, '/srv/inner', volume='inner')
    result = converge(bind_resource(tmp, kernel), [outer, inner], 'merged')
    table = kernel.mountinfo()
    srv, srv_inner = table.at(str(rootfs / 'srv')), table.at(str(rootfs / 'srv' / 'inner'))
    assert srv_inner.parent_id == srv.mount_id  # on the outer bind, as the kernel would have it
    assert srv.read_only and not srv_inner.read_only
    assert [(b['target'], b['read_only']) for b in result['after']] == [('/srv', True), ('/srv/inner', False)]
    # Each bind's propagation is set before the next one is mounted: a bind on one still shared (a bind
    # of a shared mount is a peer of it) would propagate back to the source; read-only comes after all.
    assert [('fd' if c[2].startswith('/proc/self/fd/') else c[2], c[4]) for c in kernel.calls] == [
        ('fd', MS_BIND | MS_REC), (str(rootfs / 'srv'), MS_PRIVATE | MS_REC),
        ('fd', MS_BIND | MS_REC), (str(rootfs / 'srv' / 'inner'), MS_PRIVATE | MS_REC),
        (str(rootfs / 'srv'), MS_REMOUNT | MS_BIND | MS_RDONLY | MS_RELATIME)]
    assert not converge(bind_resource(tmp, kernel), [outer, inner], 'merged')['changed']
    # The outer one writable again: the inner one is not its to change.
    converge(bind_resource(tmp, kernel), [dict(outer, read_only=False), dict(inner, read_only=True)], 'merged')
    assert not kernel.mountinfo().at(str(rootfs / 'srv')).read_only
    assert kernel.mountinfo().at(str(rootfs / 'srv' / 'inner')).read_only
    # Both deleted in one call: each mount point unmounted once, the inner one first (it lies on the outer).
    converge(bind_resource(tmp, kernel), None, 'deleted')
    assert [c[1] for c in kernel.calls if c[0] == 'umount'] == [str(rootfs / 'srv' / 'inner'), str(rootfs / 'srv')]


def test_a_bind_that_fails_its_verification_is_undone_and_the_others_stay_verified(tmp, rootfs):
    kernel = PickyKernel(private={str(rootfs / 'b')})
    config = [bind(rootfs, '/a', volume='a', read_only=True), bind(rootfs, '/b', volume='b', propagation='rshared'),
              bind(rootfs, '/c', volume='c', read_only=True, propagation='rshared')]
    with pytest.raises(ResourceError, match="'/b'.*asked for propagation rshared, the kernel made it private"):
        converge(bind_resource(tmp, kernel), config, 'merged')
    table = kernel.mountinfo()
    assert table.at(str(rootfs / 'b')) is None
    assert table.at(str(rootfs / 'a')).read_only and table.at(str(rootfs / 'c')).read_only
    assert 'shared' in table.at(str(rootfs / 'c')).propagation
    assert sorted(s.config['target'] for s in Records(str(tmp / 'records')).load('bind')) == ['/a', '/c']
    gathered = converge(bind_resource(tmp, kernel), None, 'gathered')['gathered']
    assert [(g['target'], g['read_only']) for g in gathered] == [('/a', True), ('/c', True)]


def test_a_mount_that_fails_stops_the_batch_after_what_came_before_is_made_read_only(tmp, rootfs):
    kernel = PickyKernel(refuse={str(rootfs / 'b')})
    config = [bind(rootfs, '/a', volume='a', read_only=True), bind(rootfs, '/b', volume='b', read_only=True),
              bind(rootfs, '/c', volume='c', read_only=True)]
    with pytest.raises(OSError, match='Operation not permitted'):
        converge(bind_resource(tmp, kernel), config, 'merged')
    table = kernel.mountinfo()
    assert table.at(str(rootfs / 'a')).read_only
    assert table.at(str(rootfs / 'b')) is None and table.at(str(rootfs / 'c')) is None
    assert [s.config['target'] for s in Records(str(tmp / 'records')).load('bind')] == ['/a']
    # The next run makes the rest.
    kernel.refuse.clear()
    result = converge(bind_resource(tmp, kernel), config, 'merged')
    assert [(b['target'], b['read_only']) for b in result['after']] == [('/a', True), ('/b', True), ('/c', True)]


def test_two_targets_on_one_host_path_are_refused_before_any_change(tmp, rootfs):
    kernel = FakeKernel()
    (rootfs / 'srv').mkdir()
    config = [bind(rootfs, '/srv/data', volume='a'), bind(rootfs / 'srv', '/data', volume='b')]
    with pytest.raises(ResourceError, match=r"'/data' in .*: target .*/srv/data is the same host path as the target "
                                            r"of bind mount '/srv/data' in") as err:
        converge(bind_resource(tmp, kernel), config, 'merged')
    assert err.value.details['index'] == 1 and kernel.calls == [] and not (tmp / 'volumes').exists()
    # Nor onto a bind of ours that stays.
    converge(bind_resource(tmp, kernel), config[:1], 'merged')
    with pytest.raises(ResourceError, match='the same host path'):
        converge(bind_resource(tmp, kernel), config[1:], 'merged')
