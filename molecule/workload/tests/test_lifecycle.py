# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""After the side effect: beta changed and was restarted, alpha was left alone, gamma is gone but its data is not."""

import json

ROOT = '/var/lib/anatomy'


def pids_before(host):
    return dict(line.split() for line in host.file(ROOT + '/molecule-pids-before').content_string.splitlines())


def main_pid(host, name):
    """The container's PID 1 as the host sees it (systemd's MainPID is the runtime's)."""
    state = host.run('crun --root /run/anatomy/crun state %s' % name)
    return str(json.loads(state.stdout)['pid']) if state.rc == 0 else '0'


def test_the_changed_workload_was_restarted_with_its_new_definition(host):
    before = pids_before(host)
    pid = main_pid(host, 'beta')
    assert pid not in ('0', before['beta'])
    environ = host.file('/proc/%s/environ' % pid).content.split(b'\0')
    assert b'GREETING=changed' in environ


def test_the_unchanged_workload_was_left_alone(host):
    before = pids_before(host)
    assert main_pid(host, 'alpha') == before['alpha'] != '0'


def test_the_removed_workload_is_torn_down(host):
    assert not host.file('/etc/systemd/system/anatomy-workload-gamma.service').exists
    assert 'gamma' not in host.check_output('ip netns list').split()
    assert ROOT + '/workloads/gamma/rootfs' not in host.check_output('findmnt -rn -o TARGET')
    ruleset = host.check_output('nft list ruleset')
    assert '10.77.0.200' not in ruleset and '8003' not in ruleset
    assert '8001' in ruleset
    links = json.loads(host.check_output('ip -j link show'))
    assert [link['ifname'] for link in links if 'gamma' in link['ifname']] == []


def test_the_removed_workloads_volume_data_is_kept(host):
    starts = host.file(ROOT + '/volumes/gamma-data/_data/starts')
    assert starts.exists and starts.content_string.strip()


def test_addresses_stay_with_their_workloads(host):
    before = json.loads(host.file(ROOT + '/molecule-addresses-before.json').content_string)['wlbr0']
    after = json.loads(host.file(ROOT + '/workloads/addresses.json').content_string)['wlbr0']
    assert after == {'alpha': before['alpha'], 'beta': before['beta']}
    assert before['gamma'] == '10.77.0.200'
