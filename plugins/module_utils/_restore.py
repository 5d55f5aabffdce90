# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a host brings back by itself: at boot, and when a firewall reload wipes our rules.

This is a private module_util: its API may change without notice.

Each module that makes kernel objects (links, namespaces, addresses, rules, mounts) writes, as it converges,
a record of all the objects of its kind that this collection owns after the run: the module's own
parameters with ``config`` the owned objects (its ``after``) and ``state: overridden``. Records live on
disk under :data:`RESTORE_DIR` (never on a tmpfs), one file per module.

The restore program is this module as a Python zip application (:func:`build_program`), which the
container_host role installs with two systemd units (:func:`units`):

- ``anatomy-restore.service`` (boot, a oneshot before the workloads): runs each record, in the order the
  objects are made, through the module's own run function with ``state: merged``: exactly what the module
  does when Ansible runs it. A record that fails is run again workload by workload, so that one broken
  workload does not keep the others down; each workload whose part failed gets a marker that its unit's
  ``ExecStartPre`` turns into a failed start, with the reason in its journal.
- ``anatomy-firewall.service`` (always running): waits for netfilter changes (``nft monitor``; a poll where
  only the legacy iptables backend is used) and runs the netfilter records with ``state: overridden`` when
  our rules differ from them: after ``nft flush ruleset``, a restart of nftables or netfilter-persistent, or
  a firewalld reload. Rules of others are never touched: the modules only read and write our own.

Module runs and the restore program take the same lock (the netfilter modules' ``run_lock``), so the program
never reads a record in the middle of a module's change.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

from ansible_collections.anatomy.containers.plugins.module_utils._resource import OWNER_MARK

#: Records of what the modules converged, one JSON file per module; kept across reboots.
RESTORE_DIR = '/var/lib/anatomy/restore'
#: Where a boot's outcome is kept: ``status.json`` and ``failed/WORKLOAD`` (the reason), for this boot only.
STATUS_DIR = '/run/anatomy/restore'
PROGRAM = '/usr/local/sbin/anatomy-restore'
UNIT_DIR = '/etc/systemd/system'
RESTORE_UNIT = 'anatomy-restore.service'
FIREWALL_UNIT = 'anatomy-firewall.service'

#: The modules whose objects come back at boot, in the order they are made.
ORDER = ('bridge', 'nat_masquerade', 'port_forward', 'netns', 'veth', 'netns_addr', 'overlay_mount', 'bind_volume')
#: Objects of the host as a whole: when one of them fails, nothing of a workload can work.
HOST_MODULES = ('bridge', 'nat_masquerade', 'port_forward')
NETFILTER_MODULES = ('nat_masquerade', 'port_forward')
#: Parameters a record never keeps: a restore makes, it never purges.
RECORD_PARAMS = {'overlay_mount': {'purge': False, 'lazy_unmount': False},
                 'bind_volume': {'purge': False, 'lazy_unmount': False}}
#: How often the firewall watch looks at our rules when no event says they changed (the legacy iptables backend
#: has no events), and how long it lets a burst of changes settle (a restart flushes, then loads) before it looks.
POLL_SECONDS = 2.0
SETTLE_SECONDS = 0.3


def record_path(module: str, directory: str | None = None) -> str:
    return os.path.join(directory or RESTORE_DIR, module + '.json')


def record_text(module: str, params: dict, after: list, extra: dict | None = None) -> str:
    params = {key: value for key, value in params.items() if key not in ('config', 'state')}
    params.update(RECORD_PARAMS.get(module, {}), config=after, state='overridden')
    data = {'owner': OWNER_MARK, 'module': module, 'params': params}
    if extra:
        data['extra'] = extra
    return json.dumps(data, sort_keys=True, separators=(',', ':')) + '\n'


def write_record(module: str, params: dict, after: list, directory: str | None = None, extra: dict | None = None) -> bool:
    """Keep what ``module`` owns after a run, for the restore program; no objects, no record. True when written.

    Written to a temporary file, synced and renamed: a crash leaves the old record or the new one, never half.
    """
    path = record_path(module, directory)
    if not after:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True
    text = record_text(module, params, after, extra).encode('utf-8')
    try:
        with open(path, 'rb') as handle:
            if handle.read() == text:
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    # A name of its own: two module runs outside the roles (which serialize theirs) never write the same file.
    descriptor, temporary = tempfile.mkstemp(prefix='.%s.' % module, suffix='.tmp', dir=os.path.dirname(path))
    try:
        with os.fdopen(descriptor, 'wb') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    directory_fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)
    return True


def load_records(directory: str | None = None) -> dict:
    """{module: params} of the records on disk; a record that cannot be read is reported, not skipped silently."""
    records, problems, extras = {}, [], {}
    for module in ORDER:
        try:
            with open(record_path(module, directory)) as handle:
                data = json.load(handle)
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            problems.append('%s: %s' % (record_path(module, directory), exc))
            continue
        if not isinstance(data, dict) or data.get('owner') != OWNER_MARK or data.get('module') != module \
                or not isinstance(data.get('params'), dict) or not isinstance(data['params'].get('config'), list):
            problems.append('%s: not a record of %s' % (record_path(module, directory), OWNER_MARK))
            continue
        records[module] = data['params']
        if isinstance(data.get('extra'), dict):
            extras[module] = data['extra']
    return {'records': records, 'problems': problems, 'extras': extras}


# -- running a module without Ansible -----------------------------------------------------------------------------

class Exit(Exception):
    """A module's exit_json or fail_json: its result."""

    def __init__(self, result: dict):
        super().__init__(result.get('msg', ''))
        self.result = result


class RecordModule:
    """What a module's run function uses of its AnsibleModule, for a record run by the restore program."""

    check_mode = False
    _diff = False
    #: Read by run_module: a restore makes what a record holds and never rewrites it. What it owns afterwards is
    #: less than the record when a part failed, and that part must still be in the record at the next boot.
    keeps_records = False

    def __init__(self, name: str, params: dict, log=None):
        self._name = 'anatomy.containers.' + name
        self.params = params
        self._log = log or (lambda message: None)
        self._tmpdir = None

    def run_command(self, args, data=None, binary_data=False, check_rc=False, **_kwargs):
        if isinstance(data, str):
            data = data.encode('utf-8') if binary_data else (data + '\n').encode('utf-8')
        process = subprocess.run(args, input=data, capture_output=True, check=False)
        out = process.stdout.decode('utf-8', 'surrogateescape')
        err = process.stderr.decode('utf-8', 'surrogateescape')
        if check_rc and process.returncode != 0:
            self.fail_json(msg='%s failed (rc=%d): %s' % (args[0], process.returncode, err.strip()))
        return process.returncode, out, err

    @staticmethod
    def get_bin_path(name, required=False, opt_dirs=None):
        path = os.pathsep.join([os.environ.get('PATH', '/usr/bin:/bin'), '/usr/local/sbin', '/usr/sbin', '/sbin']
                               + list(opt_dirs or ()))
        return shutil.which(name, path=path)

    @property
    def tmpdir(self):
        if self._tmpdir is None:
            import tempfile
            self._tmpdir = tempfile.mkdtemp(prefix='anatomy-restore-')
        return self._tmpdir

    def warn(self, warning):
        self._log('%s: warning: %s' % (self._name, warning))

    def deprecate(self, msg, *_args, **_kwargs):
        self.warn(msg)

    def exit_json(self, **kwargs):
        raise Exit(kwargs)

    def fail_json(self, msg, **kwargs):
        raise Exit(dict(kwargs, msg=msg, failed=True))

    def cleanup(self):
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)


def _run_functions() -> dict:
    # Imported here: the program needs them, the modules that only write records do not.
    from ansible_collections.anatomy.containers.plugins.module_utils._netlink_resources import (
        run_bridge, run_netns, run_netns_addr, run_veth,
    )
    from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.engine import (
        run_nat_masquerade, run_port_forward,
    )
    from ansible_collections.anatomy.containers.plugins.module_utils._mounts_resources import (
        run_bind_volume, run_overlay_mount,
    )
    return {'bridge': run_bridge, 'nat_masquerade': run_nat_masquerade, 'port_forward': run_port_forward,
            'netns': run_netns, 'veth': run_veth, 'netns_addr': run_netns_addr, 'overlay_mount': run_overlay_mount,
            'bind_volume': run_bind_volume}


def run_record(module: str, params: dict, config: list, state: str, log=None, run_functions=None) -> dict:
    """Run ``module`` as Ansible would, with the record's params and this config and state: its result."""
    run = (run_functions or _run_functions())[module]
    task = RecordModule(module, dict(params, config=config, state=state), log)
    try:
        run(task)
    except Exit as exc:
        return exc.result
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return dict(failed=True, msg='%s: %s' % (type(exc).__name__, exc))
    finally:
        task.cleanup()
    return dict(failed=True, msg='the module ended without a result')


# -- which workload an object belongs to ----------------------------------------------------------------------------

def read_workloads(unit_dir: str = UNIT_DIR) -> list:
    """The definitions in our workload units' ownership marks (name, netns, root)."""
    from ansible_collections.anatomy.containers.plugins.module_utils._services import UNIT_PREFIX, parse_mark
    definitions = []
    try:
        names = sorted(os.listdir(unit_dir))
    except OSError:
        return definitions
    for unit in names:
        if not (unit.startswith(UNIT_PREFIX) and unit.endswith('.service')):
            continue
        try:
            with open(os.path.join(unit_dir, unit)) as handle:
                first = handle.readline()
        except OSError:
            continue
        definition = parse_mark(first, unit[len(UNIT_PREFIX):-len('.service')])
        if definition is not None:
            definitions.append(definition)
    return definitions


def owner_of(module: str, item: dict, workloads: list):
    """The workload an object of a record belongs to, None for objects of the host or of no workload of ours."""
    for workload in workloads:
        netns = str(workload.get('netns') or '')
        netns = netns.rsplit('/', 1)[-1]
        root = str(workload.get('root') or '').rstrip('/')
        if module == 'netns' and item.get('name') == netns:
            return workload['name']
        if module in ('veth', 'netns_addr') and item.get('netns') == netns:
            return workload['name']
        if module == 'overlay_mount' and str(item.get('path') or '').rstrip('/') == root:
            return workload['name']
        if module == 'bind_volume' and str(item.get('root') or '').rstrip('/') == root:
            return workload['name']
    return None


# -- boot ---------------------------------------------------------------------------------------------------------

def restore(records: dict, workloads: list, run=run_record, log=None) -> dict:
    """Make what the records hold: each module's record in one run, and when that fails, workload by workload.

    Returns ``failed_host`` (messages about the host's own objects, which leave every workload without a network)
    and ``failed`` ({workload: [messages]}).
    """
    log = log or (lambda message: None)
    failed_host, failed = [], {}
    for module in ORDER:
        params = records.get(module)
        if params is None:
            continue
        config = params['config']
        if failed:
            # Nothing more of a workload whose earlier part failed: its binds would land in an empty directory where
            # its root filesystem is not mounted, and hide under it once it is.
            kept = []
            for item in config:
                owner = owner_of(module, item, workloads)
                if owner in failed:
                    if not failed[owner][-1].startswith(module + ':'):
                        failed[owner].append('%s: skipped, an earlier part failed' % module)
                else:
                    kept.append(item)
            config = kept
            if not config:
                continue
        result = run(module, params, config, 'merged', log=log)
        if not result.get('failed'):
            log('%s: %d restored%s' % (module, len(config), ', changed' if result.get('changed') else ''))
            continue
        if module in HOST_MODULES:
            failed_host.append('%s: %s' % (module, result.get('msg')))
            log('%s: FAILED: %s' % (module, result.get('msg')))
            continue
        # One run per workload finds the ones that fail; the others come back.
        groups = {}
        for item in config:
            groups.setdefault(owner_of(module, item, workloads), []).append(item)
        for owner, items in sorted(groups.items(), key=lambda pair: str(pair[0])):
            part = run(module, params, items, 'merged', log=log)
            if part.get('failed'):
                message = '%s: %s' % (module, part.get('msg'))
                log('%s: FAILED for %s: %s' % (module, owner or 'objects of no workload', part.get('msg')))
                if owner is None:
                    failed_host.append(message)
                else:
                    failed.setdefault(owner, []).append(message)
    return {'failed_host': failed_host, 'failed': failed}


def write_status(outcome: dict, workloads: list, problems: list, directory: str | None = None) -> None:
    """The boot's outcome where the workload units look: a failed host fails every workload."""
    directory = directory or STATUS_DIR
    failed_dir = os.path.join(directory, 'failed')
    shutil.rmtree(failed_dir, ignore_errors=True)
    os.makedirs(failed_dir, mode=0o755, exist_ok=True)
    host = outcome['failed_host'] + problems
    for workload in workloads:
        reasons = (['the host: ' + message for message in host]) + outcome['failed'].get(workload['name'], [])
        if reasons:
            with open(os.path.join(failed_dir, workload['name']), 'w') as handle:
                handle.write('restore at boot failed: %s\n' % '; '.join(reasons))
    with open(os.path.join(directory, 'status.json'), 'w') as handle:
        json.dump(dict(outcome, problems=problems, time=time.time()), handle, sort_keys=True)


def failure_marker(name: str, directory: str | None = None) -> str:
    return os.path.join(directory or STATUS_DIR, 'failed', name)


def clear_failure(name: str, directory: str | None = None) -> None:
    """A workload that a module run starts starts whatever the boot's restore said of it."""
    try:
        os.unlink(failure_marker(name, directory))
    except FileNotFoundError:
        pass


def adopt_created(extras: dict) -> None:
    """The dirs the first mounts made, back into the records of the mounts the restore made again, so that removing a
    workload after a reboot still tidies its dir away."""
    from ansible_collections.anatomy.containers.plugins.module_utils._mounts_resources import BindVolume, OverlayMount
    for module, resource_class in (('overlay_mount', OverlayMount), ('bind_volume', BindVolume)):
        created = (extras.get(module) or {}).get('created')
        if created:
            resource_class(kernel=None).adopt_created(created)


def boot(log) -> int:
    from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.engine import run_lock
    with run_lock():
        loaded = load_records()
        workloads = read_workloads()
        started = time.monotonic()
        outcome = restore(loaded['records'], workloads, log=log)
        adopt_created(loaded['extras'])
        write_status(outcome, workloads, loaded['problems'])
    for problem in loaded['problems']:
        log('record not used: %s' % problem)
    log('restored in %.2f s: %d workload(s) failed%s' % (
        time.monotonic() - started, len(outcome['failed']), ', the host failed' if outcome['failed_host'] else ''))
    return 1 if outcome['failed_host'] or loaded['problems'] else 0


# -- the firewall watch ---------------------------------------------------------------------------------------------

def reapply_netfilter(log, run=run_record) -> bool:
    """Our rules as their records say, when they differ: True when something was changed."""
    from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.engine import run_lock
    changed = False
    with run_lock():
        records = load_records()['records']
        for module in NETFILTER_MODULES:
            params = records.get(module)
            if params is None:
                continue
            result = run(module, params, params['config'], 'overridden', log=log)
            if result.get('failed'):
                log('%s: FAILED to put our rules back: %s' % (module, result.get('msg')))
            elif result.get('changed'):
                changed = True
                log('%s: our rules were changed by someone else; put back from the record' % module)
    return changed


def _monitor():
    """``nft monitor`` of table, chain and rule changes (iptables-nft's too); None without nft."""
    nft = RecordModule.get_bin_path('nft')
    if nft is None:
        return None
    try:
        return subprocess.Popen([nft, 'monitor'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    except OSError:
        return None


def watch(log, poll: float = POLL_SECONDS, settle: float = SETTLE_SECONDS, rounds=None) -> int:
    """Put our rules back whenever they go: on each netfilter event, and every ``poll`` seconds."""
    monitor = _monitor()
    reapply_netfilter(log)
    count = 0
    while rounds is None or count < rounds:
        count += 1
        if monitor is not None and monitor.poll() is None:
            ready, _w, _x = select.select([monitor.stdout], [], [], poll)
            if ready:
                if not monitor.stdout.read(65536):
                    monitor = _monitor()
                # A restart of a firewall flushes, then loads: look once it is done.
                deadline = time.monotonic() + settle
                while monitor is not None:  # None: nft monitor ended and could not be started again
                    left = deadline - time.monotonic()
                    if left <= 0 or not select.select([monitor.stdout], [], [], left)[0]:
                        break
                    if not monitor.stdout.read(65536):
                        break
        else:
            if monitor is not None:
                monitor = _monitor()
            time.sleep(poll)
        reapply_netfilter(log)
    return 0


# -- the program and its units -------------------------------------------------------------------------------------

def _log(message: str) -> None:
    sys.stderr.write(message + '\n')
    sys.stderr.flush()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ['boot']:
        return boot(_log)
    if argv == ['watch']:
        return watch(_log)
    if argv == ['netfilter']:
        reapply_netfilter(_log)
        return 0
    sys.stderr.write('usage: %s boot|watch|netfilter\n'
                     '  boot       make what the records in %s hold (anatomy-restore.service)\n'
                     '  watch      keep our netfilter rules as recorded (anatomy-firewall.service)\n'
                     '  netfilter  put our netfilter rules back once\n' % (PROGRAM, RESTORE_DIR))
    return 2


MAIN = ('# anatomy.containers restore program: %s boot|watch|netfilter\n'
        'from ansible_collections.anatomy.containers.plugins.module_utils._restore import main\n'
        'raise SystemExit(main())\n' % PROGRAM)
PACKAGE_PATH = 'ansible_collections/anatomy/containers/plugins/module_utils'


def build_program(module_utils: str) -> bytes:
    """The restore program: a Python zip application of this collection's module_utils, byte for byte the same
    for the same sources (fixed times and modes), so its digest says whether a host has this version."""
    entries = {'__main__.py': MAIN.encode('utf-8')}
    parts = PACKAGE_PATH.split('/')
    for depth in range(1, len(parts)):
        entries['/'.join(parts[:depth]) + '/__init__.py'] = b''
    for folder, dirs, files in os.walk(module_utils):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                with open(path, 'rb') as handle:
                    entries[PACKAGE_PATH + '/' + os.path.relpath(path, module_utils).replace(os.sep, '/')] = handle.read()
    entries.setdefault(PACKAGE_PATH + '/__init__.py', b'')
    buffer = io.BytesIO()
    buffer.write(b'#!/usr/bin/python3\n')
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name])
    return buffer.getvalue()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def units(program: str = PROGRAM) -> dict:
    """{unit file path: text} of the two units the container_host role installs."""
    restore = '\n'.join([
        '# %s: the host brings back what the last run converged' % OWNER_MARK,
        '[Unit]',
        'Description=%s: restore networks, rules, namespaces and mounts of the workloads' % OWNER_MARK,
        'Documentation=file://%s' % RESTORE_DIR,
        # Firewall services that load a rule set which starts with "flush ruleset" go first; sysctls too.
        'After=local-fs.target systemd-sysctl.service nftables.service netfilter-persistent.service '
        'firewalld.service iptables.service',
        'ConditionPathIsDirectory=%s' % RESTORE_DIR,
        '',
        '[Service]',
        'Type=oneshot',
        'RemainAfterExit=yes',
        'ExecStart=/usr/bin/python3 %s boot' % program,
        'SyslogIdentifier=anatomy-restore',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
    ])
    firewall = '\n'.join([
        '# %s: our netfilter rules back within seconds of a firewall reload or flush' % OWNER_MARK,
        '[Unit]',
        'Description=%s: keep our netfilter rules in place' % OWNER_MARK,
        'After=%s' % RESTORE_UNIT,
        '',
        '[Service]',
        'Type=simple',
        'ExecStart=/usr/bin/python3 %s watch' % program,
        'Restart=always',
        'RestartSec=1',
        'SyslogIdentifier=anatomy-firewall',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
    ])
    return {os.path.join(UNIT_DIR, RESTORE_UNIT): restore, os.path.join(UNIT_DIR, FIREWALL_UNIT): firewall}


def installed_paths() -> list:
    """What the container_host role installs for the restore: the units' files, the program, the records."""
    return sorted(os.path.join(UNIT_DIR, unit) for unit in (RESTORE_UNIT, FIREWALL_UNIT)) + [PROGRAM, RESTORE_DIR]


def host_changes(facts: dict, program_digest: str | None, present: bool) -> dict:
    """What the container_host role does about the program and its units, from the host read (``_host_plan.HostRead``).

    Present: the program and unit files that differ, and the units to enable, start or restart (the firewall watch
    restarted when the program or its unit changed). Absent: the units to stop and the paths to remove.
    """
    wanted = units()
    texts, dirs, states = facts['texts'], facts['dirs'], facts.get('units', {})
    result = dict(program=PROGRAM, program_changed=False, units_changed=[], services=[], stop=[], remove=[])
    if not present:
        result['remove'] = [path for path in installed_paths() if texts.get(path) or path in dirs]
        result['stop'] = [os.path.basename(path) for path in result['remove'] if path in wanted]
        result['changed'] = bool(result['remove'])
        return result
    result['program_changed'] = facts.get('sums', {}).get(PROGRAM) != program_digest
    result['units_changed'] = [{'path': path, 'content': text} for path, text in sorted(wanted.items())
                               if texts.get(path) != text]
    changed_units = {os.path.basename(entry['path']) for entry in result['units_changed']}
    restore_state = states.get(RESTORE_UNIT, {})
    if RESTORE_UNIT in changed_units or restore_state.get('enabled') != 'enabled':
        # Enabled for the next boot; not started now: what it would restore was just converged.
        result['services'].append({'name': RESTORE_UNIT, 'state': None})
    firewall_state = states.get(FIREWALL_UNIT, {})
    if result['program_changed'] or FIREWALL_UNIT in changed_units:
        result['services'].append({'name': FIREWALL_UNIT, 'state': 'restarted'})
    elif firewall_state.get('enabled') != 'enabled' or firewall_state.get('active') != 'active':
        result['services'].append({'name': FIREWALL_UNIT, 'state': 'started'})
    result['changed'] = bool(result['program_changed'] or result['units_changed'] or result['services'])
    return result
