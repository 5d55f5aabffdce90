# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Backend choice and whole module runs against fake commands (an in-memory iptables), no root."""

from __future__ import annotations

import contextlib
import json
import struct

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _netlink as netlink
from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import engine
from tests.unit.support.netfilter_fakes import EMPTY, FOREIGN, FakeIptables, FakeModule, FakeRunner
from tests.unit.support.resource_fakes import Exit


def run(runner, resource_class, sysctl_file=None, **params):
    module = FakeModule(**params)
    with pytest.raises(Exit) as done:
        engine.run_netfilter_module(module, resource_class(runner, module.params['backend'], sysctl_file=sysctl_file),
                                    lock=contextlib.nullcontext)
    return done.value.args[0]


NET = {'subnet': '10.88.0.0/24', 'out_interface': None, 'mode': None, 'isolate': None}
PORT = {'protocol': None, 'host_port': 80, 'host_address': None, 'destination': '10.88.0.3',
        'destination_port': 8080, 'allowed_sources': None, 'comment': None}


# -- backend choice ---------------------------------------------------------------------------------

def test_auto_prefers_nftables_on_a_clean_host():
    assert engine.choose_backend(FakeRunner()).name == 'nftables'


def test_auto_takes_what_exists():
    assert engine.choose_backend(FakeRunner(commands=('iptables-save', 'iptables-restore'))).name == 'iptables'
    assert engine.choose_backend(FakeRunner(commands=('nft',))).name == 'nftables'


def test_auto_takes_iptables_under_a_forward_drop_policy():
    runner = FakeRunner(commands=('nft', 'iptables-save', 'iptables-restore', 'iptables-nft-save', 'iptables-nft-restore'),
                        iptables=FakeIptables(EMPTY.replace('FORWARD ACCEPT', 'FORWARD DROP')))
    backend = engine.choose_backend(runner)
    assert backend.name == 'iptables' and backend.restore == 'iptables-nft-restore'


def test_auto_stays_where_our_rules_are():
    nft_json = json.dumps({'nftables': [{'table': {'family': 'ip', 'name': 'anatomy'}}]})
    runner = FakeRunner(commands=('nft', 'iptables-save', 'iptables-restore', 'iptables-nft-save', 'iptables-nft-restore'),
                        iptables=FakeIptables(EMPTY.replace('FORWARD ACCEPT', 'FORWARD DROP')), nft_json=nft_json)
    assert engine.choose_backend(runner).name == 'nftables'
    ours = FOREIGN.replace('COMMIT\n*filter', ':ANATOMY-NM-POSTROUTING - [0:0]\nCOMMIT\n*filter')
    runner = FakeRunner(commands=('nft', 'iptables-save', 'iptables-restore', 'iptables-nft-save', 'iptables-nft-restore'),
                        iptables=FakeIptables(ours))
    assert engine.choose_backend(runner).name == 'iptables'


def test_rules_in_both_iptables_variants_are_refused():
    commands = ('nft', 'iptables-save', 'iptables-restore', 'iptables-nft-save', 'iptables-nft-restore',
                'iptables-legacy-save', 'iptables-legacy-restore')
    runner = FakeRunner(commands=commands, iptables=FakeIptables(FOREIGN), legacy=FakeIptables(FOREIGN))
    for wanted in ('auto', 'iptables'):
        with pytest.raises(ResourceError, match='moby#46147'):
            engine.choose_backend(runner, wanted)
    assert engine.choose_backend(runner, 'nftables').name == 'nftables'


def test_legacy_rules_choose_the_legacy_variant():
    commands = ('nft', 'iptables-save', 'iptables-restore', 'iptables-nft-save', 'iptables-nft-restore',
                'iptables-legacy-save', 'iptables-legacy-restore')
    runner = FakeRunner(commands=commands, legacy=FakeIptables(FOREIGN))
    backend = engine.choose_backend(runner)
    assert (backend.name, backend.save, backend.restore) == ('iptables', 'iptables-legacy-save',
                                                             'iptables-legacy-restore')


def test_a_missing_tool_is_a_clear_error():
    with pytest.raises(ResourceError, match='needs the nft command'):
        engine.choose_backend(FakeRunner(commands=('iptables-save', 'iptables-restore')), 'nftables')
    with pytest.raises(ResourceError, match='needs iptables-save and iptables-restore'):
        engine.choose_backend(FakeRunner(commands=('nft',)), 'iptables')


# -- whole runs on the in-memory iptables -------------------------------------------------------

def test_networks_converge_idempotently_and_leave_foreign_rules_alone():
    runner = FakeRunner(iptables=FakeIptables(FOREIGN))
    first = run(runner, engine.NetworksResource, backend='iptables', config=[NET])
    assert first['changed'] and first['after'] == [{'subnet': '10.88.0.0/24', 'out_interface': 'eth0', 'mode': 'nat',
                                                    'isolate': False}]
    assert first['sysctl'] == ['net.ipv4.ip_forward=1'] and runner.files[engine.IP_FORWARD] == '1\n'
    again = run(runner, engine.NetworksResource, backend='iptables', config=[NET])
    assert not again['changed'] and again['sysctl'] == []
    assert len(runner.iptables.restores) == 1
    nat = runner.iptables.tables['nat']['rules']
    assert nat['POSTROUTING'] == ['-m comment --comment "anatomy.containers" -j ANATOMY-NM-POSTROUTING',
                                  '-s 10.99.0.0/24 -j MASQUERADE']
    gone = run(runner, engine.NetworksResource, backend='iptables', state='deleted')
    assert gone['changed'] and gone['after'] == []
    assert runner.iptables.save() == FakeIptables(FOREIGN).save()


SYSCTL_FILE = '/etc/sysctl.d/60-anatomy-containers.conf'


def test_forwarding_is_kept_for_boot_while_a_network_exists_and_the_file_goes_with_the_last():
    runner = FakeRunner()
    check = run(runner, engine.NetworksResource, sysctl_file=SYSCTL_FILE, backend='iptables', config=[NET],
                check_mode=True)
    assert check['changed'] and SYSCTL_FILE not in runner.files
    run(runner, engine.NetworksResource, sysctl_file=SYSCTL_FILE, backend='iptables', config=[NET])
    text = runner.files[SYSCTL_FILE]
    assert text.startswith('# Written by anatomy.containers') and text.endswith('\nnet.ipv4.ip_forward = 1\n')
    again = run(runner, engine.NetworksResource, sysctl_file=SYSCTL_FILE, backend='iptables', config=[NET])
    assert not again['changed']
    runner.files[SYSCTL_FILE] = text.replace('= 1', '= 0')
    assert run(runner, engine.NetworksResource, sysctl_file=SYSCTL_FILE, backend='iptables', config=[NET])['changed']
    assert runner.files[SYSCTL_FILE] == text
    gone = run(runner, engine.NetworksResource, sysctl_file=SYSCTL_FILE, backend='iptables', state='deleted')
    assert gone['changed'] and SYSCTL_FILE not in runner.files
    assert not run(runner, engine.NetworksResource, sysctl_file=SYSCTL_FILE, backend='iptables',
                   state='deleted')['changed']


def test_a_sysctl_file_someone_else_wrote_is_refused_before_any_change_and_never_removed():
    runner = FakeRunner()
    runner.files[SYSCTL_FILE] = 'net.ipv4.ip_forward = 1\n'
    result = run(runner, engine.NetworksResource, sysctl_file=SYSCTL_FILE, backend='iptables', config=[NET])
    assert result['failed'] and 'not written by anatomy.containers' in result['msg']
    assert result['field'] == 'sysctl_file'
    assert runner.iptables.restores == [] and runner.files[engine.IP_FORWARD] == '0\n'
    gone = run(runner, engine.NetworksResource, sysctl_file=SYSCTL_FILE, backend='iptables', state='deleted')
    assert not gone['changed'] and runner.files[SYSCTL_FILE] == 'net.ipv4.ip_forward = 1\n'


def test_check_mode_validates_with_the_kernel_and_changes_nothing():
    runner = FakeRunner()
    result = run(runner, engine.PortsResource, backend='iptables', config=[PORT], check_mode=True, diff=True)
    assert result['changed'] and result['after'][0]['destination_port'] == '8080'
    assert [test for _script, test in runner.iptables.restores] == [True]
    assert runner.iptables.save() == FakeIptables().save()
    assert runner.files[engine.IP_FORWARD] == '0\n'
    config_diff, rules_diff = result['diff']
    assert config_diff['before'] == {'config': []}
    assert rules_diff['before'] == '' and '-j DNAT --to-destination 10.88.0.3:8080' in rules_diff['after']


def test_ports_route_localnet_is_set_towards_the_workload():
    runner = FakeRunner()
    result = run(runner, engine.PortsResource, backend='iptables', config=[PORT])
    assert 'net.ipv4.conf.br0.route_localnet=1' in result['sysctl']
    assert runner.files[engine.ROUTE_LOCALNET % 'br0'] == '1\n'


def test_drift_in_our_chains_is_repaired():
    runner = FakeRunner()
    run(runner, engine.PortsResource, backend='iptables', config=[PORT])
    runner.iptables.tables['filter']['rules']['ANATOMY-PF-FORWARD'] = []  # someone flushed it
    result = run(runner, engine.PortsResource, backend='iptables', config=[PORT])
    assert result['changed'] and result['before'] == result['after']
    assert runner.iptables.tables['filter']['rules']['ANATOMY-PF-FORWARD']
    assert not run(runner, engine.PortsResource, backend='iptables', config=[PORT])['changed']


def test_two_modules_share_nothing_but_the_built_in_chains():
    runner = FakeRunner()
    run(runner, engine.NetworksResource, backend='iptables', config=[NET])
    run(runner, engine.PortsResource, backend='iptables', config=[PORT])
    nm_chain = list(runner.iptables.tables['nat']['rules']['ANATOMY-NM-POSTROUTING'])
    run(runner, engine.PortsResource, backend='iptables', state='deleted')
    assert runner.iptables.tables['nat']['rules']['ANATOMY-NM-POSTROUTING'] == nm_chain
    assert not any(c.startswith('ANATOMY-PF') for t in runner.iptables.tables.values() for c in t['rules'])


def test_conflicts_with_published_ports_already_there_fail_before_any_change():
    runner = FakeRunner()
    run(runner, engine.PortsResource, backend='iptables', config=[PORT])
    before = runner.iptables.save()
    result = run(runner, engine.PortsResource, backend='iptables',
                 config=[dict(PORT, host_address='127.0.0.1')])
    assert result['failed'] and 'conflicts with published port tcp/0.0.0.0:80' in result['msg']
    assert runner.iptables.save() == before


def test_port_80_and_80_name_the_same_entry():
    runner = FakeRunner()
    run(runner, engine.PortsResource, backend='iptables', config=[PORT])
    assert not run(runner, engine.PortsResource, backend='iptables', config=[dict(PORT, host_port='80')])['changed']
    assert run(runner, engine.PortsResource, backend='iptables', state='deleted',
               config=[dict(PORT, destination=None)])['after'] == []


def test_nftables_run_is_one_transaction_and_check_mode_uses_nft_c():
    runner = FakeRunner()
    run(runner, engine.PortsResource, backend='nftables', config=[PORT], check_mode=True)
    run(runner, engine.PortsResource, backend='nftables', config=[PORT])
    writes = [argv for argv, data in runner.calls if argv[0] == 'nft' and '-f' in argv]
    assert writes == [['nft', '-c', '-f', '-'], ['nft', '-f', '-']]


def test_nft_read_errors_are_reported_not_mistaken_for_an_empty_table():
    runner = FakeRunner()
    runner.run = lambda argv, data=None: (1, '', 'Error: Could not process rule: Operation not permitted')
    result = run(runner, engine.NetworksResource, backend='nftables', config=[NET])
    assert result['failed'] and 'Operation not permitted' in result['msg']


def test_no_default_route_and_no_out_interface_fails_clearly():
    result = run(FakeRunner(default_dev=None), engine.NetworksResource, backend='iptables', config=[NET])
    assert result['failed'] and 'no IPv4 default route' in result['msg'] and result['field'] == 'out_interface'


def test_route_interfaces_is_one_command_whatever_the_number_of_ports():
    runner = FakeRunner()
    items = [dict(PORT, host_port=str(p)) for p in range(1000, 1500)]
    found = engine.route_interfaces(runner, ['10.88.0.3', '10.88.0.4', '10.1.2.3', '192.0.2.1'] +
                                    [i['destination'] for i in items])
    assert found == {'10.88.0.3': 'br0', '10.88.0.4': 'br0', '10.1.2.3': 'eth0', '192.0.2.1': 'eth0'}
    assert len(runner.calls) == 1


def test_routes_are_read_through_netlink_unicast_with_one_interface_only():
    u32 = struct.Struct('=I').pack

    def route(dst, dst_len, oif=None, table=netlink.MAIN_TABLE, rtn_type=1, metric=None):
        body = netlink._RTMSG.pack(netlink.AF_INET, dst_len, 0, 0, table, 3, 0, rtn_type, 0)
        if dst_len:
            body += netlink.nl_attr(netlink.RTA_DST, bytes(int(o) for o in dst.split('.')))
        if oif is not None:
            body += netlink.nl_attr(netlink.RTA_OIF, u32(oif))
        if metric is not None:
            body += netlink.nl_attr(6, u32(metric))  # RTA_PRIORITY
        return body

    class Socket:
        def __init__(self):
            self.requests = []

        def request(self, msg_type, body, dump=False):
            self.requests.append((msg_type, body, dump))
            return [route('0.0.0.0', 0, oif=1, metric=100),         # index 1 is lo in every namespace
                    route('10.88.0.0', 24, oif=1),
                    route('10.9.0.0', 16),                            # multipath: no single interface
                    route('192.0.2.0', 24, oif=1, rtn_type=6),        # blackhole
                    route('10.7.0.0', 16, oif=1, table=255)]          # not the main table

    sock = Socket()
    assert netlink.unicast_routes(sock=sock) == [{'dst': '0.0.0.0/0', 'metric': 100, 'dev': 'lo'},
                                                 {'dst': '10.88.0.0/24', 'metric': 0, 'dev': 'lo'}]
    assert [(t, dump) for t, _body, dump in sock.requests] == [(netlink.RTM_GETROUTE, True)]


def test_the_default_route_of_the_lowest_metric_and_the_longest_prefix_win():
    runner = FakeRunner()
    runner.routes = lambda: [{'dst': '0.0.0.0/0', 'metric': 200, 'dev': 'wlan0'},
                             {'dst': '0.0.0.0/0', 'metric': 100, 'dev': 'eth0'},
                             {'dst': '10.88.0.0/16', 'metric': 0, 'dev': 'br1'},
                             {'dst': '10.88.0.0/24', 'metric': 50, 'dev': 'br0'},
                             {'dst': '10.88.0.0/24', 'metric': 10, 'dev': 'br2'}]
    assert engine.default_route_interface(runner) == 'eth0'
    assert engine.route_interfaces(runner, ['10.88.0.3', '10.88.1.3', '8.8.8.8']) == {
        '10.88.0.3': 'br2', '10.88.1.3': 'br1', '8.8.8.8': 'eth0'}
