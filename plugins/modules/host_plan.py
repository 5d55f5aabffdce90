# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: host_plan
short_description: Plan a container host's networks and workloads, check all of the input, preview every change
version_added: 0.2.0
description:
  - The first task of the P(anatomy.containers.container_host#role) and P(anatomy.containers.workload#role) roles,
    so that they think first and act second.
  - Reads the host once (one shell command - its OS release, packages, resolv.conf files, the roles' own files
    and directories, and the address record of the last run), plans every network and workload on the controller,
    and checks the whole input - names, subnets and overlaps, gateways, addresses, published ports and port
    conflicts across workloads, layers, volumes, commands, users, capabilities, environment.
  - Every problem is reported at once, one line each, naming the variable, the network or workload and the field,
    and nothing on the host has been changed.
  - Then runs M(anatomy.containers.preview) once with every module task the role will run, so that tasks whose part
    of the plan already holds are skipped, and conflicts with the host (objects someone else made) fail here too.
  - Its output is what the roles pass to their module tasks; it is not a stable interface.
author:
  - anatomy.containers developers (@anatomy-containers)
options:
  role:
    description: Which role plans - V(container_host) plans networks (and the workloads given, to check them and
      hand the plan to the workload role of the same play); V(workload) plans workloads only.
    type: str
    required: true
    choices: [container_host, workload]
  networks:
    description: The host's networks (the roles' C(container_host_networks)).
    type: list
    elements: raw
    default: []
  workloads:
    description: The host's workloads (the role's C(workload_list)). Not given - no workloads are planned.
    type: list
    elements: raw
  layers:
    description: The layers workloads name (the role's C(workload_layers)).
    type: list
    elements: raw
    default: []
  images:
    description:
      - How to bring the images that workloads name onto the host (the role's C(workload_images)), checked here as
        M(anatomy.containers.image) checks them.
      - Workloads whose images the host lacks are checked but not planned - the result's C(images_missing) names the
        images, and the role pulls them and plans again.
    type: list
    elements: raw
    default: []
  images_found:
    description:
      - Images as M(anatomy.containers.image) reported them (its C(after)), taken as on the host - how check mode plans
        workloads from images it has not pulled.
    type: list
    elements: raw
    default: []
  state_root:
    description: Where layers, volumes, workloads and the workloads' resolv.conf live.
    type: str
    default: /var/lib/anatomy
  backend:
    description: The netfilter backend of M(anatomy.containers.nat_masquerade) and M(anatomy.containers.port_forward).
    type: str
    choices: [auto, nftables, iptables]
    default: auto
  dns_servers:
    description: Nameservers for the workloads; empty - the host's own, as Docker picks them.
    type: list
    elements: str
    default: []
  packages:
    description: The packages a container host needs; not given - the default of the host's OS family.
    type: list
    elements: str
  install_packages:
    description: Whether the role installs O(packages).
    type: bool
    default: true
  state:
    description: V(absent) plans the removal of every network.
    type: str
    choices: [present, absent]
    default: present
  purge_volumes:
    description: Whether volume data of workloads that go is deleted.
    type: bool
    default: false
  preview:
    description: Run M(anatomy.containers.preview); V(false) takes every module task as one that changes something.
    type: bool
    default: true
  handover:
    description: The result of this action in the container_host role of the same play; reused when it planned the
      same workloads.
    type: dict
extends_documentation_fragment:
  - anatomy.containers._attributes
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  check_mode:
    support: full
    details: Changes nothing in any mode; in check mode the preview runs in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: anatomy.containers.preview
"""

EXAMPLES = r"""
- name: Plan the host's networks and workloads
  anatomy.containers.host_plan:
    role: container_host
    networks: [{name: ctbr0, subnet: 10.88.0.0/16}]
    workloads:
      - {name: web, network: ctbr0, layers: [busybox], command: [/bin/busybox, httpd, -f]}
    layers: [{name: busybox, busybox: true}]
  register: plan
"""

RETURN = r"""
tasks:
  description:
    - The parameters of each module task of the role, by task id (bridges, nat, netns, veth, addresses,
      published_ports, layers, root_filesystems, volumes, services).
    - The C(config) of a task that is not in RV(would_change) is left out, since that task does not run (the
      C(config) of C(services) and C(root_filesystems) is always there, for the removal of workloads).
  returned: success
  type: dict
would_change:
  description: The ids of the tasks that would change something.
  returned: success
  type: list
  elements: str
errors:
  description: Every problem found, one line each.
  returned: failure
  type: list
  elements: str
packages_missing:
  description: The packages to install.
  returned: success
  type: list
  elements: str
seccomp_profile_missing:
  description:
    - Whether Docker's default seccomp profile, which workloads run under, is to be taken from its Debian package
      (see RV(seccomp_profile) and RV(seccomp_package)).
  returned: success
  type: bool
seccomp_profile:
  description: Where workloads find Docker's default seccomp profile.
  returned: success
  type: str
  sample: /usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
seccomp_package:
  description: The Debian package Docker's default seccomp profile is taken from (that one file).
  returned: success
  type: str
  sample: golang-github-docker-docker-dev
resolv_conf:
  description: The workloads' resolv.conf.
  returned: success
  type: str
address_record:
  description: The address of every workload by network, those being removed included.
  returned: workloads are planned
  type: dict
removed:
  description: Workloads of the last run that are no longer listed.
  returned: workloads are planned
  type: list
  elements: str
"""
