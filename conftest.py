# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain ``pytest`` from a fresh checkout: this checkout importable as ``ansible_collections.anatomy.containers``.

Ansible imports a collection's Python as ``ansible_collections.NAMESPACE.NAME``. The Makefile's unit target
links this checkout there (``.build/collections/ansible_collections/anatomy/containers``); so does this file
when the link is missing, and it puts that tree and the checkout (for ``tests.unit.support``, ``tests.lab``)
on sys.path before any test module is imported.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEV = ROOT / '.build' / 'collections'


def _link_checkout() -> None:
    link = DEV / 'ansible_collections' / 'anatomy' / 'containers'
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink('../../../..', str(link))
        except FileExistsError:  # another pytest-xdist worker made it
            pass


_link_checkout()
for _path in (str(ROOT), str(DEV)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
