# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The netfilter library without root: validation, rendering, parsing real captured output, transactions."""

from __future__ import annotations

import json

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import iptables as ipt, model, nft

from tests.unit.support.netfilter_fakes import IPTABLES_SAVE, NFT_JSON

NET_A = {'subnet': '10.88.0.0/24', 'out_interface': 'host0', 'mode': 'nat', 'isolate': False}
NET_B = {'subnet': '10.89.0.0/24', 'out_interface': 'host0', 'mode': 'nat', 'isolate': True}
WEB = {'protocol': 'tcp', 'host_address': '0.0.0.0', 'host_port': '80', 'destination': '10.88.0.3',
       'destination_port': '8080', 'allowed_sources': [], 'comment': 'web'}
RANGE = {'protocol': 'tcp', 'host_address': '0.0.0.0', 'host_port': '9000-9001', 'destination': '10.88.0.4',
         'destination_port': '9000-9001', 'allowed_sources': ['10.0.0.0/8', '198.18.0.0/24'], 'comment': ''}
LOOP = {'protocol': 'udp', 'host_address': '127.0.0.1', 'host_port': '5000-5001', 'destination': '10.88.0.3',
        'destination_port': '6000-6001', 'allowed_sources': [], 'comment': ''}


# -- model ---------------------------------------------------------------------------------------

def test_network_defaults_and_default_route_interface():
    item = model.normalize_network({'subnet': '10.88.0.0/24'}, lambda: 'eth0')
    assert item == {'subnet': '10.88.0.0/24', 'out_interface': 'eth0', 'mode': 'nat', 'isolate': False}


@pytest.mark.parametrize('item, message', [
    ({'subnet': '10.88.0.1/24'}, 'host bits set; write 10.88.0.0/24'),
    ({'subnet': 'fd00::/64'}, 'only IPv4'),
    ({'subnet': 'nonsense'}, 'is not an IPv4 network'),
    ({'subnet': '10.88.0.0/24', 'mode': 'bridge'}, 'mode must be one of nat, routed'),
    ({'subnet': '10.88.0.0/24', 'out_interface': 'a-name-far-too-long'}, 'is not an interface name'),
])
def test_network_validation_names_the_field(item, message):
    with pytest.raises(ResourceError, match=message):
        model.normalize_network(item, lambda: 'eth0')


def test_network_without_default_route_needs_an_interface():
    with pytest.raises(ResourceError, match='no IPv4 default route') as err:
        model.normalize_network({'subnet': '10.88.0.0/24'}, lambda: None)
    assert err.value.details['field'] == 'out_interface'


def test_overlapping_networks_are_refused():
    with pytest.raises(ResourceError, match="network '10.88.0.0/16' overlaps network '10.88.0.0/24'"):
        model.check_networks([NET_A, dict(NET_A, subnet='10.88.0.0/16')])


def test_port_canonical_form():
    item = model.normalize_port({'host_port': '80', 'destination': '10.88.0.3', 'destination_port': 8080,
                                 'allowed_sources': ['198.18.0.0/24', '10.0.0.0/8', '10.0.0.0/8'], 'comment': 'web'})
    assert item == dict(WEB, allowed_sources=['10.0.0.0/8', '198.18.0.0/24'])
    assert model.normalize_port({'host_port': '9000-9001', 'destination': '10.88.0.4'})['destination_port'] == '9000-9001'


@pytest.mark.parametrize('item, field, message', [
    ({'host_port': '80-80'}, 'host_port', 'must be written as 80'),
    ({'host_port': '0'}, 'host_port', 'within 1-65535'),
    ({'host_port': '90-80'}, 'host_port', 'first <= last'),
    ({'host_port': '80', 'destination_port': '8080-8081'}, 'destination_port', 'must span as many ports'),
    ({'host_port': '80', 'protocol': 'sctp'}, 'protocol', 'protocol must be one of'),
    ({'host_port': '80', 'host_address': '127.000.0.1'}, 'host_address', 'not an IPv4 address'),
    ({'host_port': '80', 'destination': '127.0.0.1'}, 'destination', 'is not a workload address'),
    ({'host_port': '80', 'allowed_sources': ['10.0.0.1/8']}, 'allowed_sources', 'host bits set'),
    ({'host_port': '80', 'comment': 'say "hi"'}, 'comment', 'comment must be at most'),
])
def test_port_validation(item, field, message):
    with pytest.raises(ResourceError, match=message) as err:
        model.normalize_port(dict({'destination': '10.88.0.3'}, **item))
    if field:
        assert err.value.details['field'] == field


@pytest.mark.parametrize('a, b', [
    (WEB, dict(WEB, host_port='79-81')),
    (WEB, dict(WEB, host_address='127.0.0.1')),
    (dict(WEB, host_address='198.18.0.11'), dict(WEB, host_address='0.0.0.0', host_port='70-90')),
])
def test_the_same_port_twice_conflicts(a, b):
    with pytest.raises(ResourceError, match='conflicts with'):
        model.check_ports([a, b])


def test_different_addresses_or_protocols_do_not_conflict():
    model.check_ports([dict(WEB, host_address='127.0.0.1'), dict(WEB, host_address='198.18.0.11'),
                       dict(WEB, protocol='udp'), dict(WEB, host_port='81')])


# -- nftables: real output parsed back ------------------------------------------------------------

def test_nft_sample_parses_into_the_items_that_made_it():
    state = nft.parse_table(NFT_JSON)
    assert nft.networks_from_state(state) == [NET_A, NET_B]
    assert nft.ports_from_state(state) == [WEB, RANGE, LOOP]


def test_nft_rendering_equals_what_the_kernel_shows():
    state = nft.parse_table(NFT_JSON)
    assert nft.render_networks([NET_A, NET_B]) == nft.part_of(state, 'nm_')
    assert nft.render_ports([WEB, RANGE, LOOP]) == nft.part_of(state, 'pf_')


def test_nft_rule_text_is_nft_list_text():
    state = nft.parse_table(NFT_JSON)
    assert state['chains']['pf_prerouting']['rules'] == [
        'ip daddr 127.0.0.0/8 return',
        'ip daddr . meta l4proto . th dport vmap @pf_addr',
        'fib daddr type local meta l4proto . th dport vmap @pf_any']
    assert state['chains']['pf_tcp_0_0_0_0_9000_9001']['rules'][0] == 'ip saddr != { 10.0.0.0/8, 198.18.0.0/24 } return'
    assert state['chains']['nm_postrouting']['base'] == ('nat', 'postrouting', 'srcnat')
    assert state['chains']['pf_output']['base'] == ('nat', 'output', '-100')


def test_nft_unknown_expressions_show_as_drift_not_as_ours():
    rule = {'chain': 'pf_tcp_0_0_0_0_80', 'expr': [{'counter': {'packets': 0, 'bytes': 0}},
                                                   {'dnat': {'addr': '10.88.0.3', 'port': 8080}}]}
    assert nft.rule_text(rule).startswith('{"counter"')


def test_nft_missing_table_is_empty():
    assert nft.parse_table('') == {'chains': {}, 'maps': {}, 'raw_rules': {}}


def test_nft_transaction_creates_the_table_and_only_touches_our_part():
    state = nft.parse_table(NFT_JSON)
    script = nft.transaction(state, 'pf_', nft.render_ports([WEB]), table_exists=True)
    lines = script.splitlines()
    assert lines[:2] == ['table ip anatomy {', '}']
    assert not any(' nm_' in line for line in lines)
    # Old per-port chains are emptied and deleted after the maps that jump to them are flushed.
    flush_map = lines.index('flush map ip anatomy pf_addr')
    delete = lines.index('delete chain ip anatomy pf_udp_127_0_0_1_5000_5001')
    assert flush_map < delete
    assert 'delete chain ip anatomy pf_tcp_0_0_0_0_80' not in lines
    assert lines[-4:] == ['add rule ip anatomy pf_postrouting ct status dnat fib saddr type local masquerade',
                          'add rule ip anatomy pf_prerouting ip daddr 127.0.0.0/8 return',
                          'add rule ip anatomy pf_prerouting ip daddr . meta l4proto . th dport vmap @pf_addr',
                          'add rule ip anatomy pf_prerouting fib daddr type local meta l4proto . th dport vmap @pf_any']
    assert 'add element ip anatomy pf_any { tcp . 80 : jump pf_tcp_0_0_0_0_80 }' in lines


def test_nft_emptying_our_part_keeps_the_table_while_the_other_part_lives():
    state = nft.parse_table(NFT_JSON)
    script = nft.transaction(state, 'pf_', nft.empty_part(), table_exists=True)
    assert 'delete table' not in script and 'delete map ip anatomy pf_any' in script
    assert 'delete chain ip anatomy pf_prerouting' in script


def test_nft_last_part_gone_deletes_the_table():
    state = nft.parse_table(NFT_JSON)
    state = dict(state, chains={k: v for k, v in state['chains'].items() if k.startswith('nm_')}, maps={})
    assert nft.transaction(state, 'nm_', nft.empty_part(), True) == 'table ip anatomy {\n}\ndelete table ip anatomy\n'
    assert nft.transaction(nft.parse_table(''), 'nm_', nft.empty_part(), False) == ''


def test_nft_large_maps_are_written_in_chunks():
    items = [dict(WEB, host_port=str(p), comment='') for p in range(1000, 2200)]
    part = nft.render_ports(items)
    assert len(part['maps']['pf_any']) == 1200 and len(part['chains']) == 1203
    script = nft.transaction(nft.parse_table(''), 'pf_', part, False)
    assert sum(1 for line in script.splitlines() if line.startswith('add element')) == 3


def test_nft_shifted_range_is_one_rule_per_port():
    part = nft.render_ports([LOOP])
    assert part['chains']['pf_udp_127_0_0_1_5000_5001']['rules'] == [
        'udp dport 5000 dnat to 10.88.0.3:6000', 'udp dport 5001 dnat to 10.88.0.3:6001']


# -- iptables: real output parsed back ------------------------------------------------------------

def test_iptables_sample_parses_into_the_items_that_made_it():
    tables = ipt.parse_save(IPTABLES_SAVE)
    assert ipt.networks_from_part(ipt.part_of(tables, ipt.NM_CHAINS)) == [NET_A, NET_B]
    assert ipt.ports_from_part(ipt.part_of(tables, ipt.PF_CHAINS)) == [WEB, RANGE, LOOP]


def test_iptables_rendering_equals_what_iptables_save_shows():
    tables = ipt.parse_save(IPTABLES_SAVE)
    assert ipt.render_networks([NET_A, NET_B]) == ipt.part_of(tables, ipt.NM_CHAINS)
    assert ipt.render_ports([WEB, RANGE, LOOP]) == ipt.part_of(tables, ipt.PF_CHAINS)


def test_iptables_no_change_is_no_transaction_and_foreign_rules_are_not_ours():
    tables = ipt.parse_save(IPTABLES_SAVE)
    part = ipt.part_of(tables, ipt.PF_CHAINS)
    script = ipt.transaction(part, ipt.render_ports([WEB, RANGE, LOOP]), ipt.PF_CHAINS)
    # Declaring our chains re-fills them; no jump is added twice, nothing else is named.
    assert '-I ' not in script and '10.99.0.0' not in script and '-D ' not in script


def test_iptables_jumps_are_inserted_only_if_missing_and_removed_with_their_chain():
    empty = ipt.empty_part()
    create = ipt.transaction(empty, ipt.render_networks([NET_A]), ipt.NM_CHAINS)
    assert create.splitlines() == [
        '*nat', ':ANATOMY-NM-POSTROUTING - [0:0]',
        '-A ANATOMY-NM-POSTROUTING -s 10.88.0.0/24 -o host0 -m comment --comment "10.88.0.0/24" -j MASQUERADE',
        '-A ANATOMY-NM-POSTROUTING -s 10.88.0.0/24 -d 10.88.0.0/24 -m conntrack --ctstate DNAT '
        '-m comment --comment "10.88.0.0/24" -j MASQUERADE',
        '-I POSTROUTING 1 -m comment --comment "anatomy.containers" -j ANATOMY-NM-POSTROUTING', 'COMMIT',
        '*filter', ':ANATOMY-NM-FORWARD - [0:0]',
        '-A ANATOMY-NM-FORWARD -d 10.88.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED '
        '-m comment --comment "10.88.0.0/24" -j ACCEPT',
        '-A ANATOMY-NM-FORWARD -s 10.88.0.0/24 -o host0 -m comment --comment "10.88.0.0/24" -j ACCEPT',
        '-A ANATOMY-NM-FORWARD -d 10.88.0.0/24 -m conntrack --ctstate DNAT -m comment --comment "10.88.0.0/24" -j ACCEPT',
        '-A ANATOMY-NM-FORWARD -s 10.88.0.0/24 -d 10.88.0.0/24 -m comment --comment "10.88.0.0/24" -j ACCEPT',
        '-A ANATOMY-NM-FORWARD -d 10.88.0.0/24 -m comment --comment "10.88.0.0/24" -j DROP',
        '-I FORWARD 1 -m comment --comment "anatomy.containers" -j ANATOMY-NM-FORWARD', 'COMMIT']
    tables = ipt.parse_save(IPTABLES_SAVE)
    teardown = ipt.transaction(ipt.part_of(tables, ipt.PF_CHAINS), ipt.empty_part(), ipt.PF_CHAINS).splitlines()
    assert '-D PREROUTING -m comment --comment "anatomy.containers" -j ANATOMY-PF-PREROUTING' in teardown
    # The chain others jump to goes last.
    nat_x = [line for line in teardown if line.startswith('-X')][:4]
    assert nat_x[-1] == '-X ANATOMY-PF-DNAT'


def test_iptables_duplicate_jumps_are_reduced_to_one():
    part = ipt.empty_part()
    part['chains']['ANATOMY-NM-POSTROUTING'] = []
    part['jumps']['ANATOMY-NM-POSTROUTING'] = 3
    script = ipt.transaction(part, ipt.render_networks([NET_A]), ipt.NM_CHAINS)
    assert script.count('-D POSTROUTING') == 2 and '-I POSTROUTING' not in script


def test_iptables_has_content():
    assert ipt.has_content(ipt.parse_save(IPTABLES_SAVE))
    empty = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'
    assert not ipt.has_content(ipt.parse_save(empty))
    assert ipt.has_content(ipt.parse_save(empty.replace('FORWARD ACCEPT', 'FORWARD DROP')))


def test_samples_are_what_they_claim():
    assert json.loads(NFT_JSON)['nftables'][0]['metainfo']['version'] == '1.0.6'
    assert 'iptables-save v1.8.9 (nf_tables)' in IPTABLES_SAVE
