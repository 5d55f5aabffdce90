# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""preview on a real lab host: what would change on a fresh host, nothing changed by asking, nothing after a real run.

The module tasks are those the roles run for one network and two workloads, their configs made by the workload
role's own plan. Each task is previewed against the host as it is: until check mode assumes what an earlier task
would create, a task is previewed once its prerequisites exist (STAGES).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.integration.ansible_runner import ansible_env

from ansible_collections.anatomy.containers.plugins.module_utils._host_plan import plan_host

M = 'anatomy.containers.'
STATE = '/var/lib/anatomy/it-preview'
NETWORK = {'name': 'pvbr0', 'subnet': '10.77.0.0/24'}
COMMAND = ['/bin/sh', '-c', 'exec /bin/busybox httpd -f -p 8080 -h /www']
WORKLOADS = [
    {'name': 'pva', 'network': 'pvbr0', 'layers': ['pv-files', 'pv-base'], 'published_ports': ['18080:8080'],
     'volumes': [{'name': 'pva-data', 'target': '/data'}], 'command': COMMAND},
    {'name': 'pvb', 'network': 'pvbr0', 'layers': ['pv-files', 'pv-base'], 'command': COMMAND},
]
LAYERS = [{'name': 'pv-base', 'busybox': True},
          {'name': 'pv-files', 'files': [{'path': 'www/index.html', 'content': 'preview\n'}]}]
# The stages the test applies one after the other, previewing each before and after: a real run of veth needs the
# bridge and namespace, netns_addr the veth, overlay_mount the layers, bind_volume the overlay, workload_service the
# root filesystem. (That check mode previews all of them on a fresh host is tested through site.yml in
# test_site_plan.py.)
STAGES = [('bridges', 'nat', 'netns', 'ports', 'layers'), ('veth', 'overlays'), ('addresses', 'binds'), ('services',)]


def module_tasks() -> list:
    """The preview's tasks: each module task of the roles, with labels naming the network or workload."""
    workloads = plan_host([NETWORK], WORKLOADS, LAYERS, STATE, None, 'nameserver 192.0.2.53\n')
    by_root = {'%s/workloads/%s/rootfs' % (STATE, w['name']): w['name'] for w in WORKLOADS}

    def labels(items, field, by=None):
        return ["workload '%s'" % (by[item[field]] if by else item[field]) for item in items]

    net_label = ["network '%s'" % NETWORK['name']]
    return [
        {'id': 'bridges', 'module': 'bridge', 'labels': net_label, 'params': {
            'config': [{'name': NETWORK['name'], 'addresses': ['10.77.0.1/24']}], 'state': 'overridden'}},
        {'id': 'nat', 'module': 'nat_masquerade', 'labels': net_label, 'params': {
            'config': [{'subnet': NETWORK['subnet']}], 'state': 'overridden'}},
        {'id': 'netns', 'module': 'netns', 'labels': labels(workloads['netns'], 'name'), 'params': {
            'config': workloads['netns'], 'state': 'overridden'}},
        {'id': 'veth', 'module': 'veth', 'labels': labels(workloads['veth'], 'netns'), 'params': {
            'config': workloads['veth'], 'state': 'overridden'}},
        {'id': 'addresses', 'module': 'netns_addr', 'labels': labels(workloads['netns_addr'], 'netns'), 'params': {
            'config': workloads['netns_addr'], 'state': 'overridden'}},
        {'id': 'ports', 'module': 'port_forward', 'labels': ["workload 'pva'"], 'params': {
            'config': workloads['published_ports'], 'state': 'overridden'}},
        {'id': 'layers', 'module': 'layer', 'labels': ["layer '%s'" % layer['name'] for layer in LAYERS], 'params': {
            'config': LAYERS, 'layers_root': STATE + '/layers', 'state': 'merged'}},
        {'id': 'overlays', 'module': 'overlay_mount', 'labels': labels(workloads['overlays'], 'path', by_root),
         'params': {'config': workloads['overlays'], 'state': 'overridden'}},
        {'id': 'binds', 'module': 'bind_volume', 'labels': labels(workloads['volumes'], 'root', by_root), 'params': {
            'config': workloads['volumes'], 'volumes_root': STATE + '/volumes', 'state': 'overridden'}},
        {'id': 'services', 'module': 'workload_service', 'labels': labels(workloads['services'], 'name'), 'params': {
            'config': workloads['services'], 'state': 'overridden'}},
    ]


def real_task(task: dict) -> dict:
    return {'name': task['id'], M + task['module']: task['params']}


TEARDOWN = [
    {M + 'workload_service': {'state': 'deleted'}},
    {M + 'bind_volume': {'state': 'deleted', 'volumes_root': STATE + '/volumes', 'purge': True}},
    {M + 'overlay_mount': {'state': 'deleted', 'purge': True}},
    {M + 'port_forward': {'state': 'deleted'}},
    {M + 'netns': {'state': 'deleted'}},
    {M + 'veth': {'state': 'deleted'}},
    {M + 'nat_masquerade': {'state': 'deleted'}},
    {M + 'bridge': {'state': 'deleted'}},
    {M + 'layer': {'state': 'deleted', 'layers_root': STATE + '/layers'}},
]

FINGERPRINT = ' ; echo ==; '.join([
    'ip -j link', 'ip -j addr', 'ip -j route', 'ip netns list',
    'for ns in $(ip netns list | cut -d" " -f1); do ip -n $ns -j addr; ip -n $ns -j route; done',
    'nft list ruleset', 'iptables-save | grep -v "^#"', 'sysctl -n net.ipv4.ip_forward',
    # Not nspawn's /run/host/: another lab of the machine coming or going changes what those show.
    "awk '$5 !~ \"^/run/host/\"' /proc/self/mountinfo",
    'ls -l --time-style=+%s /etc/systemd/system | grep anatomy || true', 'cat /etc/systemd/system/anatomy-* 2>/dev/null || true',
    'find %s /run/anatomy -printf "%%p %%s %%m %%T@\\n" 2>/dev/null | sort || true' % STATE,
])


def fingerprint(host) -> str:
    """What the modules could change: links, addresses, routes, namespaces, rules, sysctl, mounts, units, files."""
    text = host.run(FINGERPRINT).stdout
    # IPv6 link-local addresses come and go (tentative, then not) by the kernel's own doing, seconds after a link is up.
    text = re.sub(r',?\{"family":"inet6","local":"fe80::[^{}]*\},?', '', text)
    # Packet counters move with traffic, not with us.
    return re.sub(r'(packets|bytes) \d+', r'\1 N', text)


def run_preview(ansible, host, tasks: list) -> dict:
    result = ansible(host, M + 'preview', {'tasks': tasks})
    assert result['changed'] is False
    result['failed'] = result['_status'] == 'failed'
    return result


@pytest.fixture
def host(hosts, ansible):
    host = hosts[0]
    ansible.tasks(host, TEARDOWN)
    host.run('ip link del pvbr9 2>/dev/null; rm -rf %s' % STATE)
    yield host
    ansible.tasks(host, TEARDOWN)
    host.run('ip link del pvbr9 2>/dev/null; rm -rf %s' % STATE)


def test_preview_reports_what_would_change_and_changes_nothing(ansible, host):
    tasks = {task['id']: task for task in module_tasks()}
    assert sorted(i for stage in STAGES for i in stage) == sorted(tasks)
    for stage in STAGES:
        ids = list(stage)
        before = fingerprint(host)
        result = run_preview(ansible, host, [tasks[i] for i in ids])
        assert not result.get('failed'), result.get('msg')
        assert result['would_change'] == ids
        assert result['tasks'] == {i: {'changed': True} for i in ids}
        assert fingerprint(host) == before, 'the preview of %s changed the host' % ids

        # The real module tasks, then the preview sees nothing left to do for them.
        applied = ansible.tasks(host, [real_task(tasks[i]) for i in ids])
        assert [r['_status'] for r in applied] == ['ok'] * len(ids), [r.get('msg') for r in applied]
        assert all(r['changed'] for r in applied)
        result = run_preview(ansible, host, [tasks[i] for i in ids])
        assert result['would_change'] == [] and not result.get('failed'), result

    # The no-change re-run: all tasks at once, nothing to do, nothing changed by asking.
    before = fingerprint(host)
    result = run_preview(ansible, host, list(tasks.values()))
    assert not result.get('failed'), result.get('msg')
    assert result['would_change'] == []
    assert result['tasks'] == {i: {'changed': False} for i in tasks}
    assert fingerprint(host) == before
    # And the modules agree: in check mode none of them would change anything either.
    checked = ansible.tasks(host, [real_task(task) for task in tasks.values()], check=True)
    assert [(r['_task'], r['_status'], r['changed']) for r in checked] == [(i, 'ok', False) for i in tasks]

    # Drift: a workload's service stopped, a namespace's address removed by hand: exactly those tasks would change.
    host.run('systemctl stop anatomy-workload-pvb.service; ip -n pva addr flush dev eth0')
    drifted = run_preview(ansible, host, list(tasks.values()))
    assert drifted['would_change'] == ['addresses', 'services'] and not drifted.get('failed'), drifted


def test_a_foreign_object_fails_the_preview_naming_the_label(ansible, host):
    host.run('ip link add pvbr9 type bridge')
    before = fingerprint(host)
    tasks = [
        {'id': 'netns', 'module': 'netns', 'params': {'config': [{'name': 'pvx'}]}},
        {'id': 'bridges', 'module': 'bridge', 'labels': ["network 'pvbr0'", "network 'pvbr9'"],
         'params': {'config': [{'name': 'pvbr0'}, {'name': 'pvbr9'}], 'state': 'overridden'}},
    ]
    result = run_preview(ansible, host, tasks)
    assert result['failed']
    line = "bridges: network 'pvbr9': bridge 'pvbr9' exists and is not managed by anatomy.containers; refusing to touch it"
    assert result['msg'] == line and result['errors'] == [line]
    assert result['tasks'] == {'netns': {'changed': True}, 'bridges': {'changed': False, 'msg': line[len('bridges: '):]}}
    assert result['would_change'] == ['netns']
    assert fingerprint(host) == before
    # The module itself refuses the same item.
    own = ansible(host, M + 'bridge', tasks[1]['params'], check=True)
    assert own['_status'] == 'failed' and own['msg'] in line and own['index'] == 1


def test_invalid_params_fail_with_the_modules_own_message(ansible, host):
    params = {'config': [{'name': 'pvbr0'}, {'name': 'pvbr1', 'mtu': 'big'}]}
    own = ansible(host, M + 'bridge', params, check=True)
    result = run_preview(ansible, host, [
        {'id': 'bridges', 'module': 'bridge', 'params': params, 'labels': ["network 'pvbr0'", "network 'pvbr1'"]}])
    assert own['_status'] == 'failed' and result['failed']
    assert result['msg'] == "bridges: network 'pvbr1': " + own['msg']


def test_a_preview_never_imports_pyroute2(lab, ansible, host):
    """The module's own process on the host, run with -X importtime: the network modules' reads load no pyroute2."""
    assert host.run('python3 -c "import pyroute2"', check=False).returncode == 0, 'pyroute2 must be there to be avoided'
    tasks = [task for task in module_tasks() if task['module'] in ('bridge', 'netns', 'veth', 'netns_addr')]
    applied = ansible.tasks(host, [real_task(task) for task in tasks])
    assert [r['_status'] for r in applied] == ['ok'] * len(tasks)
    host.run('rm -rf /root/.ansible/tmp/ansible-tmp-*')
    play = [{'hosts': host.name, 'gather_facts': False, 'tasks': [{M + 'preview': {'tasks': tasks}}]}]
    with tempfile.TemporaryDirectory(prefix='anatomy-it-') as tmp:
        playbook = Path(tmp) / 'play.yml'
        playbook.write_text(json.dumps(play))
        subprocess.run([str(Path(sys.executable).with_name('ansible-playbook')), '-i', str(lab.inventory), str(playbook)],
                       env=ansible_env({'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_PIPELINING': 'False'}),
                       capture_output=True, text=True, timeout=300, check=True)
    run = host.run('cd /root/.ansible/tmp/ansible-tmp-*/ && python3 -X importtime AnsiballZ_preview.py')
    host.run('rm -rf /root/.ansible/tmp/ansible-tmp-*')
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result['would_change'] == [] and result['tasks'] == {t['id']: {'changed': False} for t in tasks}
    assert '_netlink_resources' in run.stderr
    assert 'pyroute2' not in run.stderr
