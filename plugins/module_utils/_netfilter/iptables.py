# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The iptables backend: our own chains, jumped to from the built-in ones, in one ``iptables-restore --noflush``.

This is a private module_util: its API may change without notice.

Ours are the chains named ANATOMY-* and the jump rules in built-in chains that carry the comment
``anatomy.containers`` (as DOCKER and CNI-HOSTPORT-DNAT are jumped to). A *part* is ``{'chains':
{name: [rule spec]}, 'jumps': {name: count}}``; a rule spec is what ``iptables-save`` prints after
``-A CHAIN``, and the renderer writes exactly that form, so a part read back compares equal to the
part rendered. Works with either variant (nft or legacy): we only run the host's own
``iptables-save`` and ``iptables-restore``.
"""

from __future__ import annotations

import re
import shlex

from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import model, rules as rules_mod

JUMP_COMMENT = 'anatomy.containers'
# chain: (table, the built-in chain that jumps to it, or None)
NM_CHAINS = {
    'ANATOMY-NM-POSTROUTING': ('nat', 'POSTROUTING'),
    'ANATOMY-NM-FORWARD': ('filter', 'FORWARD'),
}
PF_CHAINS = {
    'ANATOMY-PF-PREROUTING': ('nat', 'PREROUTING'),
    'ANATOMY-PF-OUTPUT': ('nat', 'OUTPUT'),
    'ANATOMY-PF-POSTROUTING': ('nat', 'POSTROUTING'),
    'ANATOMY-PF-DNAT': ('nat', None),
    'ANATOMY-PF-FORWARD': ('filter', 'FORWARD'),
}
ALL_CHAINS = dict(NM_CHAINS, **PF_CHAINS)
BUILTIN = {'nat': ('PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'), 'filter': ('INPUT', 'FORWARD', 'OUTPUT')}


def empty_part() -> dict:
    return {'chains': {}, 'jumps': {}}


def jump_spec(chain: str) -> str:
    return '-m comment --comment "%s" -j %s' % (JUMP_COMMENT, chain)


def _net(value: str) -> str:
    return value if '/' in value else value + '/32'


def _each(value):
    if value is None:
        return [None]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def format_rules(rule: dict) -> list:
    """One backend-independent rule as iptables-save prints it; lists expand to one rule each."""
    out = []
    for saddr in _each(rule.get('saddr')):
        for daddr in _each(rule.get('daddr')):
            words = []
            if saddr:
                words.append('-s ' + _net(saddr))
            if daddr:
                words.append('-d ' + _net(daddr))
            if rule.get('oif'):
                words.append('-o ' + rule['oif'])
            if rule.get('ct_state'):
                words.append('-m conntrack --ctstate ' + ','.join(s.upper() for s in reversed(rule['ct_state'])))
            if rule.get('ct_dnat'):
                words.append('-m conntrack --ctstate DNAT')
            if rule.get('comment'):
                words.append('-m comment --comment "%s"' % rule['comment'])
            words.append('-j ' + rule['action'].upper())
            out.append(' '.join(words))
    return out


def render_networks(items: list) -> dict:
    if not items:
        return empty_part()
    wanted = rules_mod.network_rules(items)
    return {'chains': {
        'ANATOMY-NM-POSTROUTING': [s for r in wanted['postrouting'] for s in format_rules(r)],
        'ANATOMY-NM-FORWARD': [s for r in wanted['forward'] for s in format_rules(r)],
    }, 'jumps': {'ANATOMY-NM-POSTROUTING': 1, 'ANATOMY-NM-FORWARD': 1}}


def port_tag(item: dict) -> str:
    return 'pf %s %s %s' % (item['protocol'], item['host_address'], item['host_port'])


def render_ports(items: list) -> dict:
    if not items:
        return empty_part()
    dnat, forward = [], []
    for item in sorted(items, key=model.port_key):
        proto, dest = item['protocol'], item['destination']
        first, last = model.port_range(item['host_port'], 'host_port')
        dfirst, dlast = model.port_range(item['destination_port'], 'destination_port')
        tag = port_tag(item)
        comment = '%s: %s' % (tag, item['comment']) if item['comment'] else tag
        daddr = '' if item['host_address'] == model.ANY_ADDRESS else '-d %s/32 ' % item['host_address']
        for source in item['allowed_sources'] or [None]:
            saddr = '-s %s ' % source if source else ''
            if dfirst == first or first == last:
                target = dest if dfirst == first else '%s:%d' % (dest, dfirst)
                ports = '%d' % first if first == last else '%d:%d' % (first, last)
                dnat.append('%s%s-p %s -m %s --dport %s -m comment --comment "%s" -j DNAT --to-destination %s' % (
                    saddr, daddr, proto, proto, ports, comment, target))
            else:
                dnat += ['%s%s-p %s -m %s --dport %d -m comment --comment "%s" -j DNAT --to-destination %s:%d' % (
                    saddr, daddr, proto, proto, port, comment, dest, dfirst + port - first)
                    for port in range(first, last + 1)]
        dports = '%d' % dfirst if dfirst == dlast else '%d:%d' % (dfirst, dlast)
        forward.append('-d %s/32 -p %s -m %s --dport %s -m conntrack --ctstate DNAT -m comment --comment "%s" -j ACCEPT'
                       % (dest, proto, proto, dports, tag))
    return {'chains': {
        'ANATOMY-PF-PREROUTING': ['-d 127.0.0.0/8 -j RETURN', '-m addrtype --dst-type LOCAL -j ANATOMY-PF-DNAT'],
        'ANATOMY-PF-OUTPUT': ['-m addrtype --dst-type LOCAL -j ANATOMY-PF-DNAT'],
        'ANATOMY-PF-POSTROUTING': ['-m conntrack --ctstate DNAT -m addrtype --src-type LOCAL -j MASQUERADE'],
        'ANATOMY-PF-DNAT': dnat,
        'ANATOMY-PF-FORWARD': forward,
    }, 'jumps': {name: 1 for name, (_t, builtin) in PF_CHAINS.items() if builtin}}


# -- parsing ------------------------------------------------------------------------------------

def parse_save(text: str) -> dict:
    """iptables-save output -> {table: {'policies': {chain: policy}, 'rules': {chain: [spec]}}}."""
    tables, table = {}, None
    for line in text.splitlines():
        if line.startswith('*'):
            table = tables.setdefault(line[1:].strip(), {'policies': {}, 'rules': {}})
        elif table is None or not line or line.startswith('#') or line == 'COMMIT':
            continue
        elif line.startswith(':'):
            name, policy = line[1:].split()[:2]
            table['policies'][name] = policy
            table['rules'].setdefault(name, [])
        elif line.startswith('-A '):
            _a, chain, spec = (line.split(' ', 2) + [''])[:3]
            table['rules'].setdefault(chain, []).append(spec)
    return tables


def part_of(tables: dict, chains: dict) -> dict:
    part = empty_part()
    for name, (table, builtin) in chains.items():
        rules = tables.get(table, {}).get('rules', {})
        if name in rules:
            part['chains'][name] = list(rules[name])
        if builtin:
            count = rules.get(builtin, []).count(jump_spec(name))
            if count:
                part['jumps'][name] = count
    return part


def has_content(tables: dict) -> bool:
    """Whether a variant holds any rule, user chain or non-ACCEPT policy (someone uses it)."""
    for table in tables.values():
        if any(policy != 'ACCEPT' for policy in table['policies'].values()) or any(table['rules'].values()):
            return True
    return False


_WORD_VALUE = re.compile(r'(-[sdo]|--to-destination|--dport|--comment) ("[^"]*"|\S+)')


def _fields(spec: str) -> dict:
    fields = {}
    for key, value in _WORD_VALUE.findall(spec):
        fields[key] = value[1:-1] if value.startswith('"') else value
    fields['-j'] = spec.rsplit('-j ', 1)[-1].split()[0] if '-j ' in spec else None
    return fields


def _rule_dict(spec: str) -> dict:
    f = _fields(spec)
    out = {'action': (f['-j'] or '').lower()}
    if '-s' in f:
        out['saddr'] = f['-s']
    if '-d' in f:
        out['daddr'] = f['-d']
    if '-o' in f:
        out['oif'] = f['-o']
    if '--comment' in f:
        out['comment'] = f['--comment']
    return out


def networks_from_part(part: dict) -> list:
    return rules_mod.networks_from_rules([_rule_dict(s) for s in part['chains'].get('ANATOMY-NM-POSTROUTING', [])],
                                         [_rule_dict(s) for s in part['chains'].get('ANATOMY-NM-FORWARD', [])])


_TAG = re.compile(r'^pf (tcp|udp) ([0-9.]+) (\d+(?:-\d+)?)(?:: (.*))?$')


def ports_from_part(part: dict) -> list:
    found = {}
    for spec in part['chains'].get('ANATOMY-PF-DNAT', []):
        f = _fields(spec)
        match = _TAG.match(f.get('--comment', ''))
        if not match:
            continue
        proto, addr, ports, comment = match.groups()
        item = found.setdefault((proto, addr, ports), {
            'protocol': proto, 'host_address': addr, 'host_port': ports, 'destination': None,
            'destination_port': ports, 'allowed_sources': [], 'comment': comment or '', '_dports': []})
        if '-s' in f and f['-s'] not in item['allowed_sources']:
            item['allowed_sources'].append(f['-s'])
        dest, _sep, dport = f.get('--to-destination', '').partition(':')
        item['destination'] = dest or '0.0.0.0'
        if dport:
            item['_dports'].append(int(dport))
    items = []
    for key in sorted(found):
        item = found[key]
        dports = item.pop('_dports')
        if dports:
            first, last = model.port_range(item['host_port'], 'host_port')
            start = min(dports)
            item['destination_port'] = model.ports_text(start, start + last - first)
        item['allowed_sources'] = sorted(item['allowed_sources'])
        items.append(item)
    return items


# -- the transaction ----------------------------------------------------------------------------

def transaction(current: dict, desired: dict, chains: dict) -> str:
    """An ``iptables-restore --noflush`` input making our part equal to ``desired``; '' if nothing to do.

    Declaring a chain (``:NAME - [0:0]``) creates it or empties it; jumps from built-in chains are
    inserted only if missing and removed only when the chain goes. Nothing else is touched.
    """
    blocks = {}
    for name, (table, builtin) in chains.items():
        lines = blocks.setdefault(table, {'decl': [], 'rules': [], 'tail': []})
        want = name in desired['chains']
        have = name in current['chains']
        if not want and not have and not current['jumps'].get(name):
            continue
        lines['decl'].append(':%s - [0:0]' % name)
        if want:
            lines['rules'] += ['-A %s %s' % (name, spec) for spec in desired['chains'][name]]
            count = current['jumps'].get(name, 0)
            if builtin and count == 0:
                lines['tail'].append('-I %s 1 %s' % (builtin, jump_spec(name)))
            lines['tail'] += ['-D %s %s' % (builtin, jump_spec(name))] * max(0, count - 1)
        else:
            if builtin:
                lines['tail'] += ['-D %s %s' % (builtin, jump_spec(name))] * current['jumps'].get(name, 0)
            lines['tail'].append('-X %s' % name)
    out = []
    for table in ('nat', 'filter'):
        lines = blocks.get(table)
        if lines and lines['decl']:
            # Deleting chains: the chains that jump to others go first (ANATOMY-PF-DNAT is jumped to).
            tail = [t for t in lines['tail'] if not t.startswith('-X')] + sorted(
                (t for t in lines['tail'] if t.startswith('-X')), key=lambda t: t.endswith('-DNAT'))
            out += ['*' + table] + lines['decl'] + lines['rules'] + tail + ['COMMIT']
    return '\n'.join(out) + '\n' if out else ''


def listing(part: dict) -> str:
    out = []
    for name in sorted(part['chains']):
        table, builtin = ALL_CHAINS.get(name, ('?', None))
        out.append('# %s table, chain %s%s' % (table, name, ' (jumped to from %s)' % builtin if builtin else ''))
        out += ['-A %s %s' % (name, spec) for spec in part['chains'][name]]
    return '\n'.join(out) + ('\n' if out else '')


def quote(argv: list) -> str:
    return ' '.join(shlex.quote(a) for a in argv)
