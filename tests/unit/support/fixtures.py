# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Captured data for the unit tests: files under ``tests/unit/fixtures/``, loaded one way."""

from __future__ import annotations

import json
from pathlib import Path

#: The directory of the unit tests' captured data.
FIXTURES = Path(__file__).resolve().parent.parent / 'fixtures'


def fixture_path(name: str) -> Path:
    """The path of a fixture file; it must exist."""
    path = FIXTURES / name
    if not path.is_file():
        raise FileNotFoundError('no unit test fixture %s' % path)
    return path


def load_json(name: str):
    """A JSON fixture, decoded."""
    return json.loads(fixture_path(name).read_text(encoding='utf-8'))


def load_text(name: str) -> str:
    """A text fixture."""
    return fixture_path(name).read_text(encoding='utf-8')
