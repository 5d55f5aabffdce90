# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Resource.prerequisite: what an earlier task of the run makes is assumed in check mode, and refused in a real run."""

from __future__ import annotations

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils._resource import Resource, ResourceError, converge


class Boxed(Resource):
    """Things that each go into a box an earlier task makes; only the boxes in ``boxes`` exist."""

    kind = 'thing'
    defaults = {'box': None}

    def __init__(self, boxes=()):
        self.boxes = set(boxes)
        self.objects = {}
        self.calls = []
        self.checked = []

    def read(self):
        return [dict(o) for o in self.objects.values()], set()

    def validate_plan(self, plan, current):
        for item in plan.create:
            if self.prerequisite(item['box'] in self.boxes, 'thing %r: box %r does not exist' % (item['name'], item['box']),
                                 field='box', key=item['name']):
                self.checked.append(item['box'])

    def create(self, item):
        self.calls.append(('create', item['name']))
        self.objects[item['name']] = item


CONFIG = [{'name': 'a', 'box': 'b1'}, {'name': 'b', 'box': 'b2'}]


def test_check_mode_assumes_a_missing_prerequisite_and_predicts():
    res = Boxed(boxes={'b1'})
    result = converge(res, CONFIG, 'merged', check_mode=True)
    assert result['changed'] and result['after'] == CONFIG and res.calls == []
    assert res.check_mode and res.checked == ['b1']        # what needs b2 is skipped, not failed


def test_a_real_run_refuses_it_with_the_message_and_the_config_index():
    res = Boxed(boxes={'b1'})
    with pytest.raises(ResourceError, match="thing 'b': box 'b2' does not exist") as err:
        converge(res, CONFIG, 'merged')
    assert err.value.details == {'field': 'box', 'index': 1} and res.calls == [] and not res.check_mode


def test_converge_sets_check_mode_for_each_run_and_a_present_prerequisite_is_just_there():
    res = Boxed(boxes={'b1', 'b2'})
    assert Resource.check_mode is False and res.prerequisite(True, 'unused')
    converge(res, CONFIG, 'merged', check_mode=True)
    assert res.check_mode and res.calls == []
    converge(res, CONFIG, 'merged')
    assert not res.check_mode and res.calls == [('create', 'a'), ('create', 'b')]
    with pytest.raises(ResourceError, match='missing'):
        res.prerequisite(False, 'missing')
