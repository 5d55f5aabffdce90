# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veth on a real lab host: every state, check mode and diff, moves between bridges and namespaces."""

from __future__ import annotations

import pytest

from tests.integration.test_netns import M, converge_checked, links, netns_list, reset

# Not ve-*: systemd-networkd's stock 80-container-ve.network configures links of that name.
PAIR = {'name': 'vh-a', 'peer': 'eth0', 'netns': 'wa', 'bridge': 'acbr0', 'mtu': 1500, 'peer_mac': '02:ac:00:00:00:0a'}


@pytest.fixture(scope='module', autouse=True)
def clean(ansible, host):
    reset(ansible, host, foreign_netns=('theirns',), foreign_links=('theirveth',))
    host.run('ip netns del extra 2>/dev/null; true')
    results = ansible.tasks(host, [
        {M + 'netns': {'config': [{'name': 'wa'}, {'name': 'wb'}]}},
        {M + 'bridge': {'config': [{'name': 'acbr0'}, {'name': 'acbr1'}]}},
    ])
    assert all(r['_status'] == 'ok' for r in results)
    yield
    reset(ansible, host, foreign_netns=('theirns',), foreign_links=('theirveth',))


def master(host, name):
    return links(host)[name].get('master')


def test_veth_lifecycle(ansible, host):
    config = [dict(PAIR, peer_mac='02:AC:00:00:00:0A'), {'name': 'vh-b', 'peer': 'eth0', 'netns': 'wb'}]

    def nothing_yet(check):
        assert [p['name'] for p in check['after']] == ['vh-a', 'vh-b'] and 'vh-a' not in links(host)

    result = converge_checked(ansible, host, 'veth', {'config': config}, before_apply=nothing_yet)
    assert result['after'][0] == PAIR
    assert result['after'][1]['bridge'] is None and result['after'][1]['netns'] == 'wb'
    host_end = links(host)['vh-a']
    assert host_end['ifalias'] == 'anatomy.containers:veth' and host_end['master'] == 'acbr0'
    assert 'UP' in host_end['flags'] and host_end['linkinfo']['info_kind'] == 'veth'
    peer = links(host, 'wa')['eth0']
    assert peer['address'] == '02:ac:00:00:00:0a' and 'UP' in peer['flags']
    assert peer['ifalias'] == 'anatomy.containers:veth-peer'
    assert 'eth0' in links(host, 'wb') and 'eth0' not in links(host)

    gathered = ansible(host, M + 'veth', {'state': 'gathered'})['gathered']
    assert gathered == result['after']
    # gathered output fed back is no change
    again = ansible(host, M + 'veth', {'config': gathered, 'state': 'replaced'})
    assert again['_status'] == 'ok' and not again['changed']

    # Another bridge, and the MTU: in place.
    result = converge_checked(ansible, host, 'veth', {'config': [{'name': 'vh-a', 'bridge': 'acbr1', 'mtu': 1400}]})
    assert result['after'][0] == dict(PAIR, bridge='acbr1', mtu=1400)
    assert master(host, 'vh-a') == 'acbr1' and links(host, 'wa')['eth0']['mtu'] == 1400

    # Another namespace: converges (the pair is made anew there).
    result = converge_checked(ansible, host, 'veth', {'config': [{'name': 'vh-a', 'netns': 'wb', 'peer': 'eth1'}]})
    assert result['after'][0]['netns'] == 'wb' and result['after'][0]['peer'] == 'eth1'
    assert 'eth0' not in links(host, 'wa') and links(host, 'wb')['eth1']['address'] == '02:ac:00:00:00:0a'
    assert master(host, 'vh-a') == 'acbr1'

    # replaced: no bridge given, so none
    result = converge_checked(ansible, host, 'veth', {'config': [{'name': 'vh-a', 'peer': 'eth1', 'netns': 'wb'}],
                                                      'state': 'replaced'})
    assert result['after'][0]['bridge'] is None and master(host, 'vh-a') is None

    result = converge_checked(ansible, host, 'veth', {'config': [{'name': 'vh-b', 'peer': 'eth0', 'netns': 'wb'}],
                                                      'state': 'overridden'})
    assert [p['name'] for p in result['after']] == ['vh-b'] and 'vh-a' not in links(host)
    assert 'eth1' not in links(host, 'wb')

    result = converge_checked(ansible, host, 'veth', {'state': 'deleted'})
    assert result['after'] == [] and not any(name.startswith('vh-') for name in links(host))
    assert list(links(host, 'wb')) == ['lo']


def test_missing_namespace_fails_or_is_created_when_asked(ansible, host):
    params = {'config': [{'name': 'vh-c', 'peer': 'eth0', 'netns': 'wc'}]}
    result = ansible(host, M + 'veth', params)
    assert result['_status'] == 'failed' and result['field'] == 'netns'
    assert "veth 'vh-c': network namespace 'wc' does not exist" in result['msg'] and 'vh-c' not in links(host)
    result = converge_checked(ansible, host, 'veth', dict(params, create_netns=True),
                              before_apply=lambda check: 'wc' not in netns_list(host))
    assert 'wc' in netns_list(host) and 'eth0' in links(host, 'wc')
    gathered = ansible(host, M + 'netns', {'state': 'gathered'})['gathered']
    assert gathered == [{'name': 'wa'}, {'name': 'wb'}, {'name': 'wc'}]
    ansible(host, M + 'veth', {'state': 'deleted'})
    ansible(host, M + 'netns', {'config': [{'name': 'wc'}], 'state': 'deleted'})


def host_network(host):
    """What check mode must leave as it is: links (state, MAC), addresses, routes and named namespaces."""
    return host.run('ip -br link; ip -br addr; ip route; ip -6 route; ls /run/netns 2>/dev/null; true').stdout


FIRST_RUN = [
    {M + 'netns': {'config': [{'name': 'extra'}]}},
    {M + 'bridge': {'config': [{'name': 'acbr9', 'addresses': ['172.31.90.1/24']}]}},
    {M + 'veth': {'config': [{'name': 'vh-x', 'peer': 'eth0', 'netns': 'extra', 'bridge': 'acbr9',
                              'peer_mac': '02:42:ac:1f:5a:02'}]}},
    {M + 'netns_addr': {'config': [{'netns': 'extra', 'interface': 'eth0', 'addresses': ['172.31.90.2/24'],
                                    'gateway': '172.31.90.1'}]}},
]


def test_check_mode_previews_a_first_run_then_the_real_run_does_it(ansible, host):
    """Each task's prerequisite (namespace, bridge, interface) is made by the task before, which made nothing."""
    before = host_network(host)
    check = ansible.tasks(host, FIRST_RUN, check=True, diff=True)
    assert [r['_status'] for r in check] == ['ok'] * 4, [r.get('msg') for r in check]
    assert all(r['changed'] for r in check)
    predicted = next(p for p in check[2]['after'] if p['name'] == 'vh-x')
    assert predicted == {'name': 'vh-x', 'peer': 'eth0', 'netns': 'extra', 'bridge': 'acbr9', 'mtu': 1500,
                         'peer_mac': '02:42:ac:1f:5a:02'}
    assert check[3]['after'] == [{'netns': 'extra', 'interface': 'eth0', 'addresses': ['172.31.90.2/24'],
                                  'gateway': '172.31.90.1', 'routes': []}]
    assert host_network(host) == before, 'check mode changed the host'
    # A real run does what check mode showed.
    real = ansible.tasks(host, FIRST_RUN, diff=True)
    assert [r['_status'] for r in real] == ['ok'] * 4, [r.get('msg') for r in real]
    assert [r['after'] for r in real] == [r['after'] for r in check]
    assert links(host, 'extra')['eth0']['address'] == '02:42:ac:1f:5a:02' and master(host, 'vh-x') == 'acbr9'
    assert host.run('ip netns exec extra ping -c1 -W2 172.31.90.1', check=False).returncode == 0
    ansible.tasks(host, [{M + 'netns_addr': {'config': FIRST_RUN[3][M + 'netns_addr']['config'], 'state': 'deleted'}},
                         {M + 'veth': {'config': [{'name': 'vh-x'}], 'state': 'deleted'}},
                         {M + 'bridge': {'config': [{'name': 'acbr9'}], 'state': 'deleted'}},
                         {M + 'netns': {'config': [{'name': 'extra'}], 'state': 'deleted'}}])
    assert 'extra' not in netns_list(host) and 'acbr9' not in links(host)


@pytest.mark.parametrize('item, field, message', [
    ({'name': 'vh-y', 'peer': 'eth0', 'netns': 'extra'}, 'netns', "veth 'vh-y': network namespace 'extra' does not exist"),
    ({'name': 'vh-y', 'peer': 'eth0', 'netns': 'wa', 'bridge': 'acbr9'}, 'bridge', "veth 'vh-y': bridge 'acbr9' does not exist"),
])
def test_a_missing_namespace_or_bridge_is_assumed_in_check_mode_only(ansible, host, item, field, message):
    before = host_network(host)
    check = ansible(host, M + 'veth', {'config': [item]}, check=True, diff=True)
    assert check['_status'] == 'ok' and check['changed'], check.get('msg')
    assert next(p for p in check['after'] if p['name'] == 'vh-y')['netns'] == item['netns']
    assert host_network(host) == before
    real = ansible(host, M + 'veth', {'config': [item]})
    assert real['_status'] == 'failed' and message in real['msg'] and real['field'] == field, real
    assert host_network(host) == before


def test_links_of_someone_else_are_never_taken(ansible, host):
    host.run('ip link add theirveth type veth peer name theirpeer && ip netns add theirns')
    result = ansible(host, M + 'veth', {'config': [{'name': 'theirveth', 'peer': 'eth0', 'netns': 'wa'}]})
    assert result['_status'] == 'failed' and "veth 'theirveth' exists and is not managed" in result['msg']
    result = ansible(host, M + 'veth', {'config': [{'name': 'acbr0', 'peer': 'eth0', 'netns': 'wa'}]})
    assert result['_status'] == 'failed' and 'not managed' in result['msg']
    # A peer name taken in the namespace is an error, not a takeover.
    host.run('ip -n theirns link add eth0 type veth peer name eth0p')
    result = ansible(host, M + 'veth', {'config': [{'name': 'vh-d', 'peer': 'eth0', 'netns': 'theirns'}]})
    assert result['_status'] == 'failed' and "already has a link of that name" in result['msg']
    ansible(host, M + 'veth', {'state': 'deleted'})
    assert 'theirveth' in links(host) and 'theirpeer' in links(host) and 'eth0' in links(host, 'theirns')
    host.run('ip link del theirveth && ip netns del theirns')


@pytest.mark.parametrize('item, field, message', [
    ({'name': 'vh-e', 'peer': 'eth0', 'netns': 'wa', 'mtu': 70000}, 'mtu', 'from 68 to 65535'),
    ({'name': 'vh-e', 'peer': 'eth/0', 'netns': 'wa'}, 'peer', 'not a valid interface name'),
    ({'name': 'vh-e', 'peer': 'eth0', 'netns': 'wa', 'peer_mac': '01:00:5e:00:00:01'}, 'peer_mac', 'multicast'),
    ({'name': 'vh-e', 'peer': 'eth0', 'netns': 'wa', 'bridge': 'nobridge'}, 'bridge', "bridge 'nobridge' does not"),
    ({'name': 'vh-e', 'netns': 'wa'}, 'peer', 'peer is required'),
])
def test_veth_bad_input_fails_before_any_change(ansible, host, item, field, message):
    result = ansible(host, M + 'veth', {'config': [{'name': 'vh-f', 'peer': 'eth0', 'netns': 'wb'}, item]})
    assert result['_status'] == 'failed' and message in result['msg'] and result['field'] == field, result
    assert 'vh-f' not in links(host) and 'vh-e' not in links(host)


def test_duplicate_pairs_and_peers_fail(ansible, host):
    result = ansible(host, M + 'veth', {'config': [{'name': 'vh-g', 'peer': 'eth0', 'netns': 'wa'},
                                                   {'name': 'vh-g', 'peer': 'eth1', 'netns': 'wa'}]})
    assert result['_status'] == 'failed' and 'listed twice' in result['msg']
    result = ansible(host, M + 'veth', {'config': [{'name': 'vh-g', 'peer': 'eth0', 'netns': 'wa'},
                                                   {'name': 'vh-h', 'peer': 'eth0', 'netns': 'wa'}]})
    assert result['_status'] == 'failed' and "is also the peer of veth 'vh-g'" in result['msg']
    assert 'vh-g' not in links(host)
