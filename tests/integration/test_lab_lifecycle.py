# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab's own promise: up recovers from a crash or a second up, and down leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.lab import Lab


def snapshot(lab: Lab) -> dict:
    """What a lab could leave behind: the machine's links, and this lab's namespaces, mounts and processes."""
    marker = str(lab.dir)
    return {
        'links': subprocess.run(['ip', '-o', 'link', 'show'], capture_output=True, text=True, check=True).stdout
        .replace('state UP', '').splitlines(),
        'netns': sorted(ns for ns in os.listdir('/run/netns') if ns in (lab.netns, lab.upstream_netns))
        if os.path.isdir('/run/netns') else [],
        'mounts': [line for line in Path('/proc/self/mountinfo').read_text().splitlines()
                   if marker in line or '/run/netns/' + lab.netns in line],
        'processes': sorted(lab.processes().values()),
        'files': lab.dir.exists(),
    }


def test_up_recovers_from_a_crash_and_down_leaves_nothing():
    lab = Lab('it-life')
    lab.down(log=lambda *_: None)
    before = snapshot(lab)
    assert before['netns'] == [] and before['processes'] == [] and not before['files']

    host = lab.up(1)[0]
    assert host.run('true').returncode == 0
    assert snapshot(lab)['netns'] == sorted([lab.netns, lab.upstream_netns])

    # A crash: the host dies without a clean halt and nothing runs down.
    os.kill(host.pid(), signal.SIGKILL)
    time.sleep(0.5)
    host = lab.up(1)[0]
    assert host.run('systemctl is-system-running').stdout.strip() in ('running', 'degraded')

    # Twice in a row.
    host = lab.up(1)[0]
    assert host.run('true').returncode == 0

    lab.down(log=lambda *_: None)
    deadline = time.monotonic() + 10
    while snapshot(lab)['processes'] and time.monotonic() < deadline:
        time.sleep(0.2)  # the last of a host's processes may still be exiting
    assert snapshot(lab) == before
