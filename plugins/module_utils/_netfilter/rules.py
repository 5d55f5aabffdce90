# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Backend-independent rules: what each module wants in the kernel, before any syntax.

This is a private module_util: its API may change without notice.

A rule is a dict of matches and one action:
``saddr``/``daddr`` (a network or a list of them, ``not_saddr`` the negation), ``oif`` (an
interface), ``ct_state`` (list), ``ct_dnat`` (the connection was DNATed), ``action``
(accept, drop, return, masquerade) and ``comment``. Each backend formats them
(:mod:`.nft`, :mod:`.iptables`); port forwarding uses maps in nftables, so its rules are
rendered by the backends from the items directly.
"""

from __future__ import annotations


def network_rules(items: list) -> dict:
    """nat_masquerade items (canonical) -> {'postrouting': [rule], 'forward': [rule]}.

    Order matters in the forward chain: isolation drops first, then per network: replies back in,
    DNATed (published) traffic in, new traffic out of the uplink, our other networks in, the
    network's own traffic (bridged traffic meets this hook under br_netfilter), and in nat
    mode every other new connection into the subnet dropped (as Docker 28 does); a routed network
    accepts it.
    """
    items = sorted(items, key=lambda i: i['subnet'])
    subnets = [i['subnet'] for i in items]
    postrouting, isolation, forward = [], [], []
    for item in items:
        subnet = item['subnet']
        others = [s for s in subnets if s != subnet]
        if item['isolate'] and others:
            isolation.append(dict(saddr=subnet, daddr=others, action='drop', comment=subnet))
            isolation.append(dict(saddr=others, daddr=subnet, action='drop', comment=subnet))
    for item in items:
        subnet, out = item['subnet'], item['out_interface']
        others = [s for s in subnets if s != subnet]
        if item['mode'] == 'nat':
            postrouting.append(dict(saddr=subnet, oif=out, action='masquerade', comment=subnet))
            # Hairpin: a workload reaching a published port of its neighbour on the same bridge.
            postrouting.append(dict(saddr=subnet, daddr=subnet, ct_dnat=True, action='masquerade', comment=subnet))
        forward.append(dict(daddr=subnet, ct_state=['established', 'related'], action='accept', comment=subnet))
        forward.append(dict(saddr=subnet, oif=out, action='accept', comment=subnet))
        if item['mode'] == 'nat':
            forward.append(dict(daddr=subnet, ct_dnat=True, action='accept', comment=subnet))
            if others:
                forward.append(dict(saddr=others, daddr=subnet, action='accept', comment=subnet))
            # Where br_netfilter is loaded, traffic between two workloads of one bridge passes
            # the forward hook too: it is the network's own and must not meet the drop below.
            forward.append(dict(saddr=subnet, daddr=subnet, action='accept', comment=subnet))
            forward.append(dict(daddr=subnet, action='drop', comment=subnet))
        else:
            forward.append(dict(daddr=subnet, action='accept', comment=subnet))
    return {'postrouting': postrouting, 'forward': isolation + forward}


def networks_from_rules(postrouting: list, forward: list) -> list:
    """The inverse of :func:`network_rules`, from rules parsed back into the same dicts.

    Only the facts needed to rebuild the items are taken; the caller renders the items again and
    compares, so anything else that differs shows up as drift.
    """
    found = {}
    for rule in postrouting + forward:
        subnet = rule.get('comment')
        if not subnet:
            continue
        item = found.setdefault(subnet, {'subnet': subnet, 'out_interface': None, 'mode': 'routed',
                                         'isolate': False})
        if rule.get('action') == 'masquerade' and rule.get('oif'):
            item['mode'] = 'nat'
        if rule.get('oif') and rule.get('saddr') == subnet:
            item['out_interface'] = rule['oif']
        if rule.get('action') == 'drop' and rule.get('saddr') == subnet and rule.get('daddr') not in (None, subnet):
            item['isolate'] = True
    return [found[k] for k in sorted(found)]
