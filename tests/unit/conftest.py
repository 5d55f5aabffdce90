# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every unit test keeps the records of the modules it runs, and the boot's markers it clears, in directories of
its own: never the host's."""

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _restore


@pytest.fixture(autouse=True)
def restore_dirs(tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setattr(_restore, 'RESTORE_DIR', str(tmp_path / 'restore-records'))
    # Named apart from the test: the markers' path is in every workload unit a test renders.
    monkeypatch.setattr(_restore, 'STATUS_DIR', str(tmp_path_factory.mktemp('status')))
    return tmp_path
