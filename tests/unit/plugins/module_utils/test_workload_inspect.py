# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""workload_exec and workload_info: the OCI process of a command, the runtime's and systemd's answers, an inspection
assembled from every reader, against fakes and captured output."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _workload_inspect as inspect
from ansible_collections.anatomy.containers.plugins.module_utils import _mounts_resources
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import Records, Resolver
from ansible_collections.anatomy.containers.plugins.module_utils._mounts_resources import BindVolume, OverlayMount
from ansible_collections.anatomy.containers.plugins.module_utils._resource import converge
from ansible_collections.anatomy.containers.plugins.module_utils._services import MARK, parse_show, runtime_argv
from ansible_collections.anatomy.containers.plugins.module_utils._workload_inspect import (
    InspectSystemctl, Runtime, WorkloadError, WorkloadExec, WorkloadInfo, check_exec_options, exec_process,
    exec_result, merge_environment, monotonic_time, mounts_of, network_of, parse_definition, parse_list, ports_of,
    read_definition, state_of,
)
from tests.unit.support.fixtures import load_fixture
from tests.unit.support.mounts_fakes import FakeKernel as FakeMountKernel
from tests.unit.support.netlink_fakes import FakeKernel as FakeNetlink

CONFIG = json.loads(load_fixture('oci-config-web.json'))
SHOW = parse_show(load_fixture('systemctl-show-workloads.txt'))
PASSWD = ('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'
          'app:x:1000:1000::/home/app:/bin/sh\n# a comment\nbroken line\n')
GROUP = 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app,other\nwheel:x:10:root\n'


def write_unit(unit_dir, definition, mark=MARK):
    path = os.path.join(str(unit_dir), 'anatomy-workload-%s.service' % definition['name'])
    with open(path, 'w') as unit:
        unit.write(mark + json.dumps(definition) + '\n[Unit]\nDescription=x\n')
    return path


# -- the definition ----------------------------------------------------------------------------------

def test_a_definition_is_read_from_the_mark_of_its_own_unit_only(tmp_path):
    write_unit(tmp_path, {'name': 'web', 'bundle': '/b'})
    write_unit(tmp_path, {'name': 'hand', 'bundle': '/b'}, mark='# made by hand: ')
    with open(tmp_path / 'anatomy-workload-other.service', 'w') as unit:
        unit.write(MARK + json.dumps({'name': 'web'}) + '\n')  # a mark naming another workload
    assert read_definition('web', str(tmp_path)) == {'name': 'web', 'bundle': '/b'}
    assert read_definition('hand', str(tmp_path)) is None
    assert read_definition('other', str(tmp_path)) is None
    assert read_definition('absent', str(tmp_path)) is None
    assert read_definition('../etc/passwd', str(tmp_path)) is None
    assert parse_definition('web', MARK + '{not json') is None


def test_a_workload_set_up_before_the_runtime_has_no_bundle():
    with pytest.raises(WorkloadError, match="'old' has no OCI bundle"):
        inspect.bundle_config({'name': 'old'})


# -- exec: the process -------------------------------------------------------------------------------

def test_the_command_takes_the_workloads_process_but_its_args():
    process = exec_process(CONFIG['process'], ['id', '-u'])
    assert process['args'] == ['id', '-u'] and process['terminal'] is False
    for key in ('user', 'env', 'cwd', 'capabilities', 'rlimits', 'noNewPrivileges'):
        assert process[key] == CONFIG['process'][key], key
    assert 'consoleSize' not in process
    # A copy: the bundle's own process is left as it was.
    process['env'].append('X=1')
    assert 'X=1' not in CONFIG['process']['env']


def test_options_change_user_environment_and_working_dir():
    process = exec_process(CONFIG['process'], ['env'], user={'uid': 0, 'gid': 0},
                           environment={'GREETING': 'bye', 'NEW': 'x=y'}, working_dir='/tmp')
    assert process['user'] == {'uid': 0, 'gid': 0}
    assert process['env'] == ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=web',
                              'GREETING=bye', 'NEW=x=y']
    assert process['cwd'] == '/tmp'
    assert process['capabilities'] == CONFIG['process']['capabilities']


def test_merge_environment_keeps_order_and_overrides_in_place():
    assert merge_environment(['A=1', 'B=2'], {'B': '3', 'C': '4'}) == ['A=1', 'B=3', 'C=4']
    assert merge_environment(None, {'A': ''}) == ['A=']


def test_exec_options_are_checked():
    assert check_exec_options('web', 'sh -c "echo a b"', {'A': 1, 'B': None}, '/x') == (
        ['sh', '-c', 'echo a b'], {'A': '1', 'B': ''})
    assert check_exec_options('web', ['id', 5], None, None) == (['id', '5'], {})
    for name, command, env, cwd, field in (
            ('Web!', 'id', None, None, 'name'), ('web', '', None, None, 'command'), ('web', [], None, None, 'command'),
            ('web', 'echo "open', None, None, 'command'), ('web', 'id', {'A-B': '1'}, None, 'environment'),
            ('web', 'id', None, 'tmp', 'working_dir'), ('web', {'a': 1}, None, None, 'command')):
        with pytest.raises(WorkloadError) as info:
            check_exec_options(name, command, env, cwd)
        assert info.value.details['field'] == field
    for user in ('app', '1000', 'app:nogroup', '1000:1000'):
        check_exec_options('web', 'id', None, None, user)
    for user in ('a b', 'app:', ':x', 'app:a:b'):
        with pytest.raises(WorkloadError, match='is not NAME, UID, NAME:GROUP or UID:GID') as info:
            check_exec_options('web', 'id', None, None, user)
        assert info.value.details['field'] == 'user'


class FakeRun:
    """The runtime's commands: answers by the verb, every call recorded (with the process file's content)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, stdin=None, **options):
        verb = argv[len(runtime_argv()):][0]
        call = dict(options, argv=argv, stdin=stdin)
        if verb == 'exec':
            with open(argv[argv.index('--process') + 1]) as handle:
                call['process'] = json.load(handle)
        self.calls.append(call)
        return self.answers[verb]


def test_exec_runs_the_process_through_the_runtime_and_removes_its_file(tmp_path):
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    (bundle / 'config.json').write_text(json.dumps(CONFIG))
    write_unit(tmp_path, {'name': 'web', 'bundle': str(bundle), 'root': '/r'})
    run = FakeRun({'state': (0, b'{"id": "web", "status": "running", "pid": 42}', b''),
                   'exec': (3, b'out\n', b'err\n')})
    reads = []
    workload = WorkloadExec(Runtime(run), unit_dir=str(tmp_path),
                            reader=lambda root, path: reads.append((root, path)) or {'/etc/passwd': PASSWD}.get(path, GROUP))
    process = workload.prepare('web', ['id'], user='app')
    assert reads == [('/var/lib/anatomy/workloads/web/rootfs', '/etc/passwd'),
                     ('/var/lib/anatomy/workloads/web/rootfs', '/etc/group')]
    # Resolved in the workload's own files as its own user is (_oci.resolve_user); HOME follows the user.
    assert process['user'] == {'uid': 1000, 'gid': 1000, 'additionalGids': [2000]}
    assert 'HOME=/home/app' in process['env']
    assert workload.prepare('web', ['id'], user='4321')['user'] == {'uid': 4321, 'gid': 0, 'additionalGids': []}
    assert 'HOME=/x' in workload.prepare('web', ['id'], user='app', environment={'HOME': '/x'})['env']
    with pytest.raises(WorkloadError, match="workload 'web': user 'ghost' is not in the workload's /etc/passwd") as info:
        workload.prepare('web', ['id'], user='ghost')
    assert info.value.details['field'] == 'user'
    assert workload.run('web', process, b'in', ['/cg/x']) == (3, b'out\n', b'err\n')
    call = run.calls[-1]
    path = call['argv'][call['argv'].index('--process') + 1]
    assert call['argv'] == runtime_argv('exec', '--process', path, 'web') and call['stdin'] == b'in'
    assert call['process'] == process and not os.path.exists(path) and call['cgroups'] == ['/cg/x']


def test_the_command_joins_the_cgroup_of_the_workloads_unit_in_every_hierarchy(tmp_path):
    mounts = FakeMountKernel()
    for hierarchy, fstype in (('unified', 'cgroup2'), ('systemd', 'cgroup'), ('pids', 'cgroup'), ('memory', 'cgroup')):
        mounts.add(str(tmp_path / hierarchy), fstype=fstype)
        if hierarchy != 'memory':  # a controller the unit has no cgroup in
            unit = tmp_path / hierarchy / 'system.slice' / 'anatomy-workload-web.service'
            unit.mkdir(parents=True)
            (unit / 'cgroup.procs').write_text('')
    mounts.add(str(tmp_path / 'elsewhere'))  # not a cgroup hierarchy

    class Shown:
        def run(self, *args):
            assert args == ('show', '--property=Id,ControlGroup', 'anatomy-workload-web.service')
            return 'Id=anatomy-workload-web.service\nControlGroup=/system.slice/anatomy-workload-web.service\n'

    workload = WorkloadExec(Runtime(FakeRun({})), systemctl=Shown(), mountinfo=mounts.mountinfo)
    found = workload.cgroups('web')
    assert found == [str(tmp_path / h / 'system.slice' / 'anatomy-workload-web.service') for h in ('unified', 'systemd', 'pids')]
    inspect.join_cgroups(found + [str(tmp_path / 'gone')])()
    assert all(open(os.path.join(d, 'cgroup.procs')).read() == str(os.getpid()) for d in found)
    assert inspect.cgroup_directories(mounts.mountinfo(), '') == []


def test_without_a_cgroup_the_command_runs_where_it_is():
    class Failing:
        def run(self, *args):
            raise inspect.SystemctlError('no systemd')

    assert WorkloadExec(Runtime(FakeRun({})), systemctl=Failing(), mountinfo=None).cgroups('web') == []


@pytest.mark.parametrize('state, message', [
    ((1, b'', b'error opening file'), "workload 'web' is not running \\(the OCI runtime has no container of that name\\)"),
    ((0, b'{"status": "stopped"}', b''), "workload 'web' is not running \\(the OCI runtime has it stopped\\)"),
])
def test_exec_in_a_workload_that_does_not_run_fails_naming_its_unit(tmp_path, state, message):
    write_unit(tmp_path, {'name': 'web', 'bundle': '/nonexistent'})
    run = FakeRun({'state': state})
    with pytest.raises(WorkloadError, match=message + '.*systemctl start anatomy-workload-web.service'):
        WorkloadExec(Runtime(run), unit_dir=str(tmp_path)).prepare('web', ['id'])
    assert [c['argv'][-2:] for c in run.calls] == [['state', 'web']]


def test_exec_in_an_unknown_workload_fails_before_asking_the_runtime(tmp_path):
    run = FakeRun({})
    with pytest.raises(WorkloadError, match="no workload 'nope' on this host"):
        WorkloadExec(Runtime(run), unit_dir=str(tmp_path)).prepare('nope', ['id'])
    assert run.calls == []


def test_exec_result_is_what_command_returns():
    import datetime
    start = datetime.datetime(2026, 11, 30, 18, 0, 0)
    result = exec_result(['id'], 1, b'a\nb\n\n', 'e\xe9\r\n'.encode('latin-1'), start,
                         start + datetime.timedelta(seconds=1.5))
    assert result['stdout'] == 'a\nb' and result['stdout_lines'] == ['a', 'b']
    assert result['stderr'] == 'e\ufffd' and result['msg'] == 'non-zero return code' and result['changed'] is True
    assert result['delta'] == '0:00:01.500000' and result['start'] == '2026-11-30 18:00:00.000000'
    assert exec_result(['id'], 0, b'x\n', b'', start, start, strip_empty_ends=False)['stdout'] == 'x\n'


# -- info: the runtime and systemd ---------------------------------------------------------------------

def test_crun_list_is_read_by_container_id():
    states = parse_list(load_fixture('crun-list.json'))
    assert sorted(states) == ['other', 'web'] and states['web']['pid'] == 4242
    assert parse_list('') == {} and parse_list('[]\n') == {}


def test_runtime_states_is_one_list_call(tmp_path):
    run = FakeRun({'list': (0, load_fixture('crun-list.json').encode(), b'')})
    assert Runtime(run, str(tmp_path)).states()['web']['status'] == 'running'
    assert [c['argv'] for c in run.calls] == [runtime_argv('list', '--format', 'json')]
    with pytest.raises(WorkloadError, match='rc=1'):
        Runtime(FakeRun({'list': (1, b'', b'boom')}), str(tmp_path)).states()
    # crun list makes its state directory: not asked before the runtime ran a container of ours.
    run = FakeRun({})
    assert Runtime(run, str(tmp_path / 'none')).states() == {} and run.calls == []


def test_systemctl_show_asks_workload_services_properties_and_more():
    calls = []

    class Recording(InspectSystemctl):
        def run(self, *args):
            calls.append(args)
            return load_fixture('systemctl-show-workloads.txt')

    shown = Recording().show(['anatomy-workload-web.service', 'anatomy-workload-crashy.service'])
    assert len(calls) == 1 and calls[0][-2:] == ('anatomy-workload-web.service', 'anatomy-workload-crashy.service')
    asked = calls[0][1][len('--property='):].split(',')
    assert {'Id', 'ActiveState', 'UnitFileState', 'NeedDaemonReload', 'NRestarts', 'SubState'} <= set(asked)
    assert shown['anatomy-workload-crashy.service']['NRestarts'] == '1'
    assert Recording().show([]) == {} and len(calls) == 1


def test_monotonic_timestamps_become_utc_times():
    # 100 s after the boot of a clock whose monotonic 1000 s was 2026-11-30T18:00:00Z.
    now = 1796061600.0
    assert monotonic_time('100000000', now=now, monotonic=1000.0) == '2026-11-30T17:45:00.000000Z'
    assert monotonic_time('0', now=now, monotonic=1000.0) is None
    assert monotonic_time('', now=now, monotonic=1000.0) is None


@pytest.mark.parametrize('unit, runtime, expected', [
    ('web', {'status': 'running', 'pid': 4242},
     {'status': 'running', 'running': True, 'pid': 4242, 'restart_count': 0, 'exit_code': 0}),
    ('crashy', None, {'status': 'restarting', 'running': False, 'pid': None, 'restart_count': 1, 'exit_code': 3}),
    ('idle', None, {'status': 'created', 'running': False, 'pid': None, 'restart_count': 0, 'started_at': None}),
    # The unit started, the runtime has not made the container yet.
    ('web', None, {'status': 'starting', 'running': False, 'pid': None}),
    # A container left behind by a unit that stopped is not the workload running.
    ('crashy', {'status': 'running', 'pid': 7}, {'status': 'restarting', 'pid': None}),
])
def test_state_from_systemd_and_the_runtime(unit, runtime, expected):
    state = state_of(SHOW['anatomy-workload-%s.service' % unit], runtime, now=1796061600.0, monotonic=20000.0)
    for key, value in expected.items():
        assert state[key] == value, key
    assert state['systemd']['active_state'] == SHOW['anatomy-workload-%s.service' % unit]['ActiveState']


def test_exited_once_started():
    props = dict(SHOW['anatomy-workload-crashy.service'], ActiveState='failed', SubState='failed')
    state = state_of(props, None, now=1796061600.0, monotonic=20000.0)
    assert state['status'] == 'exited' and state['finished_at'] and state['started_at'] < state['finished_at']


# -- info: network, ports, mounts ---------------------------------------------------------------------

def workload_netns():
    kernel = FakeNetlink()
    kernel.netns_create('web')
    kernel.veth_add('veth-web', 'eth0', 'web', None, 1500, '02:42:0a:58:00:02')
    kernel.addr_add('web', 'eth0', '10.88.0.2/16')
    kernel.addr_add('web', 'eth0', 'fd00::2/64')
    kernel.route_add('web', 'eth0', '0.0.0.0/0', '10.88.0.1')
    return kernel


def test_network_is_eth0s_address_mac_and_gateway():
    kernel = workload_netns()
    network = network_of('web', kernel.links('web'), kernel.addresses('web'), kernel.routes('web'))
    assert network['address'] == '10.88.0.2' and network['prefix_length'] == 16
    assert network['mac'] == '02:42:0a:58:00:02' and network['gateway'] == '10.88.0.1'
    assert [i['name'] for i in network['interfaces']] == ['eth0']
    assert network['interfaces'][0]['addresses'] == ['10.88.0.2/16', 'fd00::2/64']


PORTS = [
    {'protocol': 'tcp', 'host_address': '0.0.0.0', 'host_port': '80', 'destination': '10.88.0.2',
     'destination_port': '8080', 'allowed_sources': [], 'comment': 'workload web'},
    {'protocol': 'udp', 'host_address': '127.0.0.1', 'host_port': '5353', 'destination': '10.88.0.2',
     'destination_port': '53', 'allowed_sources': ['10.0.0.0/8'], 'comment': ''},
    {'protocol': 'tcp', 'host_address': '0.0.0.0', 'host_port': '8000-8001', 'destination': '10.88.0.3',
     'destination_port': '8000-8001', 'allowed_sources': [], 'comment': 'workload api'},
]


def test_ports_are_those_naming_the_workload_or_leading_to_its_address():
    assert ports_of('web', {'10.88.0.2'}, PORTS) == [
        {'protocol': 'tcp', 'host_address': '0.0.0.0', 'host_port': '80', 'container_port': '8080',
         'destination': '10.88.0.2', 'allowed_sources': []},
        {'protocol': 'udp', 'host_address': '127.0.0.1', 'host_port': '5353', 'container_port': '53',
         'destination': '10.88.0.2', 'allowed_sources': ['10.0.0.0/8']}]
    assert [p['host_port'] for p in ports_of('api', set(), PORTS)] == ['8000-8001']
    assert ports_of('db', {'10.88.0.9'}, PORTS) == []


def test_mounts_are_our_binds_on_the_root_and_the_bundles_bind_mounts():
    root = '/var/lib/anatomy/workloads/web/rootfs'
    binds = [
        {'root': root, 'target': '/data', 'volume': 'web-data', 'source': None, 'read_only': False,
         'propagation': 'rprivate'},
        {'root': root, 'target': '/etc/hosts', 'volume': None, 'source': '/var/lib/anatomy/workloads/web/hosts',
         'read_only': True, 'propagation': 'rprivate'},
        {'root': '/elsewhere', 'target': '/x', 'volume': 'x', 'source': None, 'read_only': False, 'propagation': 'rprivate'},
    ]
    mounts = mounts_of(root, binds, lambda name: '/volumes/%s/_data' % name, CONFIG['mounts'])
    assert mounts == [
        {'type': 'volume', 'name': 'web-data', 'source': '/volumes/web-data/_data', 'destination': '/data',
         'read_only': False, 'propagation': 'rprivate'},
        {'type': 'bind', 'name': None, 'source': '/var/lib/anatomy/workloads/web/hostname', 'destination': '/etc/hostname',
         'read_only': True, 'propagation': None},
        {'type': 'bind', 'name': None, 'source': '/var/lib/anatomy/workloads/web/hosts', 'destination': '/etc/hosts',
         'read_only': True, 'propagation': 'rprivate'},
    ]


# -- info: assembled from every reader ------------------------------------------------------------------

class FakeReads:
    def __init__(self, mounts, netlink):
        self._mounts, self._netlink = mounts, netlink

    def mount_kernel(self):
        return self._mounts

    def netlink(self):
        return self._netlink


class FakeSystemctl:
    def __init__(self):
        self.calls = []

    def show(self, units):
        self.calls.append(list(units))
        return {unit: SHOW[unit] for unit in units if unit in SHOW}


class FakePorts:
    def __init__(self, runner):
        self.runner = runner

    def read(self):
        return [dict(p) for p in PORTS], set()


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A host with workloads web (running, with an overlay root, a volume, a netns and ports) and idle (stopped)."""
    monkeypatch.setattr(_mounts_resources, 'processes_using_paths', lambda paths: {p: [] for p in paths})
    monkeypatch.setattr(inspect, 'PortsResource', FakePorts)
    for layer in ('web-content', 'busybox'):
        (tmp_path / 'layers' / layer).mkdir(parents=True)
    wdir = tmp_path / 'workloads' / 'web'
    bundle = wdir / 'bundle'
    bundle.mkdir(parents=True)
    root = str(wdir / 'rootfs')
    config = dict(CONFIG, root={'path': root})
    (bundle / 'config.json').write_text(json.dumps(config))
    records = Records(str(tmp_path / 'records'))
    mounts = FakeMountKernel()
    converge(OverlayMount(mounts, records, link_dir=str(tmp_path / 'links')), [{
        'path': root, 'lower': [str(tmp_path / 'layers' / 'web-content'), str(tmp_path / 'layers' / 'busybox')],
        'upper': str(wdir / 'upper'), 'work': str(wdir / 'work'), 'options': None}], 'merged')
    item = dict.fromkeys(('volume', 'source', 'content', 'read_only', 'propagation', 'recursive', 'owner', 'group',
                          'mode'))
    converge(BindVolume(mounts, records, volumes_root=str(tmp_path / 'volumes'), resolver=Resolver(use_openat2=False)),
             [dict(item, root=root, target='/data', volume='web-data')], 'merged')
    units = tmp_path / 'units'
    units.mkdir()
    web = {'name': 'web', 'command': ['/bin/busybox', 'httpd'], 'root': root, 'netns': 'web', 'user': 'app',
           'bundle': str(bundle), 'hostname': 'web',
           'limits': {'memory': '64m', 'cpus': None, 'cpu_shares': None, 'pids': 100},
           'restart': 'always', 'stop_timeout': 10, 'healthcheck': None}
    write_unit(units, web)
    write_unit(units, {'name': 'idle', 'command': ['/bin/true'], 'root': '/nonexistent', 'netns': None,
                       'bundle': '/nonexistent'})
    health = tmp_path / 'health'
    health.mkdir()
    (health / 'web.json').write_text(json.dumps({'status': 'healthy', 'failing_streak': 0, 'log': []}))
    run = FakeRun({'list': (0, load_fixture('crun-list.json').encode(), b'')})
    systemctl = FakeSystemctl()
    warnings = []
    info = WorkloadInfo(FakeReads(mounts, workload_netns()), runner=None, runtime=Runtime(run, str(tmp_path)),
                        systemctl=systemctl,
                        unit_dir=str(units), health_dir=str(health), warn=warnings.append, records=records,
                        volumes_root=str(tmp_path / 'volumes'))
    return {'info': info, 'tmp': tmp_path, 'root': root, 'run': run, 'systemctl': systemctl, 'warnings': warnings,
            'mounts': mounts}


def test_info_of_every_workload_from_one_read_of_each_source(host):
    infos, missing = host['info'].gather()
    assert missing == [] and [i['name'] for i in infos] == ['idle', 'web']
    assert len(host['systemctl'].calls) == 1 and len(host['run'].calls) == 1
    web = infos[1]
    assert web['status'] == 'running' and web['pid'] == 4242 and web['restart_count'] == 0
    assert web['runtime']['created'] == '2026-11-30T17:58:08.866581Z'
    assert web['systemd']['main_pid'] == 4240
    assert web['health'] == {'status': 'healthy', 'failing_streak': 0, 'log': []}
    assert web['network']['address'] == '10.88.0.2' and web['network']['mac'] == '02:42:0a:58:00:02'
    assert [p['host_port'] for p in web['ports']] == ['80', '5353']
    tmp = host['tmp']
    assert web['rootfs'] == {'path': host['root'], 'type': 'overlay',
                             'layers': [str(tmp / 'layers' / 'web-content'), str(tmp / 'layers' / 'busybox')],
                             'upper': str(tmp / 'workloads' / 'web' / 'upper'),
                             'work': str(tmp / 'workloads' / 'web' / 'work')}
    assert [(m['type'], m['destination'], m['source']) for m in web['mounts']] == [
        ('volume', '/data', str(tmp / 'volumes' / 'web-data' / '_data')),
        ('bind', '/etc/hostname', '/var/lib/anatomy/workloads/web/hostname')]
    assert web['limits'] == {'memory': '64m', 'cpus': None, 'cpu_shares': None, 'pids': 100}
    assert web['config']['user'] == 'app' and web['config']['restart'] == 'always' and 'name' not in web['config']
    assert web['unit'] == {'name': 'anatomy-workload-web.service',
                           'path': '/etc/systemd/system/anatomy-workload-web.service', 'enabled': True}
    assert web['bundle'] == str(tmp / 'workloads' / 'web' / 'bundle')
    assert web['log_command'] == 'journalctl -u anatomy-workload-web.service'
    idle = infos[0]
    assert idle['status'] == 'created' and idle['network'] is None and idle['health'] is None
    assert idle['rootfs'] == {'path': '/nonexistent', 'type': None, 'layers': [], 'upper': None, 'work': None}
    assert host['warnings'] == ["workload 'idle': cannot read its OCI config /nonexistent/config.json: "
                                "[Errno 2] No such file or directory: '/nonexistent/config.json'"]
    # Nothing was mounted or unmounted by the inspection (the calls are the fixture's own).
    calls = list(host['mounts'].calls)
    host['info'].gather(['web'])
    assert host['mounts'].calls == calls


def test_info_of_named_workloads_and_of_names_that_are_none(host):
    infos, missing = host['info'].gather(['web', 'ghost', 'web'])
    assert [i['name'] for i in infos] == ['web'] and missing == ['ghost']
    infos, missing = host['info'].gather(['ghost'])
    assert infos == [] and missing == ['ghost']
    assert len(host['run'].calls) == 1  # nothing of ours asked for: neither the runtime nor the kernel asked
