# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test support for the mount library and its resources: an in-memory kernel, and mountinfo captured on a lab host.

FakeKernel answers mount(2), umount2(2) and fsmount like the kernel, roughly, keeping the mount table
in memory: nothing is mounted. Directories and files are real (the tests use a temp dir).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ansible_collections.anatomy.containers.plugins.module_utils._mounts import (
    MNT_DETACH, MS_BIND, MS_PRIVATE, MS_RDONLY, MS_REMOUNT, MS_SHARED, MS_SLAVE, MountInfo, MountTable,
    _split_super_options,
)

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures'

#: /proc/self/mountinfo lines captured on a lab host (Debian 12 under systemd-nspawn, Linux 6.18), plus a few
#: classic ones (escaped spaces, tabs and backslashes, slave and unbindable mounts).
MOUNTINFO_SAMPLE = (FIXTURES / 'mountinfo_lab.txt').read_text()


class FakeKernel:
    """A mount table in memory that answers mount(2), umount2(2) and fsmount like the kernel, roughly."""

    def __init__(self, mounts=(), fsapi=True, dtypes=None, keep_private=False):
        self.mounts = [MountInfo(1, 0, (8, 1), '/', '/', ('rw', 'relatime'), ('shared:1',), 'ext4', '/dev/sda1', [])]
        self.mounts += list(mounts)
        self.fsapi = fsapi
        self.dtype_map = dtypes or {}
        self.keep_private = keep_private
        self.busy = set()
        self.file_binds = set()
        self.calls = []
        self.next_id = 100
        #: How many times the resources read the mount table (the fake's own lookups do not count).
        self.reads = 0

    def add(self, point, fstype='ext4', options=('rw',), optional=(), super_options=()):
        self.next_id += 1
        parent = self._table().containing(point)
        mount = MountInfo(self.next_id, parent.mount_id if parent else 0, (0, self.next_id), '/', point,
                          tuple(options), tuple(optional), fstype, fstype, list(super_options))
        self.mounts.append(mount)
        return mount

    def _table(self):
        return MountTable(list(self.mounts))

    def mountinfo(self):
        self.reads += 1
        return self._table()

    def mount(self, source, target, fstype, flags, data=None):
        self.calls.append(('mount', source, target, fstype, flags, data))
        if target.startswith('/proc/self/fd/'):
            target = os.readlink(target)
        top = self._table().at(target)
        if flags & MS_REMOUNT:
            rw = 'ro' if flags & MS_RDONLY else 'rw'
            top.options = (rw,) + tuple(o for o in top.options if o not in ('ro', 'rw'))
            return
        if flags & (MS_SHARED | MS_SLAVE | MS_PRIVATE):
            if flags & MS_PRIVATE or self.keep_private:
                top.optional = ()
            elif flags & MS_SHARED:
                top.optional = top.optional if any(o.startswith('shared:') for o in top.optional) else ('shared:77',)
            elif any(o.startswith('shared:') for o in top.optional):
                top.optional = ('master:%s' % top.optional[0].split(':')[1],)
            return
        if flags & MS_BIND:
            source = os.readlink(source) if source.startswith('/proc/self/fd/') else source
            origin = self._table().containing(source)
            self.add(target, origin.fstype, options=origin.options, optional=origin.optional)
            if os.path.isfile(source) and os.path.isfile(target):
                # A file bind shows the source's inode at the target: a hard link does too (same temp dir).
                os.unlink(target)
                os.link(source, target)
                self.file_binds.add(target)
            return
        self.add(target, fstype, super_options=_split_super_options(data.encode()))

    def umount(self, target, flags=0):
        self.calls.append(('umount', target, flags))
        top = self._table().at(target)
        if top is None:
            raise OSError(errno.EINVAL, 'not mounted', target)
        if target in self.busy and not flags & MNT_DETACH:
            raise OSError(errno.EBUSY, 'busy', target)
        self.mounts.remove(top)
        if target in self.file_binds:
            self.file_binds.discard(target)
            os.unlink(target)
            open(target, 'w').close()  # the mount point, the empty file under the bind

    def fsmount_overlay(self, target, calls, flags):
        self.calls.append(('fsmount', target, calls, flags))
        if not self.fsapi:
            raise OSError(errno.EINVAL, 'overlay option lowerdir+: Invalid argument', target)
        self.add(target, 'overlay', super_options=[c for c in calls if c[0] != 'source'])

    def dtypes(self, path):
        return self.dtype_map.get(path)

    @staticmethod
    def openat2(dirfd, path, flags, resolve):
        """As on a kernel before 5.6: the resolver falls back to its own walk."""
        raise OSError(errno.ENOSYS, 'no openat2', path)


class PickyKernel(FakeKernel):
    """A fake kernel that refuses to bind onto some targets, or leaves some binds private."""

    def __init__(self, refuse=(), private=()):
        super().__init__()
        self.refuse, self.private = set(refuse), set(private)

    def mount(self, source, target, fstype, flags, data=None):
        real = os.readlink(target) if target.startswith('/proc/self/fd/') else target
        if flags & MS_BIND and not flags & MS_REMOUNT and real in self.refuse:
            raise OSError(errno.EPERM, 'mount: Operation not permitted', real)
        if flags & MS_SHARED and real in self.private:
            self._table().at(real).optional = ()  # as the kernel does for a bind of a private mount (runc#5390)
            return
        super().mount(source, target, fstype, flags, data)
