# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""overlay_mount and bind_volume over a workload's life on a real lab host: removal leaves nothing of it but its
volumes, and check mode previews a first run whose layers and roots earlier tasks would make.

The layout is the workload role's: WORKLOADS/NAME/{rootfs,upper,work} for the overlay and
WORKLOADS/NAME/{hostname,hosts} for the files bound into it, volumes in their own root.
"""

from __future__ import annotations

import pytest

from tests.integration.test_overlay_mount import M, failed, mountinfo, reset_mounts

BASE = '/var/lib/anatomy/it-life'
LAYERS = BASE + '/layers'
WORKLOADS = BASE + '/workloads'
VOLUMES = BASE + '/volumes'


def workload(name, layers):
    """The overlay and the binds of one workload, as the workload role plans them."""
    wdir = '%s/%s' % (WORKLOADS, name)
    rootfs = wdir + '/rootfs'
    overlay = {'path': rootfs, 'lower': layers, 'upper': wdir + '/upper', 'work': wdir + '/work'}
    binds = [{'root': rootfs, 'target': '/data', 'volume': name + '-data'}]
    for etc_file, content in (('hostname', name + '\n'), ('hosts', '127.0.0.1\tlocalhost\n10.88.0.2\t%s\n' % name)):
        binds.append({'root': rootfs, 'target': '/etc/' + etc_file, 'source': '%s/%s' % (wdir, etc_file),
                      'content': content, 'read_only': True})
    return wdir, overlay, binds


def tasks(overlay, binds, state='merged', purge=False):
    """The two tasks of the role: overlays, then binds (in reverse order when deleting)."""
    overlay_task = {M + 'overlay_mount': {'config': [overlay] if state != 'deleted' else [{'path': overlay['path']}],
                                          'state': state, 'purge': purge}}
    bind_task = {M + 'bind_volume': {'config': binds if state != 'deleted' else
                                     [{'root': b['root'], 'target': b['target']} for b in binds],
                                     'state': state, 'volumes_root': VOLUMES}}
    return [bind_task, overlay_task] if state == 'deleted' else [overlay_task, bind_task]


def ok(results):
    assert [r['_status'] for r in results] == ['ok'] * len(results), [r.get('msg') for r in results]
    return results


@pytest.fixture(scope='module', autouse=True)
def clean(ansible, host):
    reset_mounts(ansible, host, [BASE])
    host.run('mkdir -p %s/base/etc && echo image > %s/base/etc/issue && mkdir -p %s/app/srv' % (LAYERS, LAYERS, LAYERS))
    yield
    reset_mounts(ansible, host, [BASE])


def test_removal_leaves_only_the_volume_and_re_adding_starts_from_the_image(ansible, host):
    wdir, overlay, binds = workload('web', [LAYERS + '/app', LAYERS + '/base'])
    rootfs = overlay['path']
    assert all(r['changed'] for r in ok(ansible.tasks(host, tasks(overlay, binds))))
    assert sorted(mountinfo(host, wdir)) == [rootfs, rootfs + '/data', rootfs + '/etc/hostname', rootfs + '/etc/hosts']
    host.run('echo written > %s/etc/written && echo kept > %s/data/kept' % (rootfs, rootfs))
    assert host.run('cat %s/upper/etc/written %s/hosts' % (wdir, wdir)).stdout == 'written\n' + binds[2]['content']

    # Removed as the role removes a workload: the binds, then the overlay with purge.
    results = ok(ansible.tasks(host, tasks(overlay, binds, 'deleted', purge=True)))
    assert [r['changed'] for r in results] == [True, True] and results[1]['after'] == []
    assert not mountinfo(host, BASE)
    assert host.run('test -e %s' % wdir, check=False).returncode != 0, host.run('find %s' % wdir).stdout
    # Only what the workload keeps: its volume, and the shared layers.
    assert host.run('cat %s/web-data/_data/kept' % VOLUMES).stdout == 'kept\n'
    assert host.run('ls %s' % LAYERS).stdout.split() == ['app', 'base']

    # Added again: the image as it is, what it wrote before is gone, the volume's data is back.
    assert all(r['changed'] for r in ok(ansible.tasks(host, tasks(overlay, binds))))
    assert host.run('test -e %s/etc/written' % rootfs, check=False).returncode != 0
    assert host.run('cat %s/etc/issue %s/data/kept %s/etc/hostname' % (rootfs, rootfs, rootfs)).stdout == \
        'image\nkept\nweb\n'
    ok(ansible.tasks(host, tasks(overlay, binds, 'deleted', purge=True)))


def test_purge_refuses_to_remove_through_a_mount(ansible, host):
    wdir, overlay, _binds = workload('busy', [LAYERS + '/app', LAYERS + '/base'])
    ok(ansible.tasks(host, tasks(overlay, [])[:1]))
    host.run('echo mine > %s/rootfs/mine && mkdir -p %s/upper/vol %s/elsewhere && echo keep > %s/elsewhere/data && '
             'mount --bind %s/elsewhere %s/upper/vol' % (wdir, wdir, BASE, BASE, BASE, wdir))
    try:
        params = {'config': [{'path': overlay['path']}], 'state': 'deleted', 'purge': True}
        failed(ansible, host, 'overlay_mount', params, '%s/upper/vol is mounted below them; nothing is removed' % wdir)
        # Nothing changed: still mounted, the writes still there, the mount's data untouched.
        assert overlay['path'] in mountinfo(host, wdir)
        assert host.run('cat %s/rootfs/mine %s/elsewhere/data' % (wdir, BASE)).stdout == 'mine\nkeep\n'
    finally:
        host.run('umount %s/upper/vol' % wdir)
    ok([ansible(host, M + 'overlay_mount', params)])
    assert host.run('test -e %s' % wdir, check=False).returncode != 0
    assert host.run('cat %s/elsewhere/data' % BASE).stdout == 'keep\n'


def test_check_mode_previews_a_first_run(ansible, host):
    """Layers the layer task would build and the root the overlay task would mount do not exist yet."""
    wdir, overlay, binds = workload('new', [LAYERS + '/not-built-yet', LAYERS + '/base'])
    fingerprint = 'find %s | sort; ls /run/anatomy/mounts 2>/dev/null | wc -l' % BASE
    before = host.run(fingerprint).stdout
    results = ok(ansible.tasks(host, tasks(overlay, binds), check=True, diff=True))
    assert [r['changed'] for r in results] == [True, True]
    assert results[0]['after'] == [dict(overlay, options=[])]
    assert [(a['target'], a['volume'], a['content']) for a in results[1]['after']] == [
        ('/data', 'new-data', None), ('/etc/hostname', None, 'new\n'), ('/etc/hosts', None, binds[2]['content'])]
    assert host.run(fingerprint).stdout == before and not mountinfo(host, BASE)

    # For real, each still fails clearly, changing nothing.
    failed(ansible, host, 'overlay_mount', {'config': [overlay]}, 'lower dir %s/not-built-yet does not exist' % LAYERS)
    result = failed(ansible, host, 'bind_volume', {'config': binds, 'volumes_root': VOLUMES},
                    'root %s is not a directory' % overlay['path'])
    assert (result['index'], result['field']) == (0, 'root')
    assert host.run(fingerprint).stdout == before and not mountinfo(host, BASE)
