# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml's demo on real lab hosts, from the lab registry's images: real state and real traffic (testinfra)."""

import json
import subprocess

ROOT = '/var/lib/anatomy'
LAB_NETNS = 'alab-site-default'
PAGE = '<h1>anatomy lab: python:3-slim</h1>\n'


def in_workload(host, workload, command):
    """Run a command inside a workload, as docker exec does: through the OCI runtime, in all its namespaces."""
    return host.run('crun --root /run/anatomy/crun exec %s %s' % (workload, command))


def test_published_port_answers_from_the_lab_network(host):
    address = host.ansible.get_variables()['ansible_host']
    # A client outside the host: the lab namespace, which the lab made for these tests.
    body = subprocess.run(['nsenter', '--net=/run/netns/' + LAB_NETNS, 'curl', '-sS', '-m', '5',
                           'http://%s:80/' % address], capture_output=True, text=True, check=True).stdout
    assert body == PAGE


def test_client_reaches_server_by_name_and_by_address(host):
    address = host.check_output('ip -n server -4 -o addr show eth0').split()[3].split('/')[0]
    for target in ('server', address):
        result = in_workload(host, 'client', 'wget -q -O- http://%s:8080/' % target)
        assert result.rc == 0, result.stderr
        assert result.stdout == PAGE


def test_egress_is_masqueraded_to_the_upstream_server(host):
    result = in_workload(host, 'client', 'wget -q -O- http://203.0.113.10:80/')
    assert result.rc == 0, result.stderr
    # The upstream server has no route to 10.88.0.0/16: it sees, and answers, the host's address.
    assert result.stdout.strip() == host.ansible.get_variables()['ansible_host']


def test_workloads_run_as_containers(host):
    for name in ('server', 'client'):
        service = host.service('anatomy-workload-%s' % name)
        assert service.is_running and service.is_enabled
        state = json.loads(host.check_output('crun --root /run/anatomy/crun state %s', name))
        assert state['status'] == 'running' and state['bundle'] == '%s/workloads/%s/bundle' % (ROOT, name)
        pid = str(state['pid'])
        # Its own PID namespace (PID 1 inside), the network namespace made for it, its root, no way to new privileges.
        assert host.check_output('grep NSpid /proc/%s/status', pid).split()[-1] == '1'
        assert host.check_output('readlink /proc/%s/ns/net', pid) == host.check_output(
            'nsenter --net=/run/netns/%s readlink /proc/self/ns/net', name)
        assert host.check_output('readlink /proc/%s/ns/pid', pid) != host.check_output('readlink /proc/1/ns/pid')
        status = host.file('/proc/%s/status' % pid).content_string
        assert 'NoNewPrivs:\t1' in status and 'Seccomp:\t2' in status


def test_the_server_runs_the_images_python_in_its_working_dir(host):
    assert in_workload(host, 'server', 'readlink /proc/1/cwd').stdout == '/srv/www\n'
    assert in_workload(host, 'server', 'cat /proc/1/cmdline').stdout.split('\0')[:3] == ['python3', '-m', 'http.server']


def test_volume_data_outlives_the_workload(host):
    data = host.file(ROOT + '/volumes/server-data/_data')
    assert data.is_directory
    recreated = host.file(ROOT + '/molecule-server-recreated').exists
    marker = host.file(ROOT + '/volumes/server-data/_data/marker')
    if not recreated:
        host.run('echo kept > %s' % marker.path)
    else:
        assert marker.content_string == 'kept\n'


def test_the_images_layers_are_shared_and_writes_land_in_the_upper_dir(host):
    host.run('crun --root /run/anatomy/crun exec server touch /written-here')
    assert host.file(ROOT + '/workloads/server/upper/written-here').exists
    layers = host.check_output('ls %s/images/layers', ROOT).split()
    assert layers and not any(host.file('%s/images/layers/%s/written-here' % (ROOT, layer)).exists for layer in layers)
    # Each lower dir of server's root filesystem is a layer of the store, not a copy.
    lower = host.check_output("findmnt -n -o OPTIONS %s/workloads/server/rootfs", ROOT)
    assert '%s/images/layers/' % ROOT in lower
