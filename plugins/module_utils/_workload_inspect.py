# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A workload seen from its host: a command run inside it (``docker exec``) and what ``docker inspect`` shows.

This is a private module_util: its API may change without notice.

Both read what the other parts of the collection already know, through their own readers:

* the workload's definition from the first line of its unit (``_services``), and systemd's view of it from one
  ``systemctl show`` for every unit (:class:`InspectSystemctl`, asking a few more properties than a run of
  workload_service does);
* the OCI runtime's view from one ``crun list`` (:class:`Runtime`): status, the container's PID 1 (systemd's
  MainPID is crun's own), its creation time;
* the workload's interfaces and gateway in its network namespace (``_netlink``), its published ports from our
  netfilter rules (``_netfilter.engine``), its root filesystem's layers and the binds on it from the mount table
  and the mount records (``_mounts_resources``), each through the read-only handles of ``_preview_reads``: an
  inspection can never write;
* the health its health check last recorded (``_health.read_health``).

``exec`` builds the OCI process of the command from the workload's bundle (``config.json``'s ``process``: user,
environment, working directory, capabilities, rlimits, noNewPrivileges), with the command's own options on top,
and has the runtime run it in the container (``crun exec --process``), started in the cgroup of the workload's unit:
in its namespaces, root and cgroup, as ``docker exec`` does.
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import posixpath
import subprocess
import tempfile
import time

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.anatomy.containers.plugins.module_utils._health import HEALTH_DIR, read_health
from ansible_collections.anatomy.containers.plugins.module_utils._host_plan import command_argv
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import Kernel, Resolver, overlay_layers
from ansible_collections.anatomy.containers.plugins.module_utils._mounts_resources import DEFAULT_VOLUMES_ROOT, BindVolume, OverlayMount
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.engine import PortsResource
from ansible_collections.anatomy.containers.plugins.module_utils._netlink import HAS_PYROUTE2, PYROUTE2_IMPORT_ERROR
from ansible_collections.anatomy.containers.plugins.module_utils._oci import BundleError, resolve_user
from ansible_collections.anatomy.containers.plugins.module_utils._preview_reads import SharedReads
from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError
from ansible_collections.anatomy.containers.plugins.module_utils._services import (
    ENV_NAME_RE, NAME_RE, RUNNING_STATES, RUNTIME_ROOT, SHOW_PROPERTIES, UNIT_DIR, USER_RE, Systemctl,
    SystemctlError, WorkloadService, parse_mark, parse_show, runtime_argv, unit_name,
)

#: The interface of a workload in its network namespace (the workload role's veth peer).
WORKLOAD_INTERFACE = 'eth0'
#: What an inspection asks systemd of a unit besides what workload_service does (``_services.SHOW_PROPERTIES``).
INSPECT_PROPERTIES = ('SubState', 'Result', 'MainPID', 'NRestarts', 'ExecMainStatus', 'ExecMainStartTimestampMonotonic',
                      'ExecMainExitTimestampMonotonic', 'FragmentPath')
#: Where the runtime mounts what every container has (/dev/null bound from the host, say): not a workload's mounts.
RUNTIME_MOUNT_DIRS = ('/dev', '/proc', '/sys')
#: The parts of a bundle's process an exec'd process takes over (its args, terminal and console are its own).
PROCESS_KEYS = ('user', 'env', 'cwd', 'capabilities', 'rlimits', 'noNewPrivileges', 'apparmorProfile',
                'selinuxLabel', 'oomScoreAdj', 'ioPriority', 'scheduler')


class WorkloadError(ResourceError):
    """A workload that cannot be inspected or run in as asked: unknown, stopped, or given bad options."""


# -- the definition ---------------------------------------------------------------------------------------------------

def parse_definition(name: str, text: str):
    """The definition in the ownership mark of a unit's text, None when the unit is not a workload of ours."""
    return parse_mark(text.split('\n', 1)[0], name)


def read_definition(name: str, unit_dir: str = UNIT_DIR):
    """The definition of one workload from its unit's first line; None when there is no such workload of ours."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        return None
    try:
        with open(os.path.join(unit_dir, unit_name(name))) as unit:
            return parse_definition(name, unit.readline())
    except OSError:
        return None


def bundle_config(definition: dict) -> dict:
    """The OCI config (``BUNDLE/config.json``) of a workload."""
    bundle = definition.get('bundle')
    if not bundle:
        raise WorkloadError('workload %r has no OCI bundle: it was set up before workloads ran through the OCI '
                            'runtime; run the workload role (or workload_service) again' % definition['name'])
    try:
        with open(os.path.join(bundle, 'config.json')) as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise WorkloadError('workload %r: cannot read its OCI config %s: %s'
                            % (definition['name'], os.path.join(bundle, 'config.json'), exc))


# -- the runtime ------------------------------------------------------------------------------------------------------

def parse_list(text: str) -> dict:
    """``crun list --format json`` as {id: state}; crun prints nothing or [] when there is no container."""
    text = (text or '').strip()
    if not text:
        return {}
    return {state['id']: state for state in json.loads(text) if isinstance(state, dict) and 'id' in state}


def run_command(argv, stdin=None, cgroups=()):
    """(rc, stdout bytes, stderr bytes) of a command; no stdin is /dev/null, as ``docker exec`` without -i.

    With CGROUPS (directories of one cgroup in each hierarchy), the command starts in that cgroup.
    """
    proc = subprocess.run(argv, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                          preexec_fn=join_cgroups(cgroups) if cgroups else None)
    return proc.returncode, proc.stdout, proc.stderr


def join_cgroups(directories):
    """A function that moves the calling process into the cgroup of each of DIRECTORIES the kernel lets it join
    (a hierarchy mounted read-only, as in a nested container, is left as it is)."""
    def join():
        pid = str(os.getpid())
        for directory in directories:
            try:
                with open(os.path.join(directory, 'cgroup.procs'), 'w') as procs:
                    procs.write(pid)
            except OSError:
                pass
    return join


def cgroup_directories(table, control_group) -> list:
    """The directories of a cgroup (systemd's ``ControlGroup``) in every cgroup hierarchy mounted in TABLE (a
    ``_mounts.MountTable``): the unified one (cgroup v2), or each v1 controller's and systemd's own."""
    if not control_group or not control_group.startswith('/'):
        return []
    found = []
    for mount in table.mounts:
        if mount.fstype in ('cgroup', 'cgroup2'):
            directory = posixpath.join(mount.mount_point, control_group.lstrip('/'))
            if os.path.isfile(os.path.join(directory, 'cgroup.procs')) and directory not in found:
                found.append(directory)
    return found


class Runtime:
    """crun with our --root (``_services.runtime_argv``). ``run(argv, stdin=None) -> (rc, out, err)``, bytes out."""

    def __init__(self, run=None, root: str = RUNTIME_ROOT):
        self.run = run or run_command
        self.root = root

    def _call(self, *args) -> str:
        rc, out, err = self.run(runtime_argv(*args))
        if rc != 0:
            raise WorkloadError('%s failed (rc=%d): %s' % (' '.join(runtime_argv(*args)), rc,
                                                           _text(err or out).strip()))
        return _text(out)

    def states(self) -> dict:
        """{id: {'id', 'pid', 'status', 'bundle', 'created', ...}} of every container, in one call.

        None before the runtime ever ran one of ours: ``crun list`` would make its state directory.
        """
        if not os.path.isdir(self.root):
            return {}
        return parse_list(self._call('list', '--format', 'json'))

    def state(self, name: str):
        """The state of one container, None when the runtime has none of that name."""
        rc, out, _err = self.run(runtime_argv('state', name))
        if rc != 0:
            return None
        try:
            return json.loads(_text(out))
        except ValueError:
            return None

    def exec(self, name: str, process: dict, stdin=None, cgroups=()):
        """(rc, stdout, stderr) of the process run in the container, started in CGROUPS (the workload's unit's); its
        spec is a file only root can read."""
        fd, path = tempfile.mkstemp(prefix='anatomy-exec-', suffix='.json')
        try:
            with os.fdopen(fd, 'w') as handle:
                json.dump(process, handle)
            argv = runtime_argv('exec', '--process', path, name)
            return self.run(argv, stdin=stdin, cgroups=cgroups) if cgroups else self.run(argv, stdin=stdin)
        finally:
            os.unlink(path)


def _text(data) -> str:
    if isinstance(data, bytes):
        return data.decode('utf-8', 'replace')
    return data or ''


# -- exec: the process ------------------------------------------------------------------------------------------------

def merge_environment(env: list, overrides: dict) -> list:
    """OCI ``KEY=VALUE`` words with OVERRIDES set: a key already there keeps its place with the new value."""
    merged, seen = [], set()
    for word in env or []:
        key = word.split('=', 1)[0]
        if key in overrides:
            word = '%s=%s' % (key, overrides[key])
        seen.add(key)
        merged.append(word)
    merged += ['%s=%s' % (key, value) for key, value in overrides.items() if key not in seen]
    return merged


def check_exec_options(name, command, environment, working_dir, user=None) -> tuple:
    """(argv, environment as strings), or WorkloadError naming the option."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise WorkloadError('name %r is not a workload name' % (name,), field='name')
    if user is not None and not all(USER_RE.match(part) for part in str(user).split(':', 1)):
        raise WorkloadError('user %r is not NAME, UID, NAME:GROUP or UID:GID' % (user,), field='user')
    if isinstance(command, (list, tuple)):
        argv = command_argv(command)
    elif isinstance(command, str):
        try:
            argv = command_argv(command)
        except ValueError as exc:
            raise WorkloadError('command %r cannot be split into words: %s' % (command, exc), field='command')
    else:
        argv = []
    if not argv or not argv[0] or any('\0' in arg for arg in argv):
        raise WorkloadError('command must be a program and its arguments (a list, or a string split as a shell '
                            'would), with no NUL', field='command')
    env = {}
    for key, value in (environment or {}).items():
        key, value = str(key), '' if value is None else str(value)
        if not ENV_NAME_RE.match(key) or '\0' in value:
            raise WorkloadError('environment %r: names are letters, digits and "_", values hold no NUL' % key,
                                field='environment')
        env[key] = value
    if working_dir is not None and (not isinstance(working_dir, str) or not working_dir.startswith('/')
                                    or '\0' in working_dir):
        raise WorkloadError('working_dir must be an absolute path inside the workload, got %r' % (working_dir,),
                            field='working_dir')
    return argv, env


def exec_process(process: dict, argv: list, user=None, environment=None, working_dir=None) -> dict:
    """The OCI process of a command run in a workload: the workload's own process (``config.json``), its args
    replaced, USER (an OCI user, resolved already), ENVIRONMENT (added, or overriding) and WORKING_DIR on top."""
    exec_proc = {key: json.loads(json.dumps(process[key])) for key in PROCESS_KEYS if key in process}
    exec_proc['terminal'] = False
    exec_proc['args'] = list(argv)
    exec_proc.setdefault('cwd', '/')
    if user is not None:
        exec_proc['user'] = dict(user)
    if environment:
        exec_proc['env'] = merge_environment(exec_proc.get('env'), environment)
    if working_dir is not None:
        exec_proc['cwd'] = working_dir
    return exec_proc


def read_in_root(root: str, path: str, resolver=None) -> str:
    """A text file of a workload's root filesystem, its path resolved inside that root (never out of it)."""
    fd = (resolver or Resolver()).open(root, path)
    try:
        with open('/proc/self/fd/%d' % fd, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    finally:
        os.close(fd)


def root_path(definition: dict, config: dict) -> str:
    """The host path of a workload's root filesystem: the bundle's root.path (relative to the bundle or not)."""
    path = (config.get('root') or {}).get('path') or definition.get('root')
    return posixpath.join(definition.get('bundle') or '/', path)


class WorkloadExec:
    """``docker exec`` for our workloads: the command in a running workload, as its process runs."""

    def __init__(self, runtime=None, unit_dir: str = UNIT_DIR, reader=read_in_root, systemctl=None, mountinfo=None):
        self.runtime = runtime or Runtime()
        self.unit_dir = unit_dir
        self.reader = reader
        self.systemctl = systemctl or Systemctl()
        self.mountinfo = mountinfo or (lambda: Kernel().mountinfo())

    def prepare(self, name, argv, user=None, environment=None, working_dir=None) -> dict:
        """The OCI process to run, once the workload is known to run; WorkloadError otherwise."""
        definition = read_definition(name, self.unit_dir)
        if definition is None:
            raise WorkloadError('no workload %r on this host (no unit %s made by anatomy.containers)'
                                % (name, unit_name(name)), field='name')
        state = self.runtime.state(name)
        if state is None or state.get('status') != 'running':
            raise WorkloadError('workload %r is not running (the OCI runtime has %s); start it first (systemctl '
                                'start %s) and see its log (journalctl -u %s)'
                                % (name, 'it %s' % state['status'] if state else 'no container of that name',
                                   unit_name(name), unit_name(name)), field='name')
        config = bundle_config(definition)
        oci_user = None
        environment = dict(environment or {})
        if user is not None:
            root = root_path(definition, config)
            texts = []
            for path in ('/etc/passwd', '/etc/group'):
                try:
                    texts.append(self.reader(root, path))
                except OSError:
                    texts.append('')
            try:
                resolved = resolve_user(user, *texts)
            except BundleError as exc:
                raise WorkloadError('workload %r: %s' % (name, exc), field='user')
            oci_user = {key: resolved[key] for key in ('uid', 'gid', 'additionalGids')}
            # HOME is the user's, as the runtime sets it for the workload's own user, unless one is given.
            if 'HOME' not in environment and 'HOME' not in (definition.get('environment') or {}):
                environment['HOME'] = resolved['home']
        return exec_process(config.get('process') or {}, argv, oci_user, environment, working_dir)

    def cgroups(self, name) -> list:
        """The directories of the workload's unit's cgroup, which the command joins as ``docker exec`` joins the
        container's: the unit's limits count it and its stop ends it. None found, it stays in ours."""
        try:
            unit = self.systemctl.run('show', '--property=Id,ControlGroup', unit_name(name))
        except SystemctlError:
            return []
        control_group = parse_show(unit).get(unit_name(name), {}).get('ControlGroup')
        return cgroup_directories(self.mountinfo(), control_group) if control_group else []

    def run(self, name, process: dict, stdin=None, cgroups=()) -> tuple:
        return self.runtime.exec(name, process, stdin, cgroups)


def exec_result(argv, rc, out, err, started, ended, strip_empty_ends=True) -> dict:
    """What ansible.builtin.command returns, for a command run in a workload."""
    stdout, stderr = _text(out), _text(err)
    if strip_empty_ends:
        stdout, stderr = stdout.rstrip('\r\n'), stderr.rstrip('\r\n')
    result = {'cmd': list(argv), 'rc': rc, 'stdout': stdout, 'stderr': stderr,
              'stdout_lines': stdout.splitlines(), 'stderr_lines': stderr.splitlines(),
              'start': _stamp(started), 'end': _stamp(ended), 'delta': str(ended - started), 'changed': True}
    if rc != 0:
        result['msg'] = 'non-zero return code'
    return result


def _stamp(moment: datetime.datetime) -> str:
    return moment.strftime('%Y-%m-%d %H:%M:%S.%f')


# -- info -------------------------------------------------------------------------------------------------------------

class InspectSystemctl(Systemctl):
    """systemctl whose one ``show`` for every unit asks what an inspection needs, besides workload_service's."""

    def show(self, units: list, properties=SHOW_PROPERTIES + INSPECT_PROPERTIES) -> dict:
        return super().show(units, properties)


def monotonic_time(usec, now=None, monotonic=None):
    """A systemd ``*TimestampMonotonic`` (microseconds of CLOCK_MONOTONIC, 0 for never) as ISO 8601 UTC.

    From the monotonic clock, not the text timestamps, whose form follows the host's time zone and locale.
    """
    try:
        usec = int(usec)
    except (TypeError, ValueError):
        return None
    if usec <= 0:
        return None
    now = time.time() if now is None else now
    monotonic = time.monotonic() if monotonic is None else monotonic
    moment = datetime.datetime.fromtimestamp(now - monotonic + usec / 1e6, tz=datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def state_of(props: dict, runtime_state, now=None, monotonic=None) -> dict:
    """Docker's State of a workload from systemd's properties of its unit and the runtime's state of its container.

    ``status``: ``running`` (the container runs), ``paused``, ``restarting`` (systemd waits to start it again
    after it ended), ``starting`` (the unit starts, the container is not there yet), ``exited`` (it ran and
    ended) or ``created`` (it never ran).
    """
    active = props.get('ActiveState') or 'unknown'
    sub = props.get('SubState') or 'unknown'
    runtime_status = runtime_state.get('status') if runtime_state else None
    started = monotonic_time(props.get('ExecMainStartTimestampMonotonic'), now, monotonic)
    if sub == 'auto-restart':
        status = 'restarting'
    elif runtime_status in ('running', 'paused') and active in RUNNING_STATES:
        status = runtime_status
    elif active in RUNNING_STATES:
        status = 'starting'
    else:
        status = 'exited' if started else 'created'
    pid = _int(runtime_state.get('pid')) if status in ('running', 'paused') else None
    return {
        'status': status,
        'running': status == 'running',
        'pid': pid or None,
        'started_at': started,
        'finished_at': monotonic_time(props.get('ExecMainExitTimestampMonotonic'), now, monotonic),
        'exit_code': _int(props.get('ExecMainStatus')),
        'restart_count': _int(props.get('NRestarts'), 0),
        'systemd': {'active_state': active, 'sub_state': sub, 'result': props.get('Result'),
                    'main_pid': _int(props.get('MainPID')) or None,
                    'unit_file_state': props.get('UnitFileState')},
        'runtime': None if not runtime_state else {
            'status': runtime_status, 'pid': _int(runtime_state.get('pid')) or None,
            'created': runtime_state.get('created'), 'bundle': runtime_state.get('bundle')},
    }


def netns_name(netns):
    """The name under /run/netns of a definition's netns (a name, or a path there); None for another path."""
    if not netns:
        return None
    if '/' not in netns:
        return netns
    directory, base = posixpath.split(netns)
    return base if directory == '/run/netns' else None


def network_of(netns, links: list, addresses: list, routes: list) -> dict:
    """The workload's interfaces (all but lo) with their MACs and addresses, its address, MAC and gateway."""
    interfaces = []
    for link in sorted(links, key=lambda item: item['index']):
        if link['name'] == 'lo':
            continue
        interfaces.append({'name': link['name'], 'mac': link['mac'], 'up': link['up'], 'mtu': link['mtu'],
                           'addresses': [a['cidr'] for a in addresses if a['index'] == link['index']]})
    main = next((i for i in interfaces if i['name'] == WORKLOAD_INTERFACE), interfaces[0] if interfaces else None)
    ipv4 = [cidr for cidr in (main['addresses'] if main else []) if ':' not in cidr]
    gateway = next((route['via'] for route in routes if route['dst'] in ('0.0.0.0/0', '::/0') and route['via']), None)
    return {'netns': netns, 'interfaces': interfaces,
            'address': ipv4[0].split('/')[0] if ipv4 else None,
            'prefix_length': int(ipv4[0].split('/')[1]) if ipv4 else None,
            'mac': main['mac'] if main else None, 'gateway': gateway}


def ports_of(name: str, addresses, ports: list) -> list:
    """The published ports of a workload: the rules whose comment names it, or whose destination is its address."""
    comment = 'workload %s' % name
    found = []
    for port in ports:
        if port.get('comment') == comment or port.get('destination') in addresses:
            found.append({'protocol': port['protocol'], 'host_address': port['host_address'],
                          'host_port': port['host_port'], 'container_port': port['destination_port'],
                          'destination': port['destination'], 'allowed_sources': list(port.get('allowed_sources') or [])})
    return sorted(found, key=lambda p: (p['protocol'], p['host_address'], _int(p['host_port'].split('-')[0], 0)))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip('/') + '/')


def rootfs_of(root: str, overlays: list, table) -> dict:
    """The root filesystem: our overlay record at ROOT (its layers as given), else what the mount table shows."""
    for overlay in overlays:
        if overlay['path'] == root:
            return {'path': root, 'type': 'overlay', 'layers': list(overlay['lower']), 'upper': overlay.get('upper'),
                    'work': overlay.get('work')}
    mount = table.at(root) if table is not None else None
    if mount is None:
        return {'path': root, 'type': None, 'layers': [], 'upper': None, 'work': None}
    if mount.fstype != 'overlay':
        return {'path': root, 'type': mount.fstype, 'layers': [], 'upper': None, 'work': None}
    layers = overlay_layers(mount)
    return {'path': root, 'type': 'overlay', 'layers': layers['lower'], 'upper': layers['upper'], 'work': layers['work']}


def mounts_of(root: str, binds: list, volume_path, bundle_mounts: list) -> list:
    """The mounts of a workload, as ``docker inspect`` lists them: our binds on its root (volumes, host paths,
    its /etc files) and the bind mounts its bundle asks the runtime for, by destination inside the workload."""
    found = {}
    for bind in binds:
        if bind.get('root') != root:
            continue
        volume = bind.get('volume')
        found[bind['target']] = {
            'type': 'volume' if volume is not None else 'bind', 'name': volume,
            'source': volume_path(volume) if volume is not None else bind.get('source'),
            'destination': bind['target'], 'read_only': bool(bind.get('read_only')),
            'propagation': bind.get('propagation')}
    for mount in bundle_mounts or []:
        options = mount.get('options') or []
        if not (mount.get('type') == 'bind' or 'bind' in options or 'rbind' in options):
            continue
        destination = mount.get('destination')
        if destination in found or not destination or any(_inside(destination, d) for d in RUNTIME_MOUNT_DIRS):
            continue
        found[destination] = {'type': 'bind', 'name': None, 'source': mount.get('source'), 'destination': destination,
                              'read_only': 'ro' in options,
                              'propagation': next((o for o in options if o.lstrip('r') in ('private', 'slave', 'shared')),
                                                  None)}
    return [found[key] for key in sorted(found)]


def definition_config(definition: dict) -> dict:
    """The definition as a user wrote it (the unit's mark), without what info reports on its own."""
    return {key: value for key, value in sorted(definition.items()) if key not in ('name', 'running', 'enabled')}


def assemble(definition: dict, props: dict, runtime_state, network, ports, rootfs, mounts, health,
             now=None, monotonic=None) -> dict:
    """One workload's inspection, from what each reader found."""
    name = definition['name']
    unit = unit_name(name)
    info = {'name': name}
    info.update(state_of(props, runtime_state, now, monotonic))
    info.update({
        'health': health,
        'network': network,
        'ports': ports,
        'rootfs': rootfs,
        'mounts': mounts,
        'limits': definition.get('limits'),
        'config': definition_config(definition),
        'unit': {'name': unit, 'path': props.get('FragmentPath') or posixpath.join(UNIT_DIR, unit),
                 'enabled': props.get('UnitFileState') in ('enabled', 'enabled-runtime')},
        'bundle': definition.get('bundle'),
        'log_command': 'journalctl -u %s' % unit,
    })
    return info


class WorkloadInfo:
    """Every owned workload's inspection (or those named), from one read of each source for all of them.

    ``reads`` is a ``_preview_reads.SharedReads`` (read-only handles: one netlink dump per namespace, one mount
    table), ``runner`` the netfilter runner to list our rules with; both made by the caller.
    """

    def __init__(self, reads, runner, runtime=None, systemctl=None, unit_dir: str = UNIT_DIR,
                 health_dir: str = HEALTH_DIR, warn=None, records=None, volumes_root: str = DEFAULT_VOLUMES_ROOT):
        self.reads = reads
        self.records = records
        self.volumes_root = volumes_root
        self.runner = runner
        self.runtime = runtime or Runtime()
        self.systemctl = systemctl or InspectSystemctl()
        self.unit_dir = unit_dir
        self.health_dir = health_dir
        self.warn = warn or (lambda message: None)

    def gather(self, names=None) -> tuple:
        """(inspections sorted by name, names asked for that are no workload of ours)."""
        service = WorkloadService(self.systemctl, unit_dir=self.unit_dir)
        owned, _foreign = service.read()
        by_name = {item['name']: item for item in owned}
        wanted = sorted(by_name) if names is None else [n for n in dict.fromkeys(names) if n in by_name]
        missing = [] if names is None else [n for n in dict.fromkeys(names) if n not in by_name]
        if not wanted:
            return [], missing

        states = self.runtime.states()
        kernel = self.reads.mount_kernel()
        table = kernel.mountinfo()
        overlays = OverlayMount(kernel, self.records).read()[0]
        volumes = BindVolume(kernel, self.records, volumes_root=self.volumes_root)
        binds = volumes.read()[0]
        try:
            ports = PortsResource(self.runner).read()[0]
        except ResourceError as exc:
            self.warn('published ports not read: %s' % exc)
            ports = []

        infos = []
        for name in wanted:
            definition = by_name[name]
            network = self._network(definition)
            addresses = {cidr.split('/')[0] for interface in (network or {}).get('interfaces', [])
                         for cidr in interface['addresses']}
            root = definition.get('root')
            config = {}
            if definition.get('bundle'):
                try:
                    config = bundle_config(definition)
                except WorkloadError as exc:
                    self.warn(str(exc))
            infos.append(assemble(
                definition, service.runtime.get(unit_name(name), {}), states.get(name), network,
                ports_of(name, addresses, ports), rootfs_of(root, overlays, table) if root else None,
                mounts_of(root, binds, volumes.volumes.data, config.get('mounts')),
                read_health(name, self.health_dir)))
        return infos, missing

    def _network(self, definition):
        netns = netns_name(definition.get('netns'))
        if netns is None:
            return None
        netlink = self.reads.netlink()
        try:
            return network_of(netns, netlink.links(netns), netlink.addresses(netns), netlink.routes(netns))
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EINVAL):
                self.warn('workload %r: network namespace %r not read: %s' % (definition['name'], netns, exc))
            return {'netns': netns, 'interfaces': [], 'address': None, 'prefix_length': None, 'mac': None,
                    'gateway': None}


# -- the modules: what each accepts, and its main() once its AnsibleModule exists -------------------------------------

WORKLOAD_EXEC_ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    command=dict(type='raw', required=True),
    user=dict(type='str'),
    environment=dict(type='dict'),
    working_dir=dict(type='str'),
    stdin=dict(type='str'),
    stdin_add_newline=dict(type='bool', default=True),
    strip_empty_ends=dict(type='bool', default=True),
)

WORKLOAD_INFO_ARGUMENT_SPEC = dict(
    name=dict(type='list', elements='str'),
)


def exec_in_workload(params: dict, check_mode: bool, workload_exec=None) -> dict:
    """What workload_exec reports for its PARAMS (WORKLOAD_EXEC_ARGUMENT_SPEC); WorkloadError before anything ran."""
    argv, environment = check_exec_options(params['name'], params['command'], params['environment'],
                                           params['working_dir'], params['user'])
    if check_mode:
        # As ansible.builtin.command does: nothing runs, so nothing can be predicted (not even the workload, which
        # an earlier task of a check-mode run would only have pretended to start).
        return {'changed': False, 'skipped': True, 'rc': 0, 'cmd': argv,
                'msg': 'Command would have run in workload %r if not in check mode' % params['name']}
    workload_exec = workload_exec or WorkloadExec()
    try:
        process = workload_exec.prepare(params['name'], argv, params['user'], environment, params['working_dir'])
    except WorkloadError as exc:
        exc.details.setdefault('cmd', argv)
        raise
    stdin = params['stdin']
    if stdin is not None:
        stdin = (stdin + ('\n' if params['stdin_add_newline'] else '')).encode('utf-8')
    cgroups = workload_exec.cgroups(params['name'])
    started = datetime.datetime.now()
    rc, out, err = workload_exec.run(params['name'], process, stdin, cgroups)
    result = exec_result(argv, rc, out, err, started, datetime.datetime.now(), params['strip_empty_ends'])
    result['user'] = {k: process['user'][k] for k in ('uid', 'gid', 'additionalGids') if k in process.get('user', {})}
    return result


def run_workload_exec(module, workload_exec=None) -> None:
    """main() of anatomy.containers.workload_exec, given its AnsibleModule (WORKLOAD_EXEC_ARGUMENT_SPEC).

    As ansible.builtin.command: a status other than 0 fails the task, with the command's output.
    """
    try:
        result = exec_in_workload(module.params, module.check_mode, workload_exec)
    except WorkloadError as exc:
        module.fail_json(msg=str(exc), **exc.details)
        return
    if result['rc'] != 0:
        module.fail_json(**result)
    module.exit_json(**result)


def run_workload_info(module) -> None:
    """main() of anatomy.containers.workload_info, given its AnsibleModule (WORKLOAD_INFO_ARGUMENT_SPEC)."""
    if not HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib('pyroute2'), exception=PYROUTE2_IMPORT_ERROR)
    names = module.params['name']
    bad = [n for n in names or [] if not NAME_RE.match(n)]
    if bad:
        module.fail_json(msg='name: %s not workload names' % ', '.join(repr(n) for n in bad), field='name')
    try:
        with SharedReads() as reads:
            infos, missing = WorkloadInfo(reads, reads.netfilter_runner(module), warn=module.warn).gather(names)
    except (ResourceError, OSError, ValueError) as exc:
        module.fail_json(msg='workload_info: %s' % exc, **getattr(exc, 'details', {}))
        return
    for name in missing:
        module.warn('no workload %r on this host' % name)
    module.exit_json(changed=False, workloads=infos, missing=missing)
