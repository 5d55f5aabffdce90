# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Everything of ours off a host, in one module process: the logic of anatomy.containers.teardown.

This is a private module_util: its API may change without notice.

The roles remove what is no longer listed one module task at a time, and Ansible's fixed cost per task (a third of a
second, see bench/README.md) is most of what a teardown through them costs. Here each of those modules runs in this
process instead, with its own code, as the preview runs them (``_preview.run_task``), but for real: its params
validated with its argument spec, then its own ``run_x(module)``, in the order that takes a host apart (processes,
then what is mounted into their root filesystems, then namespaces, ports, root filesystems, networks and layers).
What no module owns is removed here: the state root's files, the restore program and its units, and, when asked, the
data of the volumes.

The whole run holds the host's run lock and takes a new converge generation, so that the tasks of a site.yml run
planned before it stop instead of making things again behind it.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.anatomy.containers.plugins.module_utils import _host_plan, _restore, _services
from ansible_collections.anatomy.containers.plugins.module_utils._mounts_resources import VOLUME_MARKER, VolumeStore
from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.engine import run_lock
from ansible_collections.anatomy.containers.plugins.module_utils._preview import run_task
from ansible_collections.anatomy.containers.plugins.module_utils._resource import take_generation

DEFAULT_STATE_ROOT = '/var/lib/anatomy'

TEARDOWN_ARGUMENT_SPEC = dict(
    state_root=dict(type='path', default=DEFAULT_STATE_ROOT),
    backend=dict(type='str', choices=['auto', 'nftables', 'iptables'], default='auto'),
    purge_volumes=dict(type='bool', default=False),
    kill=dict(type='bool', default=False),
)

#: What names one removed object in the result, by kind: the fields of its module's key.
LABEL_FIELDS = {
    'services': ('name',), 'binds': ('root', 'target'), 'namespaces': ('name',), 'veth': ('name',),
    'addresses': ('netns', 'interface'), 'published_ports': ('protocol', 'host_address', 'host_port'),
    'overlays': ('path',), 'masquerade': ('subnet',), 'bridges': ('name',), 'layers': ('name',), 'images': ('name',),
}


def steps(state_root: str, backend: str, purge_volumes: bool) -> list:
    """(kind, module, params) in the order they run: each module told that nothing of its kind is wanted."""
    root = state_root.rstrip('/')
    nothing = {'config': [], 'state': 'overridden'}
    return [
        ('services', 'workload_service', dict(nothing)),
        # Before the root filesystems they are mounted into; with purge, the volumes' data goes with its last bind.
        ('binds', 'bind_volume', dict(nothing, volumes_root=root + '/volumes', purge=purge_volumes)),
        # A namespace takes its veth peer and addresses with it: what follows finds them gone, and forgets them.
        ('namespaces', 'netns', dict(nothing)),
        ('veth', 'veth', dict(nothing)),
        ('addresses', 'netns_addr', dict(nothing)),
        ('published_ports', 'port_forward', dict(nothing, backend=backend)),
        # purge: each workload's writable layer and its own directory, as docker rm does.
        ('overlays', 'overlay_mount', dict(nothing, purge=True)),
        ('masquerade', 'nat_masquerade', {'state': 'deleted', 'backend': backend, 'sysctl_file': _host_plan.SYSCTL_FILE}),
        ('bridges', 'bridge', {'state': 'deleted'}),
        # Last of the modules: a layer is never removed while a root filesystem of ours is mounted on it.
        ('layers', 'layer', {'state': 'deleted', 'layers_root': root + '/layers'}),
        # prune: the layers of the images, and what an interrupted pull left.
        ('images', 'image', {'state': 'deleted', 'state_root': root, 'prune': True}),
    ]


def label(kind: str, item: dict) -> str:
    values = [item.get(field) for field in LABEL_FIELDS.get(kind, ('name',))]
    return ' '.join(str(value) for value in values if value not in (None, ''))


def our_volumes(volumes_root: str) -> list:
    """The volume directories under VOLUMES_ROOT that carry our marker."""
    volumes = VolumeStore(volumes_root)
    try:
        names = sorted(os.listdir(volumes_root))
    except OSError:
        return []
    return [name for name in names if os.path.isfile(os.path.join(volumes_root, name, VOLUME_MARKER))
            and volumes.is_ours(name)]


def leftover_files(state_root: str, purge_volumes: bool) -> list:
    """Paths of ours that no module owns: the state root's files, the restore program, its units, records and status,
    and with PURGE_VOLUMES every volume of ours (those no bind held any more included)."""
    root = state_root.rstrip('/')
    paths = [root + '/workloads', root + '/resolv.conf', root + '/layers/.anatomy', _restore.STATUS_DIR]
    # The image store once its module removed every image and layer: its index, lock and empty directories. A layer
    # it kept is in use by an overlay of someone else's, and the store stays with it.
    try:
        kept_layers = [entry for entry in os.listdir(root + '/images/layers') if not entry.startswith('.')]
    except OSError:
        kept_layers = []
    if not kept_layers:
        paths.append(root + '/images')
    paths += _restore.installed_paths()
    if purge_volumes:
        paths += [os.path.join(root, 'volumes', name) for name in our_volumes(root + '/volumes')]
    if firewalld_zone_is_ours():
        paths.append(_host_plan.FIREWALLD_ZONE_FILE)
    return [path for path in paths if os.path.lexists(path)]


def firewalld_zone_is_ours() -> bool:
    try:
        with open(_host_plan.FIREWALLD_ZONE_FILE) as handle:
            return _host_plan.FIREWALLD_MARK in handle.read()
    except OSError:
        return False


def remove_path(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


class TeardownError(Exception):
    def __init__(self, msg: str, result: dict):
        super().__init__(msg)
        self.result = result


def teardown(host, state_root: str = DEFAULT_STATE_ROOT, backend: str = 'auto', purge_volumes: bool = False,
             kill: bool = False, check_mode: bool = False, systemctl=None) -> dict:
    """Remove everything of ours from this host (or, in check mode, say what would go).

    HOST is the running AnsibleModule (commands, temporary files). Returns ``changed``, ``removed`` ({kind: [labels]}),
    ``files`` (paths removed) and ``before`` ({kind: [items]}); raises :class:`TeardownError` with the partial result
    when a step fails, or when something of ours is still there afterwards.
    """
    systemctl = systemctl or _services.Systemctl()
    result = {'changed': False, 'removed': {}, 'files': [], 'before': {}}
    with run_lock():
        if not check_mode:
            take_generation()
            # The firewall watch would put our rules back as they go, and the boot restore has nothing left to make.
            units = [unit for unit in (_restore.FIREWALL_UNIT, _restore.RESTORE_UNIT)
                     if os.path.exists(os.path.join(_restore.UNIT_DIR, unit))]
            if units:
                systemctl.run('disable', '--no-reload', '--now', *units)
                result['changed'] = True
            if kill:
                _services.kill_units(systemctl, [_services.unit_name(definition['name'])
                                                 for definition in _restore.read_workloads(_restore.UNIT_DIR)])
        for kind, module, params in steps(state_root, backend, purge_volumes):
            if check_mode and module in ('layer', 'image'):
                # Its check refuses layers that the root filesystems still use, which the real run unmounts first.
                outcome = run_task(module, dict(params, state='gathered'), host, task_id=kind)
                outcome.update(changed=bool(outcome.get('gathered')), before=outcome.get('gathered', []), after=[])
            else:
                outcome = run_task(module, params, host, task_id=kind, check_mode=check_mode)
            if outcome.get('failed'):
                raise TeardownError('%s: %s' % (kind, outcome.get('msg')), result)
            if outcome.get('changed'):
                result['changed'] = True
                gone = [item for item in outcome.get('before', []) if item not in outcome.get('after', [])]
                result['before'][kind] = gone
                result['removed'][kind] = [label(kind, item) for item in gone]
        files = leftover_files(state_root, purge_volumes)
        result['files'] = files
        if files:
            result['changed'] = True
        if check_mode:
            return result
        unit_files = [path for path in files if path.startswith(_restore.UNIT_DIR + '/')]
        for path in files:
            remove_path(path)
        if unit_files:
            systemctl.run('daemon-reload')
        if _host_plan.FIREWALLD_ZONE_FILE in files:
            try:
                running = systemctl.run('is-active', _host_plan.FIREWALLD_UNIT).strip() == 'active'
            except _services.SystemctlError:
                running = False
            if running:
                host.run_command(['firewall-cmd', '--reload'], check_rc=True)
        # The state root may be a mount point of its own, and kept volumes keep theirs: only empty ones go. The
        # workload service module keeps the bundles it is not told where to put in a directory of its own.
        root = state_root.rstrip('/')
        for directory in (root + '/volumes', root + '/layers', _services.DEFAULT_BUNDLES, root):
            try:
                os.rmdir(directory)
            except OSError:
                continue
            result['files'].append(directory)
        left = {}
        for kind, module, params in steps(state_root, backend, purge_volumes):
            gathered = run_task(module, dict(params, config=None, state='gathered'), host, task_id=kind, check_mode=True)
            if gathered.get('failed'):
                raise TeardownError('reading what is left: %s: %s' % (kind, gathered.get('msg')), result)
            if gathered.get('gathered'):
                left[kind] = [label(kind, item) for item in gathered['gathered']]
        if left:
            result['left'] = left
            named = ['%s: %s' % (kind, ', '.join(labels)) for kind, labels in sorted(left.items())]
            raise TeardownError('left behind: %s' % '; '.join(named), result)
    return result
