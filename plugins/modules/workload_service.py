#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: workload_service
short_description: A container's process as a systemd service in its network namespace and root filesystem
version_added: 0.1.0
description:
  - Runs each listed process as the systemd service C(anatomy-workload-NAME.service), confined the way a container
    runtime confines a container's process, with systemd's own settings
    (C(NetworkNamespacePath=), C(RootDirectory=) with C(MountAPIVFS=yes), C(User=), C(CapabilityBoundingSet=) with
    Docker's default capability set, C(NoNewPrivileges=yes)), and restarted on failure.
  - The whole list converges in one task, with one call of C(systemctl daemon-reload), C(enable), C(start) and
    C(restart) each at most, however many services there are.
  - A service whose definition changed (its unit file, or its O(config[].revision)) is restarted; the others are left
    alone. A service that is stopped or disabled while O(config[].running) and O(config[].enabled) say otherwise is
    started or enabled again.
  - The first line of the unit file holds the service's definition and marks it as owned by this collection. A unit
    of that name without the mark is never touched. A unit edited by hand no longer matches its definition and is
    rewritten and restarted.
  - V(deleted) and V(overridden) stop and disable the services they remove and delete their unit files.
author:
  - anatomy.containers developers (@anatomy-containers)
requirements:
  - Linux with systemd 247 or later (C(NetworkNamespacePath=)), as root
extends_documentation_fragment:
  - anatomy.containers._attributes
  - anatomy.containers._attributes.RESOURCE
  - anatomy.containers._resource_state
options:
  config:
    description:
      - The services, each identified by O(config[].name).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The workload's name; the unit is C(anatomy-workload-NAME.service).
          - 1 to 63 lower-case letters, digits, C(_), C(.) or C(-). Required in every item.
        type: str
      command:
        description:
          - The program and its arguments, a path inside O(config[].root) first. Each word is passed as it is
            (systemd's C(%) specifiers and C($) variables are not expanded).
          - Required for a new service.
        type: list
        elements: str
      root:
        description:
          - The root filesystem the process runs in (C(RootDirectory=)), for instance a container's merged overlay.
            C(/proc), C(/sys) and C(/dev) are mounted inside it.
          - Required for a new service.
        type: path
      netns:
        description:
          - The network namespace the process runs in, a name as C(ip netns) and P(anatomy.containers.netns#module)
            know it (C(/run/netns/NAME)) or an absolute path.
          - Not given, the process stays in the host's network namespace.
        type: str
      user:
        description:
          - The user (a name in the host's user database, or a numeric ID) the process runs as.
          - Defaults to V(root).
        type: str
      working_dir:
        description:
          - The working directory, inside O(config[].root).
          - Defaults to V(/).
        type: str
      environment:
        description:
          - Environment variables of the process.
          - Defaults to none.
        type: dict
      capabilities:
        description:
          - The capability bounding set, names with or without C(CAP_).
          - Defaults to Docker's default set (CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID,
            SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE).
        type: list
        elements: str
      revision:
        description:
          - An opaque value recorded with the service; a change restarts it. For what the unit does not show but the
            process depends on, for instance its layers or its address.
          - Defaults to empty.
        type: str
      running:
        description:
          - Whether the service runs.
          - With O(state=merged) too, a listed service that stopped or failed is started.
        type: bool
        default: true
      enabled:
        description:
          - Whether the service starts at boot.
        type: bool
        default: true
"""

EXAMPLES = r"""
- name: Run two containers' processes, each in its namespace and root filesystem
  anatomy.containers.workload_service:
    config:
      - name: web
        command: [/bin/busybox, httpd, -f, -p, "8080", -h, /www]
        root: /var/lib/anatomy/workloads/web/rootfs
        netns: web
        user: nobody
      - name: worker
        command: [/bin/sh, -c, "while :; do date >> /data/ticks; sleep 60; done"]
        root: /var/lib/anatomy/workloads/worker/rootfs
        netns: worker
        environment:
          TZ: UTC
        revision: "layers=base:2"
    state: overridden

- name: Stop a service but keep it
  anatomy.containers.workload_service:
    config:
      - name: worker
        running: false

- name: Remove every workload service this collection made
  anatomy.containers.workload_service:
    state: deleted
"""

RETURN = r"""
before:
  description: The owned services before the run.
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: []
after:
  description: The owned services after the run (in check mode, as they would be).
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"name": "web", "command": ["/bin/busybox", "httpd", "-f", "-p", "8080"],
            "root": "/var/lib/anatomy/workloads/web/rootfs", "netns": "web", "user": "root", "working_dir": "/",
            "environment": {}, "capabilities": ["CAP_CHOWN", "CAP_KILL"], "revision": "", "running": true,
            "enabled": true}]
gathered:
  description: The owned services, in the shape of O(config).
  returned: when O(state=gathered)
  type: list
  elements: dict
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._services import WORKLOAD_SERVICE_ARGUMENT_SPEC, run_workload_service


def main():
    module = AnsibleModule(argument_spec=WORKLOAD_SERVICE_ARGUMENT_SPEC, supports_check_mode=True)
    run_workload_service(module)


if __name__ == '__main__':
    main()
