# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-ins for the kernel in the netlink unit tests: no root, no real netlink, no namespaces.

* :class:`FakeKernel`: an in-memory kernel with the interface of ``_netlink.Netlink`` (the resources' tests);
* :class:`FakeSocket` and :class:`FakeIPRoute`: a ``NetlinkSocket`` (reads) and pyroute2's ``IPRoute``
  (writes, recorded) under a real ``Netlink`` (the requests' tests), with :func:`link` to describe a link;
* :class:`ReplaySock`: a socket that answers with replies captured from a real kernel
  (``tests/unit/fixtures/netlink_replies.json``, see :data:`REPLIES`), with :func:`chunks`,
  :func:`messages` and :func:`payloads` to read those captures;
* :class:`FakeModule`: the part of ``AnsibleModule`` that ``run_module`` uses.
"""

from __future__ import annotations

import binascii
import errno
import itertools
import json
import struct

from ansible_collections.anatomy.containers.plugins.module_utils._netlink import (
    MARK_BRIDGE, MARK_NETNS, MARK_VETH, MARK_VETH_PEER,
)
from ansible_collections.anatomy.containers.tests.unit.support.fixtures import load_fixture

#: The netlink replies captured on a lab host ({capture name: [hex string per recv()]}; its "_about" says what).
REPLIES = json.loads(load_fixture('netlink_replies.json'))
HEADER = struct.Struct('=IHHII')


# -- an in-memory kernel ------------------------------------------------------------------------------
class FakeKernel:
    def __init__(self):
        self.namespaces = {}        # name -> {'owned': bool, 'lo_up': bool}
        self.linkmap = {None: []}     # ns -> [link dict]
        self.addrs = {None: []}     # ns -> [{'index', 'cidr'}]
        self.rts = {None: []}       # ns -> [{'oif', 'dst', 'via'}]
        self.calls = []
        self._index = itertools.count(100)
        self._nsid = itertools.count(0)
        self.nsids = {}             # name -> nsid
        self._lo(None)

    # -- set-up helpers for tests ------------------------------------------------------
    def _lo(self, ns, owned=False):
        self.linkmap[ns] = [self._new_link('lo', None, alias=MARK_NETNS if owned else None, index=1)]
        self.addrs[ns] = []
        self.rts[ns] = []

    def _new_link(self, name, kind, alias=None, index=None, mtu=1500, mac=None, **extra):
        link = {'index': index or next(self._index), 'name': name, 'kind': kind, 'alias': alias, 'mtu': mtu,
                'up': True, 'master': None, 'mac': mac or '02:00:00:00:00:%02x' % (next(self._index) % 256),
                'peer_index': None, 'peer_nsid': None, 'stp': None}
        link.update(extra)
        return link

    def add_foreign_netns(self, name):
        self.namespaces[name] = {'owned': False, 'lo_up': True}
        self._lo(name)

    def add_foreign_link(self, ns, name, kind=None):
        self.linkmap[ns].append(self._new_link(name, kind))

    # -- the Netlink interface ------------------------------------------------------------
    def netns_names(self):
        return sorted(self.namespaces)

    def netns_info(self, name):
        return dict(self.namespaces[name]) if name in self.namespaces else None

    def nsid_map(self):
        return {nsid: name for name, nsid in self.nsids.items() if name in self.namespaces}

    def netns_create(self, name):
        self.calls.append(('netns_create', name))
        if name in self.namespaces:
            raise OSError(errno.EEXIST, 'exists')
        self.namespaces[name] = {'owned': True, 'lo_up': True}
        self._lo(name, owned=True)

    def netns_delete(self, name):
        self.calls.append(('netns_delete', name))
        del self.namespaces[name]
        gone = {link['index'] for link in self.linkmap.pop(name)}
        del self.addrs[name], self.rts[name]
        # veth pairs die with their peer
        for link in list(self.linkmap[None]):
            if link['kind'] == 'veth' and link['peer_nsid'] == self.nsids.get(name) and link['peer_index'] in gone:
                self.linkmap[None].remove(link)

    def set_lo_up(self, ns):
        self.calls.append(('set_lo_up', ns))
        self.namespaces[ns]['lo_up'] = True

    def links(self, ns=None):
        return [dict(link) for link in self.linkmap[ns]]

    def peer_of(self, link, nsids):
        ns = None if link['peer_nsid'] is None else nsids.get(link['peer_nsid'])
        if link['peer_nsid'] is not None and ns is None:
            return None
        for candidate in self.linkmap.get(ns, []):
            if candidate['index'] == link['peer_index']:
                return ns, dict(candidate)
        return None

    def addresses(self, ns=None):
        return [dict(a) for a in self.addrs[ns]]

    def routes(self, ns=None):
        return [dict(r) for r in self.rts[ns]]

    def _link(self, ns, name):
        for link in self.linkmap[ns]:
            if link['name'] == name:
                return link
        raise OSError(errno.ENODEV, 'no link %r' % name)

    def bridge_add(self, name, mtu, stp, mac=None):
        self.calls.append(('bridge_add', name))
        self._exists(None, name)
        self.linkmap[None].append(self._new_link(name, 'bridge', alias=MARK_BRIDGE, mtu=mtu, stp=stp, mac=mac))

    def _exists(self, ns, name):
        if any(link['name'] == name for link in self.linkmap[ns]):
            raise OSError(errno.EEXIST, 'File exists')

    def link_set(self, ns, name, **changes):
        self.calls.append(('link_set', ns, name, tuple(sorted(changes))))
        link = self._link(ns, name)
        for field, value in changes.items():
            if field == 'master':
                link['master'] = self._link(ns, value)['index'] if value else None
            elif field == 'alias':
                link['alias'] = value
            else:
                link[field] = value

    def link_del(self, ns, name):
        self.calls.append(('link_del', ns, name))
        link = self._link(ns, name)
        self.linkmap[ns].remove(link)
        self.addrs[ns] = [a for a in self.addrs[ns] if a['index'] != link['index']]
        self.rts[ns] = [r for r in self.rts[ns] if r['oif'] != link['index']]
        if link['kind'] == 'veth':
            peer_ns = None
            if link['peer_nsid'] is not None:
                peer_ns = self.nsid_map()[link['peer_nsid']]
            self.linkmap[peer_ns] = [p for p in self.linkmap[peer_ns] if p['index'] != link['peer_index']]

    def veth_add(self, name, peer, netns, bridge, mtu, peer_mac):
        self.calls.append(('veth_add', name, peer, netns))
        self._exists(None, name)
        self._exists(netns, peer)
        if netns is not None and netns not in self.nsids:
            self.nsids[netns] = next(self._nsid)
        peer_link = self._new_link(peer, 'veth', alias=MARK_VETH_PEER, mtu=mtu, mac=peer_mac)
        host = self._new_link(name, 'veth', alias=MARK_VETH, mtu=mtu, peer_index=peer_link['index'],
                              peer_nsid=None if netns is None else self.nsids[netns])
        if bridge:
            host['master'] = self._link(None, bridge)['index']
        self.linkmap[None].append(host)
        self.linkmap[netns].append(peer_link)

    def addr_add(self, ns, ifname, cidr):
        self.calls.append(('addr_add', ns, ifname, cidr))
        self.addrs[ns].append({'index': self._link(ns, ifname)['index'], 'cidr': cidr})

    def addr_del(self, ns, ifname, cidr):
        self.calls.append(('addr_del', ns, ifname, cidr))
        index = self._link(ns, ifname)['index']
        self.addrs[ns].remove({'index': index, 'cidr': cidr})

    def route_add(self, ns, ifname, dst, via):
        self.calls.append(('route_add', ns, ifname, dst, via))
        route = {'oif': self._link(ns, ifname)['index'], 'dst': dst, 'via': via}
        if route in self.rts[ns]:
            raise OSError(errno.EEXIST, 'File exists')
        self.rts[ns].append(route)

    def route_del(self, ns, ifname, dst, via):
        self.calls.append(('route_del', ns, ifname, dst, via))
        self.rts[ns].remove({'oif': self._link(ns, ifname)['index'], 'dst': dst, 'via': via})


# -- a real Netlink over recording stand-ins -------------------------------------------------------------
def link(index, name, alias=None, kind=None, **extra):
    found = {'index': index, 'name': name, 'kind': kind, 'alias': alias, 'mtu': 1500, 'up': True, 'master': None,
             'mac': '02:00:00:00:00:0a', 'peer_index': None, 'peer_nsid': None, 'stp': None}
    found.update(extra)
    return found


class FakeSocket:
    """Stands in for NetlinkSocket (the reads): the links of FakeIPRoute.LINKS, every dump counted."""
    instances = []

    def __init__(self):
        self.dumps = 0
        self.closed = False
        FakeSocket.instances.append(self)

    def close(self):
        self.closed = True

    def links(self):
        self.dumps += 1
        return [dict(found) for found in FakeIPRoute.LINKS]

    def link(self, name):
        return next((dict(found) for found in FakeIPRoute.LINKS if found['name'] == name), None)


class FakeIPRoute:
    """Stands in for pyroute2's IPRoute (the writes): records each request, applies link adds and sets."""
    instances = []
    LINKS = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls = []
        self.closed = False
        FakeIPRoute.instances.append(self)

    def close(self):
        self.closed = True

    def link(self, command, **kwargs):
        self.calls.append(('link', command, kwargs))
        if command == 'add':
            FakeIPRoute.LINKS.append(link(10 + len(FakeIPRoute.LINKS), kwargs['ifname'], kind=kwargs.get('kind')))
            if kwargs.get('kind') == 'veth':  # the tests put the peer in the same namespace
                FakeIPRoute.LINKS.append(link(10 + len(FakeIPRoute.LINKS), kwargs['peer']['ifname'], kind='veth'))
        elif command == 'set':
            found = next(found for found in FakeIPRoute.LINKS if found['index'] == kwargs['index'])
            for key, field in (('mtu', 'mtu'), ('ifalias', 'alias'), ('master', 'master'), ('address', 'mac')):
                if key in kwargs:
                    found[field] = kwargs[key] or None
            if 'state' in kwargs:
                found['up'] = kwargs['state'] == 'up'
        return ()

    def addr(self, command, **kwargs):
        self.calls.append(('addr', command, kwargs))

    def route(self, command, **kwargs):
        self.calls.append(('route', command, kwargs))


# -- captured replies ------------------------------------------------------------------------------------
def chunks(name):
    return [binascii.unhexlify(chunk) for chunk in REPLIES[name]]


def messages(name):
    """[(type, whole message bytes)] of a capture."""
    out = []
    for data in chunks(name):
        offset = 0
        while offset < len(data):
            length, kind = HEADER.unpack_from(data, offset)[:2]
            out.append((kind, data[offset:offset + length]))
            offset += (length + 3) & ~3
    return out


def payloads(name, kind):
    return [msg[HEADER.size:] for msg_kind, msg in messages(name) if msg_kind == kind]


class ReplaySock:
    """A socket that answers each request with a capture, its sequence numbers made the request's."""

    def __init__(self, *captures):
        self.captures = list(captures)
        self.sent = []
        self.pending = []
        self.closed = False

    def send(self, data):
        self.sent.append(data)
        seq = HEADER.unpack_from(data)[3]
        self.pending = []
        for chunk in chunks(self.captures.pop(0)):
            chunk = bytearray(chunk)
            offset = 0
            while offset < len(chunk):
                struct.pack_into('=I', chunk, offset + 8, seq)
                offset += (HEADER.unpack_from(chunk, offset)[0] + 3) & ~3
            self.pending.append(bytes(chunk))
        return len(data)

    def recv(self, _size):
        return self.pending.pop(0)

    def close(self):
        self.closed = True


# -- AnsibleModule ----------------------------------------------------------------------------------------
class Exited(Exception):
    pass


class FakeModule:
    def __init__(self, **params):
        self.params = {'config': None, 'state': 'merged', **params}
        self.check_mode = False
        self._diff = False
        self.result = None

    def exit_json(self, **result):
        self.result = result
        raise Exited()

    def fail_json(self, **result):
        self.result = dict(result, failed=True)
        raise Exited()
