# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""workload_exec and workload_info on a real lab host, against workloads site.yml set up as a user does.

``web`` runs as a user of its own image (``app``, uid 1000, in group ``extra`` too), with a host name, an
environment variable, a volume and a published port; ``idle`` is a second workload, with a health check, stopped
during a test.
Each answer of the modules is checked against the host itself: ``crun state``, /proc/PID/status, ``ip -n``,
the volume's directory on disk.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.test_site_plan import run_site, teardown

M = 'anatomy.containers.'
STATE = '/var/lib/anatomy'
PASSWD = ('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'
          'app:x:1000:1000:app:/home/app:/bin/sh\n')
GROUP = 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n'
VARIABLES = {
    'container_host_networks': [{'name': 'exq', 'subnet': '10.79.0.0/24'}],
    'workload_layers': [
        {'name': 'base', 'busybox': True},
        {'name': 'users', 'files': [{'path': 'etc/passwd', 'content': PASSWD}, {'path': 'etc/group', 'content': GROUP},
                                    {'path': 'home/app/.keep', 'content': ''}]},
    ],
    'workload_list': [
        {'name': 'web', 'network': 'exq', 'layers': ['users', 'base'], 'user': 'app', 'hostname': 'webhost',
         'environment': {'VAR': 'hello world'}, 'published_ports': ['18090:8080'], 'restart': 'always',
         'volumes': [{'name': 'exq-data', 'target': '/data'}],
         'command': ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/home/app']},
        {'name': 'idle', 'network': 'exq', 'layers': ['base'], 'command': ['/bin/sleep', '2147483647'],
         'healthcheck': {'test': ['/bin/cat', '/etc/hostname'], 'interval': '1s', 'timeout': '2s', 'retries': 2}},
    ],
}


@pytest.fixture(scope='module')
def host(lab):
    """The first lab host with the two workloads up; nothing of ours left on it afterwards."""
    teardown(lab)
    rc, out, _results = run_site(lab, VARIABLES)
    assert rc == 0, out[-3000:]
    yield lab.hosts[0]
    teardown(lab)


def exec_in(ansible, host, name, command, check=False, **options):
    return ansible(host, M + 'workload_exec', dict(options, name=name, command=command), check=check)


def info(ansible, host, names=None, check=False):
    result = ansible(host, M + 'workload_info', {} if names is None else {'name': names}, check=check)
    assert result['_status'] == 'ok', result
    assert result['changed'] is False
    return {item['name']: item for item in result['workloads']}, result


def runtime_state(host, name, timeout=30):
    """crun's state of a running container, waited for (a restart takes a second)."""
    deadline = time.time() + timeout
    while True:
        proc = host.run('crun --root /run/anatomy/crun state %s' % name, check=False)
        if proc.returncode == 0 and json.loads(proc.stdout)['status'] == 'running':
            return json.loads(proc.stdout)
        assert time.time() < deadline, 'workload %s did not come up: %s' % (name, proc.stderr)
        time.sleep(0.3)


# -- workload_exec --------------------------------------------------------------------------------

def test_exec_runs_as_the_workloads_user_in_its_root_and_environment(ansible, host):
    for command, expected in (
            ('id -u', '1000'),
            (['id', '-G'], '1000 2000'),
            ('hostname', 'webhost'),
            ('cat /etc/hostname', 'webhost'),
            (['/bin/sh', '-c', 'echo $VAR'], 'hello world'),
            (['/bin/sh', '-c', 'echo $HOME'], '/home/app'),
            ('pwd', '/'),
            # Its own PID namespace: PID 1 is the workload's command.
            (['/bin/sh', '-c', 'tr "\\0" " " < /proc/1/cmdline'], '/bin/busybox httpd -f -p 8080 -h /home/app'),
    ):
        result = exec_in(ansible, host, 'web', command)
        assert result['rc'] == 0 and result['_status'] == 'ok', result
        assert result['stdout'].strip() == expected, (command, result)
        assert result['changed'] is True and result['stdout_lines'] == result['stdout'].splitlines()


def test_exec_options_change_user_environment_working_dir_and_stdin(ansible, host):
    assert exec_in(ansible, host, 'web', 'id -u', user='root')['stdout'] == '0'
    assert exec_in(ansible, host, 'web', 'id', user='nobody')['stdout'].startswith('uid=65534(nobody) gid=65534')
    result = exec_in(ansible, host, 'web', ['/bin/sh', '-c', 'echo "$VAR|$NEW"'], environment={'VAR': 'other', 'NEW': 1})
    assert result['stdout'] == 'other|1'
    assert exec_in(ansible, host, 'web', 'pwd', working_dir='/data')['stdout'] == '/data'
    result = exec_in(ansible, host, 'web', 'cat', stdin='line one\nline two')
    assert result['stdout_lines'] == ['line one', 'line two']
    # The host's files are not the workload's: its root is its own.
    assert exec_in(ansible, host, 'web', 'cat /etc/passwd')['stdout'] == PASSWD.strip()


def test_the_command_runs_in_the_workloads_cgroup(ansible, host):
    # Seen from inside (its own cgroup namespace), the command's cgroups are those of the workload's PID 1; a process
    # left in the cgroup of the SSH session would show as ../.. outside the namespace's root.
    own = exec_in(ansible, host, 'web', 'cat /proc/self/cgroup')['stdout']
    assert own == exec_in(ansible, host, 'web', 'cat /proc/1/cgroup')['stdout'] and '..' not in own, own


def test_a_failing_command_fails_the_task_with_its_status_and_output(ansible, host):
    result = exec_in(ansible, host, 'web', ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'])
    assert result['_status'] == 'failed' and result['rc'] == 3 and result['msg'] == 'non-zero return code'
    assert result['stdout'] == 'out' and result['stderr'] == 'err'
    result = exec_in(ansible, host, 'web', '/no/such/program')
    assert result['_status'] == 'failed' and result['rc'] != 0 and 'no/such/program' in result['stderr']


def test_an_unknown_or_stopped_workload_fails_clearly(ansible, host):
    result = exec_in(ansible, host, 'web2', 'id')
    assert result['_status'] == 'failed' and "no workload 'web2' on this host" in result['msg'], result
    host.run('systemctl stop anatomy-workload-idle.service')
    try:
        result = exec_in(ansible, host, 'idle', 'id')
        assert result['_status'] == 'failed' and "workload 'idle' is not running" in result['msg'], result
        assert 'journalctl -u anatomy-workload-idle.service' in result['msg']
        found, _result = info(ansible, host, ['idle'])
        assert found['idle']['status'] == 'exited' and found['idle']['pid'] is None
    finally:
        host.run('systemctl start anatomy-workload-idle.service')


def test_check_mode_runs_nothing(ansible, host):
    result = exec_in(ansible, host, 'web', ['/bin/sh', '-c', 'echo x > /data/check-mode'], check=True)
    assert result['_status'] == 'skipped' and result['changed'] is False, result
    assert host.run('test -e %s/volumes/exq-data/_data/check-mode' % STATE, check=False).returncode == 1
    # The same command, run: the file is in the volume on the host.
    exec_in(ansible, host, 'web', ['/bin/sh', '-c', 'echo x > /data/real-run'], user='root')
    assert host.run('cat %s/volumes/exq-data/_data/real-run' % STATE).stdout == 'x\n'


# -- workload_info --------------------------------------------------------------------------------

def test_info_reports_pid_address_mac_ports_mounts_and_paths(ansible, host):
    found, result = info(ansible, host)
    assert sorted(found) == ['idle', 'web'] and result['missing'] == []
    web = found['web']
    state = runtime_state(host, 'web')
    assert web['status'] == 'running' and web['running'] is True and web['pid'] == state['pid']
    # The PID is the workload's PID 1: its last PID namespace number is 1.
    nspid = host.run("awk '/^NSpid:/ {print $NF}' /proc/%d/status" % web['pid']).stdout.strip()
    assert nspid == '1'
    assert web['systemd']['active_state'] == 'active' and web['systemd']['main_pid'] != web['pid']
    assert web['started_at'].endswith('Z') and web['restart_count'] == 0
    assert web['health'] is None

    link = json.loads(host.run('ip -n web -j addr show dev eth0').stdout)[0]
    ipv4 = [a for a in link['addr_info'] if a['family'] == 'inet'][0]
    assert web['network']['address'] == ipv4['local'] and web['network']['prefix_length'] == ipv4['prefixlen']
    assert web['network']['mac'] == link['address'] and web['network']['gateway'] == '10.79.0.1'
    assert web['network']['netns'] == 'web'
    assert web['ports'] == [{'protocol': 'tcp', 'host_address': '0.0.0.0', 'host_port': '18090',
                             'container_port': '8080', 'destination': ipv4['local'], 'allowed_sources': []}]
    assert found['idle']['ports'] == [] and found['idle']['network']['address'] != ipv4['local']

    wdir = '%s/workloads/web' % STATE
    assert web['rootfs'] == {'path': wdir + '/rootfs', 'type': 'overlay',
                             'layers': [STATE + '/layers/users', STATE + '/layers/base'],
                             'upper': wdir + '/upper', 'work': wdir + '/work'}
    mounts = {m['destination']: m for m in web['mounts']}
    assert sorted(mounts) == ['/data', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf']
    assert mounts['/data']['type'] == 'volume' and mounts['/data']['name'] == 'exq-data'
    assert mounts['/data']['source'] == STATE + '/volumes/exq-data/_data' and mounts['/data']['read_only'] is False
    assert mounts['/etc/hostname'] == dict(mounts['/etc/hostname'], type='bind', source=wdir + '/hostname',
                                           read_only=True)

    assert web['config']['user'] == 'app' and web['config']['hostname'] == 'webhost'
    assert web['config']['environment'] == {'VAR': 'hello world'} and web['config']['restart'] == 'always'
    assert web['config']['command'][:2] == ['/bin/busybox', 'httpd'] and 'stop_timeout' in web['config']
    assert 'limits' in web
    assert web['unit'] == {'name': 'anatomy-workload-web.service',
                           'path': '/etc/systemd/system/anatomy-workload-web.service', 'enabled': True}
    assert host.run('test -f %s/config.json' % web['bundle'], check=False).returncode == 0
    assert web['log_command'] == 'journalctl -u anatomy-workload-web.service'
    assert web['runtime']['bundle'] == web['bundle']


def test_info_of_named_workloads_in_check_mode_and_of_unknown_names(ansible, host):
    found, result = info(ansible, host, ['web', 'nope'], check=True)
    assert sorted(found) == ['web'] and result['missing'] == ['nope']


def test_info_reports_the_health_its_check_recorded(ansible, host):
    deadline = time.time() + 30
    while True:
        found, _result = info(ansible, host, ['idle'])
        health = found['idle']['health']
        if health and health['status'] == 'healthy':
            break
        assert time.time() < deadline, health
        time.sleep(1)
    # The check ran inside the workload: it read the workload's own /etc/hostname.
    assert health['failing_streak'] == 0 and health['log'][-1]['output'] == 'idle\n'
    assert health['log'][-1]['exit_code'] == 0
    assert found['idle']['config']['healthcheck']['test'] == ['/bin/cat', '/etc/hostname']


def test_info_counts_restarts_and_follows_the_new_pid(ansible, host):
    before, _result = info(ansible, host, ['web'])
    old = before['web']['pid']
    host.run('kill -KILL %d' % old)
    deadline = time.time() + 30
    while True:
        after, _result = info(ansible, host, ['web'])
        web = after['web']
        if web['status'] == 'running' and web['pid'] != old:
            break
        assert time.time() < deadline, web
        time.sleep(1)
    assert web['restart_count'] == before['web']['restart_count'] + 1
    assert web['pid'] == runtime_state(host, 'web')['pid']
    assert exec_in(ansible, host, 'web', 'hostname')['stdout'] == 'webhost'
