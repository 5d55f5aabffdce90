# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The requests Netlink sends to pyroute2, against a recording stand-in for IPRoute (host namespace only:
nothing here enters a namespace or touches the kernel)."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _netlink


class Msg(dict):
    def __init__(self, header, attrs):
        super().__init__(header)
        self.attrs = attrs

    def get_attr(self, name):
        return self.attrs.get(name)


def link_msg(index, name, alias=None, kind=None):
    info = Msg({}, {'IFLA_INFO_KIND': kind}) if kind else None
    return Msg({'index': index, 'flags': 1}, {'IFLA_IFNAME': name, 'IFLA_IFALIAS': alias, 'IFLA_MTU': 1500,
                                              'IFLA_LINKINFO': info, 'IFLA_ADDRESS': '02:00:00:00:00:0A'})


class FakeIPRoute:
    instances = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls = []
        self.closed = False
        self.links = [link_msg(1, 'lo'), link_msg(2, 'eth0'), link_msg(3, 'ac0', _netlink.MARK_BRIDGE, 'bridge')]
        FakeIPRoute.instances.append(self)

    def close(self):
        self.closed = True

    def get_links(self):
        self.calls.append(('dump',))
        return tuple(self.links)

    def link(self, command, **kwargs):
        self.calls.append(('link', command, kwargs))
        if command == 'get':
            for msg in self.links:
                if msg.get_attr('IFLA_IFNAME') == kwargs['ifname']:
                    return (msg,)
            raise _netlink.NetlinkError(errno.ENODEV, 'No such device')
        if command == 'add':
            self.links.append(link_msg(10 + len(self.links), kwargs['ifname'], kind=kwargs.get('kind')))
        return ()

    def addr(self, command, **kwargs):
        self.calls.append(('addr', command, kwargs))

    def route(self, command, **kwargs):
        self.calls.append(('route', command, kwargs))


class FakeNetlinkError(Exception):
    def __init__(self, code, msg=''):
        super().__init__(msg)
        self.code = code


@pytest.fixture
def kernel(monkeypatch):
    FakeIPRoute.instances = []
    monkeypatch.setattr(_netlink, 'IPRoute', FakeIPRoute)
    monkeypatch.setattr(_netlink, 'HAS_PYROUTE2', True)
    if not hasattr(_netlink.NetlinkError, 'code'):
        monkeypatch.setattr(_netlink, 'NetlinkError', FakeNetlinkError)
    with _netlink.Netlink() as handle:
        yield handle
    assert all(ipr.closed for ipr in FakeIPRoute.instances)


def calls(kind):
    return [c for ipr in FakeIPRoute.instances for c in ipr.calls if c[0] == kind]


def test_command_sockets_subscribe_to_nothing_where_pyroute2_allows(kernel):
    kernel.links(None)
    groups = FakeIPRoute.instances[0].kwargs
    assert groups in ({'groups': 0}, {})


def test_links_are_read_once_and_looked_up_by_name(kernel):
    assert [link['name'] for link in kernel.links(None)] == ['lo', 'eth0', 'ac0']
    assert kernel.links(None)[2]['alias'] == _netlink.MARK_BRIDGE and kernel.links(None)[1]['mac'] == '02:00:00:00:00:0a'
    assert len(calls('dump')) == 1
    kernel.link_set(None, 'eth0', mtu=9000)        # a write forgets the dump
    assert kernel._get(None, 'nope') is None       # ENODEV is "no such link", not an error
    assert ('link', 'set', {'index': 2, 'mtu': 9000}) in calls('link')


def test_bridge_is_created_marked_and_up(kernel):
    kernel.bridge_add('ac1', 1400, False)
    adds = [c for c in calls('link') if c[1] in ('add', 'set')]
    assert adds[0] == ('link', 'add', {'ifname': 'ac1', 'kind': 'bridge', 'br_stp_state': 0})
    assert adds[1][2] == {'index': 13, 'mtu': 1400, 'ifalias': _netlink.MARK_BRIDGE, 'state': 'up'}


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
        kernel.link_del(None, 'eth9')
