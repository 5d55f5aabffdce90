# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workloads contained as a container engine contains them, tried from inside a workload (issue 11).

One network and two workloads from a busybox layer, made by site.yml as a user runs it: `esc` runs as root with
the default of every option, `web` as a user whose name only the workload's own /etc/passwd knows, serving a
published port (with a stop_timeout of 3 s, so that its stop by SIGKILL does not take Docker's 10). The escape
matrix is attempted for real by `esc`'s own command (a busybox script, PROBE_SCRIPT, with its
seccomp filter, capabilities and namespaces), which writes the outcome of each attempt to a volume that the
tests read. Since the lab hosts are containers themselves (nspawn hides the disks and makes parts of /proc/sys
read-only), each escape test first makes the same attempt from the lab host, outside the workload, and asserts
that it works there; only then does its failure inside prove the workload's own boundary. Where the lab host
cannot make the attempt either, the test says so (and what it still proves), or skips with the reason.

Syscalls that busybox does not make are made by tiny static programs written here (syscall_probe): a few bytes
of x86_64 code that make one syscall and exit with its errno (0 when it worked). The positive checks only read,
and run in the workload's namespaces and root through nsenter (inside()), as `workload_exec` will.

The whole matrix runs on the nftables and the iptables host (the netfilter backend of the published port).
"""

from __future__ import annotations

import base64
import shlex
import struct
import time

import pytest

from tests.integration.test_site_plan import converge, teardown

STATE = '/var/lib/anatomy'
RUNTIME_ROOT = '/run/anatomy/crun'
NETWORK = {'name': 'isol', 'subnet': '10.79.0.0/24'}
BACKENDS = ('nftables', 'iptables')
VOLUME = 'esc-out'
VOLUME_DATA = '%s/volumes/%s/_data' % (STATE, VOLUME)
RESULTS = VOLUME_DATA + '/results'
# A sysctl of the network namespace that root may write without CAP_NET_ADMIN (ip_forward wants it).
SYSCTL = '/proc/sys/net/core/somaxconn'
APP_UID = 4321
WEB_COMMAND = ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/www']
# The devices a container's /dev holds (Docker's and the OCI runtimes' default set), and the links they make.
DEV_NODES = {'null': '1:3', 'zero': '1:5', 'full': '1:7', 'random': '1:8', 'urandom': '1:9', 'tty': '5:0'}
DEV_DIRS = {'pts', 'shm', 'mqueue'}
DEV_OPTIONAL = {'fd', 'stdin', 'stdout', 'stderr', 'ptmx', 'core', 'console'}
# Docker's masked paths: nothing readable through them.
MASKED = ('/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/acpi', '/proc/scsi',
          '/proc/latency_stats', '/sys/firmware')
# /dev/fuse: a character device the lab host may open (nspawn allows it) and a container's device list does not.
FUSE = 'c 10 229'
ERRNO = {'EPERM': 1}

# x86_64 syscall numbers.
SYS = {'ptrace': 101, 'get_mempolicy': 239, 'keyctl': 250, 'finit_module': 313, 'userfaultfd': 323}
PTRACE_SEIZE = 0x4206
KEYCTL_JOIN_SESSION_KEYRING = 1
UFFD_USER_MODE_ONLY = 1

# The workload's own attempts, one line "ATTEMPT STATUS" each (0: it worked; a probe's status is its errno),
# written to /out/results once all are made; then it stays up. $DISK is the host's disk (major:minor),
# $SSHD_PID the lab host's sshd, $SYS_DIRS the directories under /sys where the lab host could write,
# $SYSCTL the sysctl it writes.
PROBE_SCRIPT = r'''
exec 2>/out/errors
out=/out/results.partial
: > $out
try() { name=$1; shift; "$@" >/dev/null 2>>/out/errors; echo "$name $?" >> $out; }
for p in /probes/*; do base64 -d "$p" > "/tmp/${p##*/}" && chmod 700 "/tmp/${p##*/}"; done

try signal kill -0 "$SSHD_PID"
echo "visible_sshd $(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^sshd$')" >> $out
try ptrace /tmp/ptrace

for place in tmp:/tmp volume:/out dev:/dev; do
  label=${place%%:*}; dir=${place#*:}
  rm -f $dir/esc-disk $dir/esc-fuse
  try mknod_disk_$label mknod $dir/esc-disk b ${DISK%:*} ${DISK#*:}
  try read_disk_$label head -c 512 $dir/esc-disk
  try mknod_fuse_$label mknod $dir/esc-fuse c 10 229
  try open_fuse_$label sh -c "exec 3<$dir/esc-fuse"
  rm -f $dir/esc-disk $dir/esc-fuse
done

try chmod_dev_null chmod 666 /dev/null
try sysctl sh -c 'v=$(cat $SYSCTL) && echo $v > $SYSCTL'
written=1
for dir in $SYS_DIRS; do
  if mkdir $dir/anatomy-esc 2>>/out/errors; then written=0; rmdir $dir/anatomy-esc; fi
done
echo "sys_write $written" >> $out
mkdir -p /tmp/esc-mnt
try mount mount -t tmpfs esc /tmp/esc-mnt
umount /tmp/esc-mnt 2>/dev/null
try hostname hostname esc-escaped
try module /tmp/finit_module
try kcore head -c 1 /proc/kcore
try userfaultfd /tmp/userfaultfd
try get_mempolicy /tmp/get_mempolicy
try keyctl /tmp/keyctl
try userns unshare -U true
grep -E ' /(proc|sys|dev)' /proc/self/mountinfo > /out/mountinfo
mv $out /out/results
# PID 1 of a PID namespace ignores the signals it has no handler for: this one stops on SIGTERM.
trap 'exit 0' TERM
sleep 2147483647 &
wait
'''


def syscall_probe(number: int, *args: int) -> bytes:
    """A static x86_64 ELF program: syscall(NUMBER, ARGS...), then exit with 0 if it returned >= 0, else its errno.

    mov rdi/rsi/rdx/r10/r8/r9, ARG; mov rax, NUMBER; syscall; mov rdi, rax; neg rdi; test rax, rax; js +2;
    xor edi, edi; mov eax, 60 (exit); syscall. One loadable segment, no libc, no section table.
    """
    registers = (b'\x48\xbf', b'\x48\xbe', b'\x48\xba', b'\x49\xba', b'\x49\xb8', b'\x49\xb9')
    code = b''.join(op + struct.pack('<q', arg) for op, arg in zip(registers, args))
    code += b'\x48\xb8' + struct.pack('<q', number) + b'\x0f\x05'
    code += b'\x48\x89\xc7\x48\xf7\xdf\x48\x85\xc0\x78\x02\x31\xff\xb8\x3c\x00\x00\x00\x0f\x05'
    base, headers = 0x400000, 64 + 56
    elf = struct.pack('<4sBBBBB7xHHIQQQIHHHHHH', b'\x7fELF', 2, 1, 1, 0, 0, 2, 62, 1, base + headers, 64, 0, 0,
                      64, 56, 1, 0, 0, 0)
    segment = struct.pack('<IIQQQQQQ', 1, 5, 0, base, base, headers + len(code), headers + len(code), 0x1000)
    return elf + segment + code


def probes(sshd_pid: int) -> dict:
    return {
        'ptrace': syscall_probe(SYS['ptrace'], PTRACE_SEIZE, sshd_pid, 0, 0),
        'keyctl': syscall_probe(SYS['keyctl'], KEYCTL_JOIN_SESSION_KEYRING, 0),
        # Any process may read its own NUMA policy; Docker's profile allows it only with CAP_SYS_NICE.
        'get_mempolicy': syscall_probe(SYS['get_mempolicy'], 0, 0, 0, 0, 0),
        'finit_module': syscall_probe(SYS['finit_module'], -1, 0, 0),
        # A user-mode-only userfaultfd needs no privilege (Linux 5.11).
        'userfaultfd': syscall_probe(SYS['userfaultfd'], UFFD_USER_MODE_ONLY),
    }


class Box:
    """The converged lab host of one backend: the host, what the workloads' attempts recorded, the host's facts."""

    def __init__(self, host, backend, sshd_pid, disk, sys_dirs):
        self.host, self.backend, self.sshd_pid, self.disk, self.sys_dirs = host, backend, sshd_pid, disk, sys_dirs
        # Before any workload runs.
        self.hostname = host.run('hostname').stdout.strip()
        self.arch = host.run('uname -m').stdout.strip()
        self.results = {}

    def run(self, command, check=True):
        return self.host.run(command, check=check)

    def status(self, command):
        return self.host.run(command, check=False).returncode

    def probe_on_host(self, name):
        """Run a syscall probe of the workload's layer on the lab host itself; its errno (0: it worked)."""
        if self.arch != 'x86_64':
            pytest.skip('the syscall probes are x86_64 programs; this host is %s' % self.arch)
        return self.status('base64 -d < {state}/layers/isol/probes/{name} > /tmp/esc-{name} && chmod 700 /tmp/esc-{name} '
                           '&& /tmp/esc-{name}; s=$?; rm -f /tmp/esc-{name}; exit $s'.format(state=STATE, name=name))

    def inside(self, name, command, check=True):
        return inside(self.host, name, command, check=check)


def pid1_script(name) -> str:
    """Shell that sets $pid to the host's pid of the workload's PID 1: from the runtime's state of the container
    (named after the workload), or, with no runtime, its unit's MainPID; 0 when it does not run."""
    return ('pid=$(crun --root {root} state {name} 2>/dev/null | sed -n \'s/^ *"pid": *\\([0-9]*\\).*/\\1/p\'); '
            '[ -n "$pid" ] || pid=$(systemctl show -p MainPID --value anatomy-workload-{name}.service); '
            .format(root=RUNTIME_ROOT, name=shlex.quote(name)))


def pid1(host, name) -> int:
    pid = int(host.run(pid1_script(name) + 'echo $pid').stdout)
    assert pid > 0, 'workload %s is not running:\n%s' % (name, host.run(
        'journalctl -u anatomy-workload-%s.service | tail -5' % name, check=False).stdout)
    return pid


def inside(host, name, command, check=True):
    """COMMAND by the workload's busybox sh, in all the namespaces, root and directory of its PID 1 (as root).

    nsenter carries neither the workload's seccomp filter nor its capabilities: only for what reads.
    """
    return host.run(pid1_script(name) + '[ "$pid" -gt 0 ] || { echo "%s is not running" >&2; exit 125; }; '
                    'exec nsenter --target $pid --all --root --wd /bin/sh -c %s' % (name, shlex.quote(command)),
                    check=check)


def site_vars(box_facts, backend):
    sshd_pid, disk, sys_dirs = box_facts
    files = [{'path': 'probe.sh', 'content': PROBE_SCRIPT, 'mode': '0755'},
             {'path': 'www/index.html', 'content': 'isolated\n'},
             {'path': 'etc/passwd', 'content': 'root:x:0:0:root:/root:/bin/sh\n'
                                               'app:x:%d:%d:app:/:/bin/false\n'
                                               'nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' % (APP_UID, APP_UID)},
             {'path': 'etc/group', 'content': 'root:x:0:\napp:x:%d:\nnogroup:x:65534:\n' % APP_UID}]
    files += [{'path': 'probes/' + name, 'content': base64.b64encode(code).decode() + '\n'}
              for name, code in sorted(probes(sshd_pid).items())]
    return {
        'container_host_networks': [NETWORK],
        'container_host_netfilter_backend': backend,
        'workload_layers': [{'name': 'base', 'busybox': True}, {'name': 'isol', 'files': files}],
        'workload_list': [
            {'name': 'esc', 'network': NETWORK['name'], 'layers': ['isol', 'base'], 'command': ['/bin/sh', '/probe.sh'],
             'volumes': [{'name': VOLUME, 'target': '/out'}],
             'environment': {'SSHD_PID': str(sshd_pid), 'DISK': disk, 'SYS_DIRS': ' '.join(sys_dirs), 'SYSCTL': SYSCTL}},
            # httpd as PID 1 ignores SIGTERM: its stop is the SIGKILL after stop_timeout (Docker's 10 s, shortened).
            {'name': 'web', 'network': NETWORK['name'], 'layers': ['isol', 'base'], 'command': WEB_COMMAND,
             'user': 'app', 'published_ports': ['18080:8080'], 'stop_timeout': 3},
        ],
    }


def host_facts(host):
    """The lab host's sshd, the disk that holds the state root (major:minor), the cgroup dirs where it may write."""
    sshd_pid = int(host.run('systemctl show -p MainPID --value ssh.service').stdout)
    disk = host.run("awk '$5 == \"%s\" {print $3}' /proc/self/mountinfo | tail -n1" % STATE).stdout.strip()
    assert disk and disk != '0:0', 'no disk found under %s' % STATE
    sys_dirs = host.run('for d in /sys/fs/cgroup/*/; do mkdir ${d}anatomy-esc 2>/dev/null && rmdir ${d}anatomy-esc && '
                        'echo ${d%/}; done; true').stdout.split()
    return sshd_pid, disk, sys_dirs


@pytest.fixture(scope='module', params=BACKENDS)
def box(request, lab, ansible):  # pylint: disable=unused-argument
    """The lab's first host, converged by site.yml with the workloads above on one backend; torn down after.

    (`ansible` only for its end: it closes the SSH masters that site.yml's runs leave.)
    """
    host = lab.hosts[0]
    teardown(lab)
    try:
        # As the lab host booted: an earlier run may have left its device nodes to a workload's user.
        host.run('chown 0:0 /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty')
        facts = host_facts(host)
        box = Box(host, request.param, *facts)
        converge(lab, site_vars(facts, request.param))
        deadline = time.monotonic() + 60
        while host.run('test -s %s' % RESULTS, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise AssertionError('the workload never wrote its results:\n%s' % host.run(
                    'cat %s/errors; journalctl -u anatomy-workload-esc.service | tail -20' % VOLUME_DATA,
                    check=False).stdout)
            time.sleep(0.3)
        box.results = dict((line.split()[0], int(line.split()[1]))
                           for line in host.run('cat ' + RESULTS).stdout.splitlines())
        yield box
    finally:
        teardown(lab)


def attempt(box, name):
    assert name in box.results, 'the workload made no attempt %r: %s' % (name, box.results)
    return box.results[name]


# -- the escape matrix: each attempt works on the lab host, and fails from inside the workload -------------------

def test_a_host_process_is_neither_seen_nor_signalled(box):
    assert box.status('kill -0 %d' % box.sshd_pid) == 0
    assert box.status('grep -qx sshd /proc/%d/comm' % box.sshd_pid) == 0
    assert attempt(box, 'visible_sshd') == 0, 'the host sshd is visible from the workload'
    assert attempt(box, 'signal') != 0, 'the workload signalled the host sshd (kill -0)'


def test_a_process_outside_cannot_be_traced(box):
    assert box.probe_on_host('ptrace') == 0, 'PTRACE_SEIZE of sshd from the lab host'
    assert attempt(box, 'ptrace') != 0, 'the workload seized the host sshd with ptrace'
    # None is visible to try: the workload has a PID namespace of its own.
    host_ns = box.run('readlink /proc/1/ns/pid').stdout.strip()
    assert box.inside('esc', 'readlink /proc/1/ns/pid').stdout.strip() != host_ns


@pytest.mark.parametrize('place', ['tmp', 'volume', 'dev'])
def test_no_device_node_made_in_the_workload_opens(box, place):
    """mknod of the host's disk and of /dev/fuse in the root filesystem's /tmp, a volume and /dev, then open.

    The lab host may make the disk's node but nspawn's own device rules refuse to open it (the lab's limit, so
    the disk's read fails inside whatever the workload's boundary): /dev/fuse, which the lab host opens and a
    container's device list leaves out, is what proves the boundary.
    """
    node = VOLUME_DATA + '/host-made'
    assert box.status('rm -f {n}; mknod {n} b {d} && rm {n}'.format(n=node, d=box.disk.replace(':', ' '))) == 0
    assert box.status('rm -f {n}; mknod {n} {f} && (exec 3<{n}); s=$?; rm {n}; exit $s'.format(n=node, f=FUSE)) == 0
    assert attempt(box, 'read_disk_' + place) != 0, 'the workload read the host disk through a node in ' + place
    assert attempt(box, 'open_fuse_' + place) != 0, 'the workload opened a /dev/fuse node it made in ' + place


def test_no_host_device_node_can_be_changed(box):
    """chmod of /dev/null (to the mode it has): the workload may change its own node, not the host's."""
    assert box.status('chmod 666 /dev/null') == 0
    if attempt(box, 'chmod_dev_null') == 0:
        assert box.inside('esc', 'stat -c "%d %i" /dev/null').stdout != box.run('stat -c "%d %i" /dev/null').stdout, \
            'the workload (root, default capabilities) may chmod the host\'s own /dev/null, bound into it'


def test_proc_sys_cannot_be_written(box):
    assert box.status('v=$(cat {s}) && echo $v > {s}'.format(s=SYSCTL)) == 0
    assert attempt(box, 'sysctl') != 0, 'the workload wrote ' + SYSCTL


def test_sys_cannot_be_written(box):
    assert box.sys_dirs, 'the lab host can write nowhere under /sys'
    assert attempt(box, 'sys_write') != 0, 'the workload made a directory under one of %s' % box.sys_dirs


def test_nothing_can_be_mounted(box):
    assert box.status('mkdir -p /tmp/esc-mnt && mount -t tmpfs esc /tmp/esc-mnt && umount /tmp/esc-mnt') == 0
    assert attempt(box, 'mount') != 0, 'the workload mounted a tmpfs'


def test_the_hostname_cannot_be_changed(box):
    assert box.status('hostname %s' % box.hostname) == 0
    assert attempt(box, 'hostname') != 0, 'the workload changed its hostname'
    assert box.run('hostname').stdout.strip() == box.hostname


def test_no_kernel_module_can_be_loaded(box):
    """finit_module. The lab host may not load modules either (nspawn withholds CAP_SYS_MODULE): on the host the
    test can only show that the attempt reaches the kernel (EPERM from its capability check, not ENOSYS)."""
    assert box.probe_on_host('finit_module') == ERRNO['EPERM']
    assert attempt(box, 'module') != 0


def test_kcore_cannot_be_read(box):
    if box.status('test -e /proc/kcore') != 0:
        assert attempt(box, 'kcore') != 0
        pytest.skip('this kernel has no /proc/kcore: nothing to read from the lab host either')
    assert box.status('head -c 1 /proc/kcore > /dev/null') == 0
    assert attempt(box, 'kcore') != 0


def test_syscalls_the_default_profile_blocks(box):
    """Docker's default seccomp profile refuses userfaultfd, and get_mempolicy without CAP_SYS_NICE: the kernel
    grants both to any process (a user-mode-only userfaultfd since Linux 5.11)."""
    assert box.probe_on_host('userfaultfd') == 0
    assert box.probe_on_host('get_mempolicy') == 0
    assert attempt(box, 'userfaultfd') == ERRNO['EPERM'], 'the workload made a userfaultfd'
    assert attempt(box, 'get_mempolicy') == ERRNO['EPERM'], 'the workload read its NUMA policy'


def test_no_user_namespace(box):
    assert box.status('unshare -U true') == 0
    assert attempt(box, 'userns') != 0, 'the workload made a user namespace (unshare -U)'


def test_no_keyring(box):
    if box.probe_on_host('keyctl') != 0:
        assert attempt(box, 'keyctl') != 0
        pytest.skip('the lab host may not use keyctl either (nspawn\'s own seccomp filter refuses it)')
    assert attempt(box, 'keyctl') != 0, 'the workload joined a new session keyring'


def test_a_workload_user_owns_nothing_of_the_host(box):
    """web runs as uid APP_UID: no file of the host becomes that user's (an OCI runtime may hand its own stdin, the
    host's /dev/null under systemd, to the container's user). web is restarted first, as a user may: started
    last, after esc (root), so that no later start of a root workload hides what web's start did."""
    box.run('systemctl restart anatomy-workload-web.service')
    pid1(box.host, 'web')
    assert box.run('stat -c %u:%g /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty').stdout.split() == \
        ['0:0'] * 6


# -- the positive side --------------------------------------------------------------------------------------------

def test_pid_1_is_the_workloads_command(box):
    cmdline = box.inside('web', "tr '\\0' ' ' < /proc/1/cmdline").stdout.strip()
    assert cmdline == ' '.join(WEB_COMMAND)
    assert box.inside('esc', "tr '\\0' ' ' < /proc/1/cmdline").stdout.strip() == '/bin/sh /probe.sh'


def test_the_hostname_is_the_workloads_name(box):
    assert box.inside('web', 'hostname').stdout.strip() == 'web'
    assert box.inside('esc', 'cat /proc/sys/kernel/hostname').stdout.strip() == 'esc'
    assert box.run('hostname').stdout.strip() == box.hostname


def test_a_user_name_resolves_inside_the_workload(box):
    # Only the workload's /etc/passwd knows the name.
    assert box.status('id app') != 0
    assert box.inside('web', 'id -u app').stdout.strip() == str(APP_UID)
    uids = box.run("awk '/^Uid:/ {print $2, $3}' /proc/%d/status" % pid1(box.host, 'web')).stdout.split()
    assert uids == [str(APP_UID)] * 2
    # And it serves the published port as that user.
    assert box.run('curl -sS http://127.0.0.1:18080/').stdout == 'isolated\n'


def test_dev_holds_the_minimal_set(box):
    entries = set(box.inside('esc', 'ls -A /dev').stdout.split())
    assert set(DEV_NODES) | DEV_DIRS <= entries <= set(DEV_NODES) | DEV_DIRS | DEV_OPTIONAL, sorted(entries)
    # Every device node, wherever it is under /dev (the ptys aside): the minimal set's, and /dev/ptmx or the console.
    nodes = box.inside('esc', "find /dev -path /dev/pts -prune -o \\( -type c -o -type b \\) -print | "
                              "while read n; do echo $n $(stat -c '%t %T' $n); done").stdout.splitlines()
    found = dict((path, '%d:%d' % (int(major, 16), int(minor, 16))) for path, major, minor in map(str.split, nodes))
    expected = dict(('/dev/' + name, number) for name, number in DEV_NODES.items())
    assert dict((p, n) for p, n in found.items() if p not in ('/dev/ptmx', '/dev/console')) == expected, found
    assert set(found.values()) <= set(DEV_NODES.values()) | {'5:1', '5:2'}, found


def test_proc_masks_and_read_only_paths(box):
    # The lab host reads what they mask.
    assert int(box.run('cat /proc/keys /proc/timer_list | wc -c').stdout) > 0
    shown = box.inside('esc', 'for p in %s; do if [ -d $p ]; then n=$(ls -A $p | wc -c); '
                              'else n=$(cat $p 2>/dev/null | wc -c); fi; echo $p $n; done' % ' '.join(MASKED)).stdout
    assert dict(line.split() for line in shown.splitlines()) == dict((path, '0') for path in MASKED)
    mounts = {}
    for line in box.inside('esc', 'cat /proc/self/mountinfo').stdout.splitlines():
        fields = line.split()
        mounts[fields[4]] = fields[5].split(',')
    # /proc/sysrq-trigger, /proc/bus, /proc/fs and /proc/irq are not on every kernel (nor in every lab host).
    present = box.inside('esc', 'for p in /proc/sysrq-trigger /proc/bus /proc/fs /proc/irq; do [ -e $p ] && echo $p; '
                                'done; true').stdout.split()
    for path in ['/proc/sys', '/sys'] + present:
        assert 'ro' in mounts.get(path, []), '%s is not mounted read-only: %s' % (path, mounts.get(path))


def test_stop_leaves_no_process(box):
    """web's PID 1 (httpd) ignores SIGTERM: stopped by SIGKILL after its stop_timeout, and nothing of it is left."""
    pid = pid1(box.host, 'web')
    # The workload's processes: those in its mount namespace, its PID namespace (when it has one) or its network.
    spaces = [box.run('readlink /proc/%d/ns/%s' % (pid, ns)).stdout.strip() for ns in ('mnt', 'pid')]
    if spaces[1] == box.run('readlink /proc/1/ns/pid').stdout.strip():
        spaces.pop()
    box.run('systemctl stop anatomy-workload-web.service')
    try:
        left = box.run('for p in /proc/[0-9]*; do for ns in mnt pid; do case "$(readlink $p/ns/$ns)" in %s) '
                       'echo ${p#/proc/};; esac; done; done; ip netns pids web; true'
                       % '|'.join(shlex.quote(s) for s in spaces)).stdout.split()
        assert left == [], 'processes left after stop: %s' % left
        # Nor the runtime's record of the container, which would keep its name taken.
        containers = box.run('command -v crun >/dev/null || exit 0; crun --root %s list -q' % RUNTIME_ROOT).stdout
        assert 'web' not in containers.split(), 'the runtime still holds the stopped container web:\n%s' % box.run(
            'crun --root %s state web; journalctl -u anatomy-workload-web.service -n 12 -o short-precise'
            % RUNTIME_ROOT, check=False).stdout
    finally:
        box.run('systemctl start anatomy-workload-web.service')
