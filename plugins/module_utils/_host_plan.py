# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One plan for a host: its networks and its workloads, checked whole, as the modules' config lists.

This is a private module_util: its API may change without notice.

The roles think first and act second: :func:`plan_host` takes every network and workload of a host
(and what one read of the host said: the address record, its resolv.conf, its packages), checks all
of it, and returns either every problem at once (one line each, naming the variable, the network or
workload, and the field) or one ``config`` list per module task. Nothing here touches a host: it runs
on the controller (the ``host_plan`` action) and in unit tests.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import posixpath
import shlex

from ansible_collections.anatomy.containers.plugins.module_utils._linux import IFNAMSIZ, ifname_problem
from ansible_collections.anatomy.containers.plugins.module_utils._netlink import ipv4_address, ipv4_network
from ansible_collections.anatomy.containers.plugins.module_utils._resource import GENERATION_FILE, ResourceError
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.engine import LOCK_PATH
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import model as netfilter_model
from ansible_collections.anatomy.containers.plugins.module_utils import _oci, _restore
from ansible_collections.anatomy.containers.plugins.module_utils._services import CAPABILITIES, CAPABILITY_RE, NAME_RE, WorkloadService
from ansible_collections.anatomy.containers.plugins.module_utils._layers import BUSYBOX_FILES, Layer
from ansible_collections.anatomy.containers.plugins.module_utils import _images
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import check_volume_name

NETWORKS_VAR = 'container_host_networks'
WORKLOADS_VAR = 'workload_list'
LAYERS_VAR = 'workload_layers'
IMAGES_VAR = 'workload_images'

# Files that the plan writes into every workload and binds read-only, as Docker does.
ETC_FILES = ('hostname', 'hosts', 'resolv.conf')

# Docker's fallback when the host has no usable nameserver.
DNS_FALLBACK = ['8.8.8.8', '8.8.4.4']
# Where the host's own nameservers are read, in order: the first with a usable one wins (systemd-resolved's
# upstream list when /etc/resolv.conf names only its stub, as Docker does).
RESOLV_SOURCES = ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf']
OS_RELEASE = '/etc/os-release'
PACKAGES_BY_OS_FAMILY = {
    'Debian': ['python3-pyroute2', 'nftables', 'iptables', 'busybox-static', 'crun', 'skopeo'],
    'RedHat': ['python3-pyroute2', 'nftables', 'iptables-nft', 'busybox', 'crun', 'skopeo'],
}
# The state root (others may pass through to what a workload is given) and its private directories.
STATE_DIR_MODES = (('', '0711'), ('/images', '0700'), ('/layers', '0700'), ('/volumes', '0700'), ('/workloads', '0700'))


class PlanError(ValueError):
    """The input cannot be planned: ``errors`` has one line per problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__('\n'.join(self.errors))


class Problems:
    """Every problem found, in the order found, each one line."""

    def __init__(self):
        self.lines = []

    def add(self, where: str, message: str) -> None:
        self.lines.append('%s: %s' % (where, message))

    def __bool__(self):
        return bool(self.lines)


# -- networks -----------------------------------------------------------------------------------------

class Network:
    """One network of the host: a bridge with the gateway on it, and its NAT entry."""

    def __init__(self, name, subnet, gateway, mtu=None, mode='nat', isolate=True):
        self.name = name
        self.subnet = subnet
        self.gateway = gateway
        self.mtu = mtu
        self.mode = mode
        self.isolate = isolate

    @property
    def reserved(self) -> set:
        return {self.gateway, self.subnet.network_address, self.subnet.broadcast_address}

    def bridge(self) -> dict:
        bridge = {'name': self.name, 'addresses': ['%s/%d' % (self.gateway, self.subnet.prefixlen)]}
        if self.mtu is not None:
            bridge['mtu'] = self.mtu
        return bridge

    def nat(self) -> dict:
        return {'subnet': str(self.subnet), 'mode': self.mode, 'isolate': self.isolate}


def parse_networks(networks, problems: Problems) -> dict:
    """{name: Network} of the valid networks; every problem of the list goes to ``problems``."""
    result = {}
    if not isinstance(networks, list):
        problems.add(NETWORKS_VAR, 'must be a list of networks')
        return result
    seen = {}
    for index, net in enumerate(networks):
        if not isinstance(net, dict):
            problems.add('%s[%d]' % (NETWORKS_VAR, index), 'must be a mapping with name and subnet')
            continue
        name = net.get('name')
        where = '%s: network %r' % (NETWORKS_VAR, name) if isinstance(name, str) else '%s[%d]' % (NETWORKS_VAR, index)
        bad = len(problems.lines)
        why = ifname_problem(name)
        if why:
            problems.add(where, 'name %r %s' % (name, why))
        elif name in seen:
            problems.add(where, 'the name is used twice (%s[%d] and [%d])' % (NETWORKS_VAR, seen[name], index))
        else:
            seen[name] = index
        subnet = _subnet(net.get('subnet'), where, problems)
        gateway = None
        if subnet is not None:
            gateway = _gateway(net.get('gateway'), subnet, where, problems)
        mtu = net.get('mtu')
        if mtu is not None and (isinstance(mtu, bool) or not str(mtu).isdigit() or not 68 <= int(mtu) <= 65535):
            problems.add(where, 'mtu %r must be 68 to 65535' % (mtu,))
        masquerade, mode = net.get('masquerade'), net.get('mode')
        if masquerade is not None and not isinstance(masquerade, bool):
            problems.add(where, 'masquerade must be true or false')
        if mode is not None and mode not in netfilter_model.MODES:
            problems.add(where, 'mode must be one of %s, got %r' % (', '.join(netfilter_model.MODES), mode))
        if isinstance(masquerade, bool) and mode in netfilter_model.MODES and masquerade != (mode == 'nat'):
            problems.add(where, 'masquerade %s contradicts mode %s (mode nat masquerades, routed does not)'
                         % (str(masquerade).lower(), mode))
        isolate = net.get('isolate', True)
        if isolate is None:
            isolate = True
        if not isinstance(isolate, bool):
            problems.add(where, 'isolate must be true or false')
        if len(problems.lines) == bad:
            result[name] = Network(name, subnet, gateway, None if mtu is None else int(mtu),
                                   mode or ('routed' if masquerade is False else 'nat'), isolate)
    ordered = sorted(result.values(), key=lambda n: (n.subnet.network_address, n.subnet.prefixlen))
    for first, second in zip(ordered, ordered[1:]):
        if first.subnet.overlaps(second.subnet):
            problems.add(NETWORKS_VAR, 'the subnets of %r (%s) and %r (%s) overlap'
                         % (first.name, first.subnet, second.name, second.subnet))
    return result


def _subnet(value, where, problems):
    """The network's subnet by the one IPv4 network rule (_netlink.ipv4_network), written canonically, /1 to /30."""
    try:
        subnet = ipv4_network(value, 'subnet')
    except ResourceError as exc:
        problems.add(where, str(exc))
        return None
    if '/' not in str(value) or not 1 <= subnet.prefixlen <= 30:
        problems.add(where, 'subnet %r must be in CIDR form with a prefix length of 1 to 30' % (value,))
        return None
    if str(subnet) != str(value):
        problems.add(where, 'subnet %r must be written canonically as %s' % (value, subnet))
        return None
    return subnet


def _gateway(value, subnet, where, problems):
    if value in (None, ''):
        return next(subnet.hosts())
    try:
        gateway = ipaddress.ip_address(str(value))
    except ValueError:
        gateway = None
    if gateway is None or gateway not in subnet or gateway in (subnet.network_address, subnet.broadcast_address):
        problems.add(where, 'gateway %r is not a host address of %s' % (value, subnet))
        return None
    return gateway


# -- addresses ------------------------------------------------------------------------------------------

def _stable_index(name: str, size: int) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % size


def allocate_addresses(workloads: list, networks: dict, previous: dict | None, problems: Problems) -> dict:
    """{network: {workload: address}}: the one given, else the one it had, else a stable free one.

    ``previous`` is what the last run allocated, kept on the host, so a workload keeps its address across
    runs whatever else is added or removed. A new name starts at a slot derived from its hash and probes
    upward, so the result does not depend on the order of the list.
    """
    previous = previous if isinstance(previous, dict) else {}
    allocations = {}
    by_network = {}
    for workload in workloads:
        by_network.setdefault(workload['network'], []).append(workload)
    for net_name, members in sorted(by_network.items()):
        net = networks[net_name]
        taken = {}
        for workload in members:
            if workload.get('address'):
                where = '%s: workload %r' % (WORKLOADS_VAR, workload['name'])
                try:
                    address = ipaddress.ip_address(str(workload['address']))
                except ValueError:
                    problems.add(where, 'address %r is not an IPv4 address' % (workload['address'],))
                    continue
                if address not in net.subnet:
                    problems.add(where, 'address %s is outside network %r (%s)' % (address, net_name, net.subnet))
                elif address in net.reserved or address in taken:
                    problems.add(where, 'address %s is already used by %s'
                                 % (address, taken.get(address, 'the network itself')))
                else:
                    taken[address] = workload['name']
        kept = previous.get(net_name) if isinstance(previous.get(net_name), dict) else {}
        for workload in sorted(members, key=lambda w: w['name']):
            if workload.get('address') or workload['name'] not in kept:
                continue
            try:
                address = ipaddress.ip_address(str(kept[workload['name']]))
            except ValueError:
                continue
            if address in net.subnet and address not in net.reserved and address not in taken:
                taken[address] = workload['name']
        size = net.subnet.num_addresses
        named = set(taken.values())
        for workload in sorted(members, key=lambda w: w['name']):
            if workload['name'] in named or workload.get('address'):
                continue
            start = _stable_index(workload['name'], size)
            for step in range(size):
                address = net.subnet.network_address + (start + step) % size
                if address not in net.reserved and address not in taken:
                    taken[address] = workload['name']
                    break
            else:
                problems.add(WORKLOADS_VAR, 'network %r (%s) has no free address for workload %r'
                             % (net_name, net.subnet, workload['name']))
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


# -- workload fields ------------------------------------------------------------------------------------

def _port_spec(port):
    """A published port as docker run -p takes it ("80:8080", "127.0.0.1:8080:80", "53:53/udp") or a dict."""
    if isinstance(port, dict):
        return {'host_address': port.get('host_address'), 'host_port': port.get('host_port'),
                'container_port': port.get('container_port', port.get('destination_port')),
                'protocol': port.get('protocol') or 'tcp', 'allowed_sources': port.get('allowed_sources')}
    text, _sep, protocol = str(port).partition('/')
    parts = text.split(':')
    if len(parts) == 2:
        return {'host_port': parts[0], 'container_port': parts[1], 'protocol': protocol or 'tcp'}
    if len(parts) == 3:
        return {'host_address': parts[0], 'host_port': parts[1], 'container_port': parts[2],
                'protocol': protocol or 'tcp'}
    raise ValueError('is not HOST:CONTAINER[/PROTO] or ADDRESS:HOST:CONTAINER[/PROTO]')


def _check_port(spec: dict) -> str | None:
    """Why a published port is refused, in the user's words, or None."""
    if spec['protocol'] not in netfilter_model.PROTOCOLS:
        return 'protocol must be one of %s' % ', '.join(netfilter_model.PROTOCOLS)
    if spec.get('host_address') not in (None, ''):
        try:
            ipv4_address(spec['host_address'], 'host address')
        except ResourceError as exc:
            return str(exc)
    ranges = []
    for label, value in (('host port', spec.get('host_port')), ('container port', spec.get('container_port'))):
        try:
            ranges.append(netfilter_model.port_range(value, label))
        except ResourceError:
            return '%s must be 1-65535, or a range within it like 8000-8010' % label
    (first, last), (cfirst, clast) = ranges
    if last - first != clast - cfirst:
        return 'the container port range must span as many ports as the host port range'
    return None


def _check_volume(volume, where, problems, targets):
    if not isinstance(volume, dict):
        problems.add(where, 'must be a mapping with target and name or source')
        return
    if (volume.get('name') is None) == (volume.get('source') is None):
        problems.add(where, 'give exactly one of name (a managed volume) and source (a host path)')
    if volume.get('name') is not None:
        why = check_volume_name(volume['name'])
        if why:
            problems.add(where, 'name %s' % why)
    if volume.get('source') is not None and not str(volume['source']).startswith('/'):
        problems.add(where, 'source %r must be an absolute path' % (volume['source'],))
    target = volume.get('target')
    if not isinstance(target, str) or not target.startswith('/') or '\0' in target:
        problems.add(where, 'target %r must be an absolute path inside the workload' % (target,))
        return
    normal = posixpath.normpath(target)
    if normal != target.rstrip('/') or '..' in target.split('/') or normal == '/':
        problems.add(where, 'target %r must be a canonical path below / (no ., .. or //), like %s'
                     % (target, normal if normal != '/' else '/data'))
        return
    if normal in ('/etc/' + name for name in ETC_FILES):
        problems.add(where, 'target %s is written by the role itself (the workload\'s own /etc files)' % normal)
    elif normal in targets:
        problems.add(where, 'target %s is also the target of volumes[%d]' % (normal, targets[normal]))
    targets.setdefault(normal, len(targets))
    if not isinstance(volume.get('read_only', False), bool):
        problems.add(where, 'read_only must be true or false')


def command_argv(command):
    """The command as argv: a list as given, a string split as a shell would (as Docker's shell-less form)."""
    if isinstance(command, (list, tuple)):
        return [str(arg) for arg in command]
    return shlex.split(str(command))


class _LayerRules(Layer):
    """The layer module's own checks, on the controller: whether busybox exists is for the host to say."""

    def busybox_digest(self):
        return 'checked on the host'


def check_layers(layers, problems: Problems) -> set:
    """The names of the valid layers of ``workload_layers``."""
    names = set()
    if not isinstance(layers, list):
        problems.add(LAYERS_VAR, 'must be a list of layers')
        return names
    rules = _LayerRules()
    for index, layer in enumerate(layers):
        name = layer.get('name') if isinstance(layer, dict) else None
        where = '%s: layer %r' % (LAYERS_VAR, name) if isinstance(name, str) else '%s[%d]' % (LAYERS_VAR, index)
        if not isinstance(layer, dict):
            problems.add(where, 'must be a mapping with a name')
            continue
        try:
            rules.normalize({'busybox': False, 'files': [], **{k: v for k, v in layer.items() if v is not None}})
        except ResourceError as exc:
            problems.add(where, _without_subject(str(exc)))
            continue
        if name in names:
            problems.add(where, 'the name is used twice')
        names.add(name)
    return names


class _ImageRules(_images.Image):
    """The image module's own checks, on the controller: files named on the host are for the host to check."""

    checks_host = False


def check_images(images, problems: Problems) -> dict:
    """The valid images of ``workload_images``, by name, as the image module takes them."""
    found = {}
    if not isinstance(images, list):
        problems.add(IMAGES_VAR, 'must be a list of images')
        return found
    rules = _ImageRules()
    for index, image in enumerate(images):
        name = image.get('name') if isinstance(image, dict) else None
        where = '%s: image %r' % (IMAGES_VAR, name) if isinstance(name, str) else '%s[%d]' % (IMAGES_VAR, index)
        if not isinstance(image, dict):
            problems.add(where, 'must be a mapping with a name')
            continue
        try:
            item = rules.normalize(dict(_images.Image.defaults, **{k: v for k, v in image.items() if v is not None}))
        except ResourceError as exc:
            problems.add(where, _without_subject(str(exc)))
            continue
        if name in found:
            problems.add(where, 'the name is used twice')
        found[name] = {key: value for key, value in item.items() if value not in (None, False) or key == 'insecure'}
    return found


def image_entry(index: dict, item: dict):
    """The host's image of this name (its index entry), when it is the one asked for (a pinned digest)."""
    entry = index.get(item['name'])
    if not isinstance(entry, dict) or not isinstance(entry.get('layers'), list):
        return None
    if item.get('digest') and item['digest'] not in (entry.get('manifest_digest'), entry.get('repo_digest')):
        return None
    return entry


def image_command(workload, config) -> list:
    """Docker's rules: an entrypoint given replaces the image's and drops its Cmd; a command replaces Cmd."""
    if workload.get('entrypoint') is not None:
        entrypoint, cmd = command_argv(workload['entrypoint']) if workload['entrypoint'] else [], []
    else:
        entrypoint, cmd = list(config.get('Entrypoint') or []), list(config.get('Cmd') or [])
    if workload.get('command'):
        cmd = command_argv(workload['command'])
    return [str(arg) for arg in entrypoint + cmd]


def anonymous_volume(workload_name: str, target: str) -> str:
    """The volume an image's VOLUME gets when the workload mounts none there: named after both, as stable as Docker's
    random IDs are not, so the data outlives the workload's replacement."""
    return 'anon-%s-%s' % (workload_name, hashlib.sha256(target.encode()).hexdigest()[:12])


def with_image(workload, image) -> dict:
    """The workload with what its image supplies and the workload does not set."""
    config = image.get('config') or {}
    merged = dict(workload, command=image_command(workload, config))
    environment = {}
    for entry in config.get('Env') or []:
        key, sep, value = str(entry).partition('=')
        if sep:
            environment[key] = value
    given = workload.get('environment') or {}
    if isinstance(given, dict):
        environment.update({str(k): str(v) for k, v in given.items()})
        merged['environment'] = environment
    if not workload.get('working_dir') and config.get('WorkingDir'):
        merged['working_dir'] = posixpath.normpath('/' + str(config['WorkingDir']).lstrip('/'))
    if not workload.get('user') and config.get('User'):
        merged['user'] = str(config['User'])
    if not workload.get('stop_signal') and config.get('StopSignal'):
        merged['stop_signal'] = str(config['StopSignal'])
    volumes = list(workload.get('volumes') or [])
    targets = {posixpath.normpath(str(volume.get('target'))) for volume in volumes if isinstance(volume, dict)}
    for target in sorted(config.get('Volumes') or {}):
        target = posixpath.normpath('/' + str(target).lstrip('/'))
        if target not in targets:
            volumes.append({'name': anonymous_volume(workload['name'], target), 'target': target})
    if volumes:
        merged['volumes'] = volumes
    return merged


def _without_subject(message: str) -> str:
    """A module's message without the module's own name for the object ("layer 'x': ..."): the plan names it."""
    head, sep, rest = message.partition(': ')
    return rest if sep and "'" in head else message


# -- the plan -------------------------------------------------------------------------------------------

def plan_host(networks, workloads=None, layers=None, state_root='/var/lib/anatomy', previous_addresses=None,
              resolv_conf='', existing_paths=None, images=None, image_index=None) -> dict:
    """Everything both roles converge on one host, or PlanError with every problem.

    ``workloads`` None plans the networks alone (the container_host role without the workload role).
    ``existing_paths`` are the absolute layer paths the host read found (None: not checked).
    ``images`` is ``workload_images``; ``image_index`` the host's images by name (the image module's index.json, and
    in check mode what its task said it would pull). ``images`` in the result says what the role's image task does:
    ``missing`` names the images the host lacks (then the workloads' tasks are not planned: the role pulls them and
    plans again), ``implicit`` the images workloads name that ``workload_images`` does not list, and ``refresh``
    whether one of them is pulled with ``pull: always``.
    """
    problems = Problems()
    net_map = parse_networks(networks, problems)
    result = {
        'bridges': [net_map[name].bridge() for name in sorted(net_map)],
        'nat_networks': [net_map[name].nat() for name in sorted(net_map)],
    }
    if workloads is not None:
        result.update(_plan_workloads(workloads, layers or [], net_map, networks, state_root,
                                      previous_addresses, resolv_conf, existing_paths, problems,
                                      images or [], image_index or {}))
    if problems:
        raise PlanError(problems.lines)
    return result


def layer_file(layers, layer_list, path):
    """The text of PATH (like "etc/passwd") in a workload's root filesystem as its named layers make it, topmost first;
    None when no layer has it or a layer the plan cannot see (a host directory) comes first."""
    by_name = {layer.get('name'): layer for layer in layers if isinstance(layer, dict)} if isinstance(layers, list) else {}
    for name in layer_list:
        layer = by_name.get(name)
        if layer is None:
            return None
        for entry in layer.get('files') or []:
            if isinstance(entry, dict) and str(entry.get('path', '')).strip('/') == path:
                return str(entry.get('content') or '')
        if layer.get('busybox') and path in BUSYBOX_FILES:
            return BUSYBOX_FILES[path]
    return None


def _check_user(workload, layers, where, problems) -> None:
    """A user name the workload's own /etc/passwd (as its layers make it) does not know, reported now, not when the
    service starts: Docker resolves names inside the container, and so does the runtime's bundle."""
    user = workload.get('user')
    layer_list = workload.get('layers')
    if not isinstance(user, str) or not isinstance(layer_list, list):
        return
    passwd = layer_file(layers, layer_list, 'etc/passwd')
    if passwd is None:
        return
    try:
        _oci.resolve_user(user, passwd, layer_file(layers, layer_list, 'etc/group') or '')
    except _oci.BundleError as exc:
        problems.add(where, str(exc))


def _check_workloads(workloads, layers, layer_names, net_map, networks, existing_paths, problems) -> list:
    """The workloads that can be planned (each field checked; every problem reported)."""
    if not isinstance(workloads, list):
        problems.add(WORKLOADS_VAR, 'must be a list of workloads')
        return []
    known_networks = {net.get('name') for net in networks if isinstance(net, dict) and isinstance(net.get('name'), str)} \
        if isinstance(networks, list) else set()
    rules = WorkloadService(systemctl=object())
    valid, seen, ports = [], {}, []
    for index, workload in enumerate(workloads):
        if not isinstance(workload, dict):
            problems.add('%s[%d]' % (WORKLOADS_VAR, index), 'must be a mapping with name, network, layers and command')
            continue
        name = workload.get('name')
        named = isinstance(name, str) and NAME_RE.match(name)
        where = '%s: workload %r' % (WORKLOADS_VAR, name) if named else '%s[%d]' % (WORKLOADS_VAR, index)
        bad = len(problems.lines)
        if not named:
            problems.add(where, 'name %r must be 1 to 63 lower-case letters, digits, "_", "." or "-", '
                                'starting with a letter or digit' % (name,))
        elif name in seen:
            problems.add(WORKLOADS_VAR, 'workload %r is listed twice (%s[%d] and [%d])' % (name, WORKLOADS_VAR, seen[name], index))
        else:
            seen[name] = index
        network = workload.get('network')
        if not isinstance(network, str) or network not in known_networks:
            problems.add(where, 'network %r is not one of %s (%s)'
                         % (network, NETWORKS_VAR, ', '.join(sorted(str(n) for n in known_networks)) or 'none'))
        address = workload.get('address')
        if address not in (None, '') and not _is_ipv4(address):
            problems.add(where, 'address %r is not an IPv4 address' % (address,))
        published = workload.get('published_ports') or []
        if not isinstance(published, list):
            problems.add(where, 'published_ports must be a list, like ["80:8080"]')
            published = []
        for position, port in enumerate(published):
            text = port if isinstance(port, str) else str(port)
            try:
                spec = _port_spec(port)
                why = _check_port(spec)
            except ValueError as exc:
                why = str(exc)
            if why:
                problems.add(where, 'published_ports[%d] %r: %s' % (position, text, why))
            elif named:
                ports.append((name, position, text, spec))
        image = workload.get('image')
        if image is not None and (not isinstance(image, str) or not _images.REFERENCE_RE.match(image)):
            problems.add(where, 'image %r must be a reference like registry.example:5000/python:3-slim' % (image,))
        layer_list = workload.get('layers')
        if image is None and (not isinstance(layer_list, list) or not layer_list):
            problems.add(where, 'needs an image, or layers listing at least one layer')
        elif layer_list is not None and not isinstance(layer_list, list):
            problems.add(where, 'layers must be a list of layers')
        else:
            for position, layer in enumerate(layer_list or []):
                if isinstance(layer, str) and layer.startswith('/'):
                    if existing_paths is not None and layer not in existing_paths:
                        problems.add(where, 'layers[%d] %r: no such directory on the host' % (position, layer))
                elif not isinstance(layer, str) or layer not in layer_names:
                    problems.add(where, 'layers[%d] %r is not one of %s (%s) nor an absolute path'
                                 % (position, layer, LAYERS_VAR, ', '.join(sorted(layer_names)) or 'none'))
        entrypoint = workload.get('entrypoint')
        if entrypoint is not None and image is None:
            problems.add(where, 'entrypoint is for workloads run from an image; without one, command is the whole argv')
        elif entrypoint is not None and not isinstance(entrypoint, (str, list)):
            problems.add(where, 'entrypoint must be a list of words or a string')
        volumes = workload.get('volumes') or []
        if not isinstance(volumes, list):
            problems.add(where, 'volumes must be a list of mappings with target and name or source')
            volumes = []
        targets = {}
        for position, volume in enumerate(volumes):
            _check_volume(volume, '%s: volumes[%d]' % (where, position), problems, targets)
        try:
            argv = command_argv(workload.get('command')) if workload.get('command') else []
        except ValueError as exc:
            problems.add(where, 'command %r cannot be split into words: %s' % (workload.get('command'), exc))
            argv = None
        if argv == [] and image is None:
            problems.add(where, 'command is required (or an image whose Entrypoint or Cmd it runs)')
        check_service_fields(workload, argv, where, problems, rules)
        if len(problems.lines) == bad and image is None:
            _check_user(workload, layers, where, problems)
        named_caps = [cap.upper() if cap.upper().startswith('CAP_') else 'CAP_' + cap.upper()
                      for cap in workload.get('capabilities') or [] if isinstance(cap, str)]
        unknown = [cap for cap in named_caps if CAPABILITY_RE.match(cap) and cap not in CAPABILITIES]
        if unknown and isinstance(workload.get('capabilities'), list):
            problems.add(where, 'capabilities %s: not capabilities Linux knows (see capabilities(7))' % ', '.join(map(str, unknown)))
        if len(problems.lines) == bad:
            valid.append(dict(workload, network=network))
    for workload in valid:
        # The health check's units are anatomy-workload-NAME-health.*: the unit of a workload named NAME-health.
        if workload.get('healthcheck') and workload['name'] + '-health' in seen:
            problems.add('%s: workload %r' % (WORKLOADS_VAR, workload['name']),
                         'healthcheck: its units would take the name of workload %r' % (workload['name'] + '-health'))
    return valid, ports


def check_service_fields(workload, argv, where, problems, rules=None) -> None:
    """The service module's own rules, one field at a time so that each problem is reported."""
    rules = rules or WorkloadService(systemctl=object())
    sound = _service({'name': 'x'}, ['/x'], '/', '')
    wanted = _service(dict(workload, name='x'), argv or ['/x'], '/', '')
    for field in ('command', 'environment', 'capabilities') + SERVICE_OPTIONS:
        if field in wanted and (field != 'command' or argv):
            try:
                rules.normalize(dict(sound, **{field: wanted[field]}))
            except ResourceError as exc:
                problems.add(where, _without_subject(str(exc)))


def _check_port_conflicts(entries, problems):
    """The same protocol and host port on the same address (0.0.0.0 is every address) taken twice."""
    spans = []
    for owner, position, text, spec in entries:
        first, last = netfilter_model.port_range(spec['host_port'], 'host_port')
        address = str(ipaddress.ip_address(str(spec['host_address']))) if spec.get('host_address') else '0.0.0.0'
        spans.append((spec['protocol'], first, last, address, owner, position, text))
    spans.sort()
    active = []
    for span in spans:
        protocol, first, _last, address, owner, position, text = span
        active = [other for other in active if other[0] == protocol and other[2] >= first]
        for other in active:
            if address == other[3] or '0.0.0.0' in (address, other[3]):
                problems.add('%s: workload %r' % (WORKLOADS_VAR, owner),
                             'published_ports[%d] %r: %s port %d is also published by workload %r (published_ports[%d] %r)'
                             % (position, text, protocol, max(first, other[1]), other[4], other[5], other[6]))
                break
        active.append(span)


#: Options of a workload that are the service's own, passed on as they are (the service module checks them).
SERVICE_OPTIONS = ('user', 'working_dir', 'hostname', 'seccomp', 'limits', 'ulimits', 'restart', 'stop_timeout',
                   'stop_signal', 'healthcheck')


def _service(workload, argv, rootfs, revision) -> dict:
    service = {
        'name': workload['name'], 'command': argv, 'root': rootfs, 'netns': workload['name'],
        'bundle': posixpath.join(posixpath.dirname(rootfs), 'bundle'),
        'user': 'root', 'working_dir': '/', 'running': True, 'enabled': True,
        'environment': {str(k): str(v) for k, v in sorted((workload.get('environment') or {}).items())}
        if isinstance(workload.get('environment') or {}, dict) else workload.get('environment'),
        'revision': revision,
    }
    service.update({option: workload[option] for option in SERVICE_OPTIONS if workload.get(option) not in (None, '', {})})
    if workload.get('capabilities'):
        service['capabilities'] = list(workload['capabilities'])
    return service


def _resolve_images(valid, image_items, image_index, problems) -> tuple:
    """(the image entry of each workload run from an image, the images to pull first), each workload's image-made
    fields checked when its image is on the host."""
    rules = _ImageRules()
    wanted = dict(image_items)
    for workload in valid:
        if workload.get('image') is not None and workload['image'] not in wanted:
            wanted[workload['image']] = rules.normalize(dict(_images.Image.defaults, name=workload['image']))
    missing = [name for name, item in sorted(wanted.items()) if image_entry(image_index, item) is None]
    entries = {}
    for workload in valid:
        entry = image_entry(image_index, wanted[workload['image']]) if workload.get('image') is not None else None
        if entry is None:
            continue
        entries[workload['name']] = entry
        where = '%s: workload %r' % (WORKLOADS_VAR, workload['name'])
        merged = with_image(workload, entry)
        if not merged['command']:
            problems.add(where, 'image %r has neither Entrypoint nor Cmd: set command' % workload['image'])
        check_service_fields(merged, merged['command'], '%s: with image %r' % (where, workload['image']), problems)
    return entries, missing


def _plan_workloads(workloads, layers, net_map, networks, state_root, previous_addresses, resolv_conf,
                    existing_paths, problems, images, image_index) -> dict:
    layer_names = check_layers(layers, problems)
    image_items = check_images(images, problems)
    valid, ports = _check_workloads(workloads, layers, layer_names, net_map, networks, existing_paths, problems)
    _check_port_conflicts(ports, problems)
    image_entries, images_missing = _resolve_images(valid, image_items, image_index, problems)
    # The image task of the role: workload_images as given (credentials stay out of this plan), and the images
    # workloads name that it does not list, pulled as docker run would.
    images_task = {
        'implicit': [{'name': name} for name in sorted({w['image'] for w in valid if w.get('image') is not None}
                                                       - set(image_items))],
        'missing': images_missing,
        'refresh': any(item.get('pull') == 'always' for item in image_items.values()),
    }
    # Workloads on a network that is listed but invalid were checked; they cannot be placed.
    placed = [w for w in valid if w['network'] in net_map]
    addresses = allocate_addresses(placed, net_map, previous_addresses, problems)
    if images_missing:
        return {'images': images_task, 'addresses': addresses, 'workloads': sorted(w['name'] for w in valid)}
    root = str(state_root).rstrip('/')
    result = {'images': images_task, 'addresses': addresses, 'netns': [], 'veth': [], 'netns_addr': [], 'published_ports': [],
              'overlays': [], 'volumes': [], 'services': [], 'workloads': sorted(w['name'] for w in valid)}
    hosts_files = {}
    for listed in sorted(placed, key=lambda w: w['name']):
        name = listed['name']
        image = image_entries.get(name)
        workload = with_image(listed, image) if image else listed
        net = net_map[workload['network']]
        address = addresses.get(net.name, {}).get(name)
        if address is None:
            continue
        wdir = '%s/workloads/%s' % (root, name)
        rootfs = wdir + '/rootfs'
        result['netns'].append({'name': name})
        result['veth'].append({'name': link_name(name), 'peer': 'eth0', 'netns': name, 'bridge': net.name,
                               'peer_mac': mac_for(address)})
        result['netns_addr'].append({'netns': name, 'interface': 'eth0',
                                     'addresses': ['%s/%d' % (address, net.subnet.prefixlen)],
                                     'gateway': str(net.gateway)})
        for port in workload.get('published_ports') or []:
            spec = _port_spec(port)
            entry = {'protocol': spec['protocol'], 'host_port': netfilter_model.ports_text(
                *netfilter_model.port_range(spec['host_port'], 'host_port')),
                'destination': address, 'destination_port': netfilter_model.ports_text(
                *netfilter_model.port_range(spec['container_port'], 'container_port')),
                'comment': 'workload %s' % name}
            if spec.get('host_address'):
                entry['host_address'] = str(ipaddress.ip_address(str(spec['host_address'])))
            if spec.get('allowed_sources'):
                entry['allowed_sources'] = spec['allowed_sources']
            result['published_ports'].append(entry)
        result['overlays'].append({
            'path': rootfs,
            # The workload's own layers above its image's, each list topmost first.
            'lower': ['%s/layers/%s' % (root, layer) if not layer.startswith('/') else layer
                      for layer in workload.get('layers') or []]
            + [_images.layer_path(root, diff_id) for diff_id in reversed(image['layers'] if image else [])],
            'upper': wdir + '/upper', 'work': wdir + '/work',
        })
        for volume in workload.get('volumes') or []:
            entry = {'target': posixpath.normpath(volume['target']), 'root': rootfs,
                     'read_only': bool(volume.get('read_only', False))}
            if volume.get('name') is not None:
                entry['volume'] = volume['name']
            else:
                entry['source'] = volume['source']
            result['volumes'].append(entry)
        # Every workload of a network has the same hosts file (all of them): made once per network.
        if net.name not in hosts_files:
            peers = sorted((peer, peer_address) for peer, peer_address in addresses[net.name].items())
            hosts = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'] + \
                ['%s\t%s' % (peer_address, peer) for peer, peer_address in peers]
            hosts_files[net.name] = '\n'.join(hosts) + '\n'
        # Files of the workload's own, written in place under their bind mounts as Docker does: the hosts
        # file changes as neighbours come and go, without a restart.
        for etc_file, content in (('hostname', (workload.get('hostname') or name) + '\n'), ('hosts', hosts_files[net.name]),
                                  ('resolv.conf', resolv_conf)):
            result['volumes'].append({'source': '%s/%s' % (wdir, etc_file), 'content': content,
                                      'target': '/etc/' + etc_file, 'root': rootfs, 'read_only': True})
        # What the unit does not show but the process depends on (layers, address): a change restarts this
        # workload only. Not the hosts file, which neighbours change.
        changes = {'workload': listed, 'address': address}
        if image:
            changes['image'] = image.get('id')
        revision = hashlib.sha256(json.dumps(changes, sort_keys=True, default=str).encode()).hexdigest()[:16]
        result['services'].append(_service(workload, command_argv(workload['command']), rootfs, revision))
    return result


# -- the host's own files -------------------------------------------------------------------------------

def host_resolv_conf(texts: dict, dns_servers=None) -> str:
    """The workloads' resolv.conf: the nameservers given, else the host's own usable ones, else Docker's fallback.

    The host's own are its IPv4, non-loopback nameservers from the first of RESOLV_SOURCES that has any, with
    that file's search, domain and options lines.
    """
    source_text = ''
    servers = []
    for source in RESOLV_SOURCES:
        text = texts.get(source) or ''
        found = []
        for line in text.splitlines():
            words = line.split('#', 1)[0].split(';', 1)[0].split()
            if len(words) >= 2 and words[0] == 'nameserver' and _is_ipv4(words[1]) \
                    and not words[1].startswith('127.') and words[1] not in found:
                found.append(words[1])
        if found:
            servers, source_text = found, text
            break
    nameservers = list(dns_servers or []) or servers or DNS_FALLBACK
    extra = [line.strip() for line in source_text.splitlines()
             if line.strip().split(' ', 1)[0].split('\t', 1)[0] in ('search', 'domain', 'options')]
    lines = ['# Managed by the anatomy.containers.container_host role: the nameservers of the workloads on this host.']
    lines += ['nameserver %s' % server for server in nameservers] + extra
    return '\n'.join(lines) + '\n'


def _is_ipv4(text) -> bool:
    try:
        ipv4_address(text, 'address')
    except ResourceError:
        return False
    return True


def check_host_settings(state_root, dns_servers, packages, install_packages: bool, family) -> list:
    """The container_host role's own settings: one line per problem, in the same form as the plan's."""
    problems = Problems()
    if not str(state_root).startswith('/') or str(state_root).rstrip('/') == '':
        problems.add('container_host_state_root', '%r must be an absolute path below /' % (state_root,))
    for server in dns_servers or []:
        if not _is_ipv4(server):
            problems.add('container_host_dns_servers', '%r is not an IPv4 address' % (server,))
    if install_packages and not packages:
        problems.add('container_host_packages', 'has no default for the OS family %s: set it, or set '
                                                'container_host_install_packages: false' % (family or '(unknown)'))
    return problems.lines


def os_family(os_release: str) -> str | None:
    """The OS family from /etc/os-release's ID and ID_LIKE, as the setup module maps them."""
    ids = []
    for line in os_release.splitlines():
        key, sep, value = line.partition('=')
        if sep and key in ('ID', 'ID_LIKE'):
            ids += value.strip().strip('"').split()
    if set(ids) & {'debian', 'ubuntu'}:
        return 'Debian'
    if set(ids) & {'rhel', 'fedora', 'centos', 'rocky', 'almalinux'}:
        return 'RedHat'
    return None


def state_dirs(state_root: str) -> list:
    root = str(state_root).rstrip('/')
    return [{'path': root + suffix, 'mode': mode} for suffix, mode in STATE_DIR_MODES]


#: firewalld keeps each zone of its permanent configuration in a file of its own; the container_host role writes ours.
FIREWALLD_DIR = '/etc/firewalld'
FIREWALLD_ZONE = 'anatomy'
FIREWALLD_ZONE_FILE = FIREWALLD_DIR + '/zones/' + FIREWALLD_ZONE + '.xml'
FIREWALLD_UNIT = 'firewalld.service'
#: The mark in our zone's file: a zone of that name without it is someone else's.
FIREWALLD_MARK = '<short>anatomy.containers</short>'


def firewalld_zone(bridges) -> str:
    """The firewalld zone of our networks: their bridges, whose traffic it accepts, as Docker's "docker" zone does.

    firewalld rejects forwarded traffic of interfaces in no zone of its own (the default zone does not forward): a
    workload could not reach another, nor the outside. Our own table still drops what isolation and published ports
    say, since a packet must pass every table. Published ports pass firewalld by its own ``ct status dnat accept``.
    """
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             '<zone target="ACCEPT">',
             '  ' + FIREWALLD_MARK,
             '  <description>The networks of anatomy.containers, written by its container_host role. Their '
             'isolation and published ports are in its own nftables table or iptables chains.</description>']
    lines += ['  <interface name="%s"/>' % name for name in sorted(bridges)]
    lines.append('</zone>')
    return '\n'.join(lines) + '\n'


def firewalld_changes(facts: dict, bridges, present: bool) -> dict:
    """What the container_host role does about our firewalld zone, from the host read: nothing where firewalld is not
    installed; else the zone written (present, with networks) or removed, and firewalld reloaded if it runs."""
    text = facts['texts'].get(FIREWALLD_ZONE_FILE, '')
    installed = facts['dirs'].get(FIREWALLD_DIR, {}).get('directory', False)
    running = facts.get('units', {}).get(FIREWALLD_UNIT, {}).get('active') == 'active'
    result = dict(zone_file=FIREWALLD_ZONE_FILE, content='', write=False, remove=False, reload=False, problems=[])
    if text and FIREWALLD_MARK not in text:
        result['problems'].append('a firewalld zone %r that is not ours exists (%s): rename it, or remove it'
                                  % (FIREWALLD_ZONE, FIREWALLD_ZONE_FILE))
        return dict(result, changed=False)
    if installed and present and bridges:
        result['content'] = firewalld_zone(bridges)
        result['write'] = text != result['content']
    else:
        result['remove'] = bool(text)
    result['reload'] = running and (result['write'] or result['remove'])
    result['changed'] = result['write'] or result['remove']
    return result


class HostRead:
    """One read of the host, as one shell command, and what it says.

    grep prefixes each line with its file's path and prints nothing for a file that does not exist; stat
    says which directories exist and how; dpkg-query or rpm which packages are installed.
    """

    def __init__(self, state_root: str, packages=(), layer_paths=()):
        self.state_root = str(state_root).rstrip('/')
        self.packages = sorted(set(packages) | {p for family in PACKAGES_BY_OS_FAMILY.values() for p in family})
        self.units = sorted(_restore.units())
        self.files = [OS_RELEASE] + RESOLV_SOURCES + [self.resolv_conf, self.address_record] + self.units + [
            FIREWALLD_ZONE_FILE, self.image_index]
        self.dirs = [entry['path'] for entry in state_dirs(self.state_root)] + sorted(set(layer_paths)) + [
            _oci.DEFAULT_SECCOMP_PROFILE, _restore.PROGRAM, _restore.RESTORE_DIR, FIREWALLD_DIR] + [
            _restore.record_path(module) for module in _restore.ORDER]

    @property
    def resolv_conf(self) -> str:
        return self.state_root + '/resolv.conf'

    @property
    def address_record(self) -> str:
        return self.state_root + '/workloads/addresses.json'

    @property
    def image_index(self) -> str:
        return _images.index_path(self.state_root or '/')

    def images(self, texts: dict, found=()) -> dict:
        """The host's images by name (the image module's index), and those its check-mode task said it would pull."""
        try:
            index = json.loads(texts.get(self.image_index) or '{}').get('images') or {}
        except (ValueError, AttributeError):
            index = {}
        for item in found or ():
            if isinstance(item, dict) and item.get('name'):
                index[item['name']] = item
        return index

    def command(self, take_generation: bool = False) -> str:
        """The read; ``take_generation``: under the host's run lock, and the host's converge generation taken for
        this run (printed as ``gen:``), so that the tasks of an earlier run still going stop (_resource.check_generation)."""
        read = self._read_command()
        if not take_generation:
            return read
        generation = GENERATION_FILE
        return ("exec 9>>%s && flock 9 && { %s; mkdir -p %s && generation=$(cat /proc/sys/kernel/random/uuid) && "
                "printf '%%s\\n' \"$generation\" > %s.tmp && mv -f %s.tmp %s && echo \"gen:$generation\"; }"
                % (shlex.quote(LOCK_PATH), read, shlex.quote(posixpath.dirname(generation)), shlex.quote(generation),
                   shlex.quote(generation), shlex.quote(generation)))

    def _read_command(self) -> str:
        files = ' '.join(shlex.quote(path) for path in self.files)
        dirs = ' '.join(shlex.quote(path) for path in self.dirs)
        packages = ' '.join(shlex.quote(name) for name in self.packages)
        return ("grep --with-filename --no-messages --text '' %s; "
                "stat --printf 'dir:%%a|%%U|%%G|%%F|%%n\\n' -- %s 2>/dev/null; "
                "dpkg-query --show --showformat='pkg:${Package} ${db:Status-Abbrev}\\n' -- %s 2>/dev/null; "
                "rpm --query --queryformat 'pkg:%%{NAME} ii\\n' -- %s 2>/dev/null; "
                "sha256sum -- %s 2>/dev/null | sed 's/^/sum:/'; "
                "for unit in %s; do printf 'unit:%%s %%s %%s\\n' \"$unit\" \"$(systemctl is-enabled -- \"$unit\" 2>/dev/null)\" "
                "\"$(systemctl is-active -- \"$unit\" 2>/dev/null)\"; done; true"
                % (files, dirs, packages, packages, shlex.quote(_restore.PROGRAM),
                   ' '.join(shlex.quote(posixpath.basename(unit)) for unit in self.units + [FIREWALLD_UNIT])))

    def parse(self, stdout: str) -> dict:
        texts = {path: [] for path in self.files}
        dirs, installed, sums, units = {}, set(), {}, {}
        generation = None
        for line in stdout.splitlines():
            if line.startswith('gen:'):
                generation = line[4:].strip()
                continue
            if line.startswith('sum:'):
                digest, _sep, path = line[4:].partition('  ')
                sums[path] = digest
                continue
            if line.startswith('unit:'):
                fields = line[5:].split(' ')
                units[fields[0]] = {'enabled': (fields[1:2] or [''])[0], 'active': (fields[2:3] or [''])[0]}
                continue
            if line.startswith('dir:'):
                fields = line[4:].split('|', 4)
                if len(fields) == 5:
                    mode, owner, group, kind, path = fields
                    dirs[path] = {'mode': '0' + mode, 'owner': owner, 'group': group, 'directory': kind == 'directory'}
                continue
            if line.startswith('pkg:'):
                name, _sep, status = line[4:].partition(' ')
                if status.startswith('ii'):
                    installed.add(name)
                continue
            for path in self.files:
                if line.startswith(path + ':'):
                    texts[path].append(line[len(path) + 1:])
                    break
        return {'texts': {path: ('\n'.join(lines) + '\n') if lines else '' for path, lines in texts.items()},
                'dirs': dirs, 'installed': sorted(installed), 'sums': sums, 'units': units, 'generation': generation}


# -- the module tasks -----------------------------------------------------------------------------------

SYSCTL_FILE = '/etc/sysctl.d/60-anatomy-containers.conf'


def network_tasks(result: dict, present: bool, backend: str) -> list:
    """The container_host role's module tasks: {id, module, params, labels}, in the order they run."""
    labels = ['network %r' % bridge['name'] for bridge in result['bridges']]
    if present:
        bridges = {'config': result['bridges'], 'state': 'overridden'}
        nat = {'config': result['nat_networks'], 'state': 'overridden'}
    else:
        bridges, nat, labels = {'state': 'deleted'}, {'state': 'deleted'}, []
    nat.update(backend=backend, sysctl_file=SYSCTL_FILE)
    return [{'id': 'bridges', 'module': 'bridge', 'params': bridges, 'labels': labels},
            {'id': 'nat', 'module': 'nat_masquerade', 'params': nat, 'labels': labels}]


def workload_tasks(result: dict, layers: list, state_root: str, backend: str, purge_volumes: bool) -> list:
    """The workload role's module tasks after its removal phase: {id, module, params, labels}, in order."""
    root = str(state_root).rstrip('/')

    def named(items, field='name'):
        return ['workload %r' % item[field] for item in items]

    def of_root(items):
        return ['workload %r: %s' % (item['root'].rsplit('/', 2)[-2], item['target']) for item in items]

    tasks = [
        {'id': 'netns', 'module': 'netns', 'params': {'config': result['netns'], 'state': 'overridden'},
         'labels': named(result['netns'])},
        {'id': 'veth', 'module': 'veth', 'params': {'config': result['veth'], 'state': 'overridden'},
         'labels': named(result['veth'], 'netns')},
        {'id': 'addresses', 'module': 'netns_addr', 'params': {'config': result['netns_addr'], 'state': 'overridden'},
         'labels': named(result['netns_addr'], 'netns')},
        {'id': 'published_ports', 'module': 'port_forward',
         'params': {'config': result['published_ports'], 'state': 'overridden', 'backend': backend},
         'labels': ["workload %r: published port %s/%s" % (p['comment'][len('workload '):], p['protocol'], p['host_port'])
                    for p in result['published_ports']]},
    ]
    # Layers are built for workloads to run on (not when a teardown lists none), and kept when no workload
    # uses them any more, as images are.
    if result['netns'] and layers:
        tasks.append({'id': 'layers', 'module': 'layer',
                      'params': {'config': layers, 'state': 'merged', 'layers_root': root + '/layers'},
                      'labels': ['layer %r' % layer.get('name') for layer in layers]})
    tasks += [
        # purge: a workload's writable layer and its own directory go with it, as docker rm does.
        {'id': 'root_filesystems', 'module': 'overlay_mount',
         'params': {'config': result['overlays'], 'state': 'overridden', 'purge': True},
         'labels': ['workload %r' % item['path'].rsplit('/', 2)[-2] for item in result['overlays']]},
        {'id': 'volumes', 'module': 'bind_volume',
         'params': {'config': result['volumes'], 'state': 'overridden', 'volumes_root': root + '/volumes',
                    'purge': bool(purge_volumes)},
         'labels': of_root(result['volumes'])},
        {'id': 'services', 'module': 'workload_service', 'params': {'config': result['services'], 'state': 'overridden'},
         'labels': named(result['services'])},
    ]
    return tasks
