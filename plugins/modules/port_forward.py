#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: port_forward
short_description: Publish workload ports on the host (DNAT), reachable from the network, the host and neighbours
version_added: 0.1.0
description:
  - Publishes a port (or range) of the host to a workload's address and port (DNAT), as C(docker run -p) does,
    without a proxy process.
  - A published port works from another machine, from the host itself (127.0.0.1 and the host's own addresses,
    through DNAT in the output path) and from another workload on the same bridge (hairpin; the workload's network
    needs M(anatomy.containers.nat_masquerade), which masquerades DNATed traffic within the subnet).
  - Reaching a port from 127.0.0.1 needs C(route_localnet) on the interface towards the workload; the module sets
    C(net.ipv4.conf.<interface>.route_localnet=1) there (reported in RV(sysctl)) for ports published on
    127.0.0.0/8 or on every address. Packets from the network addressed to 127.0.0.0/8 are never forwarded
    (moby#45610), so a port published on 127.0.0.1 is reachable from the host only.
  - It also sets C(net.ipv4.ip_forward=1) while ports are published.
  - The same protocol, host address and port published twice fails, and so does a port published on every
    address (V(0.0.0.0)) and on one address too.
  - One transaction per run. With nftables, everything lives in C(table ip anatomy) (this module owns its
    objects whose names start with C(pf_)); lookups go through verdict maps keyed by address, protocol and port,
    so their cost does not grow with the number of published ports. With iptables, in the chains
    C(ANATOMY-PF-PREROUTING), C(ANATOMY-PF-OUTPUT), C(ANATOMY-PF-POSTROUTING), C(ANATOMY-PF-DNAT) (nat) and
    C(ANATOMY-PF-FORWARD) (filter), jumped to from the built-in chains by rules carrying the comment
    C(anatomy.containers). Nothing else is flushed, reordered or rewritten; no built-in chain's policy is changed.
    Concurrent runs of this module and M(anatomy.containers.nat_masquerade) on a host are serialized.
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
    description:
      - The published ports. An entry is identified by O(config[].protocol), O(config[].host_address) and
        O(config[].host_port).
    type: list
    elements: dict
    suboptions:
      protocol:
        description: The protocol. Defaults to V(tcp).
        type: str
        choices: [tcp, udp]
      host_port:
        description:
          - The host's port, or a range written V(8000-8010).
          - Written canonically (V(80), not V(80-80)), since it identifies the entry.
        type: raw
        required: true
      host_address:
        description:
          - Publish on this address of the host only, for example V(127.0.0.1).
          - Defaults to V(0.0.0.0), every address of the host.
        type: str
      destination:
        description: The workload's address.
        type: str
      destination_port:
        description:
          - The workload's port, or a range as long as O(config[].host_port)'s.
          - Defaults to O(config[].host_port).
        type: raw
      allowed_sources:
        description:
          - Only connections from these networks are forwarded; others reach the host itself on that port.
          - Defaults to V([]), any source.
        type: list
        elements: str
      comment:
        description:
          - A note stored with the rules (at most 96 letters, digits, spaces and C(_.,:;/+=@()[]-)).
          - Defaults to none.
        type: str
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
notes:
  - In check mode the rendered transaction is validated by the kernel (C(nft -c -f), C(iptables-restore --test)),
    and the diff shows the rules it would load against the rules loaded.
  - With nftables, our accept rules cannot override a drop elsewhere (for instance an iptables C(FORWARD) policy
    of DROP); O(backend=auto) takes the iptables backend on such hosts.
seealso:
  - module: anatomy.containers.nat_masquerade
"""

EXAMPLES = r"""
- name: Host port 80 to a workload's 8080, from anywhere
  anatomy.containers.port_forward:
    config:
      - host_port: 80
        destination: 10.88.0.3
        destination_port: 8080
        comment: web

- name: A range on one address, only from the lab network, and a port on 127.0.0.1 only
  anatomy.containers.port_forward:
    config:
      - protocol: udp
        host_address: 198.18.0.11
        host_port: 5000-5009
        destination: 10.88.0.4
        allowed_sources: [198.18.0.0/24]
      - host_address: 127.0.0.1
        host_port: 5432
        destination: 10.88.0.5

- name: Exactly these ports, nothing else of ours
  anatomy.containers.port_forward:
    config:
      - host_port: 443
        destination: 10.88.0.3
    state: overridden

- name: Unpublish everything
  anatomy.containers.port_forward:
    state: deleted
"""

RETURN = r"""
before:
  description: The published ports before the run, in the shape of O(config).
  returned: state is not gathered
  type: list
  elements: dict
after:
  description: The published ports after the run (predicted in check mode).
  returned: state is not gathered
  type: list
  elements: dict
  sample:
    - protocol: tcp
      host_address: 0.0.0.0
      host_port: '80'
      destination: 10.88.0.3
      destination_port: '8080'
      allowed_sources: []
      comment: web
gathered:
  description: The published ports this collection manages.
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
  sample: [net.ipv4.conf.br0.route_localnet=1]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._netfilter.engine import PORT_FORWARD_ARGUMENT_SPEC, run_port_forward


def main():
    module = AnsibleModule(argument_spec=PORT_FORWARD_ARGUMENT_SPEC, supports_check_mode=True)
    run_port_forward(module)


if __name__ == '__main__':
    main()
