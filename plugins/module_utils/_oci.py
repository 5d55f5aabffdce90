# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A workload as an OCI bundle: the config.json an OCI runtime (crun) runs, as Docker would configure it.

This is a private module_util: its API may change without notice.

Everything here is pure: given a workload's definition, its /etc/passwd and /etc/group, the host's seccomp
profile and architecture, it returns the runtime's configuration. What Docker gives a container and how it
is expressed here:

- namespaces: its own PID (the command is PID 1), IPC, UTS (hostname), mount and cgroup namespaces; the
  network namespace the collection made, joined by path;
- /dev: a tmpfs with the minimal set of devices. The device cgroup that keeps Docker's containers from using
  a device node they make with CAP_MKNOD is not always available (the runtime leaves cgroups to systemd, and
  nested hosts see read-only controllers), so: /dev is mounted nodev with its devices bind-mounted read-only
  from the host (usable, but their owner and mode cannot change), and the default seccomp profile refuses
  mknod of character and block devices. (A nodev on the host's mount of the root filesystem would not help: the
  runtime's own bind of it inside the container is not nodev. With seccomp unconfined, only the device cgroup
  stops a node made in the root filesystem or a volume.)
- /proc and /sys with Docker's masked and read-only paths, /sys read-only;
- Docker's default capabilities, no_new_privileges, and Docker's default seccomp profile as Debian packages Docker's
  source, turned into the runtime's form for this architecture and capability set, as Docker does. (The profile of
  containers-common, Podman's, allows keyctl, unshare and user namespaces to every container: not Docker's boundary.)
"""

from __future__ import annotations

import json
import re

#: Docker's default seccomp profile where Debian's golang-github-docker-docker-dev installs it (Docker's source): the
#: container_host role takes that one file from the package, without the package's build dependencies.
DEFAULT_SECCOMP_PROFILE = '/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json'
#: The package it comes from, on Debian.
DEFAULT_SECCOMP_PACKAGE = 'golang-github-docker-docker-dev'

DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

#: Docker's masked paths (moby oci/defaults.go): bind-mounted over with /dev/null or an empty read-only tmpfs.
MASKED_PATHS = (
    '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
    '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
)
READONLY_PATHS = ('/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger')

#: The devices a container sees in /dev, bind-mounted from the host's.
DEVICES = ('null', 'zero', 'full', 'random', 'urandom', 'tty')

#: Docker's device cgroup rules (moby oci/devices_linux.go): nothing but the devices of DEVICES and the ptys.
DEVICE_RULES = [
    {'allow': False, 'access': 'rwm'},
    {'allow': True, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'rwm'},
    {'allow': True, 'type': 'c', 'major': 1, 'minor': 5, 'access': 'rwm'},
    {'allow': True, 'type': 'c', 'major': 1, 'minor': 7, 'access': 'rwm'},
    {'allow': True, 'type': 'c', 'major': 1, 'minor': 8, 'access': 'rwm'},
    {'allow': True, 'type': 'c', 'major': 1, 'minor': 9, 'access': 'rwm'},
    {'allow': True, 'type': 'c', 'major': 5, 'minor': 0, 'access': 'rwm'},
    {'allow': True, 'type': 'c', 'major': 5, 'minor': 2, 'access': 'rwm'},
    {'allow': True, 'type': 'c', 'major': 136, 'access': 'rwm'},
]

#: uname -m -> (the profile's SCMP architecture, the Go name its includes/excludes use).
ARCHES = {
    'x86_64': ('SCMP_ARCH_X86_64', 'amd64'), 'aarch64': ('SCMP_ARCH_AARCH64', 'arm64'),
    'i686': ('SCMP_ARCH_X86', '386'), 'armv7l': ('SCMP_ARCH_ARM', 'arm'), 'ppc64le': ('SCMP_ARCH_PPC64LE', 'ppc64le'),
    's390x': ('SCMP_ARCH_S390X', 's390x'), 'riscv64': ('SCMP_ARCH_RISCV64', 'riscv64'),
}
#: Sub-architectures by their Go names, for the profile's arch includes.
SUB_ARCH_NAMES = {'SCMP_ARCH_X86': 'x86', 'SCMP_ARCH_X32': 'x32', 'SCMP_ARCH_ARM': 'arm'}

S_IFMT, S_IFCHR, S_IFBLK = 0o170000, 0o020000, 0o060000

RLIMITS = {
    'as': 'RLIMIT_AS', 'core': 'RLIMIT_CORE', 'cpu': 'RLIMIT_CPU', 'data': 'RLIMIT_DATA', 'fsize': 'RLIMIT_FSIZE',
    'locks': 'RLIMIT_LOCKS', 'memlock': 'RLIMIT_MEMLOCK', 'msgqueue': 'RLIMIT_MSGQUEUE', 'nice': 'RLIMIT_NICE',
    'nofile': 'RLIMIT_NOFILE', 'nproc': 'RLIMIT_NPROC', 'rss': 'RLIMIT_RSS', 'rtprio': 'RLIMIT_RTPRIO',
    'rttime': 'RLIMIT_RTTIME', 'sigpending': 'RLIMIT_SIGPENDING', 'stack': 'RLIMIT_STACK',
}

CPU_PERIOD = 100000


class BundleError(ValueError):
    """A workload that cannot be configured as asked (an unknown user, an unreadable profile)."""


# -- users ---------------------------------------------------------------------------------------------

def _entries(text: str, fields: int) -> list:
    rows = []
    for line in (text or '').splitlines():
        if line and not line.startswith('#'):
            parts = line.split(':')
            if len(parts) >= fields:
                rows.append(parts)
    return rows


def resolve_user(user: str, passwd: str, group: str) -> dict:
    """``user`` (name, uid, name:group or uid:gid) as the OCI process user, resolved in the workload's own files.

    As Docker: a name must exist in the workload's /etc/passwd; a number need not (its group is then 0); the
    user's supplementary groups are those /etc/group lists it in. Returns {uid, gid, additionalGids, home}.
    """
    name, _sep, group_part = str(user).partition(':')
    users = _entries(passwd, 7)
    groups = _entries(group, 4)
    entry = None
    if name.isdigit():
        uid = int(name)
        entry = next((row for row in users if row[2] == name), None)
    else:
        entry = next((row for row in users if row[0] == name), None)
        if entry is None and name == 'root':
            entry = ['root', 'x', '0', '0', '', '/root', '']
        if entry is None:
            raise BundleError('user %r is not in the workload\'s /etc/passwd' % name)
        uid = int(entry[2])
    gid = int(entry[3]) if entry is not None and entry[3].isdigit() else 0
    if group_part:
        if group_part.isdigit():
            gid = int(group_part)
        else:
            match = next((row for row in groups if row[0] == group_part), None)
            if match is None:
                raise BundleError('group %r is not in the workload\'s /etc/group' % group_part)
            gid = int(match[2])
    additional = []
    if entry is not None and not group_part:
        additional = sorted({int(row[2]) for row in groups
                             if entry[0] in row[3].split(',') and row[2].isdigit() and int(row[2]) != gid})
    return {'uid': uid, 'gid': gid, 'additionalGids': additional,
            'home': entry[5] if entry is not None and entry[5] else '/'}


# -- seccomp -------------------------------------------------------------------------------------------

def kernel_version(release: str) -> tuple:
    return tuple(int(part) for part in re.findall(r'\d+', release)[:2]) or (0, 0)


def _applies(rule: dict, arch_names: set, capabilities: set, kernel: tuple) -> bool:
    includes = rule.get('includes') or {}
    excludes = rule.get('excludes') or {}
    if includes.get('arches') and not arch_names & set(includes['arches']):
        return False
    if includes.get('caps') and not set(includes['caps']) <= capabilities:
        return False
    if includes.get('minKernel') and kernel < kernel_version(includes['minKernel']):
        return False
    if excludes.get('arches') and arch_names & set(excludes['arches']):
        return False
    if excludes.get('caps') and set(excludes['caps']) & capabilities:
        return False
    return True


def _oci_rule(rule: dict) -> dict:
    out = {'names': list(rule.get('names') or ([rule['name']] if rule.get('name') else [])), 'action': rule['action']}
    if rule.get('errnoRet') is not None:
        out['errnoRet'] = rule['errnoRet']
    args = [{'index': a['index'], 'value': a['value'], 'valueTwo': a.get('valueTwo', 0), 'op': a['op']}
            for a in rule.get('args') or []]
    if args:
        out['args'] = args
    return out


def seccomp_for(profile: dict, machine: str, capabilities, kernel_release: str = '') -> dict:
    """A seccomp profile (Docker's format, as containers-common ships it, or already the OCI form) for this host.

    Docker's format lists rules for every architecture and capability set; the runtime takes those that
    apply here, as Docker and Podman do: the architecture of ``machine`` (uname -m) and its sub-architectures,
    the rules whose ``includes`` the capability set meets and whose ``excludes`` it does not.
    """
    if not isinstance(profile, dict) or 'defaultAction' not in profile:
        raise BundleError('a seccomp profile is a JSON object with defaultAction')
    if 'archMap' not in profile and 'architectures' in profile:
        return profile
    arch, go_name = ARCHES.get(machine, (None, machine))
    architectures = []
    names = {go_name}
    for entry in profile.get('archMap') or []:
        if entry.get('architecture') == arch:
            architectures = [arch] + list(entry.get('subArchitectures') or [])
            names |= {SUB_ARCH_NAMES.get(sub, sub) for sub in entry.get('subArchitectures') or []}
    if go_name == 'amd64':
        names |= {'x86', 'x32'}
    capabilities = set(capabilities)
    kernel = kernel_version(kernel_release)
    syscalls = [_oci_rule(rule) for rule in profile.get('syscalls') or []
                if _applies(rule, names, capabilities, kernel)]
    out = {'defaultAction': profile['defaultAction'], 'architectures': architectures, 'syscalls': syscalls}
    if profile.get('defaultErrnoRet') is not None:
        out['defaultErrnoRet'] = profile['defaultErrnoRet']
    return out


def without_device_nodes(seccomp: dict) -> dict:
    """The profile with mknod and mknodat of character and block devices refused (EPERM); other nodes allowed.

    The device allow-list of a cgroup is not always there to make such nodes useless (see the module's
    docstring); refusing to make them is the same boundary, whatever the mounts.
    """
    syscalls = []
    for rule in seccomp['syscalls']:
        if rule['action'] == 'SCMP_ACT_ALLOW' and not rule.get('args'):
            kept = [name for name in rule['names'] if name not in ('mknod', 'mknodat')]
            if not kept:
                continue
            rule = dict(rule, names=kept)
        syscalls.append(rule)
    for name, index in (('mknod', 1), ('mknodat', 2)):
        for kind in (S_IFCHR, S_IFBLK):
            syscalls.append({'names': [name], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 1,
                             'args': [{'index': index, 'value': S_IFMT, 'valueTwo': kind, 'op': 'SCMP_CMP_MASKED_EQ'}]})
        for kind in (0, 0o100000, 0o010000, 0o140000):  # a regular file (0 or S_IFREG), a FIFO, a socket
            syscalls.append({'names': [name], 'action': 'SCMP_ACT_ALLOW',
                             'args': [{'index': index, 'value': S_IFMT, 'valueTwo': kind, 'op': 'SCMP_CMP_MASKED_EQ'}]})
    return dict(seccomp, syscalls=syscalls)


# -- sizes and limits ----------------------------------------------------------------------------------

_SIZE_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$', re.IGNORECASE)


def parse_bytes(value) -> int:
    """A size as Docker takes it: 536870912, "512m", "1g", "64k" (powers of 1024)."""
    if isinstance(value, bool):
        raise ValueError('%r is not a size' % (value,))
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ValueError('%r is not a size like 512m or 1g' % (value,))
    return int(float(match.group(1)) * 1024 ** ' kmgt'.index((match.group(2) or ' ').lower()))


_DURATION_RE = re.compile(r'(\d+(?:\.\d+)?)(ms|s|m|h)')


def parse_seconds(value) -> float:
    """A duration as Docker takes it: "30s", "1m30s", "500ms", or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError('%r is not a duration' % (value,))
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if re.match(r'^\d+(\.\d+)?$', text):
        return float(text)
    parts = _DURATION_RE.findall(text)
    if not parts or ''.join(n + u for n, u in parts) != text:
        raise ValueError('%r is not a duration like 30s, 1m30s or 500ms' % (value,))
    return sum(float(n) * {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600}[u] for n, u in parts)


def parse_rlimit(name: str, value) -> dict:
    """One ulimit as Docker takes it: 1024, "1024" or "1024:4096" (soft:hard), for a name of RLIMITS."""
    if name not in RLIMITS:
        raise ValueError('%r is not one of %s' % (name, ', '.join(sorted(RLIMITS))))
    soft, _sep, hard = str(value).partition(':')
    try:
        soft_n = int(soft)
        hard_n = int(hard) if hard else soft_n
    except ValueError:
        raise ValueError('%s: %r is not a number or soft:hard' % (name, value))
    if soft_n < 0 or hard_n < soft_n:
        raise ValueError('%s: %r: soft must be 0 or more and not above hard' % (name, value))
    return {'type': RLIMITS[name], 'soft': soft_n, 'hard': hard_n}


def cpu_weight(shares: int) -> int:
    """Docker's CPU shares (2-262144, 1024 the default) as a cgroup v2 weight (1-10000), as runc converts them."""
    return 1 + ((max(2, min(shares, 262144)) - 2) * 9999) // 262142


def resources(limits: dict) -> dict:
    """The OCI resources of a workload's limits (memory bytes, cpus, cpu_shares, pids), and Docker's device rules."""
    out = {'devices': [dict(rule) for rule in DEVICE_RULES]}
    if limits.get('memory'):
        out['memory'] = {'limit': limits['memory']}
    cpu = {}
    if limits.get('cpus'):
        cpu.update(quota=int(round(limits['cpus'] * CPU_PERIOD)), period=CPU_PERIOD)
    if limits.get('cpu_shares'):
        cpu['shares'] = limits['cpu_shares']
    if cpu:
        out['cpu'] = cpu
    if limits.get('pids'):
        out['pids'] = {'limit': limits['pids']}
    return out


# -- the bundle ----------------------------------------------------------------------------------------

def _mounts() -> list:
    mounts = [
        {'destination': '/proc', 'type': 'proc', 'source': 'proc', 'options': ['nosuid', 'noexec', 'nodev']},
        {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',
         'options': ['nosuid', 'nodev', 'strictatime', 'mode=755', 'size=65536k']},
        {'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts',
         'options': ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']},
        {'destination': '/dev/shm', 'type': 'tmpfs', 'source': 'shm',
         'options': ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']},
        {'destination': '/dev/mqueue', 'type': 'mqueue', 'source': 'mqueue', 'options': ['nosuid', 'noexec', 'nodev']},
        {'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs', 'options': ['nosuid', 'noexec', 'nodev', 'ro']},
        {'destination': '/sys/fs/cgroup', 'type': 'cgroup', 'source': 'cgroup',
         'options': ['nosuid', 'noexec', 'nodev', 'relatime', 'ro']},
    ]
    # Read-only binds: the container reads and writes the devices, but cannot chmod or chown the host's nodes.
    mounts += [{'destination': '/dev/' + name, 'type': 'bind', 'source': '/dev/' + name,
                'options': ['bind', 'nosuid', 'noexec', 'ro']} for name in DEVICES]
    return mounts


def config(definition: dict, user: dict, seccomp, netns_path) -> dict:
    """The OCI config.json of a workload.

    ``definition`` is the workload service's (see _services.WorkloadService.normalize), ``user`` what
    :func:`resolve_user` found, ``seccomp`` the profile for this host or None (unconfined), ``netns_path`` the
    network namespace to join or None (the host's).
    """
    environment = {'PATH': DEFAULT_PATH, 'HOSTNAME': definition['hostname'], 'HOME': user['home']}
    environment.update(definition['environment'])
    capabilities = list(definition['capabilities'])
    process = {
        'terminal': False,
        'user': {'uid': user['uid'], 'gid': user['gid'], 'additionalGids': user['additionalGids']},
        'args': list(definition['command']),
        'env': ['%s=%s' % item for item in sorted(environment.items())],
        'cwd': definition['working_dir'],
        'capabilities': {kind: capabilities for kind in ('bounding', 'effective', 'permitted')},
        'rlimits': [parse_rlimit(name, value) for name, value in sorted(definition['ulimits'].items())],
        'noNewPrivileges': definition['no_new_privileges'],
    }
    if not process['rlimits']:
        del process['rlimits']
    namespaces = [{'type': kind} for kind in ('pid', 'ipc', 'uts', 'mount', 'cgroup')]
    if netns_path:
        namespaces.append({'type': 'network', 'path': netns_path})
    linux = {
        'namespaces': namespaces,
        'maskedPaths': list(MASKED_PATHS),
        'readonlyPaths': list(READONLY_PATHS),
        'resources': resources(definition['limits']),
        'rootfsPropagation': 'rslave',
    }
    if seccomp is not None:
        linux['seccomp'] = seccomp
    return {
        'ociVersion': '1.0.2',
        'process': process,
        'root': {'path': definition['root'], 'readonly': False},
        'hostname': definition['hostname'],
        'mounts': _mounts(),
        'linux': linux,
        'annotations': {'org.opencontainers.image.title': definition['name'], 'io.anatomy.workload': definition['name']},
    }


def dumps(document: dict) -> str:
    """config.json as written: stable, so that an unchanged workload compares equal byte for byte."""
    return json.dumps(document, indent=1, sort_keys=True) + '\n'
