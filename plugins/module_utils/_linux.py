# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Linux system calls Python 3.9 to 3.11 lack, their flags, and the kernel's own limits: once, for all.

This is a private module_util: its API may change without notice.

* :func:`libc`: the C library this process already has (``ctypes.CDLL(None)``: no search, where
  ``ctypes.util.find_library`` runs ``ldconfig``), loaded once, with the argument types set;
* :func:`setns`, :func:`unshare`, :func:`mount`, :func:`umount2`: the calls, raising
  :class:`OSError` (errno, ``'CALL: strerror'``, the path if there is one) on failure;
* the ``CLONE_*``, ``MS_*``, ``MNT_*`` and ``UMOUNT_*`` flags (linux/sched.h, linux/mount.h);
* :data:`IFNAMSIZ` and :func:`ifname_problem`: what the kernel takes as an interface name.

``_netlink`` (namespaces) and ``_mounts`` (mount(2), the new mount API) use these; nothing else
loads libc.
"""

from __future__ import annotations

import ctypes
import os

# unshare(2) and setns(2) namespace types (linux/sched.h)
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount(2) flags (linux/mount.h)
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_UNBINDABLE = 0x20000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_SHARED = 0x100000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MS_LAZYTIME = 0x2000000

# umount2(2) flags
MNT_FORCE = 0x1
MNT_DETACH = 0x2
MNT_EXPIRE = 0x4
UMOUNT_NOFOLLOW = 0x8

#: The size of an interface name buffer (linux/if.h), the terminating NUL included.
IFNAMSIZ = 16

_LIBC = None


def libc():
    """The C library of this process, with the argument types of the calls used here (``syscall`` returns a long)."""
    global _LIBC  # pylint: disable=global-statement
    if _LIBC is None:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
        lib.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
        lib.setns.argtypes = (ctypes.c_int, ctypes.c_int)
        lib.unshare.argtypes = (ctypes.c_int,)
        lib.syncfs.argtypes = (ctypes.c_int,)
        lib.syscall.restype = ctypes.c_long
        _LIBC = lib
    return _LIBC


def fail(what: str, path=None):
    """Raise the OSError of the call that just failed (errno read from ctypes)."""
    code = ctypes.get_errno()
    raise OSError(code, '%s: %s' % (what, os.strerror(code)), path)


def _b(value):
    return None if value is None else os.fsencode(value)


def setns(fd: int, nstype: int) -> None:
    """Move the calling thread into the namespace of ``fd`` (``nstype``: a CLONE_NEW* flag, or 0 for any)."""
    if libc().setns(fd, nstype) != 0:
        fail('setns')


def syncfs(path: str) -> None:
    """Write out the data of the filesystem that holds PATH, and only that one (sync(2) would wait for every disk)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if libc().syncfs(fd) != 0:
            fail('syncfs', path)
    finally:
        os.close(fd)


def unshare(flags: int) -> None:
    """Give the calling thread new namespaces of the CLONE_NEW* ``flags``."""
    if libc().unshare(flags) != 0:
        fail('unshare')


def mount(source, target, fstype, flags: int, data=None) -> None:
    """mount(2); ``source``, ``fstype`` and ``data`` may be None."""
    if libc().mount(_b(source), _b(target), _b(fstype), flags, _b(data)) != 0:
        fail('mount', target)


def umount2(target, flags: int = 0) -> None:
    """umount2(2) with ``flags`` (MNT_DETACH, UMOUNT_NOFOLLOW...)."""
    if libc().umount2(_b(target), flags) != 0:
        fail('umount', target)


def ifname_problem(value):
    """Why the kernel would refuse ``value`` as an interface name (dev_valid_name()), or None if it takes it.

    A name is 1 to IFNAMSIZ - 1 (15) bytes, not ``.`` or ``..``, with no ``/``, ``:`` or white space. Quotes,
    backslashes and control characters, which the kernel would take, are refused too: interface names are
    written into nftables and iptables-restore rules, where they would need escaping.
    """
    if not isinstance(value, str) or not value:
        return 'must be a non-empty interface name'
    size = len(value.encode('utf-8'))
    if size >= IFNAMSIZ:
        return 'is %d bytes long; an interface name has at most %d' % (size, IFNAMSIZ - 1)
    if value in ('.', '..') or any(c in '/:"\'\\' or c.isspace() or not c.isprintable() for c in value):
        return "is not a valid interface name (no '/', ':', quotes, backslashes, white space or control characters)"
    return None
