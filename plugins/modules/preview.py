#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: preview
short_description: Tell which of this collection's module tasks would change anything, reading the host once
version_added: 0.1.0
description:
  - Runs a list of tasks of this collection's resource modules (M(anatomy.containers.netns),
    M(anatomy.containers.bridge), M(anatomy.containers.veth), M(anatomy.containers.netns_addr),
    M(anatomy.containers.nat_masquerade), M(anatomy.containers.port_forward), M(anatomy.containers.layer),
    M(anatomy.containers.overlay_mount), M(anatomy.containers.bind_volume), M(anatomy.containers.workload_service))
    in check mode, all in one process, and returns which of them would change anything. A play can then skip every
    task whose part is already in place, saving Ansible's fixed cost per task when nothing is to change.
  - Each task runs exactly as its module would run in check mode without C(--diff), with the module's own code.
    O(tasks[].params) are validated and defaulted with that module's argument spec (bad input fails with the
    module's own message), the current state is read, the plan is made and validated, and the module's own final
    step runs (the netfilter modules' sysctls are only compared).
  - Each task is compared with the host as it is now, not as the tasks before it would leave it.
  - Changes nothing, also when not in check mode. V(changed) is always V(false).
  - The tasks share what they read of the host (each namespace's links, addresses and routes, the mount table, the
    rule listing), read once, since nothing is written in between.
  - The result's C(invocation) names each task's id and module, not its params.
  - When any task would fail (bad input, an object of that name that this collection does not own, a conflict),
    the module fails, with one line per failing task in RV(msg) and RV(errors); RV(tasks) is still returned.
author:
  - anatomy.containers developers (@anatomy-containers)
requirements:
  - What the previewed modules need (pyroute2 for the network modules, which never import it here, since they only
    read)
  - Linux, as root
extends_documentation_fragment:
  - anatomy.containers._attributes
attributes:
  check_mode:
    support: full
    details: Runs the same way in check mode and out of it; it never changes anything.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Linux only.
options:
  tasks:
    description:
      - The module tasks to preview, in the order a play would run them.
    type: list
    elements: dict
    required: true
    suboptions:
      id:
        description:
          - Names the task in RV(tasks), RV(would_change) and error messages. Unique within one call.
        type: str
        required: true
      module:
        description:
          - The short name of the resource module the task runs.
        type: str
        required: true
        choices: [netns, bridge, veth, netns_addr, nat_masquerade, port_forward, layer, image, overlay_mount, bind_volume,
                  workload_service]
      params:
        description:
          - The parameters the module's task gets, exactly as they would be written in that task
            (O(anatomy.containers.bridge#module:config), O(anatomy.containers.bridge#module:state) and the module's other
            options).
        type: dict
        default: {}
      labels:
        description:
          - One text per item of C(config) in O(tasks[].params), in the same order, naming that item in error messages
            in place of its position (V(network 'ctbr0') instead of V(config[0])).
          - Items without a label are named by position.
        type: list
        elements: str
  strings:
    description:
      - Long texts that several items of O(tasks[].params) share, each sent once. Anywhere in O(tasks[].params), a
        mapping whose only key is C(__anatomy_containers_shared_string__), with the number N as its value, stands for
        item N of this list (counted from 0).
      - The M(anatomy.containers.host_plan) action sends each workload's C(/etc/hosts) this way, since it is the
        same for every workload of a network.
      - When not given, O(tasks[].params) are taken as they are.
    type: list
    elements: str
seealso:
  - module: anatomy.containers.bridge
  - module: anatomy.containers.workload_service
"""

EXAMPLES = r"""
- name: Which tasks would change anything
  anatomy.containers.preview:
    tasks:
      - id: bridges
        module: bridge
        params:
          config:
            - name: ctbr0
              addresses: [10.88.0.1/16]
          state: overridden
        labels: ["network 'ctbr0'"]
      - id: nat
        module: nat_masquerade
        params:
          config:
            - subnet: 10.88.0.0/16
          state: overridden
        labels: ["network 'ctbr0'"]
  register: preview

- name: The bridges, only when they would change
  anatomy.containers.bridge:
    config:
      - name: ctbr0
        addresses: [10.88.0.1/16]
    state: overridden
  when: "'bridges' in preview.would_change"
"""

RETURN = r"""
changed:
  description: Always V(false); previewing changes nothing.
  returned: always
  type: bool
  sample: false
tasks:
  description:
    - Each task's preview, by O(tasks[].id).
    - C(changed) says whether the task would change anything; C(msg), only when the task would fail, says why
      (the item's label or C(config[N]), then the module's message).
  returned: always, also when the module fails because a task would fail
  type: dict
  sample: {"bridges": {"changed": true}, "nat": {"changed": false},
           "veth": {"changed": false, "msg": "workload 'web': veth 'veth-web': bridge 'ctbr0' does not exist"}}
would_change:
  description: The O(tasks[].id) of the tasks that would change anything, in the order given.
  returned: always, also when the module fails because a task would fail
  type: list
  elements: str
  sample: ["bridges"]
msg:
  description:
    - 'When a task would fail, one line per failing task, in the form C(<id>: <label or config[N]>: <message>).'
  returned: failure
  type: str
  sample: "bridges: network 'ctbr0': bridge 'ctbr0' exists and is not managed by anatomy.containers; refusing to touch it"
errors:
  description: The lines of RV(msg), one per failing task.
  returned: failure
  type: list
  elements: str
  sample: ["bridges: network 'ctbr0': bridge 'ctbr0' exists and is not managed by anatomy.containers; refusing to touch it"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._preview import PREVIEW_ARGUMENT_SPEC, run_preview


def main():
    module = AnsibleModule(argument_spec=PREVIEW_ARGUMENT_SPEC, supports_check_mode=True)
    run_preview(module)


if __name__ == '__main__':
    main()
