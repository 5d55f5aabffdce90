# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fakes for workload services: systemctl over a directory of unit files and a few sets."""

from __future__ import annotations

import os

import json

from ansible_collections.anatomy.containers.plugins.module_utils._services import BundleHost, SystemctlError


class FakeSystemd:
    """systemctl over a dict of unit states; records every call."""

    def __init__(self, unit_dir):
        self.unit_dir = unit_dir
        self.active = set()
        self.enabled = set()
        self.loaded = {}  # unit -> text systemd last loaded
        self.calls = []
        self.fail = None

    def run(self, *args):
        self.calls.append(args)
        if self.fail and args[0] == self.fail:
            raise SystemctlError('systemctl %s: failed' % args[0])
        verb, units = args[0], [a for a in args[1:] if not a.startswith('--')]
        if verb == 'daemon-reload':
            self.loaded = {f: open(os.path.join(self.unit_dir, f)).read() for f in os.listdir(self.unit_dir)
                           if os.path.isfile(os.path.join(self.unit_dir, f))}
        elif verb in ('start', 'restart'):
            self.active.update(units)
        elif verb == 'stop':
            self.active.difference_update(units)
        elif verb == 'enable':
            self.enabled.update(units)
        elif verb == 'disable':
            self.enabled.difference_update(units)
            if '--now' in args:
                self.active.difference_update(units)
        return ''

    def show(self, units):
        result = {}
        for unit in units:
            path = os.path.join(self.unit_dir, unit)
            text = open(path).read() if os.path.exists(path) else None
            result[unit] = {
                'Id': unit,
                'ActiveState': 'active' if unit in self.active else 'inactive',
                'UnitFileState': 'enabled' if unit in self.enabled else 'disabled',
                'NeedDaemonReload': 'yes' if unit in self.loaded and self.loaded[unit] != text else 'no',
            }
        return result

    def verbs(self):
        return [call[0] for call in self.calls]


class FakeBundleHost(BundleHost):
    """Bundles in memory, without a root filesystem to read: config.json is the definition's JSON."""

    def __init__(self):
        super().__init__()
        self.files = {}

    def bundle_text(self, desired, prerequisite):
        return json.dumps({k: v for k, v in desired.items() if k not in ('running', 'enabled')}, sort_keys=True)

    def read_text(self, path):
        return self.files.get(path)

    def write_bundle(self, bundle, text):
        path = os.path.join(bundle, 'config.json')
        if text is None or self.files.get(path) == text:
            return False
        self.files[path] = text
        return True

    def write_file(self, path, text, mode):
        if self.files.get(path) == text:
            return False
        self.files[path] = text
        return True

    def remove_file(self, path):
        return self.files.pop(path, None) is not None

    def remove_bundle(self, bundle):
        self.files.pop(os.path.join(bundle, 'config.json'), None)
        self.files.pop(os.path.join(bundle, 'healthcheck'), None)
