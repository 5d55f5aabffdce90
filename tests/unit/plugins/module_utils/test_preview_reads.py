# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reads a preview shares between its tasks: the same answers as each module reading alone, read once,
never a write, and never in a real run (no root: the kernel's answers come from in-memory stand-ins)."""

from __future__ import annotations

import errno
import inspect
import os

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import (
    _mounts, _mounts_resources, _netlink, _netlink_resources, _preview_reads, _services, _layers,
)
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import engine
from ansible_collections.anatomy.containers.plugins.module_utils._resource import ReadOnlyError, converge
from ansible_collections.anatomy.containers.plugins.module_utils._preview_reads import (
    CachedRunner, ReadOnlyMountKernel, ReadOnlyNetlink, SharedReads, is_check_command, is_read_command,
)

from ansible_collections.anatomy.containers.tests.unit.support.netlink_fakes import FakeKernel
from tests.unit.support.netfilter_fakes import FakeRunner


# -- netlink ------------------------------------------------------------------------------------------

class FakeSocket:
    """NetlinkSocket's reads in one namespace of a FakeKernel; every request counted."""

    requests = []

    def __init__(self, kernel, ns):
        self.kernel, self.ns = kernel, ns

    def _count(self, what):
        FakeSocket.requests.append((what, self.ns))
        if self.ns is not None and self.ns not in self.kernel.namespaces:
            raise OSError(errno.EINVAL, 'not a network namespace')

    def close(self):
        pass

    def links(self):
        self._count('links')
        return self.kernel.links(self.ns)

    def link(self, name):
        self._count('link')
        return next((link for link in self.kernel.links(self.ns) if link['name'] == name), None)

    def addresses(self):
        self._count('addresses')
        return self.kernel.addresses(self.ns)

    def routes(self, family, table, proto):
        self._count('routes %d' % family)
        return [dict(route, family=family, table=table, proto=proto) for route in self.kernel.routes(self.ns)
                if (':' in route['dst']) == (family == _netlink.AF_INET6)]

    def nsid(self, fd):
        self._count('nsid')
        return self.kernel.nsids.get(os.path.basename(os.readlink('/proc/self/fd/%d' % fd)))


@pytest.fixture
def host(monkeypatch, tmp_path):
    """A FakeKernel as Netlink reads it: namespaces as files under a run dir, sockets answering from the fake."""
    kernel = FakeKernel()
    kernel.bridge_add('ctbr0', 1500, False)
    kernel.addr_add(None, 'ctbr0', '10.88.0.1/16')
    kernel.add_foreign_link(None, 'eth0')
    for index, name in enumerate(['a', 'b', 'c']):
        kernel.netns_create(name)
        kernel.veth_add('veth-' + name, 'eth0', name, 'ctbr0', 1500, '02:42:0a:58:00:%02x' % (index + 2))
        kernel.addr_add(name, 'eth0', '10.88.0.%d/16' % (index + 2))
        kernel.route_add(name, 'eth0', '0.0.0.0/0', '10.88.0.1')
    kernel.add_foreign_netns('theirs')
    kernel.netns_create('lo-down')
    kernel.linkmap['lo-down'][0]['up'] = False
    run_dir = tmp_path / 'netns'
    run_dir.mkdir()
    for name in list(kernel.namespaces) + ['stale']:
        (run_dir / name).touch()
    monkeypatch.setattr(_netlink, 'NETNS_RUN_DIR', str(run_dir))
    monkeypatch.setattr(_netlink, 'HAS_PYROUTE2', True)
    monkeypatch.setattr(_netlink.Netlink, '_sock', lambda self, ns: FakeSocket(kernel, ns))
    FakeSocket.requests = []
    return kernel


CASES = [
    (_netlink_resources.Netns, {}, [{'name': n} for n in ('a', 'b', 'c', 'lo-down')], 'overridden'),
    (_netlink_resources.Netns, {}, [{'name': n} for n in ('a', 'b', 'new')], 'overridden'),
    (_netlink_resources.Netns, {}, [{'name': 'theirs'}], 'merged'),
    (_netlink_resources.Bridge, {}, [{'name': 'ctbr0', 'addresses': ['10.88.0.1/16']}], 'overridden'),
    (_netlink_resources.Bridge, {}, [{'name': 'ctbr0', 'addresses': ['10.89.0.1/16']}], 'overridden'),
    (_netlink_resources.Veth, {'create_netns': False},
     [{'name': 'veth-' + n, 'peer': 'eth0', 'netns': n, 'bridge': 'ctbr0', 'peer_mac': '02:42:0a:58:00:%02x' % (i + 2)}
      for i, n in enumerate('abc')], 'overridden'),
    (_netlink_resources.Veth, {'create_netns': False},
     [{'name': 'veth-a', 'peer': 'eth0', 'netns': 'a', 'bridge': 'ctbr0'},
      {'name': 'veth-x', 'peer': 'eth0', 'netns': 'x', 'bridge': 'br-new'}], 'overridden'),
    (_netlink_resources.NetnsAddr, {},
     [{'netns': n, 'interface': 'eth0', 'addresses': ['10.88.0.%d/16' % (i + 2)], 'gateway': '10.88.0.1'}
      for i, n in enumerate('abc')], 'overridden'),
    (_netlink_resources.NetnsAddr, {},
     [{'netns': 'a', 'interface': 'eth0', 'addresses': ['10.88.0.9/16'], 'gateway': '10.88.0.1'}], 'merged'),
]


def _converge(resource, config, state):
    try:
        return converge(resource, config, state, check_mode=True)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return (type(exc).__name__, str(exc), getattr(exc, 'details', None))


def test_shared_netlink_answers_as_each_module_reading_alone(host):
    alone = []
    for cls, options, config, state in CASES:
        with _netlink.Netlink() as kernel:
            alone.append(_converge(cls(kernel, **options), config, state))
    requests_alone = len(FakeSocket.requests)
    FakeSocket.requests = []
    with ReadOnlyNetlink() as shared:
        together = [_converge(cls(shared, **options), config, state) for cls, options, config, state in CASES]
    assert together == alone
    assert any(result.get('changed') for result in alone if isinstance(result, dict))
    assert any(isinstance(result, tuple) for result in alone)  # a refusal (a foreign namespace) is the same too
    # Each namespace read once (links, addresses, routes), whatever the number of tasks.
    per_ns = [(what, ns) for what, ns in FakeSocket.requests if what != 'nsid']
    assert len(per_ns) == len(set(per_ns)) and len(FakeSocket.requests) < requests_alone / 2


def test_shared_netlink_answers_are_copies_and_failures_repeat(host):
    with ReadOnlyNetlink() as shared:
        links = shared.links('a')
        links[0]['name'] = 'changed'
        assert shared.links('a')[0]['name'] == 'lo'
        names = shared.netns_names()
        names.append('x')
        assert shared.netns_names() == ['a', 'b', 'c', 'lo-down', 'stale', 'theirs']
        assert shared.netns_info('stale') is None
        with pytest.raises(OSError):
            shared.links('stale')
        assert shared.netns_info('lo-down') == {'owned': True, 'lo_up': False}
        assert shared.netns_info('theirs') == {'owned': False, 'lo_up': True}
        with _netlink.Netlink() as alone:
            for name in shared.netns_names():
                assert shared.netns_info(name) == alone.netns_info(name), name
            assert shared.nsid_map() == alone.nsid_map()


def test_shared_netlink_refuses_every_write(host):
    reads = {'links', 'addresses', 'routes', 'netns_names', 'netns_info', 'nsid_map', 'peer_of', 'close'}
    public = {name for name, _value in inspect.getmembers(_netlink.Netlink, inspect.isfunction) if not name.startswith('_')}
    # A method added to Netlink is either a read listed here or a write ReadOnlyNetlink refuses.
    assert public - reads == set(ReadOnlyNetlink.WRITES)
    with ReadOnlyNetlink() as shared:
        for name in ReadOnlyNetlink.WRITES:
            with pytest.raises(ReadOnlyError):
                getattr(shared, name)('a', 'b')
        with pytest.raises(ReadOnlyError):
            shared._ipr(None)


# -- mounts -------------------------------------------------------------------------------------------

MOUNTINFO = ('22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n'
             '30 22 0:30 / /var/lib/anatomy/workloads/a/rootfs rw shared:2 - overlay overlay '
             'rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w\n')


def test_shared_mount_table_is_read_once_and_is_the_table(monkeypatch, tmp_path):
    path = tmp_path / 'mountinfo'
    path.write_text(MOUNTINFO)
    monkeypatch.setattr(_mounts, 'MOUNTINFO', str(path))
    shared = ReadOnlyMountKernel()
    table = shared.mountinfo()
    path.write_text('')  # not read again
    assert shared.mountinfo() is table
    assert [(m.mount_id, m.mount_point) for m in table.mounts] == [(22, '/'), (30, '/var/lib/anatomy/workloads/a/rootfs')]
    path.write_text(MOUNTINFO)
    assert [vars_of(m) for m in _mounts.Kernel().mountinfo().mounts] == [vars_of(m) for m in table.mounts]
    for name in ReadOnlyMountKernel.WRITES:
        with pytest.raises(ReadOnlyError):
            getattr(shared, name)('/a', '/b', 0)


def vars_of(mount):
    return {slot: getattr(mount, slot) for slot in mount.__slots__}


def test_the_mount_kernel_writes_are_all_refused():
    writes = {name for name, _value in inspect.getmembers(_mounts.Kernel, inspect.isfunction)
              if not name.startswith('_')} - {'mountinfo', 'openat2', 'dtypes'}
    assert writes == set(ReadOnlyMountKernel.WRITES)


# -- netfilter commands ---------------------------------------------------------------------------------

def test_read_and_check_commands():
    assert is_read_command(['nft', '-j', 'list', 'table', 'ip', 'anatomy'])
    assert is_read_command(['/usr/sbin/iptables-legacy-save']) and is_read_command(['iptables-nft-save'])
    assert not is_read_command(['nft', '-f', '-']) and not is_read_command(['nft', '-c', '-f', '-'])
    assert not is_read_command(['nft', 'flush', 'table', 'ip', 'anatomy', ';', 'list', 'tables'])
    assert not is_read_command(['nft', 'list', 'tables;', 'flush', 'ruleset'])
    assert not is_read_command(['iptables-restore']) and not is_read_command([])
    assert is_check_command(['nft', '-c', '-f', '-']) and is_check_command(['iptables-restore', '--noflush', '-w', '--test'])
    assert not is_check_command(['nft', '-f', '-']) and not is_check_command(['iptables-restore', '--noflush', '-w'])


def test_cached_runner_reads_once_and_never_serves_a_read_from_before_a_write():
    fake = FakeRunner()
    cache = {}
    first, second = CachedRunner(fake, cache), CachedRunner(fake, cache)
    listing = first.run(['iptables-save'])
    assert second.run(['iptables-save']) == listing == fake.run(['iptables-save'])
    assert first.which('nft') == second.which('nft') == fake.which('nft')
    assert first.routes() == fake.routes()
    fake.calls = []
    second.run(['iptables-save'])
    second.routes()
    assert fake.calls == []
    # A check changes nothing: the cache stays.
    second.run(['iptables-restore', '--noflush', '-w', '--test'], data='*nat\nCOMMIT\n')
    second.run(['iptables-save'])
    assert [argv for argv, _data in fake.calls] == [['iptables-restore', '--noflush', '-w', '--test']]
    # Anything else may have written: everything read before it is forgotten.
    fake.calls = []
    second.run(['iptables-restore', '--noflush', '-w'], data='*nat\n:ANATOMY-X - [0:0]\nCOMMIT\n')
    after = second.run(['iptables-save'])
    assert ['iptables-save'] in [argv for argv, _data in fake.calls] and 'ANATOMY-X' in after[1]
    assert after != listing
    with pytest.raises(ReadOnlyError):
        first.write(engine.IP_FORWARD, '1\n')
    with pytest.raises(ReadOnlyError):
        first.remove('/etc/sysctl.d/x.conf')
    assert first.read(engine.IP_FORWARD) == '0\n'


# -- never in a real run ----------------------------------------------------------------------------------

class RealRun:
    check_mode = False
    params = {'config': [], 'state': 'overridden', 'create_netns': False, 'purge': False, 'lazy_unmount': False,
              'volumes_root': '/nonexistent', 'backend': 'auto', 'sysctl_file': None}

    def fail_json(self, **kwargs):
        raise AssertionError('fail_json: %r' % kwargs)


@pytest.mark.parametrize('run', [
    _netlink_resources.run_netns, _netlink_resources.run_bridge, _netlink_resources.run_veth,
    _netlink_resources.run_netns_addr, _mounts_resources.run_overlay_mount, _mounts_resources.run_bind_volume,
    engine.run_nat_masquerade, engine.run_port_forward,
])
def test_shared_reads_are_refused_outside_check_mode(monkeypatch, run):
    monkeypatch.setattr(_netlink, 'HAS_PYROUTE2', True)
    with SharedReads() as reads:
        with pytest.raises(ReadOnlyError, match='check mode only'):
            run(RealRun(), reads=reads)


def test_the_preview_gives_shared_reads_to_the_modules_that_take_them():
    from ansible_collections.anatomy.containers.plugins.module_utils import _preview
    for name, (_spec, run) in _preview.MODULES.items():
        takes = 'reads' in inspect.signature(run).parameters
        assert takes == (name in _preview.SHARES_READS), name
    assert _services.run_workload_service is _preview.MODULES['workload_service'][1]
    assert _layers.run_layer is _preview.MODULES['layer'][1]
    assert _preview_reads.SharedReads is _preview.SharedReads
