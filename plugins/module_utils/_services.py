# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A container's process as a systemd service: unit files, and systemctl in as few calls as possible.

This is a private module_util: its API may change without notice.

A workload service is a unit file ``anatomy-workload-NAME.service`` whose first line carries the
service's definition as JSON: that line is the ownership mark, and what ``gathered`` reports. The rest
of the file is rendered from the definition, so a unit edited by hand no longer matches its rendering
and is rewritten (and restarted) on the next run.

A workload with a health check also has the timer and oneshot service of its check (see ``_health``), written,
reloaded, started and removed with it in the same calls.

A run costs one ``systemctl show`` for every unit it reads, and at most one call each of
``disable --now``, ``daemon-reload``, ``enable``, ``restart``, ``start`` and ``stop``, whatever the
number of services: Ansible's per-item cost is what a loop of systemd_service tasks pays.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess

from ansible_collections.anatomy.containers.plugins.module_utils import _health, _oci, _restore
from ansible_collections.anatomy.containers.plugins.module_utils._resource import (
    OWNER_MARK, Resource, ResourceError, run_module, state_argument_spec,
)

UNIT_DIR = '/etc/systemd/system'
RUNTIME = '/usr/bin/crun'
DEFAULT_BUNDLES = '/var/lib/anatomy/bundles'
#: The container's standard input in its bundle: an empty file.
STDIN = 'stdin'
#: The runtime's state directory for this collection's containers: its own, so that names cannot collide with
#: containers of Podman or others on the host.
RUNTIME_ROOT = '/run/anatomy/crun'
UNIT_PREFIX = 'anatomy-workload-'
MARK = '# %s workload service: ' % OWNER_MARK

# Docker's default capability set (moby oci/caps/defaults.go).
DEFAULT_CAPABILITIES = (
    'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
    'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
    'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
)

# Every capability Linux knows (capability.h, 6.x): a name outside it is a typo, not a capability.
CAPABILITIES = frozenset((
    'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
    'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
    'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT',
    'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
    'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
    'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND',
    'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
))

NAME_RE = re.compile(r'^[a-z0-9][a-z0-9_.-]{0,62}$')
CAPABILITY_RE = re.compile(r'^CAP_[A-Z_]+$')
ENV_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
HOSTNAME_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$')
USER_RE = re.compile(r'^([a-z_][a-z0-9_-]*[$]?|[0-9]+)$', re.IGNORECASE)
# What systemd counts as running: a unit restarting after a failure is "activating".
RUNNING_STATES = ('active', 'activating', 'reloading')
ENABLED_STATES = ('enabled', 'enabled-runtime')


def unit_name(name: str) -> str:
    return UNIT_PREFIX + name + '.service'


def parse_mark(first_line: str, name: str):
    """The definition in the first line of workload NAME's unit (its ownership mark); None when that unit is not a
    workload of ours by that name."""
    if not first_line.startswith(MARK):
        return None
    try:
        definition = json.loads(first_line[len(MARK):])
    except ValueError:
        return None
    return definition if isinstance(definition, dict) and definition.get('name') == name else None


def quote_arg(arg: str) -> str:
    """One word of ExecStart=: quoted, with systemd's specifiers (%) and variables ($) kept literal."""
    return '"%s"' % arg.replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%').replace('$', '$$')


def quote_assignment(key: str, value: str) -> str:
    """An Environment= assignment, kept literal (specifiers expand there too)."""
    return '"%s=%s"' % (key, value.replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%'))


RESTART_RE = re.compile(r'^(no|always|unless-stopped|on-failure(?::([0-9]+))?)$')
SIGNAL_RE = re.compile(r'^SIG[A-Z0-9+-]+$')


def runtime_argv(*args: str) -> list:
    """The OCI runtime's command line, on the runtime state directory of this collection's containers alone."""
    return [RUNTIME, '--root', RUNTIME_ROOT] + list(args)


def _restart_lines(policy: str) -> tuple:
    """Docker's restart policy as systemd's: ([Unit] lines, [Service] lines).

    systemd never restarts a unit stopped by hand, and starts enabled units at boot: ``always`` and
    ``unless-stopped`` are both Restart=always. ``on-failure:N`` allows N restarts in the unit's lifetime
    (StartLimitBurst counts the first start too; the module resets the count when it starts the unit).
    """
    match = RESTART_RE.match(policy)
    if policy == 'no':
        return ['StartLimitIntervalSec=0'], ['Restart=no']
    if match.group(2) is not None:
        return (['StartLimitIntervalSec=infinity', 'StartLimitBurst=%d' % (int(match.group(2)) + 1)],
                ['Restart=on-failure', 'RestartSec=1'])
    return ['StartLimitIntervalSec=0'], ['Restart=%s' % ('on-failure' if policy == 'on-failure' else 'always'),
                                         'RestartSec=1']


def _limit_lines(limits: dict) -> list:
    """The limits as systemd enforces them on the unit's cgroup, which holds the runtime and every process of the
    container (the runtime runs with its own cgroup management off, as Podman's split mode leaves it to systemd)."""
    lines = []
    if limits.get('memory'):
        lines += ['MemoryMax=%d' % limits['memory'], 'MemorySwapMax=0']
    if limits.get('cpus'):
        lines.append('CPUQuota=%d%%' % round(limits['cpus'] * 100))
    if limits.get('cpu_shares'):
        lines.append('CPUWeight=%d' % _oci.cpu_weight(limits['cpu_shares']))
    if limits.get('pids'):
        lines.append('TasksMax=%d' % limits['pids'])
    return lines


def render(item: dict) -> str:
    """The unit file of one service. Its first line is the ownership mark and the definition."""
    definition = {k: v for k, v in item.items() if k not in ('running', 'enabled')}
    name = item['name']
    unit_lines, restart_lines = _restart_lines(item['restart'])
    runtime = ' '.join(quote_arg(arg) for arg in runtime_argv())
    health_lines, health_reset = [], []
    if item.get('healthcheck'):
        # The check's timer starts with the service (and, PartOf= it, stops and restarts with it); each start
        # resets the status to "starting", as Docker's.
        health_lines = ['Wants=' + _health.health_units(name)[0]]
        runner = quote_arg(_health.runner_path(item['bundle']))
        health_reset = ['ExecStartPre=-/bin/sh %s reset %s' % (runner, quote_arg(name))]
    lines = [
        MARK + json.dumps(definition, sort_keys=True, separators=(',', ':')),
        '[Unit]',
        'Description=%s workload %s' % (OWNER_MARK, name),
        # At boot the host's restore program makes the workload's network and root filesystem first. Ordered only: a
        # start of the workload by a module run (which holds the host's run lock) must not pull the restore in.
        'After=network.target ' + _restore.RESTORE_UNIT,
    ] + health_lines + unit_lines + [
        '',
        '[Service]',
        'Type=simple',
        # When that restore failed for this workload, its start fails with the reason, in the unit's journal.
        'ExecStartPre=/bin/sh -c %s %s' % (quote_arg('if [ -e "$0" ]; then cat "$0" >&2; exit 1; fi'),
                                           quote_arg(_restore.failure_marker(name))),
        # A container left behind by a killed runtime would keep its name taken.
        'ExecStartPre=-%s delete --force %s' % (runtime, quote_arg(name)),
    ] + health_reset + [
        'ExecStart=%s --cgroup-manager=disabled run --no-new-keyring --bundle %s %s'
        % (runtime, quote_arg(item['bundle']), quote_arg(name)),
        # The runtime hands its standard streams to the container's user (fchown): an empty file of the bundle's
        # own, not the host's /dev/null, which would become that user's.
        'StandardInput=file:' + os.path.join(item['bundle'], STDIN),
        # Until the runtime's record is gone: killed together with the container, the runtime may leave it for a moment.
        # Killed together with the container, the runtime may leave its record, which crun delete does not always
        # remove at once: then the record of a container that no longer runs is removed by hand (what delete does).
        'ExecStopPost=-/bin/sh -c %s' % quote_arg(
            'for try in 1 2 3 4 5; do %(crun)s delete --force "$0" && exit 0; %(crun)s state "$0" >/dev/null 2>&1 || exit 0; '
            'sleep 0.2; done; %(crun)s state "$0" | grep -q \'"running"\' || rm -rf -- "%(root)s/$0"'
            % {'crun': ' '.join(runtime_argv()), 'root': RUNTIME_ROOT}) + ' ' + quote_arg(name),
        # The runtime passes the stop signal on to the container's PID 1; after the timeout every process of the
        # unit's cgroup, the container's included, is killed.
        'KillMode=mixed',
        'KillSignal=' + item['stop_signal'],
        'TimeoutStopSec=%d' % item['stop_timeout'],
        # The runtime exits 128+15 when the container's PID 1 ends by SIGTERM: a clean stop, as systemd counts it.
        'SuccessExitStatus=143',
    ] + restart_lines + _limit_lines(item['limits']) + [
        # The device allow-list of the container, where systemd can apply it (a writable devices controller, or BPF).
        'DevicePolicy=closed',
        'DeviceAllow=char-pts rw',
        'SyslogIdentifier=' + name,
        '',
        '[Install]',
        'WantedBy=multi-user.target',
    ]
    return '\n'.join(lines) + '\n'


def render_health(item: dict) -> dict:
    """{unit name: text} of the timer and oneshot service of a service's health check; {} without one."""
    return _health.render_units(item, unit_name(item['name']), quote_arg)


def netns_path(netns: str) -> str:
    return netns if netns.startswith('/') else '/run/netns/' + netns


def parse_show(text: str) -> dict:
    """`systemctl show` output for several units (blocks split by blank lines) as {unit: {property: value}}."""
    units = {}
    for block in text.split('\n\n'):
        props = dict(line.split('=', 1) for line in block.splitlines() if '=' in line)
        if props.get('Id'):
            units[props['Id']] = props
    return units


#: What a run asks systemd of each unit it reads, in one ``systemctl show`` for all of them.
SHOW_PROPERTIES = ('Id', 'ActiveState', 'UnitFileState', 'NeedDaemonReload')


class SystemctlError(Exception):
    pass


class Systemctl:
    """systemctl on this host. Unit tests pass a fake with the same two methods."""

    def __init__(self, binary: str = 'systemctl'):
        self.binary = binary

    def run(self, *args: str) -> str:
        proc = subprocess.run([self.binary] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, check=False)
        if proc.returncode != 0:
            raise SystemctlError('systemctl %s: %s' % (' '.join(args), (proc.stderr or proc.stdout).strip()))
        return proc.stdout

    def show(self, units: list, properties=SHOW_PROPERTIES) -> dict:
        if not units:
            return {}
        return parse_show(self.run('show', '--property=' + ','.join(properties), *units))


#: Where a unit's ControlGroup path is found: the unified hierarchy (cgroup v2, or v1's hybrid), else v1's own.
CGROUP_ROOTS = ('/sys/fs/cgroup', '/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd')


def kill_units(systemctl, units: list, cgroup_roots=CGROUP_ROOTS) -> None:
    """Kill UNITS at once, as ``docker rm -f`` does: SIGKILL to every process of each, without their stop signal and
    stop timeout. Their stop jobs go in first, so that systemd counts the kill as a stop by hand and restarts none.

    The processes are killed here, through each unit's cgroup, not with ``systemctl kill``: systemd takes its calls
    one by one while it is busy with the units that stop, about 30 ms each (29 s for 1,000 units in the lab).
    Returns without waiting for systemd to finish the stops (``systemctl stop`` waits for them).
    """
    if not units:
        return
    systemctl.run('stop', '--no-block', *units)
    groups = systemctl.show(units, properties=('Id', 'ControlGroup'))
    for unit in units:
        path = groups.get(unit, {}).get('ControlGroup')
        if path:
            kill_cgroup(path, cgroup_roots)


def kill_cgroup(path: str, cgroup_roots=CGROUP_ROOTS) -> None:
    """SIGKILL every process of the cgroup PATH (and below it): ``cgroup.kill`` where the kernel has it (5.14+, v2),
    else each process listed, until none is left (a process may fork while the others die)."""
    for root in cgroup_roots:
        directory = root + path
        if os.path.isfile(os.path.join(directory, 'cgroup.procs')):
            break
    else:
        return  # no processes left: systemd removed the cgroup
    if os.path.exists(os.path.join(directory, 'cgroup.kill')):
        try:
            with open(os.path.join(directory, 'cgroup.kill'), 'w') as handle:
                handle.write('1')
            return
        except OSError:
            pass
    for _round in range(10):
        pids = set()
        for dirpath, _dirs, _files in os.walk(directory):
            try:
                with open(os.path.join(dirpath, 'cgroup.procs')) as handle:
                    pids.update(int(pid) for pid in handle.read().split())
            except OSError:
                continue
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class WorkloadService(Resource):
    """A container's process as a systemd service running an OCI bundle, in its network namespace and root filesystem."""

    kind = 'workload service'
    key = 'name'
    defaults = {'command': None, 'root': None, 'netns': None, 'user': 'root', 'working_dir': '/',
                'environment': {}, 'capabilities': list(DEFAULT_CAPABILITIES), 'revision': '',
                'hostname': None, 'bundle': None, 'seccomp': 'default', 'no_new_privileges': True,
                'limits': {}, 'ulimits': {}, 'restart': 'on-failure', 'stop_timeout': 10, 'stop_signal': 'SIGTERM',
                'healthcheck': None, 'running': True, 'enabled': True}

    def __init__(self, systemctl=None, unit_dir: str = UNIT_DIR, host=None, health_dir: str = _health.HEALTH_DIR,
                 status_dir: str | None = None):
        self.systemctl = systemctl or Systemctl()
        self.unit_dir = unit_dir
        self.host = host or BundleHost()
        self.health_dir = health_dir
        #: Where the boot's restore marks the workloads it could not bring back (_restore.STATUS_DIR).
        self.status_dir = status_dir
        self.texts: dict = {}
        # The health checks' units on disk: {unit: text} and {unit: the service it belongs to}.
        self.health_texts: dict = {}
        self.health_owners: dict = {}
        # Files where a health check's units would go that are not ours.
        self.foreign_units: set = set()
        self.runtime: dict = {}
        self.bundles: dict = {}

    def path(self, name: str) -> str:
        return os.path.join(self.unit_dir, unit_name(name))

    # -- reading --------------------------------------------------------------
    def read(self):
        owned, foreign, self.texts, self.health_texts, self.health_owners = [], set(), {}, {}, {}
        self.foreign_units = set()
        try:
            files = sorted(os.listdir(self.unit_dir))
        except FileNotFoundError:
            files = []
        for filename in files:
            health = filename.endswith('-health.timer') or filename.endswith('-health.service')
            if not (filename.startswith(UNIT_PREFIX) and (filename.endswith('.service') or health)):
                continue
            name = filename[len(UNIT_PREFIX):-len('.service')]
            try:
                with open(os.path.join(self.unit_dir, filename)) as unit:
                    text = unit.read()
                first = text.split('\n', 1)[0]
                if first.startswith(_health.HEALTH_MARK):
                    self.health_texts[filename] = text
                    self.health_owners[filename] = first[len(_health.HEALTH_MARK):]
                    continue
                if filename.endswith('.timer'):
                    self.foreign_units.add(filename)
                    continue
                definition = parse_mark(first, name)
            except OSError:
                definition = None
            if definition is None:
                foreign.add(name)
                if health:
                    self.foreign_units.add(filename)
                continue
            self.texts[name] = text
            owned.append(definition)
        units = [unit_name(item['name']) for item in owned]
        # The health units in the same call: whether the timer runs, and whether systemd has the files as they are.
        units += [unit for item in owned if item.get('healthcheck') for unit in _health.health_units(item['name'])]
        self.runtime = self.systemctl.show(units)
        for item in owned:
            props = self.runtime.get(unit_name(item['name']), {})
            # A workload whose restore at boot failed is not running, though systemd may keep trying it: a run that
            # converged its parts since starts it, and clears the mark.
            item['running'] = props.get('ActiveState') in RUNNING_STATES \
                and not os.path.exists(_restore.failure_marker(item['name'], self.status_dir))
            item['enabled'] = props.get('UnitFileState') in ENABLED_STATES
        return owned, foreign

    # -- validation -----------------------------------------------------------
    def normalize(self, item):
        name = item.get('name')
        what = self.describe(name)
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ResourceError('%s: name must be 1 to 63 lower-case letters, digits, "_", "." or "-"' % what,
                                field='name')
        command = item.get('command')
        if not command or not isinstance(command, (list, tuple)):
            raise ResourceError('%s: command is required, a list of the program and its arguments' % what,
                                field='command')
        command = [str(arg) for arg in command]
        if any('\n' in arg or '\0' in arg for arg in command) or not command[0]:
            raise ResourceError('%s: command words must be non-empty and hold no newline or NUL' % what,
                                field='command')
        for field in ('root', 'working_dir'):
            value = item.get(field)
            if not isinstance(value, str) or not value.startswith('/') or '\n' in value:
                raise ResourceError('%s: %s must be an absolute path, got %r' % (what, field, value), field=field)
        root = item['root'].rstrip('/') or '/'
        bundle = item.get('bundle') or os.path.join(DEFAULT_BUNDLES, name)
        if not bundle.startswith('/') or '\n' in bundle or bundle.rstrip('/') == root:
            raise ResourceError('%s: bundle must be an absolute path other than the root, got %r' % (what, bundle),
                                field='bundle')
        netns = item.get('netns')
        if netns is not None and (not isinstance(netns, str) or not netns or '\n' in netns
                                  or ('/' in netns and not netns.startswith('/'))):
            raise ResourceError('%s: netns must be a namespace name or an absolute path, got %r' % (what, netns),
                                field='netns')
        user = str(item.get('user'))
        if not all(USER_RE.match(part) for part in user.split(':', 1)):
            raise ResourceError('%s: user %r is not a user name or a numeric ID, optionally with :group' % (what, user),
                                field='user')
        hostname = item.get('hostname') or name
        if not isinstance(hostname, str) or not HOSTNAME_RE.match(hostname):
            raise ResourceError('%s: hostname %r is not a host name' % (what, hostname), field='hostname')
        environment = item.get('environment') or {}
        if not isinstance(environment, dict):
            raise ResourceError('%s: environment must be a mapping of names to values' % what, field='environment')
        environment = {str(k): str(v) for k, v in environment.items()}
        for key, value in environment.items():
            if not ENV_NAME_RE.match(key) or '\n' in value or '\0' in value:
                raise ResourceError('%s: environment %r: names are letters, digits and "_", values one line'
                                    % (what, key), field='environment')
        capabilities = [str(c).upper() for c in item.get('capabilities') or []]
        capabilities = [c if c.startswith('CAP_') else 'CAP_' + c for c in capabilities]
        bad = [c for c in capabilities if not CAPABILITY_RE.match(c)]
        if bad:
            raise ResourceError('%s: capabilities %s are not capability names' % (what, ', '.join(bad)),
                                field='capabilities')
        seccomp = item.get('seccomp') or 'default'
        if seccomp not in ('default', 'unconfined') and not (isinstance(seccomp, str) and seccomp.startswith('/')):
            raise ResourceError('%s: seccomp must be default, unconfined or the absolute path of a profile, got %r'
                                % (what, seccomp), field='seccomp')
        limits = self._limits(item.get('limits') or {}, what)
        ulimits = item.get('ulimits') or {}
        if not isinstance(ulimits, dict):
            raise ResourceError('%s: ulimits must be a mapping like {nofile: "1024:4096"}' % what, field='ulimits')
        for key, value in ulimits.items():
            try:
                _oci.parse_rlimit(str(key), value)
            except ValueError as exc:
                raise ResourceError('%s: ulimits: %s' % (what, exc), field='ulimits')
        ulimits = {str(k): str(v) for k, v in ulimits.items()}
        restart = str(item.get('restart') or 'on-failure')
        if not RESTART_RE.match(restart):
            raise ResourceError('%s: restart must be no, on-failure, on-failure:MAX, always or unless-stopped, got %r'
                                % (what, restart), field='restart')
        stop_timeout = item.get('stop_timeout')
        stop_timeout = 10 if stop_timeout is None else stop_timeout
        if isinstance(stop_timeout, bool) or not isinstance(stop_timeout, int) or stop_timeout < 0:
            raise ResourceError('%s: stop_timeout must be a number of seconds, got %r' % (what, stop_timeout),
                                field='stop_timeout')
        stop_signal = str(item.get('stop_signal') or 'SIGTERM').upper()
        stop_signal = stop_signal if stop_signal.startswith('SIG') else 'SIG' + stop_signal
        if not SIGNAL_RE.match(stop_signal):
            raise ResourceError('%s: stop_signal %r is not a signal name' % (what, stop_signal), field='stop_signal')
        healthcheck = self._healthcheck(item.get('healthcheck'), what)
        for field in ('running', 'enabled', 'no_new_privileges'):
            value = item.get(field, True)
            if not isinstance(value, bool):
                raise ResourceError('%s: %s must be true or false' % (what, field), field=field)
        return {'name': name, 'command': command, 'root': root, 'netns': netns, 'user': user,
                'working_dir': item['working_dir'], 'environment': environment,
                'capabilities': sorted(set(capabilities)), 'revision': str(item.get('revision') or ''),
                'hostname': hostname, 'bundle': bundle.rstrip('/'), 'seccomp': seccomp,
                'no_new_privileges': item.get('no_new_privileges', True), 'limits': limits, 'ulimits': ulimits,
                'restart': restart, 'stop_timeout': stop_timeout, 'stop_signal': stop_signal,
                'healthcheck': healthcheck, 'running': item['running'], 'enabled': item['enabled']}

    @staticmethod
    def _limits(limits, what) -> dict:
        if not isinstance(limits, dict):
            raise ResourceError('%s: limits must be a mapping of memory, cpus, cpu_shares and pids' % what, field='limits')
        unknown = sorted(set(limits) - {'memory', 'cpus', 'cpu_shares', 'pids'})
        if unknown:
            raise ResourceError('%s: limits: unknown %s (memory, cpus, cpu_shares, pids)' % (what, ', '.join(unknown)),
                                field='limits')
        out = {}
        try:
            if limits.get('memory') not in (None, ''):
                out['memory'] = _oci.parse_bytes(limits['memory'])
                if out['memory'] < 6 * 1024 * 1024:
                    raise ValueError('memory %r: at least 6m, as Docker asks' % (limits['memory'],))
            if limits.get('cpus') not in (None, ''):
                out['cpus'] = float(limits['cpus'])
                if not 0.01 <= out['cpus'] <= 1024:
                    raise ValueError('cpus %r: between 0.01 and 1024' % (limits['cpus'],))
            for field, low, high in (('cpu_shares', 2, 262144), ('pids', 1, 4194304)):
                if limits.get(field) not in (None, ''):
                    value = limits[field]
                    if isinstance(value, bool) or not str(value).isdigit() or not low <= int(value) <= high:
                        raise ValueError('%s %r: a whole number from %d to %d' % (field, value, low, high))
                    out[field] = int(value)
        except ValueError as exc:
            raise ResourceError('%s: limits: %s' % (what, exc), field='limits')
        return out

    @staticmethod
    def _healthcheck(check, what):
        # {} (which Ansible hands over as every suboption None) removes a health check under merged.
        if check is None or (isinstance(check, dict) and all(value is None for value in check.values())):
            return None
        if not isinstance(check, dict) or not check.get('test'):
            raise ResourceError('%s: healthcheck must be a mapping with test (and interval, timeout, retries, '
                                'start_period)' % what, field='healthcheck')
        unknown = sorted(set(check) - {'test', 'interval', 'timeout', 'retries', 'start_period'})
        if unknown:
            raise ResourceError('%s: healthcheck: unknown %s' % (what, ', '.join(unknown)), field='healthcheck')
        test = check['test']
        test = [str(word) for word in test] if isinstance(test, (list, tuple)) else ['/bin/sh', '-c', str(test)]
        if not test or any('\n' in word or '\0' in word for word in test):
            raise ResourceError('%s: healthcheck: test words hold no newline or NUL' % what, field='healthcheck')
        out = {'test': test}
        try:
            for field, default in (('interval', 30), ('timeout', 30), ('start_period', 0)):
                value = check.get(field)
                out[field] = int(math.ceil(_oci.parse_seconds(default if value in (None, '') else value)))
            if out['interval'] < 1 or out['timeout'] < 1:
                raise ValueError('interval and timeout are at least 1s')
            retries = 3 if check.get('retries') in (None, '') else check['retries']
            if isinstance(retries, bool) or not str(retries).isdigit() or int(retries) < 1:
                raise ValueError('retries %r: a whole number, 1 or more' % (retries,))
            out['retries'] = int(retries)
        except ValueError as exc:
            raise ResourceError('%s: healthcheck: %s' % (what, exc), field='healthcheck')
        return out

    def stale(self, name: str, unit: str | None = None) -> bool:
        """Whether systemd still runs an older version of the unit file (changed without a daemon-reload)."""
        return self.runtime.get(unit or unit_name(name), {}).get('NeedDaemonReload') == 'yes'

    def health_present(self, name: str) -> dict:
        """{unit: text} of the health check units of a service on disk."""
        return {unit: text for unit, text in self.health_texts.items() if self.health_owners.get(unit) == name}

    def health_differs(self, desired) -> bool:
        """Whether the health check's units, runner or timer are not as the definition wants them."""
        name, wanted = desired['name'], render_health(desired)
        if self.health_present(name) != wanted or any(self.stale(name, unit) for unit in wanted):
            return True
        runner = self.host.read_text(_health.runner_path(desired['bundle']))
        if not wanted:
            return runner is not None
        timer = _health.health_units(name)[0]
        return runner != _health.RUNNER_SCRIPT or (
            desired['running'] and self.runtime.get(timer, {}).get('ActiveState') not in RUNNING_STATES)

    def bundle_text(self, desired) -> str | None:
        """The config.json the workload's bundle should hold; None when its root filesystem is not there (yet)."""
        name = desired['name']
        if name not in self.bundles:
            self.bundles[name] = self.host.bundle_text(desired, self.prerequisite)
        return self.bundles[name]

    def validate_plan(self, plan, current):
        # Every bundle is made before anything is written: an unknown user or an unreadable profile fails the run.
        bundles = {}
        for item in list(current.values()) + plan.create + [d for _c, d in plan.update]:
            if item not in plan.delete:
                bundles.setdefault(item.get('bundle'), set()).add(item['name'])
        shared = sorted(sorted(names) for bundle, names in bundles.items() if bundle and len(names) > 1)
        if shared:
            raise ResourceError('%s: the services %s would share one bundle directory' % (
                self.describe(shared[0][0]), ' and '.join(shared[0])), key=shared[0][0])
        # The health check of NAME has the unit anatomy-workload-NAME-health.service, a service's name for NAME-health.
        after = {item['name']: item for item in list(current.values()) + plan.create + [d for _c, d in plan.update]
                 if item not in plan.delete}
        for name in sorted(after):
            if not after[name].get('healthcheck'):
                continue
            if name + '-health' in after:
                raise ResourceError('%s: its health check would take the unit of the service %s-health'
                                    % (self.describe(name), name), key=name)
            theirs = sorted(self.foreign_units.intersection(_health.health_units(name)))
            if theirs:
                raise ResourceError('%s: the unit %s of its health check exists and is not managed by %s; refusing to '
                                    'touch it' % (self.describe(name), theirs[0], OWNER_MARK), key=name)
        for desired in plan.create + [d for _c, d in plan.update]:
            try:
                self.bundle_text(desired)
            except _oci.BundleError as exc:
                raise ResourceError('%s: %s' % (self.describe(desired['name']), exc), key=desired['name'])

    def differs(self, current, desired):
        if current != desired or self.texts.get(desired['name']) != render(desired) or self.stale(desired['name']):
            return True
        if self.health_differs(desired):
            return True
        try:
            wanted = self.bundle_text(desired)
        except _oci.BundleError:
            return True
        return wanted is not None and (self.host.read_text(os.path.join(desired['bundle'], 'config.json')) != wanted
                                       or self.host.read_text(os.path.join(desired['bundle'], STDIN)) is None)

    # -- writing --------------------------------------------------------------
    def apply(self, plan):
        try:
            self._apply(plan)
        except SystemctlError as exc:
            raise ResourceError(str(exc))

    def _apply(self, plan):
        desired_all = plan.create + [d for _c, d in plan.update]
        health = {d['name']: render_health(d) for d in desired_all}
        # Health units of deleted services, and of kept services that no longer have (these) units.
        deleted = {item['name'] for item in plan.delete}
        unhealthy = sorted(unit for unit, owner in self.health_owners.items()
                           if owner in deleted or (owner in health and unit not in health[owner]))
        gone = [unit_name(item['name']) for item in plan.delete] + unhealthy
        if gone:
            # The daemon-reload below, after the files are gone, is the only one needed.
            self.systemctl.run('disable', '--no-reload', '--now', *gone)
            for unit in unhealthy:
                os.unlink(os.path.join(self.unit_dir, unit))
            for item in plan.delete:
                os.unlink(self.path(item['name']))
                self.host.remove_bundle(item.get('bundle'))
                self.remove_status(item['name'])
        for desired in desired_all:
            if not health[desired['name']]:
                if self.host.remove_file(_health.runner_path(desired['bundle'])):
                    self.remove_status(desired['name'])
        rewritten, health_rewritten = [], []
        for current, desired in [(None, item) for item in plan.create] + plan.update:
            name = desired['name']
            changed = self.host.write_bundle(desired['bundle'], self.bundle_text(desired))
            if health[name]:
                changed = self.host.write_file(_health.runner_path(desired['bundle']), _health.RUNNER_SCRIPT, 0o700) \
                    or changed
            text = render(desired)
            if self.texts.get(name) != text:
                self.write(name, text)
                changed = True
            if changed or self.stale(name):
                rewritten.append(name)
            present = self.health_present(name)
            for unit, unit_text in health[name].items():
                if present.get(unit) != unit_text:
                    write_atomically(os.path.join(self.unit_dir, unit), unit_text, 0o644)
                if present.get(unit) != unit_text or self.stale(name, unit):
                    health_rewritten.append(name)
        if gone or rewritten or health_rewritten:
            self.systemctl.run('daemon-reload')
        if gone:
            # Forget the failures of units that no longer exist; errors here change nothing.
            try:
                self.systemctl.run('reset-failed', *gone)
            except SystemctlError:
                pass

        was = {c['name']: c for c, _d in plan.update}
        enable = [unit_name(d['name']) for d in desired_all if d['enabled'] and not was.get(d['name'], {}).get('enabled')]
        disable = [unit_name(d['name']) for d in desired_all if not d['enabled'] and was.get(d['name'], {}).get('enabled')]
        restart, start, stop = [], [], []
        for desired in desired_all:
            name = desired['name']
            running_now = was.get(name, {}).get('running', False)
            unit = unit_name(name)
            # The timer is PartOf= the service and wanted by it; named here too, so that a timer stopped or
            # rewritten alone is brought back, in the same calls.
            timer = [_health.health_units(name)[0]] if health[name] else []
            timer_running = bool(timer) and self.runtime.get(timer[0], {}).get('ActiveState') in RUNNING_STATES
            if not desired['running']:
                if running_now:
                    stop += [unit] + timer
            elif name in rewritten and running_now:
                restart += [unit] + timer
            elif not running_now:
                start += [unit] + timer
            elif name in health_rewritten and timer_running:
                restart += timer
            elif not timer_running:
                start += timer
        for unit in restart + start:
            if unit.startswith(UNIT_PREFIX) and unit.endswith('.service'):
                _restore.clear_failure(unit[len(UNIT_PREFIX):-len('.service')], self.status_dir)
        if restart or start:
            # A restart count (on-failure:N) and a start limit hit start afresh when the module starts a unit.
            try:
                self.systemctl.run('reset-failed', *(restart + start))
            except SystemctlError:
                pass
        for verb, units in (('enable', enable), ('disable', disable), ('stop', stop), ('restart', restart),
                            ('start', start)):
            if units:
                self.systemctl.run(verb, *(['--no-reload'] if verb in ('enable', 'disable') else []), *units)

    def write(self, name: str, text: str) -> None:
        write_atomically(self.path(name), text, 0o644)

    def remove_status(self, name: str) -> None:
        """Forget the health status of a service that lost its health check."""
        try:
            os.unlink(_health.status_path(name, self.health_dir))
        except FileNotFoundError:
            pass
        shutil.rmtree(os.path.join(self.health_dir, name + '.state'), ignore_errors=True)


def write_atomically(path: str, text: str, mode: int) -> None:
    temporary = path + '.tmp'
    with open(temporary, 'w') as handle:
        handle.write(text)
    os.chmod(temporary, mode)
    os.rename(temporary, path)


class BundleHost:
    """What a bundle is made of on this host: the workload's user database, the seccomp profile, the machine.

    Unit tests pass a fake with the same methods.
    """

    def __init__(self):
        self._profiles: dict = {}
        uname = os.uname()
        self.machine, self.release = uname.machine, uname.release

    @staticmethod
    def read_text(path: str):
        try:
            with open(path) as handle:
                return handle.read()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def profile(self, source: str, capabilities) -> dict:
        path = _oci.DEFAULT_SECCOMP_PROFILE if source == 'default' else source
        if path not in self._profiles:
            text = self.read_text(path)
            if text is None:
                raise _oci.BundleError('seccomp profile %s is not there%s' % (
                    path, " (Docker's default profile: the container_host role takes it from Debian's %s)"
                    % _oci.DEFAULT_SECCOMP_PACKAGE if source == 'default' else ''))
            try:
                self._profiles[path] = json.loads(text)
            except ValueError as exc:
                raise _oci.BundleError('seccomp profile %s is not JSON: %s' % (path, exc))
        profile = _oci.seccomp_for(self._profiles[path], self.machine, capabilities, self.release)
        return _oci.without_device_nodes(profile) if source == 'default' else profile

    def bundle_text(self, desired, prerequisite):
        root = desired['root']
        if not prerequisite(os.path.isdir(root),
                            '%s: root filesystem %s is not there' % (desired['name'], root)):
            return None
        passwd = self.read_text(os.path.join(root, 'etc/passwd')) or ''
        group = self.read_text(os.path.join(root, 'etc/group')) or ''
        user = _oci.resolve_user(desired['user'], passwd, group)
        seccomp = None if desired['seccomp'] == 'unconfined' else self.profile(desired['seccomp'], desired['capabilities'])
        netns = netns_path(desired['netns']) if desired['netns'] else None
        return _oci.dumps(_oci.config(desired, user, seccomp, netns))

    def write_file(self, path: str, text: str, mode: int) -> bool:
        """Write a file of the bundle (its directory made); whether it changed."""
        if self.read_text(path) == text:
            return False
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_atomically(path, text, mode)
        return True

    @staticmethod
    def remove_file(path: str) -> bool:
        """Remove a file of the bundle; whether it was there."""
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True

    def write_bundle(self, bundle: str, text) -> bool:
        """Write config.json, and the container's empty stdin, into the bundle directory; whether either changed."""
        path = os.path.join(bundle, 'config.json')
        stdin = os.path.join(bundle, STDIN)
        if text is None or (self.read_text(path) == text and self.read_text(stdin) is not None):
            return False
        os.makedirs(bundle, mode=0o700, exist_ok=True)
        write_atomically(path, text, 0o600)
        write_atomically(stdin, '', 0o400)
        return True

    @staticmethod
    def remove_bundle(bundle) -> None:
        if not bundle:
            return
        for name in ('config.json', 'config.json.tmp', STDIN, STDIN + '.tmp', _health.RUNNER, _health.RUNNER + '.tmp'):
            try:
                os.unlink(os.path.join(bundle, name))
            except FileNotFoundError:
                pass
        try:
            os.rmdir(bundle)
        except OSError:
            pass


# -- the module: what it accepts, and its main() once its AnsibleModule exists -----------------------------------------
# One home for the module's argument spec, shared by the module and anatomy.containers.preview.

WORKLOAD_SERVICE_ARGUMENT_SPEC = state_argument_spec(dict(
    name=dict(type='str'),
    command=dict(type='list', elements='str'),
    root=dict(type='path'),
    netns=dict(type='str'),
    user=dict(type='str'),
    working_dir=dict(type='str'),
    environment=dict(type='dict'),
    capabilities=dict(type='list', elements='str'),
    revision=dict(type='str'),
    hostname=dict(type='str'),
    bundle=dict(type='path'),
    seccomp=dict(type='str'),
    no_new_privileges=dict(type='bool'),
    limits=dict(type='dict', options=dict(
        memory=dict(type='raw'),
        cpus=dict(type='float'),
        cpu_shares=dict(type='int'),
        pids=dict(type='int'),
    )),
    ulimits=dict(type='dict'),
    restart=dict(type='str'),
    stop_timeout=dict(type='int'),
    stop_signal=dict(type='str'),
    healthcheck=dict(type='dict', options=dict(
        test=dict(type='raw'),
        interval=dict(type='raw'),
        timeout=dict(type='raw'),
        retries=dict(type='int'),
        start_period=dict(type='raw'),
    )),
    # Listing a service means running it, also under merged: not a property left as it is.
    running=dict(type='bool', default=True),
    enabled=dict(type='bool', default=True),
))


def run_workload_service(module) -> None:
    """main() of anatomy.containers.workload_service, given its AnsibleModule (WORKLOAD_SERVICE_ARGUMENT_SPEC)."""
    run_module(module, WorkloadService())
