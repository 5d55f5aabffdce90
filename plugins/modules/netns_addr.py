#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: netns_addr
short_description: The addresses and routes of an interface, in a network namespace or the host's
version_added: 0.1.0
description:
  - Sets the IPv4 and IPv6 addresses of an interface, its default gateway and further routes, inside a named network
    namespace or in the host's own. Brings the interface up, and C(lo) of the namespace.
  - An object is the pair (O(config[].netns), O(config[].interface)). Only interfaces this collection owns are
    managed. An interface is owned when it is a veth end made by M(anatomy.containers.veth), or any interface but C(lo)
    in a namespace made by M(anatomy.containers.netns). A bridge's addresses belong to M(anatomy.containers.bridge).
    Naming an interface of someone else's is an error.
  - On an owned interface, every address is this module's (IPv6 link-local addresses, the kernel's own, are ignored),
    and of the routes, those with protocol number 166 in the main table, which this module adds
    (C(ip route show proto 166)). Routes the kernel adds for an address's subnet are left to the kernel.
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
      - The interfaces.
    type: list
    elements: dict
    suboptions:
      netns:
        description:
          - The named network namespace (C(/run/netns/NAME)) the interface is in. Not given, the host's namespace.
          - The namespace must exist, and the interface in it.
          - In check mode a namespace or an interface that does not exist is assumed to be made by an earlier task of
            the same run (M(anatomy.containers.netns), M(anatomy.containers.veth), which made nothing in check mode) -
            the addresses and routes are reported as they would be set. A real run fails.
        type: str
      interface:
        description:
          - The interface's name. Required in every item; C(lo) cannot be managed.
        type: str
      addresses:
        description:
          - The addresses in CIDR form, IPv4 and IPv6 (V(172.30.0.2/24), V(2001:db8:30::2/64)).
          - IPv6 addresses are added without duplicate address detection, so they work at once.
          - Defaults to none where defaults apply.
        type: list
        elements: str
      gateway:
        description:
          - The default gateway, an address inside the subnet of one of O(config[].addresses) of its family.
          - In the results, the IPv4 default route if there is one, else the IPv6 one; another default route is listed
            in O(config[].routes).
        type: str
      routes:
        description:
          - Further routes through this interface.
          - Defaults to none where defaults apply.
        type: list
        elements: dict
        suboptions:
          dst:
            description:
              - The destination network in CIDR form (V(10.1.0.0/16)), V(0.0.0.0/0) or V(::/0), or V(default) (with
                O(config[].routes[].via)).
            type: str
            required: true
          via:
            description:
              - The next hop, inside the subnet of an address of the interface, of the family of O(config[].routes[].dst).
              - Not given, the destination is reached directly on the link.
            type: str
seealso:
  - module: anatomy.containers.veth
  - module: anatomy.containers.netns
"""

EXAMPLES = r"""
- name: The workload's address and its default route via the host's address on the bridge
  anatomy.containers.netns_addr:
    config:
      - netns: web
        interface: eth0
        addresses:
          - 172.30.0.2/24
          - 2001:db8:30::2/64
        gateway: 172.30.0.1
        routes:
          - dst: "::/0"
            via: 2001:db8:30::1
          - dst: 10.99.0.0/16
            via: 172.30.0.254

- name: What is set now
  anatomy.containers.netns_addr:
    state: gathered
  register: addresses

- name: Remove the addresses and routes of one interface
  anatomy.containers.netns_addr:
    config:
      - netns: web
        interface: eth0
    state: deleted
"""

RETURN = r"""
before:
  description: The owned interfaces with addresses or routes, before the run.
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"netns": "web", "interface": "eth0", "addresses": ["172.30.0.2/24"], "gateway": "172.30.0.1",
            "routes": []}]
after:
  description: The same after the run (in check mode, as it would be).
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"netns": "web", "interface": "eth0", "addresses": ["172.30.0.2/24"], "gateway": "172.30.0.1",
            "routes": [{"dst": "10.99.0.0/16", "via": "172.30.0.254"}]}]
gathered:
  description: The owned interfaces with addresses or routes, in the shape of O(config).
  returned: when O(state=gathered)
  type: list
  elements: dict
  sample: [{"netns": "web", "interface": "eth0", "addresses": ["172.30.0.2/24"], "gateway": "172.30.0.1",
            "routes": []}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._netlink_resources import NETNS_ADDR_ARGUMENT_SPEC, run_netns_addr


def main():
    module = AnsibleModule(argument_spec=NETNS_ADDR_ARGUMENT_SPEC, supports_check_mode=True)
    run_netns_addr(module)


if __name__ == '__main__':
    main()
