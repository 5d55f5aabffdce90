# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reads of the host shared by the tasks of one preview: each read once, the answer each module would read alone.

This is a private module_util: its API may change without notice.

``anatomy.containers.preview`` runs every module task of a role in check mode in one process. Alone, each of
those modules reads the host for itself: the four network modules each dump the links of every namespace,
overlay_mount and bind_volume each parse the mount table, nat_masquerade and port_forward each list the
rules. Nothing is written in between (every task is in check mode), so one read gives every task the answer
it would have read alone, a few milliseconds earlier. :class:`SharedReads` holds those reads for one preview
and hands them to the modules' ``run_x(module, reads=...)``.

A shared read can never be stale, because it can never be used where something is written:

* the read-only handles (:class:`ReadOnlyNetlink`, :class:`ReadOnlyMountKernel`, :class:`CachedRunner`)
  raise :class:`ReadOnlyError` on every write they know, and the runner forgets what it cached whenever a
  command it does not know as a read runs;
* a module's ``run_x`` refuses ``reads`` outside check mode (``_resource.check_mode_reads``), so a real run
  always reads afresh; modules run alone never get ``reads`` at all.
"""

from __future__ import annotations

import os

from ansible_collections.anatomy.containers.plugins.module_utils._netlink import MARK_NETNS, Netlink
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import Kernel
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import engine
from ansible_collections.anatomy.containers.plugins.module_utils._resource import ReadOnlyError


def _refuse(name):
    def refused(self, *args, **kwargs):
        raise ReadOnlyError('%s.%s: a preview reads the host, it never writes' % (type(self).__name__, name))
    refused.__name__ = name
    return refused


class ReadOnlyNetlink(Netlink):
    """A :class:`Netlink` that reads each namespace once (links, addresses and routes together) and never writes.

    Every answer is a copy, so a resource that changes what it was given changes nothing for the next one.
    A read that failed fails the same way again.
    """

    #: Netlink's writing methods: all refused (a unit test checks that no public method is left out).
    WRITES = ('netns_create', 'netns_delete', 'set_lo_up', 'bridge_add', 'link_set', 'link_del', 'veth_add',
              'addr_add', 'addr_del', 'route_add', 'route_del')

    def __init__(self):
        super().__init__()
        self._read = {}  # (kind, ns) -> list, or the OSError the read raised
        self._names = None
        self._nsids = None

    # Below every write: pyroute2's socket and /run/netns made shared. Refused too, in case a write is added.
    _ipr = _refuse('_ipr')
    _prepare_run_dir = _refuse('_prepare_run_dir')

    def _cached(self, kind, ns):
        if (kind, ns) not in self._read:
            self._fetch(kind, ns)
            if kind == 'links' and not isinstance(self._read[('links', ns)], OSError):
                # While in the namespace: what netns_addr asks next of every namespace it reads the links of.
                for other in ('addresses', 'routes'):
                    if (other, ns) not in self._read:
                        self._fetch(other, ns)
        value = self._read[(kind, ns)]
        if isinstance(value, OSError):
            raise value
        return [dict(item) for item in value]

    def _fetch(self, kind, ns):
        try:
            self._read[(kind, ns)] = getattr(super(), kind)(ns)
        except OSError as exc:
            self._read[(kind, ns)] = exc

    def links(self, ns=None) -> list:
        return self._cached('links', ns)

    def addresses(self, ns=None) -> list:
        return self._cached('addresses', ns)

    def routes(self, ns=None) -> list:
        return self._cached('routes', ns)

    def netns_names(self) -> list:
        if self._names is None:
            self._names = super().netns_names()
        return list(self._names)

    def netns_info(self, name: str):
        """As :meth:`Netlink.netns_info`, from the namespace's link dump (which holds its lo) instead of asking for lo."""
        try:
            links = self.links(name)
        except OSError:
            return None
        lo = next((link for link in links if link['name'] == 'lo'), None)
        if lo is None:
            return {'owned': False, 'lo_up': False}
        return {'owned': lo['alias'] == MARK_NETNS, 'lo_up': lo['up']}

    def _get(self, ns, name):
        for link in self.links(ns):
            if link['name'] == name:
                return link
        return None

    def nsid_map(self) -> dict:
        if self._nsids is None:
            self._nsids = super().nsid_map()
        return dict(self._nsids)


for _name in ReadOnlyNetlink.WRITES:
    setattr(ReadOnlyNetlink, _name, _refuse(_name))


class ReadOnlyMountKernel(Kernel):
    """The mount :class:`Kernel` with one mount table for every task (resources only look things up in it);
    mounting and unmounting refused."""

    WRITES = ('mount', 'umount', 'fsmount_overlay')

    def __init__(self):
        super().__init__()
        self._table = None

    def mountinfo(self):
        if self._table is None:
            self._table = super().mountinfo()
        return self._table


for _name in ReadOnlyMountKernel.WRITES:
    setattr(ReadOnlyMountKernel, _name, _refuse(_name))


def is_read_command(argv) -> bool:
    """Whether a netfilter runner's command only reads: the rules listed (nft list, iptables-save)."""
    program = os.path.basename(argv[0]) if argv else ''
    if program == 'nft':
        options = [word for word in argv[1:] if word.startswith('-')]
        words = [word for word in argv[1:] if not word.startswith('-')]
        # One list command: nft takes several commands in one line, separated by ';'.
        return words[:1] == ['list'] and not any(';' in word for word in words) and set(options) <= {'-j', '--json'}
    return program in ('iptables-save', 'iptables-legacy-save', 'iptables-nft-save')


def is_check_command(argv) -> bool:
    """Whether a command only has the kernel check a transaction without loading it (nft -c, iptables-restore --test)."""
    program = os.path.basename(argv[0]) if argv else ''
    if program == 'nft':
        return '-c' in argv or '--check' in argv
    return program.startswith('iptables') and program.endswith('-restore') and ('--test' in argv or '-t' in argv)


class CachedRunner:
    """The netfilter runner of a previewed task, over the task's own runner: each listing of the rules, each
    program's path and the route table read once for all tasks (``cache``, shared); files never written.

    A command that is neither a read nor a check runs, and everything cached is forgotten: whatever it did,
    nothing read before it is served after it.
    """

    def __init__(self, runner, cache: dict):
        self.runner = runner
        self.cache = cache

    def run(self, argv, data=None):
        commands = self.cache.setdefault('commands', {})
        if data is None and is_read_command(argv):
            key = tuple(argv)
            if key not in commands:
                commands[key] = self.runner.run(argv)
            return commands[key]
        if not is_check_command(argv):
            commands.clear()
            self.cache.pop('routes', None)
        return self.runner.run(argv, data=data)

    def which(self, name):
        paths = self.cache.setdefault('paths', {})
        if name not in paths:
            paths[name] = self.runner.which(name)
        return paths[name]

    def read(self, path):
        return self.runner.read(path)

    write = _refuse('write')
    remove = _refuse('remove')

    def routes(self):
        if 'routes' not in self.cache:
            self.cache['routes'] = self.runner.routes()
        return [dict(route) for route in self.cache['routes']]


class SharedReads:
    """What the tasks of one preview read of the host once: made by the preview, closed at its end."""

    def __init__(self):
        self._netlink = None
        self._mounts = None
        self._netfilter = {}

    def netlink(self) -> ReadOnlyNetlink:
        if self._netlink is None:
            self._netlink = ReadOnlyNetlink()
        return self._netlink

    def mount_kernel(self) -> ReadOnlyMountKernel:
        if self._mounts is None:
            self._mounts = ReadOnlyMountKernel()
        return self._mounts

    def netfilter_runner(self, module) -> CachedRunner:
        """The runner for one task (its commands go through that task's module), with the cache of every task."""
        return CachedRunner(engine.ModuleRunner(module), self._netfilter)

    def close(self) -> None:
        if self._netlink is not None:
            self._netlink.close()
            self._netlink = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
