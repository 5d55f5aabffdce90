# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The backend-independent model: what a NAT network and a published port are, validated and canonical.

This is a private module_util: its API may change without notice.

Items are plain dicts in the shape of the modules' ``config`` entries. Everything here is pure:
no kernel, no commands, so it is unit-tested without root.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError
from ansible_collections.anatomy.containers.plugins.module_utils._linux import ifname_problem
# The IPv4 rules live with the other address rules, in _netlink.
from ansible_collections.anatomy.containers.plugins.module_utils._netlink import (  # noqa: F401 pylint: disable=unused-import
    ipv4_address as address, ipv4_network as network,
)

PROTOCOLS = ('tcp', 'udp')
MODES = ('nat', 'routed')
ANY_ADDRESS = '0.0.0.0'
# nft limits a comment to 128 bytes; iptables' comment match to 256. Ours sits inside both with the tag.
COMMENT_MAX = 96
_COMMENT_OK = re.compile(r'^[A-Za-z0-9 _.,:;/+=@()\[\]-]*$')


def port_range(value, what: str) -> tuple[int, int]:
    """'80', 80, '8000-8010' -> (first, last)."""
    text = str(value).strip()
    match = re.match(r'^(\d{1,5})(?:\s*[-:]\s*(\d{1,5}))?$', text)
    if isinstance(value, bool) or not match:
        raise ResourceError('%s: %r is not a port or a range like 8000-8010' % (what, value))
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if not (1 <= first <= last <= 65535):
        raise ResourceError('%s: %r is not a port or a range within 1-65535, first <= last' % (what, value))
    return first, last


def ports_text(first: int, last: int) -> str:
    return str(first) if first == last else '%d-%d' % (first, last)


def interface(value, what: str) -> str:
    if ifname_problem(value) is not None:
        raise ResourceError('%s: %r is not an interface name' % (what, value))
    return value


def _with_field(field, fn, *args):
    try:
        return fn(*args)
    except ResourceError as exc:
        exc.details.setdefault('field', field)
        raise


# -- nat_masquerade -----------------------------------------------------------------------------

def normalize_network(item: dict, default_interface=None) -> dict:
    """Validate one nat_masquerade entry; the out interface defaults to default_interface() (the default route's)."""
    subnet = item.get('subnet')
    what = 'network %r' % subnet
    net = _with_field('subnet', network, subnet, what + ': subnet')
    if str(net) != str(subnet):
        raise ResourceError('%s: subnet must be written canonically as %s' % (what, net), field='subnet')
    mode = item.get('mode') or 'nat'
    if mode not in MODES:
        raise ResourceError('%s: mode must be one of %s, got %r' % (what, ', '.join(MODES), mode), field='mode')
    out = item.get('out_interface')
    if out in (None, ''):
        out = default_interface() if default_interface else None
        if not out:
            raise ResourceError('%s: out_interface is not given and the host has no IPv4 default route' % what,
                                field='out_interface')
    try:
        out = interface(out, what + ': out_interface')
    except ResourceError as exc:
        exc.details['field'] = 'out_interface'
        raise
    isolate = item.get('isolate')
    if isolate is None:
        isolate = False
    if not isinstance(isolate, bool):
        raise ResourceError('%s: isolate must be a boolean' % what, field='isolate')
    return {'subnet': str(net), 'out_interface': out, 'mode': mode, 'isolate': isolate}


def check_networks(items: list) -> None:
    """Subnets of our networks must not overlap (their forward rules would shadow each other)."""
    nets = sorted((ipaddress.ip_network(i['subnet']), i['subnet']) for i in items)
    for (a, a_text), (b, b_text) in zip(nets, nets[1:]):
        if a.overlaps(b):
            raise ResourceError('network %r overlaps network %r' % (a_text, b_text), field='subnet')


# -- port_forward -------------------------------------------------------------------------------

def normalize_port(item: dict) -> dict:
    """Validate one port_forward entry and return it in canonical form."""
    protocol = item.get('protocol') or 'tcp'
    host_address = item.get('host_address') or ANY_ADDRESS
    host_port = item.get('host_port')
    what = 'published port %s/%s:%s' % (protocol, host_address, host_port)
    if protocol not in PROTOCOLS:
        raise ResourceError('%s: protocol must be one of %s' % (what, ', '.join(PROTOCOLS)), field='protocol')
    host_address_c = _with_field('host_address', address, host_address, what + ': host_address')
    if host_address_c != host_address:
        raise ResourceError('%s: host_address must be written as %s' % (what, host_address_c), field='host_address')
    if host_port is None:
        raise ResourceError('%s: host_port is required' % what, field='host_port')
    first, last = _with_field('host_port', port_range, host_port, what + ': host_port')
    if ports_text(first, last) != str(host_port):
        raise ResourceError('%s: host_port must be written as %s' % (what, ports_text(first, last)), field='host_port')
    destination = item.get('destination')
    if destination is None:
        raise ResourceError('%s: destination is required' % what, field='destination')
    destination_c = _with_field('destination', address, destination, what + ': destination')
    dport = item.get('destination_port')
    if dport is None or dport == '':
        dfirst, dlast = first, last
    else:
        dfirst, dlast = _with_field('destination_port', port_range, dport, what + ': destination_port')
    if dlast - dfirst != last - first:
        raise ResourceError('%s: destination_port %s must span as many ports as host_port %s' % (
            what, ports_text(dfirst, dlast), ports_text(first, last)), field='destination_port')
    dest_ip = ipaddress.ip_address(destination_c)
    if dest_ip.is_loopback or dest_ip.is_multicast or dest_ip.is_unspecified:
        raise ResourceError('%s: destination %s is not a workload address' % (what, destination_c),
                            field='destination')
    sources = item.get('allowed_sources') or []
    if not isinstance(sources, list):
        raise ResourceError('%s: allowed_sources must be a list of networks' % what, field='allowed_sources')
    nets = []
    for src in sources:
        try:
            nets.append(network(src, what + ': allowed_sources'))
        except ResourceError as exc:
            exc.details['field'] = 'allowed_sources'
            raise
    nets = sorted(set(nets))
    comment = item.get('comment') or ''
    if not isinstance(comment, str) or len(comment) > COMMENT_MAX or not _COMMENT_OK.match(comment):
        raise ResourceError('%s: comment must be at most %d letters, digits, spaces and _.,:;/+=@()[]-' % (
            what, COMMENT_MAX), field='comment')
    return {
        'protocol': protocol, 'host_address': host_address_c, 'host_port': ports_text(first, last),
        'destination': destination_c, 'destination_port': ports_text(dfirst, dlast),
        'allowed_sources': [str(n) for n in nets], 'comment': comment,
    }


def port_key(item: dict):
    return (item['protocol'], item['host_address'], item['host_port'])


def check_ports(items: list) -> None:
    """The same protocol, port and address (or the any address and any other) published twice fails."""
    taken = {}
    for item in sorted(items, key=lambda i: (i['protocol'], i['host_address'], port_range(i['host_port'], '')[0])):
        first, last = port_range(item['host_port'], 'host_port')
        for port in range(first, last + 1):
            for addr in (item['host_address'], ANY_ADDRESS):
                other = taken.get((item['protocol'], addr, port))
                if other is None and item['host_address'] == ANY_ADDRESS:
                    other = taken.get((item['protocol'], '*', port))
                if other is not None and other is not item:
                    raise ResourceError(
                        'published port %s/%s:%s conflicts with published port %s/%s:%s: both take %s port %d%s' % (
                            item['protocol'], item['host_address'], item['host_port'], other['protocol'],
                            other['host_address'], other['host_port'], item['protocol'], port,
                            '' if ANY_ADDRESS not in (item['host_address'], other['host_address'])
                            else ' (0.0.0.0 is every address of the host)'),
                        field='host_port')
            taken[(item['protocol'], item['host_address'], port)] = item
            taken[(item['protocol'], '*', port)] = item


def needs_route_localnet(item: dict) -> bool:
    """Whether the port is reachable on 127.0.0.1 (DNAT from loopback needs route_localnet on the way out)."""
    addr = ipaddress.ip_address(item['host_address'])
    return addr.is_loopback or addr.is_unspecified
