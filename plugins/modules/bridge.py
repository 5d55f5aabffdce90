#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: bridge
short_description: Linux bridges with their addresses, the part of Docker's C(docker0)
version_added: 0.1.0
description:
  - Creates, changes and removes Linux bridges in the host's network namespace, with their IPv4 and IPv6 addresses,
    MTU and spanning tree setting. A bridge is always brought up.
  - A bridge is owned by this collection when its alias (C(ip link show) C(alias), IFLA_IFALIAS) is
    C(anatomy.containers:bridge); this module writes it at creation. A link of that name made by anyone else is an
    error, never taken over.
  - The addresses of an owned bridge are this module's; IPv6 link-local addresses (the kernel's own) are ignored.
  - Every bridge gets a MAC address of its own when it is made (O(config[].mac)), as Docker does. A bridge with no
    MAC set takes the lowest MAC of its ports, so the gateway's MAC that running workloads have cached would change
    whenever a workload joins or leaves.
author:
  - anatomy.containers developers (@anatomy-containers)
requirements:
  - pyroute2 (Debian 12 C(python3-pyroute2) 0.7 or newer)
  - Linux, as root
extends_documentation_fragment:
  - anatomy.containers._attributes
  - anatomy.containers._attributes.RESOURCE
  - anatomy.containers._resource_state
  - anatomy.containers._restore_record
options:
  config:
    description:
      - The bridges.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The bridge's interface name, 1 to 15 bytes, no C(/), C(:) or white space. Required in every item.
        type: str
      addresses:
        description:
          - The bridge's addresses in CIDR form, IPv4 and IPv6 (V(172.30.0.1/24), V(2001:db8:30::1/64)).
          - With O(state=replaced) or O(state=overridden), or for a new bridge, defaults to none.
          - IPv6 addresses are added without duplicate address detection, so they work at once.
        type: list
        elements: str
      mtu:
        description:
          - The MTU, 68 to 65535. Defaults to V(1500) where defaults apply.
        type: int
      stp:
        description:
          - Whether the bridge runs the spanning tree protocol. Defaults to V(false) where defaults apply.
        type: bool
      mac:
        description:
          - The bridge's MAC address, unicast (V(02:00:00:00:00:01)); compared in lower case.
          - Not given for a new bridge, or with O(state=replaced) or O(state=overridden), a MAC derived from the
            name, the same on every host and every run; locally administered and unicast, and its first octet is
            never V(02), so it never equals a workload's MAC (V(02:42) and its IPv4 address).
          - It is set when the bridge is made, so the bridge keeps it whatever the MACs of its ports. A bridge of this
            collection with another MAC is changed to it.
          - With O(state=merged), not given, an existing bridge keeps its MAC.
        type: str
seealso:
  - module: anatomy.containers.veth
"""

EXAMPLES = r"""
- name: A bridge for the containers, with the host's address on it
  anatomy.containers.bridge:
    config:
      - name: ac0
        addresses:
          - 172.30.0.1/24
          - 2001:db8:30::1/64

- name: Raise the MTU, keeping the addresses
  anatomy.containers.bridge:
    config:
      - name: ac0
        mtu: 9000

- name: A bridge with a MAC of one's choosing instead of the one derived from its name
  anatomy.containers.bridge:
    config:
      - name: ac1
        mac: "02:00:5e:10:00:01"

- name: What the collection's bridges look like now
  anatomy.containers.bridge:
    state: gathered
  register: bridges

- name: Remove the bridge
  anatomy.containers.bridge:
    config:
      - name: ac0
    state: deleted
"""

RETURN = r"""
before:
  description: The owned bridges before the run.
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"name": "ac0", "addresses": ["172.30.0.1/24"], "mtu": 1500, "stp": false, "mac": "ee:3d:6a:92:fa:13"}]
after:
  description: The owned bridges after the run (in check mode, as they would be).
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"name": "ac0", "addresses": ["172.30.0.1/24", "2001:db8:30::1/64"], "mtu": 9000, "stp": false,
            "mac": "ee:3d:6a:92:fa:13"}]
gathered:
  description: The owned bridges, in the shape of O(config).
  returned: when O(state=gathered)
  type: list
  elements: dict
  sample: [{"name": "ac0", "addresses": ["172.30.0.1/24"], "mtu": 1500, "stp": false, "mac": "ee:3d:6a:92:fa:13"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._netlink_resources import BRIDGE_ARGUMENT_SPEC, run_bridge


def main():
    module = AnsibleModule(argument_spec=BRIDGE_ARGUMENT_SPEC, supports_check_mode=True)
    run_bridge(module)


if __name__ == '__main__':
    main()
