#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: workload_info
short_description: What docker inspect shows of a workload, for this collection's workloads
version_added: 0.2.0
description:
  - Reports, for each workload of this collection on the host (or those named), what a user looks for in
    C(docker inspect) - its state, the PID of its process, when it started, how often it restarted, its health, its
    address and MAC, its published ports, its root filesystem's layers and the mounts on it, its limits and the rest
    of its definition, the paths of its unit and OCI bundle, and the command that shows its log.
  - Each source is read once for all workloads - one C(systemctl show) for their units, one C(crun list) for their
    containers, one netlink dump per network namespace, one mount table, one listing of this collection's netfilter
    rules - and nothing is changed.
author:
  - anatomy.containers developers (@anatomy-containers)
requirements:
  - Linux with systemd and C(crun), as root
  - pyroute2 (the collection's requirement; its reads do not use it)
extends_documentation_fragment:
  - anatomy.containers._attributes
attributes:
  check_mode:
    support: full
    details: Reads only; runs the same in check mode.
  diff_mode:
    support: N/A
    details: Changes nothing.
  platform:
    platforms: posix
    details: Linux only.
options:
  name:
    description:
      - The workloads to report. A name that is no workload of this collection is reported in RV(missing) with a
        warning, not as a failure.
      - Not given, every workload of this collection on the host.
    type: list
    elements: str
notes:
  - A workload's log is its unit's journal; RV(workloads[].log_command) is the command that shows it.
seealso:
  - module: anatomy.containers.workload_exec
  - module: anatomy.containers.workload_service
"""

EXAMPLES = r"""
- name: Inspect every workload of the host
  anatomy.containers.workload_info:
  register: info

- name: The address and the PID of one workload
  anatomy.containers.workload_info:
    name: [web]
  register: web

- name: Say where web answers and where its log is
  ansible.builtin.debug:
    msg: >-
      web ({{ web.workloads[0].status }}, PID {{ web.workloads[0].pid }}) is at {{ web.workloads[0].network.address }};
      its log: {{ web.workloads[0].log_command }}

- name: Fail when a workload is unhealthy
  ansible.builtin.assert:
    that: item.health is none or item.health.status != 'unhealthy'
  loop: "{{ info.workloads }}"
  loop_control:
    label: "{{ item.name }}"
"""

RETURN = r"""
workloads:
  description: One entry per workload, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The workload's name (the OCI runtime's container id).
      type: str
      sample: web
    status:
      description:
        - As Docker's C(State.Status) - V(running), V(paused), V(restarting) (systemd waits to start it again),
          V(starting) (its unit starts, its container is not there yet), V(exited) (it ran and ended) or V(created)
          (it never ran).
      type: str
      sample: running
    running:
      description: Whether its container runs.
      type: bool
      sample: true
    pid:
      description: The host PID of its process, PID 1 of its own PID namespace (the runtime's state; systemd's
        C(MainPID) is the runtime's own process). Null unless running or paused.
      type: int
      sample: 4242
    started_at:
      description: When its process last started (systemd's C(ExecMainStartTimestamp)), ISO 8601 UTC; null if never.
      type: str
      sample: '2026-11-30T18:00:00.123456Z'
    finished_at:
      description: When its process last ended, ISO 8601 UTC; null if it never ended.
      type: str
      sample: null
    exit_code:
      description: The exit status of its process's last run (systemd's C(ExecMainStatus)).
      type: int
      sample: 0
    restart_count:
      description: How often systemd restarted it by its restart policy (C(NRestarts)).
      type: int
      sample: 0
    health:
      description:
        - What its health check last recorded, as C(docker inspect)'s C(State.Health) - C(status) (V(starting),
          V(healthy) or V(unhealthy)), C(failing_streak), and C(log), the last five checks (C(start), C(end),
          C(exit_code), C(output)).
        - Null when it has no health check, or its check has not run since the host started.
      type: dict
      sample: {"status": "healthy", "failing_streak": 0, "log": [{"start": "2026-11-30T18:00:01Z",
               "end": "2026-11-30T18:00:01Z", "exit_code": 0, "output": "ok\n"}]}
    systemd:
      description: Its unit's C(ActiveState), C(SubState), C(Result), C(MainPID) and C(UnitFileState).
      type: dict
      sample: {"active_state": "active", "sub_state": "running", "result": "success", "main_pid": 4240,
               "unit_file_state": "enabled"}
    runtime:
      description: The OCI runtime's state of its container (C(status), C(pid), C(created), C(bundle)); null when
        the runtime has no container of that name.
      type: dict
      sample: {"status": "running", "pid": 4242, "created": "2026-11-30T18:00:00.100000Z",
               "bundle": "/var/lib/anatomy/workloads/web/bundle"}
    network:
      description:
        - Its network namespace and the interfaces in it but C(lo) (C(name), C(mac), C(up), C(mtu), C(addresses)),
          with the address, prefix length and MAC of C(eth0) and its default gateway. Null when it runs in the
          host's network namespace.
      type: dict
      sample: {"netns": "web", "address": "10.88.0.2", "prefix_length": 16, "mac": "02:42:0a:58:00:02",
               "gateway": "10.88.0.1", "interfaces": [{"name": "eth0", "mac": "02:42:0a:58:00:02", "up": true,
               "mtu": 1500, "addresses": ["10.88.0.2/16"]}]}
    ports:
      description: Its published ports (this collection's netfilter rules that name it or lead to its address).
      type: list
      elements: dict
      sample: [{"protocol": "tcp", "host_address": "0.0.0.0", "host_port": "80", "container_port": "8080",
                "destination": "10.88.0.2", "allowed_sources": []}]
    rootfs:
      description: Its root filesystem - C(path), C(type), and for an overlay its C(layers) (topmost first), C(upper)
        and C(work) directories.
      type: dict
      sample: {"path": "/var/lib/anatomy/workloads/web/rootfs", "type": "overlay",
               "layers": ["/var/lib/anatomy/layers/web-content", "/var/lib/anatomy/layers/busybox"],
               "upper": "/var/lib/anatomy/workloads/web/upper", "work": "/var/lib/anatomy/workloads/web/work"}
    mounts:
      description: The mounts on its root filesystem, by C(destination) inside it - volumes (C(type=volume), with
        their C(name)), host paths and its own C(/etc) files (C(type=bind)) - with their host C(source),
        C(read_only) and C(propagation).
      type: list
      elements: dict
      sample: [{"type": "volume", "name": "web-data", "source": "/var/lib/anatomy/volumes/web-data/_data",
                "destination": "/data", "read_only": false, "propagation": "rprivate"}]
    limits:
      description: Its resource limits as its definition gives them (C(memory), C(cpus), C(cpu_shares), C(pids)).
      type: dict
      sample: {"memory": null, "cpus": null, "cpu_shares": null, "pids": null}
    config:
      description: Its definition as its unit records it - C(command), C(user), C(environment), C(working_dir),
        C(hostname), C(capabilities), C(restart), C(stop_timeout), C(stop_signal), C(healthcheck) and the rest.
      type: dict
      sample: {"command": ["/bin/busybox", "httpd", "-f", "-p", "8080"], "user": "root", "hostname": "web"}
    unit:
      description: Its systemd unit's C(name) and C(path), and whether it is C(enabled) at boot.
      type: dict
      sample: {"name": "anatomy-workload-web.service", "path": "/etc/systemd/system/anatomy-workload-web.service",
               "enabled": true}
    bundle:
      description: Its OCI bundle's directory (C(config.json) is in it).
      type: str
      sample: /var/lib/anatomy/workloads/web/bundle
    log_command:
      description: The command that shows its log, its unit's journal.
      type: str
      sample: journalctl -u anatomy-workload-web.service
missing:
  description: The names asked for in O(name) that are no workload of this collection on the host.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._workload_inspect import (
    WORKLOAD_INFO_ARGUMENT_SPEC, run_workload_info,
)


def main():
    module = AnsibleModule(argument_spec=WORKLOAD_INFO_ARGUMENT_SPEC, supports_check_mode=True)
    run_workload_info(module)


if __name__ == '__main__':
    main()
