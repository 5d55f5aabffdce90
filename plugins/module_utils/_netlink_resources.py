# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The network resources: namespaces, bridges, veth pairs, and the addresses and routes of an interface.

This is a private module_util: its API may change without notice.

Each class takes a kernel handle (:class:`._netlink.Netlink`, or a fake in unit tests)
and maps between the kernel's view and the objects of a module's ``config``.

Ownership, read from the kernel on every run:

* a network namespace is ours when the alias of its ``lo`` is ``MARK_NETNS``;
* a bridge or veth is ours when its alias (IFLA_IFALIAS) is ``MARK_BRIDGE`` / ``MARK_VETH``;
  the peer of our veth carries ``MARK_VETH_PEER``;
* an interface's addresses and routes (``netns_addr``) are ours when the interface is
  an owned veth end, or any interface but ``lo`` in a namespace we own; of its routes,
  only those of protocol ``ROUTE_PROTO`` in the main table. A bridge's addresses belong
  to the bridge module.

:func:`run_netlink_module` is the whole ``main()`` of the four network modules once their
``AnsibleModule`` exists.
"""

from __future__ import annotations

import hashlib
import ipaddress

from ansible_collections.anatomy.containers.plugins.module_utils._resource import (
    Resource, ResourceError, check_mode_reads, run_module, state_argument_spec,
)
from ansible_collections.anatomy.containers.plugins.module_utils._netlink import (
    HAS_PYROUTE2, MARK_BRIDGE, MARK_NETNS, MARK_VETH, PYROUTE2_IMPORT_ERROR, Netlink, address_sort_key,
    check_address_list, check_ifname, check_ip, check_mac, check_mtu, check_netns_name, check_network, owned,
)

DEFAULT_MTU = 1500


def run_netlink_module(module, resource_class, reads=None, record=None, **options) -> None:
    """Converge ``resource_class(kernel, **options)`` with one Netlink handle for the run, then exit.

    Fails the module with pyroute2's import error when it is missing. ``reads`` (check mode only): the
    preview's reads shared by its tasks, whose read-only handle is used instead of one of the run's own.
    ``record``: the module's short name, whose objects the host brings back at boot (``_restore``).
    """
    if not HAS_PYROUTE2:
        # Imported here: the restore program runs these modules without Ansible, on hosts that have pyroute2.
        from ansible.module_utils.basic import missing_required_lib
        module.fail_json(msg=missing_required_lib('pyroute2'), exception=PYROUTE2_IMPORT_ERROR)
    if check_mode_reads(module, reads) is not None:
        run_module(module, resource_class(reads.netlink(), **options), record=record)
        return
    with Netlink() as kernel:
        run_module(module, resource_class(kernel, **options), record=record)


def bridge_mac(name: str) -> str:
    """The MAC a bridge of this name gets when none is given: stable, unicast, locally administered.

    A bridge with no MAC set takes the lowest MAC of its ports, so its gateway MAC would change
    under running workloads as ports come and go; Docker sets one at creation for the same reason.
    It is derived from the name (a bridge made again gets the same one), and its first octet always
    has bit 2 set (06, 0e, 16, ... fe): never 02, the first octet of the workloads' MACs (02:42 and
    the IPv4 address, ``_host_plan.mac_for``).
    """
    digest = hashlib.sha256(('%s:%s' % (MARK_BRIDGE, name)).encode('utf-8')).digest()
    octets = bytearray(digest[:6])
    octets[0] = (octets[0] & 0xfc) | 0x06  # unicast (bit 0 clear), locally administered (bit 1), bit 2 set
    return ':'.join('%02x' % octet for octet in octets)


def _names(links) -> dict:
    return {link['index']: link['name'] for link in links}


class Netns(Resource):
    """Named network namespaces under /run/netns, compatible with `ip netns`."""

    kind = 'network namespace'
    key = 'name'
    defaults: dict = {}

    def __init__(self, kernel):
        self.kernel = kernel
        self.lo_down = set()

    def read(self):
        mine, foreign, self.lo_down = [], set(), set()
        for name in self.kernel.netns_names():
            info = self.kernel.netns_info(name)
            if info and info['owned']:
                mine.append({'name': name})
                if not info['lo_up']:
                    self.lo_down.add(name)
            else:
                foreign.add(name)
        return mine, foreign

    def normalize(self, item):
        name = check_netns_name('network namespace %r' % item.get('name'), 'name', item.get('name'))
        return {'name': name}

    def create(self, item):
        self.kernel.netns_create(item['name'])

    def differs(self, current, desired):
        # lo is part of what a namespace of ours is: someone took it down, so it is brought back up.
        return current != desired or desired['name'] in self.lo_down

    def update(self, current, desired):
        """Only lo can need a change: its name is a namespace's key, and nothing else is configured."""
        self.kernel.set_lo_up(desired['name'])

    def delete(self, item):
        self.kernel.netns_delete(item['name'])


class Bridge(Resource):
    """A Linux bridge in the host namespace: addresses, MTU, STP, MAC; always up.

    ``mac`` None (not given, where defaults apply) means :func:`bridge_mac` of the name.
    """

    kind = 'bridge'
    key = 'name'
    defaults = {'addresses': [], 'mtu': DEFAULT_MTU, 'stp': False, 'mac': None}

    def __init__(self, kernel):
        self.kernel = kernel

    def read(self):
        links = self.kernel.links(None)
        addresses = {}
        for address in self.kernel.addresses(None):
            addresses.setdefault(address['index'], []).append(address['cidr'])
        mine, foreign = [], set()
        for link in links:
            if link['kind'] == 'bridge' and link['alias'] == MARK_BRIDGE:
                mine.append({'name': link['name'],
                             'addresses': sorted(addresses.get(link['index'], []), key=address_sort_key),
                             'mtu': link['mtu'], 'stp': bool(link['stp']),
                             'mac': link['mac'].lower() if link['mac'] else None})
            else:
                foreign.add(link['name'])
        return mine, foreign

    def normalize(self, item):
        what = 'bridge %r' % item.get('name')
        if not isinstance(item.get('stp'), bool):
            raise ResourceError('%s: stp must be true or false, got %r' % (what, item.get('stp')), field='stp')
        name = check_ifname(what, 'name', item.get('name'))
        mac = item.get('mac')
        return {'name': name,
                'addresses': check_address_list(what, 'addresses', item.get('addresses')),
                'mtu': check_mtu(what, 'mtu', item.get('mtu')),
                'stp': item['stp'],
                'mac': bridge_mac(name) if mac is None else check_mac(what, 'mac', mac)}

    def create(self, item):
        self.kernel.bridge_add(item['name'], item['mtu'], item['stp'], item['mac'])
        for cidr in item['addresses']:
            self.kernel.addr_add(None, item['name'], cidr)

    def update(self, current, desired):
        name = desired['name']
        changes = {field: desired[field] for field in ('mtu', 'stp', 'mac') if current[field] != desired[field]}
        if changes:
            self.kernel.link_set(None, name, **changes)
        for cidr in current['addresses']:
            if cidr not in desired['addresses']:
                self.kernel.addr_del(None, name, cidr)
        for cidr in desired['addresses']:
            if cidr not in current['addresses']:
                self.kernel.addr_add(None, name, cidr)

    def delete(self, item):
        self.kernel.link_del(None, item['name'])


class Veth(Resource):
    """A veth pair: the host end NAME here, the PEER in namespace NETNS (None: the host's own).

    Changing the peer's name or namespace recreates the pair (the peer's addresses go
    with it); MTU, bridge and peer MAC change in place. ``peer_mac`` None means "whatever
    the kernel chose" and never counts as a difference.
    """

    kind = 'veth'
    key = 'name'
    defaults = {'peer': None, 'netns': None, 'bridge': None, 'mtu': DEFAULT_MTU, 'peer_mac': None}

    def __init__(self, kernel, create_netns: bool = False):
        self.kernel = kernel
        self.create_netns = create_netns
        self._links = []
        self._namespaces = set()

    def read(self):
        links = self.kernel.links(None)
        self._links = links
        self._namespaces = set(self.kernel.netns_names())
        by_index = _names(links)
        nsids = None
        mine, foreign = [], set()
        for link in links:
            if link['kind'] != 'veth' or link['alias'] != MARK_VETH:
                foreign.add(link['name'])
                continue
            if nsids is None:
                nsids = self.kernel.nsid_map()
            found = self.kernel.peer_of(link, nsids)
            netns, peer = found if found else (None, None)
            mine.append({'name': link['name'],
                         'peer': peer['name'] if peer else None,
                         'netns': netns,
                         'bridge': by_index.get(link['master']) if link['master'] else None,
                         'mtu': link['mtu'],
                         'peer_mac': peer['mac'] if peer else None})
        return mine, foreign

    def normalize(self, item):
        what = 'veth %r' % item.get('name')
        name = check_ifname(what, 'name', item.get('name'))
        if item.get('peer') is None:
            raise ResourceError('%s: peer is required (the name of the other end)' % what, field='peer')
        peer = check_ifname(what, 'peer', item['peer'])
        netns = item.get('netns')
        if netns is not None:
            netns = check_netns_name(what, 'netns', netns)
        elif peer == name:
            raise ResourceError('%s: peer %r cannot have the name of the host end in the same namespace'
                                % (what, peer), field='peer')
        bridge = item.get('bridge')
        if bridge is not None:
            bridge = check_ifname(what, 'bridge', bridge)
            if bridge == name:
                raise ResourceError('%s: bridge cannot be the veth itself' % what, field='bridge')
        mac = item.get('peer_mac')
        return {'name': name, 'peer': peer, 'netns': netns, 'bridge': bridge,
                'mtu': check_mtu(what, 'mtu', item.get('mtu')),
                'peer_mac': check_mac(what, 'peer_mac', mac) if mac is not None else None}

    def differs(self, current, desired):
        return any(current[f] != desired[f] for f in desired if not (f == 'peer_mac' and desired[f] is None))

    @staticmethod
    def _recreate(current, desired) -> bool:
        return current['peer'] != desired['peer'] or current['netns'] != desired['netns']

    def validate_plan(self, plan, current):
        links = {link['name']: link for link in self._links}
        leaving = {item['name'] for item in plan.delete}
        leaving |= {cur['name'] for cur, des in plan.update if self._recreate(cur, des)}
        new_ends = list(plan.create) + [des for cur, des in plan.update if self._recreate(cur, des)]
        peers = {}
        for item in list(plan.create) + [des for _cur, des in plan.update]:
            what = 'veth %r' % item['name']
            slot = (item['netns'], item['peer'])
            if slot in peers:
                raise ResourceError('%s: peer %r in %s is also the peer of veth %r'
                                    % (what, item['peer'], _where(item['netns']), peers[slot]), field='peer',
                                    key=self.key_of(item))
            peers[slot] = item['name']
            if item['bridge'] is not None:
                bridge = links.get(item['bridge'])
                if not self.prerequisite(bridge is not None, '%s: bridge %r does not exist' % (what, item['bridge']),
                                         field='bridge'):
                    continue
                if bridge['kind'] != 'bridge':
                    raise ResourceError('%s: bridge %r is a %s link, not a bridge'
                                        % (what, item['bridge'], bridge['kind'] or 'plain'), field='bridge')
        # The host end of one pair may not be the peer of another in the host namespace.
        host_names = {item['name'] for item in list(plan.create) + [des for _cur, des in plan.update]}
        for (netns, peer), owner in peers.items():
            if netns is None and peer in host_names:
                raise ResourceError('veth %r: peer %r is also the name of a host end' % (owner, peer), field='peer')
        for item in new_ends:
            what = 'veth %r' % item['name']
            netns = item['netns']
            if netns is not None and netns not in self._namespaces:
                if not self.create_netns:
                    self.prerequisite(False, '%s: network namespace %r does not exist (create it with '
                                      'anatomy.containers.netns, or set create_netns)' % (what, netns), field='netns')
                continue
            taken = {link['name'] for link in (self._links if netns is None else self.kernel.links(netns))}
            if netns is None:
                taken -= leaving
            else:
                taken -= {cur['peer'] for cur in plan.delete if cur['netns'] == netns}
                taken -= {cur['peer'] for cur, des in plan.update if cur['netns'] == netns and self._recreate(cur, des)}
            if item['peer'] in taken:
                raise ResourceError('%s: peer %r: %s already has a link of that name'
                                    % (what, item['peer'], _where(netns)), field='peer')

    def apply(self, plan):
        for item in plan.delete:
            self.delete(item)
        for current, desired in plan.update:
            if self._recreate(current, desired):
                self.delete(current)
        if self.create_netns:
            wanted = {item['netns'] for item in list(plan.create) + [d for _c, d in plan.update]}
            for netns in sorted(n for n in wanted if n is not None and n not in self._namespaces):
                self.kernel.netns_create(netns)
        for current, desired in plan.update:
            if self._recreate(current, desired):
                self.create(desired)
            else:
                self.update(current, desired)
        for item in plan.create:
            self.create(item)

    def predict(self, current, plan):
        # A MAC the kernel chose stays as long as the pair does; a new pair's is unknown (None).
        for index, (cur, des) in enumerate(plan.update):
            if des['peer_mac'] is None and not self._recreate(cur, des):
                plan.update[index] = (cur, dict(des, peer_mac=cur['peer_mac']))
        return super().predict(current, plan)

    def create(self, item):
        self.kernel.veth_add(item['name'], item['peer'], item['netns'], item['bridge'], item['mtu'], item['peer_mac'])

    def update(self, current, desired):
        host = {}
        if current['mtu'] != desired['mtu']:
            host['mtu'] = desired['mtu']
        if current['bridge'] != desired['bridge']:
            host['master'] = desired['bridge']
        if host:
            self.kernel.link_set(None, desired['name'], **host)
        peer = {}
        if current['mtu'] != desired['mtu']:
            peer['mtu'] = desired['mtu']
        if desired['peer_mac'] is not None and current['peer_mac'] != desired['peer_mac']:
            peer['mac'] = desired['peer_mac']
        if peer:
            self.kernel.link_set(desired['netns'], desired['peer'], **peer)

    def delete(self, item):
        # Deleting one end deletes the pair.
        self.kernel.link_del(None, item['name'])


def _where(ns) -> str:
    return 'the host namespace' if ns is None else 'network namespace %r' % ns


class NetnsAddr(Resource):
    """The addresses and routes of one interface in a namespace (None: the host's own).

    ``gateway`` is the default route of the interface's first family (IPv4 if it has
    one); further routes, an IPv6 default route among them when there is an IPv4 one,
    go in ``routes``. Normalizing moves a default route between the two so that one
    set of routes has one form.
    """

    kind = 'interface'
    key = ('netns', 'interface')
    defaults = {'netns': None, 'addresses': [], 'gateway': None, 'routes': []}

    def __init__(self, kernel):
        self.kernel = kernel
        self._namespaces = set()
        self._known = set()

    def describe(self, key):
        netns, interface = key
        return 'interface %r in %s' % (interface, _where(netns))

    def read(self):
        mine, foreign, known = [], set(), set()
        names = self.kernel.netns_names()
        self._namespaces = set(names)
        for netns in [None] + names:
            try:
                links = self.kernel.links(netns)
            except OSError:
                continue  # a file under /run/netns that is no namespace
            # A namespace is ours when its lo carries our mark (read from the same dump).
            ns_owned = netns is not None and any(link['name'] == 'lo' and link['alias'] == MARK_NETNS
                                                 for link in links)
            addresses, routes = None, None
            for link in links:
                key = (netns, link['name'])
                ours = link['name'] != 'lo' and link['alias'] != MARK_BRIDGE and (ns_owned or owned(link['alias']))
                if not ours:
                    foreign.add(key)
                    continue
                known.add(key)
                if addresses is None:
                    addresses = self.kernel.addresses(netns)
                    routes = self.kernel.routes(netns)
                mine_addresses = sorted((a['cidr'] for a in addresses if a['index'] == link['index']),
                                        key=address_sort_key)
                mine_routes = [{'dst': r['dst'], 'via': r['via']} for r in routes if r['oif'] == link['index']]
                if mine_addresses or mine_routes:
                    mine.append(self._canonical({'netns': netns, 'interface': link['name'],
                                                 'addresses': mine_addresses, 'gateway': None,
                                                 'routes': mine_routes}))
        self._known = known
        return mine, foreign

    @staticmethod
    def _canonical(item):
        """Pick the gateway among the default routes (IPv4 first), sort the rest."""
        routes = list(item['routes'])
        if item['gateway'] is not None:
            zero = '::/0' if ':' in item['gateway'] else '0.0.0.0/0'
            routes.append({'dst': zero, 'via': item['gateway']})
        defaults = [r for r in routes if r['via'] and ipaddress.ip_network(r['dst']).prefixlen == 0]
        gateway = None
        if defaults:
            chosen = sorted(defaults, key=lambda r: ipaddress.ip_network(r['dst']).version)[0]
            gateway = chosen['via']
            routes.remove(chosen)

        def route_key(route):
            net = ipaddress.ip_network(route['dst'])
            return (net.version, int(net.network_address), net.prefixlen, route['via'] or '')
        return {**item, 'gateway': gateway, 'routes': sorted(routes, key=route_key)}

    def normalize(self, item):
        netns = item.get('netns')
        interface = item.get('interface')
        what = 'interface %r in %s' % (interface, _where(netns))
        if netns is not None:
            check_netns_name(what, 'netns', netns)
        check_ifname(what, 'interface', interface)
        if interface == 'lo':
            raise ResourceError('%s: lo is not managed here (it is brought up in every namespace this module touches)'
                                % what, field='interface')
        addresses = check_address_list(what, 'addresses', item.get('addresses'))
        networks = [ipaddress.ip_interface(a).network for a in addresses]

        def on_link(field, via):
            ip = ipaddress.ip_address(via)
            same_family = [n for n in networks if n.version == ip.version]
            if not same_family:
                raise ResourceError('%s: %s %s is IPv%d but the interface has no IPv%d address'
                                    % (what, field, via, ip.version, ip.version), field=field)
            if not any(ip in n for n in same_family):
                raise ResourceError('%s: %s %s is outside every subnet of the addresses (%s)'
                                    % (what, field, via, ', '.join(str(n) for n in same_family)), field=field)
            if any(ip == ipaddress.ip_interface(a).ip for a in addresses):
                raise ResourceError('%s: %s %s is an address of the interface itself' % (what, field, via),
                                    field=field)

        gateway = item.get('gateway')
        if gateway is not None:
            gateway = check_ip(what, 'gateway', gateway)
            on_link('gateway', gateway)
        routes = []
        seen = set()
        raw_routes = item.get('routes') or []
        if not isinstance(raw_routes, list):
            raise ResourceError('%s: routes must be a list' % what, field='routes')
        for number, route in enumerate(raw_routes):
            field = 'routes[%d]' % number
            if not isinstance(route, dict) or not route.get('dst'):
                raise ResourceError('%s: %s needs dst' % (what, field), field=field)
            via = route.get('via')
            if via is not None:
                via = check_ip(what, field + '.via', via)
            dst = route['dst']
            if dst == 'default':
                if via is None:
                    raise ResourceError('%s: %s: a default route without via needs dst 0.0.0.0/0 or ::/0'
                                        % (what, field), field=field + '.dst')
                dst = '::/0' if ':' in via else '0.0.0.0/0'
            dst = check_network(what, field + '.dst', dst)
            if via is not None:
                if ipaddress.ip_network(dst).version != ipaddress.ip_address(via).version:
                    raise ResourceError('%s: %s mixes families: dst %s with via %s' % (what, field, dst, via),
                                        field=field)
                on_link(field + '.via', via)
            if dst in seen:
                raise ResourceError('%s: %s: a route to %s is listed twice' % (what, field, dst), field=field)
            seen.add(dst)
            routes.append({'dst': dst, 'via': via})
        if gateway is not None:
            zero = '::/0' if ':' in gateway else '0.0.0.0/0'
            if zero in seen:
                raise ResourceError('%s: gateway and a route to %s both give the default route' % (what, zero),
                                    field='gateway')
        return self._canonical({'netns': netns, 'interface': interface, 'addresses': addresses,
                                'gateway': gateway, 'routes': routes})

    def validate_plan(self, plan, current):
        for item in list(plan.create) + [desired for _current, desired in plan.update]:
            key = (item['netns'], item['interface'])
            if item['netns'] is not None and not self.prerequisite(
                    item['netns'] in self._namespaces,
                    '%s: network namespace %r does not exist' % (self.describe(key), item['netns']), field='netns', key=key):
                continue
            self.prerequisite(key in self._known, '%s does not exist' % self.describe(key), field='interface', key=key)

    @staticmethod
    def _routes(item):
        routes = list(item['routes'])
        if item['gateway'] is not None:
            routes.append({'dst': '::/0' if ':' in item['gateway'] else '0.0.0.0/0', 'via': item['gateway']})
        return routes

    def create(self, item):
        netns, name = item['netns'], item['interface']
        if netns is not None:
            self.kernel.set_lo_up(netns)
        self.kernel.link_set(netns, name, up=True)
        for cidr in item['addresses']:
            self.kernel.addr_add(netns, name, cidr)
        for route in self._routes(item):
            self.kernel.route_add(netns, name, route['dst'], route['via'])

    def update(self, current, desired):
        netns, name = desired['netns'], desired['interface']
        if netns is not None:
            self.kernel.set_lo_up(netns)
        self.kernel.link_set(netns, name, up=True)
        want_routes = self._routes(desired)
        for route in self._routes(current):
            if route not in want_routes:
                self.kernel.route_del(netns, name, route['dst'], route['via'])
        for cidr in current['addresses']:
            if cidr not in desired['addresses']:
                self.kernel.addr_del(netns, name, cidr)
        for cidr in desired['addresses']:
            if cidr not in current['addresses']:
                self.kernel.addr_add(netns, name, cidr)
        # Removing an address can take routes through it along: compare with what is there now.
        index = {link['name']: link['index'] for link in self.kernel.links(netns)}.get(name)
        have = [{'dst': r['dst'], 'via': r['via']} for r in self.kernel.routes(netns) if r['oif'] == index]
        for route in want_routes:
            if route not in have:
                self.kernel.route_add(netns, name, route['dst'], route['via'])

    def delete(self, item):
        netns, name = item['netns'], item['interface']
        for route in self._routes(item):
            self.kernel.route_del(netns, name, route['dst'], route['via'])
        for cidr in item['addresses']:
            self.kernel.addr_del(netns, name, cidr)


# -- the modules: what each accepts, and its main() once its AnsibleModule exists --------------------------------------
# One home for a module's argument spec, shared by the module and anatomy.containers.preview.

NETNS_ARGUMENT_SPEC = state_argument_spec(dict(
    name=dict(type='str'),
))

BRIDGE_ARGUMENT_SPEC = state_argument_spec(dict(
    name=dict(type='str'),
    addresses=dict(type='list', elements='str'),
    mtu=dict(type='int'),
    stp=dict(type='bool'),
    mac=dict(type='str'),
))

VETH_ARGUMENT_SPEC = dict(
    state_argument_spec(dict(
        name=dict(type='str'),
        peer=dict(type='str'),
        netns=dict(type='str'),
        bridge=dict(type='str'),
        mtu=dict(type='int'),
        peer_mac=dict(type='str'),
    )),
    create_netns=dict(type='bool', default=False),
)

NETNS_ADDR_ARGUMENT_SPEC = state_argument_spec(dict(
    netns=dict(type='str'),
    interface=dict(type='str'),
    addresses=dict(type='list', elements='str'),
    gateway=dict(type='str'),
    routes=dict(type='list', elements='dict', options=dict(
        dst=dict(type='str', required=True),
        via=dict(type='str'),
    )),
))


def run_netns(module, reads=None) -> None:
    """main() of anatomy.containers.netns, given its AnsibleModule (NETNS_ARGUMENT_SPEC)."""
    run_netlink_module(module, Netns, reads, record='netns')


def run_bridge(module, reads=None) -> None:
    """main() of anatomy.containers.bridge, given its AnsibleModule (BRIDGE_ARGUMENT_SPEC)."""
    run_netlink_module(module, Bridge, reads, record='bridge')


def run_veth(module, reads=None) -> None:
    """main() of anatomy.containers.veth, given its AnsibleModule (VETH_ARGUMENT_SPEC)."""
    run_netlink_module(module, Veth, reads, record='veth', create_netns=module.params['create_netns'])


def run_netns_addr(module, reads=None) -> None:
    """main() of anatomy.containers.netns_addr, given its AnsibleModule (NETNS_ADDR_ARGUMENT_SPEC)."""
    run_netlink_module(module, NetnsAddr, reads, record='netns_addr')
