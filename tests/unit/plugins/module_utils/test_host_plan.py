# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Planning a host: addresses that stay put, names that fit, one list per module, every problem at once."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _host_plan as host_plan
from ansible_collections.anatomy.containers.plugins.module_utils._host_plan import (
    HostRead, PlanError, host_resolv_conf, link_name, mac_for, network_tasks, os_family, plan_host, workload_tasks,
)

NETS = [{'name': 'ctbr0', 'subnet': '10.88.0.0/16'}, {'name': 'tiny', 'subnet': '10.9.0.0/29', 'gateway': '10.9.0.6'}]


LAYERS = [{'name': 'busybox', 'busybox': True}, {'name': 'web-content', 'files': [{'path': 'www/index.html', 'content': 'hi'}]}]


def plan(workloads, networks, state_root, previous=None, resolv_conf=''):
    return plan_host(networks, workloads, LAYERS, state_root, previous, resolv_conf)


def problems(workloads, networks=None, layers=None):
    with pytest.raises(PlanError) as caught:
        plan_host(NETS if networks is None else networks, workloads, LAYERS if layers is None else layers, '/s')
    return caught.value.errors


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
    ({'layers': []}, 'needs an image, or layers listing at least one layer'),
    ({'published_ports': ['80']}, 'is not HOST:CONTAINER'),
])
def test_bad_definitions_are_refused_by_name(bad, message):
    with pytest.raises(PlanError, match=message):
        plan([dict(wl('web'), **bad)], NETS, '/s')


def test_duplicate_workloads_are_refused():
    with pytest.raises(PlanError, match="workload 'web' is listed twice"):
        plan([wl('web'), wl('web')], NETS, '/s')


def test_a_workload_named_for_another_ones_health_check_is_refused():
    with pytest.raises(PlanError, match="workload 'web': healthcheck: its units would take the name of workload 'web-health'"):
        plan([wl('web', healthcheck={'test': 'true'}), wl('web-health')], NETS, '/s')
    assert plan([wl('web'), wl('web-health')], NETS, '/s')


def test_every_problem_at_once_one_line_each_naming_the_workload_and_field():
    errors = problems([
        wl('api', published_ports=['8080:80', '70000:80']),
        wl('web', published_ports=['127.0.0.1:8080:80']),
        wl('db', layers=['busybox', 'nope'], volumes=[{'name': 'd', 'target': '../../etc'}]),
        wl('bad', network='elsewhere', user='a b', capabilities=['not a cap']),
    ])
    assert "workload_list: workload 'api': published_ports[1] '70000:80': host port must be 1-65535" in errors[0]
    assert any("workload 'web': published_ports[0] '127.0.0.1:8080:80': tcp port 8080 is also published by "
               "workload 'api'" in e for e in errors)
    assert any("workload 'db': layers[1] 'nope' is not one of workload_layers" in e for e in errors)
    assert any("workload 'db': volumes[0]: target '../../etc' must be an absolute path" in e for e in errors)
    assert any("workload 'bad': network 'elsewhere' is not one of container_host_networks" in e for e in errors)
    assert any("workload 'bad': user 'a b' is not a user name" in e for e in errors)
    assert any("workload 'bad': capabilities" in e for e in errors)
    assert all('\n' not in e and 'config[' not in e for e in errors)


@pytest.mark.parametrize('ports, conflict', [
    (['80:80', '80:81/udp'], False),
    (['127.0.0.1:80:80', '127.0.0.2:80:80'], False),
    (['127.0.0.1:80:80', '80:80'], True),
    (['8000-8010:8000-8010', '8010:80'], True),
    (['8000-8010:8000-8010', '8011:80'], False),
])
def test_port_conflicts_across_workloads(ports, conflict):
    workloads = [wl('w%d' % i, published_ports=[port]) for i, port in enumerate(ports)]
    if conflict:
        assert any('is also published by' in e for e in problems(workloads))
    else:
        plan(workloads, NETS, '/s')


@pytest.mark.parametrize('target, message', [
    ('data', 'must be an absolute path'),
    ('/data/../../etc', 'must be a canonical path'),
    ('/', 'must be a canonical path'),
    ('/etc/hosts', 'written by the role itself'),
])
def test_volume_targets(target, message):
    errors = problems([wl('web', volumes=[{'name': 'v', 'target': target}])])
    assert any(message in e for e in errors), errors


def test_network_problems_all_at_once():
    errors = problems([], networks=[
        {'name': 'a', 'subnet': '10.1.0.1/16'},
        {'name': 'b', 'subnet': '10.2.0.0/16', 'gateway': '10.3.0.1'},
        {'name': 'c', 'subnet': '10.2.128.0/17'},
        {'name': 'c', 'subnet': '10.9.0.0/16', 'mode': 'routed', 'masquerade': True},
        {'name': 'a-name-far-too-long', 'subnet': '10.10.0.0/16', 'mtu': 20},
    ])
    text = '\n'.join(errors)
    assert "network 'a': subnet: '10.1.0.1/16' has host bits set; write 10.1.0.0/16" in text
    assert "network 'b': gateway '10.3.0.1' is not a host address of 10.2.0.0/16" in text
    assert "the name is used twice" in text and 'contradicts mode routed' in text
    assert "name 'a-name-far-too-long' is 19 bytes long; an interface name has at most 15" in text and 'mtu 20 must be 68 to 65535' in text


def test_overlapping_networks():
    errors = problems([], networks=[{'name': 'b', 'subnet': '10.2.0.0/16'}, {'name': 'c', 'subnet': '10.2.128.0/17'}])
    assert errors == ["container_host_networks: the subnets of 'b' (10.2.0.0/16) and 'c' (10.2.128.0/17) overlap"]


def test_networks_alone_and_their_module_lists():
    result = plan_host([{'name': 'br1', 'subnet': '10.5.0.0/24', 'mtu': 1400, 'masquerade': False}])
    assert result['bridges'] == [{'name': 'br1', 'addresses': ['10.5.0.1/24'], 'mtu': 1400}]
    assert result['nat_networks'] == [{'subnet': '10.5.0.0/24', 'mode': 'routed', 'isolate': True}]
    assert 'netns' not in result
    tasks = network_tasks(result, True, 'nftables')
    assert [t['id'] for t in tasks] == ['bridges', 'nat'] and tasks[1]['params']['backend'] == 'nftables'
    assert tasks[0]['labels'] == ["network 'br1'"]
    assert [t['params'] for t in network_tasks(result, False, 'auto')][0] == {'state': 'deleted'}


def test_workload_tasks_label_each_item_by_workload():
    result = plan([wl('web', published_ports=['80:8080'], volumes=[{'name': 'v', 'target': '/data'}])], NETS, '/s')
    tasks = {t['id']: t for t in workload_tasks(result, LAYERS, '/s', 'auto', False)}
    assert list(tasks) == ['netns', 'veth', 'addresses', 'published_ports', 'layers', 'root_filesystems', 'volumes',
                           'services']
    assert tasks['published_ports']['labels'] == ["workload 'web': published port tcp/80"]
    assert tasks['volumes']['labels'][0] == "workload 'web': /data"
    assert tasks['root_filesystems']['params']['purge'] is True
    assert 'layers' not in [t['id'] for t in workload_tasks(plan([], NETS, '/s'), LAYERS, '/s', 'auto', False)]


def test_absolute_layers_must_exist_on_the_host():
    with pytest.raises(PlanError, match=r"layers\[0\] '/srv/img': no such directory on the host"):
        plan_host(NETS, [wl('web', layers=['/srv/img'])], LAYERS, '/s', existing_paths=['/srv/other'])
    plan_host(NETS, [wl('web', layers=['/srv/img'])], LAYERS, '/s', existing_paths=['/srv/img'])


def test_resolv_conf_as_docker_picks_it():
    texts = {'/etc/resolv.conf': 'nameserver 127.0.0.53\noptions edns0\n',
             '/run/systemd/resolve/resolv.conf': 'nameserver 192.0.2.1\nnameserver ::1\nsearch lab\n'}
    assert host_resolv_conf(texts).splitlines()[1:] == ['nameserver 192.0.2.1', 'search lab']
    assert host_resolv_conf(texts, ['198.51.100.1']).splitlines()[1:] == ['nameserver 198.51.100.1', 'search lab']
    assert host_resolv_conf({}).splitlines()[1:] == ['nameserver 8.8.8.8', 'nameserver 8.8.4.4']


def test_the_host_read_is_one_command_and_parses_back():
    read = HostRead('/var/lib/anatomy/', ['extra'], ['/srv/layer one'])
    command = read.command()
    assert "'/srv/layer one'" in command and 'extra' in command
    out = '\n'.join([
        '/etc/os-release:ID=debian', '/var/lib/anatomy/workloads/addresses.json:{"ctbr0": {"web": "10.88.0.2"}}',
        'dir:711|root|root|directory|/var/lib/anatomy', 'dir:755|root|root|directory|/srv/layer one',
        'pkg:nftables ii ', 'pkg:iptables un ',
    ])
    facts = read.parse(out)
    assert os_family(facts['texts']['/etc/os-release']) == 'Debian'
    assert facts['texts'][read.address_record] == '{"ctbr0": {"web": "10.88.0.2"}}\n'
    assert facts['dirs']['/srv/layer one']['directory'] and facts['dirs']['/var/lib/anatomy']['mode'] == '0711'
    assert facts['installed'] == ['nftables'] and facts['texts']['/etc/resolv.conf'] == ''


def test_fields_of_the_wrong_shape_are_named_not_crashed_on():
    errors = problems([wl('web', address='ten', published_ports='80:8080', volumes={'name': 'v'}, environment=['A'])])
    text = '\n'.join(errors)
    assert "workload 'web': address 'ten' is not an IPv4 address" in text
    assert "published_ports must be a list" in text and 'volumes must be a list' in text
    assert 'environment must be a mapping' in text


def test_each_hosts_file_lists_every_workload_of_its_network_and_nothing_else():
    result = plan([wl('b'), wl('a'), wl('t1', network='tiny'), wl('c'), wl('t2', network='tiny')], NETS, '/s')
    hosts = {v['root'].split('/')[-2]: v['content'] for v in result['volumes'] if v['target'] == '/etc/hosts'}
    head = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
    for network, members in (('ctbr0', ['a', 'b', 'c']), ('tiny', ['t1', 't2'])):
        listed = ''.join('%s\t%s\n' % (result['addresses'][network][name], name) for name in members)
        assert all(hosts[name] == head + listed for name in members)


def test_the_container_hosts_own_settings():
    from ansible_collections.anatomy.containers.plugins.module_utils._host_plan import check_host_settings
    assert check_host_settings('/var/lib/anatomy', ['192.0.2.1'], ['nftables'], True, 'Debian') == []
    assert check_host_settings('relative', ['::1', 'x'], [], True, None) == [
        "container_host_state_root: 'relative' must be an absolute path below /",
        "container_host_dns_servers: '::1' is not an IPv4 address",
        "container_host_dns_servers: 'x' is not an IPv4 address",
        'container_host_packages: has no default for the OS family (unknown): set it, or set '
        'container_host_install_packages: false']
    assert check_host_settings('/s', [], [], False, None) == []


def test_input_of_the_wrong_types_is_reported_not_crashed_on():
    errors = problems([{'name': ['x'], 'network': {'a': 1}, 'layers': [['busybox']], 'command': 'x'}],
                      networks=NETS + [{'name': ['y'], 'subnet': '10.50.0.0/16'}])
    text = '\n'.join(errors)
    assert "container_host_networks[2]: name ['y'] must be a non-empty interface name" in text
    assert "workload_list[0]: network {'a': 1} is not one of container_host_networks" in text
    assert "layers[0] ['busybox'] is not one of workload_layers" in text


def test_a_user_the_workloads_own_passwd_does_not_know_is_reported_before_any_change():
    app_layer = {'name': 'app', 'files': [{'path': '/etc/passwd', 'content': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n'},
                                          {'path': 'etc/group', 'content': 'app:x:1000:\n'}]}
    layers = LAYERS + [app_layer]
    errors = problems([wl('web', user='www-data'), wl('db', user='nobody:staff'), wl('ok', user='nobody')], layers=layers)
    assert sorted(errors) == ["workload_list: workload 'db': group 'staff' is not in the workload's /etc/group",
                              "workload_list: workload 'web': user 'www-data' is not in the workload's /etc/passwd"]
    # The topmost layer's passwd is the one the workload sees; numbers need none; a host directory cannot be read here.
    plan_host(NETS, [wl('app', user='app', layers=['app', 'busybox']), wl('num', user='1234:99'),
                     wl('dir', user='someone', layers=['/srv/rootfs'])], layers, '/s')
    assert problems([wl('app', user='app', layers=['busybox', 'app'])], layers=layers) == [
        "workload_list: workload 'app': user 'app' is not in the workload's /etc/passwd"]


# -- our firewalld zone ------------------------------------------------------------------------------------------

def firewalld_facts(text='', installed=True, active='inactive'):
    return {'texts': {host_plan.FIREWALLD_ZONE_FILE: text},
            'dirs': {host_plan.FIREWALLD_DIR: {'directory': True}} if installed else {},
            'units': {host_plan.FIREWALLD_UNIT: {'enabled': 'disabled', 'active': active}}}


def test_no_firewalld_no_zone():
    changes = host_plan.firewalld_changes(firewalld_facts(installed=False), ['ctbr0'], True)
    assert not changes['changed'] and not changes['reload'] and changes['problems'] == []


def test_the_zone_holds_our_bridges_and_accepts_their_traffic():
    text = host_plan.firewalld_zone(['back', 'front'])
    assert '<zone target="ACCEPT">' in text and host_plan.FIREWALLD_MARK in text
    assert text.index('<interface name="back"/>') < text.index('<interface name="front"/>')
    changes = host_plan.firewalld_changes(firewalld_facts(), ['front', 'back'], True)
    assert changes['write'] and changes['content'] == text and not changes['reload']
    # Written already: nothing to do; firewalld running: reloaded only when the zone changes.
    assert not host_plan.firewalld_changes(firewalld_facts(text, active='active'), ['front', 'back'], True)['changed']
    changed = host_plan.firewalld_changes(firewalld_facts(text, active='active'), ['front'], True)
    assert changed['write'] and changed['reload']


@pytest.mark.parametrize('present, bridges', [(False, ['front']), (True, [])])
def test_the_zone_goes_with_the_last_network(present, bridges):
    text = host_plan.firewalld_zone(['front'])
    changes = host_plan.firewalld_changes(firewalld_facts(text, active='active'), bridges, present)
    assert changes['remove'] and changes['reload'] and not changes['write']


def test_a_zone_of_that_name_that_is_not_ours_is_refused():
    changes = host_plan.firewalld_changes(firewalld_facts('<zone><short>theirs</short></zone>\n'), ['front'], True)
    assert not changes['changed'] and "a firewalld zone 'anatomy' that is not ours exists" in changes['problems'][0]


def test_the_host_read_says_whether_firewalld_runs_and_what_our_zone_holds():
    read = host_plan.HostRead('/var/lib/anatomy')
    command = read.command()
    assert host_plan.FIREWALLD_ZONE_FILE in command and 'firewalld.service' in command
    facts = read.parse('%s:<zone/>\nunit:firewalld.service enabled active\ndir:755|root|root|directory|/etc/firewalld\n'
                       % host_plan.FIREWALLD_ZONE_FILE)
    assert facts['texts'][host_plan.FIREWALLD_ZONE_FILE] == '<zone/>\n'
    assert facts['units']['firewalld.service'] == {'enabled': 'enabled', 'active': 'active'}
    assert facts['dirs']['/etc/firewalld']['directory']
