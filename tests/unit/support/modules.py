# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A module's main() run in the test process, as Ansible would run it, with its result read back."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args


def run_main(module, args, check=False, diff=False):
    """MODULE's main() with ARGS (check mode and diff as asked); its result is on stdout (see :func:`read_output`)."""
    if check:
        args = dict(args, _ansible_check_mode=True)
    if diff:
        args = dict(args, _ansible_diff=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()


def read_output(capsys):
    """A reader of the result the last main() printed."""
    return lambda: json.loads(capsys.readouterr().out)
