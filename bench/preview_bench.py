# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The preview module's process with N workloads' configs for all 10 modules, nothing to change, on a lab host.

On a lab host, the module tasks the roles run for one network and N workloads (configs from the workload role's own
plan, as bench/site_bench.py has them) are applied for real. Then, with ANSIBLE_KEEP_REMOTE_FILES, one play runs each
of the 10 module tasks in check mode and one preview task of all 10; the AnsiballZ files they leave on the host are
run again there, timed (best of --runs), so the numbers are the module processes alone, without SSH or the controller.

    python3 bench/preview_bench.py [--workloads 100] [--lab bench-preview] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab import Lab  # noqa: E402
from tests.integration.ansible_runner import ansible_env, run_playbook  # noqa: E402

M = 'anatomy.containers.'
STATE = '/var/lib/anatomy/bench-preview'
NETWORK = {'name': 'ctbr0', 'subnet': '10.88.0.0/16'}
HTTPD = ['/bin/sh', '-c', 'date >> /data/starts; exec /bin/busybox httpd -f -p 8080 -h /www']
LAYERS = [{'name': 'busybox', 'busybox': True},
          {'name': 'site-content', 'files': [{'path': 'www/index.html', 'content': 'hello from a preview benchmark\n'}]}]


def module_tasks(n: int) -> list:
    """The preview's tasks (id, module, params), in the order the roles run them, from the roles' own plan."""
    from ansible_collections.anatomy.containers.plugins.module_utils import _host_plan as host_plan

    workloads = [{'name': 'w%03d' % i, 'network': NETWORK['name'], 'layers': ['site-content', 'busybox'],
                  'published_ports': ['%d:8080' % (20000 + i)], 'volumes': [{'name': 'w%03d-data' % i, 'target': '/data'}],
                  'command': HTTPD} for i in range(n)]
    plan = host_plan.plan_host([NETWORK], workloads, LAYERS, STATE, None, 'nameserver 192.0.2.53\n')
    tasks = host_plan.network_tasks(plan, True, 'auto') + host_plan.workload_tasks(plan, LAYERS, STATE, 'auto', False)
    # The sysctl file is the host's: the bench leaves it alone.
    return [(task['id'], task['module'], {k: v for k, v in task['params'].items() if k != 'sysctl_file'}) for task in tasks]


PROFILE = r"""
set -e
cd "$(dirname "$1")"
rm -rf debug_dir
python3 "$1" explode > /dev/null
cd debug_dir
python3 -c '
import cProfile, pstats, runpy, sys, io
sys.argv = ["__main__.py", "args"]
sys.path.insert(0, ".")
out = io.StringIO()
profile = cProfile.Profile()
profile.enable()
try:
    runpy.run_path("ansible_collections/anatomy/containers/plugins/modules/preview.py", run_name="__main__")
except SystemExit:
    pass
profile.disable()
sys.stdout = sys.__stdout__
stats = pstats.Stats(profile, stream=sys.stderr)
stats.sort_stats("cumulative").print_stats(%(top)d)
stats.sort_stats("tottime").print_stats(%(top)d)
' > /dev/null
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workloads', type=int, default=100)
    parser.add_argument('--lab', default='bench-preview')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--keep', action='store_true', help='leave the lab up')
    parser.add_argument('--no-apply', action='store_true', help='the workloads are applied already (a kept lab)')
    parser.add_argument('--preview-only', action='store_true', help='time the preview alone, not the 10 modules')
    parser.add_argument('--plain', action='store_true', help='send every text in full (for a collection before strings)')
    parser.add_argument('--profile', type=int, default=0, metavar='N',
                        help='also run the preview process under cProfile on the host; print its N top functions')
    args = parser.parse_args()

    lab = Lab(args.lab)
    status = lab.status()
    if not (status['hosts'] and all(h['running'] for h in status['hosts'])):
        lab.up(1)
    host = lab.hosts[0]
    tasks = module_tasks(args.workloads)
    if not args.no_apply:
        start = time.time()
        results = run_playbook(lab.inventory, host.name, [{M + module: params} for _id, module, params in tasks],
                               timeout=3600)
        bad = [(r['_task'], r.get('msg')) for r in results if r['_status'] != 'ok']
        if bad:
            raise SystemExit('applying failed: %r' % bad)
        print('applied %d workloads in %.1f s' % (args.workloads, time.time() - start))

    from ansible_collections.anatomy.containers.plugins.module_utils._shared_strings import share_strings

    # As the host_plan action sends them: a text many items share (each /etc/hosts), once.
    sent, strings = share_strings([{'id': task_id, 'module': module, 'params': params} for task_id, module, params in tasks])
    if args.plain:  # as before the preview took strings
        sent, strings = [{'id': task_id, 'module': module, 'params': params} for task_id, module, params in tasks], None
    preview = {M + 'preview': dict({'tasks': sent}, **({'strings': strings} if strings else {}))}
    singles = [] if args.preview_only else [dict({M + module: params}, check_mode=True) for _id, module, params in tasks]
    play = [{'hosts': host.name, 'gather_facts': False, 'tasks': singles + [preview]}]
    host.run('rm -rf /root/.ansible/tmp/ansible-tmp-*')
    with tempfile.TemporaryDirectory(prefix='anatomy-bench-') as tmp:
        playbook = Path(tmp) / 'play.yml'
        playbook.write_text(json.dumps(play))
        start = time.time()
        subprocess.run([str(Path(sys.executable).with_name('ansible-playbook')), '-i', str(lab.inventory), str(playbook)],
                       env=ansible_env({'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_PIPELINING': 'False'}),
                       capture_output=True, text=True, timeout=1800, check=True)
        what = '' if args.preview_only else 'the %d check-mode tasks and' % len(tasks)
        print('one play of %s the preview: %.1f s' % (what, time.time() - start))
    script = ('TIMEFORMAT=%%R; for f in /root/.ansible/tmp/ansible-tmp-*/AnsiballZ_*.py; do '
              'echo "$f"; python3 "$f" | tail -n 1; for i in $(seq %d); do { time python3 "$f" > /dev/null; } 2>&1; done; done'
              % args.runs)
    out = host.run(script, timeout=3600).stdout.splitlines()
    rows, total, preview_time, preview_file = [], 0.0, None, None
    i = 0
    while i < len(out):
        name = out[i].rsplit('AnsiballZ_', 1)[1][:-3]
        result = json.loads(out[i + 1])
        best = min(float(t) for t in out[i + 2:i + 2 + args.runs])
        if name == 'preview':
            assert result.get('would_change') == [] and not result.get('failed'), result
            preview_time, preview_file = best, out[i]
        else:
            assert result.get('changed') is False and not result.get('failed'), (name, result)
            rows.append((name, best))
            total += best
        i += 2 + args.runs
    print('\n%d workloads, nothing to change; module processes on the host, best of %d runs:' % (args.workloads, args.runs))
    for name, best in rows:
        print('  %-18s %6.3f s' % (name, best))
    if rows:
        print('  %-18s %6.3f s' % ('sum of the %d' % len(rows), total))
    print('  %-18s %6.3f s   (all %d tasks previewed in one process)' % ('preview', preview_time, len(tasks)))
    if args.profile:
        print(host.run('bash -s -- %s' % shlex.quote(preview_file), input=PROFILE % {'top': args.profile}, timeout=1800).stderr)
    host.run('rm -rf /root/.ansible/tmp/ansible-tmp-*')
    if not args.keep:
        lab.down()


if __name__ == '__main__':
    main()
