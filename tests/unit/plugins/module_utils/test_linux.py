# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One home each: libc, the namespace and mount calls and their flags, the interface-name rule (_linux), IPv4 (_netlink)."""

from __future__ import annotations

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _linux, _mounts, _netlink
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import model
from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError
from ansible_collections.anatomy.containers.plugins.module_utils._host_plan import link_name


def test_libc_is_loaded_once_from_the_process_and_shared():
    assert _linux.libc() is _linux.libc()
    assert _mounts.Kernel().libc is _linux.libc()


def test_the_calls_and_flags_have_one_home():
    for name in ('setns', 'unshare', 'mount', 'umount2'):
        assert getattr(_netlink, name) is getattr(_linux, name)
    for name in ('MS_BIND', 'MS_REC', 'MS_SHARED', 'MNT_DETACH', 'CLONE_NEWNET'):
        assert getattr(_netlink, name) == getattr(_linux, name)
    for name in ('MS_BIND', 'MS_RDONLY', 'MS_REMOUNT', 'MNT_DETACH', 'UMOUNT_NOFOLLOW'):
        assert getattr(_mounts, name) == getattr(_linux, name)
    assert not hasattr(_netlink, '_libc') and not hasattr(_mounts, '_libc')


def test_a_failed_call_raises_oserror_with_errno_and_path():
    with pytest.raises(OSError) as err:
        _linux.umount2('/nonexistent/anatomy-test-path')
    assert err.value.errno and err.value.filename == '/nonexistent/anatomy-test-path'
    assert str(err.value).startswith('[Errno %d] umount: ' % err.value.errno)


@pytest.mark.parametrize('name', ['eth0', 'a', 'x' * 15, 'vh-web.1', 'br_0', 'wlp0s20f3', 'eth0.100', 'é' * 7])
def test_names_the_kernel_takes(name):
    assert _linux.ifname_problem(name) is None


@pytest.mark.parametrize('name', [None, '', 'x' * 16, 'é' * 8, '.', '..', 'a/b', 'a:b', 'a b', 'a\tb', 'a"b', "a'b",
                                  'a\\b', 'a\x01b', 3])
def test_names_refused(name):
    assert _linux.ifname_problem(name)


@pytest.mark.parametrize('name', ['eth0', 'x' * 15, 'x' * 16, 'a:b', 'a"b', '', 'br-0', 'a b'])
def test_netlink_and_netfilter_follow_the_same_rule(name):
    """One rule: the bridge/veth/netns_addr check and the netfilter out_interface check agree on every name."""
    try:
        _netlink.check_ifname('link', 'name', name)
        netlink_ok = True
    except ResourceError:
        netlink_ok = False
    try:
        model.interface(name, 'network')
        netfilter_ok = True
    except ResourceError:
        netfilter_ok = False
    assert netlink_ok == netfilter_ok == (_linux.ifname_problem(name) is None)


@pytest.mark.parametrize('workload', ['web', 'abcdefghij', 'abcdefghijk', 'a-long-workload-name'])
def test_workload_link_names_are_valid_interface_names(workload):
    assert _linux.ifname_problem(link_name(workload)) is None


@pytest.mark.parametrize('value, message', [
    ('10.88.0.1/24', "host bits set; write 10.88.0.0/24"), ('fd00::/64', 'only IPv4'), ('nonsense', 'not an IPv4 network'),
])
def test_ipv4_networks_have_one_home(value, message):
    assert model.network is _netlink.ipv4_network and model.address is _netlink.ipv4_address
    assert str(_netlink.ipv4_network('10.88.0.0/24', 'n')) == '10.88.0.0/24'
    with pytest.raises(ResourceError, match=message):
        _netlink.ipv4_network(value, 'network')
    assert _netlink.ipv4_address('10.0.0.1', 'a') == '10.0.0.1'
    with pytest.raises(ResourceError, match='not an IPv4 address'):
        _netlink.ipv4_address('127.000.0.1', 'a')
