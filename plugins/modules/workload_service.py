#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: workload_service
short_description: A container, run by an OCI runtime (crun) under a systemd service
version_added: 0.1.0
description:
  - Runs each listed process as a container, through the OCI runtime C(crun) from a bundle this module writes
    (C(BUNDLE/config.json), its root the given root filesystem), started and supervised by the systemd service
    C(anatomy-workload-NAME.service), as Podman's Quadlet units are.
  - "The container gets what Docker gives one: its own PID (the command is PID 1), IPC, UTS (the host name), mount and
    cgroup namespaces, and the network namespace given; a minimal C(/dev) (null, zero, full, random, urandom, tty,
    pts, shm, mqueue); C(/proc) with Docker's masked paths (kcore, keys, timer_list, sched_debug, acpi, scsi,
    C(/sys/firmware) ...) and read-only paths (C(/proc/sys), C(/proc/sysrq-trigger), C(/proc/irq), C(/proc/bus));
    C(/sys) read-only; Docker's default capabilities; no_new_privileges; and Docker's default seccomp profile, as
    Debian packages it with Docker's source (C(/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json),
    which the container_host role installs from the package golang-github-docker-docker-dev)."
  - "Device nodes: the device allow-list is applied by systemd to the service's cgroup (C(DevicePolicy=closed)) where
    it can; because nested hosts and read-only cgroup controllers cannot always apply it, C(/dev) is mounted C(nodev)
    with its devices bound read-only from the host's, and the default profile also refuses to make character or block devices
    (mknod), so that no host device is reachable even with C(CAP_MKNOD)."
  - Limits (O(config[].limits)) are enforced by systemd on the service's cgroup, which holds the runtime and every
    process of the container (the runtime runs with C(--cgroup-manager=disabled), leaving cgroups to systemd); they
    are also written into the bundle's C(linux.resources). On a host whose cgroup controllers are read-only (a nested
    container host) systemd cannot enforce them.
  - Stopping sends O(config[].stop_signal) to the container's PID 1 (the runtime passes it on), and after
    O(config[].stop_timeout) seconds SIGKILL to every process left in the service's cgroup.
  - The process's output goes to the journal - C(journalctl -u anatomy-workload-NAME.service); the results of its
    health check, if any, to C(journalctl -u anatomy-workload-NAME-health.service).
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
  - Linux with systemd 247 or later, as root
  - crun (the C(crun) package)
  - for O(config[].seccomp=default), Docker's default seccomp profile at the path above (the container_host role
    installs it on Debian)
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
          - The container's root filesystem, for instance its merged overlay. C(/proc), C(/sys) and C(/dev) are mounted
            over it in the container's own mount namespace; what is mounted beneath it on the host (volumes, the /etc
            files) is seen inside.
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
          - The user the process runs as, as C(docker run --user) takes it - V(NAME), V(UID), V(NAME:GROUP) or V(UID:GID).
            Names are resolved in the container's own C(/etc/passwd) and C(/etc/group), as are the user's
            supplementary groups and C(HOME).
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
      hostname:
        description:
          - The container's host name (its UTS namespace).
          - Defaults to O(config[].name).
        type: str
      bundle:
        description:
          - The directory of the OCI bundle, where C(config.json) is written. Removed with the service.
          - Defaults to C(/var/lib/anatomy/bundles/NAME).
        type: path
      seccomp:
        description:
          - V(default) - Docker's default profile, for this architecture and
            the container's capabilities, and refusing mknod of devices.
          - V(unconfined) - no seccomp filter. Where systemd cannot apply the device allow-list (read-only cgroup
            controllers, as in a nested container host), a root container with C(CAP_MKNOD) can then make and use
            device nodes in its root filesystem or volumes; drop C(CAP_MKNOD) from O(config[].capabilities) there.
          - An absolute path - a profile of the host's, in Docker's or the OCI format.
          - Defaults to V(default).
        type: str
      no_new_privileges:
        description:
          - The process and its children cannot gain privileges (setuid binaries, file capabilities).
          - Defaults to V(true).
        type: bool
      limits:
        description:
          - Resource limits of the container, enforced by systemd on the service's cgroup.
          - Defaults to none.
        type: dict
        suboptions:
          memory:
            description: Memory, in bytes or as Docker takes it (V(512m), V(1g)); at least V(6m). Swap is not allowed.
            type: raw
          cpus:
            description: CPUs, as C(docker run --cpus) takes them (V(1.5) is 150% of one CPU).
            type: float
          cpu_shares:
            description: The relative CPU weight, as C(docker run --cpu-shares) takes it (2 to 262144, 1024 is usual).
            type: int
          pids:
            description: The most processes and threads the container may have.
            type: int
      ulimits:
        description:
          - "Resource limits of the process (rlimits), as C(docker run --ulimit) takes them, for instance
            C({nofile: '1024:4096', core: 0}). Names are those of C(ulimit) (nofile, nproc, core, memlock, stack ...)."
          - Defaults to those the service inherits from systemd.
        type: dict
      restart:
        description:
          - The restart policy, as Docker's - V(no), V(on-failure), V(on-failure:MAX) (at most MAX restarts),
            V(always) or V(unless-stopped) - mapped onto systemd's C(Restart=) and start limits.
          - systemd never restarts a service stopped by hand, and starts enabled services at boot whatever the policy,
            so V(always) and V(unless-stopped) are the same here; V(no) still starts at boot if O(config[].enabled).
          - Defaults to V(on-failure).
        type: str
      stop_timeout:
        description:
          - Seconds between the stop signal and SIGKILL.
          - Defaults to V(10), as Docker.
        type: int
      stop_signal:
        description:
          - The signal that asks the container's PID 1 to stop.
          - Defaults to V(SIGTERM).
        type: str
      healthcheck:
        description:
          - A health check, as Docker's - its command runs inside the container every O(config[].healthcheck.interval)
            and its status (C(starting), C(healthy), C(unhealthy)) is what P(anatomy.containers.workload_info#module)
            reports. An unhealthy container is not restarted, as with Docker; act on the status yourself.
          - "The check is run by two more units, written, started and removed with the service in the same
            C(systemctl) calls: the timer C(anatomy-workload-NAME-health.timer), which starts the oneshot service
            C(anatomy-workload-NAME-health.service) one O(config[].healthcheck.interval) after the start and then one
            interval after the end of each check. Both are C(PartOf=) the workload's service, which C(Wants=) the timer:
            they start, stop and restart with it. They carry the ownership mark on their first line as the service
            does; edited by hand or missing, they are rewritten. A service without a health check has neither."
          - "The oneshot runs C(BUNDLE/healthcheck), a shell script this module writes, which runs the test in the
            running container (C(crun exec), as the container's user, with its environment), kills it after
            O(config[].healthcheck.timeout) (exit code V(-1), as Docker's), and keeps the status in
            C(/run/anatomy/health/NAME.json) (written atomically) -
            C({\"status\": \"starting\"|\"healthy\"|\"unhealthy\", \"failing_streak\": N, \"log\": [...]}), the log
            holding the last 5 checks, each C({\"start\", \"end\", \"exit_code\", \"output\"}), the output (stdout and
            stderr) cut at 4 KiB."
          - As Docker's, a success makes the container healthy and resets the failing streak; a failure adds to the
            streak, except while the status is still C(starting) within O(config[].healthcheck.start_period) of the
            start; O(config[].healthcheck.retries) failures in a row make it unhealthy. Each start of the service
            (restarts included) resets the status to C(starting) and the streak to 0, keeping the log. A container that
            is not running is not checked; its last status stays in the file.
          - Failed checks and changes of status are logged - C(journalctl -u anatomy-workload-NAME-health.service).
          - "The service NAME-health cannot exist beside a service NAME with a health check: their units would have the
            same name."
          - V({}) removes the health check (also with O(state=merged)), its units, script and status file.
          - Defaults to none.
        type: dict
        suboptions:
          test:
            description:
              - The command, a list of words (the program first, a path inside the container or a name in its
                C(PATH)), or a string run by C(/bin/sh -c) inside the container. Exit status 0 is healthy.
              - Required when the health check is given.
            type: raw
          interval:
            description: Time between checks (V(30s), V(1m30s) or seconds), at least 1 second. Defaults to 30 seconds.
            type: raw
          timeout:
            description: How long one check may take before it is killed and counts as failed. Defaults to 30 seconds.
            type: raw
          retries:
            description: Failures in a row that make the container unhealthy. Defaults to 3.
            type: int
          start_period:
            description:
              - Time after each start during which failures do not count, while the container has not been healthy
                yet. Defaults to 0.
            type: raw
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
        healthcheck:
          test: [/bin/sh, -c, "test -s /data/ticks"]
          interval: 30s
          timeout: 5s
          retries: 3
          start_period: 1m
    state: overridden

- name: Remove the health check of a service, keeping the service
  anatomy.containers.workload_service:
    config:
      - name: worker
        healthcheck: {}

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
