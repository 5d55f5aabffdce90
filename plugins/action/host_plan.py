# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The host_plan action: read the host once, plan it on the controller, preview the module tasks on it."""

from __future__ import annotations

import json
import os
import tempfile

from ansible.plugins.action import ActionBase

from ansible_collections.anatomy.containers.plugins.module_utils import _oci, _restore
from ansible_collections.anatomy.containers.plugins.module_utils import _host_plan as host_plan
from ansible_collections.anatomy.containers.plugins.module_utils._shared_strings import share_strings

ARGUMENT_SPEC = dict(
    role=dict(type='str', required=True, choices=['container_host', 'workload']),
    networks=dict(type='list', elements='raw', default=[]),
    workloads=dict(type='list', elements='raw'),
    layers=dict(type='list', elements='raw', default=[]),
    images=dict(type='list', elements='raw', default=[]),
    images_found=dict(type='list', elements='raw', default=[]),
    state_root=dict(type='str', default='/var/lib/anatomy'),
    backend=dict(type='str', default='auto', choices=['auto', 'nftables', 'iptables']),
    dns_servers=dict(type='list', elements='str', default=[]),
    packages=dict(type='list', elements='str'),
    install_packages=dict(type='bool', default=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    purge_volumes=dict(type='bool', default=False),
    preview=dict(type='bool', default=True),
    handover=dict(type='dict'),
)
# Arguments that can hold every workload of a host, validated without a copy when of this type (see _validated_args).
LARGE_ARGS = {'networks': list, 'workloads': list, 'layers': list, 'images': list, 'images_found': list, 'handover': dict}
# The tasks whose config the workload role reads whether or not they run (its removal phase: roles/workload/vars).
KEEP_CONFIG = ('services', 'root_filesystems')
# What makes a plan of workloads: the same values, the same plan (the read aside, which the plan carries).
WORKLOAD_INPUTS = ('networks', 'workloads', 'layers', 'images', 'state_root', 'backend', 'purge_volumes')


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._validated_args()
        container_host = args['role'] == 'container_host'
        present = args['state'] == 'present'
        plans_workloads = args['workloads'] is not None and present
        inputs = {key: args[key] for key in WORKLOAD_INPUTS} if plans_workloads else None

        handover = args['handover'] or {}
        play = self._play_id()
        if not container_host and inputs is not None and handover.get('workload_inputs') == inputs \
                and handover.get('play') == play and not handover.get('images_missing') and not args['images_found']:
            # The container_host role of this play planned and previewed these very workloads, and only its own
            # tasks ran since: the preview still holds, since each module's check assumes what earlier tasks make.
            result.update({key: value for key, value in handover.items() if key not in result}, changed=False,
                          reused=True)
            return result

        state_root = args['state_root']
        layer_paths = [layer for workload in args['workloads'] or [] if isinstance(workload, dict)
                       for layer in (workload.get('layers') or []) if isinstance(layer, str) and layer.startswith('/')]
        read = host_plan.HostRead(state_root, args['packages'] or (), layer_paths)
        # A real run takes the host's converge generation with its read: two runs at once end as the later one plans.
        out = self._low_level_execute_command(read.command(take_generation=not self._play_context.check_mode and present),
                                              sudoable=True)
        if out['rc'] != 0:
            return dict(result, failed=True, msg='reading the host failed (rc=%d): %s' % (out['rc'], out['stderr']))
        facts = read.parse(out['stdout'])
        texts = facts['texts']

        problems = []
        previous = {}
        if texts[read.address_record]:
            try:
                previous = json.loads(texts[read.address_record])
            except ValueError as exc:
                problems.append('%s on the host is not valid JSON (%s): repair it or remove it' % (read.address_record, exc))
        family = host_plan.os_family(texts[host_plan.OS_RELEASE])
        packages = args['packages'] if args['packages'] is not None else host_plan.PACKAGES_BY_OS_FAMILY.get(family, [])
        manages_host = container_host and present
        problems += host_plan.check_host_settings(state_root, args['dns_servers'], packages,
                                                  manages_host and args['install_packages'], family)

        resolv_conf = host_plan.host_resolv_conf(texts, args['dns_servers']) if manages_host else texts[read.resolv_conf]
        try:
            plan = host_plan.plan_host(args['networks'] if present else [],
                                       args['workloads'] if plans_workloads else None, args['layers'], state_root,
                                       previous, resolv_conf, [path for path, info in facts['dirs'].items() if info['directory']],
                                       args['images'], read.images(texts, args['images_found']))
        except host_plan.PlanError as exc:
            problems += exc.errors
        if problems:
            return self._fail(result, problems, 'nothing was changed')

        tasks = host_plan.network_tasks(plan, present, args['backend']) if container_host else []
        if plans_workloads:
            result['images'] = plan['images']
        if plans_workloads and plan['images']['missing']:
            # The workloads' own tasks need their images' configs: the role pulls these, then plans again.
            result['images_missing'] = plan['images']['missing']
            plans_workloads = False
        if plans_workloads:
            tasks += host_plan.workload_tasks(plan, args['layers'], state_root, args['backend'], args['purge_volumes'])
        result.update(
            changed=False,
            tasks={task['id']: task['params'] for task in tasks},
            packages=packages,
            packages_missing=[name for name in packages if name not in facts['installed']]
            if manages_host and args['install_packages'] else [],
            state_dirs_missing=[wanted for wanted in host_plan.state_dirs(state_root)
                                if facts['dirs'].get(wanted['path']) != {'mode': wanted['mode'], 'owner': 'root',
                                                                         'group': 'root', 'directory': True}]
            if manages_host else [],
            # Docker's default seccomp profile, one file of a Debian package that is not installed (see _oci).
            seccomp_profile_missing=manages_host and args['install_packages'] and family == 'Debian'
            and _oci.DEFAULT_SECCOMP_PROFILE not in facts['dirs'],
            seccomp_profile=_oci.DEFAULT_SECCOMP_PROFILE,
            seccomp_package=_oci.DEFAULT_SECCOMP_PACKAGE,
            resolv_conf=resolv_conf,
            resolv_conf_changed=manages_host and texts[read.resolv_conf] != resolv_conf,
            os_family=family,
            generation=facts['generation'],
            # Whether the role's own files can be written now: in check mode nothing creates their directory.
            state_root_ready=facts['dirs'].get(state_root.rstrip('/'), {}).get('directory', False),
            workloads_dir_ready=facts['dirs'].get(state_root.rstrip('/') + '/workloads', {}).get('directory', False),
        )
        if container_host:
            program, digest = self._restore_program() if present else (None, None)
            result['restore'] = dict(_restore.host_changes(facts, digest, present), program_src=program)
            result['firewalld'] = host_plan.firewalld_changes(facts, [bridge['name'] for bridge in plan['bridges']],
                                                              present)
            if result['firewalld']['problems']:
                return self._fail(result, result['firewalld']['problems'], 'nothing was changed')
        if plans_workloads:
            result.update(self._addresses(read, texts, previous, plan), workload_inputs=inputs, play=play)

        if args['preview'] and tasks:
            sent, strings = share_strings(tasks)
            module_args = {'tasks': sent} if strings is None else {'tasks': sent, 'strings': strings}
            preview = self._execute_module(module_name='anatomy.containers.preview',
                                           module_args=module_args, task_vars=task_vars)
            if preview.get('failed'):
                return self._fail(result, preview.get('errors') or [preview.get('msg', 'the preview failed')],
                                  'the host is not in a state these changes can be made in; nothing was changed')
            result['would_change'] = preview['would_change']
            # Root filesystems whose layers change (another image, other layers): the role stops their workloads and
            # unmounts their binds first, as for removed ones, and makes them again (docker's recreate).
            result['rootfs_rebuilt'] = preview['tasks'].get('root_filesystems', {}).get('updated', [])
            if result['rootfs_rebuilt']:
                # What the preview saw in place is taken apart first: their binds and services are made again.
                result['would_change'] += [task_id for task_id in ('volumes', 'services')
                                           if task_id not in result['would_change'] and task_id in result['tasks']]
            # A host converged before the modules kept records (or whose records were lost) gets them from a run
            # of the module that changes nothing.
            result['would_change'] += [task['id'] for task in tasks if task['id'] not in result['would_change']
                                       and task['module'] in _restore.ORDER and task['params'].get('config')
                                       and _restore.record_path(task['module']) not in facts['dirs']]
        else:
            result['would_change'] = [task['id'] for task in tasks]
            result['rootfs_rebuilt'] = []
        result['tasks'] = self._needed(result['tasks'], result['would_change'])
        return result

    @staticmethod
    def _restore_program() -> tuple:
        """The restore program built from this collection's module_utils, as a file on the controller for the copy
        task (named by its digest: the same build is written once), and its digest."""
        module_utils = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils')
        data = _restore.build_program(module_utils)
        digest = _restore.digest(data)
        directory = os.path.join(tempfile.gettempdir(), 'anatomy-containers-%d' % os.getuid())
        os.makedirs(directory, mode=0o700, exist_ok=True)
        path = os.path.join(directory, 'restore-%s.pyz' % digest)
        if not os.path.exists(path):
            handle, temporary = tempfile.mkstemp(dir=directory)
            with os.fdopen(handle, 'wb') as out:
                out.write(data)
            os.rename(temporary, path)
        return path, digest

    @staticmethod
    def _needed(tasks: dict, would_change: list) -> dict:
        """The tasks' params that the roles use: the config of a task that will not run is left out (at 1,000
        workloads the bind mounts' config is 20 MB, each /etc/hosts listing every workload), but for the names
        and paths the removal phase reads (services, root_filesystems)."""
        return {task_id: params if task_id in would_change or task_id in KEEP_CONFIG or 'config' not in params
                else {key: value for key, value in params.items() if key != 'config'}
                for task_id, params in tasks.items()}

    def _validated_args(self) -> dict:
        """validate_argument_spec, without its deep copy of the lists of networks and workloads and of the handover.

        Those are lists of raw elements (and a dict) that validation takes as they are: each is validated as an empty
        one of its type, and the value itself put back. A value of another type is validated (and converted) itself.
        """
        given = self._task.args
        held = {key: given[key] for key, kind in LARGE_ARGS.items() if isinstance(given.get(key), kind)}
        self._task.args = dict(given, **{key: LARGE_ARGS[key]() for key in held})
        try:
            _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        finally:
            self._task.args = given
        args.update(held)
        return args

    def _play_id(self):
        try:
            return self._task.get_play()._uuid
        except AttributeError:
            return None

    @staticmethod
    def _addresses(read, texts, previous, plan) -> dict:
        """The address record: written first with the removed workloads still in it, so a failed run can be resumed."""
        record = {network: dict(members) for network, members in previous.items() if isinstance(members, dict)}
        for network, members in plan['addresses'].items():
            record.setdefault(network, {}).update(members)
        listed = set(plan['workloads'])
        removed = sorted({name for members in previous.values() if isinstance(members, dict) for name in members} - listed)
        return {
            'addresses': plan['addresses'],
            'address_record': record,
            'address_record_file': read.address_record,
            'address_record_changed': record != previous,
            'address_record_final_changed': plan['addresses'] != record,
            'removed': removed,
            # With no record, anything may be left from an earlier run.
            'removal_possible': not texts[read.address_record] or bool(removed),
        }

    @staticmethod
    def _fail(result, errors, tail):
        # Only the problems: the plan of an input that failed is no one's business.
        return dict(failed=True, changed=False, errors=errors,
                    msg='%d problem%s, %s:\n%s' % (len(errors), '' if len(errors) == 1 else 's', tail, '\n'.join(errors)))
