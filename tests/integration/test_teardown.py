# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""anatomy.containers.teardown, for real: a host converged by site.yml, with objects of others of every kind beside
ours, taken apart in one task.

Check mode says what would go and changes nothing; the real run leaves nothing of ours and everything of others;
a second run changes nothing; volume data is kept unless purged (a volume no workload binds any more included,
a directory of others under volumes/ never); kill does not wait for a workload that ignores its stop signal; bad
input fails before anything changes.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.test_site_plan import SCENARIO, converge, fingerprint, site_vars, teardown, workload

M = 'anatomy.containers.teardown'
STATE = '/var/lib/anatomy'
# A workload removed by an earlier run without purge: its volume stays, bound by no one.
OLD = workload('old', volumes=[{'name': 'old-data', 'target': '/data'}])
# Objects of others, of each kind the teardown removes of ours.
THEIRS = """
set -e
ip netns add theirs
ip link add theirbr0 type bridge
ip link add their-veth type veth peer name their-peer
nft add table inet theirs
nft add chain inet theirs input '{ type filter hook input priority 10; }'
nft add rule inet theirs input tcp dport 9 counter
mkdir -p /var/lib/anatomy/volumes/theirs/_data /srv/theirs
echo theirs > /var/lib/anatomy/volumes/theirs/_data/kept
# On a tmpfs: overlayfs takes no upper dir on the lab host's own overlay root.
mount -t tmpfs theirs /srv/theirs
mkdir /srv/theirs/lower /srv/theirs/upper /srv/theirs/work /srv/theirs/merged
mount -t overlay overlay -o lowerdir=/srv/theirs/lower,upperdir=/srv/theirs/upper,workdir=/srv/theirs/work \
  /srv/theirs/merged
printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > /etc/systemd/system/anatomy-workload-theirs.service
systemctl daemon-reload
"""
THEIRS_GONE = """
umount /srv/theirs/merged; umount /srv/theirs; rm -rf /srv/theirs /var/lib/anatomy/volumes/theirs
ip netns del theirs; ip link del theirbr0; ip link del their-veth; nft delete table inet theirs
rm -f /etc/systemd/system/anatomy-workload-theirs.service; systemctl daemon-reload
"""
OURS = r"""
ip netns list | cut -d' ' -f1 | sort | tr '\n' ' '; echo
ip -br link | cut -d' ' -f1 | cut -d@ -f1 | sort | tr '\n' ' '; echo
nft list tables | sort | tr '\n' ' '; echo
{ findmnt -rn -o TARGET -t overlay; findmnt -rn -o TARGET | grep '^/var/lib/anatomy/'; } | grep -vx / | sort -u | tr '\n' ' '; echo
ls /etc/systemd/system | grep anatomy | tr '\n' ' '; echo
find /var/lib/anatomy /usr/local/sbin/anatomy-restore /run/anatomy/restore -maxdepth 2 2>/dev/null | sort | tr '\n' ' '; echo
"""


def state(host) -> dict:
    lines = host.run(OURS).stdout.split('\n')
    return dict(zip(('netns', 'links', 'tables', 'mounts', 'units', 'files'), (line.split() for line in lines)))


@pytest.fixture
def host(lab):
    """The first lab host converged with the scenario (and a volume left by a removed workload), others' objects beside."""
    teardown(lab)
    host = lab.hosts[0]
    converge(lab, site_vars(SCENARIO + [OLD]))
    converge(lab, site_vars(SCENARIO))
    host.run(THEIRS)
    # What the workload service module leaves when used alone with its default bundle root: a directory of ours.
    host.run('mkdir -p %s/bundles' % STATE)
    yield host
    host.run(THEIRS_GONE, check=False)
    teardown(lab)


def assert_only_theirs_left(host, volumes):
    left = state(host)
    assert left['netns'] == ['theirs']
    assert not [link for link in left['links'] if link.startswith(('veth-', 'front', 'back'))], left['links']
    assert {'theirbr0', 'their-veth', 'their-peer'} <= set(left['links'])
    assert 'table inet theirs' in ' '.join(left['tables']) and 'anatomy' not in ' '.join(left['tables'])
    assert left['mounts'] == ['/srv/theirs/merged']
    assert left['units'] == ['anatomy-workload-theirs.service']
    assert left['files'] == [STATE, STATE + '/volumes'] + [STATE + '/volumes/' + name for name in sorted(volumes)]
    assert host.run('cat %s/volumes/theirs/_data/kept' % STATE).stdout == 'theirs\n'
    assert host.run("nft list table inet theirs | grep -c 'dport 9'").stdout.strip() == '1'


def test_check_mode_says_what_would_go_and_changes_nothing(ansible, host):
    before = fingerprint(host)
    result = ansible(host, M, {}, check=True, diff=True)
    assert result['_status'] == 'ok' and result['changed'], result.get('msg')
    assert fingerprint(host) == before
    assert sorted(result['removed']['services']) == ['api', 'db', 'worker']
    assert sorted(result['removed']['namespaces']) == ['api', 'db', 'worker']
    assert sorted(result['removed']['bridges']) == ['back', 'front']
    assert sorted(result['removed']['layers']) == ['base', 'site']
    assert sorted(result['removed']['published_ports']) == [
        'tcp 0.0.0.0 18080-18082', 'tcp 127.0.0.1 15432', 'udp 127.0.0.1 15433']
    assert '/usr/local/sbin/anatomy-restore' in result['files'] and STATE + '/workloads' in result['files']
    assert result['diff']['before']['services'] and result['diff']['after'] == {}


def test_removes_everything_of_ours_and_nothing_of_theirs_then_changes_nothing(ansible, host):
    result = ansible(host, M, {}, diff=True)
    assert result['_status'] == 'ok' and result['changed'], result.get('msg')
    assert sorted(result['removed']['services']) == ['api', 'db', 'worker']
    assert_only_theirs_left(host, ['api-data', 'old-data', 'theirs'])
    assert host.run('ls %s/volumes/api-data/_data' % STATE).returncode == 0
    again = ansible(host, M, {})
    assert again['_status'] == 'ok' and not again['changed'] and again['removed'] == {}, again


def test_purge_deletes_every_volume_of_ours_and_only_ours(ansible, host):
    result = ansible(host, M, {'purge_volumes': True})
    assert result['_status'] == 'ok', result.get('msg')
    assert STATE + '/volumes/old-data' in result['files']
    assert_only_theirs_left(host, ['theirs'])


def test_kill_does_not_wait_for_a_workload_that_ignores_its_stop_signal(lab, ansible, host):
    stubborn = workload('stubborn', stop_timeout=300, command=['/bin/sh', '-c', "trap '' TERM; while :; do sleep 1; done"])
    converge(lab, site_vars(SCENARIO + [stubborn]))
    assert host.run('systemctl is-active anatomy-workload-stubborn').stdout.strip() == 'active'
    start = time.monotonic()
    result = ansible(host, M, {'kill': True})
    assert result['_status'] == 'ok', result.get('msg')
    # Its stop timeout is 300 s: a teardown that waited for it would still be going.
    assert time.monotonic() - start < 120
    assert 'stubborn' in result['removed']['services']
    assert host.run('pgrep -f "while :; do slee[p] 1"', check=False).returncode == 1
    assert_only_theirs_left(host, ['api-data', 'old-data', 'theirs'])


@pytest.mark.parametrize('params, match', [
    ({'backend': 'pf'}, 'value of backend must be one of: auto, nftables, iptables, got: pf'),
    ({'kill': 'sometimes'}, "argument 'kill' is of type"),
    ({'purge': True}, 'Unsupported parameters for (anatomy.containers.teardown) module: purge'),
])
def test_bad_input_fails_before_anything_changes(ansible, host, params, match):
    before = fingerprint(host)
    result = ansible(host, M, params)
    assert result['_status'] == 'failed' and match in result['msg'], result.get('msg')
    assert fingerprint(host) == before
