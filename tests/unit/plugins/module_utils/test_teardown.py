# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The teardown's logic: the order of its steps, what it removes that no module owns, check mode, kill, failures.

The steps themselves are the modules' own code, run for real in tests/integration/test_teardown.py; here a fake
run_task stands in for them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _host_plan, _resource, _restore, _services, _teardown
from ansible_collections.anatomy.containers.plugins.module_utils._mounts_resources import VOLUME_MARKER
from ansible_collections.anatomy.containers.plugins.module_utils._resource import OWNER_MARK

ORDER = ['services', 'binds', 'namespaces', 'veth', 'addresses', 'published_ports', 'overlays', 'masquerade',
         'bridges', 'layers', 'images']


class FakeSystemctl:
    def __init__(self, groups=None, active=()):
        self.calls = []
        self.groups = groups or {}
        self.active = active

    def run(self, *args):
        self.calls.append(args)
        if args[0] == 'is-active':
            if args[1] not in self.active:
                raise _services.SystemctlError('inactive')
            return 'active\n'
        return ''

    def show(self, units, properties):
        self.calls.append(('show',) + tuple(units))
        assert 'ControlGroup' in properties
        return {unit: {'Id': unit, 'ControlGroup': self.groups[unit]} for unit in units if unit in self.groups}


class Host:
    """What of ours each fake step finds, by module; a real run of a step removes it."""

    def __init__(self, objects=None, fail=None, leave=None):
        self.objects = {module: list(items) for module, items in (objects or {}).items()}
        self.fail = fail
        self.leave = leave or {}
        self.runs = []
        self.commands = []

    def run_command(self, argv, check_rc=False):
        self.commands.append(argv)
        return 0, '', ''

    def run_task(self, module, params, host, task_id='', reads=None, check_mode=True, diff=False):
        assert host is self
        self.runs.append((task_id, module, params['state'], check_mode))
        if module == self.fail and params['state'] != 'gathered':
            return {'failed': True, 'msg': 'the kernel said no'}
        have = self.objects.get(module, [])
        if params['state'] == 'gathered':
            return {'changed': False, 'gathered': list(have)}
        assert params.get('config') in (None, []), params
        before = list(have)
        if not check_mode:
            self.objects[module] = list(self.leave.get(module, []))
        return {'changed': bool(before), 'before': before, 'after': [] if check_mode else self.objects[module]}


@pytest.fixture
def host_dirs(tmp_path, monkeypatch):
    """The host's paths of ours, under tmp_path; returns the state root."""
    units = tmp_path / 'units'
    units.mkdir()
    monkeypatch.setattr(_restore, 'UNIT_DIR', str(units))
    monkeypatch.setattr(_restore, 'PROGRAM', str(tmp_path / 'anatomy-restore'))
    monkeypatch.setattr(_resource, 'GENERATION_FILE', str(tmp_path / 'run' / 'generation'))
    monkeypatch.setattr(_teardown, 'run_lock', contextlib.nullcontext)
    root = tmp_path / 'state'
    (root / 'bundles').mkdir(parents=True)
    monkeypatch.setattr(_services, 'DEFAULT_BUNDLES', str(root / 'bundles'))
    monkeypatch.setattr(_host_plan, 'FIREWALLD_ZONE_FILE', str(tmp_path / 'anatomy.xml'))
    (root / 'workloads' / 'web' / 'upper').mkdir(parents=True)
    (root / 'workloads' / 'addresses.json').write_text('{}')
    (root / 'resolv.conf').write_text('nameserver 10.0.0.1\n')
    (root / 'layers' / '.anatomy').mkdir(parents=True)
    for name, ours in (('web-data', True), ('old-data', True), ('theirs', False), ('forged', False)):
        (root / 'volumes' / name / '_data').mkdir(parents=True)
        if ours:
            (root / 'volumes' / name / VOLUME_MARKER).write_text(json.dumps({'owner': OWNER_MARK}))
    # A marker file of someone else's: not ours.
    (root / 'volumes' / 'forged' / VOLUME_MARKER).write_text(json.dumps({'owner': 'someone'}))
    return root


def run(host, root, monkeypatch, systemctl=None, **kwargs):
    monkeypatch.setattr(_teardown, 'run_task', host.run_task)
    return _teardown.teardown(host, str(root), systemctl=systemctl or FakeSystemctl(), **kwargs)


def test_steps_take_a_host_apart_in_order_each_module_told_nothing_is_wanted():
    steps = _teardown.steps('/srv/anatomy/', 'iptables', True)
    assert [kind for kind, _module, _params in steps] == ORDER
    params = {kind: p for kind, _m, p in steps}
    assert params['binds'] == {'config': [], 'state': 'overridden', 'volumes_root': '/srv/anatomy/volumes', 'purge': True}
    assert params['overlays']['purge'] is True
    assert params['published_ports']['backend'] == params['masquerade']['backend'] == 'iptables'
    assert params['masquerade']['sysctl_file'] == '/etc/sysctl.d/60-anatomy-containers.conf'
    assert params['layers'] == {'state': 'deleted', 'layers_root': '/srv/anatomy/layers'}


def test_labels_name_each_object_by_its_modules_key():
    assert _teardown.label('published_ports', {'protocol': 'tcp', 'host_address': None, 'host_port': 80}) == 'tcp 80'
    assert _teardown.label('binds', {'root': '/w/rootfs', 'target': '/data'}) == '/w/rootfs /data'
    assert _teardown.label('addresses', {'netns': 'web', 'interface': 'eth0'}) == 'web eth0'


def test_removes_every_kind_then_the_files_no_module_owns(host_dirs, monkeypatch, tmp_path):
    root = host_dirs
    (tmp_path / 'anatomy-restore').write_text('program')
    (tmp_path / 'units' / _restore.FIREWALL_UNIT).write_text('[Service]\n')
    os.makedirs(_restore.RESTORE_DIR)
    host = Host({'workload_service': [{'name': 'web'}], 'netns': [{'name': 'web'}], 'bridge': [{'name': 'ctbr0'}]})
    systemctl = FakeSystemctl()
    result = run(host, root, monkeypatch, systemctl)
    assert [task for task, _m, state, _c in host.runs if state != 'gathered'] == ORDER
    assert [task for task, _m, state, _c in host.runs if state == 'gathered'] == ORDER
    assert result['changed'] and result['removed'] == {'services': ['web'], 'namespaces': ['web'], 'bridges': ['ctbr0']}
    # The firewall watch is stopped before anything of ours goes, so it puts no rule back.
    assert systemctl.calls[0] == ('disable', '--no-reload', '--now', _restore.FIREWALL_UNIT)
    assert systemctl.calls[-1] == ('daemon-reload',)
    assert not os.path.exists(_restore.PROGRAM) and not os.path.exists(_restore.RESTORE_DIR)
    assert os.listdir(root) == ['volumes']
    assert sorted(os.listdir(root / 'volumes')) == ['forged', 'old-data', 'theirs', 'web-data']
    assert {str(root / 'workloads'), str(root / 'layers'), str(root / 'bundles')} <= set(result['files'])
    with open(_resource.GENERATION_FILE) as handle:
        assert len(handle.read().strip()) == 36


def test_purge_deletes_the_volumes_of_ours_bound_or_not_and_never_others(host_dirs, monkeypatch):
    root = host_dirs
    result = run(Host(), root, monkeypatch, purge_volumes=True)
    assert sorted(os.listdir(root / 'volumes')) == ['forged', 'theirs']
    assert str(root / 'volumes' / 'old-data') in result['files']


def test_an_empty_state_root_goes_and_a_second_run_changes_nothing(tmp_path, monkeypatch, host_dirs):
    root = host_dirs
    run(Host(), root, monkeypatch, purge_volumes=True)
    for name in ('forged', 'theirs'):
        shutil.rmtree(root / 'volumes' / name)
    run(Host(), root, monkeypatch)
    assert not root.exists()
    again = run(Host(), root, monkeypatch)
    assert not again['changed'] and again['removed'] == {} and again['files'] == []


def test_check_mode_changes_nothing_and_lists_the_layers_the_real_run_would_remove(host_dirs, monkeypatch, tmp_path):
    root = host_dirs
    (tmp_path / 'units' / _restore.RESTORE_UNIT).write_text('[Service]\n')
    host = Host({'workload_service': [{'name': 'web'}], 'layer': [{'name': 'base'}]})
    systemctl = FakeSystemctl()
    result = run(host, root, monkeypatch, systemctl, purge_volumes=True, kill=True, check_mode=True)
    assert systemctl.calls == []
    assert result['changed'] and result['removed'] == {'services': ['web'], 'layers': ['base']}
    # The layer module's check would refuse layers that mounted root filesystems use: its gathered list instead.
    assert ('layers', 'layer', 'gathered', True) in host.runs
    assert all(check for _t, _m, _s, check in host.runs)
    assert os.path.isdir(root / 'workloads') and os.path.isdir(root / 'volumes' / 'old-data')
    assert str(root / 'volumes' / 'old-data') in result['files']
    assert not os.path.exists(_resource.GENERATION_FILE)


def test_kill_kills_the_workloads_through_their_cgroups_before_their_step(host_dirs, monkeypatch, tmp_path):
    for name in ('web', 'db'):
        (tmp_path / 'units' / _services.unit_name(name)).write_text(
            _services.MARK + json.dumps({'name': name}) + '\n[Service]\n')
    killed = []
    monkeypatch.setattr(_services, 'kill_cgroup', lambda path, roots=None: killed.append(path))
    units = (_services.unit_name('db'), _services.unit_name('web'))
    systemctl = FakeSystemctl({units[1]: '/system.slice/' + units[1]})
    host = Host()
    run(host, host_dirs, monkeypatch, systemctl, kill=True)
    # The stop jobs first: systemd then counts the kill as a stop by hand, and restarts none.
    assert systemctl.calls[:2] == [('stop', '--no-block') + units, ('show',) + units]
    # db has no cgroup: nothing of it runs any more.
    assert killed == ['/system.slice/' + units[1]]
    assert host.runs[0][0] == 'services'


def test_a_cgroup_is_emptied_with_sigkill(tmp_path, monkeypatch):
    sleeper = subprocess.Popen(['sleep', '300'])
    group = tmp_path / 'systemd' / 'system.slice' / 'web.service'
    (group / 'child').mkdir(parents=True)
    (group / 'cgroup.procs').write_text('')
    # 999999999: a process that died in between.
    (group / 'child' / 'cgroup.procs').write_text('%d\n999999999\n' % sleeper.pid)
    real_kill = os.kill
    signals = []

    def kill(pid, sig):
        signals.append((pid, sig))
        real_kill(pid, sig) if pid == sleeper.pid else None
        if pid == 999999999:
            raise ProcessLookupError(pid)
        # The kernel takes a dead process out of cgroup.procs; here the test does.
        sleeper.wait(5)
        (group / 'child' / 'cgroup.procs').write_text('')

    monkeypatch.setattr(_services.os, 'kill', kill)
    try:
        _services.kill_cgroup('/system.slice/web.service', (str(tmp_path / 'unified'), str(tmp_path / 'systemd')))
        assert sleeper.poll() == -signal.SIGKILL
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()
    assert sorted(signals) == [(sleeper.pid, signal.SIGKILL), (999999999, signal.SIGKILL)]


def test_where_the_kernel_has_cgroup_kill_it_is_used(tmp_path):
    group = tmp_path / 'system.slice' / 'web.service'
    group.mkdir(parents=True)
    (group / 'cgroup.procs').write_text('1\n')
    (group / 'cgroup.kill').write_text('')
    _services.kill_cgroup('/system.slice/web.service', (str(tmp_path),))
    assert (group / 'cgroup.kill').read_text() == '1'


def test_a_unit_whose_cgroup_is_gone_has_nothing_to_kill(tmp_path):
    _services.kill_cgroup('/system.slice/web.service', (str(tmp_path),))


def test_a_failing_step_stops_the_teardown_with_what_was_done(host_dirs, monkeypatch):
    host = Host({'workload_service': [{'name': 'web'}], 'bridge': [{'name': 'ctbr0'}]}, fail='netns')
    with pytest.raises(_teardown.TeardownError, match='namespaces: the kernel said no') as caught:
        run(host, host_dirs, monkeypatch)
    assert caught.value.result['removed'] == {'services': ['web']}
    assert [task for task, *_rest in host.runs] == ['services', 'binds', 'namespaces']
    assert os.path.isdir(host_dirs / 'workloads')


def test_anything_of_ours_left_afterwards_fails_naming_it(host_dirs, monkeypatch):
    host = Host({'netns': [{'name': 'web'}]}, leave={'netns': [{'name': 'web'}]})
    with pytest.raises(_teardown.TeardownError, match='left behind: namespaces: web') as caught:
        run(host, host_dirs, monkeypatch)
    assert caught.value.result['left'] == {'namespaces': ['web']}


@pytest.mark.parametrize('running', [True, False])
def test_our_firewalld_zone_goes_and_a_running_firewalld_is_reloaded(host_dirs, monkeypatch, running):
    zone = _host_plan.FIREWALLD_ZONE_FILE
    with open(zone, 'w') as handle:
        handle.write(_host_plan.firewalld_zone(['ctbr0']))
    host = Host()
    result = run(host, host_dirs, monkeypatch, FakeSystemctl(active=('firewalld.service',) if running else ()))
    assert zone in result['files'] and not os.path.exists(zone)
    assert host.commands == ([['firewall-cmd', '--reload']] if running else [])


def test_a_firewalld_zone_of_that_name_that_is_not_ours_stays(host_dirs, monkeypatch):
    zone = _host_plan.FIREWALLD_ZONE_FILE
    with open(zone, 'w') as handle:
        handle.write('<zone target="DROP"><short>theirs</short></zone>\n')
    host = Host()
    result = run(host, host_dirs, monkeypatch, FakeSystemctl(active=('firewalld.service',)))
    assert zone not in result['files'] and os.path.exists(zone) and host.commands == []


def test_the_image_store_goes_once_empty_and_stays_with_a_layer_someone_elses_overlay_kept(host_dirs, monkeypatch):
    root = host_dirs
    (root / 'images' / 'images').mkdir(parents=True)
    (root / 'images' / 'index.json').write_text('{}')
    (root / 'images' / 'layers' / ('a' * 64) / 'etc').mkdir(parents=True)
    result = run(Host(), root, monkeypatch)
    assert (root / 'images' / 'layers' / ('a' * 64) / 'etc').is_dir() and str(root / 'images') not in result['files']
    shutil.rmtree(root / 'images' / 'layers' / ('a' * 64))
    result = run(Host(), root, monkeypatch)
    assert not (root / 'images').exists() and str(root / 'images') in result['files']
