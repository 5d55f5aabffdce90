# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bind_volume on a real lab host: volumes that outlive their mounts, read-only binds, propagation, safe targets,
files written with content and bound.

Root filesystems are directories under BASE, and one is a real overlay made by overlay_mount, as a
container's would be. Volumes live in their own volumes_root under BASE.
"""

from __future__ import annotations

import pytest

from tests.integration.test_overlay_mount import M, converge_checked, failed, mountinfo, reset_mounts

BASE = '/var/lib/anatomy/it-bind'
VOLUMES = BASE + '/volumes'
R1, R2 = BASE + '/r1', BASE + '/r2'


def mine(result, root, target):
    return [a for a in result['after'] if (a['root'], a['target']) == (root, target)]


def bind(root, target, **options):
    return {'root': root, 'target': target, **options}


def run(ansible, host, config, state='merged', **module_options):
    result = ansible(host, M + 'bind_volume', {'config': config, 'state': state, 'volumes_root': VOLUMES,
                                               **module_options}, diff=True)
    assert result['_status'] == 'ok', result.get('msg')
    return result


@pytest.fixture(scope='module', autouse=True)
def clean(ansible, host):
    reset_mounts(ansible, host, [BASE])
    host.run('mkdir -p %s %s/etc %s/srv && ln -s /etc %s/etc-link' % (R1, R2, R2, R1))
    yield
    reset_mounts(ansible, host, [BASE])


def test_volume_outlives_its_mounts(ansible, host):
    item = bind(R1, '/data', volume='db', owner='nobody', group='nogroup', mode='0750')
    params = {'config': [item], 'volumes_root': VOLUMES}

    def nothing_yet(check):
        assert [(a['volume'], a['propagation']) for a in mine(check, R1, '/data')] == [('db', 'rprivate')]
        assert host.run('test -e %s/db || test -e %s/data' % (VOLUMES, R1), check=False).returncode != 0

    converge_checked(ansible, host, 'bind_volume', params, before_apply=nothing_yet)
    assert host.run('stat -c "%%U %%G %%a" %s/db/_data' % VOLUMES).stdout.strip() == 'nobody nogroup 750'
    assert 'anatomy.containers' in host.run('cat %s/db/anatomy.json' % VOLUMES).stdout
    mount = mountinfo(host, BASE)[R1 + '/data']
    assert 'rw' in mount[1] and not any(f.startswith(('shared:', 'master:')) for f in mount[2])
    host.run('echo written-through-r1 > %s/data/file' % R1)
    assert host.run('cat %s/db/_data/file' % VOLUMES).stdout == 'written-through-r1\n'

    # Unmounted (no purge): the data stays.
    result = run(ansible, host, [bind(R1, '/data')], 'deleted')
    assert result['changed'] and R1 + '/data' not in mountinfo(host, BASE)
    assert host.run('cat %s/db/_data/file' % VOLUMES).stdout == 'written-through-r1\n'
    assert host.run('ls %s/data' % R1).stdout == ''

    # Mounted into a second root filesystem: the same data.
    run(ansible, host, [bind(R2, '/srv/db', volume='db')])
    assert host.run('cat %s/srv/db/file' % R2).stdout == 'written-through-r1\n'

    # Deleted without purge, then with purge: only then is the data gone.
    run(ansible, host, [bind(R2, '/srv/db')], 'deleted')
    assert host.run('cat %s/db/_data/file' % VOLUMES).stdout == 'written-through-r1\n'
    run(ansible, host, [bind(R2, '/srv/db', volume='db')])
    result = run(ansible, host, [bind(R2, '/srv/db')], 'deleted', purge=True)
    assert result['changed'] and host.run('test -e %s/db' % VOLUMES, check=False).returncode != 0


def test_volume_into_an_overlay_root(ansible, host):
    host.run('mkdir -p %s/layer/etc && echo image > %s/layer/etc/issue && mkdir -p %s/layer2' % (BASE, BASE, BASE))
    rootfs = BASE + '/c/merged'
    result = ansible(host, M + 'overlay_mount', {'config': [{
        'path': rootfs, 'lower': [BASE + '/layer', BASE + '/layer2'], 'upper': BASE + '/c/upper',
        'work': BASE + '/c/work'}]})
    assert result['_status'] == 'ok', result.get('msg')
    run(ansible, host, [bind(rootfs, '/var/lib/app', volume='app')])
    host.run('echo app-data > %s/var/lib/app/x' % rootfs)
    assert host.run('cat %s/app/_data/x' % VOLUMES).stdout == 'app-data\n'
    # The mount point was created in the container's writable layer, the data went to the volume.
    assert host.run('test -d %s/c/upper/var/lib/app && test ! -e %s/c/upper/var/lib/app/x' % (BASE, BASE),
                    check=False).returncode == 0
    # The overlay cannot be unmounted while the volume is mounted on it.
    failed(ansible, host, 'overlay_mount', {'config': [{'path': rootfs}], 'state': 'deleted'}, 'mounts on it')
    run(ansible, host, [bind(rootfs, '/var/lib/app')], 'deleted')
    assert ansible(host, M + 'overlay_mount', {'config': [{'path': rootfs}], 'state': 'deleted'})['changed']


def test_read_only_bind_refuses_writes(ansible, host):
    host.run('mkdir -p %s/hostdir && echo host > %s/hostdir/f' % (BASE, BASE))
    item = bind(R1, '/ro', source=BASE + '/hostdir', read_only=True)
    converge_checked(ansible, host, 'bind_volume', {'config': [item], 'volumes_root': VOLUMES})
    assert 'ro' in mountinfo(host, BASE)[R1 + '/ro'][1]
    write = host.run('touch %s/ro/new' % R1, check=False)
    assert write.returncode != 0 and 'Read-only file system' in write.stderr
    assert host.run('cat %s/ro/f' % R1).stdout == 'host\n'
    # Made writable in place (a remount, not a new mount), then read-only again.
    mount_id = mountinfo(host, BASE)[R1 + '/ro'][0]
    result = run(ansible, host, [bind(R1, '/ro', read_only=False)])
    assert result['changed'] and mountinfo(host, BASE)[R1 + '/ro'][0] == mount_id
    host.run('touch %s/ro/new' % R1)
    run(ansible, host, [bind(R1, '/ro')], 'deleted')
    assert host.run('cat %s/hostdir/f' % BASE).stdout == 'host\n'  # a host source is never deleted


def test_recursive_read_only_covers_the_mounts_below(ansible, host):
    host.run('mkdir -p %s/tree/sub && mount -t tmpfs it-bind-sub %s/tree/sub && echo sub > %s/tree/sub/f'
             % (BASE, BASE, BASE))
    try:
        run(ansible, host, [bind(R1, '/rec', source=BASE + '/tree', read_only=True),
                            bind(R2, '/flat', source=BASE + '/tree', read_only=True, recursive=False)])
        mounts = mountinfo(host, BASE)
        assert 'ro' in mounts[R1 + '/rec'][1] and 'ro' in mounts[R1 + '/rec/sub'][1]
        assert host.run('cat %s/rec/sub/f' % R1).stdout == 'sub\n'
        assert host.run('touch %s/rec/sub/new' % R1, check=False).returncode != 0
        # Not recursive: the tmpfs below does not come along.
        assert R2 + '/flat/sub' not in mounts and host.run('ls %s/flat/sub' % R2).stdout == ''
        run(ansible, host, [bind(R1, '/rec'), bind(R2, '/flat')], 'deleted')
        assert not [m for m in mountinfo(host, BASE) if m.startswith((R1, R2))]
    finally:
        host.run('umount %s/tree/sub' % BASE, check=False)


def test_rerun_never_remounts(ansible, host):
    """ansible.posix#459: a bind mount in place is left alone on a re-run."""
    item = bind(R1, '/keep', volume='keep')
    run(ansible, host, [item])
    mount_id = mountinfo(host, BASE)[R1 + '/keep'][0]
    for _run in range(2):
        assert not run(ansible, host, [item])['changed']
    assert not run(ansible, host, [bind(R1, '/keep', volume='keep', read_only=False, propagation='rprivate',
                                        recursive=True)], 'replaced')['changed']
    assert mountinfo(host, BASE)[R1 + '/keep'][0] == mount_id
    run(ansible, host, [item], 'deleted', purge=True)


def test_symlink_target_stays_inside_the_root(ansible, host):
    """A target through a symlink to /etc in the root filesystem lands in ROOT/etc, never in the host's /etc."""
    host_etc = host.run('ls -la /etc | md5sum').stdout
    result = run(ansible, host, [bind(R1, '/etc-link/app', volume='cfg')])
    assert result['changed']
    assert R1 + '/etc/app' in mountinfo(host, BASE)
    assert host.run('test -e /etc/app', check=False).returncode != 0
    assert host.run('ls -la /etc | md5sum').stdout == host_etc
    assert '/etc/app' not in mountinfo(host, '/etc')
    host.run('echo x > %s/etc/app/f' % R1)
    assert host.run('cat %s/cfg/_data/f' % VOLUMES).stdout == 'x\n'
    run(ansible, host, [bind(R1, '/etc-link/app')], 'deleted', purge=True)
    # The target itself a symlink to /etc: the mount covers ROOT/etc.
    host_mounts = mountinfo(host, '/etc')
    run(ansible, host, [bind(R1, '/etc-link', volume='etc')])
    assert R1 + '/etc' in mountinfo(host, BASE) and mountinfo(host, '/etc') == host_mounts
    assert host.run('ls -la /etc | md5sum').stdout == host_etc
    assert host.run('test -L %s/etc-link' % R1, check=False).returncode == 0  # the link itself is left as it is
    run(ansible, host, [bind(R1, '/etc-link')], 'deleted', purge=True)
    assert R1 + '/etc' not in mountinfo(host, BASE)


def test_propagation(ansible, host):
    # A source on a private mount: rshared and rslave are refused (they would end up private, runc#5390).
    host.run('mkdir -p %s/priv && mount -t tmpfs it-bind-priv %s/priv && mount --make-private %s/priv && '
             'mkdir %s/priv/src' % (BASE, BASE, BASE, BASE))
    try:
        for propagation in ('rshared', 'shared', 'rslave', 'slave'):
            item = bind(R1, '/p', source=BASE + '/priv/src', propagation=propagation)
            result = failed(ansible, host, 'bind_volume', {'config': [item], 'volumes_root': VOLUMES},
                            'runc#5390')
            assert '%s/priv' % BASE in result['msg'] and 'private' in result['msg']
        assert R1 + '/p' not in mountinfo(host, BASE)
        # private works there.
        run(ansible, host, [bind(R1, '/p', source=BASE + '/priv/src', propagation='private')])
        run(ansible, host, [bind(R1, '/p')], 'deleted')
    finally:
        host.run('umount %s/priv' % BASE, check=False)
    # /var/lib/anatomy is a shared mount on a lab host: rshared and rslave work, and are what the kernel shows.
    result = run(ansible, host, [bind(R1, '/shared', volume='prop', propagation='rshared')])
    assert any(f.startswith('shared:') for f in mountinfo(host, BASE)[R1 + '/shared'][2])
    assert [a['propagation'] for a in result['after'] if a['target'] == '/shared'] == ['rshared']
    result = run(ansible, host, [bind(R1, '/shared', propagation='rslave')])
    assert result['changed']
    fields = mountinfo(host, BASE)[R1 + '/shared'][2]
    assert any(f.startswith('master:') for f in fields) and not any(f.startswith('shared:') for f in fields)
    assert not run(ansible, host, [bind(R1, '/shared', propagation='rslave')])['changed']
    run(ansible, host, [bind(R1, '/shared')], 'deleted', purge=True)


def test_purge_spares_a_volume_the_collection_did_not_create(ansible, host):
    host.run('mkdir -p %s/theirs/_data && echo keep > %s/theirs/_data/f' % (VOLUMES, VOLUMES))
    run(ansible, host, [bind(R1, '/theirs', volume='theirs')])
    assert host.run('cat %s/theirs/f' % R1).stdout == 'keep\n'
    result = run(ansible, host, [bind(R1, '/theirs')], 'deleted', purge=True)
    assert result['changed'] and host.run('cat %s/theirs/_data/f' % VOLUMES).stdout == 'keep\n'


def test_purge_refused_while_another_mount_uses_the_volume(ansible, host):
    run(ansible, host, [bind(R1, '/a', volume='two'), bind(R2, '/a', volume='two')])
    host.run('echo both > %s/a/f' % R1)
    failed(ansible, host, 'bind_volume', {'config': [bind(R1, '/a')], 'state': 'deleted', 'purge': True,
                                          'volumes_root': VOLUMES}, 'still mounted at %s/a' % R2)
    assert host.run('cat %s/a/f' % R2).stdout == 'both\n'
    result = run(ansible, host, [bind(R1, '/a'), bind(R2, '/a')], 'deleted', purge=True)
    assert not [a for a in result['after'] if a['target'] == '/a']
    assert host.run('test -e %s/two' % VOLUMES, check=False).returncode != 0


def test_file_source(ansible, host):
    host.run('echo "nameserver 192.0.2.53" > %s/resolv.conf' % BASE)
    run(ansible, host, [bind(R2, '/etc/resolv.conf', source=BASE + '/resolv.conf', read_only=True)])
    assert host.run('cat %s/etc/resolv.conf' % R2).stdout == 'nameserver 192.0.2.53\n'
    run(ansible, host, [bind(R2, '/etc/resolv.conf')], 'deleted')


@pytest.mark.parametrize('item, match', [
    (bind(R1, '/v', volume='a/b'), "must not contain '/'"),
    (bind(R1, '/v', volume='..'), "must not be '.' or '..'"),
    (bind(R1, '/v', volume='x' * 256), 'must be at most 255 bytes'),
    (bind(R1, '/v', volume='a\u0000b'), 'must not contain NUL'),
    (bind(R1, '/v', volume='v', source='/etc'), 'give exactly one of volume and source'),
    (bind(R1, '/v'), 'give exactly one of volume and source'),
    (bind(R1, '/v', source=BASE + '/nothere'), 'does not exist'),
    (bind(R1, '/v', source='/etc', owner='root'), 'applies to volumes only'),
    (bind(R1, '/v', volume='v', owner='no-such-user'), "owner 'no-such-user' does not exist"),
    (bind(R1, '/v', volume='v', mode='999'), 'mode must be octal'),
    (bind(R1, '/v', volume='v', content='x\n'), 'content goes with source'),
    (bind(R1, '/v', source=BASE, content='x\n'), 'is a directory; with content'),
    (bind(R1, '/v', source=R1 + '/v/hosts', content='x\n', mode='0600'), 'applies to volumes only'),
    (bind(R1, 'relative', volume='v'), 'must be an absolute path'),
    (bind(R1, '/', volume='v'), 'must not be the root itself'),
    # A missing root fails too, but only for real: check mode takes it for one an earlier task mounts
    # (test_mounts_lifecycle). Something else in its place fails in both.
    (bind('/etc/hostname', '/v', volume='v'), 'root /etc/hostname is not a directory'),
    (bind('/', '/var/lib/anatomy', source='/srv'), 'already a mount point not managed'),
])
def test_refused_inputs_change_nothing(ansible, host, item, match):
    before = mountinfo(host, '/')
    for check in (True, False):
        failed(ansible, host, 'bind_volume', {'config': [item], 'volumes_root': VOLUMES}, match, check=check)
    assert mountinfo(host, '/') == before
    assert host.run('test -e %s/v || test -e %s/v' % (R1, VOLUMES), check=False).returncode != 0


# -- content: files the module writes and binds, as an engine's /etc/hosts, /etc/hostname, /etc/resolv.conf ------
FILES = BASE + '/c3-files'
R3 = BASE + '/r3'
HOSTS = '127.0.0.1 localhost\n10.88.0.2 web\n'


def inode(host, path):
    return host.run('stat -c %%i %s' % path).stdout.strip()


def test_content_written_bound_and_rewritten_in_place(ansible, host):
    host.run('mkdir -p %s' % R3)
    hosts = bind(R3, '/etc/hosts', source=FILES + '/hosts', content=HOSTS)
    hostname = bind(R3, '/etc/hostname', source=FILES + '/hostname', content='web\n', read_only=True)
    params = {'config': [hosts, hostname], 'volumes_root': VOLUMES}

    def nothing_yet(check):
        assert [(a['target'], a['content']) for a in check['diff']['after']['config'] if a['root'] == R3] == [
            ('/etc/hostname', 'web\n'), ('/etc/hosts', HOSTS)]
        assert host.run('test -e %s || test -e %s/etc' % (FILES, R3), check=False).returncode != 0

    applied = converge_checked(ansible, host, 'bind_volume', params, before_apply=nothing_yet)
    assert [a['content'] for a in applied['after'] if a['root'] == R3] == ['web\n', HOSTS]
    assert host.run('stat -c "%%a %%F" %s %s/hosts %s/hostname' % (FILES, FILES, FILES)).stdout.splitlines() == [
        '755 directory', '644 regular file', '644 regular file']
    assert host.run('cat %s/etc/hosts' % R3).stdout == HOSTS
    assert host.run('cat %s/etc/hostname' % R3).stdout == 'web\n'
    mounts = mountinfo(host, R3)
    ids = {point: mounts[point][0] for point in (R3 + '/etc/hosts', R3 + '/etc/hostname')}
    assert 'ro' in mounts[R3 + '/etc/hostname'][1] and 'rw' in mounts[R3 + '/etc/hosts'][1]
    inodes = {name: inode(host, '%s/%s' % (FILES, name)) for name in ('hosts', 'hostname')}
    assert inode(host, R3 + '/etc/hosts') == inodes['hosts']

    # New content: written in place (the same inode), seen through the binds in place, read-only one included;
    # nothing unmounted or remounted. The diff shows the content.
    new_hosts = HOSTS + '10.88.0.3 db\n'
    result = run(ansible, host, [dict(hosts, content=new_hosts), dict(hostname, content='web2\n')])
    assert result['changed']
    assert [(a['content'], a['read_only']) for a in result['diff']['before']['config'] if a['root'] == R3] == [
        ('web\n', True), (HOSTS, False)]
    assert [(a['content'], a['read_only']) for a in result['diff']['after']['config'] if a['root'] == R3] == [
        ('web2\n', True), (new_hosts, False)]
    assert host.run('cat %s/etc/hosts' % R3).stdout == new_hosts
    assert host.run('cat %s/etc/hostname' % R3).stdout == 'web2\n'
    assert {name: inode(host, '%s/%s' % (FILES, name)) for name in ('hosts', 'hostname')} == inodes
    mounts = mountinfo(host, R3)
    assert {point: mounts[point][0] for point in ids} == ids and 'ro' in mounts[R3 + '/etc/hostname'][1]
    assert host.run('echo x > %s/etc/hostname' % R3, check=False).returncode != 0  # still read-only inside
    assert not run(ansible, host, [dict(hosts, content=new_hosts), dict(hostname, content='web2\n')])['changed']

    # Check mode: reported, nothing written.
    check = ansible(host, M + 'bind_volume', {'config': [hosts], 'volumes_root': VOLUMES}, check=True, diff=True)
    assert check['_status'] == 'ok' and check['changed']
    assert [a['content'] for a in check['diff']['after']['config'] if a['target'] == '/etc/hosts'] == [HOSTS]
    assert host.run('cat %s/hosts' % FILES).stdout == new_hosts

    # Edited by hand, in place: seen (gathered, before) and written again, the same inode, no remount.
    host.run('echo "6.6.6.6 evil" >> %s/hosts' % FILES)
    gathered = ansible(host, M + 'bind_volume', {'state': 'gathered', 'volumes_root': VOLUMES})['gathered']
    assert [g['content'] for g in gathered if g['target'] == '/etc/hosts'] == [new_hosts + '6.6.6.6 evil\n']
    result = run(ansible, host, [dict(hosts, content=new_hosts)])
    assert result['changed'] and mine(result, R3, '/etc/hosts')[0]['content'] == new_hosts
    assert [b['content'] for b in result['before'] if b['target'] == '/etc/hosts'] == [new_hosts + '6.6.6.6 evil\n']
    assert host.run('cat %s/etc/hosts' % R3).stdout == new_hosts and inode(host, FILES + '/hosts') == inodes['hosts']
    assert mountinfo(host, R3)[R3 + '/etc/hosts'][0] == ids[R3 + '/etc/hosts']

    # Edited by hand with sed -i, which renames a new file over it: the bind still shows the old one, so the
    # file is written and bound again.
    host.run("sed -i 's/web2/other/' %s/hostname" % FILES)
    assert host.run('cat %s/etc/hostname' % R3).stdout == 'web2\n'
    result = run(ansible, host, [dict(hostname, content='web2\n')])
    assert result['changed'] and [b['content'] for b in result['before'] if b['target'] == '/etc/hostname'] == [None]
    assert host.run('cat %s/etc/hostname' % R3).stdout == 'web2\n'
    assert inode(host, R3 + '/etc/hostname') == inode(host, FILES + '/hostname')
    assert 'ro' in mountinfo(host, R3)[R3 + '/etc/hostname'][1]
    assert not run(ansible, host, [dict(hostname, content='web2\n')])['changed']

    # Deleted: unmounted, and the files it wrote are removed (the directory made for them too).
    result = run(ansible, host, [bind(R3, '/etc/hosts'), bind(R3, '/etc/hostname')], 'deleted')
    assert result['changed'] and not [m for m in mountinfo(host, R3) if m != R3]
    assert host.run('test -e %s' % FILES, check=False).returncode != 0


def test_content_with_a_volume_is_refused_before_any_change(ansible, host):
    host.run('mkdir -p %s' % R3)
    good = bind(R3, '/etc/resolv.conf', source=FILES + '/new/resolv.conf', content='nameserver 192.0.2.53\n')
    before = mountinfo(host, '/')
    for check in (True, False):
        params = {'config': [good, bind(R3, '/etc/hosts', volume='v', content='x')], 'volumes_root': VOLUMES}
        result = failed(ansible, host, 'bind_volume', params, 'content goes with source', check=check)
        assert (result['index'], result['field']) == (1, 'content')
    assert mountinfo(host, '/') == before
    assert host.run('test -e %s/new || test -e %s/etc/resolv.conf || test -e %s/v' % (FILES, R3, VOLUMES),
                    check=False).returncode != 0


# -- many binds in one call -------------------------------------------------------------------------
MANY = BASE + '/many'


def test_many_binds_and_a_bind_inside_another_in_one_call(ansible, host):
    """One call makes every bind, then sets and verifies them from two reads of mountinfo: each as asked."""
    host.run('mkdir -p %s %s/src/inner' % (' '.join('%s/w%d' % (MANY, i) for i in range(20)), MANY))
    config = []
    for i in range(20):
        root = '%s/w%d' % (MANY, i)
        config += [bind(root, '/data', volume='many%d' % i),
                   bind(root, '/etc/hosts', source='%s/files/%d/hosts' % (MANY, i), content='10.0.0.%d w%d\n' % (i, i),
                        read_only=True)]
    # A read-only bind and a writable one on it, in the same call: each keeps its own setting.
    config += [bind(MANY + '/w0', '/srv', source=MANY + '/src', read_only=True),
               bind(MANY + '/w0', '/srv/inner', volume='inner')]
    result = run(ansible, host, config)
    assert result['changed'] and len(result['after']) == len(config)
    mounts = mountinfo(host, MANY)
    for i in range(20):
        root = '%s/w%d' % (MANY, i)
        assert 'rw' in mounts[root + '/data'][1] and 'ro' in mounts[root + '/etc/hosts'][1]
    assert host.run('cat %s/w7/etc/hosts' % MANY).stdout == '10.0.0.7 w7\n'
    assert 'ro' in mounts[MANY + '/w0/srv'][1] and 'rw' in mounts[MANY + '/w0/srv/inner'][1]
    assert host.run('touch %s/w0/srv/new' % MANY, check=False).returncode != 0
    host.run('touch %s/w0/srv/inner/new' % MANY)
    # Nothing to do on a re-run: not one mount changed.
    assert not run(ansible, host, config)['changed']
    assert {p: m[0] for p, m in mountinfo(host, MANY).items()} == {p: m[0] for p, m in mounts.items()}
    # Deleted in one call, the inner bind with the outer one.
    result = run(ansible, host, [bind(i['root'], i['target']) for i in config], 'deleted', purge=True)
    assert result['changed'] and not [a for a in result['after'] if a['root'].startswith(MANY)]
    assert not mountinfo(host, MANY)
    assert not [v for v in host.run('ls %s' % VOLUMES).stdout.split() if v.startswith(('many', 'inner'))]
