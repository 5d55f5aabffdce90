#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_masquerade
short_description: Masquerade container subnets out of the host's uplink, with their forward rules
version_added: 0.1.0
description:
  - Gives each listed container subnet a way out of the host. In V(nat) mode, traffic from the subnet leaving
    through the out interface is masqueraded (the upstream sees the host's address); in V(routed) mode it is not.
  - Adds the forward rules a subnet needs, new traffic from the subnet out of the uplink and replies
    (RELATED, ESTABLISHED) back. In V(nat) mode, other new connections into the subnet from outside the host are
    dropped unless they came through a published port (see M(anatomy.containers.port_forward)), as Docker 28 does.
    Our other networks may reach it unless one of them is isolated.
  - Within one subnet, a workload that reaches a published port of a neighbour (hairpin) is masqueraded, so the
    reply comes back through the host.
  - One transaction per run, on either backend. With nftables, everything lives in C(table ip anatomy) (this
    module owns its chains whose names start with C(nm_)); with iptables, in the chains C(ANATOMY-NM-POSTROUTING)
    (nat) and C(ANATOMY-NM-FORWARD) (filter), jumped to from the built-in chains by rules carrying the comment
    C(anatomy.containers). Nothing else is flushed, reordered or rewritten, and no built-in chain's policy is
    changed. Concurrent runs of this module and M(anatomy.containers.port_forward) on a host are serialized.
  - Sets C(net.ipv4.ip_forward=1) when at least one network is configured (reported in RV(sysctl)); it never
    sets it back to 0. With O(sysctl_file), it also keeps it for boot in that file, and removes the file when no
    network is left.
  - IPv4 only for now.
author:
  - anatomy.containers developers (@anatomy-containers)
extends_documentation_fragment:
  - anatomy.containers._attributes
  - anatomy.containers._attributes.RESOURCE
  - anatomy.containers._resource_state
  - anatomy.containers._restore_record
requirements:
  - nft (Debian package nftables) for O(backend=nftables), iptables-save and iptables-restore for O(backend=iptables)
options:
  config:
    description: The NAT networks, one per container subnet.
    type: list
    elements: dict
    suboptions:
      subnet:
        description:
          - The container subnet, canonical (no host bits), for example V(10.88.0.0/24). Identifies the entry.
        type: str
        required: true
      out_interface:
        description:
          - The interface the subnet's traffic leaves the host through.
          - Defaults to the interface of the host's IPv4 default route at the time of the run.
        type: str
      mode:
        description:
          - V(nat) masquerades traffic to the out interface and drops new connections from outside the host straight
            to the subnet unless they came through a published port.
          - V(routed) does not masquerade and accepts connections routed to the subnet.
          - Defaults to V(nat).
        type: str
        choices: [nat, routed]
      isolate:
        description:
          - Drop traffic between this subnet and every other subnet this module manages, both ways.
          - Defaults to V(false).
        type: bool
  backend:
    description:
      - Which netfilter interface to write the rules with.
      - V(auto) keeps the backend that already holds our rules (of either module). Otherwise it chooses V(iptables)
        when the iptables C(FORWARD) policy is not ACCEPT (as Docker sets it; an nftables accept in our own table
        cannot let through what another table drops) or when iptables-legacy holds rules, and V(nftables) else.
        Without C(nft) it chooses V(iptables), without iptables V(nftables).
      - When rules exist in both iptables-legacy and iptables-nft, V(auto) and V(iptables) fail rather than split
        our rules across them (moby#46147).
      - V(iptables) uses the variant that holds rules, or with none the host's own (update-alternatives).
    type: str
    choices: [auto, nftables, iptables]
    default: auto
  sysctl_file:
    description:
      - A C(sysctl.d) file that keeps C(net.ipv4.ip_forward=1) for boot while at least one network is configured,
        for instance C(/etc/sysctl.d/60-anatomy-containers.conf). It is written only when its content differs and
        removed when no network is left.
      - Its first line marks it as written by this collection; a file at that path without the mark is never
        overwritten or removed (the task fails before any change).
      - Not given, nothing is kept for boot.
    type: path
notes:
  - In check mode the rendered transaction is validated by the kernel (C(nft -c -f), C(iptables-restore --test)),
    and the diff shows the rules it would load against the rules loaded.
seealso:
  - module: anatomy.containers.port_forward
"""

EXAMPLES = r"""
- name: Masquerade the container subnet out of the default route's interface, forwarding kept for boot
  anatomy.containers.nat_masquerade:
    config:
      - subnet: 10.88.0.0/24
    sysctl_file: /etc/sysctl.d/60-anatomy-containers.conf

- name: Two networks, one isolated from the other, on an explicit uplink, with nftables
  anatomy.containers.nat_masquerade:
    backend: nftables
    config:
      - subnet: 10.88.0.0/24
        out_interface: eth0
      - subnet: 10.89.0.0/24
        out_interface: eth0
        isolate: true
    state: overridden

- name: A routed network (no masquerade; reachable from the lab network)
  anatomy.containers.nat_masquerade:
    config:
      - subnet: 10.90.0.0/24
        mode: routed

- name: Read what is configured
  anatomy.containers.nat_masquerade:
    state: gathered
  register: networks

- name: Remove every network's rules (our table or chains go when nothing of ours is left)
  anatomy.containers.nat_masquerade:
    state: deleted
"""

RETURN = r"""
before:
  description: The NAT networks before the run, in the shape of O(config).
  returned: state is not gathered
  type: list
  elements: dict
after:
  description: The NAT networks after the run (predicted in check mode).
  returned: state is not gathered
  type: list
  elements: dict
  sample: [{subnet: 10.88.0.0/24, out_interface: eth0, mode: nat, isolate: false}]
gathered:
  description: The NAT networks this collection manages.
  returned: state is gathered
  type: list
  elements: dict
backend:
  description: The backend used.
  returned: always
  type: str
  sample: nftables
rules:
  description: This module's rules after the run (rendered in check mode), as C(nft list) or C(iptables-save) shows them.
  returned: state is not gathered
  type: list
  elements: str
sysctl:
  description: The sysctls set (or that would be set in check mode).
  returned: state is not gathered
  type: list
  elements: str
  sample: [net.ipv4.ip_forward=1]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.engine import NAT_MASQUERADE_ARGUMENT_SPEC, run_nat_masquerade


def main():
    module = AnsibleModule(argument_spec=NAT_MASQUERADE_ARGUMENT_SPEC, supports_check_mode=True)
    run_nat_masquerade(module)


if __name__ == '__main__':
    main()
