# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab itself: real hosts, reached through Ansible, with the network the other tests rely on."""

import json


def test_hosts_run_systemd_and_answer_ansible(ansible, hosts):
    for host in hosts:
        assert host.run('ps -p 1 -o comm=').stdout.strip() == 'systemd'
        result = ansible(host, 'ansible.builtin.ping', {})
        assert result['_status'] == 'ok' and result['ping'] == 'pong'


def test_state_dir_is_on_the_real_disk(host):
    fstype = host.run('findmnt -no FSTYPE -T /var/lib/anatomy').stdout.strip()
    assert fstype not in ('overlay', 'tmpfs', '')


def test_hosts_reach_each_other_and_the_upstream_server(lab, hosts):
    first, second = hosts[0], hosts[1]
    first.run('ping -c1 -W2 %s' % second.address)
    # No NAT anywhere yet: the upstream server sees the host's own lab address.
    assert first.run('curl -sS -m5 http://203.0.113.10/').stdout.strip() == first.address
    assert lab.in_lab(['curl', '-sS', '-m5', 'http://203.0.113.10/']).stdout.strip() == '203.0.113.1'


def test_upstream_has_no_route_to_private_subnets(lab):
    routes = json.loads(lab.in_upstream(['ip', '-j', 'route']).stdout)
    assert [r['dst'] for r in routes if r['dst'] not in ('default', '203.0.113.0/24')] == []
