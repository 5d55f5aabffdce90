# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: workload_plan
short_description: Plan a host's workloads as the config lists of this collection's modules
version_added: 0.1.0
description:
  - Takes the workload definitions of one host and its networks and returns, for each module the
    P(anatomy.containers.workload#role) role calls, the list to pass as its O(config), plus the addresses
    allocated.
  - Used by the P(anatomy.containers.workload#role) role; its output is not a stable interface.
options:
  _input:
    description: The workloads (the role's O(workload_list)).
    type: list
    elements: dict
    required: true
  networks:
    description: The host's networks (O(container_host_networks)).
    type: list
    elements: dict
    required: true
  state_root:
    description: Where workload directories live.
    type: path
    required: true
  previous_addresses:
    description: The allocations of the last run, so every workload keeps its address.
    type: dict
  resolv_conf:
    description: The content of every workload's C(/etc/resolv.conf).
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Plan
  ansible.builtin.set_fact:
    plan: "{{ workload_list | anatomy.containers.workload_plan(container_host_networks, '/var/lib/anatomy') }}"
"""

RETURN = r"""
_value:
  description: The plan, with keys addresses, netns, veth, netns_addr, published_ports, overlays, volumes, services.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.anatomy.containers.plugins.module_utils._workload_plan import PlanError, plan


def workload_plan(workloads, networks, state_root, previous_addresses=None, resolv_conf=''):
    try:
        return plan(workloads, networks, state_root, previous_addresses, resolv_conf)
    except (PlanError, KeyError, ValueError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {'workload_plan': workload_plan}
