# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two runs at once: each plan takes the host's converge generation; a task of an earlier plan stops, changing nothing."""

from __future__ import annotations

import contextlib
import subprocess

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _host_plan, _resource
from ansible_collections.anatomy.containers.plugins.module_utils._resource import (
    GENERATION_ENV, ResourceError, check_generation, run_module,
)
from tests.unit.support.resource_fakes import Exit, FakeModule, Things


@pytest.fixture
def generation_file(tmp_path, monkeypatch):
    path = tmp_path / 'converge-generation'
    monkeypatch.setattr(_resource, 'GENERATION_FILE', str(path))
    return path


def test_the_plan_still_current_passes(generation_file):
    generation_file.write_text('g1\n')
    check_generation('g1')


@pytest.mark.parametrize('on_host', [None, 'g2\n'], ids=['gone (rebooted)', 'a later plan'])
def test_another_plan_stops_the_task(generation_file, on_host):
    if on_host is not None:
        generation_file.write_text(on_host)
    with pytest.raises(ResourceError) as failed:
        check_generation('g1')
    assert 'another run planned this host after this run did' in str(failed.value)
    assert failed.value.details['planned'] == 'g1'


def _run(generation_file, monkeypatch, planned, on_host, check_mode=False):
    generation_file.write_text(on_host)
    monkeypatch.setenv(GENERATION_ENV, planned)
    resource = Things()
    module = FakeModule(check_mode=check_mode, config=[{'name': 'a', 'size': 1, 'tags': []}], state='merged')
    with pytest.raises(Exit) as ended:
        run_module(module, resource, guard=contextlib.nullcontext)
    return resource, ended.value


def test_a_task_of_an_earlier_plan_changes_nothing(generation_file, monkeypatch):
    resource, ended = _run(generation_file, monkeypatch, planned='g1', on_host='g2\n')
    assert ended.args[0].get('failed') and 'the later run converges it' in ended.args[0]['msg']
    assert resource.calls == []


def test_a_task_of_the_current_plan_runs(generation_file, monkeypatch):
    resource, ended = _run(generation_file, monkeypatch, planned='g2', on_host='g2\n')
    assert not ended.args[0].get('failed') and resource.calls == [('create', 'a')]


def test_check_mode_and_tasks_outside_the_roles_do_not_look(generation_file, monkeypatch):
    resource, ended = _run(generation_file, monkeypatch, planned='g1', on_host='g2\n', check_mode=True)
    assert not ended.args[0].get('failed') and ended.args[0]['changed'] and resource.calls == []
    monkeypatch.delenv(GENERATION_ENV)
    module = FakeModule(config=[{'name': 'a', 'size': 1, 'tags': []}], state='merged')
    with pytest.raises(Exit) as plain:
        run_module(module, Things(), guard=contextlib.nullcontext)
    assert not plain.value.args[0].get('failed')


def test_the_read_takes_a_new_generation_under_the_run_lock(tmp_path, monkeypatch):
    """The shell the host_plan action runs, run here with the lock and the file in a temporary directory."""
    lock, generation = tmp_path / 'lock', tmp_path / 'run' / 'converge-generation'
    monkeypatch.setattr(_host_plan, 'LOCK_PATH', str(lock))
    monkeypatch.setattr(_host_plan, 'GENERATION_FILE', str(generation))
    read = _host_plan.HostRead(str(tmp_path / 'state'))
    command = read.command(take_generation=True)
    assert command.startswith('exec 9>>%s && flock 9 && ' % lock)
    outputs = [subprocess.run(['sh', '-c', command], capture_output=True, text=True, check=True).stdout for _run in (1, 2)]
    taken = [read.parse(out)['generation'] for out in outputs]
    assert all(taken) and taken[0] != taken[1]
    assert generation.read_text() == taken[1] + '\n'
    assert read.parse(subprocess.run(['sh', '-c', read.command()], capture_output=True, text=True,
                                     check=True).stdout)['generation'] is None
    assert generation.read_text() == taken[1] + '\n'
