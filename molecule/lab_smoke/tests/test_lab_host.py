# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the collection needs from a managed host, proven on a booted lab host (testinfra)."""

import uuid

import pytest


@pytest.fixture
def scratch(host):
    """A unique name for the objects one test makes, removed afterwards."""
    name = 'smk' + uuid.uuid4().hex[:8]
    yield name
    host.run('ip netns delete %s; ip link delete %sa; nft delete table inet %s; '
             'umount /var/lib/anatomy/%s/merged; rm -rf /var/lib/anatomy/%s', *([name] * 5))


def test_systemd_is_pid_1(host):
    assert host.process.get(pid=1).comm == 'systemd'
    assert host.run('systemctl is-system-running').stdout.strip() in ('running', 'degraded')


def test_ip_netns_add_works(host, scratch):
    host.run_expect([0], 'ip netns add %s', scratch)
    assert scratch in host.check_output('ip netns list')


def test_a_veth_end_moves_into_a_namespace(host, scratch):
    host.run_expect([0], 'ip netns add %s', scratch)
    host.run_expect([0], 'ip link add %sa type veth peer name %sb netns %s', scratch, scratch, scratch)
    assert host.run('ip -n %s link show %sb', scratch, scratch).rc == 0
    assert host.run('ip link show %sb', scratch).rc != 0


def test_nft_creates_a_table(host, scratch):
    host.run_expect([0], 'nft add table inet %s', scratch)
    assert 'table inet %s' % scratch in host.check_output('nft list tables')


def test_overlay_with_upper_dir_on_the_state_directory(host, scratch):
    base = '/var/lib/anatomy/' + scratch
    host.run_expect([0], 'mkdir -p {0}/lower {0}/upper {0}/work {0}/merged && echo layer > {0}/lower/f'.format(base))
    host.run_expect([0], 'mount -t overlay overlay -o lowerdir={0}/lower,upperdir={0}/upper,workdir={0}/work '
                         '{0}/merged'.format(base))
    host.run_expect([0], 'echo written > %s/merged/f', base)
    assert host.file(base + '/upper/f').content_string == 'written\n'
    assert host.file(base + '/lower/f').content_string == 'layer\n'
