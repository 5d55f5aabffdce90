#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: netns
short_description: Named network namespaces, compatible with C(ip netns)
version_added: 0.1.0
description:
  - Creates and removes named network namespaces, bind-mounted at C(/run/netns/NAME) as C(ip netns add) does, so
    C(ip netns exec NAME) and C(ip -n NAME) work on them.
  - A new namespace has its loopback interface up, and a namespace of this collection whose loopback was taken down
    is brought back up.
  - A namespace is owned by this collection when the alias of its C(lo) is C(anatomy.containers:netns); this module
    writes it at creation. A namespace made by C(ip netns add) or another tool is never changed or removed.
  - Everything happens in the module's own process through netlink and system calls; no helper process is started per
    namespace.
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
      - The namespaces.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The namespace's name, the file C(/run/netns/NAME). No C(/), not C(.) or C(..), at most 255 bytes.
          - Required in every item.
        type: str
notes:
  - Removing a namespace removes the links in it once no process uses it any more (the peers of veth pairs go, and so
    do the pairs).
seealso:
  - module: anatomy.containers.veth
  - module: anatomy.containers.netns_addr
"""

EXAMPLES = r"""
- name: Two namespaces for workloads
  anatomy.containers.netns:
    config:
      - name: web
      - name: db

- name: Exactly these namespaces, removing any other the collection made
  anatomy.containers.netns:
    config:
      - name: web
    state: overridden

- name: Which namespaces does the collection own?
  anatomy.containers.netns:
    state: gathered
  register: namespaces

- name: Remove every namespace the collection made
  anatomy.containers.netns:
    state: deleted
"""

RETURN = r"""
before:
  description: The owned namespaces before the run.
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"name": "web"}]
after:
  description: The owned namespaces after the run (in check mode, as they would be).
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"name": "db"}, {"name": "web"}]
gathered:
  description: The owned namespaces, in the shape of O(config).
  returned: when O(state=gathered)
  type: list
  elements: dict
  sample: [{"name": "web"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._netlink_resources import NETNS_ARGUMENT_SPEC, run_netns


def main():
    module = AnsibleModule(argument_spec=NETNS_ARGUMENT_SPEC, supports_check_mode=True)
    run_netns(module)


if __name__ == '__main__':
    main()
