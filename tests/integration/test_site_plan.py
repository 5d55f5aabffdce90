# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml as a new user runs it, with a scenario unlike the demo: it thinks first and acts second.

Two networks (one routed), three workloads, a published range, a 127.0.0.1-only port and volumes. A bad
input fails with every problem named and changes nothing; --check --diff on a fresh host and on a changed
one changes nothing and announces exactly what the real run then does; a removed workload comes back
clean; the gateway's MAC does not move when workloads come. "Changes nothing" is a fingerprint of the
host's kernel, disk and units taken before and after.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.integration.ansible_runner import REPO, ansible_env

STATE = '/var/lib/anatomy'

NETWORKS = [
    {'name': 'front', 'subnet': '10.77.0.0/24'},
    {'name': 'back', 'subnet': '10.78.0.0/24', 'mode': 'routed', 'gateway': '10.78.0.254'},
]
LAYERS = [{'name': 'base', 'busybox': True},
          {'name': 'site', 'files': [{'path': 'www/index.html', 'content': 'front page\n'}]}]
SLEEP = ['/bin/sleep', '2147483647']


def workload(name, network='front', **extra):
    return dict({'name': name, 'network': network, 'layers': ['base'], 'command': SLEEP}, **extra)


SCENARIO = [
    workload('api', layers=['site', 'base'], published_ports=['18080-18082:8080-8082', '127.0.0.1:15432:5432'],
             volumes=[{'name': 'api-data', 'target': '/data'}],
             command=['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/www']),
    workload('worker', volumes=[{'name': 'api-data', 'target': '/shared', 'read_only': True}]),
    workload('db', network='back', address='10.78.0.10', published_ports=['127.0.0.1:15433:5432/udp']),
]

# What the collection can change on a host: links, addresses, routes, namespaces, rules, sysctls, mounts,
# files under the state root and elsewhere, units.
# IPv6 link-local addresses and their routes are left out: the kernel adds them by itself, seconds after a link
# gets its carrier, whatever a run did.
FINGERPRINT = r"""
ip -d -j link show | python3 -c 'import json,sys; print(json.dumps(sorted((l["ifname"], l.get("address"),
  l.get("ifalias"), l.get("master"), l.get("mtu"), l["operstate"]) for l in json.load(sys.stdin))))'
ip -j addr | python3 -c 'import json,sys; print(json.dumps(sorted((l["ifname"], a["local"], a["prefixlen"])
  for l in json.load(sys.stdin) for a in l["addr_info"] if not a["local"].startswith("fe80:"))))'
ip route show table all | grep -v fe80: | sort
ip netns list | sort
nft list ruleset
iptables-save | grep -v '^#'
sysctl -n net.ipv4.ip_forward
awk '{print $5, $9, $10}' /proc/self/mountinfo | sort
find /var/lib/anatomy /etc/sysctl.d /etc/systemd/system -xdev -printf '%p %m %s %U\n' 2>/dev/null | sort
systemctl list-units --all --no-legend 'anatomy-*' | awk '{print $1, $3, $4}' | sort
"""


def run_site(lab, variables, check=False, diff=False, playbook='site.yml'):
    """ansible-playbook PLAYBOOK against the lab's first host, as a user runs it; (rc, output, results)."""
    with tempfile.TemporaryDirectory(prefix='anatomy-it-site-') as tmp:
        extra = Path(tmp) / 'vars.json'
        extra.write_text(json.dumps(variables))
        record = Path(tmp) / 'results.jsonl'
        argv = [str(Path(sys.executable).with_name('ansible-playbook')), '-i', str(lab.inventory),
                '--limit', lab.hosts[0].name, '-e', '@%s' % extra, str(REPO / playbook)]
        argv += ['--check'] if check else []
        argv += ['--diff'] if diff else []
        proc = subprocess.run(argv, env=ansible_env({'ANATOMY_RECORD': str(record)}), capture_output=True, text=True,
                              timeout=600, check=False)
        results = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    return proc.returncode, proc.stdout + proc.stderr, results


def site_vars(workloads=None, networks=None, layers=None):
    return {'container_host_networks': NETWORKS if networks is None else networks,
            'workload_layers': LAYERS if layers is None else layers,
            'workload_list': SCENARIO if workloads is None else workloads}


def changed_tasks(results):
    return sorted({r['_task'] for r in results if r.get('changed') and r['_status'] == 'ok'})


def fingerprint(host):
    return host.run(FINGERPRINT).stdout


def converge(lab, variables):
    rc, out, results = run_site(lab, variables)
    assert rc == 0, out[-3000:]
    return results


def teardown(lab):
    rc, out, _results = run_site(lab, {'teardown_purge_volumes': True}, playbook='playbooks/teardown.yml')
    assert rc == 0, out[-3000:]


@pytest.fixture
def host(lab):
    """The first lab host with nothing of ours on it, before and after (the teardown playbook, as a user runs it)."""
    teardown(lab)
    yield lab.hosts[0]
    teardown(lab)


BAD_INPUTS = {
    'host port out of range': (
        [workload('api', published_ports=['8080:80', '70000:80'])],
        "workload 'api': published_ports[1] '70000:80': host port must be 1-65535"),
    'a port another workload publishes': (
        [workload('api', published_ports=['8080:80']), workload('web', published_ports=['127.0.0.1:8080:80'])],
        "workload 'web': published_ports[0] '127.0.0.1:8080:80': tcp port 8080 is also published by workload 'api'"),
    'a layer that does not exist': (
        [workload('api', layers=['nope', 'base'])], "workload 'api': layers[0] 'nope' is not one of workload_layers"),
    'a volume target outside the workload': (
        [workload('api', volumes=[{'name': 'v', 'target': '../../etc'}])],
        "workload 'api': volumes[0]: target '../../etc' must be an absolute path inside the workload"),
    'an unknown network': (
        [workload('api', network='nowhere')], "workload 'api': network 'nowhere' is not one of container_host_networks"),
    # Resolved in the workload's own /etc/passwd, as its layers make it, before anything changes.
    'a user the workload does not know': (
        [workload('api', user='www-data')], "workload 'api': user 'www-data' is not in the workload's /etc/passwd"),
    'a restart policy Docker does not have': (
        [workload('api', restart='sometimes')], "workload 'api': restart must be no, on-failure, on-failure:MAX"),
}


@pytest.mark.parametrize('case', sorted(BAD_INPUTS))
def test_bad_input_fails_naming_it_and_changes_nothing(lab, host, case):
    workloads, message = BAD_INPUTS[case]
    for stage in ('fresh host', 'converged host'):
        before = fingerprint(host)
        rc, out, results = run_site(lab, site_vars([workload('keep')] + workloads))
        assert rc != 0, out[-3000:]
        failed = [r for r in results if r['_status'] == 'failed']
        assert len(failed) == 1 and 'Read the host, plan' in failed[0]['_task'], out[-3000:]
        assert message in failed[0]['errors'][0] or any(message in e for e in failed[0]['errors'])
        assert 'Finalization of task args' not in out and 'filter plugin' not in out
        assert not [r for r in results if r.get('changed')]
        assert fingerprint(host) == before, stage
        if stage == 'fresh host':
            converge(lab, site_vars([workload('keep')]))


def test_every_problem_is_reported_at_once(lab, host):
    rc, out, results = run_site(lab, site_vars(
        [workload('api', published_ports=['70000:80'], user='no body'), workload('api', network='x')],
        networks=NETWORKS + [{'name': 'clash', 'subnet': '10.77.0.128/25'}]))
    assert rc != 0
    errors = [r for r in results if r['_status'] == 'failed'][0]['errors']
    assert len(errors) >= 4, errors
    assert any("the subnets of 'front' (10.77.0.0/24) and 'clash' (10.77.0.128/25) overlap" in e for e in errors)
    assert any("workload 'api' is listed twice" in e for e in errors)


def test_check_mode_previews_a_first_run_and_changes_exactly_as_announced(lab, host):
    before = fingerprint(host)
    rc, out, check_results = run_site(lab, site_vars(), check=True, diff=True)
    assert rc == 0, out[-4000:]
    assert fingerprint(host) == before
    announced = changed_tasks(check_results)
    assert any('Network namespaces' in t for t in announced) and any('bridges' in t for t in announced)
    real = converge(lab, site_vars())
    assert changed_tasks(real) == announced

    # Added (cache), changed (worker's environment) and removed (db) workloads, in check mode, then for real.
    changed = [w for w in SCENARIO if w['name'] != 'db'] + [workload('cache', network='back')]
    changed[1] = dict(changed[1], environment={'MODE': 'busy'})
    before = fingerprint(host)
    rc, out, check_results = run_site(lab, site_vars(changed), check=True, diff=True)
    assert rc == 0, out[-4000:]
    assert fingerprint(host) == before
    announced = changed_tasks(check_results)
    real = converge(lab, site_vars(changed))
    assert changed_tasks(real) == announced
    assert sorted(line.split()[0] for line in host.run('ip netns list').stdout.splitlines()) == ['api', 'cache', 'worker']

    # Nothing to change: nothing changed, nothing but the plan ran.
    again = converge(lab, site_vars(changed))
    assert changed_tasks(again) == []


def test_a_removed_workload_comes_back_from_its_layers_and_keeps_its_volume(lab, host):
    converge(lab, site_vars())
    host.run('echo scribbled > %s/workloads/api/rootfs/scribble && echo kept > %s/workloads/api/rootfs/data/kept'
             % (STATE, STATE))
    converge(lab, site_vars([w for w in SCENARIO if w['name'] != 'api']))
    assert host.run('test -e %s/workloads/api' % STATE, check=False).returncode != 0, 'the workload directory stays'
    converge(lab, site_vars())
    assert host.run('test -e %s/workloads/api/rootfs/scribble' % STATE, check=False).returncode != 0
    assert host.run('cat %s/workloads/api/rootfs/data/kept' % STATE).stdout == 'kept\n'


def test_the_gateway_mac_stays_when_workloads_come(lab, host):
    converge(lab, site_vars([workload('zz')]))
    mac = host.json('ip -j link show front')[0]['address']
    # Peers with MACs lower than the bridge's would become its address if the bridge took its ports' lowest.
    converge(lab, site_vars([workload('zz')] + [workload('w%d' % i, address='10.77.0.%d' % (2 + i)) for i in range(8)]))
    assert host.json('ip -j link show front')[0]['address'] == mac
