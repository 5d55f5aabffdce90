#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: workload_exec
short_description: Run a command inside a running workload, as docker exec does
version_added: 0.2.0
description:
  - Runs a command inside a running workload of this collection (one that P(anatomy.containers.workload_service#module)
    or the C(anatomy.containers.workload) role set up), in its namespaces (PID, mount, network, IPC, UTS, cgroup), its
    root filesystem and its unit's cgroup, and as its process runs, with its user, environment, working directory,
    capabilities, rlimits and C(noNewPrivileges), which are taken from the C(process) of the workload's OCI bundle
    (C(BUNDLE/config.json)).
  - The OCI runtime runs it (C(crun --root /run/anatomy/crun exec --process FILE NAME)); O(user), O(environment) and
    O(working_dir) change what the command gets, as C(docker exec --user/--env/--workdir) do.
  - Returns the command's exit status and output as M(ansible.builtin.command) does, and, as it does, fails when the
    exit status is not 0 and reports C(changed=true) whenever the command ran. Use C(failed_when) and C(changed_when)
    to judge the command otherwise.
  - The command runs without a terminal. Its standard input is O(stdin), or empty.
  - To read a workload's state, address, ports and mounts without running anything in it, use
    P(anatomy.containers.workload_info#module).
author:
  - anatomy.containers developers (@anatomy-containers)
requirements:
  - Linux with C(crun), as root
extends_documentation_fragment:
  - anatomy.containers._attributes
attributes:
  check_mode:
    support: partial
    details:
      - As with M(ansible.builtin.command), nothing runs in check mode and nothing is predicted; the task is reported
        as skipped. The workload is not looked up either, so a check-mode run of a play that would create it passes.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Linux only.
options:
  name:
    description:
      - The workload's name (its unit is C(anatomy-workload-NAME.service)). It must be running.
    type: str
    required: true
  command:
    description:
      - The program and its arguments, a list of words passed as they are, or a string split into words as a shell
        would (quotes and backslashes), without a shell. For pipes, redirections or variables, run a shell, for
        instance V([/bin/sh, -c, "echo $HOME"]).
      - A program name without C(/) is looked up in the C(PATH) of the workload's environment.
    type: raw
    required: true
  user:
    description:
      - The user the command runs as, V(NAME), V(UID), V(NAME:GROUP) or V(UID:GID), looked up in the workload's own
        C(/etc/passwd) and C(/etc/group) as the workload's own user is, and as C(docker exec --user) does. Without a
        group, its supplementary groups are those of the workload's C(/etc/group) that list the user. C(HOME) is the
        user's home, unless O(environment) or the workload's own environment sets it.
      - Not given, the command runs as the workload's process does.
    type: str
  environment:
    description:
      - Environment variables added to the workload's, or replacing those of the same name.
    type: dict
  working_dir:
    description:
      - The working directory inside the workload, an absolute path.
      - Not given, the workload's own.
    type: str
  stdin:
    description:
      - Text passed to the command's standard input.
    type: str
  stdin_add_newline:
    description:
      - Whether a newline is appended to O(stdin), as M(ansible.builtin.command) does.
    type: bool
    default: true
  strip_empty_ends:
    description:
      - Whether trailing newlines are stripped from RV(stdout) and RV(stderr), as M(ansible.builtin.command) does.
    type: bool
    default: true
notes:
  - The workload's log is its unit's journal, C(journalctl -u anatomy-workload-NAME.service); what the command prints
    is not in it.
  - A command that does not end blocks the task; set the task's C(timeout) keyword to bound it.
  - As with C(docker exec), the command runs in the workload's cgroup (its unit's, in every cgroup hierarchy the host
    lets it join), so the workload's O(anatomy.containers.workload_service#module:config[].limits) count it; and it
    is in the workload's PID namespace, so it ends when the workload stops.
seealso:
  - module: anatomy.containers.workload_info
  - module: anatomy.containers.workload_service
  - module: ansible.builtin.command
"""

EXAMPLES = r"""
- name: Who the workload runs as, in its own user database
  anatomy.containers.workload_exec:
    name: web
    command: id
  register: web_id

- name: A shell command, as another user, with a variable of its own
  anatomy.containers.workload_exec:
    name: web
    command: [/bin/sh, -c, 'echo "$GREETING from $(hostname)"']
    user: nobody
    environment:
      GREETING: hello
    working_dir: /tmp

- name: Feed a file's text in, and accept the exit status 1 of grep finding nothing
  anatomy.containers.workload_exec:
    name: web
    command: grep -c needle
    stdin: "{{ lookup('ansible.builtin.file', 'haystack.txt') }}"
  register: found
  failed_when: found.rc not in [0, 1]
  changed_when: false
"""

RETURN = r"""
cmd:
  description: The command as it ran, word by word.
  returned: always
  type: list
  elements: str
  sample: [/bin/sh, -c, echo hello]
rc:
  description: The command's exit status (0 in check mode). 128 plus the signal's number when a signal killed it;
    255 when the runtime could not start it (no such program, say).
  returned: always
  type: int
  sample: 0
stdout:
  description: What the command printed on its standard output.
  returned: when the command ran
  type: str
  sample: hello
stderr:
  description: What the command printed on its standard error (with the runtime's own message when it could not start
    it).
  returned: when the command ran
  type: str
  sample: ''
stdout_lines:
  description: RV(stdout) split into lines.
  returned: when the command ran
  type: list
  elements: str
  sample: [hello]
stderr_lines:
  description: RV(stderr) split into lines.
  returned: when the command ran
  type: list
  elements: str
  sample: []
start:
  description: When the command started, local time of the managed host.
  returned: when the command ran
  type: str
  sample: '2026-11-30 18:00:00.123456'
end:
  description: When the command ended, local time of the managed host.
  returned: when the command ran
  type: str
  sample: '2026-11-30 18:00:00.234567'
delta:
  description: How long the command ran.
  returned: when the command ran
  type: str
  sample: '0:00:00.111111'
user:
  description: The user and groups the command ran as (C(uid), C(gid), C(additionalGids)), as the OCI process had them.
  returned: when the command ran
  type: dict
  sample: {"uid": 65534, "gid": 65534}
msg:
  description: Why the task failed (C(non-zero return code) when the command's status was not 0), or what check mode did.
  returned: on failure and in check mode
  type: str
  sample: non-zero return code
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._workload_inspect import (
    WORKLOAD_EXEC_ARGUMENT_SPEC, run_workload_exec,
)


def main():
    module = AnsibleModule(argument_spec=WORKLOAD_EXEC_ARGUMENT_SPEC, supports_check_mode=True)
    run_workload_exec(module)


if __name__ == '__main__':
    main()
