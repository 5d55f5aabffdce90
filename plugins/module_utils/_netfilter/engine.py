# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Backends, backend choice, the run lock, and the two resources (NAT networks, published ports).

This is a private module_util: its API may change without notice.

Commands go through an injected runner (``run(argv, data=None) -> (rc, out, err)``,
``which(name) -> path or None``, ``read(path)``, ``write(path, text)``, ``remove(path)``, and
``routes()``: the main table's IPv4 unicast routes as ``[{'dst', 'metric', 'dev'}]``, read through
netlink), so everything but the runner itself is unit-tested without root.

Each module's rules are a :class:`Rules` strategy (``NETWORK_RULES``, ``PORT_RULES``) handed to the
backend, so a backend never branches on which module it serves.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os

from ansible_collections.anatomy.containers.plugins.module_utils._netlink import unicast_routes
from ansible_collections.anatomy.containers.plugins.module_utils._resource import (
    OWNER_MARK, Resource, ResourceError, check_mode_reads, run_module, state_argument_spec,
)
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import (
    iptables as ipt, model, nft,
)

BACKENDS = ('auto', 'nftables', 'iptables')
LOCK_PATH = '/run/anatomy-containers-netfilter.lock'
IP_FORWARD = '/proc/sys/net/ipv4/ip_forward'
ROUTE_LOCALNET = '/proc/sys/net/ipv4/conf/%s/route_localnet'


_HELD = {}


@contextlib.contextmanager
def run_lock(path: str = LOCK_PATH):
    """Serialize runs of our netfilter modules and of the restore program on a host (flock; released when the
    process ends). Held already by this process (the restore program around the modules it runs), it is kept."""
    import fcntl
    if _HELD.get(path):
        _HELD[path] += 1
        try:
            yield
        finally:
            _HELD[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD[path] = 1
        yield
    finally:
        _HELD.pop(path, None)
        os.close(fd)


def _must(runner, argv, data=None, what=None) -> str:
    rc, out, err = runner.run(argv, data=data)
    if rc != 0:
        raise ResourceError('%s failed (rc=%d): %s' % (what or ' '.join(argv), rc, (err or out or '').strip()),
                            rc=rc, stderr=err)
    return out


class Rules:
    """What one module owns, as each backend keeps it: the strategy a backend is handed, so no backend asks
    which module it serves.

    nftables: the chains (and maps) named with ``nft_prefix`` in our table, read back from the whole table;
    iptables: the chains ``ipt_chains``, read back from their part of iptables-save.
    """

    def __init__(self, name, nft_prefix, nft_items, nft_render, ipt_chains, ipt_items, ipt_render):
        self.name = name
        self.nft_prefix, self.nft_items, self.nft_render = nft_prefix, nft_items, nft_render
        self.ipt_chains, self.ipt_items, self.ipt_render = ipt_chains, ipt_items, ipt_render

    def __repr__(self):
        return 'Rules(%s)' % self.name


NETWORK_RULES = Rules('NAT networks', nft_prefix=nft.NM_PREFIX, nft_items=nft.networks_from_state,
                      nft_render=nft.render_networks, ipt_chains=ipt.NM_CHAINS, ipt_items=ipt.networks_from_part,
                      ipt_render=ipt.render_networks)
PORT_RULES = Rules('published ports', nft_prefix=nft.PF_PREFIX, nft_items=nft.ports_from_state,
                   nft_render=nft.render_ports, ipt_chains=ipt.PF_CHAINS, ipt_items=ipt.ports_from_part,
                   ipt_render=ipt.render_ports)


class NftBackend:
    name = 'nftables'

    def __init__(self, runner):
        self.runner = runner
        self.state = None
        self.exists = False
        self._unused_read = False

    def load(self) -> dict:
        """Read our table; a read made by :meth:`probe` and not used yet is used instead of a second one."""
        if self._unused_read:
            self._unused_read = False
            return self.state
        rc, out, err = self.runner.run(['nft', '-j', 'list', 'table', nft.FAMILY, nft.TABLE])
        if rc != 0:
            if 'No such file or directory' not in (err or ''):
                raise ResourceError('nft -j list table %s failed (rc=%d): %s' % (nft.QUALIFIED, rc, (err or '').strip()))
            out = ''
        self.exists = bool(out.strip())
        self.state = nft.parse_table(out)
        return self.state

    def probe(self) -> bool:
        """Whether our table exists (for the backend choice); the next :meth:`load` uses this read."""
        self.load()
        self._unused_read = True
        return self.exists

    def part(self, rules: Rules) -> dict:
        return nft.part_of(self.state, rules.nft_prefix)

    def items(self, rules: Rules) -> list:
        return rules.nft_items(self.state)

    def render(self, rules: Rules, items: list) -> dict:
        return rules.nft_render(items)

    def script(self, rules: Rules, desired: dict) -> str:
        return nft.transaction(self.state, rules.nft_prefix, desired, self.exists)

    def write(self, rules: Rules, desired: dict, check: bool = False) -> str:
        script = self.script(rules, desired)
        if script:
            _must(self.runner, ['nft', '-c', '-f', '-'] if check else ['nft', '-f', '-'], data=script,
                  what='nft -f (%s)' % ('check' if check else 'apply'))
        return script

    def listing(self, part: dict) -> str:
        return nft.listing(part)


class IptablesBackend:
    name = 'iptables'

    def __init__(self, runner, save='iptables-save', restore='iptables-restore', text=None):
        self.runner = runner
        self.save, self.restore = save, restore
        self.text = text
        self.tables = None

    def load(self) -> dict:
        if self.text is None:
            self.text = _must(self.runner, [self.save])
        self.tables = ipt.parse_save(self.text)
        self.text = None  # read afresh next time
        return self.tables

    def part(self, rules: Rules) -> dict:
        return ipt.part_of(self.tables, rules.ipt_chains)

    def items(self, rules: Rules) -> list:
        return rules.ipt_items(self.part(rules))

    def render(self, rules: Rules, items: list) -> dict:
        return rules.ipt_render(items)

    def script(self, rules: Rules, desired: dict) -> str:
        return ipt.transaction(self.part(rules), desired, rules.ipt_chains)

    def write(self, rules: Rules, desired: dict, check: bool = False) -> str:
        script = self.script(rules, desired)
        if script:
            argv = [self.restore, '--noflush', '-w'] + (['--test'] if check else [])
            _must(self.runner, argv, data=script, what=' '.join(argv))
        return script

    def listing(self, part: dict) -> str:
        return ipt.listing(part)


def _ours(tables: dict) -> bool:
    return any(name.startswith('ANATOMY-') for t in tables.values() for name in t['rules'])


def choose_backend(runner, wanted: str = 'auto'):
    """The backend to use, following the documented rule.

    1. nftables needs ``nft``, iptables needs ``iptables-save``/``iptables-restore``.
    2. Rules in both iptables-legacy and iptables-nft: fail (moby#46147) rather than split ours.
    3. The iptables variant used is the one that holds rules; with none, the host's own (alternatives).
    4. auto: where our rules already are, stay; else iptables when the iptables FORWARD policy is DROP
       (as Docker sets: an nftables accept cannot let through what another table drops) or when
       iptables-legacy holds rules; else nftables.
    """
    if wanted not in BACKENDS:
        raise ResourceError('backend must be one of %s, got %r' % (', '.join(BACKENDS), wanted), field='backend')
    have_nft = bool(runner.which('nft'))
    have_ipt = bool(runner.which('iptables-save') and runner.which('iptables-restore'))
    if wanted == 'nftables' or (wanted == 'auto' and not have_ipt):
        if not have_nft:
            raise ResourceError('backend=%s needs the nft command (Debian package nftables)' % wanted, field='backend')
        return NftBackend(runner)
    if not have_ipt:
        if wanted == 'iptables' or not have_nft:
            raise ResourceError('backend=%s needs iptables-save and iptables-restore (Debian package iptables)'
                                % wanted, field='backend')
    variants = {}
    for variant in ('legacy', 'nft'):
        save = 'iptables-%s-save' % variant
        if runner.which(save) and runner.which('iptables-%s-restore' % variant):
            rc, out, _err = runner.run([save])
            if rc == 0:
                variants[variant] = (out, ipt.parse_save(out))
    used = [v for v, (_text, tables) in variants.items() if ipt.has_content(tables)]
    if len(used) == 2:
        raise ResourceError(
            'iptables rules exist in both iptables-legacy and iptables-nft; refusing to split our rules '
            'across them (moby#46147). Remove one set (iptables-legacy-save / iptables-nft-save show them), '
            'or choose backend=nftables', field='backend')
    if used:
        text, tables = variants[used[0]]
        backend = IptablesBackend(runner, 'iptables-%s-save' % used[0], 'iptables-%s-restore' % used[0], text)
    else:
        backend = IptablesBackend(runner)
        tables = None
    if wanted == 'iptables' or not have_nft:
        return backend
    # auto
    nft_backend = NftBackend(runner)
    if tables is not None and _ours(tables):
        return backend
    if nft_backend.probe():
        return nft_backend
    if tables is not None:
        forward = tables.get('filter', {}).get('policies', {}).get('FORWARD', 'ACCEPT')
        if forward != 'ACCEPT' or used == ['legacy']:
            return backend
    return nft_backend


def _routes(runner) -> list:
    """[(network, metric, dev)] of the main table's IPv4 unicast routes, longest prefix first, then lowest metric."""
    routes = []
    for route in runner.routes():
        try:
            net = ipaddress.IPv4Network(route['dst'])
        except ValueError:
            continue
        routes.append((net, route.get('metric') or 0, route['dev']))
    routes.sort(key=lambda r: (-r[0].prefixlen, r[1]))
    return routes


def default_route_interface(runner) -> str | None:
    """The interface of the IPv4 default route (the lowest metric)."""
    for net, _metric, dev in _routes(runner):
        if net.prefixlen == 0:
            return dev
    return None


def route_interfaces(runner, addresses) -> dict:
    """{address: the interface of the main table's longest-prefix route to it}, from one read of the table."""
    addresses = sorted(set(addresses))
    if not addresses:
        return {}
    routes = _routes(runner)
    found = {}
    for address in addresses:
        ip = ipaddress.ip_address(address)
        for net, _metric, dev in routes:
            if ip in net:
                found[address] = dev
                break
    return found


SYSCTL_FILE_HEADER = ('# Written by %s (nat_masquerade): container networks are routed through this host.\n'
                      % OWNER_MARK)


def sysctl_name(path: str) -> str:
    """/proc/sys/net/ipv4/ip_forward -> net.ipv4.ip_forward"""
    return path[len('/proc/sys/'):].replace('/', '.')


class NetfilterResource(Resource):
    """Common to both modules: read our part once, rebuild items, detect drift, write one transaction."""

    #: The module's rules (NETWORK_RULES, PORT_RULES): what the backend reads, renders and writes.
    rules: Rules = None

    def __init__(self, runner, backend: str = 'auto', sysctl_file: str | None = None):
        self.runner = runner
        self.wanted_backend = backend
        self.sysctl_file = sysctl_file
        self._sysctl_file_read = None
        self.backend = None
        self.current_part = None
        self.before_part = None
        self.owned = []
        self.drift = False

    def read(self):
        if self.backend is None:
            self.backend = choose_backend(self.runner, self.wanted_backend)
        self.backend.load()
        self.current_part = self.backend.part(self.rules)
        if self.before_part is None:
            self.before_part = self.current_part
        self.owned = [self.canonical(i) for i in self.backend.items(self.rules)]
        self.drift = self.backend.render(self.rules, self.owned) != self.current_part
        return list(self.owned), set()

    def canonical(self, item: dict) -> dict:
        return item

    def differs(self, current: dict, desired: dict) -> bool:
        return self.drift or current != desired

    def check_all(self, items: list) -> None:
        """Checks across all objects of the final state."""

    def validate_plan(self, plan, current: dict) -> None:
        final = self.predict(list(current.values()), plan)
        self.check_all(final)
        self.check_sysctl_file(final)
        # The diff is at rule level: a plan that renders exactly the rules loaded changes nothing
        # (isolate on the only network, say, which has nothing to be isolated from).
        if plan and not self.drift and self.desired_part(final) == self.current_part:
            for planned in (plan.create, plan.update, plan.delete):
                planned.clear()

    def desired_part(self, items: list) -> dict:
        return self.backend.render(self.rules, items)

    def apply(self, plan) -> None:
        final = self.predict(self.owned, plan)
        self.backend.write(self.rules, self.desired_part(final))

    def check(self, items: list) -> None:
        """Check mode: have the kernel validate the transaction (nft -c, iptables-restore --test)."""
        self.backend.write(self.rules, self.desired_part(items), check=True)

    def sysctls(self, items: list) -> dict:
        """{path: value} the final state needs."""
        return {}

    def ensure_sysctls(self, items: list, check_mode: bool) -> list:
        changed = []
        for path, value in sorted(self.sysctls(items).items()):
            try:
                current = self.runner.read(path).strip()
            except OSError:
                continue
            if current != value:
                if not check_mode:
                    self.runner.write(path, value + '\n')
                changed.append('%s=%s' % (sysctl_name(path), value))
        return changed

    def persisted_text(self, items: list) -> str | None:
        """The sysctl.d file that keeps the final state's sysctls for boot; None when it needs none."""
        wanted = self.sysctls(items)
        if not wanted:
            return None
        return SYSCTL_FILE_HEADER + ''.join('%s = %s\n' % (sysctl_name(path), value)
                                            for path, value in sorted(wanted.items()))

    def read_sysctl_file(self) -> tuple:
        """(text or None, whether we wrote it), read once a run: validation and the write after apply share it."""
        if self._sysctl_file_read is None:
            try:
                current = self.runner.read(self.sysctl_file)
            except OSError:
                current = None
            self._sysctl_file_read = (current, current is not None and OWNER_MARK in current.split('\n', 1)[0])
        return self._sysctl_file_read

    def check_sysctl_file(self, items: list) -> None:
        """Before any change: a sysctl_file that someone else wrote is refused, not overwritten."""
        if self.sysctl_file and self.persisted_text(items) is not None:
            current, ours = self.read_sysctl_file()
            if current is not None and not ours:
                raise ResourceError('sysctl_file %s exists and was not written by %s; refusing to overwrite it'
                                    % (self.sysctl_file, OWNER_MARK), field='sysctl_file')

    def ensure_sysctl_file(self, items: list, check_mode: bool) -> bool:
        """Write (or, with nothing to keep, remove) ``sysctl_file``; a file not written by us is never touched."""
        if not self.sysctl_file:
            return False
        current, ours = self.read_sysctl_file()
        wanted = self.persisted_text(items)
        if current == wanted or (wanted is None and not ours):
            return False
        if current is not None and not ours:
            self.check_sysctl_file(items)
        if not check_mode:
            if wanted is None:
                self.runner.remove(self.sysctl_file)
            else:
                self.runner.write(self.sysctl_file, wanted)
        return True


class NetworksResource(NetfilterResource):
    kind = 'NAT network'
    key = 'subnet'
    defaults = {'mode': 'nat', 'isolate': False}
    rules = NETWORK_RULES

    def normalize(self, item: dict) -> dict:
        return model.normalize_network(item, lambda: default_route_interface(self.runner))

    def check_all(self, items: list) -> None:
        model.check_networks(items)

    def sysctls(self, items: list) -> dict:
        return {IP_FORWARD: '1'} if items else {}


class PortsResource(NetfilterResource):
    kind = 'published port'
    key = ('protocol', 'host_address', 'host_port')
    defaults = {'protocol': 'tcp', 'host_address': model.ANY_ADDRESS, 'allowed_sources': [], 'comment': ''}
    rules = PORT_RULES

    def normalize(self, item: dict) -> dict:
        given = dict(item)
        if isinstance(given.get('host_port'), int) and not isinstance(given.get('host_port'), bool):
            given['host_port'] = str(given['host_port'])
        return model.normalize_port(given)

    def key_of(self, item: dict):
        key = super().key_of(item)
        # 80 and '80' name the same port.
        return tuple(str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in key)

    def check_all(self, items: list) -> None:
        model.check_ports(items)

    def sysctls(self, items: list) -> dict:
        wanted = {IP_FORWARD: '1'} if items else {}
        devices = route_interfaces(self.runner, [i['destination'] for i in items if model.needs_route_localnet(i)])
        for dev in sorted(set(devices.values()) - {'lo'}):
            wanted[ROUTE_LOCALNET % dev] = '1'
        return wanted


def run_netfilter_module(module, resource: NetfilterResource, lock=run_lock, record=None) -> None:
    """main() of both modules: under the lock, converge, validate in check mode, set sysctls, report with a rule diff."""
    def finish(result):
        result['backend'] = resource.backend.name
        if module.params['state'] == 'gathered':
            return
        if module.check_mode:
            after_part = resource.desired_part(result['after'])
            if result['changed'] or resource.drift:
                resource.check(result['after'])
        else:
            after_part = resource.current_part
        sysctl = resource.ensure_sysctls(result['after'], module.check_mode)
        if sysctl:
            result['changed'] = True
        result['sysctl'] = sysctl
        if resource.ensure_sysctl_file(result['after'], module.check_mode):
            result['changed'] = True
        result['rules'] = resource.backend.listing(after_part).splitlines()
        if module._diff:
            result['diff'] = [
                dict(before=dict(config=result['before']), after=dict(config=result['after'])),
                dict(before_header='%s rules loaded' % resource.backend.name,
                     after_header='%s rules %s' % (resource.backend.name,
                                                   'rendered' if module.check_mode else 'loaded after'),
                     before=resource.backend.listing(resource.before_part),
                     after=resource.backend.listing(after_part)),
            ]

    run_module(module, resource, guard=lock, finish=finish, record=record)


class ModuleRunner:
    """The runner of a real module run: AnsibleModule.run_command, get_bin_path, files, netlink for routes."""

    def __init__(self, module):
        self.module = module
        self._paths = {}

    def run(self, argv, data=None):
        path = self.which(argv[0]) or argv[0]
        return self.module.run_command([path] + list(argv[1:]), data=data, binary_data=data is not None)

    def which(self, name):
        if name not in self._paths:
            self._paths[name] = self.module.get_bin_path(name)
        return self._paths[name]

    @staticmethod
    def read(path):
        with open(path) as f:
            return f.read()

    @staticmethod
    def write(path, text):
        with open(path, 'w') as f:
            f.write(text)

    @staticmethod
    def remove(path):
        os.unlink(path)

    @staticmethod
    def routes():
        return unicast_routes()


# -- the modules: what each accepts, and its main() once its AnsibleModule exists --------------------------------------
# One home for a module's argument spec, shared by the module and anatomy.containers.preview.

NAT_MASQUERADE_ARGUMENT_SPEC = dict(
    state_argument_spec(dict(
        subnet=dict(type='str', required=True),
        out_interface=dict(type='str'),
        mode=dict(type='str', choices=['nat', 'routed']),
        isolate=dict(type='bool'),
    )),
    backend=dict(type='str', choices=list(BACKENDS), default='auto'),
    sysctl_file=dict(type='path'),
)

PORT_FORWARD_ARGUMENT_SPEC = dict(
    state_argument_spec(dict(
        protocol=dict(type='str', choices=['tcp', 'udp']),
        host_port=dict(type='raw', required=True),
        host_address=dict(type='str'),
        destination=dict(type='str'),
        destination_port=dict(type='raw'),
        allowed_sources=dict(type='list', elements='str'),
        comment=dict(type='str'),
    )),
    backend=dict(type='str', choices=list(BACKENDS), default='auto'),
)


def _runner(module, reads):
    """The run's own runner; in a preview (check mode only), one whose reads are shared by its tasks."""
    return reads.netfilter_runner(module) if check_mode_reads(module, reads) is not None else ModuleRunner(module)


def run_nat_masquerade(module, reads=None) -> None:
    """main() of anatomy.containers.nat_masquerade, given its AnsibleModule (NAT_MASQUERADE_ARGUMENT_SPEC)."""
    run_netfilter_module(module, NetworksResource(_runner(module, reads), module.params['backend'],
                                                  sysctl_file=module.params['sysctl_file']),
                         record='nat_masquerade')


def run_port_forward(module, reads=None) -> None:
    """main() of anatomy.containers.port_forward, given its AnsibleModule (PORT_FORWARD_ARGUMENT_SPEC)."""
    run_netfilter_module(module, PortsResource(_runner(module, reads), module.params['backend']), record='port_forward')
