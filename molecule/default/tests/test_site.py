# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml's demo on real lab hosts: real state and real traffic (testinfra)."""

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


def test_workloads_run_as_confined_services(host):
    for name in ('web', 'client'):
        service = host.service('anatomy-workload-%s' % name)
        assert service.is_running and service.is_enabled
        props = host.check_output('systemctl show anatomy-workload-%s -p NetworkNamespacePath -p RootDirectory '
                                  '-p NoNewPrivileges -p CapabilityBoundingSet', name)
        assert 'NetworkNamespacePath=/run/netns/%s' % name in props
        assert 'RootDirectory=%s/workloads/%s/rootfs' % (ROOT, name) in props
        assert 'NoNewPrivileges=yes' in props and 'cap_sys_admin' not in props


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
