# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing N ports: anatomy.containers.port_forward against its peers, side by side, on a lab host.

For N in 10, 100 and 1,000 DNAT port mappings (host port P -> 10.88.0.3:8080), wall time seen from the
controller, first run and no-change re-run:

  ours/nft        one port_forward task, backend nftables (verdict maps, one nft -f transaction)
  ours/ipt        one port_forward task, backend iptables (one iptables-restore --noflush)
  builtin-loop    one ansible.builtin.iptables task with a loop over the N rules
  shell -C||-A    one `iptables -t nat -C ... || iptables -t nat -A ...` per rule, in one SSH command

Everything runs on a lab host (never on this machine). Usage:
  python bench/netfilter_bench.py [--lab NAME] [--sizes 10,100,1000] [--skip-loop-above N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab import Lab  # noqa: E402
from tests.integration.ansible_runner import run_playbook  # noqa: E402

DEST = '10.88.0.3'
BASE_PORT = 20000
CHAIN = 'BENCH-DNAT'


def ports(n):
    return list(range(BASE_PORT, BASE_PORT + n))


def clean(host):
    host.run('nft delete table ip anatomy 2>/dev/null; for t in nat filter; do iptables -t $t -F; iptables -t $t -X; done; '
             'iptables -t nat -N %s; true' % CHAIN, check=False)


def timed(fn):
    start = time.monotonic()
    result = fn()
    return time.monotonic() - start, result


def ours(lab, host, n, backend):
    config = [{'host_port': p, 'destination': DEST, 'destination_port': 8080} for p in ports(n)]
    task = [{'anatomy.containers.port_forward': {'backend': backend, 'config': config, 'state': 'overridden'}}]
    first, r1 = timed(lambda: run_playbook(lab.inventory, host.name, task))
    again, r2 = timed(lambda: run_playbook(lab.inventory, host.name, task))
    assert r1[0].get('changed') and not r2[0].get('changed'), (r1[0].get('msg'), r2[0].get('msg'))
    return first, again


def builtin_loop(lab, host, n):
    task = [{'ansible.builtin.iptables': {
        'table': 'nat', 'chain': CHAIN, 'protocol': 'tcp', 'destination_port': '{{ item }}', 'jump': 'DNAT',
        'to_destination': DEST + ':8080'}, 'loop': ports(n)}]
    first, r1 = timed(lambda: run_playbook(lab.inventory, host.name, task, timeout=3600))
    again, r2 = timed(lambda: run_playbook(lab.inventory, host.name, task, timeout=3600))
    assert r1[0].get('changed') and not r2[0].get('changed'), (r1[0].get('msg'), r2[0].get('msg'))
    return first, again


def shell_loop(host, n):
    rules = '\n'.join('-p tcp --dport %d -j DNAT --to-destination %s:8080' % (p, DEST) for p in ports(n))
    script = ('while read -r rule; do iptables -w -t nat -C %s $rule 2>/dev/null || iptables -w -t nat -A %s $rule; '
              'done' % (CHAIN, CHAIN))
    first, _output = timed(lambda: host.run(script, input=rules + '\n', timeout=3600))
    again, _output = timed(lambda: host.run(script, input=rules + '\n', timeout=3600))
    count = int(host.run('iptables -t nat -S %s | grep -c -- "-j DNAT"' % CHAIN).stdout)
    assert count == n, count
    return first, again


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--lab', default=os.environ.get('ANATOMY_LAB', 'nfbench'))
    parser.add_argument('--sizes', default='10,100,1000')
    parser.add_argument('--skip-loop-above', type=int, default=100000,
                        help='skip the ansible.builtin.iptables loop above this N (it takes ~0.3 s a rule)')
    parser.add_argument('--keep', action='store_true', help='reuse a running lab and leave it up')
    parser.add_argument('--only', default='', help='run only these, comma-separated (ours/nft,ours/ipt,builtin-loop,'
                                                   'shell -C||-A)')
    args = parser.parse_args(argv)
    lab = Lab(args.lab)
    status = lab.status()
    if not (args.keep and status['hosts'] and all(h['running'] for h in status['hosts'])):
        lab.up(1, log=lambda *_: None)
    host = lab.hosts[0]
    rows = []
    try:
        # Warm up SSH and the collection's import paths once, so the first size is not charged for it.
        clean(host)
        ours(lab, host, 1, 'nftables')
        for n in [int(s) for s in args.sizes.split(',')]:
            row = {'n': n}
            for name, fn in (('ours/nft', lambda: ours(lab, host, n, 'nftables')),
                             ('ours/ipt', lambda: ours(lab, host, n, 'iptables')),
                             ('builtin-loop', lambda: builtin_loop(lab, host, n) if n <= args.skip_loop_above
                              else (float('nan'), float('nan'))),
                             ('shell -C||-A', lambda: shell_loop(host, n))):
                if args.only and name not in args.only.split(','):
                    row[name] = (float('nan'), float('nan'))
                    continue
                clean(host)
                row[name] = fn()
                print('  N=%-5d %-13s first %8.2f s   no-change %8.2f s' % (n, name, *row[name]), flush=True)
            rows.append(row)
    finally:
        clean(host)
        if not args.keep:
            lab.down(log=lambda *_: None)

    names = ['ours/nft', 'ours/ipt', 'builtin-loop', 'shell -C||-A']
    print('\nWall time from the controller, seconds (first run / no-change re-run); ratio = peer / ours/nft')
    print('%6s  ' % 'N' + '  '.join('%-24s' % n for n in names))
    for row in rows:
        cells = []
        for name in names:
            first, again = row[name]
            base_first, base_again = row['ours/nft']  # nan where not run: ratios show as nan
            cells.append('%7.2f /%7.2f %s' % (first, again, '' if name == 'ours/nft' else
                                              'x%.1f/x%.1f' % (first / base_first, again / base_again)))
        print('%6d  ' % row['n'] + '  '.join('%-24s' % c for c in cells))
    if len(rows) >= 2:
        print('\nMarginal cost per port between the sizes (linear growth: about constant), ms')
        for name in names:
            steps = []
            for a, b in zip(rows, rows[1:]):
                steps.append('%d->%d: %.2f / %.2f' % (a['n'], b['n'], 1000 * (b[name][0] - a[name][0]) / (b['n'] - a['n']),
                                                      1000 * (b[name][1] - a[name][1]) / (b['n'] - a['n'])))
            print('  %-13s %s' % (name, '   '.join(steps)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
