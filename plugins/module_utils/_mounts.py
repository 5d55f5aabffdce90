# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mounts: /proc/self/mountinfo, mount(2) and the new mount API, and paths resolved inside a root.

This is a private module_util: its API may change without notice.

Why system calls through ctypes rather than util-linux ``mount``: a mount(2) call costs 0.07 ms
against 2.6 ms for the command (PERF-NOTES), the kernel's errno comes back as it is instead of a
message to parse, mount(8) consults fstab and helpers we do not want, and, above all, mount(8)
canonicalizes its target path (following symlinks again), which would undo the safe resolution
below: we mount onto ``/proc/self/fd/N`` of a file descriptor that was resolved inside the root,
as runc does since CVE-2021-30465.

Pieces, each usable alone:

* :func:`parse_mountinfo` (pure: text in, :class:`MountInfo` list out) with the octal escapes of
  mount points and of overlayfs' options, and :func:`overlay_layers`, which reads overlayfs'
  ``lowerdir=``/``lowerdir+=``/``upperdir=``/``workdir=`` as the kernel shows them;
* :class:`Kernel`: mount(2), umount2(2), the new mount API (fsopen/fsconfig/fsmount/move_mount)
  and openat2(2), through ctypes (libc, mount(2), umount2(2) and the MS_*/MNT_* flags are
  ``_linux``'s); a fake replaces it in unit tests;
* :func:`open_in_root` (openat2 with RESOLVE_IN_ROOT where the kernel has it, and
  :func:`walk_in_root`, a component-by-component walk, elsewhere);
* :class:`MountSpec`: what was mounted (what, where, type, options), recorded on disk under
  :data:`RECORD_DIR` as the proof that this collection owns the mount, and the form a later
  writer of systemd mount units consumes (:func:`systemd_mount_unit`).
"""

from __future__ import annotations

import bisect
import ctypes
import errno
import hashlib
import json
import os
import platform
import re
import stat
import struct

from ansible_collections.anatomy.containers.plugins.module_utils._resource import OWNER_MARK
# The system calls and their flags live in _linux; the flags are named here too, for the users of this module.
from ansible_collections.anatomy.containers.plugins.module_utils._linux import (  # noqa: F401 pylint: disable=unused-import
    MNT_DETACH, MS_BIND, MS_DIRSYNC, MS_LAZYTIME, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC,
    MS_NOSUID, MS_NOSYMFOLLOW, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SLAVE,
    MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE, UMOUNT_NOFOLLOW, fail, libc, mount, umount2,
)

MOUNTINFO = '/proc/self/mountinfo'
#: Records of the mounts this collection made (tmpfs: they live as long as the mounts do).
RECORD_DIR = '/run/anatomy/mounts'
#: Short names for overlay lower layers, when a long layer list does not fit in one page.
LINK_DIR = '/run/anatomy/l'

#: Options that are mount flags, not filesystem data; "rw" and friends clear a flag.
FLAG_OPTIONS = {
    'ro': MS_RDONLY, 'nosuid': MS_NOSUID, 'nodev': MS_NODEV, 'noexec': MS_NOEXEC, 'sync': MS_SYNCHRONOUS,
    'dirsync': MS_DIRSYNC, 'nosymfollow': MS_NOSYMFOLLOW, 'noatime': MS_NOATIME, 'nodiratime': MS_NODIRATIME,
    'relatime': MS_RELATIME, 'strictatime': MS_STRICTATIME, 'lazytime': MS_LAZYTIME,
}
CLEAR_OPTIONS = ('rw', 'suid', 'dev', 'exec', 'async', 'atime', 'diratime', 'norelatime', 'nostrictatime',
                 'nolazytime', 'symfollow')
#: Per-mount flags a bind remount must carry over, or the kernel refuses (EPERM) or clears them.
LOCKED_FLAGS = {'nosuid': MS_NOSUID, 'nodev': MS_NODEV, 'noexec': MS_NOEXEC, 'noatime': MS_NOATIME,
                'nodiratime': MS_NODIRATIME, 'relatime': MS_RELATIME, 'nosymfollow': MS_NOSYMFOLLOW}

PROPAGATION = {
    'private': MS_PRIVATE, 'rprivate': MS_PRIVATE | MS_REC,
    'slave': MS_SLAVE, 'rslave': MS_SLAVE | MS_REC,
    'shared': MS_SHARED, 'rshared': MS_SHARED | MS_REC,
}

# New mount API (linux/mount.h); the syscall numbers are the same on every architecture since 5.2.
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_FSOPEN = 430
SYS_FSCONFIG = 431
SYS_FSMOUNT = 432
SYS_OPENAT2 = 437
FSOPEN_CLOEXEC = 0x1
FSMOUNT_CLOEXEC = 0x1
FSCONFIG_SET_FLAG = 0
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_NOSYMFOLLOW = 0x200000
#: mount(2) flags -> fsmount(2) attributes (relatime is the default there: 0).
FLAG_TO_ATTR = {MS_RDONLY: MOUNT_ATTR_RDONLY, MS_NOSUID: MOUNT_ATTR_NOSUID, MS_NODEV: MOUNT_ATTR_NODEV,
                MS_NOEXEC: MOUNT_ATTR_NOEXEC, MS_NOATIME: MOUNT_ATTR_NOATIME,
                MS_STRICTATIME: MOUNT_ATTR_STRICTATIME, MS_NODIRATIME: MOUNT_ATTR_NODIRATIME,
                MS_NOSYMFOLLOW: MOUNT_ATTR_NOSYMFOLLOW, MS_RELATIME: 0}

# openat2(2) resolve flags
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10

# getdents64(2): for the d_type check (only used where the number is known).
SYS_GETDENTS64 = {'x86_64': 217, 'aarch64': 61, 'riscv64': 61, 'ppc64le': 202, 's390x': 220, 'armv7l': 217}
DT_UNKNOWN = 0

# Filesystems (as mountinfo names them) overlayfs cannot take as an upper layer, and why.
UPPER_REFUSED = {
    'overlay': 'overlayfs cannot use an overlay filesystem as its upper layer (an overlay on an overlay root)',
    'aufs': 'overlayfs cannot use aufs as its upper layer',
    'nfs': 'overlayfs cannot use NFS as its upper layer', 'nfs4': 'overlayfs cannot use NFS as its upper layer',
    'cifs': 'overlayfs cannot use CIFS/SMB as its upper layer', 'smb3': 'overlayfs cannot use SMB as its upper layer',
    'vfat': 'vfat has no extended attributes, which the upper layer needs', 'msdos': 'msdos has no extended attributes',
    'exfat': 'exfat has no extended attributes, which the upper layer needs',
    'squashfs': 'squashfs is read-only', 'iso9660': 'iso9660 is read-only', 'erofs': 'erofs is read-only',
    'proc': 'proc cannot hold files', 'sysfs': 'sysfs cannot hold files',
}


# -- /proc/self/mountinfo ----------------------------------------------------------------------------
_OCTAL = re.compile(rb'\\([0-7]{3})')


def unescape(field) -> str:
    """Undo the kernel's octal escapes (``\\040`` for a space, ``\\134`` for a backslash) in a mountinfo field."""
    if isinstance(field, str):
        field = field.encode('utf-8', 'surrogateescape')
    if b'\\' in field:
        field = _OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), field)
    return field.decode('utf-8', 'surrogateescape')


def _split_super_options(raw: bytes) -> list:
    """``a=1,b,c=x\\054y`` -> [('a', '1'), ('b', None), ('c', 'x,y')]; order kept, keys may repeat."""
    options = []
    for item in raw.split(b','):
        if not item:
            continue
        key, sep, value = item.partition(b'=')
        options.append((unescape(key), unescape(value) if sep else None))
    return options


class MountInfo:
    """One line of /proc/self/mountinfo (see proc(5)), with its escapes undone."""

    __slots__ = ('mount_id', 'parent_id', 'dev', 'root', 'mount_point', 'options', 'optional', 'fstype', 'source',
                 'super_options')

    def __init__(self, mount_id, parent_id, dev, root, mount_point, options, optional, fstype, source, super_options):
        self.mount_id = mount_id
        self.parent_id = parent_id
        self.dev = dev
        self.root = root
        self.mount_point = mount_point
        self.options = options
        self.optional = optional
        self.fstype = fstype
        self.source = source
        self.super_options = super_options

    def __repr__(self):
        return 'MountInfo(%d %s %s %s)' % (self.mount_id, self.mount_point, self.fstype, ','.join(self.options))

    @property
    def read_only(self) -> bool:
        return 'ro' in self.options

    @property
    def propagation(self) -> str:
        """'shared', 'slave', 'shared,slave' (both), 'unbindable' or 'private', from the optional fields."""
        kinds = [kind for kind, tag in (('shared', 'shared:'), ('slave', 'master:')) if any(
            opt.startswith(tag) for opt in self.optional)]
        if kinds:
            return ','.join(kinds)
        return 'unbindable' if 'unbindable' in self.optional else 'private'

    def option(self, key, default=None):
        """The last value of a filesystem (super block) option."""
        value = default
        for name, val in self.super_options:
            if name == key:
                value = val
        return value


def parse_mountinfo(text) -> list:
    """Parse /proc/self/mountinfo. Accepts bytes or str; returns MountInfo in file order."""
    if isinstance(text, str):
        text = text.encode('utf-8', 'surrogateescape')
    mounts = []
    for line in text.split(b'\n'):
        if not line.strip():
            continue
        fields = line.split(b' ')
        try:
            sep = fields.index(b'-', 6)
            major, minor = fields[2].split(b':')
            mounts.append(MountInfo(
                mount_id=int(fields[0]), parent_id=int(fields[1]), dev=(int(major), int(minor)),
                root=unescape(fields[3]), mount_point=unescape(fields[4]),
                options=tuple(os.fsdecode(o) for o in fields[5].split(b',')),
                optional=tuple(os.fsdecode(o) for o in fields[6:sep]),
                fstype=unescape(fields[sep + 1]), source=unescape(fields[sep + 2]),
                super_options=_split_super_options(fields[sep + 3] if len(fields) > sep + 3 else b'')))
        except (ValueError, IndexError):
            raise ValueError('cannot parse mountinfo line: %r' % line)
    return mounts


class MountTable:
    """The mounts of a run, read once, with the lookups the resources need.

    Lookups by mount point and by mount id, and the mount tree (a mount's children by parent id),
    are indexed on first use: a run with hundreds of mounts makes one pass, not one per question.
    """

    def __init__(self, mounts: list):
        self.mounts = mounts
        self._at = None
        self._points = None
        self._children = None

    def at(self, path: str):
        """The topmost mount at PATH (the last one the kernel lists there), or None."""
        if self._at is None:
            self._at = {mount.mount_point: mount for mount in self.mounts}
        return self._at.get(path)

    def under(self, path: str) -> list:
        """Every mount at PATH or below it, in file order."""
        if self._points is None:
            self._points = sorted((mount.mount_point, index) for index, mount in enumerate(self.mounts))
        prefix = path.rstrip('/') + '/'
        # PATH itself, then everything starting with PATH/ (contiguous when sorted; '0' follows '/').
        ranges = [(path, path + '\x00'), (prefix, prefix[:-1] + '0')] if path != '/' else [('/', '0')]
        found = []
        for low, high in ranges:
            start = bisect.bisect_left(self._points, (low,))
            end = bisect.bisect_left(self._points, (high,))
            found.extend(index for _point, index in self._points[start:end])
        return [self.mounts[index] for index in sorted(set(found))]

    def subtree(self, top, stop=()) -> list:
        """TOP and every mount made on it or below it (children by parent id), TOP first, then depth first.

        Mounts whose id is in STOP are left out with everything on them: the binds a caller accounts
        for separately. This is what a bind brought along, from one table however many binds there are.
        """
        if self._children is None:
            self._children = {}
            for mount in self.mounts:
                if mount.mount_id != mount.parent_id:
                    self._children.setdefault(mount.parent_id, []).append(mount)
        found, seen, todo = [], set(), [top]
        while todo:
            mount = todo.pop()
            if mount.mount_id in seen:
                continue
            seen.add(mount.mount_id)
            found.append(mount)
            todo.extend(reversed([m for m in self._children.get(mount.mount_id, ()) if m.mount_id not in stop]))
        return found

    def containing(self, path: str):
        """The mount a path (already free of symlinks) lies on: the topmost one with the longest mount point.

        PATH itself, then each of its parents up to /, looked up in the index of :meth:`at`: one lookup per
        path component, not one pass over the table (a run asks this for every root filesystem it has).
        """
        probe = path
        while True:
            mount = self.at(probe)
            if mount is not None:
                return mount
            if probe == '/':
                return None
            probe = (probe.rsplit('/', 1)[0] or '/') if '/' in probe else '/'


def split_lowerdir(value: str) -> list:
    """``lowerdir=`` as overlayfs takes it: ':' separates layers, ``\\:`` is a colon in a path, ``::``
    starts the data-only layers (returned after a None)."""
    layers, current, i = [], [], 0
    while i < len(value):
        char = value[i]
        if char == '\\' and i + 1 < len(value):
            current.append(value[i + 1])
            i += 2
            continue
        if char == ':':
            layers.append(''.join(current))
            current = []
            if i + 1 < len(value) and value[i + 1] == ':':
                layers.append(None)
                i += 1
            i += 1
            continue
        current.append(char)
        i += 1
    layers.append(''.join(current))
    return layers


def overlay_layers(mount: MountInfo) -> dict:
    """The layers of an overlay mount as the kernel shows them: {'lower': [...], 'upper', 'work'}.

    The kernel shows the strings it was given, not resolved paths: relative paths stay relative and
    symlinks are not followed. A mount made with the new API's ``lowerdir+`` shows one
    ``lowerdir+=`` option per layer (6.8 and later) instead of one ``lowerdir=`` list.
    """
    lower, data = [], []
    for key, value in mount.super_options:
        if key == 'lowerdir' and value is not None:
            layers = split_lowerdir(value)
            if None in layers:
                data.extend(layers[layers.index(None) + 1:])
                layers = layers[:layers.index(None)]
            lower.extend(layers)
        elif key == 'lowerdir+':
            lower.append(value)
        elif key == 'datadir+':
            data.append(value)
    return {'lower': lower, 'data': data, 'upper': mount.option('upperdir'), 'work': mount.option('workdir')}


# -- building mount options -------------------------------------------------------------------------
#: Characters overlayfs' option parser gives a meaning to; paths with them are refused rather than escaped.
OVERLAY_PATH_FORBIDDEN = (',', ':', '\\', '\n', '\x00')


def split_flags(options) -> tuple:
    """Options -> (mount flags, filesystem data options). Flag names never reach the filesystem."""
    flags, data = 0, []
    for option in options:
        if option in FLAG_OPTIONS:
            flags |= FLAG_OPTIONS[option]
        elif option in CLEAR_OPTIONS:
            continue
        else:
            data.append(option)
    return flags, data


def overlay_data(lower, upper, work, extra=()) -> str:
    """The legacy mount(2) data string: lowerdir (topmost first), upperdir, workdir, then the extra data options."""
    parts = ['lowerdir=' + ':'.join(lower)]
    if upper:
        parts += ['upperdir=' + upper, 'workdir=' + work]
    parts += list(extra)
    return ','.join(parts)


def overlay_fsconfig(lower, upper, work, extra=()) -> list:
    """The same overlay as fsconfig(2) calls of the new mount API: one ``lowerdir+`` per layer (no page limit)."""
    calls = [('source', 'overlay')] + [('lowerdir+', layer) for layer in lower]
    if upper:
        calls += [('upperdir', upper), ('workdir', work)]
    for option in extra:
        key, sep, value = option.partition('=')
        calls.append((key, value if sep else None))
    return calls


def short_link_name(layer: str) -> str:
    """A short, stable name for a layer's link under LINK_DIR, as Docker's overlay2 keeps under l/."""
    return hashlib.sha256(layer.encode('utf-8', 'surrogateescape')).hexdigest()[:12]


def page_size() -> int:
    try:
        return os.sysconf('SC_PAGE_SIZE')
    except (ValueError, OSError):
        return 4096


def fits_in_page(data: str, size: int | None = None) -> bool:
    """mount(2) copies at most one page of data, including the terminating NUL."""
    return len(data.encode('utf-8', 'surrogateescape')) + 1 <= (size or page_size())


# -- paths ------------------------------------------------------------------------------------------
def is_canonical(path) -> bool:
    """An absolute path without '.', '..', '//' or a trailing '/'."""
    return isinstance(path, str) and path.startswith('/') and '\x00' not in path and os.path.normpath(path) == path \
        and not path.startswith('//')


def existing_ancestor(path: str) -> str:
    """The path itself if it exists, else its nearest existing ancestor."""
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def missing_dirs(path: str) -> list:
    """The directories mkdir -p would create for PATH, outermost first."""
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return list(reversed(missing))


def check_volume_name(name) -> str | None:
    """Why a volume name is refused, or None when it is fine."""
    if not isinstance(name, str) or not name:
        return 'must be a non-empty string'
    if '\x00' in name:
        return 'must not contain NUL'
    if '/' in name:
        return "must not contain '/'"
    if name in ('.', '..'):
        return "must not be '.' or '..'"
    if len(name.encode('utf-8', 'surrogateescape')) > 255:
        return 'must be at most 255 bytes'
    return None


# -- records: what this collection mounted ---------------------------------------------------------
class MountSpec:
    """What a mount is: the four fields of fstab and of a systemd mount unit, plus how we made it.

    ``options`` are the options as fstab and ``mount -o`` take them (flags and filesystem data),
    ``config`` the module's config item, ``created`` the directories this collection created for it.
    """

    def __init__(self, kind, what, where, fstype, options, config, created=(), extra=None):
        self.kind = kind
        self.what = what
        self.where = where
        self.fstype = fstype
        self.options = list(options)
        self.config = config
        self.created = list(created)
        self.extra = dict(extra or {})

    def to_dict(self) -> dict:
        return {'owner': OWNER_MARK, 'kind': self.kind, 'what': self.what, 'where': self.where, 'type': self.fstype,
                'options': self.options, 'config': self.config, 'created': self.created, 'extra': self.extra}

    @classmethod
    def from_dict(cls, data: dict):
        return cls(data['kind'], data['what'], data['where'], data['type'], data['options'], data['config'],
                   data.get('created', ()), data.get('extra'))


def record_name(kind: str, where: str) -> str:
    return '%s-%s.json' % (kind, hashlib.sha256(where.encode('utf-8', 'surrogateescape')).hexdigest()[:24])


class Records:
    """Records of our mounts, one JSON file each under a directory (RECORD_DIR on managed hosts)."""

    def __init__(self, directory: str = RECORD_DIR):
        self.directory = directory

    def load(self, kind: str) -> list:
        specs = []
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return specs
        for name in names:
            if not (name.startswith(kind + '-') and name.endswith('.json')):
                continue
            try:
                with open(os.path.join(self.directory, name)) as handle:
                    data = json.load(handle)
            except (OSError, ValueError):
                continue
            if data.get('owner') == OWNER_MARK and data.get('kind') == kind:
                specs.append(MountSpec.from_dict(data))
        return specs

    def save(self, spec: MountSpec) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        path = os.path.join(self.directory, record_name(spec.kind, spec.where))
        tmp = path + '.tmp'
        with open(tmp, 'w') as handle:
            json.dump(spec.to_dict(), handle, indent=1, sort_keys=True)
        os.replace(tmp, path)

    def remove(self, spec: MountSpec) -> None:
        try:
            os.unlink(os.path.join(self.directory, record_name(spec.kind, spec.where)))
        except FileNotFoundError:
            pass


def systemd_escape_path(path: str) -> str:
    """``systemd-escape --path``: the name of a mount unit for PATH (without ``.mount``)."""
    path = path.strip('/')
    if not path:
        return '-'
    out = []
    for i, byte in enumerate(path.encode('utf-8', 'surrogateescape')):
        char = chr(byte)
        if char == '/':
            out.append('-')
        elif (char.isascii() and (char.isalnum() or char in ':_.')) and not (i == 0 and char == '.'):
            out.append(char)
        else:
            out.append('\\x%02x' % byte)
    return ''.join(out)


def systemd_mount_unit(spec: MountSpec) -> tuple:
    """(unit name, unit text) for a systemd mount unit that makes SPEC at boot: for a later issue to install."""
    lines = ['[Unit]', 'Description=%s %s (%s)' % (OWNER_MARK, spec.kind, spec.where), '',
             '[Mount]', 'What=%s' % spec.what, 'Where=%s' % spec.where, 'Type=%s' % spec.fstype]
    if spec.options:
        lines.append('Options=%s' % ','.join(spec.options))
    lines += ['', '[Install]', 'WantedBy=local-fs.target', '']
    return systemd_escape_path(spec.where) + '.mount', '\n'.join(lines)


# -- the kernel -------------------------------------------------------------------------------------
class OpenHow(ctypes.Structure):
    _fields_ = [('flags', ctypes.c_uint64), ('mode', ctypes.c_uint64), ('resolve', ctypes.c_uint64)]


def _b(value):
    return None if value is None else os.fsencode(value)


class Kernel:
    """mount(2), umount2(2), the new mount API and openat2(2), through ctypes. Root only, Linux only."""

    def __init__(self):
        self.libc = libc()

    @staticmethod
    def _fail(what, path=None):
        fail(what, path)

    def mountinfo(self) -> MountTable:
        with open(MOUNTINFO, 'rb') as handle:
            return MountTable(parse_mountinfo(handle.read()))

    def mount(self, source, target, fstype, flags, data=None) -> None:
        mount(source, target, fstype, flags, data)

    def umount(self, target, flags=0) -> None:
        umount2(target, flags | UMOUNT_NOFOLLOW)

    def _syscall(self, number, *args):
        result = self.libc.syscall(ctypes.c_long(number), *args)
        if result < 0:
            self._fail('syscall %d' % number)
        return result

    def fsmount_overlay(self, target, calls, flags) -> None:
        """Mount an overlay with the new mount API: fsopen, one fsconfig per option, fsmount, move_mount."""
        fs_fd = self._syscall(SYS_FSOPEN, ctypes.c_char_p(b'overlay'), ctypes.c_uint(FSOPEN_CLOEXEC))
        try:
            for key, value in calls:
                cmd = FSCONFIG_SET_FLAG if value is None else FSCONFIG_SET_STRING
                try:
                    self._syscall(SYS_FSCONFIG, ctypes.c_int(fs_fd), ctypes.c_uint(cmd), ctypes.c_char_p(_b(key)),
                                  ctypes.c_char_p(_b(value)), ctypes.c_int(0))
                except OSError as exc:
                    raise OSError(exc.errno, 'overlay option %s=%s: %s' % (key, value, os.strerror(exc.errno)), target)
            self._syscall(SYS_FSCONFIG, ctypes.c_int(fs_fd), ctypes.c_uint(FSCONFIG_CMD_CREATE), None, None,
                          ctypes.c_int(0))
            attrs = 0
            for flag, attr in FLAG_TO_ATTR.items():
                if flags & flag:
                    attrs |= attr
            mnt_fd = self._syscall(SYS_FSMOUNT, ctypes.c_int(fs_fd), ctypes.c_uint(FSMOUNT_CLOEXEC),
                                   ctypes.c_uint(attrs))
            try:
                self._syscall(SYS_MOVE_MOUNT, ctypes.c_int(mnt_fd), ctypes.c_char_p(b''), ctypes.c_int(-100),
                              ctypes.c_char_p(_b(target)), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH))
            finally:
                os.close(mnt_fd)
        finally:
            os.close(fs_fd)

    def openat2(self, dirfd: int, path: str, flags: int, resolve: int) -> int:
        how = OpenHow(flags=flags, mode=0, resolve=resolve)
        result = self.libc.syscall(ctypes.c_long(SYS_OPENAT2), ctypes.c_int(dirfd), ctypes.c_char_p(_b(path)),
                                   ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
        if result < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), path)
        return result

    def dtypes(self, path: str) -> list | None:
        """The d_type of each entry of a directory but '.' and '..', from getdents64(2); None if unknown here."""
        number = SYS_GETDENTS64.get(platform.machine())
        if number is None:
            return None
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            buf = ctypes.create_string_buffer(32768)
            size = self.libc.syscall(ctypes.c_long(number), ctypes.c_int(fd), buf, ctypes.c_uint(len(buf)))
            if size < 0:
                return None
            return parse_dirents(buf.raw[:size])
        finally:
            os.close(fd)


def parse_dirents(raw: bytes) -> list:
    """linux_dirent64 records -> [(name, d_type)] without '.' and '..'."""
    entries, offset = [], 0
    while offset + 19 <= len(raw):
        _ino, _off, reclen, dtype = struct.unpack_from('<QqHB', raw, offset)
        if reclen == 0:
            break
        name = raw[offset + 19:offset + reclen].split(b'\x00', 1)[0]
        if name not in (b'.', b'..'):
            entries.append((os.fsdecode(name), dtype))
        offset += reclen
    return entries


# -- resolving a path inside a root -----------------------------------------------------------------
MAX_SYMLINKS = 40


def walk_in_root(root_fd: int, path: str, create: str | None = None, mode: int = 0o755) -> int:
    """Resolve PATH as if ROOT_FD were '/': symlinks (absolute ones from the root), '..' never above it.

    The fallback for kernels without openat2(2) (before 5.6): one component at a time with
    O_PATH|O_NOFOLLOW relative to a directory already resolved, reading each symlink and
    expanding it ourselves. Returns an O_PATH file descriptor; raises OSError as open(2) would.

    With CREATE ('dir' or 'file'), a missing component is created where the walk is (mkdirat or
    openat relative to the directory descriptor), so a symlink to a missing directory is created
    inside the root, never outside: the last component as CREATE, the others as directories.
    """
    stack = [os.dup(root_fd)]
    parts = [p for p in path.split('/') if p not in ('', '.')]
    parts.reverse()
    links = 0
    try:
        while parts:
            part = parts.pop()
            if part == '..':
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            try:
                fd = os.open(part, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
            except FileNotFoundError:
                if create is None:
                    raise
                if parts or create == 'dir':
                    try:
                        os.mkdir(part, mode, dir_fd=stack[-1])
                    except FileExistsError:
                        pass
                else:
                    try:
                        os.close(os.open(part, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                         0o644, dir_fd=stack[-1]))
                    except FileExistsError:
                        pass
                fd = os.open(part, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
            st_mode = os.fstat(fd).st_mode
            if stat.S_ISLNK(st_mode):
                try:
                    target = os.readlink('', dir_fd=fd)
                finally:
                    os.close(fd)
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                if target.startswith('/'):
                    while len(stack) > 1:
                        os.close(stack.pop())
                parts.extend(reversed([p for p in target.split('/') if p not in ('', '.')]))
                continue
            if parts and not stat.S_ISDIR(st_mode):
                os.close(fd)
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
            stack.append(fd)
        return os.dup(stack[-1])
    finally:
        for fd in stack:
            os.close(fd)


def fd_path(fd: int) -> str:
    """The path the kernel has for an open file descriptor."""
    return os.readlink('/proc/self/fd/%d' % fd)


class Resolver:
    """Paths inside a root filesystem, never followed out of it (runc CVE-2021-30465).

    ``open(root, path)`` returns an O_PATH descriptor: openat2(RESOLVE_IN_ROOT) where the kernel has
    it, :func:`walk_in_root` elsewhere (or when ``use_openat2`` is False).
    """

    def __init__(self, kernel=None, use_openat2: bool | None = None):
        self.kernel = kernel
        self.use_openat2 = use_openat2

    def _resolve(self, root_fd: int, path: str) -> int:
        if self.use_openat2 is not False:
            try:
                kernel = self.kernel or Kernel()
                return kernel.openat2(root_fd, path, os.O_PATH | os.O_CLOEXEC,
                                      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
            except OSError as exc:
                if exc.errno not in (errno.ENOSYS, errno.EPERM) or self.use_openat2:
                    raise
                self.use_openat2 = False
        return walk_in_root(root_fd, path)

    def open(self, root: str, path: str) -> int:
        """An O_PATH descriptor for PATH inside ROOT; its real path is checked to lie within ROOT."""
        root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = self._resolve(root_fd, path)
            real_root = fd_path(root_fd)
        finally:
            os.close(root_fd)
        real = fd_path(fd)
        if not (real == real_root or real_root == '/' or real.startswith(real_root.rstrip('/') + '/')):
            os.close(fd)
            raise OSError(errno.EXDEV, 'resolved outside the root filesystem %s: %s' % (root, real), path)
        return fd

    def resolve(self, root: str, path: str) -> str:
        """The real host path of PATH inside ROOT (it must exist)."""
        fd = self.open(root, path)
        try:
            return fd_path(fd)
        finally:
            os.close(fd)

    def resolve_missing(self, root: str, path: str) -> tuple:
        """(host path of the deepest existing directory, remaining components) for a path that may not exist."""
        parts = [p for p in path.split('/') if p]
        for cut in range(len(parts), -1, -1):
            try:
                fd = self.open(root, '/' + '/'.join(parts[:cut]))
            except FileNotFoundError:
                continue
            try:
                return fd_path(fd), parts[cut:]
            finally:
                os.close(fd)
        raise FileNotFoundError(errno.ENOENT, 'root filesystem not found', root)

    def create(self, root: str, path: str, directory: bool = True, mode: int = 0o755) -> int:
        """Open PATH inside ROOT, creating what is missing (directories; a file last unless DIRECTORY).

        The creation walks the path itself (:func:`walk_in_root`): each missing component is made
        relative to its parent's descriptor, resolved inside the root, so a symlink to a missing
        place (``/etc`` in a root without one) is created inside the root. The result is then
        opened again as :meth:`open` does, with openat2 where the kernel has it.
        """
        try:
            return self.open(root, path)
        except FileNotFoundError:
            pass
        root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.close(walk_in_root(root_fd, path, 'dir' if directory else 'file', mode))
        finally:
            os.close(root_fd)
        return self.open(root, path)


# -- who uses a mount ------------------------------------------------------------------------------
def processes_using(path: str, proc: str = '/proc') -> list:
    """'PID (COMM)' of every process whose cwd, root, executable, open files or mapped files lie at or under PATH.

    Only processes in this mount namespace are seen the way we see PATH; umount2(2) without
    MNT_DETACH remains the final judge (EBUSY).
    """
    return processes_using_paths([path], proc)[path]


def processes_using_paths(paths, proc: str = '/proc') -> dict:
    """:func:`processes_using` for many paths in one scan of PROC: {path: ['PID (COMM)', ...]}.

    Each link and mapped file is looked up by its own ancestors in the set of paths, so the cost
    grows with the processes' files, not with their number times the paths'.
    """
    wanted = set(paths)
    users = {path: [] for path in wanted}
    if not wanted:
        return users

    def hits(link):
        """The paths LINK lies at or under."""
        found = []
        while True:
            if link in wanted:
                found.append(link)
            parent = os.path.dirname(link)
            if parent == link or not parent:
                return found
            link = parent

    def links(base):
        for name in ('cwd', 'root', 'exe'):
            yield os.path.join(base, name)
        try:
            for fd in os.listdir(os.path.join(base, 'fd')):
                yield os.path.join(base, 'fd', fd)
        except OSError:
            return

    def mapped(base):
        found = set()
        try:
            with open(os.path.join(base, 'maps'), errors='surrogateescape') as maps:
                for line in maps:
                    fields = line.split(None, 5)
                    if len(fields) == 6 and fields[5].startswith('/'):
                        found.update(hits(fields[5].rstrip('\n')))
        except OSError:
            pass
        return found

    try:
        pids = sorted((p for p in os.listdir(proc) if p.isdigit()), key=int)
    except OSError:
        return users
    for pid in pids:
        base = os.path.join(proc, pid)
        used = set()
        for link in links(base):
            try:
                used.update(hits(os.readlink(link)))
            except OSError:
                continue
        used.update(mapped(base))
        if not used:
            continue
        try:
            with open(os.path.join(base, 'comm')) as comm:
                name = '%s (%s)' % (pid, comm.read().strip())
        except OSError:
            name = pid
        for path in used:
            users[path].append(name)
    return users
