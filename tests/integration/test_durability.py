# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Durable hosts: after a reboot or a firewall reload, with no Ansible run, everything comes back by itself.

A lab host converged by site.yml with the demo's web server and a second scenario (two networks, one routed, a
published range, 127.0.0.1-only ports, a shared volume) is rebooted (a clean halt, or a power cut: nspawn
killed) or has its firewall wiped (``nft flush ruleset``, a restart of Debian's nftables service, of
netfilter-persistent, a firewalld reload). Then, with no Ansible run: the published ports answer from the lab
network, workloads reach each other by name and the upstream server through masquerade, volumes hold their
data, rules of others are left as they are, and the next site.yml reports changed=0.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.ansible_runner import REPO, ansible_env
from tests.integration.test_port_forward import KILL_MARK, _kill_run
from tests.integration.test_site_plan import LAYERS, NETWORKS, SCENARIO, changed_tasks, converge, run_site, teardown, workload

CRUN = 'crun --root /run/anatomy/crun'
WEB = workload('web', layers=['site', 'base'], published_ports=['80:8080'],
               command=['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/www'])
WORKLOADS = SCENARIO + [WEB]
NAMES = sorted(w['name'] for w in WORKLOADS)


def site_vars(backend='nftables'):
    return {'container_host_networks': NETWORKS, 'workload_layers': LAYERS, 'workload_list': WORKLOADS,
            'container_host_netfilter_backend': backend}


def eventually(check, timeout=20.0, what='the condition'):
    """check() until it returns a true value (returned) or the timeout passes (AssertionError with its last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('%s not met after %.0f s; last: %r' % (what, timeout, value))
        time.sleep(0.5)


def fetch_from_lab(lab, host, port):
    out = lab.in_lab(['curl', '-sS', '--max-time', '3', 'http://%s:%d/' % (host.address, port)], check=False)
    return out.stdout if out.returncode == 0 else None


def in_workload(host, name, command, check=True):
    return host.run('%s exec %s %s' % (CRUN, name, command), check=check)


def our_rules(host, backend):
    if backend == 'nftables':
        return host.run('nft list table ip anatomy', check=False).stdout
    return host.run("iptables-save | grep -i anatomy | grep -v '^#'", check=False).stdout


def assert_everything_works(lab, host):
    """What a user of the host sees: every workload runs, ports answer, names resolve, masquerade, volumes."""
    eventually(lambda: all(state == 'active' for state in host.run(
        'systemctl is-active %s' % ' '.join('anatomy-workload-%s' % name for name in NAMES), check=False).stdout.split()),
        what='every workload active')
    assert eventually(lambda: fetch_from_lab(lab, host, 80), what='port 80 from the lab') == 'front page\n'
    assert eventually(lambda: fetch_from_lab(lab, host, 18080), what='port 18080 from the lab') == 'front page\n'
    assert fetch_from_lab(lab, host, 15432) is None, 'a 127.0.0.1-only port answers from the lab network'
    assert in_workload(host, 'worker', 'wget -q -O- http://api:8080/').stdout == 'front page\n'
    assert in_workload(host, 'worker', 'wget -q -O- http://web:8080/').stdout == 'front page\n'
    seen_as = in_workload(host, 'worker', 'wget -q -O- http://%s/' % lab_upstream(lab)).stdout.strip()
    assert seen_as == host.address, 'the upstream server sees %r, not the host' % seen_as
    assert in_workload(host, 'worker', 'cat /shared/kept').stdout == 'kept across\n'


def lab_upstream(lab):
    from tests.lab.lab import UPSTREAM_SERVER
    return UPSTREAM_SERVER


@pytest.fixture
def durable_host(lab):
    """The first lab host converged with the scenario (nftables), torn down after."""
    host = lab.hosts[0]
    teardown(lab)
    converge(lab, site_vars())
    in_workload(host, 'api', "sh -c 'echo kept across > /data/kept'")
    yield host
    teardown(lab)


@pytest.mark.parametrize('power_cut', [False, True], ids=['clean-reboot', 'power-cut'])
def test_a_reboot_brings_everything_back_with_no_ansible_run(lab, durable_host, power_cut):
    host = durable_host
    assert_everything_works(lab, host)
    rules = our_rules(host, 'nftables')
    durable_host.reboot(power_cut=power_cut)
    assert host.run('systemctl is-active anatomy-restore.service').stdout.strip() == 'active'
    assert_everything_works(lab, host)
    assert our_rules(host, 'nftables') == rules
    # Booted twice as fast as Ansible would be no use if the next run changed things back and forth.
    rc, out, results = run_site(lab, site_vars())
    assert rc == 0, out[-3000:]
    assert changed_tasks(results) == []


FOREIGN = "nft add table inet others && nft add chain inet others input '{ type filter hook input priority 10; }' " \
          "&& nft add rule inet others input tcp dport 9 counter accept comment keep-me"

NFTABLES_WIPES = {
    'nft flush ruleset': 'nft flush ruleset && ' + FOREIGN,
    'systemctl restart nftables': FOREIGN + ' && systemctl restart nftables && ' + FOREIGN,
}


@pytest.mark.parametrize('wipe', sorted(NFTABLES_WIPES))
def test_our_rules_come_back_after_the_firewall_is_wiped(lab, durable_host, wipe):
    host = durable_host
    rules = our_rules(host, 'nftables')
    started = time.monotonic()
    host.run(NFTABLES_WIPES[wipe])
    eventually(lambda: our_rules(host, 'nftables') == rules, timeout=10, what='our rules back')
    back_in = time.monotonic() - started
    assert back_in < 10
    assert 'keep-me' in host.run('nft list table inet others').stdout, "the others' rules were touched"
    assert_everything_works(lab, host)
    rc, out, results = run_site(lab, site_vars())
    assert rc == 0, out[-3000:]
    assert changed_tasks(results) == []


FOREIGN_V4 = ('*filter\\n:INPUT ACCEPT [0:0]\\n:FORWARD ACCEPT [0:0]\\n:OUTPUT ACCEPT [0:0]\\n'
              '-A INPUT -p tcp -m tcp --dport 9 -m comment --comment keep-me -j ACCEPT\\nCOMMIT\\n')
IPTABLES_WIPES = {
    'iptables -F and -X': 'iptables -t nat -F && iptables -t nat -X && iptables -F && iptables -X',
    # Flushes every table, then loads the saved rules: others' only.
    'netfilter-persistent restart': "printf '%s' > /etc/iptables/rules.v4 && systemctl restart netfilter-persistent"
                                    % FOREIGN_V4,
}


@pytest.mark.parametrize('variant', ['nft', 'legacy'])
@pytest.mark.parametrize('wipe', sorted(IPTABLES_WIPES))
def test_on_an_iptables_host_our_chains_come_back(lab, wipe, variant):
    host = lab.hosts[0]
    teardown(lab)
    try:
        host.run('update-alternatives --quiet --set iptables /usr/sbin/iptables-%s' % variant)
        converge(lab, site_vars('iptables'))
        in_workload(host, 'api', "sh -c 'echo kept across > /data/kept'")
        rules = our_rules(host, 'iptables')
        assert 'ANATOMY' in rules.upper()
        host.run(IPTABLES_WIPES[wipe])
        eventually(lambda: our_rules(host, 'iptables') == rules, timeout=10, what='our chains back')
        if 'persistent' in wipe:
            assert 'keep-me' in host.run('iptables -S INPUT').stdout
        assert_everything_works(lab, host)
        rc, out, results = run_site(lab, site_vars('iptables'))
        assert rc == 0, out[-3000:]
        assert changed_tasks(results) == []
    finally:
        teardown(lab)
        host.run('rm -f /etc/iptables/rules.v4; iptables -F INPUT; '
                 'update-alternatives --quiet --set iptables /usr/sbin/iptables-nft', check=False)


def test_under_firewalld_workloads_work_and_a_reload_leaves_our_rules_in_place(lab, durable_host):
    host = durable_host
    rules = our_rules(host, 'nftables')
    try:
        host.run('systemctl start firewalld && firewall-cmd --state')
        eventually(lambda: our_rules(host, 'nftables') == rules, timeout=10, what='our rules after firewalld started')
        assert_everything_works(lab, host)
        host.run('firewall-cmd --reload')
        eventually(lambda: our_rules(host, 'nftables') == rules, timeout=10, what='our rules after a reload')
        assert 'firewalld' in host.run('nft list tables').stdout
        assert_everything_works(lab, host)
        # Our bridges are in our zone, which accepts their traffic; firewalld rejects forwarding in its default zone.
        assert host.run('firewall-cmd --get-zone-of-interface=front').stdout.strip() == 'anatomy'
        rc, out, results = run_site(lab, site_vars())
        assert rc == 0, out[-3000:]
        assert changed_tasks(results) == []
        # The teardown takes our zone away, and firewalld goes on without it.
        teardown(lab)
        assert host.run('test -e /etc/firewalld/zones/anatomy.xml', check=False).returncode == 1
        assert 'anatomy' not in host.run('firewall-cmd --get-zones').stdout.split()
        assert host.run('firewall-cmd --state').stdout.strip() == 'running'
    finally:
        host.run('systemctl stop firewalld', check=False)


def test_a_workload_whose_restore_fails_is_reported_by_systemd_and_the_others_come_back(lab, durable_host):
    host = durable_host
    # Its writable layer is a file now: its root filesystem cannot be mounted at boot.
    host.run('rm -rf /var/lib/anatomy/workloads/db/upper && touch /var/lib/anatomy/workloads/db/upper')
    try:
        host.reboot()
        _assert_db_fails_alone(lab, host)
    finally:
        host.run('rm -f /var/lib/anatomy/workloads/db/upper', check=False)
    # The next run repairs it, and it starts.
    converge(lab, site_vars())
    eventually(lambda: host.run('systemctl is-active anatomy-workload-db', check=False).stdout.strip() == 'active',
               what='the repaired workload active')


def _assert_db_fails_alone(lab, host):
    status = host.json('cat /run/anatomy/restore/status.json')
    assert list(status['failed']) == ['db'] and not status['failed_host'], status

    # Its start fails with the reason in its journal (and, restart: on-failure, keeps failing until it is repaired).
    def reason():
        text = host.run('journalctl -b -u anatomy-workload-db --no-pager').stdout
        return text if 'restore at boot failed' in text else None

    journal = eventually(reason, what='the reason in the journal')
    assert 'overlay_mount' in journal, journal[-2000:]
    assert host.run('systemctl is-active anatomy-workload-db', check=False).stdout.strip() != 'active'
    assert host.run('%s state db' % CRUN, check=False).returncode != 0, 'the container runs'
    assert eventually(lambda: fetch_from_lab(lab, host, 80), what='the others') == 'front page\n'
    assert in_workload(host, 'worker', 'cat /shared/kept').stdout == 'kept across\n'


def test_teardown_removes_the_restore_program_its_units_and_records(lab, durable_host):
    host = durable_host
    assert host.run('ls /var/lib/anatomy/restore').stdout.split() == sorted(
        ['bind_volume.json', 'bridge.json', 'nat_masquerade.json', 'netns.json', 'netns_addr.json',
         'overlay_mount.json', 'port_forward.json', 'veth.json'])
    # Made again at boot, the mounts' records on /run no longer know which dirs were made: the restore record does.
    host.reboot()
    rc, out, _results = run_site(lab, {}, playbook='playbooks/teardown.yml')
    assert rc == 0, out[-3000:]
    left = host.run('ls -d /usr/local/sbin/anatomy-restore /etc/systemd/system/anatomy-* 2>/dev/null; '
                    # Units systemd still names as not-found (gone from disk, not running) are no one's.
                    'systemctl list-units --all --no-legend "anatomy-*" | grep -v " not-found inactive dead "; '
                    'find /var/lib/anatomy -mindepth 1 -maxdepth 2', check=False).stdout.split()
    # Only the volume kept (no purge asked for): no record, layer, workload directory or file of ours.
    assert left == ['/var/lib/anatomy/volumes', '/var/lib/anatomy/volumes/api-data'], left
    assert host.run('cat /var/lib/anatomy/volumes/api-data/_data/kept').stdout == 'kept across\n'
    teardown(lab)
    assert host.run('find /var/lib/anatomy -mindepth 1').stdout == ''


def start_site(lab, variables):
    """site.yml started in the background; (process, mark): every process of the run carries KILL_MARK=mark."""
    tmp = Path(tempfile.mkdtemp(prefix='anatomy-it-crash-'))
    (tmp / 'vars.json').write_text(json.dumps(variables))
    argv = [str(Path(sys.executable).with_name('ansible-playbook')), '-i', str(lab.inventory), '--limit',
            lab.hosts[0].name, '-e', '@%s' % (tmp / 'vars.json'), str(REPO / 'site.yml')]
    mark = uuid.uuid4().hex
    proc = subprocess.Popen(argv, env=ansible_env({KILL_MARK: mark}), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, mark


def assert_exactly(host, workloads):
    """What the host holds is what the workloads need, each thing once: no orphan and no address given twice."""
    names = sorted(w['name'] for w in workloads)
    assert sorted(line.split()[0] for line in host.run('ip netns list').stdout.splitlines()) == names
    veths = [line.split('@')[0] for line in host.run('ip -br link show type veth').stdout.split('\n') if line]
    assert sorted(name for name in veths if name.startswith('veth-')) == sorted('veth-' + name for name in names)
    units = host.run('ls /etc/systemd/system | grep "^anatomy-workload-.*\\.service$"', check=False).stdout.split()
    assert sorted(units) == sorted('anatomy-workload-%s.service' % name for name in names)
    addresses = [host.run('ip -n %s -4 -br addr show eth0' % name).stdout.split()[2] for name in names]
    assert len(set(addresses)) == len(addresses), addresses
    overlays = host.run("awk '$9 == \"overlay\" && $5 ~ /^\\/var\\/lib\\/anatomy\\// {print $5}' /proc/self/mountinfo").stdout.split()
    assert sorted(overlays) == sorted('/var/lib/anatomy/workloads/%s/rootfs' % name for name in names)
    assert sorted(host.run('ls /var/lib/anatomy/workloads | grep -v addresses.json', check=False).stdout.split()) == names
    recorded = host.json('cat /var/lib/anatomy/restore/netns.json')['params']['config']
    assert sorted(item['name'] for item in recorded) == names


def test_site_killed_at_any_point_then_run_again_converges_with_nothing_leaked(lab):
    host = lab.hosts[0]
    fewer = dict(site_vars(), workload_list=[w for w in WORKLOADS if w['name'] in ('web', 'worker', 'db')])
    teardown(lab)
    try:
        # From a fresh host, from a converged one going to fewer workloads, and back: kills land in every phase
        # of a run (the plan, the host's tasks, each workload task, the services).
        for attempt, delay in enumerate((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.5, 9.0)):
            variables = fewer if attempt % 3 == 1 else site_vars()
            proc, mark = start_site(lab, variables)
            time.sleep(delay)
            _kill_run(proc, mark)
            # A module that outlived its controller finishes.
            time.sleep(3)
            converge(lab, variables)
            assert_exactly(host, variables['workload_list'])
            rc, out, results = run_site(lab, variables)
            assert rc == 0 and changed_tasks(results) == [], out[-3000:]
            if attempt % 3 == 2:
                teardown(lab)
        assert eventually(lambda: fetch_from_lab(lab, host, 80), what='port 80') == 'front page\n'
    finally:
        teardown(lab)


@pytest.mark.parametrize('delay', [2.0, 5.0])
def test_two_runs_at_once_end_as_the_later_plan_says(lab, delay):
    """An operator and AWX at once: the run that planned later converges the host; the earlier one succeeds (it was
    done first) or stops cleanly at its next task, saying why. Nothing is lost or doubled."""
    host = lab.hosts[0]
    earlier = dict(site_vars(), workload_list=[w for w in WORKLOADS if w['name'] in ('web', 'api', 'worker')])
    later = dict(site_vars(), workload_list=[w for w in WORKLOADS if w['name'] in ('web', 'db', 'worker')])
    teardown(lab)
    try:
        outcome = {}
        first = threading.Thread(target=lambda: outcome.update(earlier=run_site(lab, earlier)))
        first.start()
        time.sleep(delay)
        second = threading.Thread(target=lambda: outcome.update(later=run_site(lab, later)))
        second.start()
        first.join(600)
        second.join(600)
        rc, out, _results = outcome['later']
        assert rc == 0, out[-3000:]
        rc, out, results = outcome['earlier']
        if rc != 0:
            failed = [r for r in results if r['_status'] == 'failed']
            assert len(failed) == 1 and 'another run planned this host after this run did' in failed[0]['msg'], out[-3000:]
        assert_exactly(host, later['workload_list'])
        rc, out, results = run_site(lab, later)
        assert rc == 0 and changed_tasks(results) == [], out[-3000:]
        assert eventually(lambda: fetch_from_lab(lab, host, 80), what='port 80') == 'front page\n'
    finally:
        teardown(lab)


def _demo(lab, playbook):
    argv = [str(Path(sys.executable).with_name('ansible-playbook')), '-i', str(lab.inventory), '-i',
            str(REPO / 'inventories' / 'demo'), '--limit', lab.hosts[0].name, str(REPO / playbook)]
    proc = subprocess.run(argv, env=ansible_env(), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc.stdout


def test_the_demo_comes_back_after_a_power_cut(lab):
    """make site's demo, as a newcomer runs it: after a power cut, demo_check passes with no site.yml run."""
    host = lab.hosts[0]
    lab.registry.push_test_images()
    teardown(lab)
    try:
        _demo(lab, 'site.yml')
        host.reboot(power_cut=True)
        eventually(lambda: host.run('systemctl is-active anatomy-workload-server anatomy-workload-client',
                                    check=False).returncode == 0, what='the demo workloads active')
        assert 'anatomy lab: python:3-slim' in _demo(lab, 'playbooks/demo_check.yml')
        recap = _demo(lab, 'site.yml').rsplit('PLAY RECAP', 1)[-1]
        assert 'changed=0' in recap and 'failed=0' in recap, recap
    finally:
        teardown(lab)
