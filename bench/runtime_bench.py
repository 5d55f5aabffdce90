# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The start cost per workload: today's units through crun against the previous design's units, N workloads at once.

For each N (default 100, 300), on a fresh lab host: site.yml with N workloads of bench/site_bench.py (each a network
namespace, a root filesystem that is an overlay of a busybox layer and a files layer with 4 bind mounts in it (a
volume, /etc/hosts, /etc/hostname, /etc/resolv.conf), so the host's mount table grows as in real use, and the busybox
httpd as command). Then, timed on the host by bench/runtime_host.py (no SSH in a timing), ROUNDS times, the order
alternating:

  new        `systemctl start` of the N units of today (crun run of the bundle) in one command, until every workload's
             command runs (`crun list` shows every container running, and N `busybox httpd` processes exist)
  old        the same with the previous design's units, written from the same definitions (systemd's RootDirectory=,
             MountAPIVFS=, NetworkNamespacePath=, as 4712989's _services.render() wrote them), until N commands run
  crun run   `crun run --detach` of each bundle, one after another (no systemd), each timed; and the same with copies
             of the bundles' config.json without linux.seccomp (what compiling the profile costs)

Each start is from all workloads stopped. Printed: medians per design and N, ms per workload, the growth from the
smallest to the largest N per workload, the ratios, the load average before each trial, the mounts the host and the
workloads' roots show, and one mount + umount on the host while the workloads run (what propagation into their
namespaces costs). Usage, from the repository root (the collection installed with `make collection`):

    python3 bench/runtime_bench.py [--sizes 100,300] [--rounds 3] [--lab bench-rt] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'bench'))

from site_bench import SiteBench, site_vars  # noqa: E402

HOST_SCRIPT = '/run/anatomy-bench/runtime_host.py'


class RuntimeBench(SiteBench):
    def __init__(self, lab_name: str, keep: bool, rounds: int):
        super().__init__(lab_name, keep)
        self.rounds = rounds
        self.trials = []

    def on_host(self, host, *args) -> dict:
        out = host.run('python3 %s %s' % (HOST_SCRIPT, ' '.join(args)), timeout=3600).stdout
        return json.loads(out.strip().splitlines()[-1])

    def prepare(self, n: int):
        host = self.fresh_host()
        with tempfile.TemporaryDirectory(prefix='anatomy-runtime-bench-') as tmp:
            vars_file = Path(tmp) / 'vars.json'
            vars_file.write_text(json.dumps(site_vars(n)))
            seconds, recap, _tasks = self.playbook(vars_file, 'site.yml')
        self.put(host, HOST_SCRIPT, (REPO / 'bench' / 'runtime_host.py').read_bytes())
        self.on_host(host, 'old-units')
        log('%d workloads prepared (site.yml %.1f s, changed=%s)' % (n, seconds, recap.get('changed')))
        return host

    def run(self, sizes) -> None:
        try:
            for n in sizes:
                host = self.prepare(n)
                for r in range(self.rounds):
                    order = ('new', 'old') if r % 2 == 0 else ('old', 'new')
                    for design in order:
                        trial = self.on_host(host, 'start', design)
                        self.trials.append(trial)
                        log(self.trial_line(trial))
                    for args in (('serial',), ('serial', 'plain')) if r % 2 == 0 else (('serial', 'plain'), ('serial',)):
                        trial = self.on_host(host, *args)
                        self.trials.append(trial)
                        log(self.trial_line(trial))
        finally:
            if not self.keep:
                self.lab.down(log=lambda *_: None)

    @staticmethod
    def trial_line(t: dict) -> str:
        if t['design'].startswith('crun run'):
            per = t['per container ms']
            return ('%4d %s: serial %.2f s (median %.1f ms, first %.1f, last %.1f), %d running; delete %.2f s; '
                    'unshare -m true %.1f ms, crun --version %.1f ms, true %.1f ms; load %s') % (
                t['n'], t['design'], t['total s'], statistics.median(per), per[0], per[-1], t['running'],
                t['delete s'], t['unshare -m true ms'], t['crun --version ms'], t['true ms'], t['load before'])
        return ('%4d %-8s systemctl %.2f s, all running %.2f s%s; mounts host %d -> %d, in the workloads %d; '
                'mount+umount %.2f -> %.2f ms; stop %.1f s; load %s -> %s') % (
            t['n'], t['design'], t['systemctl s'], t['all running s'],
            ' (crun list %.2f s)' % t['crun list all running s'] if 'crun list all running s' in t else '',
            t['host mounts'], t['host mounts, running'], t['workload mounts (sum)'], t['mount+umount ms, none running'],
            t['mount+umount ms, running'], t['stop s'], t['load before'], t['load after'])

    def report(self) -> str:
        def med(design, n, key):
            values = [t[key] for t in self.trials if t['design'] == design and t['n'] == n]
            return statistics.median(values) if values else None

        sizes = sorted({t['n'] for t in self.trials})
        header = ('N', 'median of %d' % self.rounds, 'seconds', 'ms / workload', 'load before')
        lines = ['', '%5s %-34s %10s %14s %13s' % header]
        per = {}
        for n in sizes:
            for design, key, label in (('new', 'all running s', 'new: systemctl start -> all running'),
                                       ('new', 'systemctl s', 'new: systemctl start returns'),
                                       ('old', 'all running s', 'old: systemctl start -> all running'),
                                       ('old', 'systemctl s', 'old: systemctl start returns'),
                                       ('crun run', 'total s', 'crun run --detach, serial'),
                                       ('crun run, no seccomp', 'total s', 'the same without seccomp')):
                value = med(design, n, key)
                per[(label, n)] = value / n * 1000
                loads = ', '.join(t['load before'].split()[0] for t in self.trials if t['design'] == design and t['n'] == n)
                lines.append('%5d %-34s %10.2f %14.2f %13s' % (n, label, value, value / n * 1000, loads))
            lines.append('%5d %-34s %10.2f' % (n, 'old / new (all running)', med('old', n, 'all running s')
                                               / med('new', n, 'all running s')))
            lines.append('%5d %-34s %10.2f' % (n, 'new minus serial crun run, ms/wl', (
                med('new', n, 'all running s') - med('crun run', n, 'total s')) / n * 1000))
            lines.append('%5d %-34s %10.2f %14s' % (n, 'unshare -m true (ms)', med('crun run', n, 'unshare -m true ms'), ''))
            lines.append('%5d mounts: host %d; in the workloads\' roots, old %d, new %d; one mount+umount on the '
                         'host %.2f ms idle, %.2f ms old running, %.2f ms new running' % (
                             n, med('new', n, 'host mounts'), med('old', n, 'workload mounts (sum)'),
                             med('new', n, 'workload mounts (sum)'), med('new', n, 'mount+umount ms, none running'),
                             med('old', n, 'mount+umount ms, running'), med('new', n, 'mount+umount ms, running')))
        if len(sizes) > 1:
            small, big = sizes[0], sizes[-1]
            for label in sorted({label for label, _n in per}):
                lines.append('growth of %s per workload, %d -> %d: %.2fx' % (
                    label, small, big, per[(label, big)] / per[(label, small)]))
        return '\n'.join(lines)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--sizes', default='100,300')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--lab', default=os.environ.get('ANATOMY_BENCH_LAB', 'bench-rt'))
    parser.add_argument('--keep', action='store_true', help='leave the last lab up')
    args = parser.parse_args(argv)
    bench = RuntimeBench(args.lab, args.keep, args.rounds)
    bench.run([int(s) for s in args.sizes.split(',')])
    print(bench.report())
    if os.environ.get('RUNTIME_BENCH_JSON'):
        Path(os.environ['RUNTIME_BENCH_JSON']).write_text(json.dumps(bench.trials))
    return 0


if __name__ == '__main__':
    sys.exit(main())
