# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The OCI bundle of a workload: users resolved in its own files, the seccomp profile for this host, limits, config.json."""

from __future__ import annotations

import json

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _oci
from ansible_collections.anatomy.containers.plugins.module_utils._services import WorkloadService

PASSWD = 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\nnobody:x:65534:65534::/nonexistent:/bin/false\n'
GROUP = 'root:x:0:\nwww:x:33:\nlog:x:4:www,other\naudio:x:29:nobody\n'

# A small profile in Docker's format, shaped as containers-common's seccomp.json.
PROFILE = {
    'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 38,
    'archMap': [{'architecture': 'SCMP_ARCH_X86_64', 'subArchitectures': ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']},
                {'architecture': 'SCMP_ARCH_AARCH64', 'subArchitectures': ['SCMP_ARCH_ARM']}],
    'syscalls': [
        {'names': ['read', 'write', 'mknod', 'mknodat'], 'action': 'SCMP_ACT_ALLOW', 'args': [], 'includes': {}, 'excludes': {}},
        {'names': ['arch_prctl'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'arches': ['amd64', 'x32']}},
        {'names': ['cacheflush'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'arches': ['arm', 'arm64']}},
        {'names': ['chroot'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'caps': ['CAP_SYS_CHROOT']}},
        {'names': ['chroot'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 1, 'excludes': {'caps': ['CAP_SYS_CHROOT']}},
        {'names': ['bpf'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'caps': ['CAP_SYS_ADMIN']}},
        {'names': ['new_thing'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'minKernel': '6.8'}},
        {'names': ['personality'], 'action': 'SCMP_ACT_ALLOW',
         'args': [{'index': 0, 'value': 8, 'valueTwo': 0, 'op': 'SCMP_CMP_EQ'}]},
    ],
}


@pytest.mark.parametrize('user, expected', [
    ('root', {'uid': 0, 'gid': 0, 'additionalGids': [], 'home': '/root'}),
    ('www', {'uid': 33, 'gid': 33, 'additionalGids': [4], 'home': '/var/www'}),
    ('nobody', {'uid': 65534, 'gid': 65534, 'additionalGids': [29], 'home': '/nonexistent'}),
    ('33', {'uid': 33, 'gid': 33, 'additionalGids': [4], 'home': '/var/www'}),
    ('1234', {'uid': 1234, 'gid': 0, 'additionalGids': [], 'home': '/'}),  # as Docker: a number need not be listed
    ('www:log', {'uid': 33, 'gid': 4, 'additionalGids': [], 'home': '/var/www'}),
    ('1234:5678', {'uid': 1234, 'gid': 5678, 'additionalGids': [], 'home': '/'}),
])
def test_users_resolve_in_the_workloads_own_files(user, expected):
    assert _oci.resolve_user(user, PASSWD, GROUP) == expected


def test_root_needs_no_passwd_file_but_other_names_do():
    assert _oci.resolve_user('root', '', '')['uid'] == 0
    with pytest.raises(_oci.BundleError, match="user 'www' is not in the workload's /etc/passwd"):
        _oci.resolve_user('www', '', '')
    with pytest.raises(_oci.BundleError, match="group 'wheel'"):
        _oci.resolve_user('www:wheel', PASSWD, GROUP)


def names_of(profile, action='SCMP_ACT_ALLOW'):
    return {name for rule in profile['syscalls'] if rule['action'] == action and not rule.get('args') for name in rule['names']}


def test_seccomp_takes_the_rules_of_this_architecture_and_capability_set():
    amd64 = _oci.seccomp_for(PROFILE, 'x86_64', ['CAP_SYS_CHROOT'], '6.1.0-13-amd64')
    assert amd64['architectures'] == ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']
    assert amd64['defaultAction'] == 'SCMP_ACT_ERRNO' and amd64['defaultErrnoRet'] == 38
    allowed = names_of(amd64)
    assert {'read', 'arch_prctl', 'chroot'} <= allowed
    assert not {'cacheflush', 'bpf', 'new_thing'} & allowed
    assert 'chroot' not in names_of(amd64, 'SCMP_ACT_ERRNO')
    personality = [rule for rule in amd64['syscalls'] if rule['names'] == ['personality']][0]
    assert personality['args'] == [{'index': 0, 'value': 8, 'valueTwo': 0, 'op': 'SCMP_CMP_EQ'}]

    arm = _oci.seccomp_for(PROFILE, 'aarch64', [], '6.9.1')
    assert arm['architectures'] == ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']
    assert {'cacheflush', 'new_thing'} <= names_of(arm) and 'arch_prctl' not in names_of(arm)
    assert 'chroot' in names_of(arm, 'SCMP_ACT_ERRNO') and 'chroot' not in names_of(arm)


def test_an_oci_profile_passes_as_it_is_and_garbage_is_refused():
    oci = {'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_X86_64'], 'syscalls': []}
    assert _oci.seccomp_for(oci, 'x86_64', []) is oci
    with pytest.raises(_oci.BundleError):
        _oci.seccomp_for({'syscalls': []}, 'x86_64', [])


def test_device_nodes_cannot_be_made_but_fifos_and_files_can():
    profile = _oci.without_device_nodes(_oci.seccomp_for(PROFILE, 'x86_64', [], '6.1'))
    assert not {'mknod', 'mknodat'} & names_of(profile)
    assert 'read' in names_of(profile)
    refused = [rule for rule in profile['syscalls'] if rule['action'] == 'SCMP_ACT_ERRNO' and rule['names'][0].startswith('mknod')]
    allowed = [rule for rule in profile['syscalls'] if rule['action'] == 'SCMP_ACT_ALLOW' and rule['names'][0].startswith('mknod')]
    assert {(r['names'][0], r['args'][0]['index'], r['args'][0]['valueTwo']) for r in refused} == {
        ('mknod', 1, _oci.S_IFCHR), ('mknod', 1, _oci.S_IFBLK), ('mknodat', 2, _oci.S_IFCHR), ('mknodat', 2, _oci.S_IFBLK)}
    assert all(r['args'][0]['op'] == 'SCMP_CMP_MASKED_EQ' and r['args'][0]['value'] == _oci.S_IFMT for r in refused + allowed)
    assert {r['args'][0]['valueTwo'] for r in allowed if r['names'] == ['mknod']} == {0, 0o100000, 0o010000, 0o140000}


@pytest.mark.parametrize('text, expected', [
    (536870912, 536870912), ('512m', 512 * 1024 ** 2), ('1g', 1024 ** 3), ('64k', 65536), ('1.5G', 3 * 1024 ** 3 // 2),
    ('100', 100), ('2MiB', 2 * 1024 ** 2),
])
def test_sizes_as_docker_takes_them(text, expected):
    assert _oci.parse_bytes(text) == expected


@pytest.mark.parametrize('text, expected', [(30, 30), ('30s', 30), ('1m30s', 90), ('500ms', 0.5), ('2h', 7200), ('5', 5)])
def test_durations_as_docker_takes_them(text, expected):
    assert _oci.parse_seconds(text) == expected


@pytest.mark.parametrize('bad', ['1 day', 'abc', '10x', True])
def test_bad_durations_and_sizes_are_refused(bad):
    with pytest.raises(ValueError):
        _oci.parse_seconds(bad)
    with pytest.raises(ValueError):
        _oci.parse_bytes(bad)


def test_rlimits():
    assert _oci.parse_rlimit('nofile', '1024:4096') == {'type': 'RLIMIT_NOFILE', 'soft': 1024, 'hard': 4096}
    assert _oci.parse_rlimit('core', 0) == {'type': 'RLIMIT_CORE', 'soft': 0, 'hard': 0}
    for name, value in (('files', 10), ('nofile', '10:5'), ('nofile', 'many')):
        with pytest.raises(ValueError):
            _oci.parse_rlimit(name, value)


def test_cpu_shares_become_weights_as_runc_converts_them():
    assert _oci.cpu_weight(2) == 1 and _oci.cpu_weight(262144) == 10000 and _oci.cpu_weight(1024) == 39


def definition(**extra):
    return WorkloadService(systemctl=object()).normalize(dict(
        WorkloadService.defaults, name='web', command=['/bin/httpd', '-f'], root='/srv/web/rootfs', netns='web',
        running=True, enabled=True, **extra))


def test_config_is_a_docker_like_container():
    wanted = definition(user='www', environment={'A': '1'}, hostname='front', working_dir='/srv',
                        limits={'memory': '64m', 'pids': 50, 'cpus': 0.5}, ulimits={'nofile': '100:200'})
    user = _oci.resolve_user('www', PASSWD, GROUP)
    document = _oci.config(wanted, user, {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': []}, '/run/netns/web')
    process = document['process']
    assert process['args'] == ['/bin/httpd', '-f'] and process['cwd'] == '/srv' and process['noNewPrivileges'] is True
    assert process['user'] == {'uid': 33, 'gid': 33, 'additionalGids': [4]}
    assert 'HOME=/var/www' in process['env'] and 'HOSTNAME=front' in process['env'] and 'A=1' in process['env']
    assert process['capabilities']['bounding'] == sorted(set(process['capabilities']['effective']))
    assert 'CAP_SYS_ADMIN' not in process['capabilities']['bounding'] and 'CAP_MKNOD' in process['capabilities']['bounding']
    assert process['rlimits'] == [{'type': 'RLIMIT_NOFILE', 'soft': 100, 'hard': 200}]
    assert document['hostname'] == 'front' and document['root'] == {'path': '/srv/web/rootfs', 'readonly': False}
    linux = document['linux']
    assert [ns['type'] for ns in linux['namespaces']] == ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'network']
    assert linux['namespaces'][-1]['path'] == '/run/netns/web'
    assert {'/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/acpi', '/proc/scsi',
            '/sys/firmware'} <= set(linux['maskedPaths'])
    assert {'/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus'} <= set(linux['readonlyPaths'])
    assert linux['resources']['memory'] == {'limit': 64 * 1024 ** 2} and linux['resources']['pids'] == {'limit': 50}
    assert linux['resources']['cpu'] == {'quota': 50000, 'period': 100000}
    assert linux['resources']['devices'][0] == {'allow': False, 'access': 'rwm'}
    mounts = {m['destination']: m for m in document['mounts']}
    assert 'nodev' in mounts['/dev']['options'] and 'ro' in mounts['/sys']['options']
    assert {d for d in mounts if d.startswith('/dev/')} == {'/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/null', '/dev/zero',
                                                            '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'}
    assert all(mounts['/dev/' + d]['type'] == 'bind' and 'ro' in mounts['/dev/' + d]['options'] for d in _oci.DEVICES)
    assert json.loads(_oci.dumps(document)) == document and _oci.dumps(document) == _oci.dumps(json.loads(_oci.dumps(document)))


def test_unconfined_has_no_filter_and_no_network_namespace_joins_none():
    document = _oci.config(definition(), _oci.resolve_user('root', PASSWD, GROUP), None, None)
    assert 'seccomp' not in document['linux'] and 'rlimits' not in document['process']
    assert 'network' not in [ns['type'] for ns in document['linux']['namespaces']]
