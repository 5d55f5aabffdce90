# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Layer blobs: tars built here with tarfile, unpacked into tmp_path, the tree checked file by file.

Unpacking sets owners, makes devices and whiteouts and writes trusted.* xattrs: those tests need root.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils._layer_tar import (
    MEDIA_TYPES, LayerError, check_entry_name, unpack_layer,
)

TAR = 'application/vnd.oci.image.layer.v1.tar'
GZIP = TAR + '+gzip'
ZSTD = TAR + '+zstd'
DOCKER = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
MTIME = 1700000000
# security.capability, VFS_CAP_REVISION_2 with the effective flag: cap_net_raw (13) permitted.
CAP_NET_RAW = b'\x01\x00\x00\x02' + (1 << 13).to_bytes(4, 'little') + bytes(12)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='unpacking sets owners, makes devices and trusted.* xattrs: root only')
needs_zstd = pytest.mark.skipif(shutil.which('zstd') is None, reason='the zstd command is not installed')


def member(name, kind=tarfile.REGTYPE, data=b'', mode=0o644, uid=0, gid=0, mtime=MTIME, linkname='',
           xattrs=None, dev=(0, 0)):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime, info.linkname = kind, mode, uid, gid, mtime, linkname
    info.devmajor, info.devminor = dev
    info.size = len(data)
    if xattrs:
        info.pax_headers = {'SCHILY.xattr.' + key: value.decode('utf-8', 'surrogateescape') for key, value in xattrs.items()}
    return info, data


def directory(name, mode=0o755, **kwargs):
    return member(name, tarfile.DIRTYPE, mode=mode, **kwargs)


def symlink(name, target):
    return member(name, tarfile.SYMTYPE, mode=0o777, linkname=target)


def hardlink(name, target):
    return member(name, tarfile.LNKTYPE, linkname=target)


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w', format=fmt, encoding='utf-8', errors='surrogateescape') as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def compress(raw, compression):
    if compression == 'gzip':
        return gzip.compress(raw)
    if compression == 'zstd':
        return subprocess.run(['zstd', '-q', '-c'], input=raw, stdout=subprocess.PIPE, check=True).stdout
    return raw


def write_blob(tmp_path, data):
    path = tmp_path / 'blob'
    path.write_bytes(data)
    return str(path)


def unpack(tmp_path, members, media_type=GZIP, **kwargs):
    """Unpack a layer of these members into tmp_path/layer; the result and the layer's path."""
    raw = tar_bytes(members)
    blob = write_blob(tmp_path, compress(raw, MEDIA_TYPES[media_type]))
    target = str(tmp_path / 'layer')
    return unpack_layer(blob, media_type, target, **kwargs), target


def refused(tmp_path, members, match, media_type=GZIP, blob=None, **kwargs):
    """The layer is refused with a LayerError matching match, and nothing of it is left."""
    if blob is None:
        blob = write_blob(tmp_path, compress(tar_bytes(members), MEDIA_TYPES[media_type]))
    target = tmp_path / 'layer'
    with pytest.raises(LayerError, match=match):
        unpack_layer(blob, media_type, str(target), **kwargs)
    assert not os.path.lexists(target)


def test_media_types_name_their_compression():
    assert MEDIA_TYPES[TAR] is None and MEDIA_TYPES[GZIP] == 'gzip' and MEDIA_TYPES[ZSTD] == 'zstd'
    assert MEDIA_TYPES[DOCKER] == 'gzip'
    nondistributable = 'application/vnd.oci.image.layer.nondistributable.v1.tar'
    assert [MEDIA_TYPES[nondistributable + suffix] for suffix in ('', '+gzip', '+zstd')] == [None, 'gzip', 'zstd']


@pytest.mark.parametrize('name, expected', [
    ('usr/bin/ls', 'usr/bin/ls'), ('/etc/passwd', 'etc/passwd'), ('./etc/', 'etc'), ('a//b/./c', 'a/b/c'),
    ('...', '...'), ('a/..b', 'a/..b'), ('./', ''), ('.', ''), ('/', ''),
])
def test_entry_names_are_made_relative(name, expected):
    assert check_entry_name(name) == expected


@pytest.mark.parametrize('name', ['../x', 'a/../../x', 'a/../b', '/..', './..', '', 'a\0b'])
def test_entry_names_that_climb_or_are_empty_are_refused(name):
    with pytest.raises(LayerError, match='escapes the layer'):
        check_entry_name(name)


@needs_root
@pytest.mark.parametrize('media_type', [GZIP, TAR, DOCKER, pytest.param(ZSTD, marks=needs_zstd)])
def test_the_digests_hash_the_blob_and_the_whole_tar(tmp_path, media_type):
    members = [directory('etc'), member('etc/hostname', data=b'box\n')]
    raw = tar_bytes(members)
    blob_bytes = compress(raw, MEDIA_TYPES[media_type])
    blob = write_blob(tmp_path, blob_bytes)
    digest = 'sha256:' + hashlib.sha256(blob_bytes).hexdigest()
    diff_id = 'sha256:' + hashlib.sha256(raw).hexdigest()
    assert len(raw) % tarfile.RECORDSIZE == 0 and len(raw) > 3 * tarfile.BLOCKSIZE  # padding after the end marker too
    result = unpack_layer(blob, media_type, str(tmp_path / 'layer'), digest, diff_id)
    assert result == {'digest': digest, 'diff_id': diff_id, 'size': 4, 'entries': 2}
    assert (tmp_path / 'layer/etc/hostname').read_bytes() == b'box\n'


@needs_root
def test_files_keep_content_mode_owner_and_times(tmp_path):
    result, layer = unpack(tmp_path, [
        directory('./'),
        directory('usr', mtime=MTIME - 100),
        directory('usr/bin', mode=0o750, uid=2, gid=3, mtime=MTIME - 50),
        member('usr/bin/tool', data=b'#!/bin/sh\n', mode=0o4755, uid=1000, gid=1001, mtime=MTIME + 1),
        member('usr/bin/group', data=b'x' * 3000, mode=0o2711, gid=5),
        member('tmp/sticky-parent-implied', data=b''),
        directory('tmp', mode=0o1777),
        member('/abs/file', data=b'abs'),
        member('opt/contiguous', kind=tarfile.CONTTYPE, data=b'c'),
        member('opt/old-regular', kind=tarfile.AREGTYPE, data=b'a'),
    ])
    assert result['entries'] == 10 and result['size'] == 10 + 3000 + 3 + 2
    tool = os.lstat(os.path.join(layer, 'usr/bin/tool'))
    assert stat.S_IMODE(tool.st_mode) == 0o4755 and (tool.st_uid, tool.st_gid) == (1000, 1001)
    assert tool.st_mtime_ns == (MTIME + 1) * 10 ** 9
    assert open(os.path.join(layer, 'usr/bin/tool'), 'rb').read() == b'#!/bin/sh\n'
    group = os.lstat(os.path.join(layer, 'usr/bin/group'))
    assert stat.S_IMODE(group.st_mode) == 0o2711 and group.st_gid == 5 and group.st_size == 3000
    bin_dir = os.lstat(os.path.join(layer, 'usr/bin'))
    assert stat.S_IMODE(bin_dir.st_mode) == 0o750 and (bin_dir.st_uid, bin_dir.st_gid) == (2, 3)
    # directory times are set last: the files written into them do not move them
    assert bin_dir.st_mtime_ns == (MTIME - 50) * 10 ** 9 and os.lstat(os.path.join(layer, 'usr')).st_mtime_ns == (MTIME - 100) * 10 ** 9
    assert stat.S_IMODE(os.lstat(os.path.join(layer, 'tmp')).st_mode) == 0o1777
    assert open(os.path.join(layer, 'abs/file'), 'rb').read() == b'abs'
    for implied in ('abs', 'opt'):
        info = os.lstat(os.path.join(layer, implied))
        assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o755 and info.st_uid == 0
    assert stat.S_IMODE(os.lstat(layer).st_mode) == 0o755
    assert sorted(os.listdir(layer)) == ['abs', 'opt', 'tmp', 'usr']


@needs_root
def test_links_devices_and_fifos(tmp_path):
    _result, layer = unpack(tmp_path, [
        member('etc/passwd', data=b'root:x:0:0::/root:/bin/sh\n'),
        symlink('etc/abs', '/etc/passwd'),
        symlink('etc/up', '../../../outside'),
        hardlink('etc/passwd.hard', 'etc/passwd'),
        hardlink('etc/abs.hard', './etc/abs'),
        member('dev/null', tarfile.CHRTYPE, mode=0o666, dev=(1, 3)),
        member('dev/sda', tarfile.BLKTYPE, mode=0o660, gid=6, dev=(8, 0)),
        member('run/fifo', tarfile.FIFOTYPE, mode=0o620),
    ])
    path = os.path.join(layer, 'etc')
    assert os.readlink(os.path.join(path, 'abs')) == '/etc/passwd' and os.readlink(os.path.join(path, 'up')) == '../../../outside'
    assert os.lstat(os.path.join(path, 'abs')).st_mtime_ns == MTIME * 10 ** 9
    assert os.lstat(os.path.join(path, 'passwd.hard')).st_ino == os.lstat(os.path.join(path, 'passwd')).st_ino
    assert os.lstat(os.path.join(path, 'passwd')).st_nlink == 2
    assert os.path.islink(os.path.join(path, 'abs.hard')) and os.readlink(os.path.join(path, 'abs.hard')) == '/etc/passwd'
    null = os.lstat(os.path.join(layer, 'dev/null'))
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3) and stat.S_IMODE(null.st_mode) == 0o666
    sda = os.lstat(os.path.join(layer, 'dev/sda'))
    assert stat.S_ISBLK(sda.st_mode) and sda.st_rdev == os.makedev(8, 0) and sda.st_gid == 6
    fifo = os.lstat(os.path.join(layer, 'run/fifo'))
    assert stat.S_ISFIFO(fifo.st_mode) and stat.S_IMODE(fifo.st_mode) == 0o620


@needs_root
def test_xattrs_are_kept_but_overlay_ones_are_dropped(tmp_path):
    binary = b'\xff\x00\xfe'
    _result, layer = unpack(tmp_path, [
        directory('dir', xattrs={'user.dir': b'd', 'trusted.overlay.opaque': b'y'}),
        member('bin/ping', data=b'\x7fELF', mode=0o755, uid=1, xattrs={
            'security.capability': CAP_NET_RAW, 'user.binary': binary, 'user.text': 'é'.encode(),
            'trusted.overlay.redirect': b'/elsewhere', 'user.overlay.opaque': b'y'}),
        symlink('bin/link', 'ping'),
    ])
    ping = os.path.join(layer, 'bin/ping')
    assert os.getxattr(ping, 'security.capability') == CAP_NET_RAW  # the chown came first and did not clear it
    assert os.getxattr(ping, 'user.binary') == binary and os.getxattr(ping, 'user.text') == 'é'.encode()
    assert sorted(os.listxattr(ping)) == ['security.capability', 'user.binary', 'user.text']
    assert os.lstat(ping).st_uid == 1
    assert os.listxattr(os.path.join(layer, 'dir')) == ['user.dir']


@needs_root
def test_a_user_xattr_on_a_symlink_is_let_go(tmp_path):
    # Linux allows user.* xattrs on files and directories only
    info, data = symlink('link', 'target')
    info.pax_headers = {'SCHILY.xattr.user.x': 'y'}
    _result, layer = unpack(tmp_path, [(info, data)])
    assert os.readlink(os.path.join(layer, 'link')) == 'target'


@needs_root
def test_whiteouts_become_overlay_character_devices(tmp_path):
    _result, layer = unpack(tmp_path, [
        member('etc/.wh.motd', uid=5, gid=5),
        member('.wh.old'),
        member('var/gone'),
        member('var/.wh.gone'),
        directory('srv/tree'),
        member('srv/tree/leaf'),
        member('srv/.wh.tree'),
        member('a/.wh..wh..opq'),
    ])
    for path in ('etc/motd', 'old', 'var/gone', 'srv/tree'):
        info = os.lstat(os.path.join(layer, path))
        assert stat.S_ISCHR(info.st_mode) and info.st_rdev == 0 and (info.st_uid, info.st_gid) == (0, 0), path
    for entry in ('etc/.wh.motd', '.wh.old', 'var/.wh.gone', 'a/.wh..wh..opq'):
        assert not os.path.lexists(os.path.join(layer, entry))


@needs_root
def test_opaque_directories_get_the_overlay_xattr_wherever_the_marker_is(tmp_path):
    _result, layer = unpack(tmp_path, [
        directory('before'),
        member('before/.wh..wh..opq'),
        member('after/.wh..wh..opq'),
        directory('after', mode=0o700, mtime=MTIME - 7),
        member('implied/deeper/.wh..wh..opq'),
        member('.wh..wh..opq'),
        directory('plain'),
    ])
    for path in ('before', 'after', 'implied/deeper', ''):
        assert os.getxattr(os.path.join(layer, path), 'trusted.overlay.opaque') == b'y', path
    assert 'trusted.overlay.opaque' not in os.listxattr(os.path.join(layer, 'plain'))
    after = os.lstat(os.path.join(layer, 'after'))
    assert stat.S_IMODE(after.st_mode) == 0o700 and after.st_mtime_ns == (MTIME - 7) * 10 ** 9


@needs_root
def test_aufs_metadata_is_skipped(tmp_path):
    result, layer = unpack(tmp_path, [
        directory('.wh..wh.plnk'), member('.wh..wh.plnk/123.456', data=b'x'), member('.wh..wh.aufs'),
        member('etc/.wh..wh.orph'), member('etc/kept'),
    ])
    assert result['entries'] == 5 and sorted(os.listdir(layer)) == ['etc'] and os.listdir(os.path.join(layer, 'etc')) == ['kept']


@needs_root
def test_later_entries_replace_earlier_ones(tmp_path):
    outside = tmp_path / 'outside'
    outside.write_text('keep')
    _result, layer = unpack(tmp_path, [
        member('file', data=b'one'),
        member('file', data=b'two', mode=0o600),
        member('was-file', data=b'x'),
        directory('was-file'),
        member('was-file/child', data=b'c'),
        directory('was-dir'),
        member('was-dir/child', data=b'c'),
        member('was-dir', data=b'now a file'),
        directory('kept', mode=0o755),
        member('kept/child', data=b'c'),
        directory('kept', mode=0o700, uid=7),
        symlink('was-link', str(outside)),
        member('was-link', data=b'inside'),
        member('was-fifo', tarfile.FIFOTYPE),
        symlink('was-fifo', 'file'),
        member('to-link', data=b'x'),
        hardlink('to-link', 'file'),
    ])
    assert open(os.path.join(layer, 'file'), 'rb').read() == b'two'
    assert stat.S_IMODE(os.lstat(os.path.join(layer, 'file')).st_mode) == 0o600
    assert open(os.path.join(layer, 'was-file/child'), 'rb').read() == b'c'
    assert open(os.path.join(layer, 'was-dir'), 'rb').read() == b'now a file'
    kept = os.lstat(os.path.join(layer, 'kept'))
    assert os.listdir(os.path.join(layer, 'kept')) == ['child'] and stat.S_IMODE(kept.st_mode) == 0o700 and kept.st_uid == 7
    assert not os.path.islink(os.path.join(layer, 'was-link')) and outside.read_text() == 'keep'
    assert os.readlink(os.path.join(layer, 'was-fifo')) == 'file'
    assert os.lstat(os.path.join(layer, 'to-link')).st_ino == os.lstat(os.path.join(layer, 'file')).st_ino


@needs_root
def test_long_and_undecodable_names(tmp_path):
    long_name = '/'.join(['d' * 60] * 5) + '/' + 'f' * 120
    undecodable = b'caf\xe9'.decode('utf-8', 'surrogateescape')
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        target = tmp_path / ('layer-%d' % fmt)
        blob = write_blob(tmp_path, tar_bytes([member(long_name, data=b'l'), symlink(undecodable, long_name)], fmt=fmt))
        assert unpack_layer(blob, TAR, str(target))['entries'] == 2
        assert (target / long_name).read_bytes() == b'l'
        assert os.readlink(os.path.join(bytes(target), b'caf\xe9')) == long_name.encode()


def test_a_mismatching_digest_or_diff_id_leaves_nothing(tmp_path):
    other = 'sha256:' + '0' * 64
    blob = write_blob(tmp_path, gzip.compress(tar_bytes([member('f', data=b'x', uid=os.geteuid(), gid=os.getegid())])))
    refused(tmp_path, None, 'has the digest sha256:[0-9a-f]{64}, not ' + other, blob=blob, digest=other)
    refused(tmp_path, None, 'has the diff_id sha256:[0-9a-f]{64}, not ' + other, blob=blob, diff_id=other)
    refused(tmp_path, None, 'is not sha256:<64 hex digits>', blob=blob, digest='sha512:' + '0' * 128)


@needs_root
@pytest.mark.parametrize('compression', ['gzip', None])
def test_a_truncated_blob_leaves_nothing(tmp_path, compression):
    raw = tar_bytes([directory('d', mode=0o555), member('d/big', data=os.urandom(200000)), member('d/after', data=b'a')])
    blob = compress(raw, compression)
    media_type = GZIP if compression else TAR
    refused(tmp_path, None, r'^layer .*blob is truncated or corrupt: ', media_type, blob=write_blob(tmp_path, blob[:len(blob) // 2]))


@needs_root
def test_a_plain_tar_cut_between_members_or_with_a_bad_header_is_corrupt(tmp_path):
    raw = tar_bytes([member('one', data=b'1' * 512), member('two', data=b'2'), member('three', data=b'3')], fmt=tarfile.GNU_FORMAT)
    refused(tmp_path, None, 'truncated or corrupt: .*no end-of-archive marker', TAR, blob=write_blob(tmp_path, raw[:1024]))
    damaged = bytearray(raw)
    damaged[1024:1024 + 10] = b'garbage!!!'  # the second header's name: its checksum no longer matches
    refused(tmp_path, None, 'truncated or corrupt: .*bad header', TAR, blob=write_blob(tmp_path, bytes(damaged)))
    refused(tmp_path, None, 'truncated or corrupt: empty file', TAR, blob=write_blob(tmp_path, b''))
    refused(tmp_path, None, 'truncated or corrupt: ', GZIP, blob=write_blob(tmp_path, raw))  # not gzip at all


@needs_root
@needs_zstd
def test_a_truncated_zstd_blob_says_what_zstd_said(tmp_path):
    raw = tar_bytes([member('big', data=os.urandom(300000)), member('after', data=b'a')])
    blob = compress(raw, 'zstd')
    refused(tmp_path, None, 'truncated or corrupt: .*zstd exited with status', ZSTD, blob=write_blob(tmp_path, blob[:len(blob) // 2]))
    refused(tmp_path, None, 'truncated or corrupt: ', ZSTD, blob=write_blob(tmp_path, blob[:-3]))


@needs_root
def test_zstd_missing_is_a_layer_error(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path / 'nowhere'))
    refused(tmp_path, None, 'install zstd', ZSTD, blob=write_blob(tmp_path, b'(\xb5/\xfd'))


@needs_root
@pytest.mark.parametrize('members, match', [
    ([member('../x', data=b'evil')], 'escapes the layer'),
    ([directory('a'), member('a/../../x', data=b'evil')], 'escapes the layer'),
    ([member('ok', data=b'fine'), hardlink('link', '../x')], 'escapes the layer'),
    ([member('ok', data=b'fine'), hardlink('link', '/../x')], 'escapes the layer'),
    ([member('.', data=b'root as a file')], 'escapes the layer'),
    ([symlink('./', 'elsewhere')], 'escapes the layer'),
])
def test_entries_outside_the_layer_are_refused(tmp_path, members, match):
    secret = tmp_path / 'x'
    secret.write_bytes(b'secret')
    refused(tmp_path, members, match)
    assert secret.read_bytes() == b'secret' and secret.stat().st_nlink == 1
    assert sorted(os.listdir(tmp_path)) == ['blob', 'x']


@needs_root
@pytest.mark.parametrize('link', ['ABSOLUTE', '../outside'])
def test_nothing_is_written_through_a_symlink(tmp_path, link):
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'passwd').write_text('root:x:0:0::/root:/bin/sh\n')
    target = str(outside) if link == 'ABSOLUTE' else link
    refused(tmp_path, [symlink('lnk', target), member('lnk/passwd', data=b'evil')], 'below lnk, which is a symlink')
    refused(tmp_path, [symlink('lnk', target), member('lnk/new', data=b'evil')], 'below lnk, which is a symlink')
    refused(tmp_path, [symlink('lnk', target), directory('lnk/sub')], 'below lnk, which is a symlink')
    refused(tmp_path, [symlink('lnk', target), member('lnk/.wh.passwd')], 'below lnk, which is a symlink')
    refused(tmp_path, [symlink('lnk', target), member('lnk/.wh..wh..opq')], 'below lnk, which is a symlink')
    refused(tmp_path, [symlink('lnk', target), hardlink('stolen', 'lnk/passwd')], 'no file of this layer')
    refused(tmp_path, [directory('lnk'), symlink('lnk', target), member('lnk/passwd', data=b'evil')], 'below lnk, which is a symlink')
    refused(tmp_path, [member('file'), member('file/below', data=b'x')], 'below file, which is a file')
    _result, layer = unpack(tmp_path, [member('lnk/.wh..wh..opq'), symlink('lnk', target)])
    assert os.readlink(os.path.join(layer, 'lnk')) == target
    assert os.listdir(outside) == ['passwd'] and (outside / 'passwd').read_text() == 'root:x:0:0::/root:/bin/sh\n'
    assert 'trusted.overlay.opaque' not in os.listxattr(outside)


@needs_root
def test_nothing_is_written_through_a_symlink_to_etc(tmp_path):
    # the brief's lnk -> /etc; a name /etc has no file for, so a regression could not clobber this host
    name = 'anatomy-layer-tar-test'
    before = os.lstat('/etc/passwd')
    refused(tmp_path, [symlink('lnk', '/etc'), member('lnk/' + name, data=b'evil')], 'below lnk, which is a symlink')
    assert not os.path.lexists('/etc/' + name)
    after = os.lstat('/etc/passwd')
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)


@needs_root
@pytest.mark.parametrize('members, match', [
    ([directory('d'), hardlink('l', 'd')], 'no file of this layer'),
    ([hardlink('l', 'missing')], 'no file of this layer'),
    ([member('f'), hardlink('f', 'f')], 'hard link to'),
    ([hardlink('l', '.')], 'hard link to'),
    ([member('sparse', tarfile.GNUTYPE_SPARSE)], "unsupported type b'S'"),
    ([member('volume', b'V')], "unsupported type b'V'"),
    ([member('multi', b'M')], "unsupported type b'M'"),
    ([member('d/.wh.')], 'whiteout with no name'),
    ([member('d/.wh...')], 'whiteout with no name'),
])
def test_entries_that_cannot_be_unpacked_are_refused(tmp_path, members, match):
    refused(tmp_path, members, match)


@needs_root
def test_numbers_out_of_range_are_refused(tmp_path):
    for info, match in ((member('huge', tarfile.CHRTYPE, dev=(1 << 40, 0))[0], "entry 'huge': "),
                        (member('owner', uid=1 << 40)[0], "entry 'owner' has the owner 1099511627776:0")):
        refused(tmp_path, None, match, TAR, blob=write_blob(tmp_path, tar_bytes([(info, b'')], fmt=tarfile.GNU_FORMAT)))


def test_an_unknown_media_type_is_refused(tmp_path):
    blob = write_blob(tmp_path, b'')
    with pytest.raises(LayerError, match="unsupported media type 'application/vnd.oci.image.layer.v1.tar[+]bzip2'"):
        unpack_layer(blob, TAR + '+bzip2', str(tmp_path / 'layer'))
    assert not os.path.lexists(tmp_path / 'layer')


def test_an_existing_target_is_refused_and_kept(tmp_path):
    blob = write_blob(tmp_path, tar_bytes([member('f', uid=os.geteuid(), gid=os.getegid())]))
    target = tmp_path / 'layer'
    target.mkdir()
    (target / 'mine').write_text('keep')
    with pytest.raises(FileExistsError):
        unpack_layer(blob, TAR, str(target))
    assert os.listdir(target) == ['mine']
    with pytest.raises(FileNotFoundError):
        unpack_layer(blob, TAR, str(tmp_path / 'no-parent' / 'layer'))
