# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Long texts that many task items share, sent to the preview once; and what the host_plan action keeps of the tasks."""

from __future__ import annotations

import copy
import types
import json

import pytest

from ansible_collections.anatomy.containers.plugins.action.host_plan import ARGUMENT_SPEC, KEEP_CONFIG, LARGE_ARGS, ActionModule
from ansible_collections.anatomy.containers.plugins.module_utils import _host_plan as host_plan
from ansible_collections.anatomy.containers.plugins.module_utils._shared_strings import (
    SHARED_STRING, share_strings, unshare_strings,
)

NETWORK = {'name': 'ctbr0', 'subnet': '10.88.0.0/16'}


def planned_tasks(n: int) -> list:
    workloads = [{'name': 'w%03d' % i, 'network': 'ctbr0', 'layers': ['base'], 'published_ports': ['%d:80' % (20000 + i)],
                  'volumes': [{'name': 'v%03d' % i, 'target': '/data'}], 'command': ['/bin/true']} for i in range(n)]
    layers = [{'name': 'base', 'busybox': True}]
    plan = host_plan.plan_host([NETWORK], workloads, layers, '/var/lib/anatomy', None, 'nameserver 192.0.2.1\n')
    return host_plan.network_tasks(plan, True, 'auto') + host_plan.workload_tasks(plan, layers, '/var/lib/anatomy', 'auto', False)


def test_the_hosts_files_of_a_network_are_sent_once_and_come_back_the_same():
    tasks = planned_tasks(40)
    before = copy.deepcopy(tasks)
    sent, strings = share_strings(tasks)
    assert tasks == before  # the input is left alone
    assert len(strings) == 1 and strings[0].count('\n') == 42  # localhost, ip6 localhost and the 40 workloads
    assert len(json.dumps(sent)) + len(json.dumps(strings)) < len(json.dumps(tasks)) - 38 * len(strings[0])
    hosts = [item for item in sent[-2]['params']['config'] if item['target'] == '/etc/hosts']
    assert len(hosts) == 40 and all(item['content'] == {SHARED_STRING: 0} for item in hosts)
    assert unshare_strings(json.loads(json.dumps(sent)), strings) == tasks


def test_nothing_is_shared_when_nothing_repeats_or_the_params_hold_the_marker_themselves():
    tasks = planned_tasks(1)
    assert share_strings(tasks) == (tasks, None)
    long = 'x' * 300
    tasks = [{'id': 'a', 'module': 'bind_volume', 'params': {'config': [{'content': long}, {'content': long}]}},
             {'id': 'b', 'module': 'workload_service', 'params': {'config': [{'environment': {SHARED_STRING: 0}}]}}]
    assert share_strings(tasks) == (tasks, None)
    assert unshare_strings(tasks, None) is tasks
    # Keys are never replaced, short strings neither.
    tasks = [{'id': 'a', 'module': 'm', 'params': {long: 'short', 'x': [long, long, 'short', 'short']}}]
    sent, strings = share_strings(tasks)
    assert strings == [long] and sent[0]['params'] == {long: 'short', 'x': [{SHARED_STRING: 0}] * 2 + ['short'] * 2}


@pytest.mark.parametrize('bad', [1, -1, True, '0', None])
def test_a_reference_to_no_string_is_an_error(bad):
    with pytest.raises(ValueError, match='strings has no such item'):
        unshare_strings([{'id': 'a', 'module': 'm', 'params': {'x': {SHARED_STRING: bad}}}], ['only'])


def test_the_result_keeps_the_config_of_the_tasks_that_run_and_of_those_the_removal_phase_reads():
    tasks = {task['id']: task['params'] for task in planned_tasks(3)}
    kept = ActionModule._needed(tasks, ['netns'])
    for task_id, params in tasks.items():
        if task_id == 'netns' or task_id in KEEP_CONFIG:
            assert kept[task_id] == params
        else:
            assert kept[task_id] == {key: value for key, value in params.items() if key != 'config'}
    assert kept['volumes']['volumes_root'] == '/var/lib/anatomy/volumes'
    assert set(KEEP_CONFIG) == {'services', 'root_filesystems'}
    assert ActionModule._needed(tasks, list(tasks)) == tasks


def _action(args):
    action = ActionModule.__new__(ActionModule)
    action._task = types.SimpleNamespace(args=args)
    return action


@pytest.mark.parametrize('args', [
    {'role': 'workload', 'workloads': [{'name': 'a'}, 'x'], 'networks': [NETWORK], 'handover': {'tasks': {'a': [1]}}},
    {'role': 'container_host', 'networks': [NETWORK], 'layers': [{'name': 'l'}], 'dns_servers': ['192.0.2.1']},
    {'role': 'workload', 'workloads': 'a,b', 'networks': [], 'layers': []},
])
def test_the_arguments_are_validated_as_before_without_copying_the_large_ones(args):
    action = _action(args)
    fast = action._validated_args()
    assert action._task.args is args
    _validation, slow = _action(dict(args)).validate_argument_spec(argument_spec=ARGUMENT_SPEC)
    assert fast == slow
    for key in LARGE_ARGS:
        if isinstance(args.get(key), (list, dict)):
            assert fast[key] is args[key]
