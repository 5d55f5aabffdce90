#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: veth
short_description: veth pairs between the host and a network namespace
version_added: 0.1.0
description:
  - Creates, changes and removes veth pairs. The host end lives in the host's namespace, optionally attached to a
    bridge; the peer is created directly in a named network namespace. Both ends are brought up.
  - Each pair is created with one netlink request that also moves the peer, then marked and brought up; no helper
    process is started per namespace.
  - A pair is owned by this collection when the alias of its host end is C(anatomy.containers:veth) (the peer's is
    C(anatomy.containers:veth-peer)); this module writes both at creation. A link of the host end's name made by
    anyone else is an error, never taken over.
  - Attaching the host end to another bridge, or detaching it, changes it in place. Giving the peer another name or
    another namespace recreates the pair there (addresses inside the namespace go with the old peer; run
    M(anatomy.containers.netns_addr) after this module).
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
      - The veth pairs.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The host end's interface name, 1 to 15 bytes, no C(/), C(:) or white space. Identifies the pair; required
            in every item.
        type: str
      peer:
        description:
          - The peer's interface name (for instance V(eth0)), the same rules. Required for a new pair.
        type: str
      netns:
        description:
          - The named network namespace (C(/run/netns/NAME)) the peer lives in.
          - When it does not exist the module fails, unless O(create_netns=true). In check mode it is assumed to be made
            by an earlier task of the same run (M(anatomy.containers.netns), which made nothing in check mode) - the pair
            is reported as it would be made.
          - Not given for a new pair, or with O(state=replaced) or O(state=overridden), the peer stays in the host's
            namespace.
        type: str
      bridge:
        description:
          - The bridge the host end is attached to. It must exist; it may be any bridge, not only one of this
            collection's. In check mode a bridge that does not exist is assumed to be made by an earlier task of
            the same run (M(anatomy.containers.bridge)).
          - Not given where defaults apply, the host end is on no bridge.
        type: str
      mtu:
        description:
          - The MTU of both ends, 68 to 65535. Defaults to V(1500) where defaults apply.
        type: int
      peer_mac:
        description:
          - The peer's MAC address (V(02:42:ac:1e:00:02)); compared in lower case.
          - Not given, the kernel picks one and the module leaves it as it is.
        type: str
  create_netns:
    description:
      - Create a peer's namespace that does not exist, as M(anatomy.containers.netns) would (owned by this collection,
        C(lo) up), instead of failing.
    type: bool
    default: false
notes:
  - On a host running systemd-networkd, its stock C(80-container-ve.network) configures every veth named C(ve-*)
    (addresses from a pool, a DHCP server, router advertisements), as it does for C(systemd-nspawn). Name host ends
    otherwise (C(vh-web)), or tell networkd to leave them alone.
seealso:
  - module: anatomy.containers.netns
  - module: anatomy.containers.bridge
  - module: anatomy.containers.netns_addr
"""

EXAMPLES = r"""
- name: A pair per workload, the peer named eth0 in the workload's namespace, the host end on the bridge
  anatomy.containers.veth:
    config:
      - name: vh-web
        peer: eth0
        netns: web
        bridge: ac0
        peer_mac: "02:42:ac:1e:00:02"
      - name: vh-db
        peer: eth0
        netns: db
        bridge: ac0

- name: Move a pair to another bridge
  anatomy.containers.veth:
    config:
      - name: vh-db
        bridge: ac1

- name: Create the namespaces too
  anatomy.containers.veth:
    config:
      - name: vh-cache
        peer: eth0
        netns: cache
    create_netns: true

- name: Remove every pair the collection made
  anatomy.containers.veth:
    state: deleted
"""

RETURN = r"""
before:
  description: The owned pairs before the run.
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"name": "vh-web", "peer": "eth0", "netns": "web", "bridge": "ac0", "mtu": 1500,
            "peer_mac": "02:42:ac:1e:00:02"}]
after:
  description: The owned pairs after the run (in check mode, as they would be).
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"name": "vh-web", "peer": "eth0", "netns": "web", "bridge": "ac0", "mtu": 1500,
            "peer_mac": "02:42:ac:1e:00:02"}]
gathered:
  description: The owned pairs, in the shape of O(config).
  returned: when O(state=gathered)
  type: list
  elements: dict
  sample: [{"name": "vh-web", "peer": "eth0", "netns": "web", "bridge": "ac0", "mtu": 1500,
            "peer_mac": "02:42:ac:1e:00:02"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._netlink_resources import VETH_ARGUMENT_SPEC, run_veth


def main():
    module = AnsibleModule(argument_spec=VETH_ARGUMENT_SPEC, supports_check_mode=True)
    run_veth(module)


if __name__ == '__main__':
    main()
