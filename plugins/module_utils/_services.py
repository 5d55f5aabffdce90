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

A run costs one ``systemctl show`` for every unit it reads, and at most one call each of
``disable --now``, ``daemon-reload``, ``enable``, ``restart``, ``start`` and ``stop``, whatever the
number of services: Ansible's per-item cost is what a loop of systemd_service tasks pays.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

from ansible_collections.anatomy.containers.plugins.module_utils._resource import (
    OWNER_MARK, Resource, ResourceError, run_module, state_argument_spec,
)

UNIT_DIR = '/etc/systemd/system'
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
USER_RE = re.compile(r'^([a-z_][a-z0-9_-]*[$]?|[0-9]+)$', re.IGNORECASE)
# What systemd counts as running: a unit restarting after a failure is "activating".
RUNNING_STATES = ('active', 'activating', 'reloading')
ENABLED_STATES = ('enabled', 'enabled-runtime')


#: The OCI runtime's state directory: ours alone (the runtime core's; a stand-in until it lands on this branch).
RUNTIME_ROOT = '/run/anatomy/crun'


def runtime_argv(*args: str) -> list:
    """The crun command line with our --root, then ARGS."""
    return ['crun', '--root', RUNTIME_ROOT] + list(args)


def unit_name(name: str) -> str:
    return UNIT_PREFIX + name + '.service'


def quote_arg(arg: str) -> str:
    """One word of ExecStart=: quoted, with systemd's specifiers (%) and variables ($) kept literal."""
    return '"%s"' % arg.replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%').replace('$', '$$')


def quote_assignment(key: str, value: str) -> str:
    """An Environment= assignment, kept literal (specifiers expand there too)."""
    return '"%s=%s"' % (key, value.replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%'))


def render(item: dict) -> str:
    """The unit file of one service. Its first line is the ownership mark and the definition."""
    definition = {k: v for k, v in item.items() if k not in ('running', 'enabled')}
    lines = [
        MARK + json.dumps(definition, sort_keys=True, separators=(',', ':')),
        '[Unit]',
        'Description=%s workload %s' % (OWNER_MARK, item['name']),
        'After=network.target',
        '',
        '[Service]',
        'Type=simple',
        'ExecStart=' + ' '.join(quote_arg(arg) for arg in item['command']),
    ]
    if item['netns']:
        lines.append('NetworkNamespacePath=' + netns_path(item['netns']))
    lines += [
        'RootDirectory=' + item['root'],
        # /proc, /sys and /dev inside the root, as a container runtime mounts them.
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
        '',
        '[Install]',
        'WantedBy=multi-user.target',
    ]
    return '\n'.join(lines) + '\n'


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

    def show(self, units: list) -> dict:
        if not units:
            return {}
        return parse_show(self.run('show', '--property=Id,ActiveState,UnitFileState,NeedDaemonReload', *units))


class WorkloadService(Resource):
    """A container's process as a systemd service, in its network namespace and root filesystem."""

    kind = 'workload service'
    key = 'name'
    defaults = {'command': None, 'root': None, 'netns': None, 'user': 'root', 'working_dir': '/',
                'environment': {}, 'capabilities': list(DEFAULT_CAPABILITIES), 'revision': '',
                'running': True, 'enabled': True}

    def __init__(self, systemctl=None, unit_dir: str = UNIT_DIR):
        self.systemctl = systemctl or Systemctl()
        self.unit_dir = unit_dir
        self.texts: dict = {}
        self.runtime: dict = {}

    def path(self, name: str) -> str:
        return os.path.join(self.unit_dir, unit_name(name))

    # -- reading --------------------------------------------------------------
    def read(self):
        owned, foreign, self.texts = [], set(), {}
        try:
            files = sorted(os.listdir(self.unit_dir))
        except FileNotFoundError:
            files = []
        for filename in files:
            if not (filename.startswith(UNIT_PREFIX) and filename.endswith('.service')):
                continue
            name = filename[len(UNIT_PREFIX):-len('.service')]
            try:
                with open(os.path.join(self.unit_dir, filename)) as unit:
                    text = unit.read()
                first = text.split('\n', 1)[0]
                definition = json.loads(first[len(MARK):]) if first.startswith(MARK) else None
            except (OSError, ValueError):
                definition = None
            if not isinstance(definition, dict) or definition.get('name') != name:
                foreign.add(name)
                continue
            self.texts[name] = text
            owned.append(definition)
        self.runtime = self.systemctl.show([unit_name(item['name']) for item in owned])
        for item in owned:
            props = self.runtime.get(unit_name(item['name']), {})
            item['running'] = props.get('ActiveState') in RUNNING_STATES
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
        netns = item.get('netns')
        if netns is not None and (not isinstance(netns, str) or not netns or '\n' in netns
                                  or ('/' in netns and not netns.startswith('/'))):
            raise ResourceError('%s: netns must be a namespace name or an absolute path, got %r' % (what, netns),
                                field='netns')
        user = str(item.get('user'))
        if not USER_RE.match(user):
            raise ResourceError('%s: user %r is not a user name or a numeric ID' % (what, user), field='user')
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
        for field in ('running', 'enabled'):
            if not isinstance(item.get(field), bool):
                raise ResourceError('%s: %s must be true or false' % (what, field), field=field)
        return {'name': name, 'command': command, 'root': item['root'], 'netns': netns, 'user': user,
                'working_dir': item['working_dir'], 'environment': environment,
                'capabilities': sorted(set(capabilities)), 'revision': str(item.get('revision') or ''),
                'running': item['running'], 'enabled': item['enabled']}

    def stale(self, name: str) -> bool:
        """Whether systemd still runs an older version of the unit file (changed without a daemon-reload)."""
        return self.runtime.get(unit_name(name), {}).get('NeedDaemonReload') == 'yes'

    def differs(self, current, desired):
        return current != desired or self.texts.get(desired['name']) != render(desired) or self.stale(desired['name'])

    # -- writing --------------------------------------------------------------
    def apply(self, plan):
        try:
            self._apply(plan)
        except SystemctlError as exc:
            raise ResourceError(str(exc))

    def _apply(self, plan):
        gone = [unit_name(item['name']) for item in plan.delete]
        if gone:
            self.systemctl.run('disable', '--now', *gone)
            for item in plan.delete:
                os.unlink(self.path(item['name']))
        rewritten = []
        for current, desired in [(None, item) for item in plan.create] + plan.update:
            text = render(desired)
            if self.texts.get(desired['name']) != text:
                self.write(desired['name'], text)
                rewritten.append(desired['name'])
            elif self.stale(desired['name']):
                rewritten.append(desired['name'])
        if gone or rewritten:
            self.systemctl.run('daemon-reload')
        if gone:
            # Forget the failures of units that no longer exist; errors here change nothing.
            try:
                self.systemctl.run('reset-failed', *gone)
            except SystemctlError:
                pass

        was = {c['name']: c for c, _d in plan.update}
        desired_all = plan.create + [d for _c, d in plan.update]
        enable = [unit_name(d['name']) for d in desired_all if d['enabled'] and not was.get(d['name'], {}).get('enabled')]
        disable = [unit_name(d['name']) for d in desired_all if not d['enabled'] and was.get(d['name'], {}).get('enabled')]
        restart, start, stop = [], [], []
        for desired in desired_all:
            running_now = was.get(desired['name'], {}).get('running', False)
            unit = unit_name(desired['name'])
            if not desired['running']:
                if running_now:
                    stop.append(unit)
            elif desired['name'] in rewritten and running_now:
                restart.append(unit)
            elif not running_now:
                start.append(unit)
        for verb, units in (('enable', enable), ('disable', disable), ('stop', stop), ('restart', restart),
                            ('start', start)):
            if units:
                self.systemctl.run(verb, *(['--no-reload'] if verb in ('enable', 'disable') else []), *units)

    def write(self, name: str, text: str) -> None:
        path = self.path(name)
        temporary = path + '.tmp'
        with open(temporary, 'w') as unit:
            unit.write(text)
        os.chmod(temporary, 0o644)
        os.rename(temporary, path)


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
    # Listing a service means running it, also under merged: not a property left as it is.
    running=dict(type='bool', default=True),
    enabled=dict(type='bool', default=True),
))


def run_workload_service(module) -> None:
    """main() of anatomy.containers.workload_service, given its AnsibleModule (WORKLOAD_SERVICE_ARGUMENT_SPEC)."""
    run_module(module, WorkloadService())
