# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""overlay_mount on a real lab host: copy-on-write, whiteouts, remounts, busy mounts, 100 layers, refusals.

Everything lives under BASE in the host's state directory (/var/lib/anatomy, on the real disk: the host's
own root is an overlay, which overlayfs cannot take as an upper layer). Also the helpers bind_volume's
tests share (converge_checked, mountinfo, reset_mounts).
"""

from __future__ import annotations

import json
import shlex

import pytest

M = 'anatomy.containers.'
BASE = '/var/lib/anatomy/it-ovl'
LAYERS = BASE + '/layers'


def converge_checked(ansible, host, module, params, before_apply=None):
    """check mode (changed, nothing done), then apply, check, apply: changed, not, not. Returns the apply result."""
    check = ansible(host, M + module, params, check=True, diff=True)
    assert check['_status'] == 'ok', check.get('msg')
    assert check['changed'] and check['diff']['before'] != check['diff']['after'], check
    if before_apply:
        before_apply(check)
    results = ansible.tasks(host, [
        {M + module: params, 'diff': True},
        {M + module: params, 'check_mode': True, 'diff': True},
        {M + module: params},
    ])
    assert [r['_status'] for r in results] == ['ok'] * 3, [r.get('msg') for r in results]
    assert [r['changed'] for r in results] == [True, False, False], results
    applied = results[0]
    assert applied['diff'] == {'before': {'config': applied['before']}, 'after': {'config': applied['after']}}
    assert check['after'] == applied['after']
    return applied


def failed(ansible, host, module, params, match, check=False):
    """The task fails, with MATCH in its message."""
    result = ansible(host, M + module, params, check=check)
    assert result['_status'] == 'failed' and match in result['msg'], result.get('msg')
    return result


def mountinfo(host, under='/var/lib/anatomy'):
    """{mount point: (mount id, per-mount options, optional fields, fstype, super options)} at or below UNDER."""
    script = r'''
import json, sys
sys.path.insert(0, "/tmp")
out = {}
for line in open("/proc/self/mountinfo"):
    f = line.split()
    sep = f.index("-", 6)
    point = f[4].encode().decode("unicode_escape")
    if point == sys.argv[1] or point.startswith(sys.argv[1] + "/"):
        out[point] = [int(f[0]), f[5].split(","), f[6:sep], f[sep + 1], f[sep + 3].split(",")]
print(json.dumps(out))
'''
    return host.json('python3 -c %s %s' % (shlex.quote(script), shlex.quote(under)))


def sums(host, path):
    """sha256 of every file under PATH and the list of every entry: to prove a tree byte-for-byte unchanged."""
    return host.run('cd %s && find . -printf "%%p %%y %%m\\n" | sort && find . -type f -print0 | sort -z | '
                    'xargs -0r sha256sum' % shlex.quote(path)).stdout


def reset_mounts(ansible, host, paths):
    """Remove every owned bind mount and overlay (volumes and layers purged), then PATHS on the host."""
    results = ansible.tasks(host, [{M + 'bind_volume': {'state': 'deleted', 'purge': True, 'lazy_unmount': True}},
                                   {M + 'overlay_mount': {'state': 'deleted', 'purge': True, 'lazy_unmount': True}}])
    assert all(r['_status'] == 'ok' for r in results), [r.get('msg') for r in results]
    for path in paths:
        # Anything a failed test left mounted by hand goes too (on the lab host only).
        host.run('for m in $(grep -o " %s[^ ]*" /proc/self/mountinfo | sort -r); do umount -l "$m"; done; '
                 'rm -rf %s' % (path, path), check=False)


def layer(host, name, files):
    path = '%s/%s' % (LAYERS, name)
    cmds = ['mkdir -p %s' % path]
    for rel, content in files.items():
        cmds.append('mkdir -p "$(dirname %s/%s)" && printf %%s %s > %s/%s' % (
            path, rel, shlex.quote(content), path, rel))
    host.run(' && '.join(cmds))
    return path


def overlay(name, lower, upper=True, **extra):
    item = {'path': '%s/%s/merged' % (BASE, name), 'lower': lower}
    if upper:
        item.update(upper='%s/%s/upper' % (BASE, name), work='%s/%s/work' % (BASE, name))
    item.update(extra)
    return item


@pytest.fixture(scope='module', autouse=True)
def clean(ansible, host):
    reset_mounts(ansible, host, [BASE])
    yield
    reset_mounts(ansible, host, [BASE])


@pytest.fixture(scope='module')
def layers(host):
    base = layer(host, 'base', {'etc/os-release': 'base os\n', 'bin/tool': 'tool v1\n', 'shared': 'from base\n'})
    app = layer(host, 'app', {'app/main': 'main v1\n', 'shared': 'from app\n'})
    return [app, base]


def test_two_overlays_share_lower_layers_copy_on_write(ansible, host, layers):
    pristine = sums(host, LAYERS)
    config = [overlay('c1', layers), overlay('c2', layers)]

    def nothing_yet(check):
        assert check['after'] == sorted(({**c, 'options': []} for c in config), key=lambda c: c['path'])
        assert host.run('test -e %s/c1' % BASE, check=False).returncode != 0
        assert not mountinfo(host, BASE)

    converge_checked(ansible, host, 'overlay_mount', {'config': config}, before_apply=nothing_yet)
    mounts = mountinfo(host, BASE)
    assert sorted(mounts) == [BASE + '/c1/merged', BASE + '/c2/merged']
    assert all(m[3] == 'overlay' for m in mounts.values())
    c1, c2 = BASE + '/c1', BASE + '/c2'
    # The topmost layer wins; both see the same merged tree.
    assert host.run('cat %s/merged/shared %s/merged/shared' % (c1, c2)).stdout == 'from app\nfrom app\n'
    # A write in c1 lands in c1's upper dir only.
    host.run('echo new > %s/merged/newfile' % c1)
    assert host.run('cat %s/upper/newfile' % c1).stdout == 'new\n'
    assert host.run('test -e %s/merged/newfile || test -e %s/upper/newfile' % (c2, c2), check=False).returncode != 0
    # Changing a lower file copies it up: c1 sees the change, the layer and c2 keep the original.
    host.run('echo "tool v2" > %s/merged/bin/tool' % c1)
    assert host.run('cat %s/upper/bin/tool %s/merged/bin/tool' % (c1, c2)).stdout == 'tool v2\ntool v1\n'
    # Deleting a lower file leaves a whiteout (a 0/0 character device) in the upper dir.
    host.run('rm %s/merged/etc/os-release' % c1)
    assert host.run('stat -c "%%F %%t:%%T" %s/upper/etc/os-release' % c1).stdout.strip() == 'character special file 0:0'
    assert host.run('test -e %s/merged/etc/os-release' % c1, check=False).returncode != 0
    assert host.run('cat %s/merged/etc/os-release' % c2).stdout == 'base os\n'
    # The lower layers are byte-for-byte unchanged.
    assert sums(host, LAYERS) == pristine
    gathered = ansible(host, M + 'overlay_mount', {'state': 'gathered'})
    assert [g['path'] for g in gathered['gathered']] == [c1 + '/merged', c2 + '/merged']


def test_remount_with_changed_layers_keeps_the_upper_layer(ansible, host, layers):
    extra = layer(host, 'extra', {'extra/file': 'extra\n'})
    item = overlay('c1', [extra] + layers)
    before = mountinfo(host, BASE)[BASE + '/c1/merged']
    result = ansible(host, M + 'overlay_mount', {'config': [{'path': item['path'], 'lower': item['lower']}]},
                     diff=True)
    assert result['_status'] == 'ok' and result['changed'], result.get('msg')
    after = mountinfo(host, BASE)[BASE + '/c1/merged']
    assert after[0] != before[0]
    assert 'lowerdir=%s' % ':'.join([extra] + layers) in after[4]
    assert host.run('cat %s/c1/merged/extra/file %s/c1/merged/newfile' % (BASE, BASE)).stdout == 'extra\nnew\n'
    assert not ansible(host, M + 'overlay_mount', {'config': [{'path': item['path'], 'lower': item['lower']}]})[
        'changed']


def test_busy_overlay_is_not_remounted(ansible, host, layers):
    path = BASE + '/c2/merged'
    host.run('systemd-run --unit=it-ovl-busy --property=WorkingDirectory=%s sleep 600' % path)
    try:
        before = mountinfo(host, BASE)[path]
        params = {'config': [{'path': path, 'lower': layers[:1]}], 'state': 'merged'}
        result = failed(ansible, host, 'overlay_mount', params, 'is in use')
        assert 'sleep' in result['msg'] and 'lazy_unmount' in result['msg']
        failed(ansible, host, 'overlay_mount', {'config': [{'path': path}], 'state': 'deleted'}, 'is in use')
        assert mountinfo(host, BASE)[path] == before
    finally:
        host.run('systemctl stop it-ovl-busy', check=False)
    # Nothing uses it any more: now the remount goes through.
    result = ansible(host, M + 'overlay_mount', {'config': [{'path': path, 'lower': layers}]})
    assert result['_status'] == 'ok' and not result['changed']


def test_read_only_overlay(ansible, host, layers):
    item = overlay('ro', layers, upper=False)
    result = converge_checked(ansible, host, 'overlay_mount', {'config': [item]})
    assert [a for a in result['after'] if a['path'] == item['path']] == [
        {**item, 'upper': None, 'work': None, 'options': []}]
    mount = mountinfo(host, BASE)[item['path']]
    assert not any(o.startswith('upperdir=') for o in mount[4])
    write = host.run('touch %s/x' % item['path'], check=False)
    assert write.returncode != 0 and 'Read-only file system' in write.stderr
    assert host.run('cat %s/shared' % item['path']).stdout == 'from app\n'


def test_a_hundred_layers(ansible, host):
    paths = []
    script = ('for i in $(seq 1 100); do d=%s/many/layer-number-$i-with-a-long-descriptive-name; mkdir -p $d; '
              'echo $i > $d/file-$i; echo $i > $d/top; done' % LAYERS)
    host.run(script)
    paths = ['%s/many/layer-number-%d-with-a-long-descriptive-name' % (LAYERS, i) for i in range(100, 0, -1)]
    assert len(','.join(paths)) > 4096  # would not fit in one page of mount(2) data
    item = overlay('many', paths)
    converge_checked(ansible, host, 'overlay_mount', {'config': [item]})
    merged = item['path']
    assert host.run('ls %s | grep -c ^file-' % merged).stdout.strip() == '100'
    assert host.run('cat %s/top' % merged).stdout == '100\n'  # the topmost layer is the first listed
    host.run('echo changed > %s/file-1' % merged)
    assert host.run('cat %s/many/layer-number-1-with-a-long-descriptive-name/file-1' % LAYERS).stdout == '1\n'
    result = ansible(host, M + 'overlay_mount', {'config': [{'path': merged}], 'state': 'deleted', 'purge': True})
    assert result['changed'] and merged not in mountinfo(host, BASE)
    assert host.run('test -e %s/many/upper' % BASE, check=False).returncode != 0


def test_deleted_keeps_the_upper_layer_unless_purged(ansible, host, layers):
    c1 = BASE + '/c1'
    result = ansible(host, M + 'overlay_mount', {'config': [{'path': c1 + '/merged'}], 'state': 'deleted'},
                     diff=True)
    assert result['changed'] and c1 + '/merged' not in mountinfo(host, BASE)
    assert host.run('cat %s/upper/newfile' % c1).stdout == 'new\n'
    assert not ansible(host, M + 'overlay_mount', {'config': [{'path': c1 + '/merged'}], 'state': 'deleted'})[
        'changed']
    result = ansible(host, M + 'overlay_mount', {'state': 'deleted', 'purge': True})
    assert result['changed'] and result['after'] == [] and not mountinfo(host, BASE)
    assert host.run('test -e %s/c2/upper' % BASE, check=False).returncode != 0


@pytest.mark.parametrize('item, match', [
    # A missing lower dir fails too, but only for real: check mode takes it for a layer an earlier task builds
    # (test_mounts_lifecycle). Something else in its place fails in both.
    ({'lower': ['/etc/hostname']}, 'lower dir /etc/hostname does not exist (or is not a directory)'),
    ({'upper': '/srv/it-ovl/upper', 'work': '/srv/it-ovl/work'}, 'is on overlay (mounted at /)'),
    ({'work': '/srv/it-ovl/work'}, 'are on different filesystems'),
    ({'work': None}, 'upper and work go together'),
    ({'upper': None, 'work': None, 'lower': ['/var/lib/anatomy/it-ovl/layers/base']}, 'needs at least two lower'),
    ({'upper': '/var/lib/anatomy/it-ovl/bad/work/upper'}, 'neither inside the other'),
    ({'path': '/var/lib/anatomy'}, 'is not managed by anatomy.containers'),
    ({'path': '/var/lib/anatomy/it-ovl/bad/merged/'}, 'must be an absolute path'),
    ({'lower': ['/var/lib/anatomy/it-ovl/layers/a:b']}, "contains ':'"),
    ({'options': ['lowerdir=/x']}, 'give layers as lower, upper and work'),
])
def test_refused_inputs_change_nothing(ansible, host, layers, item, match):
    config = {**overlay('bad', layers), **item}
    config = {k: v for k, v in config.items() if v is not None}
    before = mountinfo(host, '/')
    for check in (True, False):
        failed(ansible, host, 'overlay_mount', {'config': [config]}, match, check=check)
    assert mountinfo(host, '/') == before
    assert host.run('test -e %s/bad || test -e /srv/it-ovl' % BASE, check=False).returncode != 0


def test_refused_inputs_keep_a_valid_sibling_unmounted(ansible, host, layers):
    """Validation runs over the whole list before any change: a good item is not mounted when another is bad."""
    good, bad = overlay('good', layers), overlay('bad', ['/var/lib/anatomy/it-ovl/layers/nothere'])
    failed(ansible, host, 'overlay_mount', {'config': [good, bad]}, 'does not exist')
    assert good['path'] not in mountinfo(host, BASE)


def test_records_name_what_a_mount_unit_needs(ansible, host, layers):
    item = overlay('rec', layers, options=['nodev', 'nosuid'])
    assert ansible(host, M + 'overlay_mount', {'config': [item]})['changed']
    records = [json.loads(line) for line in host.run(
        'for f in /run/anatomy/mounts/overlay-*.json; do python3 -c "import json,sys; '
        'print(json.dumps(json.load(open(sys.argv[1]))))" $f; done').stdout.splitlines()]
    record = [r for r in records if r['where'] == item['path']][0]
    assert record['owner'] == 'anatomy.containers' and record['type'] == 'overlay'
    assert 'nodev' in record['options'] and 'lowerdir=%s' % ':'.join(layers) in record['options']
    mount = mountinfo(host, BASE)[item['path']]
    assert 'nodev' in mount[1] and 'nosuid' in mount[1]
    assert ansible(host, M + 'overlay_mount', {'config': [{'path': item['path']}], 'state': 'deleted',
                                               'purge': True})['changed']
