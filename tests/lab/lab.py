# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A lab of real Debian hosts, booted with systemd-nspawn inside a network namespace of their own.

Layout of a lab called NAME (every kernel object lives in the lab's own namespaces, never in the
namespace of the machine that runs it):

    namespace alab-NAME        the lab network: bridge labbr0 198.18.0.1/24, the hosts' router
      host hI (nspawn)         198.18.0.(10+I)/24 on host0, default route via 198.18.0.1
      up0 203.0.113.1/24  ---  namespace alab-NAME-up: eth0 203.0.113.10/24, the upstream server
      registry.lab             198.18.0.1:5000 (and :5001 with basic auth): an OCI registry over TLS from a lab CA

The upstream namespace has no route to the lab hosts' private subnets, so a workload reaches it
only when its host masquerades. State (the hosts' overlay upper dirs and their state directories,
bind-mounted at /var/lib/anatomy) lives on the real disk under ROOT/labs/NAME.

The registry (see registry.py: ``lab.registry``) runs on this machine inside the lab namespace; every host
resolves registry.lab to it and has the lab CA at /etc/anatomy-lab/ca.crt, outside its system trust store.
Test images go into it with ``lab.registry.push_test_images()`` (once per lab; see oci_images.py).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .image import Image
from .registry import Registry

ROOT = Path(os.environ.get('ANATOMY_LAB_ROOT', '/var/lib/anatomy-lab'))

LAB_BRIDGE = 'labbr0'
LAB_PREFIX = '198.18.0.'
ROUTER = LAB_PREFIX + '1'
UPSTREAM_ROUTER = '203.0.113.1'
UPSTREAM_SERVER = '203.0.113.10'
HOST_STATE_DIR = '/var/lib/anatomy'
SSH_OPTIONS = ('-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
               '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=5',
               # A master connection to a host that is gone gives up in seconds instead of hanging.
               '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=3')
WHOAMI = Path(__file__).with_name('whoami.py')


def _run(argv, check=True, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault('capture_output', True)
    kwargs.setdefault('text', True)
    result = subprocess.run(argv, check=False, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (shlex.join(argv), result.returncode,
                                                   (result.stderr or result.stdout or '').strip()))
    return result


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours is dead for our purposes.
    try:
        with open('/proc/%d/stat' % pid) as stat:
            return stat.read().split(') ', 1)[1][0] != 'Z'
    except OSError:
        return False


def _stop(pid: int, timeout: float) -> None:
    """SIGTERM (an nspawn host halts cleanly on it), then SIGKILL after timeout."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not _alive(pid):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)


class LabHost:
    """One booted host of a lab."""

    def __init__(self, lab: 'Lab', name: str, index: int):
        self.lab = lab
        self.name = name
        self.index = index
        self.address = LAB_PREFIX + str(10 + index)
        self.dir = lab.dir / 'hosts' / name
        self.upper = self.dir / 'upper'
        self.state = self.dir / 'state'
        self.pidfile = self.dir / 'pid'
        self.log = self.dir / 'console.log'

    def __repr__(self):
        return 'LabHost(%s, %s)' % (self.name, self.address)

    def ssh_argv(self, command: str) -> list:
        return self.lab.netns_argv(['ssh', '-i', str(self.lab.key), *SSH_OPTIONS, 'root@' + self.address, command])

    def run(self, command: str, check: bool = True, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
        """Run a shell command on the host as root, over SSH from the lab namespace."""
        result = subprocess.run(self.ssh_argv(command), capture_output=True, text=True, timeout=timeout, check=False,
                                **kwargs)
        if check and result.returncode != 0:
            raise AssertionError('on %s: %s exited %d\nstdout: %s\nstderr: %s' % (
                self.name, command, result.returncode, result.stdout, result.stderr))
        return result

    def json(self, command: str):
        return json.loads(self.run(command).stdout or 'null')

    def pid(self):
        try:
            return int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None

    def _prepare(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        for path in (self.upper / 'etc/systemd/network', self.upper / 'root/.ssh', self.state):
            path.mkdir(parents=True)
        # Sorts before the image's 80-container-host0.network, which would take a link-local address.
        (self.upper / 'etc/systemd/network/10-host0.network').write_text(
            '[Match]\nName=host0\n\n[Network]\nAddress=%s/24\nGateway=%s\nLinkLocalAddressing=no\n'
            'IPv6AcceptRA=no\n' % (self.address, ROUTER))
        (self.upper / 'root/.ssh').chmod(0o700)
        # The lab registry by name, and its CA where a module is told to look (not in the system trust store).
        hosts = self.upper / 'etc/hosts'
        hosts.write_text((self.lab.image.rootfs / 'etc/hosts').read_text() + self.lab.registry.hosts_line())
        hosts.chmod(0o644)
        ca = self.upper / self.lab.registry.host_ca.lstrip('/')
        ca.parent.mkdir(parents=True)
        shutil.copyfile(self.lab.registry.ca_cert, ca)
        ca.chmod(0o644)
        authorized = self.upper / 'root/.ssh/authorized_keys'
        authorized.write_text(self.lab.key.with_suffix('.pub').read_text())
        authorized.chmod(0o600)

    def boot(self, rootfs: Path, fresh: bool = True) -> None:
        """Boot the host: ``fresh`` from the image alone, else on the disk state of its last boot (a reboot)."""
        if fresh:
            self._prepare()
        argv = self.lab.netns_argv([
            'systemd-nspawn', '--quiet', '--register=no', '--keep-unit', '--boot', '--console=passive',
            '--directory', str(rootfs), '--overlay=%s:%s:/' % (rootfs, self.upper),
            '--bind=%s:%s' % (self.state, HOST_STATE_DIR),
            '--network-bridge=' + LAB_BRIDGE, '--machine', self.name, '--hostname', self.name,
        ])
        with open(self.log, 'w') as log:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.pidfile.write_text(str(process.pid))

    def init_pid(self):
        """The host's PID 1 as this machine sees it: nspawn's child. Killed, it takes the host's whole PID
        namespace with it; nspawn alone killed would leave the host running, orphaned."""
        pid = self.pid()
        if pid is None:
            return None
        for entry in os.scandir('/proc'):
            if not entry.name.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % entry.name) as stat:
                    if int(stat.read().rsplit(') ', 1)[1].split()[1]) == pid:
                        return int(entry.name)
            except (OSError, ValueError, IndexError):
                continue
        return None

    def boot_id(self) -> str:
        return self.run('cat /proc/sys/kernel/random/boot_id', timeout=30).stdout.strip()

    def reboot(self, power_cut: bool = False, timeout: float = 90) -> None:
        """Reboot the host on the same disk state: a clean halt (systemd stops every unit), or a power cut
        (``power_cut``: the host's PID 1 killed, so every process, mount and namespace of the host goes at once).
        Checked: the host that answers afterwards has a new boot id."""
        before = self.boot_id()
        self.halt(power_cut)
        self.boot(self.lab.image.ensure(log=lambda *_: None), fresh=False)
        self.wait(timeout)
        if self.boot_id() == before:
            raise RuntimeError('host %s did not reboot: the same boot id answers' % self.name)

    def halt(self, power_cut: bool = False) -> None:
        """Stop the host (see reboot), and wait until its link is gone, so that it can boot again."""
        pid, init = self.pid(), self.init_pid()
        if power_cut and init is not None:
            os.kill(init, signal.SIGKILL)
        if pid is not None:
            _stop(pid, timeout=60)
        if init is not None:
            _stop(init, timeout=10)
        # nspawn removes the host's link as it exits; a new boot makes it again.
        deadline = time.monotonic() + 10
        while _run(self.lab.netns_argv(['ip', 'link', 'show', 'vb-' + self.name]), check=False).returncode == 0 \
                and time.monotonic() < deadline:
            time.sleep(0.2)

    def wait(self, timeout: float) -> None:
        """Bring the host's link up on the lab bridge, then wait until SSH answers."""
        link = 'vb-' + self.name
        deadline = time.monotonic() + timeout
        while True:
            pid = self.pid()
            if pid is None or not _alive(pid):
                raise RuntimeError('host %s exited while booting; see %s:\n%s' % (
                    self.name, self.log, self.log.read_text()[-2000:]))
            if _run(self.lab.netns_argv(['ip', 'link', 'set', link, 'up']), check=False).returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError('host %s: %s never appeared' % (self.name, link))
            time.sleep(0.2)
        while True:
            if self.run('systemctl is-system-running --wait >/dev/null; true', check=False, timeout=30).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError('host %s: no SSH at %s after %ds; see %s' % (
                    self.name, self.address, timeout, self.log))
            time.sleep(0.5)


class Lab:
    """A named lab: its namespaces, its hosts, its inventory. Labs with different names coexist."""

    def __init__(self, name: str = 'default', root: Path = ROOT):
        if not name.replace('-', '').isalnum() or len(name) > 20:
            raise ValueError('lab name must be letters, digits and -, at most 20 characters: %r' % name)
        self.name = name
        self.root = root
        self.dir = root / 'labs' / name
        self.netns = 'alab-' + name
        self.upstream_netns = 'alab-%s-up' % name
        self.key = self.dir / 'id_ed25519'
        self.inventory = self.dir / 'inventory.yml'
        self.image = Image(root / 'images')
        self.registry = Registry(self, ROUTER)

    # -- running things in the lab ---------------------------------------------
    def netns_argv(self, argv: list, netns: str | None = None) -> list:
        # nsenter rather than `ip netns exec`, which remounts /sys and hides the cgroups nspawn needs.
        return ['nsenter', '--net=/run/netns/' + (netns or self.netns), *argv]

    def in_lab(self, argv: list, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        """Run a command in the lab network namespace (where a client outside the hosts sits)."""
        return _run(self.netns_argv(argv), check=check, **kwargs)

    def in_upstream(self, argv: list, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        """Run a command in the upstream namespace (203.0.113.10, beyond the lab router)."""
        return _run(self.netns_argv(argv, self.upstream_netns), check=check, **kwargs)

    @property
    def hosts(self) -> list:
        state = self.dir / 'lab.json'
        if not state.is_file():
            return []
        names = json.loads(state.read_text())['hosts']
        return [LabHost(self, name, index) for index, name in enumerate(names, 1)]

    def host(self, name: str) -> LabHost:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError('lab %s has no host %s' % (self.name, name))

    # -- up and down -----------------------------------------------------------
    def up(self, hosts=1, boot_timeout: float = 90, log=print, images: bool | None = None) -> list:
        """Boot a fresh lab: NAMES (a list) or N hosts h1..hN. Whatever an earlier run left is removed first.

        IMAGES (default: unless $ANATOMY_LAB_IMAGES is 0): push the OCI test images into the lab's registry while
        the hosts boot (about 2 s; building them, when the cache lacks them, about a minute once). Without, tests
        that want them call ``lab.registry.push_test_images()``, which does nothing when they are there."""
        if images is None:
            images = os.environ.get('ANATOMY_LAB_IMAGES', '1') != '0'
        names = list(hosts) if not isinstance(hosts, int) else ['h%d' % i for i in range(1, hosts + 1)]
        for name in names:
            # nspawn names the host's link vb-NAME, and a link name has at most 15 bytes.
            if not (1 <= len(name) <= 12 and name.replace('-', '').isalnum()):
                raise ValueError('host name must be 1 to 12 letters, digits or -: %r' % name)
        if len(set(names)) != len(names) or not names or len(names) > 200:
            raise ValueError('host names must be 1 to 200 distinct names: %r' % names)
        self.down(log=lambda *_: None)
        rootfs = self.image.ensure(log=log)
        if images:
            self.registry.images.ensure(log=log)
        self.dir.mkdir(parents=True, exist_ok=True)
        _run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'anatomy-lab-' + self.name, '-f', str(self.key)])
        (self.dir / 'lab.json').write_text(json.dumps({'hosts': names}) + '\n')
        (self.dir / 'ssh-control').mkdir(mode=0o700)
        try:
            self._network()
            # Its CA first: the hosts get it as they boot. It comes up while they boot.
            self.registry.start()
            self._upstream_server()
            hosts_ = self.hosts
            for host in hosts_:
                host.boot(rootfs)
            self.registry.wait()
            with ThreadPoolExecutor(1) as pool:
                pushed = pool.submit(self.registry.push_test_images, log=lambda *_: None) if images else None
                for host in hosts_:
                    host.wait(boot_timeout)
                if pushed is not None:
                    pushed.result()
            self._write_inventory(hosts_)
        except BaseException:
            self.down(log=lambda *_: None)
            raise
        log('lab %s: %s up; inventory %s' % (self.name, ', '.join('%s=%s' % (h.name, h.address) for h in hosts_),
                                             self.inventory))
        return hosts_

    def _network(self) -> None:
        lab, up = self.netns, self.upstream_netns
        for ns in (lab, up):
            _run(['ip', 'netns', 'add', ns])
            _run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        steps = [
            ['link', 'add', LAB_BRIDGE, 'type', 'bridge'],
            ['addr', 'add', ROUTER + '/24', 'dev', LAB_BRIDGE],
            ['link', 'set', LAB_BRIDGE, 'up'],
            ['link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', up],
            ['addr', 'add', UPSTREAM_ROUTER + '/24', 'dev', 'up0'],
            ['link', 'set', 'up0', 'up'],
        ]
        for step in steps:
            _run(['ip', '-n', lab, *step])
        for step in (['addr', 'add', UPSTREAM_SERVER + '/24', 'dev', 'eth0'], ['link', 'set', 'eth0', 'up'],
                     ['route', 'add', 'default', 'via', UPSTREAM_ROUTER]):
            _run(['ip', '-n', up, *step])
        # /proc/sys/net belongs to the writer's network namespace: this is the lab router's only.
        _run(self.netns_argv(['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']))

    def _upstream_server(self) -> None:
        """An HTTP server at 203.0.113.10:80 that answers with the address it sees the client at."""
        log = open(self.dir / 'whoami.log', 'w')
        process = subprocess.Popen(self.netns_argv([sys.executable, str(WHOAMI), UPSTREAM_SERVER, '80'],
                                                   self.upstream_netns),
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        (self.dir / 'whoami.pid').write_text(str(process.pid))

    def _write_inventory(self, hosts: list) -> None:
        proxy = 'nsenter --net=/run/netns/%s nc %%h %%p' % self.netns
        inventory = {
            'all': {
                'children': {'lab_hosts': {'hosts': {h.name: {'ansible_host': h.address} for h in hosts}}},
                'vars': {
                    'ansible_user': 'root',
                    'ansible_python_interpreter': '/usr/bin/python3',
                    'ansible_ssh_private_key_file': str(self.key),
                    'ansible_ssh_common_args': ' '.join(SSH_OPTIONS) + " -o ProxyCommand='%s'" % proxy,
                    # A lab's own: an SSH master left from an earlier lab at the same address would hang.
                    'ansible_control_path_dir': str(self.dir / 'ssh-control'),
                    'anatomy_lab': {
                        'name': self.name, 'netns': self.netns, 'upstream_netns': self.upstream_netns,
                        'router': ROUTER, 'upstream_server': UPSTREAM_SERVER, 'state_dir': HOST_STATE_DIR,
                        **self.registry.inventory_vars(),
                    },
                },
            },
        }
        # JSON is YAML: no third-party module needed to write it.
        self.inventory.write_text(json.dumps(inventory, indent=2) + '\n')

    def down(self, log=print) -> None:
        """Stop every host and remove every namespace, process, mount and file of this lab. Idempotent."""
        for host in self._hosts_on_disk():
            pid, init = host.pid(), host.init_pid()
            if pid is not None:
                _stop(pid, timeout=20)
            if init is not None:
                _stop(init, timeout=10)
        for pid in self.registry.pids():
            _stop(pid, timeout=5)
        for pid in self._stray_processes():
            _stop(pid, timeout=10)
        pidfile = self.dir / 'whoami.pid'
        if pidfile.is_file():
            try:
                _stop(int(pidfile.read_text()), timeout=5)
            except ValueError:
                pass
        for ns in (self.netns, self.upstream_netns):
            if os.path.exists('/run/netns/' + ns):
                _run(['ip', 'netns', 'delete', ns], check=False)
        self._unmount_below(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        log('lab %s: down' % self.name)

    def _hosts_on_disk(self) -> list:
        hosts_dir = self.dir / 'hosts'
        if not hosts_dir.is_dir():
            return []
        return [LabHost(self, path.name, 0) for path in sorted(hosts_dir.iterdir())]

    def processes(self) -> dict:
        """{pid: command line} of every process that names this lab's directory or namespaces."""
        markers = (str(self.dir) + '/', '/run/netns/%s ' % self.netns, '/run/netns/%s ' % self.upstream_netns)
        found = {}
        for entry in Path('/proc').iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / 'cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
                except OSError:
                    continue
                if any(marker in cmdline for marker in markers):
                    found[int(entry.name)] = cmdline
        return found

    def _stray_processes(self) -> list:
        """Processes of this lab whose pid file was lost (a crash), its SSH masters, its registry and pushes into it."""
        markers = (str(self.dir / 'hosts') + '/', str(self.dir / 'ssh-control') + '/', str(self.registry.dir) + '/')
        return [pid for pid, cmdline in self.processes().items()
                if cmdline.startswith(('systemd-nspawn', 'nsenter', 'ssh', 'docker-registry', '/usr/bin/docker-registry', 'skopeo'))
                and any(m in cmdline for m in markers)]

    @staticmethod
    def _unmount_below(path: Path) -> None:
        prefix = str(path) + '/'
        with open('/proc/self/mountinfo') as mountinfo:
            targets = [line.split()[4].encode().decode('unicode_escape') for line in mountinfo]
        for target in sorted((t for t in targets if t.startswith(prefix)), key=len, reverse=True):
            _run(['umount', target], check=False)

    def status(self) -> dict:
        hosts = []
        for host in self.hosts:
            pid = host.pid()
            hosts.append({'name': host.name, 'address': host.address, 'pid': pid,
                          'running': bool(pid and _alive(pid))})
        return {'name': self.name, 'netns': self.netns, 'exists': os.path.exists('/run/netns/' + self.netns),
                'inventory': str(self.inventory) if self.inventory.is_file() else None, 'hosts': hosts,
                'image': str(self.image.rootfs) if self.image.ready() else None,
                'registry': dict(self.registry.inventory_vars(), pids=[p for p in self.registry.pids() if _alive(p)],
                                 ca_cert=str(self.registry.ca_cert) if self.registry.ca_cert.is_file() else None)}
