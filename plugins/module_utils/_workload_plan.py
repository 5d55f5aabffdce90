# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""From a host's workload definitions to the config lists of this collection's modules.

This is a private module_util: its API may change without notice.

The workload role calls :func:`plan` once (through the ``workload_plan`` filter) and hands each
list to one module task, so converging N workloads costs a fixed number of tasks. Pure logic:
no kernel, no files; unit-tested on its own.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import shlex

# A workload's name is its service's name: the same rule for both.
from ansible_collections.anatomy.containers.plugins.module_utils._services import NAME_RE
from ansible_collections.anatomy.containers.plugins.module_utils._linux import IFNAMSIZ


class PlanError(ValueError):
    """A workload definition that cannot be planned; the message names the workload and the field."""


def _network_map(networks: list) -> dict:
    result = {}
    for net in networks or []:
        subnet = ipaddress.ip_network(net['subnet'], strict=False)
        gateway = ipaddress.ip_address(net['gateway']) if net.get('gateway') else next(subnet.hosts())
        result[net['name']] = {'name': net['name'], 'subnet': subnet, 'gateway': gateway,
                               'mode': net.get('mode') or 'nat'}
    return result


def _stable_index(name: str, size: int) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % size


def allocate_addresses(workloads: list, networks: dict, previous: dict | None = None) -> dict:
    """An address for every workload: the one given, else the one it had, else a stable free one.

    ``previous`` is what the last run allocated ({network: {workload: address}}), kept on the host,
    so a workload keeps its address across runs whatever else is added or removed. A new name
    starts at a slot derived from its hash and probes upward, so the result does not depend on
    the order of the list.
    """
    previous = previous or {}
    allocations = {}
    by_network = {}
    for workload in workloads:
        by_network.setdefault(workload['network'], []).append(workload)
    for net_name, members in sorted(by_network.items()):
        net = networks[net_name]
        reserved = {net['gateway'], net['subnet'].network_address, net['subnet'].broadcast_address}
        taken = {}
        for workload in members:
            if workload.get('address'):
                address = ipaddress.ip_address(workload['address'])
                if address not in net['subnet']:
                    raise PlanError('workload %r: address %s is outside network %r (%s)'
                                    % (workload['name'], address, net_name, net['subnet']))
                if address in reserved or address in taken:
                    raise PlanError('workload %r: address %s is already used by %s'
                                    % (workload['name'], address, taken.get(address, 'the network itself')))
                taken[address] = workload['name']
        kept = previous.get(net_name, {})
        for workload in sorted(members, key=lambda w: w['name']):
            if workload.get('address') or workload['name'] not in kept:
                continue
            address = ipaddress.ip_address(kept[workload['name']])
            if address in net['subnet'] and address not in reserved and address not in taken:
                taken[address] = workload['name']
        hosts = net['subnet'].num_addresses
        for workload in sorted(members, key=lambda w: w['name']):
            if workload['name'] in taken.values():
                continue
            start = _stable_index(workload['name'], hosts)
            for step in range(hosts):
                address = net['subnet'].network_address + (start + step) % hosts
                if address not in reserved and address not in taken:
                    taken[address] = workload['name']
                    break
            else:
                raise PlanError('network %r (%s) has no free address for workload %r'
                                % (net_name, net['subnet'], workload['name']))
        allocations[net_name] = {name: str(address) for address, name in sorted(taken.items())}
    return allocations


def link_name(workload: str) -> str:
    """The host end of a workload's veth: at most IFNAMSIZ - 1 (15) bytes, stable, readable where it fits.

    Not ve-*: systemd-networkd's stock 80-container-ve.network configures every link so named.
    """
    readable = 'veth-' + workload
    if len(readable.encode('utf-8')) < IFNAMSIZ:
        return readable
    return 'veth%s%s' % (workload[:5], hashlib.sha256(workload.encode()).hexdigest()[:6])


def mac_for(address: str) -> str:
    """02:42 and the IPv4 address, as Docker does: stable for an address, never a multicast MAC."""
    return '02:42:' + ':'.join('%02x' % octet for octet in ipaddress.ip_address(address).packed)


def _ports(workload: dict) -> list:
    result = []
    for port in workload.get('published_ports') or []:
        if isinstance(port, dict):
            result.append(port)
            continue
        # "80:8080", "127.0.0.1:8080:80", "53:53/udp", as docker run -p takes them.
        text, _sep, protocol = str(port).partition('/')
        parts = text.split(':')
        if len(parts) == 2:
            result.append({'host_port': parts[0], 'container_port': parts[1], 'protocol': protocol or 'tcp'})
        elif len(parts) == 3:
            result.append({'host_address': parts[0], 'host_port': parts[1], 'container_port': parts[2],
                           'protocol': protocol or 'tcp'})
        else:
            raise PlanError('workload %r: published port %r is not HOST:CONTAINER[/PROTO] or ADDR:HOST:CONTAINER'
                            % (workload['name'], port))
    return result


def _command(workload: dict) -> list:
    """The command as argv: a list as given, a string split as a shell would (as Docker's shell-less form)."""
    command = workload.get('command')
    if isinstance(command, (list, tuple)):
        return [str(arg) for arg in command]
    try:
        return shlex.split(str(command))
    except ValueError as exc:
        raise PlanError('workload %r: command %r cannot be split into words: %s' % (workload['name'], command, exc))


def plan(workloads: list, networks: list, state_root: str, previous_addresses: dict | None = None,
         resolv_conf: str = '') -> dict:
    """Everything the workload role converges, as module config lists.

    ``resolv_conf`` is the content of every workload's /etc/resolv.conf (the container_host role writes it).
    """
    workloads = workloads or []
    net_map = _network_map(networks)
    seen = set()
    for index, workload in enumerate(workloads):
        name = workload.get('name')
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise PlanError('workload_list[%d]: name %r must be 1 to 63 lower-case letters, digits, "_", "." or "-"'
                            % (index, name))
        if name in seen:
            raise PlanError('workload %r is listed twice' % name)
        seen.add(name)
        if workload.get('network') not in net_map:
            raise PlanError('workload %r: network %r is not one of container_host_networks (%s)'
                            % (name, workload.get('network'), ', '.join(sorted(net_map)) or 'none'))
        if not workload.get('command') or not _command(workload):
            raise PlanError('workload %r: command is required' % name)
        if not workload.get('layers'):
            raise PlanError('workload %r: layers must list at least one layer' % name)

    addresses = allocate_addresses(workloads, net_map, previous_addresses)
    root = state_root.rstrip('/')
    result = {
        'addresses': addresses, 'netns': [], 'veth': [], 'netns_addr': [], 'published_ports': [],
        'overlays': [], 'volumes': [], 'services': [],
    }
    for workload in sorted(workloads, key=lambda w: w['name']):
        name = workload['name']
        net = net_map[workload['network']]
        address = addresses[net['name']][name]
        prefix = net['subnet'].prefixlen
        wdir = '%s/workloads/%s' % (root, name)
        rootfs = wdir + '/rootfs'
        result['netns'].append({'name': name})
        result['veth'].append({'name': link_name(name), 'peer': 'eth0', 'netns': name, 'bridge': net['name'],
                               'peer_mac': mac_for(address)})
        result['netns_addr'].append({'netns': name, 'interface': 'eth0', 'addresses': ['%s/%d' % (address, prefix)],
                                     'gateway': str(net['gateway'])})
        for port in _ports(workload):
            entry = {'protocol': port.get('protocol') or 'tcp', 'host_port': port['host_port'],
                     'destination': address, 'destination_port': port['container_port'],
                     'comment': 'workload %s' % name}
            for optional in ('host_address', 'allowed_sources'):
                if port.get(optional):
                    entry[optional] = port[optional]
            result['published_ports'].append(entry)
        result['overlays'].append({
            'path': rootfs,
            'lower': ['%s/layers/%s' % (root, layer) if '/' not in layer else layer for layer in workload['layers']],
            'upper': wdir + '/upper', 'work': wdir + '/work',
        })
        for volume in workload.get('volumes') or []:
            entry = {'target': volume['target'], 'root': rootfs, 'read_only': bool(volume.get('read_only', False))}
            if volume.get('name'):
                entry['volume'] = volume['name']
            else:
                entry['source'] = volume['source']
            result['volumes'].append(entry)
        peers = sorted((other['name'], addresses[net['name']][other['name']]) for other in workloads
                       if other['network'] == net['name'])
        hosts = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'] + \
            ['%s\t%s' % (peer_address, peer) for peer, peer_address in peers]
        # Files of the workload's own, written in place under their bind mounts as Docker does: the hosts
        # file changes as neighbours come and go, without a restart.
        for etc_file, content in (('hostname', name + '\n'), ('hosts', '\n'.join(hosts) + '\n'),
                                  ('resolv.conf', resolv_conf)):
            result['volumes'].append({'source': '%s/%s' % (wdir, etc_file), 'content': content,
                                      'target': '/etc/' + etc_file, 'root': rootfs, 'read_only': True})
        service = {
            'name': name, 'command': _command(workload), 'root': rootfs, 'netns': name,
            'user': str(workload.get('user') or 'root'),
            'environment': {str(k): str(v) for k, v in sorted((workload.get('environment') or {}).items())},
            # What the unit does not show but the process depends on (layers, address): a change restarts
            # this workload only. Not the hosts file, which neighbours change.
            'revision': hashlib.sha256(json.dumps({'workload': workload, 'address': address}, sort_keys=True,
                                                  default=str).encode()).hexdigest()[:16],
        }
        if workload.get('capabilities'):
            service['capabilities'] = list(workload['capabilities'])
        result['services'].append(service)
    return result
