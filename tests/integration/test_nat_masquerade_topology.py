# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workloads on a lab host for the netfilter tests, made with plain `ip` commands (no module of ours).

Shared by test_nat_masquerade.py and test_port_forward.py; holds no tests itself.

    host h1 (198.18.0.11 on host0, default route via the lab router)
      nfbr0 10.88.0.1/24: nfw1 10.88.0.2, nfw2 10.88.0.3   (network A)
      nfbr1 10.89.0.1/24: nfw3 10.89.0.2                   (network B)
    each workload runs the lab's whoami server on :8080 (answers with the client address it sees).
"""

from __future__ import annotations

import shlex
from pathlib import Path

NET_A, NET_B = '10.88.0.0/24', '10.89.0.0/24'
W1, W2, W3 = '10.88.0.2', '10.88.0.3', '10.89.0.2'
UPSTREAM = '203.0.113.10'
WHOAMI = Path(__file__).resolve().parents[1] / 'lab' / 'whoami.py'
WORKLOADS = (('nfw1', 'nfbr0', W1, '10.88.0.1'), ('nfw2', 'nfbr0', W2, '10.88.0.1'),
             ('nfw3', 'nfbr1', W3, '10.89.0.1'))
# Backends the suites run with: the module's backend option, and how the host is switched first.
BACKENDS = ('nftables', 'iptables', 'iptables-legacy')


def setup_script() -> str:
    lines = ['set -e',
             'echo 1 > /proc/sys/net/ipv4/ip_forward']
    for bridge, addr in (('nfbr0', '10.88.0.1/24'), ('nfbr1', '10.89.0.1/24')):
        lines += ['ip link add %s type bridge' % bridge, 'ip addr add %s dev %s' % (addr, bridge),
                  'ip link set %s up' % bridge]
    for ns, bridge, addr, gw in WORKLOADS:
        lines += ['ip netns add %s' % ns,
                  'ip link add v%s type veth peer name eth0 netns %s' % (ns, ns),
                  'ip link set v%s master %s up' % (ns, bridge),
                  'ip -n %s addr add %s/24 dev eth0' % (ns, addr),
                  'ip -n %s link set eth0 up' % ns, 'ip -n %s link set lo up' % ns,
                  'ip -n %s route add default via %s' % (ns, gw),
                  'systemd-run --quiet --unit nf-web-%s -p NetworkNamespacePath=/run/netns/%s '
                  'python3 /root/whoami.py 0.0.0.0 8080' % (ns, ns)]
    # Wait for the servers.
    for ns, _bridge, addr, _gw in WORKLOADS:
        lines.append('for i in $(seq 50); do ip netns exec %s curl -s -m1 http://%s:8080/ >/dev/null && break; '
                     'sleep 0.1; done' % (ns, addr))
    return '\n'.join(lines)


def teardown_script() -> str:
    lines = []
    for ns, _bridge, _addr, _gw in WORKLOADS:
        lines += ['systemctl stop nf-web-%s 2>/dev/null' % ns, 'ip netns del %s 2>/dev/null' % ns]
    lines += ['ip link del nfbr0 2>/dev/null', 'ip link del nfbr1 2>/dev/null', 'true']
    return '\n'.join(lines)


def clean_netfilter_script() -> str:
    """Remove anything of ours and the tests' hand-made rules from every backend; back to iptables-nft."""
    return '\n'.join([
        'nft delete table ip anatomy 2>/dev/null', 'nft delete table ip handmade 2>/dev/null',
        'update-alternatives --quiet --set iptables /usr/sbin/iptables-nft',
        'for v in nft legacy; do for t in nat filter; do '
        'iptables-$v -t $t -F 2>/dev/null; iptables-$v -t $t -X 2>/dev/null; done; '
        'iptables-$v -P FORWARD ACCEPT 2>/dev/null; done',
        'true'])


class Topology:
    def __init__(self, lab, host):
        self.lab, self.host = lab, host

    def up(self):
        self.host.run('cat > /root/whoami.py', input=WHOAMI.read_text())
        self.host.run(teardown_script(), check=False)
        self.host.run(clean_netfilter_script(), check=False)
        self.host.run(setup_script())

    def down(self):
        self.host.run(clean_netfilter_script(), check=False)
        self.host.run(teardown_script(), check=False)

    def use_backend(self, backend: str) -> str:
        """Switch the host for this backend; return the module's backend option."""
        self.host.run(clean_netfilter_script(), check=False)
        if backend == 'iptables-legacy':
            self.host.run('update-alternatives --quiet --set iptables /usr/sbin/iptables-legacy')
            return 'iptables'
        return backend

    # -- traffic ------------------------------------------------------------------------------
    def curl_from(self, ns: str | None, url: str, timeout: float = 3):
        """curl in a workload namespace (or on the host itself for ns=None); the body, or None on failure."""
        cmd = 'curl -sS -m%s %s' % (timeout, shlex.quote(url))
        if ns:
            cmd = 'ip netns exec %s %s' % (ns, cmd)
        result = self.host.run(cmd, check=False, timeout=timeout + 30)
        return result.stdout.strip() if result.returncode == 0 else None

    def curl_from_lab(self, url: str, timeout: float = 3):
        result = self.lab.in_lab(['curl', '-sS', '-m%s' % timeout, url], check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def ours(self) -> dict:
        """What of ours is loaded: nft table present, iptables chains (either variant)."""
        tables = self.host.run('nft list tables', check=False).stdout
        chains = self.host.run('for v in nft legacy; do iptables-$v-save 2>/dev/null; done | grep -c ANATOMY || true',
                               check=False).stdout.strip()
        return {'nft_table': 'table ip anatomy' in tables, 'iptables_lines': int(chains or 0)}
