# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Durable hosts: how fast a host comes back by itself, next to what Ansible and the CNI plugins take.

With site_bench's workloads (each one published port, two shared layers, a volume, busybox httpd), on a fresh lab host:

  site first    ansible-playbook site.yml for N workloads (what a host without durability would need after a boot)
  boot          a clean reboot of that host (nspawn stopped, systemd halts it; booted again on the same disk): from the
                new boot's start to the last of the N published ports answering from the lab network; no Ansible run
  ssh up        from the same start to the host answering SSH (what the boot itself costs, before any of ours)
  firewall      `nft flush ruleset` on the host to our table back with its N published ports (the median of 5),
                timed on the host
  teardown      ansible-playbook playbooks/teardown.yml for N workloads (volumes purged, the workloads killed as
                docker rm -f does: the CNI plugins stop no process), the whole process on the controller
  CNI DEL       on another fresh lab host, after the same ADDs as site_bench: per workload the portmap DEL, the bridge
                DEL and `ip netns del`, one script timed on the host

Usage, from the repository root (the collection installed with `make collection`):

    python3 bench/durability_bench.py [--sizes 100,1000] [--boot-sizes 100] [--lab bench-dur] [--keep]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'bench'))

from site_bench import BASE_PORT, CNI_DIR, CNI_PLUGINS, BRIDGE_CONF, WORK, SiteBench, cni_script, site_vars  # noqa: E402


def cni_del_script(n: int) -> str:
    env = 'CNI_PATH=%s CNI_IFNAME=eth0 CNI_COMMAND=DEL' % CNI_DIR
    lines = []
    for i in range(n):
        ns = 'cw%03d' % i
        portmap = {'cniVersion': '1.0.0', 'name': 'bench', 'type': 'portmap', 'capabilities': {'portMappings': True},
                   'runtimeConfig': {'portMappings': [{'hostPort': BASE_PORT + i, 'containerPort': 8080,
                                                       'protocol': 'tcp'}]}}
        lines += [
            "printf '%%s' '%s' | %s CNI_CONTAINERID=%s CNI_NETNS=/run/netns/%s %s/portmap" % (
                json.dumps(portmap), env, ns, ns, CNI_DIR),
            '%s CNI_CONTAINERID=%s CNI_NETNS=/run/netns/%s %s/bridge < %s/bridge.json' % (env, ns, ns, CNI_DIR, WORK),
            'ip netns del %s' % ns,
        ]
    return 'set -e\n' + '\n'.join(lines) + '\n'


class DurabilityBench(SiteBench):

    def teardown_playbook(self, label: str):
        with tempfile.TemporaryDirectory(prefix='anatomy-dur-bench-') as tmp:
            vars_file = Path(tmp) / 'vars.json'
            vars_file.write_text(json.dumps({'teardown_purge_volumes': True, 'teardown_kill': True}))
            return self.playbook(vars_file, label, playbook='teardown.yml')

    def answering(self, host, n: int, deadline: float) -> float:
        """Seconds (monotonic) at which the last of the N published ports answered from the lab network."""
        def one(port):
            while time.monotonic() < deadline:
                reply = self.lab.in_lab(['curl', '-s', '-m', '2', 'http://%s:%d/' % (host.address, port)], check=False)
                if 'hello' in (reply.stdout or ''):
                    return time.monotonic()
                time.sleep(0.2)
            raise RuntimeError('port %d never answered' % port)
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            return max(pool.map(one, range(BASE_PORT, BASE_PORT + n)))

    def boot(self, n: int) -> dict:
        host = self.fresh_host()
        with tempfile.TemporaryDirectory(prefix='anatomy-dur-bench-') as tmp:
            vars_file = Path(tmp) / 'vars.json'
            vars_file.write_text(json.dumps(site_vars(n)))
            first, _recap, _tasks = self.playbook(vars_file, 'first run')
            self.answering(host, n, time.monotonic() + 300)
            host.halt()
            start = time.monotonic()
            host.boot(self.lab.image.ensure(log=lambda *_: None), fresh=False)
            host.wait(120)
            ssh_up = time.monotonic() - start
            boot = self.answering(host, n, time.monotonic() + 300) - start
            again, recap, _tasks = self.playbook(vars_file, 're-run after the boot')
        flush = []
        for _round in range(5):
            out = host.run(
                'nft flush ruleset; s=$(date +%%s%%N); until [ "$(nft list table ip anatomy 2>/dev/null | grep -c dnat)" '
                '-ge %d ]; do sleep 0.02; done; e=$(date +%%s%%N); echo $(( (e - s) / 1000000 ))' % min(n, 1),
                timeout=60).stdout.strip()
            flush.append(int(out))
            time.sleep(1)
        return {'n': n, 'site first': first, 'boot': boot, 'ssh up': ssh_up, 'firewall ms': statistics.median(flush),
                'changed after boot': recap.get('changed'), 're-run after boot': again}

    def teardown(self, n: int) -> dict:
        host = self.fresh_host()
        with tempfile.TemporaryDirectory(prefix='anatomy-dur-bench-') as tmp:
            vars_file = Path(tmp) / 'vars.json'
            vars_file.write_text(json.dumps(site_vars(n)))
            self.playbook(vars_file, 'first run')
        ours, _recap, tasks = self.teardown_playbook('teardown')
        slowest = '; '.join('%s %.1fs' % (name, secs) for name, secs in sorted(tasks, key=lambda t: -t[1])[:8])
        left = host.run('ls /run/netns 2>/dev/null | wc -l; ls /etc/systemd/system | grep -c anatomy; true').stdout.split()
        host = self.fresh_host()
        for plugin in CNI_PLUGINS:
            self.put(host, '%s/%s' % (CNI_DIR, plugin), (Path('/usr/lib/cni') / plugin).read_bytes(), '755')
        self.put(host, '%s/bridge.json' % WORK, json.dumps(BRIDGE_CONF).encode())
        self.put(host, '%s/cni.sh' % WORK, cni_script(n).encode())
        self.put(host, '%s/cni-del.sh' % WORK, cni_del_script(n).encode())
        host.run('mkdir -p /var/lib/anatomy; bash %s/cni.sh > %s/cni.log 2>&1' % (WORK, WORK), timeout=1800)
        out = host.run('s=$(date +%%s%%N); bash %s/cni-del.sh > %s/cni-del.log 2>&1; rc=$?; e=$(date +%%s%%N); '
                       'echo $rc $(( (e - s) / 1000 ))' % (WORK, WORK), timeout=1800).stdout.split()
        if out[0] != '0':
            raise RuntimeError('CNI DEL failed: %s' % host.run('tail -5 %s/cni-del.log' % WORK, check=False).stdout)
        return {'n': n, 'teardown': ours, 'cni del': int(out[1]) / 1e6, 'left': left, 'slowest': slowest}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--sizes', default='100,1000', help='workloads for the teardown against CNI DEL')
    parser.add_argument('--boot-sizes', default='100', help='workloads for the boot and firewall measures')
    parser.add_argument('--lab', default=os.environ.get('ANATOMY_BENCH_LAB', 'bench-dur'))
    parser.add_argument('--keep', action='store_true', help='leave the last lab up')
    args = parser.parse_args(argv)
    bench = DurabilityBench(args.lab, args.keep)
    lines = []
    try:
        for n in [int(size) for size in args.boot_sizes.split(',') if size]:
            r = bench.boot(n)
            line = ('%d workloads: site.yml first run %.2fs; boot to the last port answering %.2fs (%.2fx the first run; '
                    'SSH up after %.2fs); re-run after the boot %.2fs, changed=%s; nft flush ruleset to our rules back: '
                    'median %d ms' % (n, r['site first'], r['boot'], r['boot'] / r['site first'], r['ssh up'],
                                      r['re-run after boot'], r['changed after boot'], r['firewall ms']))
            print(line, file=sys.stderr, flush=True)
            lines.append(line)
        for n in [int(size) for size in args.sizes.split(',') if size]:
            r = bench.teardown(n)
            line = ('%d workloads: teardown playbook %.2fs, CNI DEL %.2fs: %.2fx (target below 0.2x); left: %s netns, '
                    '%s units' % (n, r['teardown'], r['cni del'], r['teardown'] / r['cni del'], r['left'][0],
                                  r['left'][1]) + '\n  slowest teardown tasks: ' + r['slowest'])
            print(line, file=sys.stderr, flush=True)
            lines.append(line)
    finally:
        if not args.keep:
            bench.lab.down(log=lambda *_: None)
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
