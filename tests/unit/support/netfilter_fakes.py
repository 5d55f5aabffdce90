# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fakes for the netfilter library: an in-memory iptables, a runner of fake commands, captured real output."""

from __future__ import annotations

import copy

from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import engine, iptables as ipt
from tests.unit.support.fixtures import load_fixture
from tests.unit.support.resource_fakes import FakeModule as _FakeModule

# Real outputs captured on a lab host (Debian 12: nft 1.0.6, iptables 1.8.9 nf_tables) after runs of
# nat_masquerade (10.88.0.0/24, and 10.89.0.0/24 isolated) and port_forward (tcp 80 -> 10.88.0.3:8080 "web";
# tcp 9000-9001 -> 10.88.0.4 from 10.0.0.0/8 and 198.18.0.0/24; udp 127.0.0.1:5000-5001 -> 10.88.0.3:6000-6001),
# plus hand-made rules for 10.99.0.0/24 in iptables.
NFT_JSON = load_fixture('nft-list-table-anatomy.json')  # nft -j list table ip anatomy (pretty-printed)
IPTABLES_SAVE = load_fixture('iptables-save.txt')       # iptables-save

EMPTY = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n' \
        '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'
FOREIGN = EMPTY.replace(':POSTROUTING ACCEPT [0:0]\n', ':POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.99.0.0/24 -j MASQUERADE\n')


class FakeIptables:
    """iptables-save / iptables-restore --noflush semantics, in memory."""

    def __init__(self, text=EMPTY):
        self.tables = ipt.parse_save(text)
        self.restores = []

    def save(self) -> str:
        out = []
        for name, table in self.tables.items():
            out.append('*' + name)
            out += [':%s %s [0:0]' % (c, p) for c, p in table['policies'].items()]
            out += ['-A %s %s' % (c, s) for c, specs in table['rules'].items() for s in specs]
            out.append('COMMIT')
        return '\n'.join(out) + '\n'

    def restore(self, script: str, test: bool):
        tables = copy.deepcopy(self.tables)
        table = None
        for line in script.splitlines():
            if line.startswith('*'):
                table = tables.setdefault(line[1:], {'policies': {}, 'rules': {}})
            elif line.startswith(':'):
                name = line[1:].split()[0]
                table['policies'].setdefault(name, '-')
                table['rules'][name] = []
            elif line.startswith('-A '):
                _a, chain, spec = line.split(' ', 2)
                table['rules'][chain].append(spec)
            elif line.startswith('-I '):
                _i, chain, _pos, spec = line.split(' ', 3)
                table['rules'][chain].insert(0, spec)
            elif line.startswith('-D '):
                _d, chain, spec = line.split(' ', 2)
                if spec not in table['rules'][chain]:
                    return 1, '', 'iptables-restore: line: Bad rule (does a matching rule exist in that chain?)'
                table['rules'][chain].remove(spec)
            elif line.startswith('-X '):
                name = line[3:]
                if any(spec.endswith('-j ' + name) for specs in table['rules'].values() for spec in specs):
                    return 1, '', 'iptables-restore: -X %s: chain is in use' % name
                del table['rules'][name]
                del table['policies'][name]
        self.restores.append((script, test))
        if not test:
            self.tables = tables
        return 0, '', ''


class FakeRunner:
    def __init__(self, commands=('nft', 'iptables-save', 'iptables-restore'), iptables=None, legacy=None,
                 nft_json=None, default_dev='eth0'):
        self.commands = set(commands)
        self.iptables = iptables or FakeIptables()
        self.legacy = legacy
        self.nft_json = nft_json
        self.default_dev = default_dev
        self.calls = []
        self.files = {engine.IP_FORWARD: '0\n', engine.ROUTE_LOCALNET % 'br0': '0\n'}

    def which(self, name):
        return '/usr/sbin/' + name if name in self.commands else None

    def run(self, argv, data=None):
        self.calls.append((list(argv), data))
        cmd = argv[0]
        if cmd in ('iptables-save', 'iptables-nft-save'):
            return 0, self.iptables.save(), ''
        if cmd == 'iptables-legacy-save':
            return 0, (self.legacy or FakeIptables()).save(), ''
        if cmd in ('iptables-restore', 'iptables-nft-restore', 'iptables-legacy-restore'):
            target = self.legacy if 'legacy' in cmd else self.iptables
            return target.restore(data, '--test' in argv)
        if argv[:3] == ['nft', '-j', 'list']:
            if self.nft_json is None:
                return 1, '', 'Error: No such file or directory\nlist table ip anatomy\n'
            return 0, self.nft_json, ''
        if cmd == 'nft':
            return 0, '', ''
        raise AssertionError('unexpected command %r' % argv)

    def read(self, path):
        if path not in self.files:
            raise OSError(2, 'No such file', path)
        return self.files[path]

    def write(self, path, text):
        self.files[path] = text

    def remove(self, path):
        del self.files[path]

    def routes(self):
        """The main table as unicast_routes() reads it: the default route (unless none), a bridge, a wide route."""
        self.calls.append((['routes'], None))
        default = [{'dst': '0.0.0.0/0', 'metric': 0, 'dev': self.default_dev}] if self.default_dev else []
        return default + [{'dst': '10.88.0.0/24', 'metric': 0, 'dev': 'br0'},
                          {'dst': '10.0.0.0/8', 'metric': 0, 'dev': 'eth0'}]


class FakeModule(_FakeModule):
    param_defaults = {'config': None, 'state': 'merged', 'backend': 'auto'}
