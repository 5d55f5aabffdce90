# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The resource-module algorithm, against an in-memory resource."""

from __future__ import annotations

import contextlib

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils._resource import (
    Resource, ResourceError, converge, make_plan, run_module,
)


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


def cfg(name, size=None, tags=None):
    return {'name': name, 'size': size, 'tags': tags}


A = {'name': 'a', 'size': 3, 'tags': ['x']}
B = {'name': 'b', 'size': 1, 'tags': []}


def test_merged_creates_then_is_idempotent():
    res = Things()
    first = converge(res, [cfg('a', 3, ['x'])], 'merged')
    assert first['changed'] and first['before'] == [] and first['after'] == [A]
    second = converge(res, [cfg('a', 3, ['x'])], 'merged')
    assert not second['changed'] and second['before'] == second['after'] == [A]
    assert res.calls == [('create', 'a')]


def test_merged_keeps_options_not_given():
    res = Things([A])
    result = converge(res, [cfg('a', tags=['z', 'y'])], 'merged')
    assert result['after'] == [{'name': 'a', 'size': 3, 'tags': ['y', 'z']}]


def test_replaced_resets_options_not_given_to_defaults():
    res = Things([A])
    result = converge(res, [cfg('a', tags=['x'])], 'replaced')
    assert result['after'] == [{'name': 'a', 'size': 1, 'tags': ['x']}]


def test_normalized_input_is_not_a_change():
    res = Things([{'name': 'a', 'size': 1, 'tags': ['p', 'q']}])
    assert not converge(res, [cfg('a', tags=['q', 'p'])], 'replaced')['changed']


def test_overridden_removes_owned_objects_not_listed():
    res = Things([A, B])
    result = converge(res, [cfg('b')], 'overridden')
    assert result['after'] == [B] and res.calls == [('delete', 'a')]


def test_deleted_without_config_removes_every_owned_object():
    res = Things([A, B])
    result = converge(res, None, 'deleted')
    assert result['after'] == [] and sorted(res.calls) == [('delete', 'a'), ('delete', 'b')]


def test_deleted_listed_and_absent_is_not_a_change():
    res = Things([A])
    assert not converge(res, [cfg('nothere')], 'deleted')['changed']
    assert converge(res, [cfg('a')], 'deleted')['after'] == []


def test_check_mode_predicts_and_changes_nothing():
    res = Things([A])
    result = converge(res, [cfg('b')], 'overridden', check_mode=True)
    assert result['changed'] and result['after'] == [B]
    assert res.calls == [] and list(res.objects) == ['a']


def test_gathered_returns_owned_objects_only():
    res = Things([B, A])
    assert converge(res, None, 'gathered') == {'changed': False, 'gathered': [A, B]}


@pytest.mark.parametrize('state', ['merged', 'replaced', 'overridden', 'deleted'])
def test_foreign_object_is_never_touched(state):
    res = Things([A])
    with pytest.raises(ResourceError, match="thing 'taken' exists and is not managed"):
        converge(res, [cfg('taken')], state)
    assert res.calls == []


def test_bad_input_fails_before_any_change_and_names_the_field():
    res = Things()
    with pytest.raises(ResourceError) as err:
        converge(res, [cfg('a'), cfg('b', size=0)], 'merged')
    assert "thing 'b': size" in str(err.value) and err.value.details == {'field': 'size', 'index': 1}
    assert res.calls == []


def test_duplicates_are_refused():
    with pytest.raises(ResourceError, match=r"config\[1\]: thing 'a' is listed twice \(also config\[0\]\)"):
        make_plan(Things(), [], set(), [cfg('a'), cfg('a', 2)], 'merged')


def test_missing_key_is_refused():
    with pytest.raises(ResourceError, match=r'config\[0\]: name is required'):
        make_plan(Things(), [], set(), [cfg(None)], 'merged')


def test_merged_needs_config():
    with pytest.raises(ResourceError, match='needs a non-empty config'):
        make_plan(Things(), [], set(), [], 'merged')


class CheckedThings(Things):
    """Refuses, when looking at the whole plan, any thing called 'late'."""

    def validate_plan(self, plan, current):
        for item in plan.create:
            if item['name'] == 'late':
                raise ResourceError("thing 'late' cannot be made", field='name', key='late')


def test_whole_plan_errors_are_mapped_back_to_their_config_index():
    with pytest.raises(ResourceError) as err:
        converge(CheckedThings(), [cfg('a'), cfg('late')], 'merged')
    assert err.value.details == {'field': 'name', 'index': 1}


class _Exit(Exception):
    pass


class _Module:
    def __init__(self, **params):
        self.params = dict({'config': None, 'state': 'merged'}, **params)
        self.check_mode = False
        self._diff = True

    def exit_json(self, **result):
        raise _Exit(result)

    def fail_json(self, msg, **details):
        raise _Exit(dict(details, msg=msg, failed=True))


def test_run_module_holds_the_guard_and_lets_finish_add_to_the_result():
    held = []

    @contextlib.contextmanager
    def guard():
        held.append('in')
        yield
        held.append('out')

    def finish(result):
        assert held == ['in']
        result['extra'] = len(result['after'])

    with pytest.raises(_Exit) as done:
        run_module(_Module(config=[{'name': 'a'}]), Things(), guard=guard, finish=finish)
    result = done.value.args[0]
    assert held == ['in', 'out'] and result['extra'] == 1
    assert result['diff'] == {'before': {'config': []}, 'after': {'config': result['after']}}


def test_run_module_keeps_a_diff_that_finish_made_and_reports_errors_as_failures():
    def finish(result):
        result['diff'] = ['own']

    with pytest.raises(_Exit) as done:
        run_module(_Module(config=[{'name': 'a'}]), Things(), finish=finish)
    assert done.value.args[0]['diff'] == ['own']
    with pytest.raises(_Exit) as done:
        run_module(_Module(config=[{'name': 'taken'}]), Things())
    assert done.value.args[0]['failed'] and 'not managed by' in done.value.args[0]['msg']
