# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The nftables backend: render our table, parse ``nft -j list table`` back, and build one transaction.

This is a private module_util: its API may change without notice.

Everything in ``table ip anatomy`` is ours. Each module owns the objects whose names start with
its prefix (``nm_`` for nat_masquerade, ``pf_`` for port_forward), so a run of one never rewrites
the other's. A *part* is ``{'chains': {name: {'base': (type, hook, priority) or None, 'rules':
[text]}}, 'maps': {name: [element text]}}``; rule text is what ``nft list`` prints, and parsed
JSON is turned into the same text, so a part read back compares equal to the part rendered.
"""

from __future__ import annotations

import json
import re

from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import model, rules as rules_mod

FAMILY = 'ip'
TABLE = 'anatomy'
QUALIFIED = '%s %s' % (FAMILY, TABLE)

NM_PREFIX = 'nm_'
PF_PREFIX = 'pf_'
NM_BASE = {
    'nm_postrouting': ('nat', 'postrouting', 'srcnat'),
    'nm_forward': ('filter', 'forward', 'filter'),
}
PF_BASE = {
    'pf_prerouting': ('nat', 'prerouting', 'dstnat'),
    'pf_output': ('nat', 'output', '-100'),
    'pf_postrouting': ('nat', 'postrouting', 'srcnat'),
}
PF_MAPS = {
    # host address . protocol . port -> jump to the published port's chain
    'pf_addr': 'ipv4_addr . inet_proto . inet_service : verdict',
    # protocol . port -> jump, for ports published on every address of the host
    'pf_any': 'inet_proto . inet_service : verdict',
}
# Priority names nft prints for the numbers it reads back (per hook, for the ip family).
_PRIO_NAMES = {('postrouting', 100): 'srcnat', ('prerouting', -100): 'dstnat', ('forward', 0): 'filter',
               ('input', 0): 'filter', ('output', 0): 'filter'}
_UNQUALIFIED_META = ('iifname', 'oifname', 'iif', 'oif', 'mark', 'skuid', 'skgid')
_PF_CHAIN = re.compile(r'^pf_(tcp|udp)_(\d+)_(\d+)_(\d+)_(\d+)_(\d+)(?:_(\d+))?$')


def empty_part() -> dict:
    return {'chains': {}, 'maps': {}}


# -- formatting ---------------------------------------------------------------------------------

def _set(values) -> str:
    if isinstance(values, (list, tuple)):
        return values[0] if len(values) == 1 else '{ %s }' % ', '.join(values)
    return values


def _net(value: str) -> str:
    return value[:-3] if value.endswith('/32') else value


def format_rule(rule: dict) -> str:
    """One backend-independent rule (see :mod:`.rules`) as nft prints it."""
    words = []
    if rule.get('saddr'):
        words.append('ip saddr ' + _set(_nets(rule['saddr'])))
    if rule.get('not_saddr'):
        words.append('ip saddr != ' + _set(_nets(rule['not_saddr'])))
    if rule.get('daddr'):
        words.append('ip daddr ' + _set(_nets(rule['daddr'])))
    if rule.get('oif'):
        words.append('oifname "%s"' % rule['oif'])
    if rule.get('ct_state'):
        words.append('ct state ' + ','.join(rule['ct_state']))
    if rule.get('ct_dnat'):
        words.append('ct status dnat')
    words.append(rule['action'])
    if rule.get('comment'):
        words.append('comment "%s"' % rule['comment'])
    return ' '.join(words)


def _nets(value):
    return [_net(v) for v in value] if isinstance(value, (list, tuple)) else _net(value)


def pf_chain_name(item: dict) -> str:
    return 'pf_%s_%s_%s' % (item['protocol'], item['host_address'].replace('.', '_'),
                            item['host_port'].replace('-', '_'))


def render_networks(items: list) -> dict:
    """nat_masquerade items -> our nm_ part."""
    if not items:
        return empty_part()
    wanted = rules_mod.network_rules(items)
    return {'chains': {
        'nm_postrouting': {'base': NM_BASE['nm_postrouting'], 'rules': [format_rule(r) for r in wanted['postrouting']]},
        'nm_forward': {'base': NM_BASE['nm_forward'], 'rules': [format_rule(r) for r in wanted['forward']]},
    }, 'maps': {}}


def render_ports(items: list) -> dict:
    """port_forward items -> our pf_ part: three base chains, two verdict maps, a chain per published port."""
    if not items:
        return empty_part()
    chains = {
        'pf_prerouting': {'base': PF_BASE['pf_prerouting'], 'rules': [
            # A packet from the network for 127.0.0.0/8 is never ours to forward (moby#45610).
            'ip daddr 127.0.0.0/8 return',
            'ip daddr . meta l4proto . th dport vmap @pf_addr',
            'fib daddr type local meta l4proto . th dport vmap @pf_any']},
        'pf_output': {'base': PF_BASE['pf_output'], 'rules': [
            'ip daddr . meta l4proto . th dport vmap @pf_addr',
            'fib daddr type local meta l4proto . th dport vmap @pf_any']},
        'pf_postrouting': {'base': PF_BASE['pf_postrouting'], 'rules': [
            # The host itself (127.0.0.1 or its own address) reaching a published port: answer to us.
            'ct status dnat fib saddr type local masquerade']},
    }
    maps = {'pf_addr': [], 'pf_any': []}
    for item in sorted(items, key=model.port_key):
        name = pf_chain_name(item)
        proto, dest = item['protocol'], item['destination']
        first, last = model.port_range(item['host_port'], 'host_port')
        dfirst, _dlast = model.port_range(item['destination_port'], 'destination_port')
        comment = ' comment "%s"' % item['comment'] if item['comment'] else ''
        body = []
        if item['allowed_sources']:
            body.append('ip saddr != %s return' % _set(_nets(item['allowed_sources'])))
        if dfirst == first:
            body.append('meta l4proto %s dnat to %s%s' % (proto, dest, comment))
        elif first == last:
            body.append('meta l4proto %s dnat to %s:%d%s' % (proto, dest, dfirst, comment))
        else:
            body.extend('%s dport %d dnat to %s:%d%s' % (proto, port, dest, dfirst + port - first, comment)
                        for port in range(first, last + 1))
        chains[name] = {'base': None, 'rules': body}
        for port in range(first, last + 1):
            if item['host_address'] == model.ANY_ADDRESS:
                maps['pf_any'].append('%s . %d : jump %s' % (proto, port, name))
            else:
                maps['pf_addr'].append('%s . %s . %d : jump %s' % (item['host_address'], proto, port, name))
    return {'chains': chains, 'maps': {k: sorted(v) for k, v in maps.items()}}


# -- parsing ------------------------------------------------------------------------------------

def _value(value) -> str:
    if isinstance(value, dict):
        if 'prefix' in value:
            return _net('%s/%d' % (value['prefix']['addr'], value['prefix']['len']))
        if 'set' in value:
            return _set([_value(v) for v in value['set']])
        if 'range' in value:
            return '%s-%s' % tuple(_value(v) for v in value['range'])
        if 'concat' in value:
            return ' . '.join(_value(v) for v in value['concat'])
        if 'payload' in value:
            return '%s %s' % (value['payload']['protocol'], value['payload']['field'])
        if 'meta' in value:
            key = value['meta']['key']
            return key if key in _UNQUALIFIED_META else 'meta ' + key
        if 'ct' in value:
            return 'ct ' + value['ct']['key']
        if 'fib' in value:
            return 'fib %s %s' % (' . '.join(value['fib'].get('flags', [])), value['fib']['result'])
        if 'jump' in value:
            return 'jump ' + value['jump']['target']
        if 'goto' in value:
            return 'goto ' + value['goto']['target']
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return ','.join(_value(v) for v in value)
    return str(value)


def _statement(expr: dict) -> str:
    (kind, body), = expr.items()
    if kind == 'match':
        left, right = _value(body['left']), _value(body['right'])
        if body['left'].get('meta', {}).get('key') in ('iifname', 'oifname') and isinstance(body['right'], str):
            right = '"%s"' % right
        op = body['op']
        return '%s %s' % (left, right) if op in ('==', 'in') else '%s %s %s' % (left, op, right)
    if kind in ('accept', 'drop', 'return', 'masquerade', 'continue') and body is None:
        return kind
    if kind in ('jump', 'goto'):
        return '%s %s' % (kind, body['target'])
    if kind == 'vmap':
        return '%s vmap %s' % (_value(body['key']), _value(body['data']))
    if kind in ('dnat', 'snat') and set(body) <= {'addr', 'port', 'family'}:
        target = _value(body['addr']) if 'addr' in body else ''
        if 'port' in body:
            target += ':%s' % _value(body['port'])
        return '%s to %s' % (kind, target)
    return json.dumps(expr, sort_keys=True)


def rule_text(rule: dict) -> str:
    """A rule object of ``nft -j`` as ``nft list`` prints it (the expressions this collection writes)."""
    text = ' '.join(_statement(e) for e in rule.get('expr', []))
    if rule.get('comment'):
        text += ' comment "%s"' % rule['comment']
    return text


def rule_dict(rule: dict) -> dict:
    """A rule object of ``nft -j`` as a backend-independent rule (for the facts items are rebuilt from)."""
    out = {}
    for expr in rule.get('expr', []):
        (kind, body), = expr.items()
        if kind == 'match':
            left = body['left']
            payload = left.get('payload', {})
            if payload.get('protocol') == 'ip' and payload.get('field') in ('saddr', 'daddr'):
                key = payload['field'] if body['op'] == '==' else 'not_' + payload['field']
                value = _value(body['right'])
                if value.startswith('{ '):
                    value = value[2:-2].split(', ')
                out[key] = _canon_net(value)
            elif left.get('meta', {}).get('key') == 'oifname':
                out['oif'] = body['right']
        elif kind in ('accept', 'drop', 'return', 'masquerade'):
            out['action'] = kind
    if rule.get('comment'):
        out['comment'] = rule['comment']
    return out


def _canon_net(value):
    if isinstance(value, list):
        return [_canon_net(v) for v in value]
    return value if '/' in value else value + '/32'


def parse_table(text: str) -> dict:
    """``nft -j list table ip anatomy`` -> {'chains': ..., 'maps': ..., 'raw_rules': {chain: [json rule]}}."""
    state = {'chains': {}, 'maps': {}, 'raw_rules': {}}
    if not text.strip():
        return state
    for obj in json.loads(text).get('nftables', []):
        if 'chain' in obj:
            chain = obj['chain']
            base = None
            if 'hook' in chain:
                prio = chain.get('prio', 0)
                base = (chain.get('type'), chain['hook'], _PRIO_NAMES.get((chain['hook'], prio), str(prio)))
            state['chains'][chain['name']] = {'base': base, 'rules': []}
        elif 'map' in obj or 'set' in obj:
            body = obj.get('map') or obj.get('set')
            elems = []
            for elem in body.get('elem', []):
                if isinstance(elem, list) and len(elem) == 2:
                    elems.append('%s : %s' % (_value(elem[0]), _value(elem[1])))
                else:
                    elems.append(_value(elem))
            state['maps'][body['name']] = sorted(elems)
        elif 'rule' in obj:
            rule = obj['rule']
            state['chains'].setdefault(rule['chain'], {'base': None, 'rules': []})['rules'].append(rule_text(rule))
            state['raw_rules'].setdefault(rule['chain'], []).append(rule)
    return state


def part_of(state: dict, prefix: str) -> dict:
    return {'chains': {k: v for k, v in state['chains'].items() if k.startswith(prefix)},
            'maps': {k: v for k, v in state['maps'].items() if k.startswith(prefix)}}


def networks_from_state(state: dict) -> list:
    raw = state.get('raw_rules', {})
    return rules_mod.networks_from_rules([rule_dict(r) for r in raw.get('nm_postrouting', [])],
                                         [rule_dict(r) for r in raw.get('nm_forward', [])])


_DNAT_SAME = re.compile(r'^meta l4proto (?:tcp|udp) dnat to ([0-9.]+)(?::(\d+))?(?: comment "(.*)")?$')
_DNAT_PORT = re.compile(r'^(?:tcp|udp) dport (\d+) dnat to ([0-9.]+):(\d+)(?: comment "(.*)")?$')
_SOURCES = re.compile(r'^ip saddr != (.+) return$')


def ports_from_state(state: dict) -> list:
    """The published ports, rebuilt from the per-port chains (name: protocol, address, ports; rules: the rest)."""
    items = []
    for name, chain in sorted(state['chains'].items()):
        match = _PF_CHAIN.match(name)
        if not match or chain['base']:
            continue
        proto = match.group(1)
        first = int(match.group(6))
        last = int(match.group(7)) if match.group(7) else first
        item = {'protocol': proto, 'host_address': '.'.join(match.group(i) for i in range(2, 6)),
                'host_port': model.ports_text(first, last), 'destination': None,
                'destination_port': model.ports_text(first, last), 'allowed_sources': [], 'comment': ''}
        dports = []
        for text in chain['rules']:
            m = _SOURCES.match(text)
            if m:
                value = m.group(1)
                value = value[2:-2].split(', ') if value.startswith('{ ') else [value]
                item['allowed_sources'] = sorted(_canon_net(value))
                continue
            m = _DNAT_SAME.match(text)
            if m:
                item['destination'] = m.group(1)
                if m.group(2):
                    item['destination_port'] = m.group(2)
                item['comment'] = m.group(3) or ''
                continue
            m = _DNAT_PORT.match(text)
            if m:
                item['destination'] = m.group(2)
                dports.append(int(m.group(3)))
                item['comment'] = m.group(4) or ''
        if dports:
            item['destination_port'] = model.ports_text(min(dports), max(dports))
        if item['destination'] is None:
            item['destination'] = '0.0.0.0'  # a broken chain: shows as drift and is rewritten
        items.append(item)
    return items


# -- the transaction ----------------------------------------------------------------------------

def _chain_decl(name: str, base) -> str:
    if base:
        return 'add chain %s %s { type %s hook %s priority %s; policy accept; }' % (QUALIFIED, name, *base)
    return 'add chain %s %s' % (QUALIFIED, name)


def transaction(state: dict, prefix: str, desired: dict, table_exists: bool) -> str:
    """One ``nft -f -`` script that makes our ``prefix`` part equal to ``desired`` and touches nothing else.

    Creates the table if missing; replaces the content of our chains and maps (flush, then add);
    deletes our objects no longer wanted; deletes the table when nothing of ours is left in it.
    Returns '' when there is nothing to do.
    """
    current = part_of(state, prefix)
    others = [k for k in list(state['chains']) + list(state['maps']) if not k.startswith(prefix)]
    if not desired['chains'] and not desired['maps']:
        if not table_exists or not (current['chains'] or current['maps']):
            return ''
        if not others:
            # nft 1.0.6 has no 'destroy table': declare it (a no-op if present) and delete it.
            return 'table %s {\n}\ndelete table %s\n' % (QUALIFIED, QUALIFIED)
    lines = ['table %s {' % QUALIFIED, '}']
    base_chains = [n for n, c in desired['chains'].items() if c['base']]
    regular = [n for n, c in desired['chains'].items() if not c['base']]
    # 1. Empty every chain and map of our part that exists or will exist, so references go away first.
    for name in sorted(set(base_chains) | {n for n, c in current['chains'].items() if c['base']}):
        base = desired['chains'].get(name, current['chains'].get(name))['base']
        lines += [_chain_decl(name, base), 'flush chain %s %s' % (QUALIFIED, name)]
    for name in sorted(set(desired['maps']) | set(current['maps'])):
        spec = PF_MAPS.get(name)
        if spec:
            lines.append('add map %s %s { type %s; }' % (QUALIFIED, name, spec))
        lines.append('flush map %s %s' % (QUALIFIED, name))
    for name in sorted(set(regular) | {n for n, c in current['chains'].items() if not c['base']}):
        lines += [_chain_decl(name, None), 'flush chain %s %s' % (QUALIFIED, name)]
    # 2. Delete what is no longer wanted (now unreferenced).
    for name in sorted(n for n in current['chains'] if n not in desired['chains']):
        lines.append('delete chain %s %s' % (QUALIFIED, name))
    for name in sorted(n for n in current['maps'] if n not in desired['maps']):
        lines.append('delete map %s %s' % (QUALIFIED, name))
    # 3. Fill: the per-port chains, the maps that jump to them, then the base chains that look up the maps.
    for name in sorted(regular):
        lines += ['add rule %s %s %s' % (QUALIFIED, name, rule) for rule in desired['chains'][name]['rules']]
    for name, elems in sorted(desired['maps'].items()):
        for start in range(0, len(elems), 500):
            lines.append('add element %s %s { %s }' % (QUALIFIED, name, ', '.join(elems[start:start + 500])))
    for name in sorted(base_chains):
        lines += ['add rule %s %s %s' % (QUALIFIED, name, rule) for rule in desired['chains'][name]['rules']]
    return '\n'.join(lines) + '\n'


def listing(part: dict) -> str:
    """A part as people read it (for the diff)."""
    out = []
    for name, elems in sorted(part['maps'].items()):
        out.append('map %s {' % name)
        out += ['\t' + e for e in elems]
        out.append('}')
    for name, chain in sorted(part['chains'].items(), key=lambda kv: (kv[1]['base'] is None, kv[0])):
        out.append('chain %s {' % name)
        if chain['base']:
            out.append('\ttype %s hook %s priority %s; policy accept;' % chain['base'])
        out += ['\t' + r for r in chain['rules']]
        out.append('}')
    return '\n'.join(out) + ('\n' if out else '')
