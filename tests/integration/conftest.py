# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for integration tests: a lab of real hosts, and Ansible pointed at it.

ANATOMY_LAB names the lab (default "it"), ANATOMY_LAB_HOSTS how many hosts it boots (default 2).
Under pytest-xdist each worker has a lab of its own, named after the worker (it-gw0, it-gw1, ...).
ANATOMY_LAB_KEEP=1 reuses a lab that is already up and leaves it up (for quick edit-test loops).

The session ends everything it started, and fails if something is left: see :func:`no_process_left`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.lab import Lab  # noqa: E402
from tests.integration.ansible_runner import RUN_ID, RUN_MARK, Ansible, processes_marked  # noqa: E402

#: How long processes of the session may take to go after the last test (a killed worker, an SSH master told to exit).
SETTLE_SECONDS = 15


@pytest.fixture(scope='session', autouse=True)
def no_process_left():
    """After the whole session (set up first, so torn down last): no process the session started still runs.

    Ansible's processes are found by the mark their environment carries (ansible_runner.RUN_MARK), as
    the workers of ansible-playbook leave its process group and session (setsid) and outlive a killed
    parent; the lab's own processes (nspawn, nsenter, SSH masters), when the lab was taken down, by
    their command lines. What is left fails the session with its command lines, and is then killed.
    """
    labs = []
    yield labs
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        left = processes_marked(RUN_MARK, RUN_ID)
        for lab, kept in labs:
            if not kept:
                left.update(lab.processes())
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if left:
        pytest.fail('the test session left %d process(es) running (killed now):\n%s'
                    % (len(left), '\n'.join('  %d: %s' % (pid, cmd) for pid, cmd in sorted(left.items()))),
                    pytrace=False)


@pytest.fixture(scope='session')
def lab(no_process_left):
    worker = os.environ.get('PYTEST_XDIST_WORKER')
    lab = Lab(os.environ.get('ANATOMY_LAB', 'it') + ('-' + worker if worker else ''))
    keep = os.environ.get('ANATOMY_LAB_KEEP') == '1'
    status = lab.status()
    if not (keep and status['hosts'] and all(h['running'] for h in status['hosts'])):
        lab.up(int(os.environ.get('ANATOMY_LAB_HOSTS', '2')))
    no_process_left.append((lab, keep))
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
    yield Ansible(lab)
    # The SSH masters Ansible left (ControlPersist) end with the session, even when the lab stays up.
    control = lab.dir / 'ssh-control'
    for socket in sorted(control.rglob('*')) if control.is_dir() else []:
        if socket.is_socket():
            subprocess.run(['ssh', '-o', 'ControlPath=' + str(socket), '-O', 'exit', 'lab-host'],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False)
