# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Module arguments with long texts that many items share, each text sent once (the preview's ``strings``).

This is a private module_util: its API may change without notice. Used on the controller (the host_plan
action) and on the host (anatomy.containers.preview); it imports nothing of the collection.
"""

from __future__ import annotations

#: The key of the mapping that stands for ``strings[N]`` in ``tasks[].params`` (see :func:`share_strings`).
SHARED_STRING = '__anatomy_containers_shared_string__'
#: Strings shorter than this are sent as they are.
SHARED_MIN_LENGTH = 256


def _walk(value, leaf):
    """VALUE with each string and each mapping replaced by what ``leaf`` makes of it (None: walk into it)."""
    found = leaf(value)
    if found is not None:
        return found[0]
    if isinstance(value, dict):
        return {key: _walk(item, leaf) for key, item in value.items()}
    if isinstance(value, list):
        return [_walk(item, leaf) for item in value]
    return value


def _has_marker(value) -> bool:
    if isinstance(value, dict):
        return SHARED_STRING in value or any(_has_marker(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_marker(item) for item in value)
    return False


def share_strings(tasks: list, min_length: int = SHARED_MIN_LENGTH) -> tuple:
    """(tasks, strings): each string of at least MIN_LENGTH that occurs more than once in the tasks' params is sent
    once, in ``strings``, and stands in the params as ``{SHARED_STRING: N}``. :func:`unshare_strings` undoes it.

    The /etc/hosts of each workload on a network lists every workload of that network: the same text for all of
    them, N times N lines in all. With nothing shared (no such string, or params that hold the marker key
    themselves), the tasks are returned as they are and ``strings`` is None.
    """
    counts = {}

    def count(value):
        if isinstance(value, str) and len(value) >= min_length:
            counts[value] = counts.get(value, 0) + 1
            return (value,)
        return None

    params = [task.get('params') or {} for task in tasks]
    _walk(params, count)
    shared = sorted(text for text, seen in counts.items() if seen > 1)
    if not shared or _has_marker(params):
        return tasks, None
    index = {text: number for number, text in enumerate(shared)}

    def replace(value):
        if isinstance(value, str) and value in index:
            return ({SHARED_STRING: index[value]},)
        return None

    return [dict(task, params=_walk(task.get('params') or {}, replace)) for task in tasks], shared


def unshare_strings(tasks: list, strings) -> list:
    """The tasks as :func:`share_strings` was given them; with ``strings`` None, as they are."""
    if strings is None:
        return tasks

    def restore(value):
        if isinstance(value, dict) and set(value) == {SHARED_STRING}:
            number = value[SHARED_STRING]
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < len(strings):
                raise ValueError('%s %r: strings has no such item' % (SHARED_STRING, number))
            return (strings[number],)
        return None

    return [dict(task, params=_walk(task.get('params') or {}, restore)) for task in tasks]
