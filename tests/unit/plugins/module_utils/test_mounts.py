# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mount library's pure parts: mountinfo, overlay options, names, records, and the resolver on temp trees.

Nothing here mounts: the resolver only opens paths in a temporary directory.
"""

from __future__ import annotations

import errno
import os
import struct

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _mounts as mounts
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import (
    MS_NODEV, MS_NOSUID, MS_RDONLY, MountSpec, MountTable, Records, Resolver, check_volume_name, fits_in_page,
    is_canonical, overlay_data, overlay_fsconfig, overlay_layers, parse_dirents, parse_mountinfo, processes_using,
    processes_using_paths, short_link_name, split_flags, split_lowerdir, systemd_escape_path, systemd_mount_unit,
    unescape, walk_in_root,
)
from ansible_collections.anatomy.containers.tests.unit.support.mounts_fakes import MOUNTINFO_SAMPLE as SAMPLE


def test_parse_mountinfo_fields_and_escapes():
    table = parse_mountinfo(SAMPLE)
    assert [m.mount_id for m in table] == [2176, 2188, 2453, 4028, 4043, 25, 26, 27]
    root = table[0]
    assert (root.parent_id, root.dev, root.root, root.mount_point, root.fstype, root.source) == (
        2147, (0, 159), '/', '/', 'overlay', 'overlay')
    assert root.options == ('rw', 'relatime') and root.optional == ('shared:767',)
    assert table[1].root == '/var/lib/anatomy-lab/labs/mnt/hosts/h1/state' and table[1].dev == (254, 0)
    assert table[5].mount_point == '/mnt/with space\ttab\\backslash'
    assert table[4].read_only and not table[3].read_only


def test_propagation_from_optional_fields():
    table = parse_mountinfo(SAMPLE)
    assert [m.propagation for m in table[-4:]] == ['private', 'shared,slave', 'slave', 'unbindable']
    assert table[0].propagation == 'shared'


def test_unescape_bytes_and_non_utf8():
    assert unescape(r'a\040b\134c') == 'a b\\c'
    assert unescape(b'caf\xe9') == os.fsdecode(b'caf\xe9')  # raw bytes survive as surrogates


def test_super_options_keep_order_repeats_and_escaped_commas():
    line = r'30 1 0:50 / /m rw - overlay overlay rw,lowerdir=/a\054b:/c,upperdir=/u\075x,workdir=/w,index=off,volatile'
    mount = parse_mountinfo(line)[0]
    assert mount.super_options == [('rw', None), ('lowerdir', '/a,b:/c'), ('upperdir', '/u=x'), ('workdir', '/w'),
                                   ('index', 'off'), ('volatile', None)]
    assert mount.option('index') == 'off' and mount.option('nothere', 'x') == 'x'


def test_overlay_layers_as_the_kernel_shows_them():
    table = parse_mountinfo(SAMPLE)
    legacy = overlay_layers(table[2])
    # Shown as given: a space unescaped, relative upper and work dirs left relative.
    assert legacy == {'lower': ['/var/lib/anatomy/p/l1', '/var/lib/anatomy/p/sp ace'], 'data': [],
                      'upper': 'p/u', 'work': 'p/w'}
    plus = overlay_layers(table[3])  # the new mount API: one lowerdir+ per layer
    assert plus['lower'] == ['/var/lib/anatomy/t/layers/l3', '/var/lib/anatomy/t/layers/l2',
                             '/var/lib/anatomy/t/layers/l1']
    assert plus['upper'] == '/var/lib/anatomy/t/u100'
    readonly = overlay_layers(parse_mountinfo('1 0 0:1 / /m ro - overlay overlay ro,lowerdir=/a:/b')[0])
    assert readonly['upper'] is None and readonly['work'] is None


def test_split_lowerdir_escaped_colons_and_data_layers():
    assert split_lowerdir('/a:/b') == ['/a', '/b']
    assert split_lowerdir(r'/a\:1:/b') == ['/a:1', '/b']
    assert split_lowerdir('/a:/b::/data1::/data2') == ['/a', '/b', None, '/data1', None, '/data2']
    mount = parse_mountinfo('1 0 0:1 / /m ro - overlay overlay ro,lowerdir=/a::/d,datadir+=/e')[0]
    assert overlay_layers(mount)['lower'] == ['/a'] and overlay_layers(mount)['data'] == ['/d', '/e']


def test_mount_table_lookups():
    table = MountTable(parse_mountinfo(SAMPLE))
    assert table.at('/var/lib/anatomy').mount_id == 2188
    assert table.at('/nothere') is None
    assert table.containing('/var/lib/anatomy/p/u').mount_id == 2188
    assert table.containing('/var/lib/anatomy/p/m/x').mount_id == 2453
    assert table.containing('/var/lib/anatomyx').mount_id == 2176  # a prefix is not a parent
    assert table.containing('/srv').fstype == 'overlay'
    assert [m.mount_id for m in table.under('/var/lib/anatomy/t')] == [4028, 4043]
    assert [m.mount_id for m in table.under('/var/lib/anatomy/t/m100')] == [4028]


def test_under_is_the_prefix_scan_it_replaces():
    points = ['/', '/a', '/a/b', '/a!x', '/a/b/c', '/a0', '/ab', '/a/b', '/b', '/a.x/y', '/a/b!', '/a/b/c/d']
    mounts = parse_mountinfo(''.join('%d 1 0:1 / %s rw - tmpfs t rw\n' % (i + 2, p) for i, p in enumerate(points)))
    table = MountTable(mounts)
    for path in ['/', '/a', '/a/b', '/ab', '/c', '/a/b/c', '/a/b/c/d/e']:
        prefix = path.rstrip('/') + '/'
        assert table.under(path) == [m for m in mounts if m.mount_point == path or m.mount_point.startswith(prefix)]
    assert table.at('/a/b').mount_id == 9  # the topmost of the two


def _containing_by_scan(mounts, path):
    """MountTable.containing as it was: one pass over every mount (the reference for the indexed lookup)."""
    best = None
    for mount in mounts:
        point = mount.mount_point
        if path == point or point == '/' or path.startswith(point.rstrip('/') + '/'):
            if best is None or len(point) >= len(best.mount_point):
                best = mount
    return best


def test_containing_is_the_scan_it_replaces():
    points = ['/', '/a', '/a/b', '/a!x', '/a/b/c', '/a0', '/ab', '/a/b', '/b', '/a.x/y', '/a/b!', '/a/b/c/d', '/']
    mounts = parse_mountinfo(''.join('%d 1 0:1 / %s rw - tmpfs t rw\n' % (i + 2, p) for i, p in enumerate(points)))
    paths = ['/', '/a', '/a/', '/a/b', '/a/b/', '/ab', '/ab/c', '/c', '/a/b/c', '/a/b/c/d/e', '/a!x/y', '/a.x',
             '/a.x/y/z', '//a', '/a//b', 'relative', 'a/b', '', '/a/b!/c']
    for table_mounts in (mounts, [m for m in mounts if m.mount_point != '/']):
        table = MountTable(table_mounts)
        for path in paths:
            assert table.containing(path) is _containing_by_scan(table_mounts, path), path
    assert MountTable(mounts).containing('/a/b/x').mount_id == 9  # the topmost of the two at /a/b


def test_subtree_follows_parents_and_stops_where_asked():
    text = ('10 1 0:1 / /r rw - tmpfs t rw\n'
            '11 10 0:2 / /r/bind rw - ext4 d rw\n'       # a recursive bind ...
            '12 11 0:3 / /r/bind/proc rw - proc p rw\n'  # ... and what it brought along
            '13 10 0:4 / /r/bindx rw - ext4 d rw\n'      # a sibling whose name shares a prefix
            '14 11 0:5 / /r/bind/other rw - ext4 d rw\n'  # another bind, made on top of the first
            '15 14 0:6 / /r/bind/other/sub rw - ext4 d rw\n')
    table = MountTable(parse_mountinfo(text))
    top = table.at('/r/bind')
    assert [m.mount_id for m in table.subtree(top)] == [11, 12, 14, 15]
    assert [m.mount_id for m in table.subtree(top, stop={14})] == [11, 12]


def test_unparsable_line_is_named():
    with pytest.raises(ValueError, match='cannot parse mountinfo line'):
        parse_mountinfo('garbage line\n')


# -- option building --------------------------------------------------------------------------------
def test_split_flags_keeps_flags_out_of_the_filesystem_data():
    flags, data = split_flags(['ro', 'nosuid', 'nodev', 'rw', 'index=off', 'redirect_dir=on'])
    assert flags == MS_RDONLY | MS_NOSUID | MS_NODEV and data == ['index=off', 'redirect_dir=on']


def test_overlay_data_and_fsconfig():
    assert overlay_data(['/top', '/base'], '/u', '/w', ['index=off']) == \
        'lowerdir=/top:/base,upperdir=/u,workdir=/w,index=off'
    assert overlay_data(['/a', '/b'], None, None) == 'lowerdir=/a:/b'
    assert overlay_fsconfig(['/top', '/base'], '/u', '/w', ['index=off', 'volatile']) == [
        ('source', 'overlay'), ('lowerdir+', '/top'), ('lowerdir+', '/base'), ('upperdir', '/u'), ('workdir', '/w'),
        ('index', 'off'), ('volatile', None)]


def test_a_hundred_long_layers_do_not_fit_in_a_page_but_short_links_do():
    layers = ['/var/lib/anatomy/layers/sha256-%064d' % i for i in range(100)]
    assert not fits_in_page(overlay_data(layers, '/u', '/w'), 4096)
    links = ['/run/anatomy/l/' + short_link_name(layer) for layer in layers]
    data = overlay_data(links, '/var/lib/anatomy/c/upper', '/var/lib/anatomy/c/work')
    assert len(set(links)) == 100 and fits_in_page(data, 4096)
    assert short_link_name(layers[0]) == short_link_name(layers[0]) and len(short_link_name(layers[0])) == 12
    assert fits_in_page('x' * 4095, 4096) and not fits_in_page('x' * 4096, 4096)


@pytest.mark.parametrize('name, why', [
    ('data', None), ('my-vol_1.2', None), ('x' * 255, None),
    ('', 'must be a non-empty string'), ('a/b', "must not contain '/'"), ('..', "must not be '.' or '..'"),
    ('.', "must not be '.' or '..'"), ('a\x00b', 'must not contain NUL'), ('x' * 256, 'must be at most 255 bytes'),
    ('é' * 128, 'must be at most 255 bytes'), (None, 'must be a non-empty string'),
])
def test_volume_names(name, why):
    assert check_volume_name(name) == why


@pytest.mark.parametrize('path, ok', [
    ('/a/b', True), ('/', True), ('a/b', False), ('/a/', False), ('/a/../b', False), ('/a/./b', False),
    ('//a', False), ('/a//b', False), ('/a\x00', False), (None, False),
])
def test_canonical_paths(path, ok):
    assert is_canonical(path) is ok


# -- records and mount units ------------------------------------------------------------------------
def test_systemd_escape_path_matches_systemd_escape():
    assert systemd_escape_path('/var/lib/anatomy/c1/merged') == 'var-lib-anatomy-c1-merged'
    assert systemd_escape_path('/mnt/my-dir') == 'mnt-my\\x2ddir'
    assert systemd_escape_path('/mnt/with space') == 'mnt-with\\x20space'
    assert systemd_escape_path('/.hidden') == '\\x2ehidden'
    assert systemd_escape_path('/') == '-'


def test_records_round_trip_and_mount_unit(tmp_path):
    records = Records(str(tmp_path / 'mounts'))
    assert records.load('overlay') == []
    spec = MountSpec('overlay', 'overlay', '/var/lib/anatomy/c1/merged', 'overlay',
                     ['nodev', 'lowerdir=/l2:/l1', 'upperdir=/u', 'workdir=/w'], {'path': '/var/lib/anatomy/c1/merged'},
                     ['/var/lib/anatomy/c1'], {'method': 'mount'})
    records.save(spec)
    (tmp_path / 'mounts' / 'overlay-foreign.json').write_text('{"owner": "someone else", "kind": "overlay"}')
    (tmp_path / 'mounts' / 'overlay-broken.json').write_text('{')
    loaded = records.load('overlay')
    assert [s.to_dict() for s in loaded] == [spec.to_dict()] and records.load('bind') == []
    name, text = systemd_mount_unit(loaded[0])
    assert name == 'var-lib-anatomy-c1-merged.mount'
    assert 'What=overlay\nWhere=/var/lib/anatomy/c1/merged\nType=overlay\n' in text
    assert 'Options=nodev,lowerdir=/l2:/l1,upperdir=/u,workdir=/w\n' in text
    records.remove(spec)
    records.remove(spec)
    assert records.load('overlay') == []


def test_parse_dirents():
    def dirent(name, dtype):
        raw = name.encode() + b'\x00'
        reclen = (19 + len(raw) + 7) // 8 * 8
        return struct.pack('<QqHB', 1, 0, reclen, dtype) + raw + b'\x00' * (reclen - 19 - len(raw))
    raw = dirent('.', 4) + dirent('..', 4) + dirent('file', 8) + dirent('old', 0)
    assert parse_dirents(raw) == [('file', 8), ('old', 0)]


def test_processes_using_reads_a_proc_tree(tmp_path):
    proc = tmp_path / 'proc'
    for pid, cwd, fd, maps in (('1', '/', '/dev/null', ''), ('42', '/srv/m/sub', '/dev/null', ''),
                               ('43', '/', '/srv/m/file', ''), ('44', '/', '/dev/null', '7f-8f r-xp 0 0:1 5 /srv/m/lib.so\n'),
                               ('45', '/srv/mx', '/srv/mx/f', '')):
        base = proc / pid
        (base / 'fd').mkdir(parents=True)
        os.symlink(cwd, base / 'cwd')
        os.symlink('/', base / 'root')
        os.symlink(fd, base / 'fd' / '3')
        (base / 'maps').write_text(maps)
        (base / 'comm').write_text('proc%s\n' % pid)
    (proc / 'self').mkdir()
    assert processes_using('/srv/m', str(proc)) == ['42 (proc42)', '43 (proc43)', '44 (proc44)']
    # Many paths, one scan: each path gets the processes that use it or anything under it.
    assert processes_using_paths(['/srv/m', '/srv/mx', '/srv/m/sub', '/srv/none'], str(proc)) == {
        '/srv/m': ['42 (proc42)', '43 (proc43)', '44 (proc44)'], '/srv/mx': ['45 (proc45)'],
        '/srv/m/sub': ['42 (proc42)'], '/srv/none': []}
    assert processes_using_paths(['/'], str(proc))['/'] == ['1 (proc1)', '42 (proc42)', '43 (proc43)', '44 (proc44)',
                                                            '45 (proc45)']


# -- the resolver, on a temp tree (no root needed, nothing mounted) --------------------------------
def _openat2_works(tmp_path):
    try:
        fd = mounts.Kernel().openat2(os.open(str(tmp_path), os.O_PATH), '.', os.O_PATH, mounts.RESOLVE_IN_ROOT)
    except OSError as exc:
        return exc.errno not in (errno.ENOSYS, errno.EPERM)
    os.close(fd)
    return True


@pytest.fixture(params=['openat2', 'walk'])
def resolver(request, tmp_path):
    if request.param == 'openat2' and not _openat2_works(tmp_path):
        pytest.skip('no openat2 here')
    return Resolver(use_openat2=request.param == 'openat2')


@pytest.fixture
def tree(tmp_path):
    """root/ with symlinks that would escape it if followed on the host."""
    root = tmp_path / 'root'
    (root / 'etc').mkdir(parents=True)
    (root / 'usr/lib').mkdir(parents=True)
    (root / 'usr/lib/file').write_text('x')
    os.symlink('/etc', root / 'etc-link')                 # absolute: the root's /etc, not the host's
    os.symlink('../../../../../../..', root / 'up')      # '..' never above the root
    os.symlink('usr/lib', root / 'lib')                   # relative
    os.symlink('/lib/../../etc-link', root / 'chain')     # '..' after a symlink is physical: usr/lib/.. is usr
    os.symlink('loop2', root / 'loop1')
    os.symlink('loop1', root / 'loop2')
    os.symlink('/nothere/deeper', root / 'dangling')
    return str(root)


@pytest.mark.parametrize('path, expected', [
    ('/', ''), ('/etc', '/etc'), ('/etc-link', '/etc'), ('/up', ''), ('/up/etc', '/etc'), ('/lib/file', '/usr/lib/file'),
    ('/chain', '/etc'), ('/../../etc', '/etc'), ('usr/../etc-link', '/etc'), ('/lib/../lib/file', '/usr/lib/file'),
])
def test_resolve_stays_in_root(resolver, tree, path, expected):
    assert resolver.resolve(tree, path) == os.path.realpath(tree) + expected


@pytest.mark.parametrize('path, code', [('/loop1', errno.ELOOP), ('/dangling', errno.ENOENT),
                                        ('/usr/lib/file/x', errno.ENOTDIR), ('/nothere', errno.ENOENT)])
def test_resolve_errors(resolver, tree, path, code):
    with pytest.raises(OSError) as err:
        resolver.resolve(tree, path)
    assert err.value.errno == code


def test_resolve_missing_names_the_deepest_existing_directory(resolver, tree):
    assert resolver.resolve_missing(tree, '/etc-link/app/conf') == (os.path.realpath(tree) + '/etc', ['app', 'conf'])


def test_create_through_symlinks_stays_in_root(resolver, tree, tmp_path):
    real = os.path.realpath(tree)
    fd = resolver.create(tree, '/etc-link/app/conf.d')
    try:
        assert mounts.fd_path(fd) == real + '/etc/app/conf.d'
    finally:
        os.close(fd)
    # A dangling symlink to /nothere/deeper is created inside the root, never on the host.
    fd = resolver.create(tree, '/dangling/file', directory=False)
    os.close(fd)
    assert os.path.isfile(real + '/nothere/deeper/file') and not os.path.exists('/nothere')
    assert os.listdir(str(tmp_path)) == ['root']


def test_walk_in_root_directly(tree):
    root_fd = os.open(tree, os.O_PATH | os.O_DIRECTORY)
    try:
        fd = walk_in_root(root_fd, '/up/up/etc-link')
        assert mounts.fd_path(fd) == os.path.realpath(tree) + '/etc'
        os.close(fd)
    finally:
        os.close(root_fd)


def test_open_refuses_a_result_outside_the_root(tree, monkeypatch):
    """Defence in depth: even if resolution went wrong, a path outside the root is refused."""
    resolver = Resolver(use_openat2=False)
    monkeypatch.setattr(mounts, 'walk_in_root', lambda root_fd, path: os.open('/', os.O_PATH))
    with pytest.raises(OSError) as err:
        resolver.open(tree, '/etc')
    assert err.value.errno == errno.EXDEV
