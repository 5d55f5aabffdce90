# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The requests Netlink sends to pyroute2, against a recording stand-in for IPRoute (host namespace only:
nothing here enters a namespace or touches the kernel; the reads come from a stand-in for NetlinkSocket)."""

from __future__ import annotations

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _netlink
from ansible_collections.anatomy.containers.tests.unit.support.netlink_fakes import FakeIPRoute, FakeSocket, link


@pytest.fixture
def kernel(monkeypatch):
    FakeIPRoute.instances = []
    FakeSocket.instances = []
    FakeIPRoute.LINKS = [link(1, 'lo'), link(2, 'eth0'), link(3, 'ac0', _netlink.MARK_BRIDGE, 'bridge', stp=False)]
    monkeypatch.setattr(_netlink, 'IPRoute', FakeIPRoute)
    monkeypatch.setattr(_netlink, 'NetlinkSocket', FakeSocket)
    monkeypatch.setattr(_netlink, 'HAS_PYROUTE2', True)
    with _netlink.Netlink() as handle:
        yield handle
    assert all(sock.closed for sock in FakeIPRoute.instances + FakeSocket.instances)


def calls(kind):
    return [c for ipr in FakeIPRoute.instances for c in ipr.calls if c[0] == kind]


def test_command_sockets_subscribe_to_nothing_where_pyroute2_allows(kernel):
    kernel.link_set(None, 'eth0', mtu=9000)
    groups = FakeIPRoute.instances[0].kwargs
    assert groups in ({'groups': 0}, {})


def test_links_are_read_once_and_looked_up_by_name(kernel):
    assert [found['name'] for found in kernel.links(None)] == ['lo', 'eth0', 'ac0']
    assert kernel.links(None)[2]['alias'] == _netlink.MARK_BRIDGE
    assert sum(sock.dumps for sock in FakeSocket.instances) == 1
    kernel.link_set(None, 'eth0', mtu=9000)        # a write forgets the dump
    assert kernel._get(None, 'nope') is None
    assert kernel._get(None, 'eth0')['mtu'] == 9000
    assert ('link', 'set', {'index': 2, 'mtu': 9000}) in calls('link')


def test_only_what_differs_is_sent(kernel):
    kernel.link_set(None, 'eth0', mtu=1500, up=True, alias=None, master=None)
    kernel.link_set(None, 'ac0', stp=False)
    assert calls('link') == []
    kernel.link_set(None, 'eth0', mtu=1500, up=False)
    kernel.link_set(None, 'ac0', stp=True)
    assert calls('link') == [('link', 'set', {'index': 2, 'state': 'down'}),
                             ('link', 'set', {'index': 3, 'kind': 'bridge', 'br_stp_state': 1})]


def test_bridge_is_created_marked_and_up(kernel):
    kernel.bridge_add('ac1', 1400, False)
    adds = [c for c in calls('link') if c[1] in ('add', 'set')]
    assert adds[0] == ('link', 'add', {'ifname': 'ac1', 'kind': 'bridge', 'br_stp_state': 0})
    assert adds[1][2] == {'index': 13, 'mtu': 1400, 'ifalias': _netlink.MARK_BRIDGE, 'state': 'up'}


def test_a_bridge_mac_is_set_in_the_request_that_creates_it(kernel):
    kernel.bridge_add('ac1', 1500, False, '06:12:34:56:78:9a')
    assert calls('link')[0] == ('link', 'add', {'ifname': 'ac1', 'kind': 'bridge', 'br_stp_state': 0,
                                                'address': '06:12:34:56:78:9a'})
    kernel.link_set(None, 'ac1', mac='06:12:34:56:78:9A')      # compared in lower case: nothing to send
    kernel.link_set(None, 'ac0', mac='06:00:00:00:00:01')
    assert calls('link')[-1] == ('link', 'set', {'index': 3, 'address': '06:00:00:00:00:01'})


def test_veth_is_created_attached_and_up_then_marked_at_both_ends(kernel):
    kernel.veth_add('v0', 'p0', None, 'ac0', 1400, '02:00:00:00:00:01')
    assert calls('link') == [
        ('link', 'add', {'ifname': 'v0', 'kind': 'veth', 'peer': {'ifname': 'p0'}, 'mtu': 1400, 'state': 'up',
                         'master': 3}),
        ('link', 'set', {'index': 13, 'ifalias': _netlink.MARK_VETH}),
        ('link', 'set', {'index': 14, 'mtu': 1400, 'ifalias': _netlink.MARK_VETH_PEER, 'state': 'up',
                         'address': '02:00:00:00:00:01'}),
    ]


def test_master_is_given_by_index_and_detached_with_zero(kernel):
    kernel.link_set(None, 'eth0', master='ac0')
    kernel.link_set(None, 'eth0', master=None)
    sets = [c[2] for c in calls('link') if c[1] == 'set']
    assert sets == [{'index': 2, 'master': 3}, {'index': 2, 'master': 0}]


def test_ipv6_addresses_skip_dad_and_ipv4_do_not(kernel):
    kernel.addr_add(None, 'eth0', '2001:db8::2/64')
    kernel.addr_add(None, 'eth0', '10.0.0.2/24')
    kernel.addr_del(None, 'eth0', '2001:db8::2/64')
    assert calls('addr') == [
        ('addr', 'add', {'index': 2, 'address': '2001:db8::2', 'prefixlen': 64, 'family': 10, 'flags': 2}),
        ('addr', 'add', {'index': 2, 'address': '10.0.0.2', 'prefixlen': 24, 'family': 2}),
        ('addr', 'del', {'index': 2, 'address': '2001:db8::2', 'prefixlen': 64, 'family': 10}),
    ]


def test_routes_carry_our_protocol_in_the_main_table(kernel):
    kernel.route_add(None, 'eth0', '0.0.0.0/0', '10.0.0.1')
    kernel.route_add(None, 'eth0', '10.9.0.0/16', None)
    kernel.route_del(None, 'eth0', '::/0', 'fe80::1')
    default, direct, six = [c[2] for c in calls('route')]
    assert default == {'family': 2, 'table': 254, 'proto': _netlink.ROUTE_PROTO, 'oif': 2, 'dst_len': 0,
                       'scope': 0, 'gateway': '10.0.0.1'}
    assert direct == {'family': 2, 'table': 254, 'proto': _netlink.ROUTE_PROTO, 'oif': 2, 'dst_len': 16,
                      'scope': 253, 'dst': '10.9.0.0'}
    assert six['family'] == 10 and six['dst_len'] == 0 and 'dst' not in six


def test_a_missing_link_is_an_oserror_naming_it(kernel):
    with pytest.raises(OSError, match="no link 'eth9' in the host namespace"):
        kernel.link_set(None, 'eth9', mtu=1400)


def test_deleting_a_link_that_is_gone_is_done(kernel):
    # A veth whose peer's namespace was just deleted goes a moment later: between a run's read and its delete.
    kernel.link_del(None, 'eth9')
    assert not calls('link')


def test_reads_never_import_pyroute2(monkeypatch):
    def no_import():
        raise AssertionError('pyroute2 imported for a read')
    FakeIPRoute.LINKS = [link(1, 'lo'), link(2, 'eth0')]
    monkeypatch.setattr(_netlink, 'NetlinkSocket', FakeSocket)
    monkeypatch.setattr(_netlink, '_iproute', no_import)
    with _netlink.Netlink() as handle:
        handle.links(None)
        handle.link_set(None, 'eth0', up=True, mtu=1500)   # nothing differs: nothing sent
