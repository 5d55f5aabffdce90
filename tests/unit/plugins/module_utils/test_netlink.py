# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The network resources' diff logic and validation, against an in-memory kernel (no root, no real netlink)."""

from __future__ import annotations

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError, converge
from ansible_collections.anatomy.containers.plugins.module_utils import _netlink, _netlink_resources
from ansible_collections.anatomy.containers.plugins.module_utils._netlink import (
    check_address_list, check_ifname, check_mac, check_mtu, check_netns_name, check_network,
)
from ansible_collections.anatomy.containers.plugins.module_utils._netlink_resources import (
    Bridge, Netns, NetnsAddr, Veth, bridge_mac,
)
from ansible_collections.anatomy.containers.plugins.module_utils._host_plan import mac_for

from ansible_collections.anatomy.containers.tests.unit.support.netlink_fakes import Exited, FakeKernel, FakeModule


def full(**item):
    """A config item as Ansible passes it: every option present, unset ones None."""
    return item


# -- validation ---------------------------------------------------------------------------------
@pytest.mark.parametrize('name', ['eth0', 'a', 'x' * 15, 'vh-web.1', 'br_0'])
def test_valid_interface_names(name):
    assert check_ifname('link', 'name', name) == name


@pytest.mark.parametrize('name, why', [
    ('', 'non-empty'), ('x' * 16, '16 bytes'), ('é' * 8, '16 bytes'), ('a/b', 'not a valid'), ('a:b', 'not a valid'),
    ('a b', 'not a valid'), ('a\tb', 'not a valid'), ('.', 'not a valid'), ('..', 'not a valid'), (None, 'non-empty'),
])
def test_invalid_interface_names(name, why):
    with pytest.raises(ResourceError, match=why) as err:
        check_ifname("veth 'x'", 'peer', name)
    assert err.value.details == {'field': 'peer'} and str(err.value).startswith("veth 'x': peer")


@pytest.mark.parametrize('name', ['', '.', '..', 'a/b', 'x' * 256])
def test_invalid_namespace_names(name):
    with pytest.raises(ResourceError, match='namespace name'):
        check_netns_name('ns', 'name', name)


@pytest.mark.parametrize('mtu', [67, 65536, 0, -1, '1500', True, 1.5])
def test_mtu_range(mtu):
    with pytest.raises(ResourceError, match='from 68 to 65535'):
        check_mtu('bridge', 'mtu', mtu)
    assert check_mtu('bridge', 'mtu', 68) == 68 and check_mtu('bridge', 'mtu', 65535) == 65535


def test_cidr_addresses_are_canonical_sorted_and_checked():
    assert check_address_list('b', 'addresses', ['2001:DB8:0::1/64', '10.0.0.1/24', '9.0.0.1/8']) == [
        '9.0.0.1/8', '10.0.0.1/24', '2001:db8::1/64']
    for bad, why in (('10.0.0.1', 'ADDRESS/PREFIX'), ('10.0.0.300/24', 'not a valid CIDR'), ('10.0.0.1/33', 'not a valid'),
                     ('fe80::1/64', 'link-local'), ('224.0.0.1/4', 'not a unicast'), ('nonsense/1', 'not a valid')):
        with pytest.raises(ResourceError, match=why):
            check_address_list('b', 'addresses', [bad])
    with pytest.raises(ResourceError, match='twice'):
        check_address_list('b', 'addresses', ['10.0.0.1/24', '10.0.0.1/16'])


def test_networks_and_macs():
    assert check_network('r', 'dst', '10.1.0.0/16') == '10.1.0.0/16'
    with pytest.raises(ResourceError, match='host bits'):
        check_network('r', 'dst', '10.1.0.1/16')
    assert check_mac('v', 'peer_mac', '02-AA-bb-CC-dd-EE') == '02:aa:bb:cc:dd:ee'
    for bad in ('01:00:5e:00:00:01', '00:00:00:00:00:00', '02:00:00:00:00', 'zz:00:00:00:00:00'):
        with pytest.raises(ResourceError, match='peer_mac'):
            check_mac('v', 'peer_mac', bad)


def test_the_ownership_marks_start_with_the_owner_mark():
    for mark in (_netlink.MARK_BRIDGE, _netlink.MARK_VETH, _netlink.MARK_VETH_PEER, _netlink.MARK_NETNS):
        assert _netlink.owned(mark)
    assert not _netlink.owned(None) and not _netlink.owned('docker bridge')


# -- netns -----------------------------------------------------------------------------------------
def test_netns_create_idempotent_and_foreign_untouched():
    kernel = FakeKernel()
    kernel.add_foreign_netns('theirs')
    first = converge(Netns(kernel), [{'name': 'a'}, {'name': 'b'}], 'merged')
    assert first['changed'] and first['after'] == [{'name': 'a'}, {'name': 'b'}]
    assert not converge(Netns(kernel), [{'name': 'a'}], 'merged')['changed']
    gone = converge(Netns(kernel), None, 'deleted')
    assert gone['after'] == [] and kernel.netns_names() == ['theirs']
    with pytest.raises(ResourceError, match="network namespace 'theirs' exists and is not managed"):
        converge(Netns(kernel), [{'name': 'theirs'}], 'merged')


def test_netns_brings_lo_back_up_in_a_namespace_of_ours():
    kernel = FakeKernel()
    converge(Netns(kernel), [{'name': 'a'}], 'merged')
    kernel.namespaces['a']['lo_up'] = False
    check = converge(Netns(kernel), [{'name': 'a'}], 'merged', check_mode=True)
    assert check['changed'] and not kernel.namespaces['a']['lo_up']
    assert converge(Netns(kernel), [{'name': 'a'}], 'merged')['changed']
    assert ('set_lo_up', 'a') in kernel.calls and kernel.namespaces['a']['lo_up']
    assert not converge(Netns(kernel), [{'name': 'a'}], 'overridden')['changed']


def test_netns_check_mode_and_bad_names():
    kernel = FakeKernel()
    result = converge(Netns(kernel), [{'name': 'a'}], 'merged', check_mode=True)
    assert result['changed'] and result['after'] == [{'name': 'a'}] and kernel.calls == []
    with pytest.raises(ResourceError, match="name 'a/b' is not a valid namespace name") as err:
        converge(Netns(kernel), [{'name': 'ok'}, {'name': 'a/b'}], 'merged')
    assert err.value.details == {'field': 'name', 'index': 1} and kernel.calls == []


def test_netns_duplicates_refused():
    with pytest.raises(ResourceError, match=r"config\[1\]: network namespace 'a' is listed twice"):
        converge(Netns(FakeKernel()), [{'name': 'a'}, {'name': 'a'}], 'merged')


# -- bridge -------------------------------------------------------------------------------------------
def br(name, addresses=None, mtu=None, stp=None, mac=None):
    return {'name': name, 'addresses': addresses, 'mtu': mtu, 'stp': stp, 'mac': mac}


def test_bridge_lifecycle():
    kernel = FakeKernel()
    first = converge(Bridge(kernel), [br('ac0', ['2001:db8::1/64', '10.0.0.1/24'])], 'merged')
    assert first['after'] == [{'name': 'ac0', 'addresses': ['10.0.0.1/24', '2001:db8::1/64'], 'mtu': 1500,
                               'stp': False, 'mac': bridge_mac('ac0')}]
    # Same addresses, other order and spelling: no change.
    assert not converge(Bridge(kernel), [br('ac0', ['10.0.0.1/24', '2001:DB8::1/64'])], 'merged')['changed']
    kernel.calls.clear()
    second = converge(Bridge(kernel), [br('ac0', ['10.0.0.1/24', '10.0.1.1/24'], mtu=9000)], 'merged')
    assert second['after'][0]['addresses'] == ['10.0.0.1/24', '10.0.1.1/24'] and second['after'][0]['mtu'] == 9000
    assert ('addr_del', None, 'ac0', '2001:db8::1/64') in kernel.calls
    assert ('addr_del', None, 'ac0', '10.0.0.1/24') not in kernel.calls
    # merged keeps what is not given; replaced resets it to defaults.
    assert converge(Bridge(kernel), [br('ac0', stp=True)], 'merged')['after'][0]['addresses'] == [
        '10.0.0.1/24', '10.0.1.1/24']
    replaced = converge(Bridge(kernel), [br('ac0')], 'replaced')['after'][0]
    assert replaced == {'name': 'ac0', 'addresses': [], 'mtu': 1500, 'stp': False, 'mac': bridge_mac('ac0')}
    assert converge(Bridge(kernel), [br('ac0')], 'deleted')['after'] == []


def test_bridge_never_takes_a_foreign_link():
    kernel = FakeKernel()
    kernel.add_foreign_link(None, 'docker0', 'bridge')
    kernel.add_foreign_link(None, 'eth0')
    for state in ('merged', 'replaced', 'overridden', 'deleted'):
        with pytest.raises(ResourceError, match="bridge 'docker0' exists and is not managed"):
            converge(Bridge(kernel), [br('docker0')], state)
    converge(Bridge(kernel), [br('ac0')], 'merged')
    converge(Bridge(kernel), [br('ac1')], 'overridden')
    assert sorted(link['name'] for link in kernel.links(None)) == ['ac1', 'docker0', 'eth0', 'lo']


@pytest.mark.parametrize('item, field', [
    (br('ac0', mtu=67), 'mtu'), (br('ac0', mtu=70000), 'mtu'), (br('ac0', ['10.0.0.1']), 'addresses'),
    (br('bridge-name-too-long'), 'name'), (br('a:b'), 'name'), (br('ac0', mac='01:00:5e:00:00:01'), 'mac'),
    (br('ac0', mac='02:00:00:00:00'), 'mac'),
])
def test_bridge_bad_input_names_field_and_changes_nothing(item, field):
    kernel = FakeKernel()
    with pytest.raises(ResourceError) as err:
        converge(Bridge(kernel), [br('ok'), item], 'merged')
    assert err.value.details['field'] == field and err.value.details['index'] == 1
    assert kernel.calls == []


def test_bridge_check_mode_and_diff_shape():
    kernel = FakeKernel()
    converge(Bridge(kernel), [br('ac0', ['10.0.0.1/24'])], 'merged')
    kernel.calls.clear()
    result = converge(Bridge(kernel), [br('ac0', mtu=1400)], 'merged', check_mode=True)
    assert result['changed'] and result['before'][0]['mtu'] == 1500 and result['after'][0]['mtu'] == 1400
    assert kernel.calls == []


@pytest.mark.parametrize('name', ['ac0', 'ctbr0', 'x' * 15, 'br-1', 'br-2'])
def test_the_derived_bridge_mac_is_stable_unicast_local_and_never_a_workloads(name):
    mac = bridge_mac(name)
    assert mac == bridge_mac(name) and check_mac('b', 'mac', mac) == mac
    first = int(mac[:2], 16)
    assert not first & 1 and first & 2          # unicast, locally administered
    assert not mac.startswith('02:')            # never a workload's: those are 02:42:<IPv4>
    assert all(not mac_for(address).startswith(mac[:3]) for address in ('10.88.0.2', '172.30.0.1', '0.0.0.0'))
    assert len({bridge_mac(other) for other in ('ac0', 'ctbr0', 'x' * 15, 'br-1', 'br-2')}) == 5


def test_a_bridge_gets_its_mac_when_made_and_keeps_it():
    kernel = FakeKernel()
    result = converge(Bridge(kernel), [br('ac0'), br('ac1', mac='02:AA:00:00:00:01')], 'merged')
    links = {link['name']: link for link in kernel.links(None)}
    assert links['ac0']['mac'] == bridge_mac('ac0') and links['ac1']['mac'] == '02:aa:00:00:00:01'
    assert [b['mac'] for b in result['after']] == [bridge_mac('ac0'), '02:aa:00:00:00:01']
    assert bridge_mac('ac0') != bridge_mac('ac1')
    # Read back in another spelling (upper case): compared canonically, no change.
    next(link for link in kernel.linkmap[None] if link['name'] == 'ac1')['mac'] = '02:AA:00:00:00:01'
    again = converge(Bridge(kernel), [br('ac0'), br('ac1', mac='02:aa:00:00:00:01')], 'replaced')
    assert not again['changed'] and again['after'][1]['mac'] == '02:aa:00:00:00:01'


def test_a_bridge_of_ours_with_another_mac_is_brought_to_it():
    kernel = FakeKernel()
    converge(Bridge(kernel), [br('ac0')], 'merged')
    next(link for link in kernel.linkmap[None] if link['name'] == 'ac0')['mac'] = '02:00:00:00:00:01'
    kernel.calls.clear()
    check = converge(Bridge(kernel), [br('ac0')], 'overridden', check_mode=True)
    assert check['changed'] and check['before'][0]['mac'] == '02:00:00:00:00:01'
    assert check['after'][0]['mac'] == bridge_mac('ac0') and kernel.calls == []
    result = converge(Bridge(kernel), [br('ac0')], 'overridden')
    assert result['changed'] and result['after'][0]['mac'] == bridge_mac('ac0')
    assert kernel.calls == [('link_set', None, 'ac0', ('mac',))]
    # merged with a mac given changes it; merged without one keeps what is there.
    converge(Bridge(kernel), [br('ac0', mac='02:00:00:00:00:02')], 'merged')
    assert not converge(Bridge(kernel), [br('ac0', mtu=1500)], 'merged')['changed']
    assert kernel.links(None)[-1]['mac'] == '02:00:00:00:00:02'


# -- veth ------------------------------------------------------------------------------------------
def ve(name, peer=None, netns=None, bridge=None, mtu=None, peer_mac=None):
    return {'name': name, 'peer': peer, 'netns': netns, 'bridge': bridge, 'mtu': mtu, 'peer_mac': peer_mac}


def lab():
    kernel = FakeKernel()
    converge(Netns(kernel), [{'name': 'n1'}, {'name': 'n2'}], 'merged')
    converge(Bridge(kernel), [br('ac0'), br('ac1')], 'merged')
    kernel.calls.clear()
    return kernel


def test_veth_create_read_back_and_idempotent():
    kernel = lab()
    result = converge(Veth(kernel), [ve('vh1', 'eth0', 'n1', 'ac0', peer_mac='02:AA:00:00:00:01'),
                                     ve('vh2', 'eth0', 'n2', 'ac0')], 'merged')
    assert result['after'][0] == {'name': 'vh1', 'peer': 'eth0', 'netns': 'n1', 'bridge': 'ac0', 'mtu': 1500,
                                  'peer_mac': '02:aa:00:00:00:01'}
    assert result['after'][1]['peer_mac']  # the kernel's choice, read back
    kernel.calls.clear()
    again = converge(Veth(kernel), [ve('vh1', 'eth0', 'n1', 'ac0', peer_mac='02:aa:00:00:00:01'),
                                    ve('vh2', 'eth0', 'n2', 'ac0')], 'replaced')
    assert not again['changed'] and kernel.calls == []


def test_veth_moving_to_another_bridge_converges_in_place():
    kernel = lab()
    converge(Veth(kernel), [ve('vh1', 'eth0', 'n1', 'ac0')], 'merged')
    kernel.calls.clear()
    result = converge(Veth(kernel), [ve('vh1', bridge='ac1')], 'merged')
    assert result['after'][0]['bridge'] == 'ac1' and result['after'][0]['netns'] == 'n1'
    assert kernel.calls == [('link_set', None, 'vh1', ('master',))]
    assert converge(Veth(kernel), [ve('vh1', 'eth0', 'n1')], 'replaced')['after'][0]['bridge'] is None


def test_veth_moving_to_another_namespace_recreates_the_pair():
    kernel = lab()
    converge(Veth(kernel), [ve('vh1', 'eth0', 'n1', 'ac0')], 'merged')
    kernel.calls.clear()
    result = converge(Veth(kernel), [ve('vh1', netns='n2')], 'merged')
    assert result['after'][0]['netns'] == 'n2' and result['after'][0]['bridge'] == 'ac0'
    assert [c[0] for c in kernel.calls] == ['link_del', 'veth_add']
    assert [link['name'] for link in kernel.links('n1')] == ['lo']
    assert not converge(Veth(kernel), [ve('vh1', netns='n2')], 'merged')['changed']


def test_veth_mtu_and_mac_change_both_ends():
    kernel = lab()
    converge(Veth(kernel), [ve('vh1', 'eth0', 'n1')], 'merged')
    kernel.calls.clear()
    converge(Veth(kernel), [ve('vh1', mtu=9000, peer_mac='02:00:00:00:00:99')], 'merged')
    assert kernel.calls == [('link_set', None, 'vh1', ('mtu',)), ('link_set', 'n1', 'eth0', ('mac', 'mtu'))]


def test_veth_missing_namespace_is_an_error_or_created_when_asked():
    kernel = lab()
    with pytest.raises(ResourceError, match="veth 'vh1': network namespace 'nope' does not exist") as err:
        converge(Veth(kernel), [ve('vh1', 'eth0', 'nope')], 'merged')
    assert err.value.details['field'] == 'netns' and kernel.calls == []
    result = converge(Veth(kernel, create_netns=True), [ve('vh1', 'eth0', 'nope')], 'merged')
    assert result['after'][0]['netns'] == 'nope' and kernel.netns_info('nope')['owned']


def test_veth_check_mode_previews_a_first_run_whose_namespace_and_bridge_earlier_tasks_make():
    kernel = FakeKernel()
    config = [ve('vh1', 'eth0', 'extra', 'acnew', peer_mac='02:42:0A:58:00:02'), ve('vh2', 'eth0', 'n9')]
    result = converge(Veth(kernel), config, 'merged', check_mode=True)
    assert result['changed'] and kernel.calls == [] and result['before'] == []
    assert result['after'] == [
        {'name': 'vh1', 'peer': 'eth0', 'netns': 'extra', 'bridge': 'acnew', 'mtu': 1500, 'peer_mac': '02:42:0a:58:00:02'},
        {'name': 'vh2', 'peer': 'eth0', 'netns': 'n9', 'bridge': None, 'mtu': 1500, 'peer_mac': None}]
    # A real run still fails, naming what is missing.
    with pytest.raises(ResourceError, match="veth 'vh1': bridge 'acnew' does not exist"):
        converge(Veth(kernel), config, 'merged')
    with pytest.raises(ResourceError, match="veth 'vh2': network namespace 'n9' does not exist"):
        converge(Veth(kernel), [ve('vh2', 'eth0', 'n9')], 'merged')
    assert kernel.calls == []
    # What check mode can still see is still refused: a link that is no bridge, a peer name taken.
    kernel.add_foreign_link(None, 'eth1')
    with pytest.raises(ResourceError, match="bridge 'eth1' is a plain link"):
        converge(Veth(kernel), [ve('vh1', 'eth0', 'extra', 'eth1')], 'merged', check_mode=True)
    kernel.add_foreign_netns('theirs')
    with pytest.raises(ResourceError, match="peer 'lo'"):
        converge(Veth(kernel), [ve('vh1', 'lo', 'theirs')], 'merged', check_mode=True)


def test_veth_conflicts_are_refused_before_any_change():
    kernel = lab()
    kernel.add_foreign_link(None, 'eth9')
    kernel.add_foreign_link('n1', 'eth0')
    cases = [
        ([ve('eth9', 'p', 'n2')], "veth 'eth9' exists and is not managed"),
        ([ve('ac0', 'p', 'n2')], "veth 'ac0' exists and is not managed"),
        ([ve('vh1', 'eth0', 'n1')], "peer 'eth0': network namespace 'n1' already has a link"),
        ([ve('vh1', 'eth0', 'n2'), ve('vh2', 'eth0', 'n2')], "peer 'eth0' in network namespace 'n2' is also"),
        ([ve('vh1', 'eth0', 'n2', bridge='nobr')], "bridge 'nobr' does not exist"),
        ([ve('vh1', 'eth0', 'n2', bridge='eth9')], "bridge 'eth9' is a plain link"),
        ([ve('vh1', 'vh1')], 'cannot have the name of the host end'),
        ([ve('vh1')], 'peer is required'),
        ([ve('vh1', 'p', 'n2'), ve('vh1', 'q', 'n2')], 'listed twice'),
        ([ve('vh1', 'p', 'n2', mtu=10)], 'mtu must be'),
        ([ve('vh1', 'p', 'n2', peer_mac='ff:ff:ff:ff:ff:ff')], 'multicast'),
        ([ve('vh1', 'way-too-long-name', 'n2')], 'at most 15'),
    ]
    for config, message in cases:
        with pytest.raises(ResourceError, match=message):
            converge(Veth(kernel), config, 'merged')
    assert kernel.calls == []


def test_veth_overridden_and_deleted_leave_foreign_links():
    kernel = lab()
    kernel.add_foreign_link(None, 'veth-docker', 'veth')
    converge(Veth(kernel), [ve('vh1', 'eth0', 'n1'), ve('vh2', 'eth0', 'n2')], 'merged')
    assert [v['name'] for v in converge(Veth(kernel), [ve('vh2', 'eth0', 'n2')], 'overridden')['after']] == ['vh2']
    converge(Veth(kernel), None, 'deleted')
    assert 'veth-docker' in [link['name'] for link in kernel.links(None)]
    assert converge(Veth(kernel), None, 'gathered') == {'changed': False, 'gathered': []}


def test_veth_check_mode_predicts():
    kernel = lab()
    result = converge(Veth(kernel), [ve('vh1', 'eth0', 'n1', 'ac0')], 'merged', check_mode=True)
    assert result['changed'] and result['after'][0]['name'] == 'vh1' and kernel.calls == []


# -- netns_addr ------------------------------------------------------------------------------------------
def na(interface, netns=None, addresses=None, gateway=None, routes=None):
    return {'netns': netns, 'interface': interface, 'addresses': addresses, 'gateway': gateway, 'routes': routes}


def workload():
    kernel = lab()
    converge(Veth(kernel), [ve('vh1', 'eth0', 'n1', 'ac0'), ve('vh2', 'eth0', 'n2', 'ac0')], 'merged')
    kernel.calls.clear()
    return kernel


def test_addresses_and_default_route():
    kernel = workload()
    result = converge(NetnsAddr(kernel), [na('eth0', 'n1', ['10.0.0.2/24', '2001:db8::2/64'], '10.0.0.1',
                                             [{'dst': 'default', 'via': '2001:db8::1'},
                                              {'dst': '10.9.0.0/16', 'via': '10.0.0.254'}])], 'merged')
    assert result['after'] == [{'netns': 'n1', 'interface': 'eth0', 'addresses': ['10.0.0.2/24', '2001:db8::2/64'],
                                'gateway': '10.0.0.1',
                                'routes': [{'dst': '10.9.0.0/16', 'via': '10.0.0.254'},
                                           {'dst': '::/0', 'via': '2001:db8::1'}]}]
    assert ('set_lo_up', 'n1') in kernel.calls
    kernel.calls.clear()
    # The same, written differently: no change.
    same = [na('eth0', 'n1', ['2001:db8::2/64', '10.0.0.2/24'], None,
               [{'dst': '::/0', 'via': '2001:db8::1'}, {'dst': '0.0.0.0/0', 'via': '10.0.0.1'},
                {'dst': '10.9.0.0/16', 'via': '10.0.0.254'}])]
    assert not converge(NetnsAddr(kernel), same, 'replaced')['changed'] and kernel.calls == []


def test_an_ipv6_only_interface_gets_its_default_route_as_gateway():
    kernel = workload()
    result = converge(NetnsAddr(kernel), [na('eth0', 'n1', ['2001:db8::2/64'], '2001:db8::1')], 'merged')
    assert result['after'][0]['gateway'] == '2001:db8::1' and result['after'][0]['routes'] == []


def test_changing_an_address_keeps_the_routes_right():
    kernel = workload()
    converge(NetnsAddr(kernel), [na('eth0', 'n1', ['10.0.0.2/24'], '10.0.0.1')], 'merged')
    result = converge(NetnsAddr(kernel), [na('eth0', 'n1', ['10.0.1.2/24'], '10.0.1.1')], 'merged')
    assert result['after'][0]['addresses'] == ['10.0.1.2/24'] and result['after'][0]['gateway'] == '10.0.1.1'
    assert kernel.rts['n1'] == [{'oif': kernel.linkmap['n1'][1]['index'], 'dst': '0.0.0.0/0', 'via': '10.0.1.1'}]


def test_netns_addr_deleted_and_overridden():
    kernel = workload()
    converge(NetnsAddr(kernel), [na('eth0', 'n1', ['10.0.0.2/24'], '10.0.0.1'),
                                 na('eth0', 'n2', ['10.0.0.3/24'], '10.0.0.1')], 'merged')
    after = converge(NetnsAddr(kernel), [na('eth0', 'n2', ['10.0.0.3/24'], '10.0.0.1')], 'overridden')['after']
    assert [(i['netns'], i['interface']) for i in after] == [('n2', 'eth0')]
    assert kernel.addrs['n1'] == [] and kernel.rts['n1'] == []
    assert converge(NetnsAddr(kernel), [na('eth0', 'n2')], 'deleted')['after'] == []


@pytest.mark.parametrize('item, message', [
    (na('eth0', 'n1', ['10.0.0.2/24'], '10.0.1.1'), 'gateway 10.0.1.1 is outside every subnet'),
    (na('eth0', 'n1', ['10.0.0.2/24'], '2001:db8::1'), 'gateway 2001:db8::1 is IPv6 but the interface has no IPv6'),
    (na('eth0', 'n1', ['10.0.0.2/24'], '10.0.0.2'), 'is an address of the interface itself'),
    (na('eth0', 'n1', ['10.0.0.2/24', '2001:db8::2/64'], None, [{'dst': '10.9.0.0/16', 'via': '2001:db8::1'}]),
     'mixes families'),
    (na('eth0', 'n1', ['10.0.0.2/24'], None, [{'dst': '10.9.0.1/16', 'via': '10.0.0.1'}]), 'host bits'),
    (na('eth0', 'n1', ['10.0.0.2/24'], None, [{'dst': 'default', 'via': None}]), 'default route without via'),
    (na('eth0', 'n1', ['10.0.0.2/24'], '10.0.0.1', [{'dst': '0.0.0.0/0', 'via': '10.0.0.3'}]), 'both give'),
    (na('eth0', 'n1', ['10.0.0.2/24'], None, [{'dst': '10.9.0.0/16', 'via': None},
                                              {'dst': '10.9.0.0/16', 'via': '10.0.0.1'}]), 'listed twice'),
    (na('eth0', 'n1', ['10.0.0.2']), 'ADDRESS/PREFIX'),
    (na('eth0', 'n1', ['10.0.0.2/24'], 'not-an-ip'), 'not an IP address'),
    (na('lo', 'n1', ['10.0.0.2/24']), "interface 'lo' in network namespace 'n1' exists and is not managed"),
    (na('eth0', 'nope', ['10.0.0.2/24']), "network namespace 'nope' does not exist"),
    (na('eth7', 'n1', ['10.0.0.2/24']), "interface 'eth7' in network namespace 'n1' does not exist"),
    (na('bad/name', 'n1', ['10.0.0.2/24']), 'not a valid interface name'),
])
def test_netns_addr_bad_input(item, message):
    kernel = workload()
    with pytest.raises(ResourceError, match=message):
        converge(NetnsAddr(kernel), [item], 'merged')
    assert kernel.calls == []


def test_netns_addr_ownership():
    kernel = workload()
    kernel.add_foreign_netns('theirs')
    kernel.add_foreign_link('theirs', 'eth0')
    kernel.add_foreign_link(None, 'eth0')
    for key in (('theirs', 'eth0'), (None, 'eth0'), (None, 'ac0')):
        with pytest.raises(ResourceError, match='exists and is not managed'):
            converge(NetnsAddr(kernel), [na(key[1], key[0], ['10.0.0.2/24'])], 'merged')
    # the host end of our veth is ours; addresses on it work
    result = converge(NetnsAddr(kernel), [na('vh1', None, ['10.5.0.1/30'])], 'merged')
    assert result['after'][0]['interface'] == 'vh1'


def test_netns_addr_duplicates_and_check_mode():
    kernel = workload()
    with pytest.raises(ResourceError, match=r"config\[1\]: interface 'eth0' in network namespace 'n1' is listed twice"):
        converge(NetnsAddr(kernel), [na('eth0', 'n1', ['10.0.0.2/24']), na('eth0', 'n1', ['10.0.0.3/24'])], 'merged')
    result = converge(NetnsAddr(kernel), [na('eth0', 'n1', ['10.0.0.2/24'])], 'merged', check_mode=True)
    assert result['changed'] and result['after'][0]['addresses'] == ['10.0.0.2/24'] and kernel.calls == []


def test_netns_addr_check_mode_previews_a_namespace_or_interface_that_earlier_tasks_make():
    kernel = lab()
    config = [na('eth0', 'extra', ['10.88.0.2/16'], '10.88.0.1'), na('eth0', 'n1', ['10.89.0.2/16'])]
    result = converge(NetnsAddr(kernel), config, 'merged', check_mode=True)
    assert result['changed'] and kernel.calls == []
    assert result['after'] == [
        {'netns': 'extra', 'interface': 'eth0', 'addresses': ['10.88.0.2/16'], 'gateway': '10.88.0.1', 'routes': []},
        {'netns': 'n1', 'interface': 'eth0', 'addresses': ['10.89.0.2/16'], 'gateway': None, 'routes': []}]
    with pytest.raises(ResourceError, match="interface 'eth0' in network namespace 'extra': network namespace 'extra' "
                                            "does not exist") as err:
        converge(NetnsAddr(kernel), config, 'merged')
    assert err.value.details == {'field': 'netns', 'index': 0}
    with pytest.raises(ResourceError, match="interface 'eth0' in network namespace 'n1' does not exist") as err:
        converge(NetnsAddr(kernel), config[1:], 'merged')
    assert err.value.details == {'field': 'interface', 'index': 0} and kernel.calls == []


# -- the shared main() of the four modules ----------------------------------------------------------
def test_one_runner_converges_with_one_kernel_handle_and_closes_it(monkeypatch):
    kernel = FakeKernel()
    closed = []

    class Handle:
        def __enter__(self):
            return kernel

        def __exit__(self, *exc):
            closed.append(True)

    monkeypatch.setattr(_netlink_resources, 'HAS_PYROUTE2', True)
    monkeypatch.setattr(_netlink_resources, 'Netlink', Handle)
    module = FakeModule(config=[{'name': 'web'}])
    with pytest.raises(Exited):
        _netlink_resources.run_netlink_module(module, Netns)
    assert module.result['changed'] and module.result['after'] == [{'name': 'web'}] and closed == [True]
    module = FakeModule(config=[ve('v0', peer='p0', netns='nowhere')])
    with pytest.raises(Exited):
        _netlink_resources.run_netlink_module(module, Veth, create_netns=True)
    assert ('netns_create', 'nowhere') in kernel.calls


def test_the_runner_reports_a_missing_pyroute2(monkeypatch):
    monkeypatch.setattr(_netlink_resources, 'HAS_PYROUTE2', False)
    module = FakeModule()
    with pytest.raises(Exited):
        _netlink_resources.run_netlink_module(module, Netns)
    assert module.result['failed'] and 'pyroute2' in module.result['msg']
