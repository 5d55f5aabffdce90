# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Traffic between two workloads of one network survives a nat-mode network's drop rule.

Where br_netfilter is loaded (it is on the lab's kernel), bridged traffic passes the forward hook.
"""

from __future__ import annotations

from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.rules import (
    network_rules, networks_from_rules,
)

NET = {'subnet': '10.88.0.0/16', 'out_interface': 'eth0', 'mode': 'nat', 'isolate': True}


def first_match(rules, saddr, daddr):
    """The action of the first rule that a new connection from saddr to daddr matches."""
    for rule in rules:
        if rule.get('ct_state') or rule.get('ct_dnat') or rule.get('oif'):
            continue
        sources = rule.get('saddr')
        sources = [sources] if isinstance(sources, str) else sources
        if (sources is None or saddr in sources) and rule.get('daddr') in (None, daddr):
            return rule['action']
    return 'accept'


def test_same_network_is_accepted_and_outsiders_dropped():
    forward = network_rules([NET])['forward']
    assert first_match(forward, '10.88.0.0/16', '10.88.0.0/16') == 'accept'
    assert first_match(forward, '198.18.0.0/24', '10.88.0.0/16') == 'drop'


def test_the_accept_does_not_change_what_is_read_back():
    rendered = network_rules([NET])
    assert networks_from_rules(rendered['postrouting'], rendered['forward']) == [dict(NET, isolate=False)]


def _engine_fakes():
    """The in-memory iptables and module of the engine tests, loaded as ansible-test units would."""
    from ansible_collections.anatomy.containers.tests.unit.plugins.module_utils import test_netfilter_engine as fakes
    return fakes


def test_isolate_on_the_only_network_is_not_a_change_on_every_run():
    # With one network, isolation renders no rule, so it reads back as isolate=false: the rules,
    # not the options, decide whether anything changes.
    from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import engine
    fakes = _engine_fakes()
    runner = fakes.FakeRunner(iptables=fakes.FakeIptables())
    net = dict(subnet='10.88.0.0/24', out_interface='eth0', isolate=True)
    assert fakes.run(runner, engine.NetworksResource, backend='iptables', config=[net], state='overridden')['changed']
    again = fakes.run(runner, engine.NetworksResource, backend='iptables', config=[net], state='overridden')
    assert not again['changed'] and len(runner.iptables.restores) == 1
    # A second network gives isolation something to do: both networks' rules change, in one transaction.
    other = dict(subnet='10.89.0.0/24', out_interface='eth0', isolate=True)
    both = fakes.run(runner, engine.NetworksResource, backend='iptables', config=[net, other], state='overridden')
    assert both['changed'] and all(item['isolate'] for item in both['after'])
    assert len(runner.iptables.restores) == 2
