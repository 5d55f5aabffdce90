# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fakes for the resource-module algorithm: an AnsibleModule stand-in and an in-memory resource."""

from __future__ import annotations

from ansible_collections.anatomy.containers.plugins.module_utils._resource import Resource, ResourceError


class Exit(Exception):
    """Raised by FakeModule.exit_json and fail_json; args[0] is the result."""


class FakeModule:
    """What run_module uses of an AnsibleModule: params, check_mode, _diff, exit_json and fail_json."""

    param_defaults = {'config': None, 'state': 'merged'}

    def __init__(self, check_mode=False, diff=False, **params):
        self.params = dict(self.param_defaults, **params)
        self.check_mode = check_mode
        self._diff = diff

    def exit_json(self, **result):
        raise Exit(dict(result, failed=False))

    def fail_json(self, msg, **details):
        raise Exit(dict(details, msg=msg, failed=True))


class Things(Resource):
    """Objects with a name, a size and tags; 'taken' exists but is someone else's."""

    kind = 'thing'
    defaults = {'size': 1, 'tags': []}

    def __init__(self, owned=None, foreign=('taken',)):
        self.objects = {o['name']: dict(o) for o in (owned or [])}
        self.foreign = set(foreign)
        self.calls = []

    def read(self):
        return [dict(o) for o in self.objects.values()], set(self.foreign)

    def normalize(self, item):
        if not isinstance(item['size'], int) or item['size'] < 1:
            raise ResourceError('thing %r: size must be a positive integer, got %r' % (item['name'], item['size']),
                                field='size')
        return {**item, 'tags': sorted(item['tags'])}

    def create(self, item):
        self.calls.append(('create', item['name']))
        self.objects[item['name']] = item

    def update(self, current, desired):
        self.calls.append(('update', desired['name']))
        self.objects[desired['name']] = desired

    def delete(self, item):
        self.calls.append(('delete', item['name']))
        del self.objects[item['name']]
