# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns_addr on a real lab host, and the four network modules together: two namespaces on one bridge reach
each other and the bridge's address, over IPv4 and IPv6; removal leaves no link and no namespace."""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from tests.integration.test_netns import M, converge_checked, links, netns_list, new_links, reset

BRIDGE = {'name': 'acbr0', 'addresses': ['172.31.40.1/24', '2001:db8:40::1/64']}
PAIRS = [{'name': 'vh-x', 'peer': 'eth0', 'netns': 'wx', 'bridge': 'acbr0'},
         {'name': 'vh-y', 'peer': 'eth0', 'netns': 'wy', 'bridge': 'acbr0'}]
X = {'netns': 'wx', 'interface': 'eth0', 'addresses': ['172.31.40.2/24', '2001:db8:40::2/64'],
     'gateway': '172.31.40.1', 'routes': [{'dst': '::/0', 'via': '2001:db8:40::1'}]}
Y = {'netns': 'wy', 'interface': 'eth0', 'addresses': ['172.31.40.3/24'], 'gateway': '172.31.40.1', 'routes': []}


@pytest.fixture(scope='module', autouse=True)
def workloads(ansible, host):
    reset(ansible, host, foreign_netns=('theirs',))
    results = ansible.tasks(host, [
        {M + 'netns': {'config': [{'name': 'wx'}, {'name': 'wy'}]}},
        {M + 'bridge': {'config': [BRIDGE]}},
        {M + 'veth': {'config': PAIRS}},
    ])
    assert all(r['_status'] == 'ok' for r in results), [r.get('msg') for r in results]
    yield
    reset(ansible, host, foreign_netns=('theirs',))


def ping(host, netns, address):
    six = '-6 ' if ':' in address else ''
    return host.run('ip netns exec %s ping %s-c1 -W2 %s' % (netns, six, address), check=False).returncode == 0


def addresses(host, netns, dev):
    return sorted('%s/%d' % (a['local'], a['prefixlen'])
                  for i in host.json('ip -n %s -j addr show dev %s' % (netns, dev)) for a in i['addr_info']
                  if not a['local'].startswith('fe80:'))


def our_routes(host, netns, six=False):
    command = 'ip -n %s %s-j route show proto 166' % (netns, '-6 ' if six else '')
    return sorted((r['dst'], r.get('gateway')) for r in host.json(command))


def host_network(host):
    """What check mode must leave as it is: links, addresses and routes here and in the namespaces, the namespaces."""
    return host.run('ip -br link; ip -br addr; ip route; ls /run/netns 2>/dev/null; '
                    'for ns in $(ls /run/netns 2>/dev/null); do ip -n $ns -br addr; ip -n $ns route; done; true').stdout


@pytest.mark.parametrize('item, field, message', [
    ({'netns': 'wz', 'interface': 'eth0', 'addresses': ['172.31.41.2/24'], 'gateway': '172.31.41.1'}, 'netns',
     "interface 'eth0' in network namespace 'wz': network namespace 'wz' does not exist"),
    ({'netns': 'wx', 'interface': 'eth9', 'addresses': ['172.31.41.2/24']}, 'interface',
     "interface 'eth9' in network namespace 'wx' does not exist"),
])
def test_a_missing_namespace_or_interface_is_assumed_in_check_mode_only(ansible, host, item, field, message):
    """An earlier task of the run (netns, veth) would make it; in check mode that task made nothing."""
    before = host_network(host)
    check = ansible(host, M + 'netns_addr', {'config': [item]}, check=True, diff=True)
    assert check['_status'] == 'ok' and check['changed'], check.get('msg')
    predicted = [i for i in check['after'] if (i['netns'], i['interface']) == (item['netns'], item['interface'])]
    assert predicted == [dict({'gateway': None, 'routes': []}, **item)]
    assert host_network(host) == before, 'check mode changed the host'
    real = ansible(host, M + 'netns_addr', {'config': [item]})
    assert real['_status'] == 'failed' and message in real['msg'] and real['field'] == field, real
    assert real['index'] == 0 and host_network(host) == before


def test_two_workloads_on_one_bridge_reach_each_other_and_the_host(ansible, host):
    def nothing_yet(check):
        assert check['after'] == [X, Y] and addresses(host, 'wx', 'eth0') == []
        assert not ping(host, 'wx', '172.31.40.3')

    result = converge_checked(ansible, host, 'netns_addr', {'config': [X, Y]}, before_apply=nothing_yet)
    assert result['before'] == [] and result['after'] == [X, Y]
    assert addresses(host, 'wx', 'eth0') == ['172.31.40.2/24', '2001:db8:40::2/64']
    assert our_routes(host, 'wx') == [('default', '172.31.40.1')]
    assert our_routes(host, 'wx', six=True) == [('default', '2001:db8:40::1')]
    assert 'UP' in links(host, 'wx')['lo']['flags']
    # Real traffic: to each other, to the bridge's (host's) address, both families, and to the host's lab
    # address through the default route.
    assert ping(host, 'wx', '172.31.40.3') and ping(host, 'wy', '172.31.40.2')
    assert ping(host, 'wx', '172.31.40.1') and ping(host, 'wy', '172.31.40.1')
    assert ping(host, 'wx', '2001:db8:40::1')
    assert ping(host, 'wx', host.address)
    assert host.run('ip netns exec wx ip route get %s' % host.address).stdout.split()[2] == '172.31.40.1'

    gathered = ansible(host, M + 'netns_addr', {'state': 'gathered'})
    assert gathered['gathered'] == [X, Y]


def test_changes_merged_replaced_overridden_deleted(ansible, host):
    # merged: a further route; the rest stays
    extra = {'dst': '10.77.0.0/16', 'via': '172.31.40.254'}
    result = converge_checked(ansible, host, 'netns_addr', {'config': [{'netns': 'wy', 'interface': 'eth0',
                                                                        'routes': [extra]}]})
    assert result['after'][1] == dict(Y, routes=[extra])
    assert our_routes(host, 'wy') == [('10.77.0.0/16', '172.31.40.254'), ('default', '172.31.40.1')]

    # replaced: another address and gateway, no further routes
    moved = dict(Y, addresses=['172.31.40.13/24'], gateway='172.31.40.1', routes=[])
    result = converge_checked(ansible, host, 'netns_addr', {'config': [moved], 'state': 'replaced'})
    assert result['after'][1] == moved and addresses(host, 'wy', 'eth0') == ['172.31.40.13/24']
    assert our_routes(host, 'wy') == [('default', '172.31.40.1')]
    assert ping(host, 'wx', '172.31.40.13')

    # overridden: wx only; wy's addresses and routes go
    result = converge_checked(ansible, host, 'netns_addr', {'config': [X], 'state': 'overridden'})
    assert result['after'] == [X] and addresses(host, 'wy', 'eth0') == [] and our_routes(host, 'wy') == []
    assert not ping(host, 'wx', '172.31.40.13')

    # deleted
    result = converge_checked(ansible, host, 'netns_addr', {'config': [{'netns': 'wx', 'interface': 'eth0'}],
                                                            'state': 'deleted'})
    assert result['after'] == [] and addresses(host, 'wx', 'eth0') == [] and our_routes(host, 'wx') == []


def test_routes_of_others_are_left_alone(ansible, host):
    ansible(host, M + 'netns_addr', {'config': [Y]})
    host.run('ip -n wy route add 10.66.0.0/16 via 172.31.40.9')
    ansible(host, M + 'netns_addr', {'config': [dict(Y, gateway=None)], 'state': 'replaced'})
    assert our_routes(host, 'wy') == []
    assert '10.66.0.0/16' in host.run('ip -n wy route').stdout
    ansible(host, M + 'netns_addr', {'state': 'deleted'})
    assert '10.66.0.0/16' not in host.run('ip -n wy route').stdout  # went with the address it depended on


def test_interfaces_of_others_are_never_touched(ansible, host):
    host.run('ip netns add theirs && ip -n theirs link add eth0 type veth peer name eth1')
    for key in ({'netns': 'theirs', 'interface': 'eth0'}, {'interface': 'host0'}, {'interface': 'acbr0'},
                {'netns': 'wx', 'interface': 'lo'}):
        result = ansible(host, M + 'netns_addr', {'config': [dict(key, addresses=['172.31.41.2/24'])]})
        assert result['_status'] == 'failed' and 'exists and is not managed' in result['msg'], result
    assert addresses(host, 'theirs', 'eth0') == []
    host.run('ip netns del theirs')


@pytest.mark.parametrize('item, field, message', [
    (dict(Y, gateway='172.31.99.1'), 'gateway', 'gateway 172.31.99.1 is outside every subnet'),
    (dict(Y, gateway='2001:db8:40::1'), 'gateway', 'is IPv6 but the interface has no IPv6 address'),
    (dict(X, routes=[{'dst': '10.8.0.0/16', 'via': '2001:db8:40::1'}]), 'routes[0]', 'mixes families'),
    (dict(Y, addresses=['172.31.40.3']), 'addresses', 'ADDRESS/PREFIX'),
    (dict(Y, addresses=['172.31.40.300/24']), 'addresses', 'not a valid CIDR'),
    (dict(Y, netns='nowhere'), 'netns', "network namespace 'nowhere' does not exist"),
    (dict(Y, interface='eth9'), 'interface', "interface 'eth9' in network namespace 'wy' does not exist"),
    (dict(Y, interface='eth:0'), 'interface', 'not a valid interface name'),
])
def test_bad_input_fails_before_any_change(ansible, host, item, field, message):
    ansible(host, M + 'netns_addr', {'state': 'deleted'})
    good = Y if item['netns'] == 'wx' else X
    result = ansible(host, M + 'netns_addr', {'config': [good, item]})
    assert result['_status'] == 'failed' and message in result['msg'] and result['field'] == field, result
    assert result.get('index', 1) == 1 and addresses(host, good['netns'], 'eth0') == []


def test_duplicates_fail(ansible, host):
    result = ansible(host, M + 'netns_addr', {'config': [X, dict(X, addresses=['172.31.40.5/24'])]})
    assert result['_status'] == 'failed' and 'listed twice' in result['msg'] and addresses(host, 'wx', 'eth0') == []


def test_removal_leaves_no_link_and_no_namespace(ansible, host):
    ansible(host, M + 'netns_addr', {'config': [X, Y]})
    results = ansible.tasks(host, [{M + name: {'state': 'deleted'}, 'diff': True}
                                   for name in ('netns_addr', 'veth', 'bridge', 'netns')])
    assert [r['_status'] for r in results] == ['ok'] * 4 and all(r['changed'] for r in results)
    assert all(r['after'] == [] for r in results)
    assert netns_list(host) == []
    assert new_links(host) == []
    assert host.run('ip -j route show proto 166').stdout.strip() in ('', '[]')


def test_the_same_with_the_newest_pyroute2(ansible, host):
    """Lab hosts run Debian's pyroute2 0.7; the controller's (requirements-dev.txt, 0.9) is put beside it."""
    pyroute2 = pytest.importorskip('pyroute2')
    package = Path(pyroute2.__file__).parent
    with tempfile.TemporaryFile() as archive:
        with tarfile.open(fileobj=archive, mode='w:gz') as tar:
            tar.add(str(package), arcname='pyroute2', filter=lambda info: None if '__pycache__' in info.name else info)
        archive.seek(0)
        subprocess.run(host.ssh_argv('rm -rf /opt/anatomy-pyroute2 && mkdir -p /opt/anatomy-pyroute2 && '
                                     'tar xzf - -C /opt/anatomy-pyroute2'), stdin=archive, check=True)
    env = {'PYTHONPATH': '/opt/anatomy-pyroute2'}
    version = host.run('PYTHONPATH=/opt/anatomy-pyroute2 python3 -c "import pyroute2; print(pyroute2.__version__)"')
    assert version.stdout.strip() == pyroute2.__version__
    steps = [
        {M + 'netns': {'config': [{'name': 'wx'}, {'name': 'wy'}]}},
        {M + 'bridge': {'config': [BRIDGE]}},
        {M + 'veth': {'config': PAIRS}},
        {M + 'netns_addr': {'config': [X, Y]}},
    ]
    try:
        first = ansible.tasks(host, [dict(step, environment=env) for step in steps])
        assert [r['_status'] for r in first] == ['ok'] * 4, [r.get('msg') for r in first]
        assert ping(host, 'wx', '172.31.40.3') and ping(host, 'wy', '172.31.40.1') and ping(host, 'wx', '2001:db8:40::1')
        again = ansible.tasks(host, [dict(step, environment=env) for step in steps])
        assert [r['changed'] for r in again] == [False] * 4, again
        gone = ansible.tasks(host, [{M + name: {'state': 'deleted'}, 'environment': env}
                                    for name in ('netns_addr', 'veth', 'bridge', 'netns')])
        assert [r['_status'] for r in gone] == ['ok'] * 4
        assert netns_list(host) == [] and new_links(host) == []
    finally:
        host.run('rm -rf /opt/anatomy-pyroute2')
