# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Image layers: directories of files that overlays stack as a container's root filesystem.

This is a private module_util: its API may change without notice.

A layer is ``LAYERS_ROOT/NAME``. It is owned by this collection when ``LAYERS_ROOT/.anatomy/NAME.json``
records it; the record lives outside the layer, so it never shows in a root filesystem. The record
names the files this collection wrote into the layer; their content and mode are read back from the
layer itself each run, so a file changed by hand is written again.

A busybox base layer is the host's static busybox with a link for each applet, the directories a root
filesystem needs as mount points, and minimal passwd and group files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess

from ansible_collections.anatomy.containers.plugins.module_utils._resource import (
    OWNER_MARK, Resource, ResourceError, run_module, state_argument_spec,
)
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import Kernel, check_volume_name, overlay_layers

DEFAULT_LAYERS_ROOT = '/var/lib/anatomy/layers'
RECORD_DIR = '.anatomy'
BUSYBOX_DIRS = ('bin', 'etc', 'proc', 'sys', 'dev', 'run', 'var', 'root', 'home', 'tmp')
BUSYBOX_FILES = {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
}


def _sha256(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, 'rb') as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b''):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def normalize_file_path(path) -> str | None:
    """A path inside a layer, relative and without . or .. components; None when it is not one."""
    if not isinstance(path, str) or not path or '\0' in path:
        return None
    parts = [part for part in path.split('/') if part not in ('', '.')]
    if not parts or '..' in parts:
        return None
    return '/'.join(parts)


class Layer(Resource):
    """An image layer under a layers root, built from files and optionally the host's busybox."""

    kind = 'layer'
    key = 'name'
    defaults = {'busybox': False, 'files': []}

    def __init__(self, layers_root: str = DEFAULT_LAYERS_ROOT, busybox_binary: str = '/bin/busybox', kernel=None):
        self.layers_root = layers_root
        self.busybox_binary = busybox_binary
        self.kernel = kernel  # for the mount table: a layer an overlay uses is never removed
        self._busybox_digest = None

    def path(self, name: str) -> str:
        return os.path.join(self.layers_root, name)

    def record_path(self, name: str) -> str:
        return os.path.join(self.layers_root, RECORD_DIR, name + '.json')

    def busybox_digest(self) -> str | None:
        if self._busybox_digest is None:
            self._busybox_digest = _sha256(self.busybox_binary) or ''
        return self._busybox_digest or None

    # -- reading --------------------------------------------------------------
    def read(self):
        owned, foreign = [], set()
        try:
            names = sorted(os.listdir(self.layers_root))
        except FileNotFoundError:
            names = []
        for name in names:
            if name == RECORD_DIR or not os.path.isdir(self.path(name)):
                continue
            try:
                with open(self.record_path(name)) as handle:
                    record = json.load(handle)
            except (OSError, ValueError):
                record = None
            if not isinstance(record, dict) or record.get('owner') != OWNER_MARK:
                foreign.add(name)
                continue
            owned.append(self.read_layer(name, record))
        return owned, foreign

    def read_layer(self, name: str, record: dict) -> dict:
        layer = self.path(name)
        files = []
        for path in record.get('files', []):
            full = os.path.join(layer, path)
            try:
                st = os.lstat(full)
                if not stat.S_ISREG(st.st_mode):
                    raise OSError('not a regular file')
                with open(full, 'rb') as handle:
                    content = handle.read().decode('utf-8', 'replace')
                mode = '0%03o' % stat.S_IMODE(st.st_mode)
            except OSError:
                content, mode = None, None
            files.append({'path': path, 'content': content, 'mode': mode})
        busybox = False
        if record.get('busybox'):
            # Complete, and the same binary as the host's: bin/sh is made last.
            busybox = (os.path.islink(os.path.join(layer, 'bin/sh'))
                       and _sha256(os.path.join(layer, 'bin/busybox')) == self.busybox_digest())
        return {'name': name, 'busybox': busybox, 'files': files}

    # -- validation -----------------------------------------------------------
    def normalize(self, item):
        name = item.get('name')
        what = self.describe(name)
        why = check_volume_name(name)
        if why or name == RECORD_DIR:
            raise ResourceError('%s: name %s' % (what, why or 'is reserved'), field='name')
        if not isinstance(item.get('busybox'), bool):
            raise ResourceError('%s: busybox must be true or false' % what, field='busybox')
        if item['busybox'] and not self.busybox_digest():
            raise ResourceError('%s: busybox is asked for, but %s cannot be read on this host (install busybox-static)'
                                % (what, self.busybox_binary), field='busybox')
        files, seen = [], set()
        for index, entry in enumerate(item.get('files') or []):
            if not isinstance(entry, dict):
                raise ResourceError('%s: files[%d] must be a mapping with path and content' % (what, index),
                                    field='files')
            path = normalize_file_path(entry.get('path'))
            if path is None:
                raise ResourceError('%s: files[%d]: path %r must be a relative path inside the layer, without ..'
                                    % (what, index, entry.get('path')), field='files')
            if path in seen:
                raise ResourceError('%s: files[%d]: %s is listed twice' % (what, index, path), field='files')
            seen.add(path)
            content = entry.get('content')
            if not isinstance(content, str):
                raise ResourceError('%s: files[%d] (%s): content must be a string' % (what, index, path), field='files')
            mode = str(entry.get('mode') or '0644')
            if not mode.isdigit() or len(mode) > 4 or any(c > '7' for c in mode):
                raise ResourceError('%s: files[%d] (%s): mode must be octal like "0644", got %r'
                                    % (what, index, path, mode), field='files')
            files.append({'path': path, 'content': content, 'mode': '0%03o' % int(mode, 8)})
        for entry in files:
            # A file's parent directories must not be other listed files.
            parent = entry['path'].rsplit('/', 1)[0] if '/' in entry['path'] else None
            while parent:
                if parent in seen:
                    raise ResourceError('%s: %s is listed as a file and as a directory of %s'
                                        % (what, parent, entry['path']), field='files')
                parent = parent.rsplit('/', 1)[0] if '/' in parent else None
        return {'name': name, 'busybox': item['busybox'], 'files': sorted(files, key=lambda f: f['path'])}

    def validate_plan(self, plan, current):
        if not plan.delete or self.kernel is None:
            return
        used = {}
        for mount in self.kernel.mountinfo().mounts:
            if mount.fstype == 'overlay':
                for lower in overlay_layers(mount)['lower']:
                    used.setdefault(os.path.normpath(lower), mount.mount_point)
        for item in plan.delete:
            where = used.get(self.path(item['name']))
            if where:
                raise ResourceError('%s: the overlay at %s uses it; unmount that first' % (
                    self.describe(item['name']), where), key=item['name'])

    # -- writing --------------------------------------------------------------
    def create(self, item):
        if not os.path.isdir(self.layers_root):
            os.makedirs(self.layers_root, 0o700)
        os.makedirs(self.path(item['name']), 0o755, exist_ok=True)
        self.update({'name': item['name'], 'busybox': False, 'files': []}, item)

    def update(self, current, desired):
        layer = self.path(desired['name'])
        listed = {entry['path'] for entry in desired['files']}
        if desired['busybox'] and not current['busybox']:
            self.build_busybox(layer, skip=listed)
        have = {entry['path']: entry for entry in current['files']}
        for entry in desired['files']:
            if have.get(entry['path']) != entry:
                self.write_file(layer, entry)
        for path in set(have) - listed:
            # Written by an earlier run and no longer listed.
            try:
                os.unlink(os.path.join(layer, path))
            except FileNotFoundError:
                pass
        self.save_record(desired)

    def delete(self, item):
        shutil.rmtree(self.path(item['name']))
        os.unlink(self.record_path(item['name']))

    def save_record(self, item):
        directory = os.path.join(self.layers_root, RECORD_DIR)
        os.makedirs(directory, 0o700, exist_ok=True)
        temporary = self.record_path(item['name']) + '.tmp'
        with open(temporary, 'w') as handle:
            json.dump({'owner': OWNER_MARK, 'busybox': item['busybox'],
                       'files': [entry['path'] for entry in item['files']]}, handle)
        os.rename(temporary, self.record_path(item['name']))

    @staticmethod
    def write_file(layer, entry):
        """Write a file of the layer (a new inode, renamed into place), never through a symlink out of it."""
        current = layer
        for part in entry['path'].split('/')[:-1]:
            current = os.path.join(current, part)
            if os.path.islink(current):
                raise ResourceError('layer %r: %s: %s is a symlink; files are never written through one' % (
                    os.path.basename(layer), entry['path'], current), field='files')
            if not os.path.isdir(current):
                os.mkdir(current, 0o755)
        full = os.path.join(layer, entry['path'])
        temporary = os.path.join(os.path.dirname(full), '.%s.anatomy-tmp' % os.path.basename(full))
        with open(temporary, 'wb') as handle:
            handle.write(entry['content'].encode('utf-8'))
        os.chmod(temporary, int(entry['mode'], 8))
        os.rename(temporary, full)

    def build_busybox(self, layer, skip=()):
        """The host's busybox with its applets as links; bin/sh last, so an interrupted build is done again."""
        for directory in BUSYBOX_DIRS:
            os.makedirs(os.path.join(layer, directory), 0o755, exist_ok=True)
        os.chmod(os.path.join(layer, 'tmp'), 0o1777)
        binary = os.path.join(layer, 'bin/busybox')
        shutil.copyfile(self.busybox_binary, binary + '.anatomy-tmp')
        os.chmod(binary + '.anatomy-tmp', 0o755)
        os.rename(binary + '.anatomy-tmp', binary)
        applets = subprocess.run([self.busybox_binary, '--list'], stdout=subprocess.PIPE, check=True,
                                 universal_newlines=True).stdout.split()
        for applet in applets:
            link = os.path.join(layer, 'bin', applet)
            if applet not in ('busybox', 'sh') and not os.path.lexists(link):
                os.symlink('busybox', link)
        for path, content in BUSYBOX_FILES.items():
            if path not in skip and not os.path.lexists(os.path.join(layer, path)):
                self.write_file(layer, {'path': path, 'content': content, 'mode': '0644'})
        if not os.path.lexists(os.path.join(layer, 'bin/sh')):
            os.symlink('busybox', os.path.join(layer, 'bin/sh'))


# -- the module: what it accepts, and its main() once its AnsibleModule exists -----------------------------------------
# One home for the module's argument spec, shared by the module and anatomy.containers.preview.

LAYER_ARGUMENT_SPEC = dict(
    state_argument_spec(dict(
        name=dict(type='str'),
        busybox=dict(type='bool'),
        files=dict(type='list', elements='dict', options=dict(
            path=dict(type='str', required=True),
            content=dict(type='str', required=True),
            mode=dict(type='str', default='0644'),
        )),
    )),
    layers_root=dict(type='path', default=DEFAULT_LAYERS_ROOT),
    busybox_binary=dict(type='path', default='/bin/busybox'),
)


def run_layer(module) -> None:
    """main() of anatomy.containers.layer, given its AnsibleModule (LAYER_ARGUMENT_SPEC)."""
    run_module(module, Layer(module.params['layers_root'], module.params['busybox_binary'], Kernel()))
