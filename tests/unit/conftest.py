# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every unit test keeps the records of the modules it runs in a directory of its own."""

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _restore


@pytest.fixture(autouse=True)
def restore_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(_restore, 'RESTORE_DIR', str(tmp_path / 'restore-records'))
    return tmp_path
