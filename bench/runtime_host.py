# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab host's side of bench/runtime_bench.py: copied to a lab host and run there (python3, no Ansible), so that
no SSH exchange is inside a timing. One JSON object on stdout per call.

  old-units         write the previous design's unit of every workload (bench-old-NAME.service: systemd's
                    RootDirectory= + MountAPIVFS= + NetworkNamespacePath=, as 4712989's _services.render() wrote it)
                    from the definition in the first line of today's unit, and reload systemd
  start new|old     `systemctl start` of every unit of that design in one command; then poll until every workload's
                    command runs (a `busybox httpd` process per workload, and for `new` also `crun list` showing every
                    container running); report the times, the mounts the host and the workloads' namespaces hold,
                    and the cost of one mount + umount on the host while they run; then stop them all
  serial [plain]    `crun run --detach` of every bundle, one after another, each timed; then `crun delete --force`;
                    with `plain`, of copies of the bundles' config.json without the seccomp profile (what compiling the
                    profile costs); also times `unshare -m true` (a copy of the host's mount table) and `crun --version`
"""

from __future__ import annotations

import ctypes
import glob
import json
import os
import subprocess
import sys
import time

UNIT_DIR = '/etc/systemd/system'
NEW_PREFIX = 'anatomy-workload-'
OLD_PREFIX = 'bench-old-'
MARK = '# anatomy.containers workload service: '
CRUN = ['crun', '--root', '/run/anatomy/crun']
TIMEOUT = 900
POLL = 0.05


def definitions() -> list:
    found = []
    for path in sorted(glob.glob(os.path.join(UNIT_DIR, NEW_PREFIX + '*.service'))):
        with open(path, encoding='utf-8') as f:
            first = f.readline()
        if first.startswith(MARK):
            found.append(json.loads(first[len(MARK):]))
    return found


# -- the previous design's unit (git show 4712989:plugins/module_utils/_services.py, render()) -------------------------
def quote_arg(arg: str) -> str:
    return '"%s"' % arg.replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%').replace('$', '$$')


def quote_assignment(key: str, value: str) -> str:
    return '"%s=%s"' % (key, value.replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%'))


def old_render(item: dict) -> str:
    lines = [
        '[Unit]',
        'Description=bench: the previous design of workload %s' % item['name'],
        'After=network.target',
        '',
        '[Service]',
        'Type=simple',
        'ExecStart=' + ' '.join(quote_arg(arg) for arg in item['command']),
    ]
    if item['netns']:
        lines.append('NetworkNamespacePath=' + (item['netns'] if item['netns'].startswith('/')
                                                else '/run/netns/' + item['netns']))
    lines += [
        'RootDirectory=' + item['root'],
        'MountAPIVFS=yes',
        'User=' + item['user'],
        'WorkingDirectory=' + item['working_dir'],
    ]
    lines += ['Environment=' + quote_assignment(k, v) for k, v in sorted(item['environment'].items())]
    lines += [
        'CapabilityBoundingSet=' + ' '.join(item['capabilities']),
        'NoNewPrivileges=yes',
        'Restart=on-failure',
        'RestartSec=1',
    ]
    return '\n'.join(lines) + '\n'


def old_units() -> dict:
    names = []
    for item in definitions():
        with open(os.path.join(UNIT_DIR, OLD_PREFIX + item['name'] + '.service'), 'w', encoding='utf-8') as f:
            f.write(old_render(item))
        names.append(item['name'])
    subprocess.run(['systemctl', 'daemon-reload'], check=True)
    return {'old units': len(names)}


# -- what runs -----------------------------------------------------------------------------------------------------------
def commands_running() -> list:
    """PIDs of the workloads' commands: `busybox httpd` processes (exec'd, not systemd's or crun's child before it)."""
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if len(argv) > 2 and argv[0] == b'/bin/busybox' and argv[1] == b'httpd':
            pids.append(int(entry))
    return pids


def crun_running() -> int:
    out = subprocess.run(CRUN + ['list'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False).stdout
    return sum(1 for line in out.splitlines()[1:] if line.split()[2:3] == ['running'])


def crun_names() -> list:
    out = subprocess.run(CRUN + ['list', '-q'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False).stdout
    return out.split()


def mounts(pid='self') -> int:
    with open('/proc/%s/mountinfo' % pid, encoding='utf-8') as f:
        return sum(1 for _line in f)


def load() -> str:
    with open('/proc/loadavg', encoding='utf-8') as f:
        return ' '.join(f.read().split()[:3])


LIBC = ctypes.CDLL(None, use_errno=True)


def mount_cost(rounds: int = 20) -> float:
    """Median ms of one tmpfs mount + umount(2) on the host (under /run, a shared mount: what the host mounts while
    workloads run, e.g. the next workload's binds, propagates into every namespace that is its slave)."""
    target = b'/run/anatomy-bench/mnt'
    os.makedirs(target, exist_ok=True)
    times = []
    for _round in range(rounds):
        start = time.monotonic()
        if LIBC.mount(b'none', target, b'tmpfs', 0, None) != 0:
            raise OSError(ctypes.get_errno(), 'mount')
        if LIBC.umount2(target, 0) != 0:
            raise OSError(ctypes.get_errno(), 'umount')
        times.append(time.monotonic() - start)
    return sorted(times)[len(times) // 2] * 1000


def units(design: str, names: list) -> list:
    return [(NEW_PREFIX if design == 'new' else OLD_PREFIX) + name + '.service' for name in names]


def wait_idle(timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while subprocess.run(['systemctl', 'list-jobs', '--no-legend'], stdout=subprocess.PIPE, text=True, check=False).stdout.strip():
        if time.monotonic() > deadline:
            raise RuntimeError('systemd jobs still running')
        time.sleep(0.2)


def stop_all(names: list) -> float:
    start = time.monotonic()
    subprocess.run(['systemctl', 'stop'] + units('new', names) + units('old', names), check=True)
    subprocess.run(['systemctl', 'reset-failed'] + units('new', names) + units('old', names),
                   stderr=subprocess.DEVNULL, check=False)
    deadline = time.monotonic() + TIMEOUT
    while commands_running() or crun_names():
        if time.monotonic() > deadline:
            raise RuntimeError('workloads still running after stop')
        time.sleep(0.2)
    return time.monotonic() - start


def start(design: str) -> dict:
    names = [item['name'] for item in definitions()]
    n = len(names)
    stop_all(names)
    wait_idle()
    result = {'design': design, 'n': n, 'load before': load(), 'host mounts': mounts(1),
              'mount+umount ms, none running': mount_cost()}
    begin = time.monotonic()
    subprocess.run(['systemctl', 'start'] + units(design, names), check=True)
    result['systemctl s'] = time.monotonic() - begin
    crun_done = None
    deadline = begin + TIMEOUT
    while True:
        now = time.monotonic()
        if design == 'new' and crun_done is None and crun_running() >= n:
            crun_done = now - begin
        running = commands_running()
        if len(running) >= n and (design == 'old' or crun_done is not None):
            result['all running s'] = now - begin
            break
        if now > deadline:
            raise RuntimeError('%s: %d of %d running after %d s' % (design, len(running), n, TIMEOUT))
        time.sleep(POLL)
    if crun_done is not None:
        result['crun list all running s'] = crun_done
    result['load after'] = load()
    wait_idle()
    # What each workload's root shows: with RootDirectory= the host's mounts are still in the service's namespace,
    # beneath its root (see the mount+umount cost), so this is not the size of its namespace.
    result['workload mounts (sum)'] = sum(mounts(pid) for pid in running)
    result['host mounts, running'] = mounts(1)
    result['mount+umount ms, running'] = mount_cost()
    result['stop s'] = stop_all(names)
    return result


def plain_bundle(item: dict) -> str:
    """A bundle of the same config.json without linux.seccomp (root.path is absolute, so the directory may move)."""
    bundle = '/run/anatomy-bench/plain/' + item['name']
    os.makedirs(bundle, exist_ok=True)
    with open(os.path.join(item['bundle'], 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    config['linux'].pop('seccomp', None)
    with open(os.path.join(bundle, 'config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f)
    return bundle


def process_ms(argv: list, rounds: int = 20) -> float:
    times = []
    for _round in range(rounds):
        begin = time.monotonic()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.monotonic() - begin)
    return sorted(times)[len(times) // 2] * 1000


def serial(plain: bool = False) -> dict:
    items = definitions()
    names = [item['name'] for item in items]
    stop_all(names)
    wait_idle()
    bundles = [plain_bundle(item) if plain else item['bundle'] for item in items]
    result = {'design': 'crun run, no seccomp' if plain else 'crun run', 'n': len(items), 'load before': load(),
              'unshare -m true ms': process_ms(['unshare', '-m', 'true']),
              'crun --version ms': process_ms(CRUN + ['--version']), 'true ms': process_ms(['true'])}
    times = []
    with open(os.devnull, 'r+b') as null:
        for item, bundle in zip(items, bundles):
            begin = time.monotonic()
            subprocess.run(CRUN + ['--cgroup-manager=disabled', 'run', '--no-new-keyring', '--detach', '--bundle',
                                   bundle, item['name']], stdin=null, stdout=null, stderr=null, check=True)
            times.append(time.monotonic() - begin)
    # `crun run --detach` returns once the container is started; its command (sh, then httpd) may still be exec'ing.
    deadline = time.monotonic() + TIMEOUT
    while len(commands_running()) < len(items) and time.monotonic() < deadline:
        time.sleep(POLL)
    result['load after'] = load()
    result['per container ms'] = [round(t * 1000, 2) for t in times]
    result['total s'] = sum(times)
    result['running'] = len(commands_running())
    begin = time.monotonic()
    for item in items:
        subprocess.run(CRUN + ['delete', '--force', item['name']], stdout=subprocess.DEVNULL, check=False)
    result['delete s'] = time.monotonic() - begin
    return result


def main(argv: list) -> int:
    if argv[0] == 'old-units':
        out = old_units()
    elif argv[0] == 'start':
        out = start(argv[1])
    elif argv[0] == 'serial':
        out = serial(argv[1:] == ['plain'])
    elif argv[0] == 'restore':
        names = [item['name'] for item in definitions()]
        stop_all(names)
        subprocess.run(['systemctl', 'start'] + units('new', names), check=True)
        out = {'restored': len(names)}
    else:
        raise SystemExit('usage: runtime_host.py old-units | start new|old | serial [plain] | restore')
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
