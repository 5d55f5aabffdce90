# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for integration tests: a lab of real hosts, and Ansible pointed at it.

ANATOMY_LAB names the lab (default "it"), ANATOMY_LAB_HOSTS how many hosts it boots (default 2).
Under pytest-xdist each worker has a lab of its own, named after the worker (it-gw0, it-gw1, ...).
ANATOMY_LAB_KEEP=1 reuses a lab that is already up and leaves it up (for quick edit-test loops).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.lab import Lab  # noqa: E402
from tests.integration.ansible_runner import Ansible  # noqa: E402


@pytest.fixture(scope='session')
def lab():
    worker = os.environ.get('PYTEST_XDIST_WORKER')
    lab = Lab(os.environ.get('ANATOMY_LAB', 'it') + ('-' + worker if worker else ''))
    keep = os.environ.get('ANATOMY_LAB_KEEP') == '1'
    status = lab.status()
    if not (keep and status['hosts'] and all(h['running'] for h in status['hosts'])):
        lab.up(int(os.environ.get('ANATOMY_LAB_HOSTS', '2')))
    yield lab
    if not keep:
        lab.down()


@pytest.fixture(scope='session')
def hosts(lab):
    return lab.hosts


@pytest.fixture(scope='session')
def host(hosts):
    return hosts[0]


@pytest.fixture(scope='session')
def ansible(lab):
    return Ansible(lab)
