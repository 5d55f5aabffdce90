# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The resource-module algorithm every module of this collection follows.

This is a private module_util: its API may change without notice.

A module describes one kind of object (a link, a rule, a mount) as a
:class:`Resource`. :func:`converge` reads the current state once, turns the
``config`` list and ``state`` into a :class:`Plan`, validates all of it before
anything is changed, applies the plan (unless in check mode) and returns the
result with ``before`` and ``after``.

Objects are plain dicts in the same shape as the module's ``config`` items, so
``gathered`` output can be fed back as ``config``. Ownership is the resource's
business: ``Resource.read`` returns the objects this collection owns, and the
keys of objects that exist but belong to someone else, which we never touch.
"""

from __future__ import annotations

import contextlib
import copy
import os

STATES = ('merged', 'replaced', 'overridden', 'deleted', 'gathered')

#: The marker written into the kernel or on disk for objects this collection owns.
OWNER_MARK = 'anatomy.containers'


#: Set by the roles on their module tasks: the generation their plan took on the host (the host_plan action).
GENERATION_ENV = 'ANATOMY_CONVERGE_GENERATION'
#: The generation of the run that planned the host last; written under the host's run lock by each plan.
GENERATION_FILE = '/run/anatomy/converge-generation'


class ResourceError(Exception):
    """Bad input or a conflict with the current state; nothing has been changed."""

    def __init__(self, msg: str, **details):
        super().__init__(msg)
        self.details = details


class ReadOnlyError(RuntimeError):
    """A write asked of a handle that only reads (the reads a preview shares between its tasks)."""


def check_mode_reads(module, reads):
    """``reads`` (shared by the tasks of a preview), allowed in check mode only: a real run reads the host afresh."""
    if reads is not None and not module.check_mode:
        raise ReadOnlyError('reads shared between tasks are for check mode only')
    return reads


def state_argument_spec(config_options: dict) -> dict:
    """The ``config``/``state`` pair of a resource module's argument spec.

    Options in ``config_options`` should carry no ``default``: an unset option
    stays ``None`` so that ``merged`` can tell "not given" from "given", and
    :attr:`Resource.defaults` fills it in where the state asks for defaults.
    """
    return dict(
        config=dict(type='list', elements='dict', options=config_options),
        state=dict(type='str', default='merged', choices=list(STATES)),
    )


class Plan:
    """What a run will do: objects to create, to update (current, desired) and to delete."""

    def __init__(self):
        self.create: list[dict] = []
        self.update: list[tuple[dict, dict]] = []
        self.delete: list[dict] = []

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)

    def __repr__(self) -> str:
        return 'Plan(create=%r, update=%r, delete=%r)' % (self.create, self.update, self.delete)


class Resource:
    """One kind of object. Subclasses implement read, normalize and apply (or create/update/delete)."""

    #: What the objects are called in messages ("link", "published port").
    kind = 'object'
    #: The config field, or tuple of fields, that identifies an object.
    key: str | tuple[str, ...] = 'name'
    #: Values for options not given, used by replaced and overridden, and for new objects.
    defaults: dict = {}
    #: Set by :func:`converge`: whether this run only plans (check mode), for resources that assume in check mode
    #: what an earlier task of the same run would have created.
    check_mode = False

    # -- reading --------------------------------------------------------------
    def read(self) -> tuple[list[dict], set]:
        """Return (owned objects in normalized config shape, keys of objects owned by others)."""
        raise NotImplementedError

    # -- validation -----------------------------------------------------------
    def normalize(self, item: dict) -> dict:
        """Validate one complete desired object and return it in canonical form.

        Raise :class:`ResourceError` naming the object and the field. Canonical
        means comparable with what :meth:`read` returns: sorted lists, canonical
        CIDRs, lower-case MACs, explicit defaults.
        """
        return item

    def validate_plan(self, plan: Plan, current: dict) -> None:
        """Checks that need the whole plan or the current state (for instance a namespace that must exist).

        A ResourceError raised here may carry ``key=`` (the object's key): it becomes the config index.
        """

    def prerequisite(self, exists: bool, message: str, **details) -> bool:
        """Whether something an object needs but does not own (a namespace, a bridge, an interface) is there.

        It is when ``exists``. When it is not, a real run fails: ResourceError(message, **details). In check
        mode it is assumed to be made by an earlier task of the same run, which made nothing because it ran in
        check mode too: this returns False, the caller skips the checks that need the prerequisite, and the
        object is planned and predicted as if it were there. So check mode previews a first run.
        """
        if exists:
            return True
        if not self.check_mode:
            raise ResourceError(message, **details)
        return False

    def differs(self, current: dict, desired: dict) -> bool:
        """Whether an existing object must change to become ``desired``."""
        return current != desired

    # -- writing --------------------------------------------------------------
    def apply(self, plan: Plan) -> None:
        """Carry out a plan. Override to batch (one netfilter transaction); by default one call each."""
        for item in plan.delete:
            self.delete(item)
        for current, desired in plan.update:
            self.update(current, desired)
        for item in plan.create:
            self.create(item)

    def create(self, item: dict) -> None:
        raise NotImplementedError

    def update(self, current: dict, desired: dict) -> None:
        raise NotImplementedError

    def delete(self, item: dict) -> None:
        raise NotImplementedError

    def predict(self, current: list[dict], plan: Plan) -> list[dict]:
        """The owned objects after the plan is carried out, for check mode."""
        by_key = {self.key_of(item): item for item in current}
        for item in plan.delete:
            by_key.pop(self.key_of(item), None)
        for _current, desired in plan.update:
            by_key[self.key_of(desired)] = desired
        for item in plan.create:
            by_key[self.key_of(item)] = item
        return self.sort(list(by_key.values()))

    # -- helpers --------------------------------------------------------------
    def key_of(self, item: dict):
        if isinstance(self.key, tuple):
            return tuple(item.get(field) for field in self.key)
        return item.get(self.key)

    def describe(self, key) -> str:
        """A key as people read it in messages: "link 'br0'", "published port tcp/80"."""
        if isinstance(key, tuple):
            return '%s %s' % (self.kind, ' '.join("%s=%r" % (f, v) for f, v in zip(self.key, key)))
        return "%s %r" % (self.kind, key)

    def sort(self, items: list[dict]) -> list[dict]:
        return sorted(items, key=lambda item: tuple(str(v) for v in _as_tuple(self.key_of(item))))


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def _given(item: dict) -> dict:
    """The options the user gave (Ansible leaves the others as None)."""
    return {k: v for k, v in item.items() if v is not None}


def make_plan(resource: Resource, owned: list[dict], foreign: set, config: list[dict] | None, state: str) -> Plan:
    """Turn config and state into a plan. Raises ResourceError before anything is changed."""
    if state not in STATES:
        raise ResourceError('state must be one of %s, got %r' % (', '.join(STATES), state))
    current = {resource.key_of(item): item for item in owned}
    plan = Plan()
    if state == 'gathered':
        return plan

    config = config or []
    if state in ('merged', 'replaced') and not config:
        raise ResourceError('state=%s needs a non-empty config' % state)

    seen = {}
    for index, raw in enumerate(config):
        given = _given(raw)
        key_fields = resource.key if isinstance(resource.key, tuple) else (resource.key,)
        for field in key_fields:
            if field not in given and field not in resource.defaults:
                raise ResourceError('config[%d]: %s is required' % (index, field), index=index, field=field)
        key = resource.key_of({**resource.defaults, **given})
        if key in seen:
            raise ResourceError('config[%d]: %s is listed twice (also config[%d])' % (index, resource.describe(key), seen[key]),
                                index=index)
        seen[key] = index
        if key in foreign:
            raise ResourceError('%s exists and is not managed by %s; refusing to touch it' % (resource.describe(key), OWNER_MARK),
                                index=index)

        if state == 'deleted':
            if key in current:
                plan.delete.append(current[key])
            continue

        if state == 'merged' and key in current:
            desired = {**current[key], **given}
        else:
            desired = {**copy.deepcopy(resource.defaults), **given}
        try:
            desired = resource.normalize(desired)
        except ResourceError as exc:
            exc.details.setdefault('index', index)
            raise
        if key not in current:
            plan.create.append(desired)
        elif resource.differs(current[key], desired):
            plan.update.append((current[key], desired))

    if state == 'overridden' or (state == 'deleted' and not config):
        for key, item in current.items():
            if key not in seen:
                plan.delete.append(item)
    try:
        resource.validate_plan(plan, current)
    except ResourceError as exc:
        # validate_plan sees whole objects, not config positions: it names the object's key.
        key = exc.details.pop('key', None)
        if key is not None and key in seen:
            exc.details.setdefault('index', seen[key])
        raise
    return plan


def converge(resource: Resource, config: list[dict] | None, state: str, check_mode: bool = False) -> dict:
    """Read, plan, apply (unless check_mode) and report. Raises ResourceError on bad input."""
    resource.check_mode = check_mode
    owned, foreign = resource.read()
    owned = resource.sort(owned)
    if state == 'gathered':
        return dict(changed=False, gathered=owned)

    plan = make_plan(resource, owned, foreign, config, state)
    result = dict(changed=bool(plan), before=owned)
    if not plan:
        result['after'] = owned
    elif check_mode:
        result['after'] = resource.predict(owned, plan)
    else:
        resource.apply(plan)
        result['after'] = resource.sort(resource.read()[0])
    return result


def take_generation(path: str | None = None) -> str:
    """A new converge generation for the host, written under its run lock by the caller: the tasks of runs planned
    before stop at their next check (the host_plan action's read takes one the same way, in shell)."""
    import uuid
    path = path or GENERATION_FILE
    generation = str(uuid.uuid4())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as handle:
        handle.write(generation + '\n')
    os.replace(path + '.tmp', path)
    return generation


def check_generation(planned: str, path: str | None = None) -> None:
    """A task of a role run only while no later run has planned the host: two runs at once (an operator and AWX)
    end with the state the later one describes, and the earlier one stops cleanly at its next task."""
    try:
        with open(path or GENERATION_FILE) as handle:
            current = handle.read().strip()
    except FileNotFoundError:
        current = None
    if current != planned:
        raise ResourceError('another run planned this host after this run did (its plan %s, this run\'s %s): the later '
                            'run converges it; this run stops here, and this task changed nothing'
                            % (current or 'gone, the host rebooted', planned), planned=planned, current=current)


def run_module(module, resource: Resource, guard=None, finish=None, record: str | None = None) -> None:
    """The whole of a resource module's main(): converge, then exit_json or fail_json.

    ``guard`` is a context manager factory held around the run (a lock); ``finish(result)`` adds to the
    result before it is reported (a module's own return values, a diff of its own), inside the guard.
    ``record``: the module's short name, when the host brings its objects back at boot: a run that is not in
    check mode then keeps what we own of its kind afterwards for the restore program (``_restore``); the restore
    program's own runs (a module whose ``keeps_records`` is False) do not.
    """
    generation = os.environ.get(GENERATION_ENV) if not module.check_mode else None
    if generation and guard is None:
        # Imported here: the netfilter engine imports this module.
        from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.engine import run_lock as guard
    try:
        with (guard or contextlib.nullcontext)():
            if generation:
                check_generation(generation)
            result = converge(resource, module.params['config'], module.params['state'], module.check_mode)
            if finish is not None:
                finish(result)
            if record is not None and not module.check_mode and 'after' in result \
                    and getattr(module, 'keeps_records', True):
                # Imported here: _restore imports this module.
                from ansible_collections.anatomy.containers.plugins.module_utils import _restore
                extra = getattr(resource, 'record_extra', None)
                _restore.write_record(record, module.params, result['after'], extra=extra() if extra else None)
    except ResourceError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    except OSError as exc:
        # The kernel refused a change after validation passed: say what, never a traceback.
        module.fail_json(msg='%s: %s' % (resource.kind, exc), errno=exc.errno)
    if module._diff and 'before' in result and 'diff' not in result:
        result['diff'] = dict(before=dict(config=result['before']), after=dict(config=result['after']))
    module.exit_json(**result)
