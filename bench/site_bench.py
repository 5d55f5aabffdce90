# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml with N workloads on one lab host, against the CNI bridge + portmap plugins doing their networking.

For each N (default 1, 10, 100, 1000), each workload: a network namespace on one bridge network (10.88.0.0/16, NAT
masquerade), one published port (20000+i -> 8080), a root filesystem of two layers (a busybox base layer and a small
files layer, both shared by every workload, as one image is), a volume, and the busybox httpd as its command.

  ours first    ansible-playbook site.yml, the whole process on the controller, on a fresh lab host
  ours re-run   the same again (nothing to change; checked: changed=0 in the recap), once the host settled (its
                systemd jobs done, then SETTLE seconds); 're-run at once' is the same run right after the first
  cni           on another fresh lab host, one shell script run there: per workload `ip netns add`, the bridge plugin
                (host-local IPAM, isGateway, ipMasq) ADD, then the portmap plugin ADD chained on its result
                (prevResult), the way a runtime calls a plugin list. Timed on the host, so SSH is not counted
                against it. CNI does networking only: no rootfs, volume, unit or process.

The plugins are this machine's /usr/lib/cni binaries (Debian's containernetworking-plugins), copied to the lab host
(/opt/anatomy-bench/cni) and run there only; host-local keeps its state under /var/lib/anatomy/cni-ipam.
Usage, from the repository root (the collection installed with `make collection`):

    python3 bench/site_bench.py [--sizes 1,10,100,1000] [--lab bench-site] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab import Lab  # noqa: E402
from tests.integration.ansible_runner import ansible_env  # noqa: E402

BASE_PORT = 20000
SUBNET = '10.88.0.0/16'
# Seconds a host rests, its systemd jobs done, between the first run and the re-run.
SETTLE = 10
CNI_PLUGINS = ('bridge', 'host-local', 'portmap')
CNI_DIR = '/opt/anatomy-bench/cni'
WORK = '/run/anatomy-bench'
HTTPD = [
    '/bin/sh', '-c', 'date >> /data/starts; exec /bin/busybox httpd -f -p 8080 -h /www']


def site_vars(n: int) -> dict:
    """The data model for N workloads, as inventories/demo has it for two."""
    return {
        'container_host_networks': [{'name': 'ctbr0', 'subnet': SUBNET}],
        'workload_layers': [
            {'name': 'busybox', 'busybox': True},
            {'name': 'site-content', 'files': [
                {'path': 'www/index.html', 'content': 'hello from a workload of the site benchmark\n'}]},
        ],
        'workload_list': [{
            'name': 'w%03d' % i,
            'network': 'ctbr0',
            'layers': ['site-content', 'busybox'],
            'published_ports': ['%d:8080' % (BASE_PORT + i)],
            'volumes': [{'name': 'w%03d-data' % i, 'target': '/data'}],
            'command': HTTPD,
        } for i in range(n)],
    }


BRIDGE_CONF = {
    'cniVersion': '1.0.0', 'name': 'bench', 'type': 'bridge', 'bridge': 'cnibr0', 'isGateway': True,
    'ipMasq': True, 'hairpinMode': False,
    'ipam': {'type': 'host-local', 'subnet': SUBNET, 'dataDir': '/var/lib/anatomy/cni-ipam',
             'routes': [{'dst': '0.0.0.0/0'}]},
}


def portmap_prefix(port: int) -> str:
    """The portmap configuration up to its prevResult, which the script appends (the bridge's result) and closes."""
    conf = {'cniVersion': '1.0.0', 'name': 'bench', 'type': 'portmap', 'capabilities': {'portMappings': True},
            'runtimeConfig': {'portMappings': [{'hostPort': port, 'containerPort': 8080, 'protocol': 'tcp'}]}}
    return json.dumps(conf)[:-1] + ', "prevResult": '


def cni_script(n: int) -> str:
    env = 'CNI_PATH=%s CNI_IFNAME=eth0 CNI_COMMAND=ADD' % CNI_DIR
    lines = ['set -e', 'mkdir -p %s/results' % WORK]
    for i in range(n):
        ns, res = 'cw%03d' % i, '%s/results/%d.json' % (WORK, i)
        lines += [
            'ip netns add %s' % ns,
            '%s CNI_CONTAINERID=%s CNI_NETNS=/run/netns/%s %s/bridge < %s/bridge.json > %s'
            % (env, ns, ns, CNI_DIR, WORK, res),
            "{ printf '%%s' '%s'; cat %s; printf '}'; } | %s CNI_CONTAINERID=%s CNI_NETNS=/run/netns/%s %s/portmap "
            '> /dev/null' % (portmap_prefix(BASE_PORT + i), res, env, ns, ns, CNI_DIR),
        ]
    return '\n'.join(lines) + '\n'


class SiteBench:
    def __init__(self, lab_name: str, keep: bool):
        self.lab = Lab(lab_name)
        self.keep = keep
        self.rows = []
        self.slow_tasks = {}

    def fresh_host(self):
        self.lab.up(1, log=lambda *_: None)
        return self.lab.hosts[0]

    # -- ours --------------------------------------------------------------------------------------------------
    def playbook(self, vars_file: Path, label: str, playbook: str = 'site.yml'):
        """Run PLAYBOOK (of playbooks/); return (wall seconds, recap dict, [(task, seconds)]) timing each task from the
        stream."""
        argv = [str(Path(sys.executable).with_name('ansible-playbook')), '-i', str(self.lab.inventory),
                '-e', '@%s' % vars_file, str(REPO / 'playbooks' / playbook)]
        env = ansible_env({'ANSIBLE_COLLECTIONS_PATH': os.environ.get('ANATOMY_COLLECTIONS_PATH',
                                                                      str(REPO / '.build' / 'install'))})
        env.pop('ANSIBLE_CALLBACKS_ENABLED', None)
        tasks, current, output = [], None, []
        start = time.monotonic()
        with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            for line in proc.stdout:
                now = time.monotonic()
                output.append(line)
                if line.startswith(('TASK [', 'PLAY RECAP', 'RUNNING HANDLER [')):
                    if current:
                        tasks.append((current[0], now - current[1]))
                    current = (line.split('[', 1)[1].rsplit(']', 1)[0], now) if line.startswith(('TASK', 'RUN')) \
                        else None
            proc.wait()
        elapsed = time.monotonic() - start
        text = ''.join(output)
        if proc.returncode != 0:
            raise RuntimeError('%s: ansible-playbook failed (%d):\n%s' % (label, proc.returncode, text[-4000:]))
        recap = dict((k, int(v)) for k, v in re.findall(r'(ok|changed|failed|unreachable)=(\d+)', text.rsplit('PLAY RECAP', maxsplit=1)[-1]))
        return elapsed, recap, tasks

    def ours(self, n: int) -> dict:
        host = self.fresh_host()
        with tempfile.TemporaryDirectory(prefix='anatomy-site-bench-') as tmp:
            vars_file = Path(tmp) / 'vars.json'
            vars_file.write_text(json.dumps(site_vars(n)))
            first, recap1, tasks1 = self.playbook(vars_file, 'first run')
            # Right after a first run the host is still starting its workloads (each service's mount namespace
            # copies the host's mounts after systemctl has returned); that run is reported as 're-run at once'.
            # The re-run of a host at rest, as a periodic run meets it, comes after the host settled.
            at_once, _recap, _tasks = self.playbook(vars_file, 're-run at once')
            host.run('while systemctl list-jobs --no-legend | grep -q .; do sleep 0.5; done; sleep %d' % SETTLE)
            again, recap2, tasks2 = self.playbook(vars_file, 're-run')
        # It works: the last workload answers on its published port from outside the host.
        last = BASE_PORT + n - 1
        reply = self.lab.in_lab(['curl', '-s', '-m', '5', 'http://%s:%d/' % (host.address, last)], check=False)
        self.slow_tasks[n] = (tasks1, tasks2)
        return {'first': first, 'again': again, 'at once': at_once, 'changed first': recap1.get('changed'),
                'changed again': recap2.get('changed'), 'served': 'hello' in (reply.stdout or ''),
                'units': int(host.run('systemctl list-units --no-legend "anatomy-workload-*" | grep -c running; true')
                             .stdout.strip() or 0)}

    # -- CNI ---------------------------------------------------------------------------------------------------
    def put(self, host, path: str, data: bytes, mode: str = '644') -> None:
        command = 'mkdir -p %s && cat > %s && chmod %s %s' % (os.path.dirname(path), path, mode, path)
        subprocess.run(host.ssh_argv(command), input=data, check=True, capture_output=True)

    def cni(self, n: int) -> dict:
        host = self.fresh_host()
        for plugin in CNI_PLUGINS:
            self.put(host, '%s/%s' % (CNI_DIR, plugin), (Path('/usr/lib/cni') / plugin).read_bytes(), '755')
        self.put(host, '%s/bridge.json' % WORK, json.dumps(BRIDGE_CONF).encode())
        self.put(host, '%s/cni.sh' % WORK, cni_script(n).encode())
        out = host.run('mkdir -p /var/lib/anatomy; s=$(date +%%s%%N); bash %s/cni.sh > %s/cni.log 2>&1; rc=$?; '
                       'e=$(date +%%s%%N); echo $rc $(( (e - s) / 1000 ))' % (WORK, WORK), timeout=1800).stdout.split()
        if out[0] != '0':
            log = host.run('tail -5 %s/cni.log' % WORK, check=False).stdout
            raise RuntimeError('CNI script failed (%s):\n%s' % (out[0], log))
        netns = len(host.run('ls /run/netns').stdout.split())
        dnat = int(host.run('iptables-save -t nat | grep -c -- "--to-destination" ; true').stdout.strip() or 0)
        return {'cni': int(out[1]) / 1e6, 'cni netns': netns, 'cni dnat': dnat}

    # -- the report --------------------------------------------------------------------------------------------
    def run(self, sizes) -> None:
        try:
            for n in sizes:
                row = {'n': n}
                row.update(self.cni(n))
                row.update(self.ours(n))
                self.rows.append(row)
                print(self.line(row), file=sys.stderr, flush=True)
        finally:
            if not self.keep:
                self.lab.down(log=lambda *_: None)

    HEADER = '%9s %11s %11s %15s %10s %13s %13s   %s' % (
        'workloads', 'ours first', 'ours re-run', 're-run at once', 'CNI net', 'first / CNI', 're-run / CNI', 'checks')

    @staticmethod
    def line(r: dict) -> str:
        checks = 'changed %s then %s, %d units running, port %s, CNI made %d netns %d DNAT' % (
            r['changed first'], r['changed again'], r['units'], 'serves' if r['served'] else 'NO REPLY',
            r['cni netns'], r['cni dnat'])
        return '%9d %10.2fs %10.2fs %14.2fs %9.2fs %12.1fx %12.2fx   %s' % (
            r['n'], r['first'], r['again'], r['at once'], r['cni'], r['first'] / r['cni'], r['again'] / r['cni'], checks)

    def report(self) -> str:
        lines = ['', SiteBench.HEADER] + [self.line(r) for r in self.rows]
        big = self.rows[-1]
        # Issue 10: a no-change re-run below 0.3x CNI's first run at 100 workloads and below 0.1x at 1,000; first
        # runs no slower than before (within 2x of CNI's networking alone, issue 6).
        for row in self.rows:
            limit = {100: 0.3, 1000: 0.1}.get(row['n'])
            if limit is None:
                continue
            lines.append('target at %d workloads: re-run below %.1fx CNI first run: %s (%.2fx: %.2fs vs %.2fs); '
                         'first run within 2x CNI: %s (%.1fx)' % (
                             row['n'], limit, 'MET' if row['again'] < limit * row['cni'] else 'NOT MET',
                             row['again'] / row['cni'], row['again'], row['cni'],
                             'MET' if row['first'] <= 2 * row['cni'] else 'NOT MET', row['first'] / row['cni']))
        for n, (first, again) in self.slow_tasks.items():
            if n != big['n']:
                continue
            for label, tasks in (('first run', first), ('re-run', again)):
                top = sorted(tasks, key=lambda t: -t[1])[:8]
                lines.append('slowest tasks at %d workloads, %s: %s' % (n, label, '; '.join(
                    '%s %.1fs' % (name, secs) for name, secs in top)))
        lines.append('(ours: whole ansible-playbook processes on the controller, SSH included, fresh lab host; '
                     'CNI: one script timed on another fresh lab host: ip netns add + bridge/host-local ADD + '
                     'portmap ADD per workload)')
        return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--sizes', default='1,10,100,1000')
    parser.add_argument('--lab', default=os.environ.get('ANATOMY_BENCH_LAB', 'bench-site'))
    parser.add_argument('--keep', action='store_true', help='leave the last lab up')
    args = parser.parse_args(argv)
    bench = SiteBench(args.lab, args.keep)
    print(SiteBench.HEADER, file=sys.stderr, flush=True)
    bench.run([int(s) for s in args.sizes.split(',')])
    print(bench.report())
    return 0


if __name__ == '__main__':
    sys.exit(main())
