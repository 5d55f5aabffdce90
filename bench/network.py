# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark (not a test): N workloads, each a namespace with a veth on one bridge, an address and a default route.

Three ways, in one run on one lab host, each starting from a clean host:

  modules   the four network modules through ansible-playbook, one task each (netns, bridge, veth, netns_addr);
            then the same playbook again (nothing to change), then removal (state=deleted)
  ip        a shell loop of `ip` commands on the host, one command per step; then a no-change check loop;
            then removal
  cni       the CNI bridge plugin with host-local IPAM (Debian's containernetworking-plugins), one ADD per
            workload after `ip netns add`; then CHECK for each (the plugin's no-change verification); then DEL

Wall times: ansible-playbook's whole process on the controller for the modules; the whole shell script on the
host for ip and cni (so SSH is not counted against them). Usage, from the repository root:

    python3 bench/network.py [--workloads 100] [--lab bench-net] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab import Lab  # noqa: E402
from tests.integration.ansible_runner import ansible_env  # noqa: E402

SUBNET = '10.%d.%d.%d'   # 10.{60 modules, 61 ip, 62 cni}.x.y /16
CNI_PLUGINS = ('bridge', 'host-local', 'loopback')


def workload_address(net: int, i: int) -> str:
    host = i + 2
    return SUBNET % (net, host // 256, host % 256)


def module_tasks(n: int) -> list:
    gateway = SUBNET % (60, 0, 1)
    return [
        {'name': 'netns', 'anatomy.containers.netns': {'config': [{'name': 'bm%d' % i} for i in range(n)]}},
        {'name': 'bridge', 'anatomy.containers.bridge': {'config': [{'name': 'bmbr0', 'addresses': [gateway + '/16']}]}},
        {'name': 'veth', 'anatomy.containers.veth': {'config': [
            {'name': 'bmv%d' % i, 'peer': 'eth0', 'netns': 'bm%d' % i, 'bridge': 'bmbr0'} for i in range(n)]}},
        {'name': 'netns_addr', 'anatomy.containers.netns_addr': {'config': [
            {'netns': 'bm%d' % i, 'interface': 'eth0', 'addresses': [workload_address(60, i) + '/16'],
             'gateway': gateway} for i in range(n)]}},
    ]


REMOVE_TASKS = [{'name': name, 'anatomy.containers.' + name: {'state': 'deleted'}}
                for name in ('netns_addr', 'veth', 'bridge', 'netns')]


def ip_script(n: int) -> str:
    gateway = SUBNET % (61, 0, 1)
    lines = ['set -e', 'ip link add ipbr0 type bridge', 'ip addr add %s/16 dev ipbr0' % gateway, 'ip link set ipbr0 up']
    for i in range(n):
        ns, veth = 'bi%d' % i, 'biv%d' % i
        lines += [
            'ip netns add %s' % ns,
            'ip -n %s link set lo up' % ns,
            'ip link add %s type veth peer name eth0 netns %s' % (veth, ns),
            'ip link set %s master ipbr0 up' % veth,
            'ip -n %s addr add %s/16 dev eth0' % (ns, workload_address(61, i)),
            'ip -n %s link set eth0 up' % ns,
            'ip -n %s route add default via %s' % (ns, gateway),
        ]
    return '\n'.join(lines) + '\n'


def ip_check_script(n: int) -> str:
    """What a shell script does to find that nothing needs changing: look at each thing it would make."""
    lines = ['set -e', 'ip link show ipbr0 >/dev/null', 'ip addr show dev ipbr0 | grep -q "inet %s/16"' % (SUBNET % (61, 0, 1))]
    for i in range(n):
        ns = 'bi%d' % i
        lines += [
            '[ -e /run/netns/%s ]' % ns,
            'ip link show biv%d | grep -q "master ipbr0"' % i,
            'ip -n %s addr show dev eth0 | grep -q "inet %s/16"' % (ns, workload_address(61, i)),
            'ip -n %s route show default | grep -q "via"' % ns,
        ]
    return '\n'.join(lines) + '\n'


def ip_remove_script(n: int) -> str:
    return '\n'.join(['ip netns del bi%d' % i for i in range(n)] + ['ip link del ipbr0']) + '\n'


CNI_CONF = {
    'cniVersion': '1.0.0', 'name': 'bench', 'type': 'bridge', 'bridge': 'cnibr0', 'isGateway': True,
    'ipMasq': False, 'hairpinMode': False,
    'ipam': {'type': 'host-local', 'subnet': '10.62.0.0/16', 'dataDir': '/run/anatomy-bench/ipam',
             'routes': [{'dst': '0.0.0.0/0'}]},
}


def cni_env(command: str, i: int) -> str:
    return ('CNI_COMMAND=%s CNI_CONTAINERID=bench%d CNI_NETNS=/run/netns/bc%d CNI_IFNAME=eth0 '
            'CNI_PATH=/usr/lib/cni' % (command, i, i))


def cni_add_script(n: int) -> str:
    lines = ['set -e', 'mkdir -p /run/anatomy-bench/results']
    for i in range(n):
        lines += ['ip netns add bc%d' % i,
                  '%s /usr/lib/cni/bridge < /run/anatomy-bench/conf.json > /run/anatomy-bench/results/%d.json'
                  % (cni_env('ADD', i), i)]
    return '\n'.join(lines) + '\n'


def cni_check_script(n: int) -> str:
    """CHECK needs the ADD result as prevResult in the configuration: built before timing starts."""
    lines = ['set -e']
    for i in range(n):
        lines.append('%s /usr/lib/cni/bridge < /run/anatomy-bench/check/%d.json' % (cni_env('CHECK', i), i))
    return '\n'.join(lines) + '\n'


def cni_del_script(n: int) -> str:
    lines = []
    for i in range(n):
        lines += ['%s /usr/lib/cni/bridge < /run/anatomy-bench/conf.json' % cni_env('DEL', i), 'ip netns del bc%d' % i]
    return '\n'.join(lines + ['ip link del cnibr0 2>/dev/null; true']) + '\n'


class Bench:
    def __init__(self, lab: Lab, n: int):
        self.lab = lab
        self.n = n
        self.host = lab.hosts[0]
        self.results = {}

    # -- helpers ------------------------------------------------------------------
    def on_host(self, script: str, name: str) -> float:
        """Run a shell script on the host; return its wall time measured there."""
        path = '/run/anatomy-bench/%s.sh' % name
        self.put(path, script)
        out = self.host.run('s=$(date +%%s%%N); bash %s >/run/anatomy-bench/%s.log 2>&1; rc=$?; e=$(date +%%s%%N); '
                            'echo $rc $(( (e - s) / 1000 ))' % (path, name), check=True, timeout=1200).stdout.split()
        if out[0] != '0':
            log = self.host.run('tail -5 /run/anatomy-bench/%s.log' % name, check=False).stdout
            raise RuntimeError('%s failed on the host (%s):\n%s' % (name, out[0], log))
        return int(out[1]) / 1e6

    def put(self, path: str, content: str) -> None:
        subprocess.run(self.host.ssh_argv('mkdir -p %s && cat > %s' % (os.path.dirname(path), path)),
                       input=content, text=True, check=True, capture_output=True)

    def playbook(self, tasks: list) -> float:
        play = [{'name': 'bench', 'hosts': self.host.name, 'gather_facts': False, 'tasks': tasks}]
        with tempfile.TemporaryDirectory(prefix='anatomy-bench-') as tmp:
            path = Path(tmp) / 'play.yml'
            path.write_text(json.dumps(play))
            argv = [str(Path(sys.executable).with_name('ansible-playbook')), '-i', str(self.lab.inventory), str(path)]
            env = ansible_env()
            env.pop('ANSIBLE_CALLBACKS_ENABLED', None)
            start = time.monotonic()
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800, check=False)
            elapsed = time.monotonic() - start
        if proc.returncode != 0:
            raise RuntimeError('ansible-playbook failed:\n%s\n%s' % (proc.stdout[-3000:], proc.stderr[-3000:]))
        return elapsed

    def ensure_cni(self) -> None:
        """The lab image may lack containernetworking-plugins: bring this machine's binaries over."""
        missing = [p for p in CNI_PLUGINS if self.host.run('test -x /usr/lib/cni/%s' % p, check=False).returncode]
        for plugin in missing:
            local = Path('/usr/lib/cni') / plugin
            if not local.exists():
                raise RuntimeError('no /usr/lib/cni/%s here or on the host: apt-get install containernetworking-plugins'
                                   % plugin)
            with open(local, 'rb') as binary:
                subprocess.run(self.host.ssh_argv('mkdir -p /usr/lib/cni && cat > /usr/lib/cni/%s && chmod 755 '
                                                  '/usr/lib/cni/%s' % (plugin, plugin)), stdin=binary, check=True,
                               capture_output=True)

    def count(self) -> dict:
        """What is on the host now, to check each way made the same thing."""
        netns = len(self.host.run('ls /run/netns', check=False).stdout.split())
        links = self.host.json('ip -j -d link show')
        bridges = [link['ifname'] for link in links if link.get('linkinfo', {}).get('info_kind') == 'bridge']
        # host0, the lab host's own link, is a veth too.
        veths = int(self.host.run('ip -o link show type veth | wc -l').stdout.strip()) - 1
        return {'netns': netns, 'veth': veths, 'bridges': len(bridges)}

    def ping_two(self, ns_a: str, ns_b: str, address_b: str) -> bool:
        return self.host.run('ip netns exec %s ping -c1 -W2 %s' % (ns_a, address_b), check=False).returncode == 0

    # -- the three ways -------------------------------------------------------------
    def modules(self) -> None:
        # Ansible's own cost: the same four modules with nothing to read or change (the best of three: the first
        # also opens the SSH master connection).
        gathered = [{'name': name, 'anatomy.containers.' + name: {'state': 'gathered'}}
                    for name in ('netns', 'bridge', 'veth', 'netns_addr')]
        self.results['modules fixed'] = min(self.playbook(gathered) for _attempt in range(3))
        tasks = module_tasks(self.n)
        self.results['modules'] = self.playbook(tasks)
        made = self.count()
        assert self.ping_two('bm0', 'bm%d' % (self.n - 1), workload_address(60, self.n - 1)), 'modules: no traffic'
        self.results['modules no-change'] = self.playbook(tasks)
        self.results['modules removal'] = self.playbook(REMOVE_TASKS)
        self.results['modules made'] = made

    def shell(self) -> None:
        self.results['ip'] = self.on_host(ip_script(self.n), 'ip')
        made = self.count()
        assert self.ping_two('bi0', 'bi%d' % (self.n - 1), workload_address(61, self.n - 1)), 'ip: no traffic'
        self.results['ip no-change'] = self.on_host(ip_check_script(self.n), 'ip-check')
        self.results['ip removal'] = self.on_host(ip_remove_script(self.n), 'ip-remove')
        self.results['ip made'] = made

    def cni(self) -> None:
        self.ensure_cni()
        self.put('/run/anatomy-bench/conf.json', json.dumps(CNI_CONF))
        self.results['cni'] = self.on_host(cni_add_script(self.n), 'cni')
        made = self.count()
        last = self.host.json('cat /run/anatomy-bench/results/%d.json' % (self.n - 1))
        address = last['ips'][0]['address'].split('/')[0]
        assert self.ping_two('bc0', 'bc%d' % (self.n - 1), address), 'cni: no traffic'
        # CHECK configurations: the ADD result as prevResult.
        build = ('mkdir -p /run/anatomy-bench/check; for i in $(seq 0 %d); do python3 -c "import json,sys; '
                 'c=json.load(open(\'/run/anatomy-bench/conf.json\')); '
                 'c[\'prevResult\']=json.load(open(\'/run/anatomy-bench/results/%%s.json\' %% sys.argv[1])); '
                 'print(json.dumps(c))" $i > /run/anatomy-bench/check/$i.json; done' % (self.n - 1))
        self.host.run(build)
        try:
            self.results['cni no-change'] = self.on_host(cni_check_script(self.n), 'cni-check')
        except RuntimeError as exc:
            self.results['cni no-change'] = 'CHECK failed: %s' % str(exc).splitlines()[-1]
        self.results['cni removal'] = self.on_host(cni_del_script(self.n), 'cni-del')
        self.results['cni made'] = made

    def report(self) -> str:
        r = self.results
        lines = ['%d workloads (netns + veth on one bridge + address + default route), one lab host' % self.n, '']
        lines.append('%-20s %10s %14s %10s' % ('', 'first run', 'no-change run', 'removal'))
        for way in ('modules', 'ip', 'cni'):
            def fmt(value):
                return '%9.2fs' % value if isinstance(value, float) else str(value)
            lines.append('%-20s %10s %14s %10s' % (way, fmt(r[way]), fmt(r[way + ' no-change']), fmt(r[way + ' removal'])))
        lines.append('')
        for other in ('ip', 'cni'):
            lines.append('modules / %-4s first run %.2fx' % (other, r['modules'] / r[other]))
            if isinstance(r[other + ' no-change'], float):
                lines.append('modules / %-4s no-change %.2fx' % (other, r['modules no-change'] / r[other + ' no-change']))
        fixed = r['modules fixed']
        per_first = (r['modules'] - fixed) * 1000 / self.n
        per_again = (r['modules no-change'] - fixed) * 1000 / self.n
        lines.append('modules: Ansible\'s fixed cost (4 tasks, nothing to do) %.2fs; above it, per workload: '
                     'first run %.1f ms, no-change %.1f ms' % (fixed, per_first, per_again))
        lines.append('')
        for way in ('modules', 'ip', 'cni'):
            lines.append('%-8s made %s' % (way, r[way + ' made']))
        lines.append('(modules: whole ansible-playbook processes on the controller, 4 tasks, SSH included;'
                     ' ip and cni: whole scripts on the host)')
        return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--workloads', type=int, default=100)
    parser.add_argument('--lab', default=os.environ.get('ANATOMY_BENCH_LAB', 'bench-net'))
    parser.add_argument('--keep', action='store_true', help='reuse a lab that is up, and leave it up')
    args = parser.parse_args(argv)
    lab = Lab(args.lab)
    if not (args.keep and lab.status()['hosts'] and all(h['running'] for h in lab.status()['hosts'])):
        lab.up(1)
    try:
        bench = Bench(lab, args.workloads)
        bench.host.run('rm -rf /run/anatomy-bench; mkdir -p /run/anatomy-bench')
        bench.modules()
        bench.shell()
        bench.cni()
        print(bench.report())
    finally:
        if not args.keep:
            lab.down()
    return 0


if __name__ == '__main__':
    sys.exit(main())
