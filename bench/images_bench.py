# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Images: our pull and the workloads run from it, next to skopeo copy + umoci unpack + crun run of the same image.

On one lab host (lab "bench-img"), the lab registry's registry.lab:5000/python:3-slim (Debian bookworm minbase with
python3, 3 gzip layers, 64 MB compressed, about 160 MB unpacked), ROUNDS times with the order alternating:

  pull alone      anatomy.containers.image (one task: the image with the lab CA, state_root a scratch dir under
                  /var/lib/anatomy) from an empty store: the whole ansible-playbook, the task's own time in it, and
                  the module's process on the host without Ansible (its AnsiballZ file run there, and once more
                  exploded with timers around skopeo, the unpack, and os.sync()); next to `skopeo copy` to an OCI
                  layout plus `umoci unpack` (and a `sync`, which umoci does not do), and `tar -xzf` of the same layer
                  blobs as a floor for unpacking, timed on the host. Both write to the host's /var/lib/anatomy (the
                  real disk). Ansible's fixed cost beside them: a one-task playbook of ansible.builtin.ping, and the
                  image task again with the image there (nothing to do). Then the module process, the peer and tar
                  again into the host's /tmp, a tmpfs: what the tools cost without this machine's disk, on which
                  creating a file varies from 0.02 to 0.8 ms with the state of its page cache.
  pull and start  site.yml with one workload "server" from the image (port 80 published to 8080) on a host torn down
                  with playbooks/teardown.yml (not timed), until http://HOST:80/ answers from the lab network; next to
                  one script on the host: skopeo copy, umoci unpack, the bundle's process set to python3 -m http.server
                  8080 and its network namespace dropped (the peer listens on the host's own network: no namespace,
                  veth, address or DNAT, no seccomp profile, no unit), `crun run -d`; until HOST:8080 answers.
  second          with the first running, site.yml with a second workload of the same image (port 81), until it
                  answers, with the layer dirs counted before and after and the registry's access log read (no request
                  may reach it); next to a second umoci unpack of the layout the first copy left and a second crun run.
  N workloads     once: site.yml with N workloads of the image (/bin/sleep 3600, no port) on a torn down host, then
                  `du` of the layer store and of each workload's upper dir and whole dir, and the overlays' lower
                  dirs read from the host's mount table; next to the size of one umoci bundle, times N.

What a run wrote is moved aside on the same disk and removed after the phase, not between runs. Usage, from the
repository root (the collection installed with `make collection`), as root:

    python3 bench/images_bench.py [--runs 3] [--workloads 100] [--lab bench-img] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab import Lab  # noqa: E402
from tests.integration.ansible_runner import ansible_env  # noqa: E402

IMAGE = 'registry.lab:5000/python:3-slim'
CA = '/etc/anatomy-lab/ca.crt'
SCRATCH_STORE = '/var/lib/anatomy/bench-img-store'
PEER = '/var/lib/anatomy/bench-img-peer'
# What a run wrote is moved here, not removed, and removed after each phase: no run pays for removing the last one's.
TRASH = '/var/lib/anatomy/bench-img-trash'
# The same pulls again into the lab host's /tmp (a tmpfs): the tools' own cost, without the disk's.
TMPFS_STORE = '/tmp/bench-img-store'
TMPFS_PEER = '/tmp/bench-img-peer'
WORK = '/root/bench-img'
CRUN = 'crun --root /run/bench-img-crun --cgroup-manager=disabled'
STATE = '/var/lib/anatomy'
# A private copy: another engineer may rebuild .build/install while the bench runs.
INSTALL_COPY = Path('/tmp/bench-img-install')
PULL_TASK = 'Pull the images the workloads run'

PULL_PLAY = [{'hosts': 'all', 'gather_facts': False, 'tasks': [
    {'name': 'pull', 'anatomy.containers.image': {'config': [{'name': IMAGE, 'ca_file': CA}], 'state_root': SCRATCH_STORE}}]}]
PING_PLAY = [{'hosts': 'all', 'gather_facts': False, 'tasks': [{'name': 'ping', 'ansible.builtin.ping': {}}]}]

# Run on the host from the exploded AnsiballZ file (its debug_dir): the module as Ansible runs it, with timers around
# the skopeo commands, the unpacking of each layer, the blob checks and os.sync(). One JSON line of seconds.
DRIVER = r'''
import json, os, runpy, sys, time
t0 = time.monotonic()
sys.argv = ['__main__.py', os.environ.get('BENCH_ARGS', 'args')]
sys.path.insert(0, '.')
from ansible_collections.anatomy.containers.plugins.module_utils import _images
times = {'skopeo inspect': 0.0, 'skopeo copy': 0.0, 'blob check': 0.0, 'unpack': 0.0, 'sync': 0.0}
def timed(key, fn):
    def wrapper(*args, **kwargs):
        start = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            name = key if isinstance(key, str) else key(args)
            times[name] = times.get(name, 0.0) + time.monotonic() - start
    return wrapper
_images.Skopeo._run = timed(lambda args: 'skopeo ' + args[1][0], _images.Skopeo._run)
_images.unpack_layer = timed('unpack', _images.unpack_layer)
_images.Image.read_layout = staticmethod(timed('blob check', _images.Image.read_layout))
os.sync = timed('sync', os.sync)
real = sys.stdout
sys.stdout = open(os.devnull, 'w')
try:
    runpy.run_path('ansible_collections/anatomy/containers/plugins/modules/image.py', run_name='__main__')
except SystemExit:
    pass
sys.stdout = real
times['total'] = time.monotonic() - t0
print(json.dumps(times))
'''

# The peer's bundle: the process as asked, no terminal (crun run -d has none), the host's network.
PEER_CONFIG = r'''
import json, sys
path, port = sys.argv[1], sys.argv[2]
with open(path) as handle:
    config = json.load(handle)
config['process']['terminal'] = False
config['process']['args'] = ['python3', '-m', 'http.server', port]
config['linux']['namespaces'] = [ns for ns in config['linux']['namespaces'] if ns['type'] != 'network']
with open(path, 'w') as handle:
    json.dump(config, handle)
'''

# Shell helpers on the host: ms since the epoch, paths moved to the trash, the layer blobs of the peer's OCI layout.
SH = r'''
set -e
ms() { echo $(( $(date +%s%N) / 1000000 )); }
aside() { mkdir -p TRASH; for p in "$@"; do if [ -e "$p" ]; then mv "$p" TRASH/$(date +%s%N); fi; done; }
layers() { python3 -c '
import json, sys
layout = sys.argv[1]
index = json.load(open(layout + "/index.json"))
manifest = json.load(open(layout + "/blobs/" + index["manifests"][0]["digest"].replace(":", "/")))
print(" ".join(layer["digest"].split(":")[1] for layer in manifest["layers"]))' "$1"; }
'''.replace('TRASH', TRASH)


# Run on the host after the N workloads started: what they take on disk, and what N umoci bundles would.
MEASURE = r'''
import glob, json, subprocess
def du(*paths):
    out = subprocess.run(['du', '-sxB1', *paths], check=True, capture_output=True, text=True).stdout
    return [int(line.split('\t')[0]) for line in out.splitlines()]
def sh(command):
    return subprocess.run(command, shell=True, check=True, capture_output=True, text=True).stdout
state, peer = '%(state)s', '%(peer)s'
lowers = {}
with open('/proc/self/mountinfo') as mountinfo:
    for line in mountinfo:
        fields = line.split()
        tail = fields[fields.index('-') + 1:]
        if tail[0] == 'overlay' and fields[4].startswith(state + '/workloads/'):
            lower = [o for o in tail[2].split(',') if o.startswith('lowerdir=')]
            lowers[lower[0] if lower else ''] = lowers.get(lower[0] if lower else '', 0) + 1
found = {
    'running': int(sh("systemctl list-units --no-legend 'anatomy-workload-*' | grep -c running || true") or 0),
    'layers': du(state + '/images/layers')[0],
    'nlayers': len(glob.glob(state + '/images/layers/*')),
    'uppers': du(*sorted(glob.glob(state + '/workloads/*/upper'))),
    'dirs': du(*sorted(glob.glob(state + '/workloads/*'))),
    'volumes': du(*sorted(glob.glob(state + '/volumes/*'))),
    'lowers': sorted(lowers.values()),
    'lowerdirs': sorted(lowers)[:2],
}
sh('mkdir -p %(peer)s && skopeo copy --quiet --src-cert-dir /etc/anatomy-lab docker://%(image)s oci:%(peer)s/x:img && '
   'umoci unpack --image %(peer)s/x:img %(peer)s/bundle > /dev/null')
found.update(layout=du(peer + '/x')[0], bundle=du(peer + '/bundle')[0], files=int(sh('find %(peer)s/bundle/rootfs | wc -l')))
sh('rm -rf %(peer)s')
print(json.dumps(found))
'''


def site_vars(workloads: list) -> dict:
    return {'container_host_networks': [{'name': 'ctbr0', 'subnet': '10.88.0.0/16'}],
            'workload_images': [{'name': IMAGE, 'ca_file': CA}],
            'workload_list': workloads}


def server(name: str, port: int) -> dict:
    return {'name': name, 'network': 'ctbr0', 'image': IMAGE, 'published_ports': ['%d:8080' % port]}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class ImagesBench:
    def __init__(self, lab_name: str, keep: bool):
        self.lab = Lab(lab_name)
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix='bench-img-'))
        self.host = None
        self.results = {}

    # -- plumbing ----------------------------------------------------------------------------------------------------
    def up(self) -> None:
        source = Path(os.environ.get('ANATOMY_COLLECTIONS_PATH', str(REPO / '.build' / 'install')))
        if not (source / 'ansible_collections' / 'anatomy' / 'containers' / 'plugins' / 'modules' / 'image.py').is_file():
            raise SystemExit('no collection with the image module at %s: run `make collection` first' % source)
        shutil.rmtree(INSTALL_COPY, ignore_errors=True)
        shutil.copytree(source, INSTALL_COPY, symlinks=True)
        self.lab.up(1, log=lambda *_: None)
        self.host = self.lab.hosts[0]
        for name, text in (('driver.py', DRIVER), ('peer_config.py', PEER_CONFIG), ('sh', SH)):
            self.put('%s/%s' % (WORK, name), text)

    def put(self, path: str, text: str) -> None:
        subprocess.run(self.host.ssh_argv('mkdir -p %s && cat > %s' % (os.path.dirname(path), path)), input=text.encode(),
                       check=True, capture_output=True)

    def sh(self, script: str, timeout: float = 600) -> str:
        """A bash script on the host, with SH's helpers; its stdout."""
        return self.host.run('bash -s', input='. %s/sh\n%s' % (WORK, script), timeout=timeout).stdout

    def play(self, playbook, extra: dict | None = None, env: dict | None = None):
        """ansible-playbook PLAYBOOK (a path, or a play as a list); (wall seconds, recap, [(task, seconds)], output)."""
        if isinstance(playbook, list):
            path = self.tmp / ('play-%d.json' % len(playbook[0]['tasks']))
            path.write_text(json.dumps(playbook))
            playbook = path
        argv = [str(REPO / '.venv' / 'bin' / 'ansible-playbook'), '-i', str(self.lab.inventory)]
        if not Path(argv[0]).is_file():
            argv[0] = str(Path(sys.executable).with_name('ansible-playbook'))
        if extra is not None:
            extra_file = self.tmp / 'vars.json'
            extra_file.write_text(json.dumps(extra))
            argv += ['-e', '@%s' % extra_file]
        argv.append(str(playbook))
        full_env = ansible_env(dict({'ANSIBLE_COLLECTIONS_PATH': str(INSTALL_COPY)}, **(env or {})))
        full_env.pop('ANSIBLE_CALLBACKS_ENABLED', None)
        tasks, current, output = [], None, []
        start = time.monotonic()
        with subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            for line in proc.stdout:
                now = time.monotonic()
                output.append(line)
                if line.startswith(('TASK [', 'PLAY RECAP', 'RUNNING HANDLER [')):
                    if current:
                        tasks.append((current[0], now - current[1]))
                    current = (line.split('[', 1)[1].rsplit(']', 1)[0], now) if not line.startswith('PLAY') else None
            proc.wait()
        elapsed = time.monotonic() - start
        text = ''.join(output)
        if proc.returncode != 0:
            raise RuntimeError('ansible-playbook %s failed (%d):\n%s' % (playbook, proc.returncode, text[-4000:]))
        recap = dict((k, int(v)) for k, v in re.findall(r'(ok|changed|failed|skipped)=(\d+)', text.rsplit('PLAY RECAP', 1)[-1]))
        return elapsed, recap, tasks, text

    def answers(self, port: int, start: float, timeout: float = 120) -> float:
        """Seconds from START (monotonic) until http://HOST:PORT/ serves the image's page to the lab network."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self.lab.in_lab(['curl', '-s', '-m', '2', 'http://%s:%d/' % (self.host.address, port)], check=False)
            if 'anatomy lab: python' in (reply.stdout or ''):
                return time.monotonic() - start
            time.sleep(0.05)
        raise RuntimeError('port %d never answered' % port)

    def skopeo_requests(self) -> int:
        """Requests skopeo made to the lab registry so far (its access log)."""
        log = self.lab.registry.log(self.lab.registry.port)
        return sum(1 for line in log.read_text(errors='replace').splitlines() if '"skopeo/' in line)

    def clean(self) -> None:
        """Nothing of ours or of the peer's on the host (not timed): the peer's containers, its dirs, the scratch store
        and our image store moved aside, then the teardown playbook (for the workloads and their few files each)."""
        self.sh('for c in $(%s list -q 2>/dev/null); do %s delete -f $c; done\n'
                'aside %s %s %s/images; sync' % (CRUN, CRUN, PEER, SCRATCH_STORE, STATE))
        self.play(REPO / 'playbooks' / 'teardown.yml', {'teardown_purge_volumes': True, 'teardown_kill': True})
        self.sh('sync')

    def empty_trash(self) -> None:
        """Remove what the runs moved aside."""
        self.sh('rm -rf %s; sync' % TRASH, timeout=1200)

    # -- 1: pull alone -----------------------------------------------------------------------------------------------
    def prepare_module(self) -> None:
        """The image task's AnsiballZ file, as Ansible sends it, kept on the host and exploded there."""
        self.sh('rm -rf /root/.ansible/tmp; aside %s' % SCRATCH_STORE)
        self.play(PULL_PLAY, env={'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_PIPELINING': 'False'})
        self.sh('cp /root/.ansible/tmp/ansible-tmp-*/AnsiballZ_image.py %s/\n'
                'cd %s && rm -rf debug_dir && python3 AnsiballZ_image.py explode > /dev/null\n'
                'sed "s#%s#%s#" debug_dir/args > debug_dir/args-tmpfs\n'
                'rm -rf /root/.ansible/tmp; aside %s; sync' % (WORK, WORK, SCRATCH_STORE, TMPFS_STORE, SCRATCH_STORE))

    def pull_ours(self) -> dict:
        self.sh('aside %s; sync' % SCRATCH_STORE)
        wall, recap, tasks, _text = self.play(PULL_PLAY)
        assert recap.get('changed') == 1, recap
        again, recap2, tasks2, _text = self.play(PULL_PLAY)
        assert recap2.get('changed') == 0, recap2
        ping, _recap, _tasks, _text = self.play(PING_PLAY)
        return {'ansible': wall, 'task': dict(tasks)['pull'], 'no change': again, 'no change task': dict(tasks2)['pull'],
                'ping': ping}

    def pull_module(self) -> dict:
        out = self.sh('aside %(store)s; sync\n'
                      's=$(ms); python3 %(work)s/AnsiballZ_image.py > %(work)s/module.out; e=$(ms)\n'
                      'grep -q \'"changed": true\' %(work)s/module.out\n'
                      'echo $((e - s))\n'
                      'aside %(store)s; sync\n'
                      'cd %(work)s/debug_dir && python3 ../driver.py\n'
                      'aside %(store)s; sync\n'
                      'BENCH_ARGS=args-tmpfs python3 ../driver.py\n'
                      'rm -rf %(tmpfs)s\n' % {'store': SCRATCH_STORE, 'work': WORK, 'tmpfs': TMPFS_STORE})
        lines = out.splitlines()
        parts = json.loads(lines[1])
        parts['module'] = int(lines[0]) / 1e3
        parts.update(('tmpfs ' + key, value) for key, value in json.loads(lines[2]).items())
        return parts

    def pull_peer(self) -> dict:
        out = self.sh('aside %(p)s; mkdir -p %(p)s; sync\n'
                      't0=$(ms); skopeo copy --quiet --src-cert-dir /etc/anatomy-lab docker://%(image)s oci:%(p)s/x:img\n'
                      't1=$(ms); umoci unpack --image %(p)s/x:img %(p)s/bundle > /dev/null\n'
                      't2=$(ms); sync; t3=$(ms)\n'
                      'for b in $(layers %(p)s/x); do mkdir -p %(p)s/tar/$b; tar --xattrs --numeric-owner -xzf %(p)s/x/blobs/sha256/$b '
                      '-C %(p)s/tar/$b; done; t4=$(ms); sync; t5=$(ms)\n'
                      'echo $((t1 - t0)) $((t2 - t1)) $((t3 - t2)) $((t4 - t3)) $((t5 - t4))\n'
                      'aside %(p)s; sync\n'
                      'rm -rf %(t)s; mkdir -p %(t)s\n'
                      't0=$(ms); skopeo copy --quiet --src-cert-dir /etc/anatomy-lab docker://%(image)s oci:%(t)s/x:img\n'
                      't1=$(ms); umoci unpack --image %(t)s/x:img %(t)s/bundle > /dev/null; t2=$(ms)\n'
                      'for b in $(layers %(t)s/x); do mkdir -p %(t)s/tar/$b; tar --xattrs --numeric-owner -xzf %(t)s/x/blobs/sha256/$b '
                      '-C %(t)s/tar/$b; done; t3=$(ms)\n'
                      'echo $((t1 - t0)) $((t2 - t1)) $((t3 - t2))\n'
                      'rm -rf %(t)s\n' % {'p': PEER, 'image': IMAGE, 't': TMPFS_PEER})
        disk, tmpfs = out.splitlines()
        copy, unpack, sync, tar, tar_sync = (int(v) / 1e3 for v in disk.split())
        t_copy, t_unpack, t_tar = (int(v) / 1e3 for v in tmpfs.split())
        return {'peer copy': copy, 'peer unpack': unpack, 'peer sync': sync, 'peer': copy + unpack,
                'peer + sync': copy + unpack + sync, 'tar': tar, 'tar + sync': tar + tar_sync,
                'tmpfs peer copy': t_copy, 'tmpfs peer unpack': t_unpack, 'tmpfs peer': t_copy + t_unpack, 'tmpfs tar': t_tar}

    def pulls(self, runs: int) -> None:
        self.prepare_module()
        rows = []
        for i in range(runs):
            row = {}
            for side in ((self.pull_ours, self.pull_module, self.pull_peer) if i % 2 == 0
                         else (self.pull_peer, self.pull_module, self.pull_ours)):
                row.update(side())
            row['load'] = os.getloadavg()[0]
            rows.append(row)
            print('pull round %d: %s' % (i + 1, ', '.join('%s %.2f' % (k, v) for k, v in row.items())), file=sys.stderr, flush=True)
        self.results['pull'] = rows
        self.empty_trash()

    # -- 2 and 3: pull and start, a second workload ---------------------------------------------------------------
    def start_ours(self) -> dict:
        self.clean()
        before = self.skopeo_requests()
        start = time.monotonic()
        wall, _recap, tasks, _text = self.play(REPO / 'site.yml', site_vars([server('server', 80)]))
        first = self.answers(80, start)
        pulled = self.skopeo_requests() - before
        layers_before = int(self.sh('ls %s/images/layers | wc -l' % STATE))
        before = self.skopeo_requests()
        start = time.monotonic()
        wall2, _recap, tasks2, text2 = self.play(REPO / 'site.yml', site_vars([server('server', 80), server('server2', 81)]))
        second = self.answers(81, start)
        self.answers(80, time.monotonic())
        block = text2.split('%s]' % PULL_TASK, 1)[-1].split('TASK [', 1)[0]
        skipped = 'skipping: [%s]' % self.host.name in block and not re.search(r'^(ok|changed): ', block, re.M)
        return {'first': first, 'first playbook': wall, 'first tasks': tasks, 'requests first': pulled,
                'second': second, 'second playbook': wall2, 'second tasks': tasks2,
                'requests second': self.skopeo_requests() - before, 'pull skipped': skipped,
                'layers before': layers_before, 'layers after': int(self.sh('ls %s/images/layers | wc -l' % STATE))}

    def start_peer(self) -> dict:
        self.clean()
        start = time.monotonic()
        out = self.sh('mkdir -p %(p)s; t0=$(ms)\n'
                      'skopeo copy --quiet --src-cert-dir /etc/anatomy-lab docker://%(image)s oci:%(p)s/x:img; t1=$(ms)\n'
                      'umoci unpack --image %(p)s/x:img %(p)s/bundle > /dev/null; t2=$(ms)\n'
                      'python3 %(w)s/peer_config.py %(p)s/bundle/config.json 8080\n'
                      '%(crun)s run -d --no-new-keyring --bundle %(p)s/bundle peer1 < /dev/null > %(p)s/peer1.log 2>&1; t3=$(ms)\n'
                      'echo $((t1 - t0)) $((t2 - t1)) $((t3 - t2))\n' % {'p': PEER, 'image': IMAGE, 'w': WORK, 'crun': CRUN})
        first = self.answers(8080, start)
        copy, unpack, run = (int(v) / 1e3 for v in out.split())
        start = time.monotonic()
        out = self.sh('t0=$(ms); umoci unpack --image %(p)s/x:img %(p)s/bundle2 > /dev/null; t1=$(ms)\n'
                      'python3 %(w)s/peer_config.py %(p)s/bundle2/config.json 8081\n'
                      '%(crun)s run -d --no-new-keyring --bundle %(p)s/bundle2 peer2 < /dev/null > %(p)s/peer2.log 2>&1; t2=$(ms)\n'
                      'echo $((t1 - t0)) $((t2 - t1))\n' % {'p': PEER, 'w': WORK, 'crun': CRUN})
        second = self.answers(8081, start)
        unpack2, run2 = (int(v) / 1e3 for v in out.split())
        return {'peer first': first, 'peer copy': copy, 'peer unpack': unpack, 'peer run': run,
                'peer second': second, 'peer unpack2': unpack2, 'peer run2': run2}

    def starts(self, runs: int) -> None:
        rows = []
        for i in range(runs):
            row = {}
            for side in (self.start_ours, self.start_peer) if i % 2 == 0 else (self.start_peer, self.start_ours):
                row.update(side())
            row['load'] = os.getloadavg()[0]
            rows.append(row)
            shown = ', '.join('%s %s' % (k, '%.2f' % v if isinstance(v, float) else v) for k, v in row.items() if 'tasks' not in k)
            print('start round %d: %s' % (i + 1, shown), file=sys.stderr, flush=True)
        self.results['start'] = rows
        self.clean()
        self.empty_trash()

    # -- 4: N workloads from one image ----------------------------------------------------------------------------
    def many(self, n: int) -> None:
        self.clean()
        workloads = [{'name': 'w%03d' % i, 'network': 'ctbr0', 'image': IMAGE, 'command': ['/bin/sleep', '3600']} for i in range(n)]
        wall, recap, tasks, _text = self.play(REPO / 'site.yml', site_vars(workloads))
        out = self.sh('python3 - <<"EOF"\n%sEOF\n' % (MEASURE % {'state': STATE, 'peer': PEER, 'image': IMAGE}), timeout=1200)
        found = json.loads(out)
        found.update(n=n, wall=wall, changed=recap.get('changed'), tasks=tasks)
        self.results['many'] = found
        print('%d workloads: %s' % (n, {k: v for k, v in found.items() if k not in ('uppers', 'dirs', 'tasks')}), file=sys.stderr, flush=True)

    # -- the report ----------------------------------------------------------------------------------------------------
    def report(self) -> str:
        lines = []
        pull = self.results.get('pull')
        if pull:
            def cell(key):
                values = [row[key] for row in pull]
                return '%.2f (%.2f-%.2f)' % (median(values), min(values), max(values))
            lines += ['', 'Pull alone, %d rounds alternating, seconds, median (min-max); load average %.1f to %.1f:' % (
                len(pull), min(r['load'] for r in pull), max(r['load'] for r in pull))]
            table = [
                ('ours: ansible-playbook, one image task', 'ansible'),
                ('  of which the task', 'task'),
                ('  the module process on the host, no Ansible', 'module'),
                ('    skopeo inspect (2 runs: manifest, config)', 'skopeo inspect'),
                ('    skopeo copy to the store\'s tmp layout', 'skopeo copy'),
                ('    unpacking the layers (Python, checked)', 'unpack'),
                ('    os.sync()', 'sync'),
                ('peer: skopeo copy + umoci unpack', 'peer'),
                ('  skopeo copy', 'peer copy'),
                ('  umoci unpack', 'peer unpack'),
                ('  + sync', 'peer + sync'),
                ('floor: tar -xzf of the layer blobs (no copy)', 'tar'),
                ('  + sync', 'tar + sync'),
                ('ansible-playbook, the image task, image there', 'no change'),
                ('ansible-playbook, one ansible.builtin.ping', 'ping'),
                ('into the lab host\'s /tmp (tmpfs): our module process', 'tmpfs total'),
                ('    skopeo inspect + copy', 'tmpfs skopeo'),
                ('    unpacking the layers', 'tmpfs unpack'),
                ('    os.sync()', 'tmpfs sync'),
                ('  peer: skopeo copy + umoci unpack', 'tmpfs peer'),
                ('    umoci unpack', 'tmpfs peer unpack'),
                ('  tar -xzf of the layer blobs', 'tmpfs tar'),
            ]
            for row in pull:
                row['tmpfs skopeo'] = row['tmpfs skopeo inspect'] + row['tmpfs skopeo copy']
            for label, key in table:
                lines.append('  %-50s %s' % (label, cell(key)))

            def ratio(ours, peer):
                return median([r[ours] for r in pull]) / median([r[peer] for r in pull])
            lines.append('  ratios (medians): ansible-playbook / peer %.2fx, module process / peer %.2fx, our unpack / umoci unpack %.2fx, '
                         'our unpack / tar %.2fx; on tmpfs: module / peer %.2fx, our unpack / umoci %.2fx, our unpack / tar %.2fx' % (
                             ratio('ansible', 'peer'), ratio('module', 'peer'), ratio('unpack', 'peer unpack'), ratio('unpack', 'tar'),
                             ratio('tmpfs total', 'tmpfs peer'), ratio('tmpfs unpack', 'tmpfs peer unpack'), ratio('tmpfs unpack', 'tmpfs tar')))
        start = self.results.get('start')
        if start:
            def med(key):
                return median([row[key] for row in start])

            def span(key):
                values = [row[key] for row in start]
                return '%.2f (%.2f-%.2f)' % (median(values), min(values), max(values))
            lines += ['', 'Pull and start, then a second workload, %d rounds alternating, seconds until the port answers from the lab '
                      'network; load average %.1f to %.1f:' % (len(start), min(r['load'] for r in start), max(r['load'] for r in start))]
            lines.append('  %-44s %-20s %-20s %s' % ('', 'ours (site.yml)', 'peer', 'ours / peer'))
            lines.append('  %-44s %-20s %-20s %.2fx' % ('pull + first workload answering', span('first'), span('peer first'),
                                                        med('first') / med('peer first')))
            lines.append('  %-44s %-20s %-20s %.2fx' % ('second workload, same image, answering', span('second'), span('peer second'),
                                                        med('second') / med('peer second')))
            lines.append('  ours: site.yml process %.2f then %.2f; the pull task %.2f (first run); peer: skopeo copy %.2f, umoci unpack %.2f, '
                         'crun run %.2f; second: umoci unpack %.2f, crun run %.2f' % (
                             med('first playbook'), med('second playbook'),
                             median([dict(r['first tasks']).get('anatomy.containers.workload : ' + PULL_TASK) for r in start]),
                             med('peer copy'), med('peer unpack'), med('peer run'), med('peer unpack2'), med('peer run2')))
            lines.append('  second workload: layer dirs %s before, %s after; registry requests by skopeo %s (first: %s); '
                         '"%s" skipped: %s' % (
                             sorted({r['layers before'] for r in start}), sorted({r['layers after'] for r in start}),
                             sorted({r['requests second'] for r in start}), sorted({r['requests first'] for r in start}),
                             PULL_TASK, sorted({r['pull skipped'] for r in start})))
            for label, key, wall in (('first run', 'first tasks', 'first playbook'), ('second run', 'second tasks', 'second playbook')):
                pulls = [dict(r[key]).get('anatomy.containers.workload : ' + PULL_TASK, 0.0) for r in start]
                others = [sum(secs for _name, secs in r[key]) - pull for r, pull in zip(start, pulls)]
                lines.append('  %s: %d tasks in the output; the pull task %.1f s, the other tasks %.1f s, before the first task and after '
                             'the last %.1f s (medians)' % (label, median([len(r[key]) for r in start]), median(pulls), median(others),
                                                            median([r[wall] - sum(secs for _n, secs in r[key]) for r in start])))
            for label, key in (('first run', 'first tasks'), ('second run', 'second tasks')):
                names = {}
                for row in start:
                    for name, secs in row[key]:
                        names.setdefault(name, []).append(secs)
                top = sorted(((median(v), n) for n, v in names.items()), reverse=True)[:6]
                lines.append('  slowest tasks, %s (medians): %s' % (label, '; '.join('%s %.1fs' % (n.split(' : ')[-1], s) for s, n in top)))
        many = self.results.get('many')
        if many:
            n = many['n']
            uppers, dirs = many['uppers'], many['dirs']
            lines += ['', '%d workloads from one image (site.yml %.1f s, changed=%s, %d units running), bytes on disk (du -sx):' % (
                n, many['wall'], many['changed'], many['running'])]
            lines.append('  layer store, once: %s (%d layer dirs)' % (fmt(many['layers']), many['nlayers']))
            lines.append('  writable layers (upper): sum %s, max %s, min %s' % (fmt(sum(uppers)), fmt(max(uppers)), fmt(min(uppers))))
            lines.append('  whole workload dirs (upper, work, bundle, /etc files; not the mounted rootfs): sum %s, max %s' % (
                fmt(sum(dirs)), fmt(max(dirs))))
            volumes = many['volumes']
            lines.append('  volumes (anonymous, one per workload for the image\'s Volumes /data, as Docker makes them): %d, sum %s, max %s' % (
                len(volumes), fmt(sum(volumes)), fmt(max(volumes) if volumes else 0)))
            lines.append('  overlays by lowerdir option: %s (one set of lower dirs shared by all: %s)' % (
                many['lowers'], many['lowers'] == [n]))
            lines.append('  image bytes per workload beyond its own dir: %s (the layer store does not grow with workloads)' % (
                fmt(0 if many['lowers'] == [n] else None)))
            ours = many['layers'] + sum(dirs) + sum(volumes)
            peer = many['layout'] + n * many['bundle']
            lines.append('  ours total: %s; umoci: layout %s + %d x bundle %s (%d files) = %s; ratio %.3fx' % (
                fmt(ours), fmt(many['layout']), n, fmt(many['bundle']), many['files'], fmt(peer), ours / peer))
        return '\n'.join(lines)


def fmt(size) -> str:
    if size is None:
        return 'unknown'
    for unit, factor in (('GB', 1e9), ('MB', 1e6), ('KB', 1e3)):
        if size >= factor:
            return '%.1f %s' % (size / factor, unit)
    return '%d B' % size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--runs', type=int, default=3, help='rounds of each timing, ours and the peer alternating (0: none)')
    parser.add_argument('--workloads', type=int, default=100, help='workloads from one image for the disk measure')
    parser.add_argument('--lab', default=os.environ.get('ANATOMY_BENCH_LAB', 'bench-img'))
    parser.add_argument('--keep', action='store_true', help='leave the lab up')
    args = parser.parse_args(argv)
    bench = ImagesBench(args.lab, args.keep)
    started = time.monotonic()
    try:
        bench.up()
        print('load average at the start: %.2f %.2f %.2f' % os.getloadavg(), file=sys.stderr, flush=True)
        if args.runs:
            bench.pulls(args.runs)
            bench.starts(args.runs)
        if args.workloads:
            bench.many(args.workloads)
    finally:
        if not args.keep:
            bench.lab.down(log=lambda *_: None)
        shutil.rmtree(bench.tmp, ignore_errors=True)
    print(bench.report())
    print('\n(%.0f s in all; load average at the end %.2f %.2f %.2f)' % ((time.monotonic() - started,) + os.getloadavg()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
