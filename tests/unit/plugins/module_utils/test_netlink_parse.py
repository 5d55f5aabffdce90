# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The netlink reads: messages captured from a real kernel (tests/unit/fixtures/netlink_replies.json says what they
hold), decoded by _netlink's own parser, compared with what pyroute2 makes of the same bytes, and replayed through NetlinkSocket."""

from __future__ import annotations

import errno
import struct

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _netlink
from ansible_collections.anatomy.containers.plugins.module_utils._netlink import (
    MARK_BRIDGE, MARK_NETNS, MARK_VETH, MARK_VETH_PEER, NetlinkSocket, parse_address, parse_link, parse_route,
)
from ansible_collections.anatomy.containers.tests.unit.support.netlink_fakes import (
    HEADER, ReplaySock, chunks, messages, payloads,
)


RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 20, 24


def test_links_decode_to_names_kinds_marks_and_peers():
    capa = {link['name']: link for link in map(parse_link, payloads('capa_links', RTM_NEWLINK))}
    assert sorted(capa) == ['br0', 'lo', 'v0']
    assert capa['lo'] == {'index': 1, 'name': 'lo', 'kind': None, 'alias': MARK_NETNS, 'mtu': 65536, 'up': True,
                          'master': None, 'mac': '00:00:00:00:00:00', 'peer_index': None, 'peer_nsid': None,
                          'stp': None}
    assert capa['br0']['kind'] == 'bridge' and capa['br0']['alias'] == MARK_BRIDGE
    assert capa['br0']['mtu'] == 1400 and capa['br0']['stp'] is True
    v0 = capa['v0']
    assert (v0['kind'], v0['alias'], v0['master'], v0['peer_index'], v0['peer_nsid'], v0['stp']) == \
        ('veth', MARK_VETH, capa['br0']['index'], 2, 0, None)
    lo, eth0 = map(parse_link, payloads('capb_links', RTM_NEWLINK))
    assert lo['alias'] is None
    assert eth0['alias'] == MARK_VETH_PEER and eth0['mac'] == '02:00:00:00:00:01'
    assert (eth0['peer_index'], eth0['peer_nsid']) == (v0['index'], 0)


def pyroute2_link(msg):
    """What _netlink read from pyroute2's decoding of a link before it parsed links itself."""
    info = msg.get_attr('IFLA_LINKINFO')
    kind = info.get_attr('IFLA_INFO_KIND') if info is not None else None
    data = info.get_attr('IFLA_INFO_DATA') if info is not None else None
    stp = None
    if kind == 'bridge' and data is not None and not isinstance(data, (str, bytes)):
        stp = data.get_attr('IFLA_BR_STP_STATE')
    mac = msg.get_attr('IFLA_ADDRESS')
    return {'index': msg['index'], 'name': msg.get_attr('IFLA_IFNAME'), 'kind': kind,
            'alias': msg.get_attr('IFLA_IFALIAS') or None, 'mtu': msg.get_attr('IFLA_MTU'),
            'up': bool(msg['flags'] & 1), 'master': msg.get_attr('IFLA_MASTER') or None,
            'mac': mac.lower() if isinstance(mac, str) else None, 'peer_index': msg.get_attr('IFLA_LINK'),
            'peer_nsid': msg.get_attr('IFLA_LINK_NETNSID'), 'stp': None if stp is None else bool(stp)}


def test_links_read_as_pyroute2_reads_them():
    ifinfmsg = pytest.importorskip('pyroute2.netlink.rtnl.ifinfmsg').ifinfmsg
    for capture in ('capa_links', 'capb_links', 'capa_get_br0'):
        for kind, raw in messages(capture):
            if kind != RTM_NEWLINK:
                continue
            msg = ifinfmsg(raw)
            msg.decode()
            assert parse_link(raw[HEADER.size:]) == pyroute2_link(msg)


def test_addresses_skip_ipv6_link_local():
    found = [parse_address(p) for p in payloads('capb_addrs', RTM_NEWADDR)]
    assert [a for a in found if a] == [{'index': 1, 'cidr': '127.0.0.1/8'}, {'index': 2, 'cidr': '10.1.0.2/16'},
                                       {'index': 1, 'cidr': '::1/128'}, {'index': 2, 'cidr': '2001:db8::2/64'}]
    assert found.count(None) == 1  # fe80::... of eth0


def test_routes_decode_destination_gateway_table_and_protocol():
    four = [parse_route(p) for p in payloads('capb_routes_2', RTM_NEWROUTE)]
    assert four == [{'family': 2, 'table': 254, 'proto': 166, 'oif': 2, 'dst': '0.0.0.0/0', 'via': '10.1.0.1'},
                    {'family': 2, 'table': 254, 'proto': 166, 'oif': 2, 'dst': '10.9.0.0/16', 'via': None}]
    six = [parse_route(p) for p in payloads('capb_routes_10', RTM_NEWROUTE)]
    assert six == [{'family': 10, 'table': 254, 'proto': 166, 'oif': 2, 'dst': '::/0', 'via': '2001:db8::1'}]


def test_socket_dumps_links_and_addresses_and_gets_one_link():
    sock = ReplaySock('capa_links', 'capa_addrs', 'capa_get_br0', 'capa_get_nope')
    nl = NetlinkSocket(sock)
    assert [link['name'] for link in nl.links()] == ['lo', 'br0', 'v0']
    assert {'index': 2, 'cidr': '2001:db8::1/64'} in nl.addresses()
    assert nl.link('br0')['stp'] is True
    assert nl.link('nope') is None
    dump, _addrs, get, _nope = [HEADER.unpack_from(data) for data in sock.sent]
    assert dump[1:3] == (_netlink.RTM_GETLINK, _netlink.NLM_F_REQUEST | _netlink.NLM_F_DUMP)
    assert get[1:3] == (_netlink.RTM_GETLINK, _netlink.NLM_F_REQUEST | _netlink.NLM_F_ACK)
    assert b'br0\0' in sock.sent[2]
    nl.close()
    assert sock.closed


def test_socket_keeps_only_our_routes_whatever_the_kernel_sent():
    sock = ReplaySock('capb_routes_all_2', 'capb_routes_2')
    nl = NetlinkSocket(sock)
    unfiltered = nl.routes(_netlink.AF_INET, _netlink.MAIN_TABLE, _netlink.ROUTE_PROTO)
    assert unfiltered == nl.routes(_netlink.AF_INET, _netlink.MAIN_TABLE, _netlink.ROUTE_PROTO)
    assert [r['dst'] for r in unfiltered] == ['0.0.0.0/0', '10.9.0.0/16']
    family, _dst, _src, _tos, table, proto = struct.unpack_from('=BBBBBB', sock.sent[0], HEADER.size)
    assert (family, table, proto) == (_netlink.AF_INET, 254, 166)


def test_socket_asks_a_namespace_id_by_file_descriptor():
    sock = ReplaySock('capa_nsid_capb')
    assert NetlinkSocket(sock).nsid(7) == 0
    attrs = _netlink.nl_attrs(sock.sent[0], HEADER.size + 4)
    assert attrs == {_netlink.NETNSA_FD: struct.pack('=I', 7)}


def test_socket_skips_stale_replies_and_raises_kernel_errors():
    sock = ReplaySock('capa_get_nope')
    nl = NetlinkSocket(sock)
    nl._seq = 41
    stale = bytearray(chunks('capa_links')[-1])      # an NLMSG_DONE of an earlier request
    struct.pack_into('=I', stale, 8, 3)
    original_send = sock.send

    def send(data):
        original_send(data)
        sock.pending.insert(0, bytes(stale))
    sock.send = send
    with pytest.raises(OSError) as raised:
        nl.request(_netlink.RTM_GETLINK, b'\0' * 16)
    assert raised.value.errno == errno.ENODEV
