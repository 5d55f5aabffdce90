# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which of a list of module tasks would change anything: the logic of anatomy.containers.preview.

This is a private module_util: its API may change without notice.

Each task names one of the collection's resource modules and the parameters its task
would get. It is run in this process exactly as that module runs in check mode: its
parameters validated and defaulted with the module's own argument spec (the module's
own error text), then the module's own ``run_x(module)``, the same function its
``main()`` calls, given a :class:`TaskModule` in place of an ``AnsibleModule``:
check mode, no diff, commands run through the real module, and ``exit_json`` /
``fail_json`` raising :class:`TaskExit` with the result instead of ending the process.

Each task is read against the host as it is now, not as earlier tasks would leave it. Nothing is written,
so the tasks share their reads of the host (``_preview_reads``): each netlink dump, the mount table and the
rule listing is read once for all of them.
"""

from __future__ import annotations

import copy
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.anatomy.containers.plugins.module_utils._netlink_resources import (
    BRIDGE_ARGUMENT_SPEC, NETNS_ADDR_ARGUMENT_SPEC, NETNS_ARGUMENT_SPEC, VETH_ARGUMENT_SPEC,
    run_bridge, run_netns, run_netns_addr, run_veth,
)
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.engine import (
    NAT_MASQUERADE_ARGUMENT_SPEC, PORT_FORWARD_ARGUMENT_SPEC, run_nat_masquerade, run_port_forward,
)
from ansible_collections.anatomy.containers.plugins.module_utils._mounts_resources import (
    BIND_VOLUME_ARGUMENT_SPEC, OVERLAY_MOUNT_ARGUMENT_SPEC, run_bind_volume, run_overlay_mount,
)
from ansible_collections.anatomy.containers.plugins.module_utils._layers import LAYER_ARGUMENT_SPEC, run_layer
from ansible_collections.anatomy.containers.plugins.module_utils._images import IMAGE_ARGUMENT_SPEC, run_image
from ansible_collections.anatomy.containers.plugins.module_utils._services import (
    WORKLOAD_SERVICE_ARGUMENT_SPEC, run_workload_service,
)
from ansible_collections.anatomy.containers.plugins.module_utils._preview_reads import SharedReads
from ansible_collections.anatomy.containers.plugins.module_utils._shared_strings import unshare_strings

COLLECTION = 'anatomy.containers'

#: Short module name -> (its argument spec, its run function): what its main() does with an AnsibleModule.
MODULES = {
    'netns': (NETNS_ARGUMENT_SPEC, run_netns),
    'bridge': (BRIDGE_ARGUMENT_SPEC, run_bridge),
    'veth': (VETH_ARGUMENT_SPEC, run_veth),
    'netns_addr': (NETNS_ADDR_ARGUMENT_SPEC, run_netns_addr),
    'nat_masquerade': (NAT_MASQUERADE_ARGUMENT_SPEC, run_nat_masquerade),
    'port_forward': (PORT_FORWARD_ARGUMENT_SPEC, run_port_forward),
    'layer': (LAYER_ARGUMENT_SPEC, run_layer),
    'image': (IMAGE_ARGUMENT_SPEC, run_image),
    'overlay_mount': (OVERLAY_MOUNT_ARGUMENT_SPEC, run_overlay_mount),
    'bind_volume': (BIND_VOLUME_ARGUMENT_SPEC, run_bind_volume),
    'workload_service': (WORKLOAD_SERVICE_ARGUMENT_SPEC, run_workload_service),
}

PREVIEW_ARGUMENT_SPEC = dict(
    tasks=dict(type='list', elements='dict', required=True, options=dict(
        id=dict(type='str', required=True),
        module=dict(type='str', required=True, choices=list(MODULES)),
        params=dict(type='dict', default={}),
        labels=dict(type='list', elements='str'),
    )),
    strings=dict(type='list', elements='str'),
)

#: The modules whose run function takes the preview's shared reads (``run_x(module, reads=...)``): the network
#: modules one netlink dump per namespace, the mount modules one mount table, the netfilter modules one listing.
SHARES_READS = frozenset(('netns', 'bridge', 'veth', 'netns_addr', 'nat_masquerade', 'port_forward', 'overlay_mount',
                          'bind_volume'))

_CONFIG_INDEX = re.compile(r'config\[(\d+)\]')


class TaskExit(Exception):
    """A previewed module's exit_json or fail_json: its result, and the run of that task is over."""

    def __init__(self, result: dict):
        super().__init__(result.get('msg', ''))
        self.result = result


class TaskModule:
    """What a module's run function uses of its AnsibleModule, for one task run inside another module.

    ``params`` are validated and defaulted already. Commands and temporary files go through
    ``host``, the running module's own AnsibleModule; exit_json and fail_json raise :class:`TaskExit`.
    A preview runs its tasks in check mode; the teardown runs them for real, in its own check mode.
    """

    def __init__(self, name: str, params: dict, host, task_id: str = '', check_mode: bool = True, diff: bool = False):
        self._name = '%s.%s' % (COLLECTION, name)
        self.params = params
        self._host = host
        self._task_id = task_id or name
        self.check_mode = check_mode
        self._diff = diff

    def run_command(self, *args, **kwargs):
        return self._host.run_command(*args, **kwargs)

    def get_bin_path(self, *args, **kwargs):
        return self._host.get_bin_path(*args, **kwargs)

    @property
    def tmpdir(self):
        return self._host.tmpdir

    def warn(self, warning):
        self._host.warn('%s: %s' % (self._task_id, warning))

    def deprecate(self, msg, *args, **kwargs):
        self._host.deprecate('%s: %s' % (self._task_id, msg), *args, **kwargs)

    def exit_json(self, **kwargs):
        raise TaskExit(kwargs)

    def fail_json(self, msg, **kwargs):
        raise TaskExit(dict(kwargs, msg=msg, failed=True))


def validate_params(name: str, spec: dict, params: dict) -> dict:
    """The params validated and defaulted as module ``name`` does; else a failed result with its own message.

    The failed result carries ``index`` when the error is in one item of ``config``.
    """
    result = ArgumentSpecValidator(copy.deepcopy(spec)).validate(params)
    if not result.errors.errors:
        return dict(params=result.validated_parameters)
    # What AnsibleModule.__init__ reports: the first error; unsupported parameters with the module's name.
    failed = dict(failed=True, msg=result.errors.msg)
    if isinstance(result.errors[0], UnsupportedError):
        failed['msg'] = 'Unsupported parameters for (%s.%s) module: %s' % (COLLECTION, name, failed['msg'])
    index = _failing_item(spec, params)
    if index is not None:
        failed['index'] = index
    return failed


def _failing_item(spec: dict, params: dict):
    """The index of the first config item that fails validation alone, None if the error is not in one."""
    config = params.get('config')
    if not isinstance(config, list) or not config:
        return None
    rest = dict(params, config=[])
    if ArgumentSpecValidator(copy.deepcopy(spec)).validate(rest).errors.errors:
        return None
    for index, item in enumerate(config):
        if ArgumentSpecValidator(copy.deepcopy(spec)).validate(dict(params, config=[item])).errors.errors:
            return index
    return None


def preview_task(name: str, params: dict, host, task_id: str = '', reads=None) -> dict:
    """Run one module task in check mode: its result as the module would return it (``failed`` when it fails).

    ``reads``: a :class:`SharedReads` of the host for the tasks of one preview, given to the modules that take it.
    """
    return run_task(name, params, host, task_id, reads)


def run_task(name: str, params: dict, host, task_id: str = '', reads=None, check_mode: bool = True,
             diff: bool = False) -> dict:
    """Run one module task in this process, as its module would run: its result (``failed`` when it fails).

    ``reads`` (check mode only): a :class:`SharedReads` of the host, given to the modules that take it.
    """
    spec, run = MODULES[name]
    validated = validate_params(name, spec, params)
    if validated.get('failed'):
        return validated
    module = TaskModule(name, validated['params'], host, task_id, check_mode, diff)
    try:
        if reads is not None and name in SHARES_READS:
            run(module, reads=reads)
        else:
            run(module)
    except TaskExit as exc:
        return exc.result
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # The module itself would end with a traceback; here it is one task's failure, not the preview's.
        return dict(failed=True, msg='%s: %s' % (type(exc).__name__, exc))
    return dict(failed=True, msg='the module ended without a result')


def error_line(task_id: str, result: dict, labels) -> str:
    """``<id>: <label or config[N]>: <message>``; config positions in the message named by their labels too."""
    msg = str(result.get('msg', 'failed'))
    labels = labels or []

    def label(index: int) -> str:
        return labels[index] if index < len(labels) else 'config[%d]' % index

    index = result.get('index')
    if isinstance(index, int) and not isinstance(index, bool):
        prefix = 'config[%d]: ' % index
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
        msg = '%s: %s' % (label(index), _CONFIG_INDEX.sub(lambda m: label(int(m.group(1))), msg))
    elif labels:
        msg = _CONFIG_INDEX.sub(lambda m: label(int(m.group(1))), msg)
    return '%s: %s' % (task_id, msg)


def check_tasks(tasks: list) -> list:
    """Problems with the tasks list itself (ids unique)."""
    problems = []
    seen = {}
    for position, task in enumerate(tasks):
        task_id = task['id']
        if task_id in seen:
            problems.append('tasks[%d]: id %r is listed twice (also tasks[%d])' % (position, task_id, seen[task_id]))
        else:
            seen[task_id] = position
    return problems


def preview(tasks: list, host) -> dict:
    """Preview every task: ``tasks`` ({id: {changed, msg when it would fail}}), ``would_change`` and ``errors``."""
    results, would_change, errors = {}, [], []
    with SharedReads() as reads:
        for task in tasks:
            results[task['id']] = _preview_one(task, host, reads, would_change, errors)
    return dict(tasks=results, would_change=would_change, errors=errors)


#: Modules whose objects the roles take apart before they change them, and the key that names one: an overlay whose
#: layers change is unmounted and mounted again, which its workload's process and binds would hold busy.
UPDATED_KEYS = {'overlay_mount': 'path'}


def _preview_one(task, host, reads, would_change, errors) -> dict:
    result = preview_task(task['module'], task.get('params') or {}, host, task['id'], reads)
    entry = dict(changed=bool(result.get('changed')) and not result.get('failed'))
    key = UPDATED_KEYS.get(task['module'])
    if key and entry['changed']:
        before = {item.get(key): item for item in result.get('before') or []}
        updated = sorted(item[key] for item in result.get('after') or []
                         if item.get(key) in before and before[item[key]] != item)
        if updated:
            entry['updated'] = updated
    if result.get('failed'):
        line = error_line(task['id'], result, task.get('labels'))
        entry['msg'] = line[len(task['id']) + 2:]
        errors.append(line)
    elif entry['changed']:
        would_change.append(task['id'])
    return entry


def run_preview(module) -> None:
    """main() of anatomy.containers.preview, given its AnsibleModule (PREVIEW_ARGUMENT_SPEC)."""
    # The tasks' ids and modules: their params are the size of everything the roles manage, which the result
    # does not need to carry back (AnsibleModule would return all of it as invocation.module_args).
    invocation = dict(module_args=dict(tasks=[dict(id=task['id'], module=task['module']) for task in module.params['tasks']]))
    try:
        tasks = unshare_strings(module.params['tasks'], module.params.get('strings'))
    except ValueError as exc:
        module.fail_json(msg=str(exc), invocation=invocation)
    problems = check_tasks(tasks)
    if problems:
        module.fail_json(msg='\n'.join(problems), errors=problems, invocation=invocation)
    result = preview(tasks, module)
    errors = result.pop('errors')
    if errors:
        module.fail_json(msg='\n'.join(errors), errors=errors, changed=False, invocation=invocation, **result)
    module.exit_json(changed=False, invocation=invocation, **result)
