# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_forward on a real lab host, with real traffic, on nftables, iptables-nft and iptables-legacy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.ansible_runner import ansible_env, processes_marked
from tests.integration.test_nat_masquerade_topology import BACKENDS, NET_A, W1, W2, Topology

PF = 'anatomy.containers.port_forward'
NM = 'anatomy.containers.nat_masquerade'
LAB_ROUTER = '198.18.0.1'


@pytest.fixture(scope='module')
def topo(lab, host):
    topology = Topology(lab, host)
    topology.up()
    yield topology
    topology.down()


@pytest.fixture(params=BACKENDS)
def backend(request, ansible, host, topo):
    option = topo.use_backend(request.param)
    assert ansible(host, NM, {'backend': option, 'config': [{'subnet': NET_A}]})['_status'] == 'ok'
    yield option
    topo.use_backend('nftables')


def web(port=80, **extra):
    return dict({'host_port': port, 'destination': W2, 'destination_port': 8080}, **extra)


def url(address, port):
    return 'http://%s:%d/' % (address, port)


def test_published_port_works_from_everywhere(ansible, host, hosts, topo, backend):
    other = hosts[1]
    host.run('echo 0 > /proc/sys/net/ipv4/conf/nfbr0/route_localnet')
    assert topo.curl_from_lab(url(host.address, 80)) is None
    results = [ansible(host, PF, {'backend': backend, 'config': [web(comment='web')]}, check=check, diff=True)
               for check in (True, False, True, False)]
    assert [r['changed'] for r in results] == [True, True, False, False], [r.get('msg') for r in results]
    assert results[1]['after'] == [{'protocol': 'tcp', 'host_address': '0.0.0.0', 'host_port': '80',
                                    'destination': W2, 'destination_port': '8080', 'allowed_sources': [],
                                    'comment': 'web'}]
    assert 'net.ipv4.conf.nfbr0.route_localnet=1' in results[1]['sysctl']
    # From the lab network and from another machine: the workload sees the real client.
    assert topo.curl_from_lab(url(host.address, 80)) == LAB_ROUTER
    assert other.run('curl -sS -m3 %s' % url(host.address, 80)).stdout.strip() == other.address
    # From the host itself, on 127.0.0.1 and on its own address.
    assert topo.curl_from(None, url('127.0.0.1', 80)) == '10.88.0.1'
    assert topo.curl_from(None, url(host.address, 80)) == '10.88.0.1'
    # From a neighbour on the same bridge (hairpin).
    assert topo.curl_from('nfw1', url(host.address, 80)) == '10.88.0.1'
    # Deleted: gone everywhere, our objects with it (the NAT network stays).
    assert ansible(host, PF, {'backend': backend, 'state': 'deleted'})['changed']
    assert topo.curl_from_lab(url(host.address, 80)) is None
    assert topo.curl_from(None, url('127.0.0.1', 80)) is None


def test_allowed_sources(ansible, host, hosts, topo, backend):
    other = hosts[1]
    result = ansible(host, PF, {'backend': backend, 'config': [web(81, allowed_sources=[other.address + '/32'])]})
    assert result['changed'], result.get('msg')
    assert other.run('curl -sS -m3 %s' % url(host.address, 81)).stdout.strip() == other.address
    assert topo.curl_from_lab(url(host.address, 81)) is None
    ansible(host, PF, {'backend': backend, 'state': 'deleted'})


def test_loopback_only_port_is_not_reachable_from_the_network(ansible, host, lab, topo, backend):
    result = ansible(host, PF, {'backend': backend, 'config': [web(82, host_address='127.0.0.1')]})
    assert result['changed'], result.get('msg')
    assert topo.curl_from(None, url('127.0.0.1', 82)) == '10.88.0.1'
    assert topo.curl_from_lab(url(host.address, 82)) is None
    assert topo.curl_from(None, url(host.address, 82)) is None
    # moby#45610: a machine next to the host sends to 127.0.0.1 through the host's MAC address.
    mac = host.run("cat /sys/class/net/host0/address").stdout.strip()
    attacker = 'nfatk'
    lab.in_lab(['ip', 'netns', 'add', attacker], check=False)
    try:
        steps = [
            ['ip', 'link', 'add', 'atk0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', attacker],
            ['ip', 'link', 'set', 'atk0', 'master', 'labbr0', 'up'],
        ]
        for step in steps:
            lab.in_lab(step)
        inside = [
            'ip link set lo up', 'ip link set eth0 up', 'ip addr add 198.18.0.250/24 dev eth0',
            'ip route del local 127.0.0.0/8 dev lo table local',
            'ip route add 127.0.0.1/32 via 198.18.0.11 dev eth0',
            'ip neigh replace 198.18.0.11 lladdr %s dev eth0' % mac,
            'sysctl -qw net.ipv4.conf.eth0.route_localnet=1',
        ]
        for cmd in inside:
            lab.in_lab(['ip', 'netns', 'exec', attacker, 'sh', '-c', cmd])
        crafted = lab.in_lab(['ip', 'netns', 'exec', attacker, 'curl', '-sS', '-m3', '--interface', '198.18.0.250',
                              url('127.0.0.1', 82)], check=False)
        assert crafted.returncode != 0, crafted.stdout
    finally:
        lab.in_lab(['ip', 'link', 'del', 'atk0'], check=False)
        lab.in_lab(['ip', 'netns', 'del', attacker], check=False)
    ansible(host, PF, {'backend': backend, 'state': 'deleted'})


def test_nat_mode_lets_in_only_what_is_published(ansible, host, lab, topo, backend):
    lab.in_lab(['ip', 'route', 'replace', '10.88.0.0/16', 'via', host.address])
    try:
        assert ansible(host, PF, {'backend': backend, 'config': [web(83)]})['changed']
        assert topo.curl_from_lab(url(W2, 8080)) is None
        assert topo.curl_from_lab(url(host.address, 83)) == LAB_ROUTER
    finally:
        lab.in_lab(['ip', 'route', 'del', '10.88.0.0/16'], check=False)
        ansible(host, PF, {'backend': backend, 'state': 'deleted'})


def test_ranges_map_port_by_port(ansible, host, topo, backend):
    config = [web('9000-9001', destination_port='8079-8080'),
              web('9100-9101', destination=W1, destination_port=None, protocol='udp')]
    first = ansible(host, PF, {'backend': backend, 'config': config})
    assert first['changed'], first.get('msg')
    assert topo.curl_from_lab(url(host.address, 9001)) == LAB_ROUTER
    assert topo.curl_from_lab(url(host.address, 9000)) is None  # 8079: nothing listens
    again = ansible(host, PF, {'backend': backend, 'config': config})
    assert not again['changed']
    assert [i['destination_port'] for i in again['after']] == ['8079-8080', '9100-9101']
    ansible(host, PF, {'backend': backend, 'state': 'deleted'})


def test_the_same_port_published_twice_fails(ansible, host, topo, backend):
    twice = ansible(host, PF, {'backend': backend, 'config': [web(84), web(84, destination=W1)]})
    assert twice['_status'] == 'failed' and 'listed twice' in twice['msg']
    overlap = ansible(host, PF, {'backend': backend, 'config': [web(84), web('80-90', destination_port=None)]})
    assert overlap['_status'] == 'failed' and 'conflicts with' in overlap['msg']
    assert ansible(host, PF, {'backend': backend, 'config': [web(85)]})['changed']
    loop = ansible(host, PF, {'backend': backend, 'config': [web(85, host_address='127.0.0.1')]})
    assert loop['_status'] == 'failed' and 'conflicts with' in loop['msg'] and '0.0.0.0 is every address' in loop['msg']
    assert [i['host_port'] for i in ansible(host, PF, {'backend': backend, 'state': 'gathered'})['gathered']] == ['85']
    ansible(host, PF, {'backend': backend, 'state': 'deleted'})


def test_hand_made_rules_survive_every_state_and_teardown_is_clean(ansible, host, topo, backend):
    host.run('nft add table ip handmade; nft add chain ip handmade c "{ type nat hook prerouting priority -50; }"; '
             'nft add rule ip handmade c tcp dport 7777 counter; '
             'iptables -t nat -A PREROUTING -p tcp --dport 7777 -j RETURN; iptables -A FORWARD -d 10.77.0.0/16 -j DROP')

    def snapshot():
        return (host.run('nft list table ip handmade').stdout,
                host.run('iptables-save | grep -E -- "7777|10.77.0.0"').stdout)

    before = snapshot()
    steps = [('merged', [web(86)]), ('merged', [web(87)]), ('replaced', [web(86, comment='x')]),
             ('overridden', [web(88)]), ('deleted', [web(88)]), ('merged', [web(89)]), ('gathered', None),
             ('deleted', None)]
    for state, config in steps:
        params = {'backend': backend, 'state': state}
        if config is not None:
            params['config'] = config
        result = ansible(host, PF, params)
        assert result['_status'] == 'ok', (state, result.get('msg'))
        assert snapshot() == before, state
    assert ansible(host, NM, {'backend': backend, 'state': 'deleted'})['changed']
    assert topo.ours() == {'nft_table': False, 'iptables_lines': 0}
    assert snapshot() == before


KILL_MARK = 'ANATOMY_TEST_PLAYBOOK'


def _playbook(lab, host_name, tasks) -> tuple:
    """Start ansible-playbook on TASKS; return (process, mark): every process of the run carries KILL_MARK=mark."""
    play = [{'hosts': host_name, 'gather_facts': False, 'tasks': tasks}]
    tmp = Path(tempfile.mkdtemp(prefix='anatomy-it-kill-'))
    (tmp / 'play.yml').write_text(json.dumps(play))
    argv = [str(Path(sys.executable).with_name('ansible-playbook')), '-i', str(lab.inventory), str(tmp / 'play.yml')]
    mark = uuid.uuid4().hex
    proc = subprocess.Popen(argv, env=ansible_env({KILL_MARK: mark}), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, mark


def _kill_run(proc: subprocess.Popen, mark: str, timeout: float = 30) -> None:
    """SIGKILL the whole run, as a crash or an OOM kill would, and reap it: nothing of it outlives this call.

    Not only the process group: ansible-playbook's workers leave it (setsid) and its SSH masters daemonize.
    Every process with the run's mark is killed, again until none is left (one may have been forking).
    """
    deadline = time.monotonic() + timeout
    while True:
        left = processes_marked(KILL_MARK, mark)
        if not left:
            break
        if time.monotonic() > deadline:
            raise AssertionError('processes of a killed ansible-playbook run would not end: %r' % left)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.poll()  # reap ours: a zombie shows no mark
        time.sleep(0.05)
    proc.wait(timeout=timeout)


def test_a_kill_mid_run_never_leaves_half_a_rule_set(ansible, host, lab, topo, backend):
    big = [web(port, destination_port=8080) for port in range(20000, 20400, 2)]
    small = [web(80)]
    for attempt, delay in enumerate((0.8, 1.2, 1.6, 2.0, 2.4, 3.0)):
        config = big if attempt % 2 == 0 else small
        proc, mark = _playbook(lab, host.name, [{PF: {'backend': backend, 'config': config, 'state': 'overridden'}}])
        time.sleep(delay)
        # The whole run (ansible-playbook, its workers, their ssh): ours, by the mark it carries.
        _kill_run(proc, mark)
        # Whatever was loaded is whole: what is read back renders to exactly what is loaded.
        gathered = ansible(host, PF, {'backend': backend, 'state': 'gathered'})
        assert gathered['_status'] == 'ok', gathered.get('msg')
        assert len(gathered['gathered']) in (0, len(big), len(small)), len(gathered['gathered'])
    time.sleep(3)  # a module that outlived its controller finishes (the run lock serializes it anyway)
    final = ansible(host, PF, {'backend': backend, 'config': small, 'state': 'overridden'})
    assert final['_status'] == 'ok', final.get('msg')
    assert final['after'] == [dict(protocol='tcp', host_address='0.0.0.0', host_port='80', destination=W2,
                                   destination_port='8080', allowed_sources=[], comment='')]
    assert not ansible(host, PF, {'backend': backend, 'config': small, 'state': 'overridden'})['changed']
    assert topo.curl_from_lab(url(host.address, 80)) == LAB_ROUTER
    ansible(host, PF, {'backend': backend, 'state': 'deleted'})
