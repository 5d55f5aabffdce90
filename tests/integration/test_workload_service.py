# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""workload_service on a real lab host: processes confined to their namespace and root, restarts, removal, refusals.

Each service runs the host's static busybox from a root directory of its own under BASE, in a namespace the
netns module made, and proves where it runs by what it writes: its network interfaces and its view of /.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.test_overlay_mount import converge_checked, failed

M = 'anatomy.containers.'
BASE = '/var/lib/anatomy/it-svc'
UNIT_DIR = '/etc/systemd/system'


def root(name):
    return '%s/%s' % (BASE, name)


def make_root(host, name):
    """A root directory with busybox and its applets, /proc /sys /dev /tmp mount points and a marker file."""
    path = root(name)
    host.run('mkdir -p {p}/bin {p}/proc {p}/sys {p}/dev {p}/tmp {p}/out && cp /bin/busybox {p}/bin/ && '
             'for a in $(busybox --list); do [ $a = busybox ] || ln -sf busybox {p}/bin/$a; done && echo {n} > {p}/whoami'
             .format(p=path, n=name))


def service(name, **extra):
    # Writes what it sees, then stays up: the interfaces of its namespace, its root's marker, its capabilities.
    script = ('ip -o link > /out/links; cat /whoami > /out/root; grep CapBnd /proc/self/status > /out/caps; '
              'echo "$GREETING" > /out/env; date >> /out/starts; trap "exit 0" TERM; sleep 3600 & wait')
    return dict({'name': name, 'command': ['/bin/busybox', 'sh', '-c', script], 'root': root(name), 'netns': name},
                **extra)


def main_pid(host, name):
    """The container's PID 1, as the host sees it (systemd's MainPID is the runtime's)."""
    deadline = time.time() + 20
    while time.time() < deadline:
        state = host.run('crun --root /run/anatomy/crun state %s' % name, check=False)
        if state.returncode == 0 and json.loads(state.stdout).get('status') == 'running':
            return int(json.loads(state.stdout)['pid'])
        time.sleep(0.2)
    raise AssertionError('workload %s is not running on %s' % (name, host.name))


def wait_for(host, path, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if host.run('test -s %s' % path, check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError('%s never appeared on %s' % (path, host.name))


@pytest.fixture
def host(hosts, ansible):
    host = hosts[0]
    ansible.tasks(host, [{M + 'workload_service': {'state': 'deleted'}},
                         {M + 'netns': {'state': 'deleted'}}])
    host.run('rm -rf %s' % BASE)
    for name in ('alpha', 'beta'):
        make_root(host, name)
    results = ansible.tasks(host, [{M + 'netns': {'config': [{'name': 'alpha'}, {'name': 'beta'}]}}])
    assert results[0]['_status'] == 'ok', results[0].get('msg')
    yield host
    ansible.tasks(host, [{M + 'workload_service': {'state': 'deleted'}},
                         {M + 'netns': {'state': 'deleted'}}])
    host.run('rm -rf %s' % BASE)


def test_services_run_confined_to_their_namespace_and_root(ansible, host):
    applied = converge_checked(ansible, host, 'workload_service', {
        'config': [service('alpha', environment={'GREETING': '100% $HOME "quoted"'}), service('beta')]})
    assert [s['name'] for s in applied['after']] == ['alpha', 'beta']
    assert all(s['running'] and s['enabled'] for s in applied['after'])
    for name in ('alpha', 'beta'):
        wait_for(host, root(name) + '/out/starts')
        # Its own root: it read the marker of its own directory as /whoami.
        assert host.run('cat %s/out/root' % root(name)).stdout.strip() == name
        # Its own namespace: nothing but lo (the host has host0 and more).
        links = host.run('cat %s/out/links' % root(name)).stdout
        assert ': lo:' in links and 'host0' not in links
        assert host.run('systemctl is-enabled anatomy-workload-%s.service' % name).stdout.strip() == 'enabled'
    # % and $ and quotes reach the process literally, not as systemd specifiers or variables.
    assert host.run('cat %s/out/env' % root('alpha')).stdout == '100% $HOME "quoted"\n'
    # Docker's default bounding set: NET_BIND_SERVICE (bit 10) in, SYS_ADMIN (bit 21) out.
    caps = int(host.run('cat %s/out/caps' % root('alpha')).stdout.split()[1], 16)
    assert caps & (1 << 10) and not caps & (1 << 21)
    assert host.run("grep -c NoNewPrivs:.1 /proc/%d/status" % main_pid(host, 'alpha')).stdout.strip() == '1'


def test_a_changed_service_restarts_alone(ansible, host):
    ansible(host, M + 'workload_service', {'config': [service('alpha'), service('beta')]})
    before = {name: main_pid(host, name) for name in ('alpha', 'beta')}
    result = ansible(host, M + 'workload_service', {
        'config': [service('alpha', revision='layers changed'), service('beta')]}, diff=True)
    assert result['changed']
    after = {name: main_pid(host, name) for name in ('alpha', 'beta')}
    assert after['beta'] == before['beta'] and after['alpha'] != before['alpha'] and after['alpha'] > 0
    assert ansible(host, M + 'workload_service', {
        'config': [service('alpha', revision='layers changed'), service('beta')]})['changed'] is False


def test_a_stopped_or_hand_edited_service_is_brought_back(ansible, host):
    params = {'config': [service('alpha')]}
    ansible(host, M + 'workload_service', params)
    host.run('systemctl stop anatomy-workload-alpha.service')
    result = ansible(host, M + 'workload_service', params)
    assert result['changed'] and result['before'][0]['running'] is False and result['after'][0]['running']
    unit = '%s/anatomy-workload-alpha.service' % UNIT_DIR
    host.run("sed -i 's/^KillMode=mixed/KillMode=process/' %s && systemctl daemon-reload" % unit)
    pid = main_pid(host, 'alpha')
    assert ansible(host, M + 'workload_service', params)['changed']
    assert 'KillMode=mixed' in host.run('cat %s' % unit).stdout and main_pid(host, 'alpha') != pid
    assert ansible(host, M + 'workload_service', params)['changed'] is False


def test_overridden_removes_unlisted_services_and_leaves_others(ansible, host):
    # A unit of a look-alike name that is not ours: never touched.
    host.run('printf "[Service]\\nExecStart=/bin/sleep 3600\\n" > %s/anatomy-workload-theirs.service && '
             'systemctl daemon-reload && systemctl start anatomy-workload-theirs.service' % UNIT_DIR)
    try:
        ansible(host, M + 'workload_service', {'config': [service('alpha'), service('beta')]})
        result = ansible(host, M + 'workload_service', {'config': [service('alpha')], 'state': 'overridden'})
        assert [s['name'] for s in result['after']] == ['alpha']
        assert host.run('test -e %s/anatomy-workload-beta.service' % UNIT_DIR, check=False).returncode == 1
        assert host.run('systemctl is-active anatomy-workload-beta.service', check=False).stdout.strip() in (
            'inactive', 'unknown')
        assert host.run('systemctl is-active anatomy-workload-theirs.service').stdout.strip() == 'active'
        failed(ansible, host, 'workload_service', {'config': [service('theirs')]}, 'not managed by')
        gone = ansible(host, M + 'workload_service', {'state': 'deleted'})
        assert gone['changed'] and gone['after'] == []
        assert host.run('ls %s | grep -c anatomy-workload-' % UNIT_DIR).stdout.strip() == '1'
    finally:
        host.run('systemctl stop anatomy-workload-theirs.service; rm -f %s/anatomy-workload-theirs.service; '
                 'systemctl daemon-reload' % UNIT_DIR, check=False)


def test_running_false_stops_and_gathered_reads_back(ansible, host):
    ansible(host, M + 'workload_service', {'config': [service('alpha')]})
    stopped = ansible(host, M + 'workload_service', {'config': [{'name': 'alpha', 'running': False}]})
    assert stopped['changed'] and stopped['after'][0]['running'] is False
    assert host.run('systemctl is-active anatomy-workload-alpha.service', check=False).stdout.strip() == 'inactive'
    gathered = ansible(host, M + 'workload_service', {'state': 'gathered'})['gathered']
    assert gathered[0]['command'] == service('alpha')['command'] and gathered[0]['running'] is False


@pytest.mark.parametrize('change, match', [
    ({'name': 'Alpha'}, 'name must be'),
    ({'root': 'relative/root'}, 'root must be an absolute path'),
    ({'command': ['/bin/sh', 'two\nlines']}, 'command words'),
    ({'environment': {'BAD-NAME': 'x'}}, "environment 'BAD-NAME'"),
    ({'capabilities': ['not a cap']}, 'capabilities'),
])
def test_bad_input_fails_before_any_change(ansible, host, change, match):
    failed(ansible, host, 'workload_service', {'config': [service('beta'), dict(service('alpha'), **change)]}, match)
    assert host.run('ls %s | grep -c anatomy-workload- || true' % UNIT_DIR).stdout.strip() == '0'
