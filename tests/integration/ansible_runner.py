# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run tasks through the real ansible-playbook against a lab host and return each task's result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

#: Every process an ansible-playbook of this test session starts carries RUN_MARK=RUN_ID in its environment
#: (workers, ssh, ssh masters, their proxies): how the session finds what it left behind, whatever the
#: process's parent or session now is. A pytest-xdist worker imports this module on its own: an id of its own.
RUN_MARK = 'ANATOMY_TEST_RUN'
RUN_ID = uuid.uuid4().hex


def processes_marked(name: str, value: str) -> dict:
    """{pid: command line} of the live processes whose environment holds NAME=VALUE (zombies show none)."""
    wanted = ('%s=%s' % (name, value)).encode()
    found = {}
    for entry in os.scandir('/proc'):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open('/proc/%s/environ' % entry.name, 'rb') as environ:
                if wanted not in environ.read().split(b'\0'):
                    continue
            with open('/proc/%s/cmdline' % entry.name, 'rb') as cmdline:
                found[int(entry.name)] = cmdline.read().replace(b'\0', b' ').decode(errors='replace').strip()
        except OSError:  # gone meanwhile
            continue
    return found


def ansible_env(extra: dict | None = None) -> dict:
    """Environment for ansible-playbook: this checkout as anatomy.containers, fast SSH, the recorder."""
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': os.environ.get('ANATOMY_COLLECTIONS_PATH', str(REPO / '.build' / 'collections')),
        'ANSIBLE_CALLBACK_PLUGINS': str(HERE / 'callback_plugins'),
        'ANSIBLE_CALLBACKS_ENABLED': 'record_results',
        'ANSIBLE_PIPELINING': 'True',
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_DEPRECATION_WARNINGS': 'False',
        RUN_MARK: RUN_ID,
    })
    env.update(extra or {})
    return env


def run_playbook(inventory: Path, hosts: str, tasks: list, check: bool = False, diff: bool = False,
                 extra_vars: dict | None = None, timeout: float = 600) -> list:
    """Run TASKS on HOSTS; return the recorded results, one dict per task and host.

    A failed task does not stop the play (each task gets ignore_errors), so a test can assert on
    the failure itself: its result has failed=True and msg.
    """
    play = [{'name': 'integration test', 'hosts': hosts, 'gather_facts': False,
             'tasks': [dict(task, ignore_errors=True) for task in tasks]}]
    with tempfile.TemporaryDirectory(prefix='anatomy-it-') as tmp:
        playbook = Path(tmp) / 'play.yml'
        playbook.write_text(json.dumps(play))
        record = Path(tmp) / 'results.jsonl'
        argv = [str(Path(sys.executable).with_name('ansible-playbook')), '-i', str(inventory), str(playbook)]
        if check:
            argv.append('--check')
        if diff:
            argv.append('--diff')
        if extra_vars:
            argv += ['-e', json.dumps(extra_vars)]
        proc = subprocess.run(argv, env=ansible_env({'ANATOMY_RECORD': str(record)}), capture_output=True,
                              text=True, timeout=timeout, check=False)
        results = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    if proc.returncode not in (0, 2) or not results:
        raise AssertionError('ansible-playbook exited %d\n%s\n%s'
                             % (proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
    return results


class Ansible:
    """The `ansible` fixture: ansible(host, 'anatomy.containers.netns', {...}) -> the module's result."""

    def __init__(self, lab):
        self.lab = lab

    def __call__(self, host, module: str, params: dict, check: bool = False, diff: bool = False) -> dict:
        return self.tasks(host, [{'name': module, module: params}], check=check, diff=diff)[0]

    def tasks(self, host, tasks: list, check: bool = False, diff: bool = False, extra_vars=None) -> list:
        name = host if isinstance(host, str) else host.name
        return run_playbook(self.lab.inventory, name, tasks, check=check, diff=diff, extra_vars=extra_vars)
