# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Planning a host's workloads: addresses that stay put, names that fit, one list per module."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils._workload_plan import (
    PlanError, link_name, mac_for, plan,
)

NETS = [{'name': 'ctbr0', 'subnet': '10.88.0.0/16'}, {'name': 'tiny', 'subnet': '10.9.0.0/29', 'gateway': '10.9.0.6'}]


def wl(name, network='ctbr0', **extra):
    return dict({'name': name, 'network': network, 'command': ['/bin/busybox', 'httpd', '-f', '-p', '8080'],
                 'layers': ['busybox']}, **extra)


def test_a_workload_keeps_its_address_whatever_is_added_or_removed():
    first = plan([wl('web'), wl('client')], NETS, '/var/lib/anatomy')['addresses']
    more = plan([wl('client'), wl('db'), wl('web'), wl('cache')], NETS, '/var/lib/anatomy', first)['addresses']
    assert more['ctbr0']['web'] == first['ctbr0']['web'] and more['ctbr0']['client'] == first['ctbr0']['client']
    fewer = plan([wl('web')], NETS, '/var/lib/anatomy', more)['addresses']
    assert fewer == {'ctbr0': {'web': first['ctbr0']['web']}}


def test_allocation_does_not_depend_on_list_order_or_history():
    names = ['w%d' % i for i in range(20)]
    forward = plan([wl(n) for n in names], NETS, '/s')['addresses']
    backward = plan([wl(n) for n in reversed(names)], NETS, '/s')['addresses']
    assert forward == backward
    assert len(set(forward['ctbr0'].values())) == 20


def test_a_full_small_network_probes_and_then_refuses():
    # /29: 8 addresses, less network, broadcast and the gateway: 5 workloads fit.
    five = plan([wl('t%d' % i, 'tiny') for i in range(5)], NETS, '/s')['addresses']['tiny']
    usable = {str(a) for a in ipaddress.ip_network('10.9.0.0/29').hosts()} - {'10.9.0.6'}
    assert set(five.values()) == usable
    with pytest.raises(PlanError, match="network 'tiny' .* has no free address for workload"):
        plan([wl('t%d' % i, 'tiny') for i in range(6)], NETS, '/s')


def test_given_addresses_win_and_are_checked():
    result = plan([wl('web', address='10.88.0.10'), wl('db')], NETS, '/s')
    assert result['addresses']['ctbr0']['web'] == '10.88.0.10'
    with pytest.raises(PlanError, match="workload 'web': address 10.89.0.10 is outside network 'ctbr0'"):
        plan([wl('web', address='10.89.0.10')], NETS, '/s')
    with pytest.raises(PlanError, match='already used by the network itself'):
        plan([wl('web', address='10.88.0.1')], NETS, '/s')
    with pytest.raises(PlanError, match="already used by a"):
        plan([wl('a', address='10.88.0.9'), wl('b', address='10.88.0.9')], NETS, '/s')


def test_module_lists_for_one_workload():
    result = plan([wl('web', address='10.88.0.2', published_ports=['80:8080', '127.0.0.1:8081:81/udp'],
                      volumes=[{'name': 'webdata', 'target': '/data'}])], NETS, '/var/lib/anatomy')
    assert result['netns'] == [{'name': 'web'}]
    assert result['veth'] == [{'name': 'veth-web', 'peer': 'eth0', 'netns': 'web', 'bridge': 'ctbr0',
                               'peer_mac': '02:42:0a:58:00:02'}]
    assert result['netns_addr'] == [{'netns': 'web', 'interface': 'eth0', 'addresses': ['10.88.0.2/16'],
                                     'gateway': '10.88.0.1'}]
    assert result['published_ports'] == [
        {'protocol': 'tcp', 'host_port': '80', 'destination': '10.88.0.2', 'destination_port': '8080',
         'comment': 'workload web'},
        {'protocol': 'udp', 'host_port': '8081', 'destination': '10.88.0.2', 'destination_port': '81',
         'comment': 'workload web', 'host_address': '127.0.0.1'},
    ]
    rootfs = '/var/lib/anatomy/workloads/web/rootfs'
    assert result['overlays'] == [{'path': rootfs, 'lower': ['/var/lib/anatomy/layers/busybox'],
                                   'upper': '/var/lib/anatomy/workloads/web/upper',
                                   'work': '/var/lib/anatomy/workloads/web/work'}]
    assert result['volumes'][0] == {'volume': 'webdata', 'target': '/data', 'root': rootfs, 'read_only': False}
    assert [v['target'] for v in result['volumes'][1:]] == ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']
    assert all(v['read_only'] and v['source'].startswith('/var/lib/anatomy/workloads/web/')
               for v in result['volumes'][1:])
    assert result['volumes'][1]['content'] == 'web\n'
    service = result['services'][0]
    assert service['command'] == ['/bin/busybox', 'httpd', '-f', '-p', '8080']
    assert service['netns'] == 'web' and service['root'] == rootfs and service['user'] == 'root'
    assert 'capabilities' not in service  # the module's default, Docker's set


def test_resolv_conf_content_is_every_workloads_and_a_string_command_is_split():
    result = plan([wl('web', command='/bin/sh -c "echo hi; sleep 9"'), wl('db')], NETS, '/s',
                  resolv_conf='nameserver 192.0.2.53\n')
    resolv = [v['content'] for v in result['volumes'] if v['target'] == '/etc/resolv.conf']
    assert resolv == ['nameserver 192.0.2.53\n'] * 2
    web = [s for s in result['services'] if s['name'] == 'web'][0]
    assert web['command'] == ['/bin/sh', '-c', 'echo hi; sleep 9']


def test_hosts_file_names_every_workload_of_the_same_network_only():
    result = plan([wl('web'), wl('client'), wl('other', 'tiny')], NETS, '/s')
    hosts = {v['root'].split('/')[-2]: v['content'] for v in result['volumes'] if v['target'] == '/etc/hosts'}
    web = result['addresses']['ctbr0']['web']
    assert '%s\tweb\n' % web in hosts['client'] and 'other' not in hosts['client']
    assert 'web' not in hosts['other']


def test_a_changed_definition_changes_only_its_own_unit():
    before = {u['name']: u['revision'] for u in plan([wl('web'), wl('db')], NETS, '/s')['services']}
    after = {u['name']: u['revision'] for u in
             plan([wl('web', environment={'A': 1}), wl('db')], NETS, '/s')['services']}
    assert before['db'] == after['db'] and before['web'] != after['web']


def test_a_neighbour_coming_or_going_restarts_nobody():
    before = {u['name']: u['revision'] for u in plan([wl('web'), wl('db'), wl('cache')], NETS, '/s')['services']}
    after = {u['name']: u['revision'] for u in plan([wl('web'), wl('db')], NETS, '/s')['services']}
    assert after == {'web': before['web'], 'db': before['db']}


def test_link_names_fit_and_stay_distinct():
    assert link_name('web') == 'veth-web'
    assert not any(link_name(n).startswith(('ve-', 'vb-', 'vz-', 'vt-')) for n in ('web', 'a-long-workload-name'))
    long_names = [link_name('a-very-long-workload-name-%d' % i) for i in range(50)]
    assert all(len(n) <= 15 for n in long_names) and len(set(long_names)) == 50
    assert mac_for('10.88.0.2') == '02:42:0a:58:00:02'


@pytest.mark.parametrize('bad, message', [
    ({'name': 'Web'}, 'name .Web. must be'),
    ({'network': 'nope'}, "network 'nope' is not one of container_host_networks"),
    ({'command': None}, 'command is required'),
    ({'command': '   '}, 'command is required'),
    ({'command': 'sh -c "unclosed'}, 'cannot be split'),
    ({'layers': []}, 'layers must list at least one layer'),
    ({'published_ports': ['80']}, 'is not HOST:CONTAINER'),
])
def test_bad_definitions_are_refused_by_name(bad, message):
    with pytest.raises(PlanError, match=message):
        plan([dict(wl('web'), **bad)], NETS, '/s')


def test_duplicate_workloads_are_refused():
    with pytest.raises(PlanError, match="workload 'web' is listed twice"):
        plan([wl('web'), wl('web')], NETS, '/s')
