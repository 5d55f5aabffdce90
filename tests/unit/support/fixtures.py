# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Captured data for unit tests (fakes live in ``<domain>_fakes.py`` beside this file), read from ``tests/unit/fixtures/``.

Data files are read one way, :func:`load_fixture`, as the text the tool printed; the caller parses it.
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures'


def load_fixture(name: str) -> str:
    """The text of tests/unit/fixtures/NAME."""
    return (FIXTURES / name).read_text(encoding='utf-8')
