# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nat_masquerade on a real lab host, with real traffic, on nftables, iptables-nft and iptables-legacy."""

from __future__ import annotations

import pytest

from tests.integration.test_nat_masquerade_topology import (
    BACKENDS, NET_A, NET_B, UPSTREAM, W1, W3, Topology,
)

MODULE = 'anatomy.containers.nat_masquerade'


@pytest.fixture(scope='module')
def topo(lab, host):
    topology = Topology(lab, host)
    topology.up()
    yield topology
    topology.down()


@pytest.fixture(params=BACKENDS)
def backend(request, topo):
    option = topo.use_backend(request.param)
    yield option
    topo.use_backend('nftables')


def four_times(ansible, host, module, params):
    """check, apply, check, apply (as community.crypto's targets do): changed, changed, not, not."""
    results = [ansible(host, module, params, check=check, diff=True) for check in (True, False, True, False)]
    for result in results:
        assert result['_status'] == 'ok', result.get('msg')
    assert [r['changed'] for r in results] == [True, True, False, False], [r.get('diff') for r in results]
    return results[1]


def test_masquerade_lets_a_workload_reach_upstream_as_the_host(ansible, host, topo, backend):
    # Without our rule the upstream cannot answer a private address: nothing comes back.
    assert topo.curl_from('nfw1', 'http://%s/' % UPSTREAM) is None
    result = four_times(ansible, host, MODULE, {'backend': backend, 'config': [{'subnet': NET_A}]})
    assert result['backend'] == backend
    assert result['after'] == [{'subnet': NET_A, 'out_interface': 'host0', 'mode': 'nat', 'isolate': False}]
    assert topo.curl_from('nfw1', 'http://%s/' % UPSTREAM) == host.address
    # Check mode changes nothing in the kernel, and validated the transaction there.
    gone = ansible(host, MODULE, {'backend': backend, 'state': 'deleted'}, check=True)
    assert gone['changed'] and gone['after'] == []
    assert topo.curl_from('nfw1', 'http://%s/' % UPSTREAM) == host.address
    deleted = ansible(host, MODULE, {'backend': backend, 'state': 'deleted'})
    assert deleted['changed'] and deleted['after'] == []
    assert topo.curl_from('nfw1', 'http://%s/' % UPSTREAM) is None
    assert topo.ours() == {'nft_table': False, 'iptables_lines': 0}


def test_nat_mode_drops_direct_traffic_and_routed_mode_allows_it(ansible, host, lab, topo, backend):
    lab.in_lab(['ip', 'route', 'replace', '10.88.0.0/16', 'via', host.address])
    try:
        # No rule of ours: the host routes the lab's direct traffic to the workload.
        assert topo.curl_from_lab('http://%s:8080/' % W1) == '198.18.0.1'
        result = ansible(host, MODULE, {'backend': backend, 'config': [{'subnet': NET_A}]})
        assert result['changed']
        assert topo.curl_from_lab('http://%s:8080/' % W1) is None
        # The workload still gets out, and replies come back in.
        assert topo.curl_from('nfw1', 'http://%s/' % UPSTREAM) == host.address
        routed = ansible(host, MODULE, {'backend': backend, 'config': [{'subnet': NET_A, 'mode': 'routed'}]},
                         diff=True)
        assert routed['changed'] and routed['after'][0]['mode'] == 'routed'
        assert topo.curl_from_lab('http://%s:8080/' % W1) == '198.18.0.1'
    finally:
        lab.in_lab(['ip', 'route', 'del', '10.88.0.0/16'], check=False)
        ansible(host, MODULE, {'backend': backend, 'state': 'deleted'})


def test_isolation_between_two_of_our_networks(ansible, host, topo, backend):
    both = [{'subnet': NET_A}, {'subnet': NET_B}]
    assert ansible(host, MODULE, {'backend': backend, 'config': both})['changed']
    assert topo.curl_from('nfw3', 'http://%s:8080/' % W1) == W3
    assert topo.curl_from('nfw1', 'http://%s:8080/' % W3) == W1
    isolated = ansible(host, MODULE, {'backend': backend, 'config': [{'subnet': NET_B, 'isolate': True}]})
    assert isolated['changed'] and [n['isolate'] for n in isolated['after']] == [False, True]
    assert topo.curl_from('nfw3', 'http://%s:8080/' % W1, timeout=2) is None
    assert topo.curl_from('nfw1', 'http://%s:8080/' % W3, timeout=2) is None
    # Both still reach upstream through the host.
    assert topo.curl_from('nfw3', 'http://%s/' % UPSTREAM) == host.address
    gathered = ansible(host, MODULE, {'backend': backend, 'state': 'gathered'})
    assert gathered['gathered'] == isolated['after'] and not gathered['changed']
    assert ansible(host, MODULE, {'backend': backend, 'state': 'deleted'})['changed']


def test_hand_made_rules_survive_every_state(ansible, host, topo, backend):
    handmade = ('nft add table ip handmade; nft add chain ip handmade c "{ type filter hook forward priority 10; }"; '
                'nft add rule ip handmade c ip saddr 10.77.0.0/16 counter accept; '
                'iptables -t nat -A POSTROUTING -s 10.77.0.0/16 -j MASQUERADE; '
                'iptables -A FORWARD -s 10.77.0.0/16 -j ACCEPT')
    host.run(handmade)

    def snapshot():
        nft = host.run('nft list table ip handmade').stdout
        ipt = host.run('iptables-save | grep -- "10.77.0.0/16"').stdout
        return nft, ipt

    before = snapshot()
    assert before[1].count('10.77.0.0/16') == 2
    steps = [('merged', [{'subnet': NET_A}]), ('replaced', [{'subnet': NET_A, 'mode': 'routed'}]),
             ('overridden', [{'subnet': NET_B}]), ('merged', [{'subnet': NET_A}]), ('deleted', [{'subnet': NET_B}]),
             ('gathered', None), ('deleted', None)]
    for state, config in steps:
        params = {'backend': backend, 'state': state}
        if config is not None:
            params['config'] = config
        result = ansible(host, MODULE, params)
        assert result['_status'] == 'ok', (state, result.get('msg'))
        assert snapshot() == before, state
    assert result['after'] == []
    assert topo.ours() == {'nft_table': False, 'iptables_lines': 0}


def test_bad_input_fails_before_any_change(ansible, host, topo, backend):
    bad = ansible(host, MODULE, {'backend': backend, 'config': [{'subnet': NET_A}, {'subnet': '10.88.0.1/24'}]})
    assert bad['_status'] == 'failed' and 'host bits set; write 10.88.0.0/24' in bad['msg']
    overlap = ansible(host, MODULE, {'backend': backend, 'config': [{'subnet': NET_A}, {'subnet': '10.88.0.0/16'}]})
    assert overlap['_status'] == 'failed' and 'overlaps' in overlap['msg']
    assert topo.ours() == {'nft_table': False, 'iptables_lines': 0}


def test_auto_refuses_rules_split_across_legacy_and_nft(ansible, host, topo):
    host.run('iptables-nft -A FORWARD -s 10.66.0.0/16 -j ACCEPT; iptables-legacy -A FORWARD -s 10.66.0.0/16 -j ACCEPT')
    try:
        result = ansible(host, MODULE, {'config': [{'subnet': NET_A}]})
        assert result['_status'] == 'failed' and 'moby#46147' in result['msg']
        assert topo.ours() == {'nft_table': False, 'iptables_lines': 0}
    finally:
        topo.use_backend('nftables')


def test_auto_chooses_iptables_under_a_forward_drop_policy(ansible, host, topo):
    host.run('iptables -P FORWARD DROP')
    try:
        result = ansible(host, MODULE, {'config': [{'subnet': NET_A}]})
        assert result['_status'] == 'ok' and result['backend'] == 'iptables'
        # Our accept rules in iptables let the workload out despite the DROP policy.
        assert topo.curl_from('nfw1', 'http://%s/' % UPSTREAM) == host.address
        assert host.run('iptables -S FORWARD').stdout.startswith('-P FORWARD DROP')
        # And auto stays with it.
        assert ansible(host, MODULE, {'state': 'deleted'})['backend'] == 'iptables'
    finally:
        topo.use_backend('nftables')
