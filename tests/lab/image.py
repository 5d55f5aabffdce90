# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab hosts' Debian image: built once with debootstrap, cached, rebuilt when its recipe changes."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

SUITE = 'bookworm'

#: What a lab host needs: a real systemd, SSH, Python for Ansible (python3-apt for the apt
#: module, which must not try to install it: lab hosts reach no package registry), pyroute2 as
#: Debian 12 ships it, the netfilter tools, and busybox for workload layers and test clients.
PACKAGES = (
    'systemd', 'systemd-sysv', 'dbus', 'udev', 'procps', 'kmod',
    'python3', 'python3-apt', 'python3-pyroute2',
    'iproute2', 'openssh-server', 'nftables', 'iptables',
    'busybox-static', 'curl', 'iputils-ping',
    # The CNI reference plugins, for the benchmarks that compare against them.
    'containernetworking-plugins',
    # The OCI runtime workloads run through.
    'crun',
    # Firewall services that wipe or reload rules (tests of durable hosts): Debian's nftables service is in nftables;
    # netfilter-persistent for iptables hosts; firewalld (its polkitd needs logind: libpam-systemd), installed disabled,
    # started by the tests that want it.
    'iptables-persistent', 'firewalld', 'libpam-systemd',
    # The image module pulls with skopeo (the lab registry, tests/lab/registry.py); umoci to check what it unpacks
    # against a reference unpacker; zstd for zstd layers.
    'skopeo', 'umoci', 'zstd',
    # A system trust store, as real hosts have: the lab CA is not in it (a test proves that the CA option is needed).
    'ca-certificates',
)

#: Bump when the steps after debootstrap change, so cached images are rebuilt.
RECIPE_REVISION = 4


def recipe() -> dict:
    return {'suite': SUITE, 'packages': sorted(PACKAGES), 'revision': RECIPE_REVISION}


def recipe_id() -> str:
    return hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:12]


def debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses (deb822 or one-line sources)."""
    if os.environ.get('ANATOMY_LAB_MIRROR'):
        return os.environ['ANATOMY_LAB_MIRROR']
    candidates = []
    sources_d = Path('/etc/apt/sources.list.d')
    for path in sorted(sources_d.glob('*.sources')) if sources_d.is_dir() else []:
        for stanza in path.read_text().split('\n\n'):
            fields = dict(re.findall(r'^([A-Za-z-]+):\s*(.*)$', stanza, re.M))
            suites = fields.get('Suites', '').split()
            if 'deb' in fields.get('Types', '').split() and SUITE in suites:
                candidates += fields.get('URIs', '').split()
    for path in [Path('/etc/apt/sources.list')] + sorted(sources_d.glob('*.list')):
        if path.is_file():
            for line in path.read_text().splitlines():
                match = re.match(r'^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)\s', line)
                if match and match.group(2) == SUITE:
                    candidates.append(match.group(1))
    for uri in candidates:
        if 'security' not in uri:
            return uri
    raise RuntimeError('no Debian %s mirror found in /etc/apt; set ANATOMY_LAB_MIRROR' % SUITE)


SECCOMP_PACKAGE = 'golang-github-docker-docker-dev'
SECCOMP_PROFILE = 'usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json'


def _take_seccomp_profile(rootfs: Path) -> None:
    scratch = rootfs.parent / 'seccomp-package'
    scratch.mkdir()
    try:
        subprocess.run(['apt-get', 'download', SECCOMP_PACKAGE], cwd=scratch, check=True, capture_output=True)
        deb = next(scratch.glob('*.deb'))
        subprocess.run(['dpkg-deb', '-x', str(deb), str(scratch / 'x')], check=True, capture_output=True)
        target = rootfs / SECCOMP_PROFILE
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(scratch / 'x' / SECCOMP_PROFILE, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class Image:
    """A cached root filesystem under CACHE/debian-SUITE-RECIPEID/rootfs."""

    def __init__(self, cache: Path):
        self.cache = cache
        self.dir = cache / ('debian-%s-%s' % (SUITE, recipe_id()))
        self.rootfs = self.dir / 'rootfs'
        self.complete = self.dir / 'complete.json'

    def ready(self) -> bool:
        return self.complete.is_file()

    def ensure(self, log=print) -> Path:
        """Build the image unless the cache has it. Safe when several labs start at once."""
        if self.ready():
            return self.rootfs
        self.cache.mkdir(parents=True, exist_ok=True)
        with open(self.cache / '.build.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.ready():
                self._build(log)
        return self.rootfs

    def _build(self, log) -> None:
        partial = self.dir.with_name(self.dir.name + '.partial')
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        rootfs = partial / 'rootfs'
        mirror = debian_mirror()
        log('lab: building the host image with debootstrap (%s, about a minute)' % SUITE)
        subprocess.run(
            ['debootstrap', '--variant=minbase', '--include=' + ','.join(PACKAGES), SUITE, str(rootfs), mirror],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        # A minbase image does not enable networkd; hosts configure host0 through it.
        subprocess.run(['systemctl', '--root', str(rootfs), 'enable', 'systemd-networkd.service'],
                       check=True, capture_output=True)
        # firewalld's default zone would refuse the published ports of every other test: a test starts it.
        subprocess.run(['systemctl', '--root', str(rootfs), 'disable', 'firewalld.service'], check=True,
                       capture_output=True)
        # Docker's default seccomp profile, as the container_host role takes it from Debian's package of Docker's
        # source (lab hosts reach no package registry, so it is taken here, from this machine's).
        _take_seccomp_profile(rootfs)
        # Every host boots with a fresh machine id.
        (rootfs / 'etc/machine-id').write_text('')
        subprocess.run(['chroot', str(rootfs), 'apt-get', 'clean'], check=True, capture_output=True)
        (partial / 'complete.json').write_text(json.dumps(recipe(), indent=2) + '\n')
        shutil.rmtree(self.dir, ignore_errors=True)
        partial.rename(self.dir)
        log('lab: image ready at %s' % self.rootfs)
        self._prune()

    def _prune(self) -> None:
        """Remove images of older recipes that no running host uses."""
        in_use = set()
        for entry in Path('/proc').iterdir():
            if entry.name.isdigit():
                try:
                    in_use.add((entry / 'cmdline').read_bytes().decode(errors='replace'))
                except OSError:
                    pass
        for old in self.cache.glob('debian-*'):
            if old != self.dir and not any(str(old) + '/' in cmdline for cmdline in in_use):
                shutil.rmtree(old, ignore_errors=True)
