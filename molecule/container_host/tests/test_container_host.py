# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The container_host role, converged by converge.yml, checked on the lab host: real state and real traffic.

Testinfra runs on the machine that runs the lab; every command that touches networking runs on the lab
host (through ``host``) or in the lab's own namespace (``nsenter --net=/run/netns/alab-ch-role``).
"""

import contextlib
import json
import os
import subprocess
import uuid

import pytest

LAB = os.environ.get('ANATOMY_LAB', 'ch-role')
LAB_NETNS = '/run/netns/alab-' + LAB
UPSTREAM = '203.0.113.10'
STATE_ROOT = '/var/lib/anatomy'

# What converge.yml declares: name -> (subnet, gateway, prefix length, MTU, masquerade).
NETWORKS = {
    'ctbr0': ('10.88.0.0/16', '10.88.0.1', 16, 1500, True),
    'ctbr1': ('10.89.0.0/24', '10.89.0.254', 24, 1400, False),
}


def _json(host, command, *args):
    return json.loads(host.check_output(command, *args) or 'null')


def _lab_address(host):
    """The host's address on the lab network (host0), which masqueraded traffic leaves with."""
    [link] = _json(host, 'ip -j -4 addr show dev host0')
    return link['addr_info'][0]['local']


@contextlib.contextmanager
def workload(host, bridge, address, gateway):
    """A throwaway namespace with a veth on BRIDGE, ADDRESS (CIDR) on it and a default route via GATEWAY."""
    name = 'cht' + uuid.uuid4().hex[:8]
    try:
        host.run_expect([0], 'ip netns add %s', name)
        host.run_expect([0], 'ip link add %sh type veth peer name eth0 netns %s', name, name)
        host.run_expect([0], 'ip link set %sh master %s up', name, bridge)
        host.run_expect([0], 'ip -n %s link set lo up', name)
        host.run_expect([0], 'ip -n %s link set eth0 up', name)
        host.run_expect([0], 'ip -n %s addr add %s dev eth0', name, address)
        host.run_expect([0], 'ip -n %s route add default via %s', name, gateway)
        yield 'nsenter --net=/run/netns/%s ' % name
    finally:
        # Deleting the namespace deletes eth0 and with it its peer on the bridge.
        host.run('ip netns delete %s', name)
        host.run('ip link delete %sh', name)


@contextlib.contextmanager
def lab_route(subnet, via):
    """A route to SUBNET via the host in the lab's own namespace (the lab router), so routed traffic comes back."""
    argv = ['nsenter', '--net=' + LAB_NETNS, 'ip', 'route']
    subprocess.run(argv + ['replace', subnet, 'via', via], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(argv + ['delete', subnet, 'via', via], check=False, capture_output=True)


@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_bridge_has_the_gateway_address_and_mtu(host, name):
    gateway, prefix, mtu = NETWORKS[name][1:4]
    [link] = _json(host, 'ip -j -d addr show dev %s', name)
    assert link['linkinfo']['info_kind'] == 'bridge'
    assert link['mtu'] == mtu
    assert 'UP' in link['flags']
    inet = [(a['local'], a['prefixlen']) for a in link['addr_info'] if a['family'] == 'inet']
    assert inet == [(gateway, prefix)]
    # Marked as the collection's own.
    assert host.check_output('cat /sys/class/net/%s/ifalias', name).startswith('anatomy.containers')


def test_ip_forward_is_on_and_persisted(host):
    assert host.file('/proc/sys/net/ipv4/ip_forward').content_string.strip() == '1'
    persisted = host.file('/etc/sysctl.d/60-anatomy-containers.conf')
    assert persisted.is_file
    assert 'net.ipv4.ip_forward = 1' in persisted.content_string


def _masquerade_sources(ruleset):
    """The source prefixes of masquerade rules in our table: ['10.88.0.0/16', ...]."""
    sources = []
    for entry in ruleset['nftables']:
        rule = entry.get('rule')
        if not rule or rule['table'] != 'anatomy' or not any('masquerade' in e for e in rule['expr']):
            continue
        for expr in rule['expr']:
            match = expr.get('match', {})
            if match.get('left') == {'payload': {'protocol': 'ip', 'field': 'saddr'}}:
                prefix = match['right']['prefix']
                sources.append('%s/%d' % (prefix['addr'], prefix['len']))
    return sources


def test_masquerade_rule_only_for_the_masqueraded_network(host):
    ruleset = _json(host, 'nft -j list ruleset')
    tables = [e['table'] for e in ruleset['nftables'] if 'table' in e]
    assert {'family': 'ip', 'name': 'anatomy'} in [{'family': t['family'], 'name': t['name']} for t in tables]
    sources = _masquerade_sources(ruleset)
    assert '10.88.0.0/16' in sources
    assert not [s for s in sources if s.startswith('10.89.')]


def test_state_root_directories(host):
    root = host.file(STATE_ROOT)
    assert root.is_directory and root.user == 'root' and root.mode == 0o711
    for sub in ('layers', 'volumes', 'workloads'):
        path = host.file('%s/%s' % (STATE_ROOT, sub))
        assert path.is_directory and path.user == 'root' and path.mode == 0o700


def test_resolv_conf_has_the_hosts_own_nameservers(host):
    wanted = [line.split()[1] for line in host.file('/etc/resolv.conf').content_string.splitlines()
              if line.split()[:1] == ['nameserver'] and ':' not in line and not line.split()[1].startswith('127.')]
    assert wanted, 'the lab host has no usable nameserver in /etc/resolv.conf'
    resolv = host.file(STATE_ROOT + '/resolv.conf')
    assert resolv.is_file and resolv.mode == 0o644
    written = [line.split()[1] for line in resolv.content_string.splitlines() if line.startswith('nameserver ')]
    assert written == wanted


def test_masqueraded_network_reaches_upstream_with_the_hosts_address(host):
    with workload(host, 'ctbr0', '10.88.0.50/16', '10.88.0.1') as inside:
        seen = host.check_output(inside + 'curl -sS -m5 http://%s/' % UPSTREAM)
    assert seen.strip() == _lab_address(host)


def test_routed_network_is_not_masqueraded(host):
    subnet, gateway, prefix = NETWORKS['ctbr1'][:3]
    with workload(host, 'ctbr1', '10.89.0.50/%d' % prefix, gateway) as inside:
        # Nothing upstream routes to 10.89.0.0/24: without masquerade the reply has nowhere to go.
        assert host.run(inside + 'curl -sS -m3 http://%s/' % UPSTREAM).rc != 0
        # Once the lab router routes the subnet to the host, the upstream sees the workload's own address.
        with lab_route(subnet, _lab_address(host)):
            seen = host.check_output(inside + 'curl -sS -m5 http://%s/' % UPSTREAM)
    assert seen.strip() == '10.89.0.50'


def test_networks_are_isolated_from_each_other(host):
    with workload(host, 'ctbr0', '10.88.0.51/16', '10.88.0.1') as in0, \
            workload(host, 'ctbr1', '10.89.0.51/24', '10.89.0.254') as in1:
        # Each reaches its own gateway...
        host.run_expect([0], in0 + 'ping -c1 -W2 10.88.0.1')
        host.run_expect([0], in1 + 'ping -c1 -W2 10.89.0.254')
        # ...but not the other network, either way.
        assert host.run(in0 + 'ping -c1 -W2 10.89.0.51').rc != 0
        assert host.run(in1 + 'ping -c1 -W2 10.88.0.51').rc != 0
