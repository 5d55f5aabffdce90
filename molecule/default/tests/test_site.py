# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml's demo on real lab hosts: real state and real traffic (testinfra)."""

import json
import subprocess

ROOT = '/var/lib/anatomy'
LAB_NETNS = 'alab-site-default'


def http_get(host, workload, address, port, path='/'):
    """The body of GET http://address:port/path from inside a workload (busybox nc: Debian 12's static
    busybox wget crashes)."""
    command = ('/bin/sh -c \'printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" | nc -w 5 %s %s '
               '| sed "1,/^\\r*$/d"\'' % (path, address, address, port))
    return in_workload(host, workload, command)


def in_workload(host, workload, command):
    """Run a command inside a workload: its network namespace and its root filesystem."""
    # One string: testinfra would quote each %s argument into a single word.
    return host.run('nsenter --net=/run/netns/%s chroot %s/workloads/%s/rootfs %s' % (workload, ROOT, workload, command))


def test_published_port_answers_from_the_lab_network(host):
    address = host.ansible.get_variables()['ansible_host']
    # A client outside the host: the lab namespace, which the lab made for these tests.
    body = subprocess.run(['nsenter', '--net=/run/netns/' + LAB_NETNS, 'curl', '-sS', '-m', '5',
                           'http://%s:80/' % address], capture_output=True, text=True, check=True).stdout
    assert body == 'hello from web, a workload of anatomy.containers\n'


def test_client_reaches_web_by_name(host):
    result = http_get(host, 'client', 'web', 8080)
    assert result.rc == 0, result.stderr
    assert result.stdout == 'hello from web, a workload of anatomy.containers\n'


def test_egress_is_masqueraded_to_the_upstream_server(host):
    result = http_get(host, 'client', '203.0.113.10', 80)
    assert result.rc == 0, result.stderr
    # The upstream server has no route to 10.88.0.0/16: it sees, and answers, the host's address.
    assert result.stdout.strip() == host.ansible.get_variables()['ansible_host']


def test_workloads_run_as_containers(host):
    for name in ('web', 'client'):
        service = host.service('anatomy-workload-%s' % name)
        assert service.is_running and service.is_enabled
        state = json.loads(host.check_output('crun --root /run/anatomy/crun state %s', name))
        assert state['status'] == 'running' and state['bundle'] == '%s/workloads/%s/bundle' % (ROOT, name)
        pid = state['pid']
        # Its own PID namespace (PID 1 inside), the network namespace made for it, its root, no way to new privileges.
        assert host.check_output('grep NSpid /proc/%d/status', pid).split()[-1] == '1'
        assert host.check_output('readlink /proc/%d/ns/net', pid) == host.check_output(
            'nsenter --net=/run/netns/%s readlink /proc/self/ns/net', name)
        assert host.check_output('readlink /proc/%d/ns/pid', pid) != host.check_output('readlink /proc/1/ns/pid')
        status = host.file('/proc/%d/status' % pid).content_string
        assert 'NoNewPrivs:\t1' in status and 'Seccomp:\t2' in status


def test_volume_data_outlives_the_workload(host):
    starts = host.file(ROOT + '/volumes/web-data/_data/starts')
    assert starts.exists
    expected = 2 if host.file(ROOT + '/molecule-web-recreated').exists else 1
    assert len(starts.content_string.splitlines()) >= expected


def test_writes_land_in_the_upper_dir_and_the_layers_stay_unchanged(host):
    assert host.file(ROOT + '/workloads/web/upper/started-at').exists
    assert not host.file(ROOT + '/layers/busybox/started-at').exists
    assert not host.file(ROOT + '/layers/web-content/started-at').exists
    assert host.file(ROOT + '/layers/busybox/bin/busybox').sha256sum == host.file('/bin/busybox').sha256sum
    assert host.file(ROOT + '/layers/web-content/www/index.html').content_string == \
        'hello from web, a workload of anatomy.containers\n'
