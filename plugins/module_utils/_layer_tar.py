# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Image layer blobs unpacked into directories that overlayfs stacks as lower dirs.

This is a private module_util: its API may change without notice.

A layer blob is a tar, plain or compressed. It is read once, as a stream: the digest hashes the blob's
bytes, the diff_id the tar's. The tar's OCI whiteouts become overlayfs ones, as Docker's overlay2 driver
and containers/storage write them: ``DIR/.wh.NAME`` a 0/0 character device at ``DIR/NAME``,
``DIR/.wh..wh..opq`` the xattr ``trusted.overlay.opaque=y`` on ``DIR``.

Nothing is written outside the target: an entry's name must not climb out of it, no entry is written
through a symlink (each parent must be a real directory of the layer), a hard link must name a file the
layer holds. A layer cannot forge overlay metadata: ``trusted.overlay.*`` and ``user.overlay.*`` xattrs
in the tar are dropped. A blob that fails any check leaves nothing on disk.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
import zlib
from tarfile import EmptyHeaderError, InvalidHeaderError, SubsequentHeaderError, TruncatedHeaderError

LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar'
NONDISTRIBUTABLE_TAR = 'application/vnd.oci.image.layer.nondistributable.v1.tar'
MEDIA_TYPES = {
    LAYER_TAR: None,
    LAYER_TAR + '+gzip': 'gzip',
    LAYER_TAR + '+zstd': 'zstd',
    NONDISTRIBUTABLE_TAR: None,
    NONDISTRIBUTABLE_TAR + '+gzip': 'gzip',
    NONDISTRIBUTABLE_TAR + '+zstd': 'zstd',
    'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
}

DIGEST_RE = re.compile(r'^sha256:[0-9a-f]{64}$')
CHUNK = 1 << 20
WHITEOUT = b'.wh.'
AUFS_META = b'.wh..wh.'
OPAQUE_MARKER = b'.wh..wh..opq'
OPAQUE_XATTR = 'trusted.overlay.opaque'
XATTR_KEY = 'SCHILY.xattr.'
FORGED_XATTRS = ('trusted.overlay.', 'user.overlay.')
REGULAR_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
DEVICE_TYPES = {tarfile.CHRTYPE: stat.S_IFCHR, tarfile.BLKTYPE: stat.S_IFBLK}
SUPPORTED_TYPES = frozenset(REGULAR_TYPES + (tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE)
                            + tuple(DEVICE_TYPES))
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_ID = 2 ** 32 - 2


class LayerError(Exception):
    """The blob is not a layer we can unpack safely; nothing of it is left on disk."""


def check_entry_name(name: str) -> str:
    """The entry's path relative to the layer: leading '/' and './', empty and '.' components dropped.

    '' names the layer's root (an entry '.', './' or '/'). A name that is empty, holds a NUL or has a
    '..' component is a LayerError.
    """
    parts = [part for part in name.split('/') if part not in ('', '.')]
    if not name or '\0' in name or '..' in parts:
        raise LayerError('entry %r escapes the layer' % name)
    return '/'.join(parts)


def unpack_layer(blob_path: str, media_type: str, target: str, digest: str | None = None,
                 diff_id: str | None = None) -> dict:
    """Unpack the layer blob at blob_path into the new directory target (it must not exist; its parent must).

    digest: 'sha256:<hex>' of the blob as stored (compressed); diff_id: 'sha256:<hex>' of the uncompressed tar.
    Either, when given, must match, else LayerError. Returns {'digest': 'sha256:..', 'diff_id': 'sha256:..',
    'size': <bytes of regular file content written>, 'entries': <number of tar entries>}.
    On any error (LayerError or OSError) the target directory is removed entirely before the exception propagates.
    """
    if media_type not in MEDIA_TYPES:
        raise LayerError('layer %s has the unsupported media type %r' % (digest or blob_path, media_type))
    for value, what in ((digest, 'digest'), (diff_id, 'diff_id')):
        if value is not None and not DIGEST_RE.fullmatch(value):
            raise LayerError('layer %s: the expected %s %r is not sha256:<64 hex digits>' % (blob_path, what, value))
    label = digest or blob_path
    with open(blob_path, 'rb') as blob:
        os.mkdir(target, 0o755)
        try:
            os.chmod(target, 0o755)
            result = _unpack(blob, MEDIA_TYPES[media_type], os.fsencode(target).rstrip(b'/') or b'/', label)
            if digest is not None and result['digest'] != digest:
                raise LayerError('layer %s has the digest %s, not %s' % (blob_path, result['digest'], digest))
            if diff_id is not None and result['diff_id'] != diff_id:
                raise LayerError('layer %s has the diff_id %s, not %s' % (label, result['diff_id'], diff_id))
        except BaseException:
            _remove_tree(target)
            raise
    return result


def _remove_tree(path: str) -> None:
    """Remove the half-unpacked target; as non-root, make its directories writable first."""
    shutil.rmtree(path, ignore_errors=True)
    if os.path.lexists(path):
        for top, _dirs, _files in os.walk(path):
            try:
                os.chmod(top, 0o700)
            except OSError:
                pass
        shutil.rmtree(path, ignore_errors=True)


def _corrupt(label: str, detail: object) -> LayerError:
    return LayerError('layer %s is truncated or corrupt: %s' % (label, detail))


class _Hashing:
    """A reader that hashes what passes through it; a decompressor's errors become LayerErrors."""

    def __init__(self, source, label: str, decompressed: bool = False):
        self.source = source
        self.label = label
        self.decompressed = decompressed
        self.hash = hashlib.sha256()
        self.eof = False

    def read(self, size: int = -1) -> bytes:
        try:
            data = self.source.read(size)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            if not self.decompressed:
                raise
            raise _corrupt(self.label, exc) from None
        if data:
            self.hash.update(data)
        elif size:
            self.eof = True
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def digest(self) -> str:
        return 'sha256:' + self.hash.hexdigest()


class _Zstd:
    """`zstd -dc` as a decompressor: a thread feeds it the blob (hashing it), the caller reads its output."""

    def __init__(self, raw: _Hashing, label: str):
        self.raw = raw
        self.label = label
        self.error = None
        self.stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(['zstd', '-d', '-c', '-q'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self.stderr)
        except FileNotFoundError:
            self.stderr.close()
            raise LayerError('layer %s is zstd-compressed and the zstd command is missing: install zstd' % label) from None
        self.output = _Hashing(self.proc.stdout, label, decompressed=True)
        self.thread = threading.Thread(target=self._feed, name='zstd-feed', daemon=True)
        self.thread.start()

    def _feed(self) -> None:
        try:
            while True:
                chunk = self.raw.read(CHUNK)
                if not chunk:
                    break
                self.proc.stdin.write(chunk)
        except BrokenPipeError:
            pass  # zstd stopped reading: its exit status says why
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            self.error = exc
        finally:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def message(self) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode('utf-8', 'replace').strip()
        return 'zstd exited with status %s%s' % (self.proc.returncode, ': ' + text if text else '')

    def detail(self) -> str:
        """zstd's complaint, when the output ended because zstd failed."""
        if not self.output.eof or self.proc.wait() == 0:
            return ''
        return ' (%s)' % self.message()

    def finish(self) -> None:
        """After the output was read to its end: the blob was whole and zstd liked it."""
        self.thread.join()
        if self.error is not None:
            raise self.error
        if self.proc.wait() != 0:
            raise _corrupt(self.label, self.message())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.stdout.close()
        self.thread.join()
        self.proc.wait()
        self.stderr.close()


class _TarInfo(tarfile.TarInfo):
    """Only a zero block ends the archive: tarfile takes a bad or missing header there for the end too."""

    __slots__ = ()

    @classmethod
    def fromtarfile(cls, tarfile):  # pylint: disable=redefined-outer-name
        try:
            return super().fromtarfile(tarfile)
        except (EmptyHeaderError, TruncatedHeaderError):
            if not tarfile.offset:
                raise  # the first header: tarfile says the file is empty or truncated
            raise SubsequentHeaderError('unexpected end of data, no end-of-archive marker') from None
        except InvalidHeaderError as exc:
            if not tarfile.offset:
                raise
            raise SubsequentHeaderError('bad header: %s' % exc) from None


def _unpack(blob, compression: str | None, target: bytes, label: str) -> dict:
    raw = _Hashing(blob, label)
    zstd = None
    if compression == 'gzip':
        data = _Hashing(gzip.GzipFile(fileobj=raw, mode='rb'), label, decompressed=True)
    elif compression == 'zstd':
        zstd = _Zstd(raw, label)
        data = zstd.output
    else:
        data = raw
    unpacker = _Unpacker(target)
    entries = 0
    try:
        try:
            tar = tarfile.open(fileobj=data, mode='r|', tarinfo=_TarInfo, encoding='utf-8', errors='surrogateescape')
            while True:
                member = tar.next()
                if member is None:
                    break
                del tar.members[:]  # a stream needs none of them again: 30,000 TarInfos are memory
                entries += 1
                unpacker.entry(tar, member)
        except tarfile.TarError as exc:
            raise _corrupt(label, '%s%s' % (exc, zstd.detail() if zstd else '')) from None
        data.drain()
        if zstd:
            zstd.finish()
        raw.drain()
        unpacker.finish()
    finally:
        if zstd:
            zstd.close()
    return {'digest': raw.digest(), 'diff_id': data.digest(), 'size': unpacker.size, 'entries': entries}


def _ns(member: tarfile.TarInfo, key: str) -> int:
    """A timestamp in nanoseconds: a pax header's decimal text exactly, else the header's seconds."""
    text = member.pax_headers.get(key)
    if text:
        whole, _dot, fraction = text.lstrip('-').partition('.')
        try:
            value = int(whole) * 1000000000 + int((fraction + '000000000')[:9])
        except ValueError:
            pass
        else:
            return -value if text.startswith('-') else value
    if key != 'mtime':
        return _ns(member, 'mtime')
    return int(member.mtime * 1000000000) if isinstance(member.mtime, float) else member.mtime * 1000000000


class _Unpacker:
    """Writes entries below target (bytes paths); remembers which directories are real, and what to finish."""

    def __init__(self, target: bytes):
        self.target = target
        self.dirs = {b''}  # relative paths checked or made real directories; a removed path leaves with its subtree
        self.dir_times = {}
        self.opaque = set()
        self.size = 0

    def path(self, rel: bytes) -> bytes:
        return self.target + b'/' + rel if rel else self.target

    def entry(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        name = member.name
        kind = member.type
        if kind not in SUPPORTED_TYPES or member.sparse is not None:
            raise LayerError('entry %r has unsupported type %s' % (name, 'sparse' if kind in SUPPORTED_TYPES else repr(kind)))
        # tarfile drops a directory name's trailing slashes: the entry '/' arrives as ''.
        rel = check_entry_name(name or ('.' if kind == tarfile.DIRTYPE else '')).encode('utf-8', 'surrogateescape')
        if not rel:
            if kind != tarfile.DIRTYPE:
                raise LayerError('entry %r escapes the layer' % name)
            return  # the root: the target is a fresh 0755 root-owned directory, as Docker keeps it
        parent, _slash, base = rel.rpartition(b'/')
        if rel.startswith(AUFS_META) and rel != OPAQUE_MARKER:
            return  # AUFS metadata (.wh..wh.plnk, .wh..wh.aufs, ...): nothing of a root filesystem
        try:
            self.make_parent(parent, name)
            if base.startswith(WHITEOUT):
                self.whiteout(parent, base, name)
            elif kind in REGULAR_TYPES:
                self.regular(tar, member, rel)
            elif kind == tarfile.DIRTYPE:
                self.directory(member, rel)
            elif kind == tarfile.SYMTYPE:
                self.symlink(member, rel)
            elif kind == tarfile.LNKTYPE:
                self.hardlink(member, rel)
            else:
                self.special(member, rel)
        except (ValueError, OverflowError) as exc:
            raise LayerError('entry %r: %s' % (name, exc)) from None

    def make_parent(self, parent: bytes, name: str) -> None:
        """Every directory above the entry a real one: made (0755, root's) if missing, never a symlink."""
        if parent in self.dirs:
            return
        prefix = b''
        for part in parent.split(b'/'):
            prefix = prefix + b'/' + part if prefix else part
            if prefix in self.dirs:
                continue
            path = self.path(prefix)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                os.mkdir(path, 0o755)
                os.lchown(path, 0, 0)
                os.chmod(path, 0o755)
            else:
                if not stat.S_ISDIR(mode):
                    raise LayerError('entry %r is below %s, which is a %s, not a directory' % (
                        name, prefix.decode('utf-8', 'surrogateescape'), 'symlink' if stat.S_ISLNK(mode) else 'file'))
            self.dirs.add(prefix)

    def remove(self, rel: bytes) -> None:
        """Make way for a later entry of the same name: tar lets it replace the earlier one."""
        path = self.path(rel)
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return
        shutil.rmtree(path)
        prefix = rel + b'/'

        def kept(key):
            return key != rel and not key.startswith(prefix)
        self.dirs = set(filter(kept, self.dirs))
        self.opaque = set(filter(kept, self.opaque))
        self.dir_times = {key: value for key, value in self.dir_times.items() if kept(key)}

    def create(self, make, rel: bytes, *args) -> bytes:
        path = self.path(rel)
        try:
            make(path, *args)
        except FileExistsError:
            self.remove(rel)
            make(path, *args)
        return path

    def whiteout(self, parent: bytes, base: bytes, name: str) -> None:
        if base == OPAQUE_MARKER:
            self.opaque.add(parent)  # set when the layer is all written: DIR's own entry may still come
            return
        if base.startswith(AUFS_META):
            return  # AUFS metadata, no whiteout
        hidden = base[len(WHITEOUT):]
        if hidden in (b'', b'.', b'..'):
            raise LayerError('entry %r is a whiteout with no name' % name)
        rel = parent + b'/' + hidden if parent else hidden
        path = self.create(os.mknod, rel, stat.S_IFCHR, os.makedev(0, 0))
        os.lchown(path, 0, 0)

    def regular(self, tar: tarfile.TarFile, member: tarfile.TarInfo, rel: bytes) -> None:
        path = self.path(rel)
        try:
            fd = os.open(path, CREATE_FLAGS, 0o600)
        except FileExistsError:
            self.remove(rel)
            fd = os.open(path, CREATE_FLAGS, 0o600)
        with open(fd, 'wb') as out:
            if member.size:
                shutil.copyfileobj(tar.extractfile(member), out, CHUNK)
        self.size += member.size
        self.metadata(path, member, True)

    def directory(self, member: tarfile.TarInfo, rel: bytes) -> None:
        path = self.path(rel)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                self.remove(rel)
                os.mkdir(path, 0o700)
        self.dirs.add(rel)
        self.metadata(path, member, True, times=False)
        self.dir_times[rel] = (_ns(member, 'atime'), _ns(member, 'mtime'))

    def symlink(self, member: tarfile.TarInfo, rel: bytes) -> None:
        if not member.linkname:
            raise LayerError('entry %r is a symlink to nothing' % member.name)
        text = member.linkname.encode('utf-8', 'surrogateescape')
        path = self.create(lambda path: os.symlink(text, path), rel)
        self.metadata(path, member, False, chmod=False)

    def hardlink(self, member: tarfile.TarInfo, rel: bytes) -> None:
        """A second name for a file this layer holds; the inode keeps its first entry's metadata."""
        source = check_entry_name(member.linkname).encode('utf-8', 'surrogateescape')
        if not source or source == rel:
            raise LayerError('entry %r is a hard link to %r' % (member.name, member.linkname))
        parts = source.split(b'/')
        mode = None
        try:
            for index in range(1, len(parts)):
                prefix = b'/'.join(parts[:index])
                if prefix not in self.dirs and not stat.S_ISDIR(os.lstat(self.path(prefix)).st_mode):
                    break  # a symlink or file on the way: the source is not in the layer
            else:
                mode = os.lstat(self.path(source)).st_mode
        except FileNotFoundError:
            pass
        if mode is None or stat.S_ISDIR(mode):
            raise LayerError('entry %r is a hard link to %r, which is no file of this layer' % (member.name, member.linkname))
        source_path = self.path(source)
        self.create(lambda path: os.link(source_path, path, follow_symlinks=False), rel)

    def special(self, member: tarfile.TarInfo, rel: bytes) -> None:
        if member.type == tarfile.FIFOTYPE:
            path = self.create(os.mkfifo, rel, 0o600)
        else:
            path = self.create(os.mknod, rel, DEVICE_TYPES[member.type] | 0o600, os.makedev(member.devmajor, member.devminor))
        self.metadata(path, member, False)

    def metadata(self, path: bytes, member: tarfile.TarInfo, reg_or_dir: bool, chmod: bool = True, times: bool = True) -> None:
        """Owner, then xattrs, then mode (a chown clears setuid bits and file capabilities), then times."""
        if not (0 <= member.uid <= MAX_ID and 0 <= member.gid <= MAX_ID):
            raise LayerError('entry %r has the owner %s:%s' % (member.name, member.uid, member.gid))
        os.lchown(path, member.uid, member.gid)
        if member.pax_headers:
            for key, value in member.pax_headers.items():
                if key.startswith(XATTR_KEY):
                    self.xattr(path, member, key[len(XATTR_KEY):], value, reg_or_dir)
        if chmod:
            os.chmod(path, member.mode & 0o7777)
        if times:
            os.utime(path, ns=(_ns(member, 'atime'), _ns(member, 'mtime')), follow_symlinks=False)

    @staticmethod
    def xattr(path: bytes, member: tarfile.TarInfo, attribute: str, value: str, reg_or_dir: bool) -> None:
        if attribute.startswith(FORGED_XATTRS):
            return
        try:
            # tarfile decodes pax values as UTF-8 with surrogateescape: this gives back the bytes of the tar.
            os.setxattr(path, attribute, value.encode('utf-8', 'surrogateescape'), follow_symlinks=False)
        except OSError as exc:
            if attribute.startswith('user.') and (exc.errno == errno.ENOTSUP or (exc.errno == errno.EPERM and not reg_or_dir)):
                return  # the filesystem has no user xattrs; Linux allows them on files and directories only
            if attribute == 'security.selinux' and exc.errno == errno.ENOTSUP:
                return
            raise OSError(exc.errno, 'entry %r: xattr %s: %s' % (member.name, attribute, exc.strerror)) from None

    def finish(self) -> None:
        for rel in self.opaque:
            if rel in self.dirs:
                os.setxattr(self.path(rel), OPAQUE_XATTR, b'y', follow_symlinks=False)
        for rel in sorted(self.dir_times, key=lambda rel: rel.count(b'/'), reverse=True):
            os.utime(self.path(rel), ns=self.dir_times[rel], follow_symlinks=False)
