#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: teardown
short_description: Remove every workload, network, rule, mount, unit and file of this collection from a host, at once
version_added: 0.1.0
description:
  - Takes a host apart in one module run, in this order. Each step is the collection's own module for that kind of
    object, run in this process with its own code and told that nothing of its kind is wanted, namely
    M(anatomy.containers.workload_service) (the processes and their units),
    M(anatomy.containers.bind_volume) (what is mounted into the root filesystems),
    M(anatomy.containers.netns), M(anatomy.containers.veth), M(anatomy.containers.netns_addr),
    M(anatomy.containers.port_forward), M(anatomy.containers.overlay_mount) (with each workload's writable layer and
    directory), M(anatomy.containers.nat_masquerade) (with the IPv4 forwarding file),
    M(anatomy.containers.bridge), M(anatomy.containers.layer).
  - Then what no module owns goes, namely the workloads' directory and address record, the workloads' resolv.conf, the
    layers' build state, the restore program with its units, records and status (stopped and disabled before
    anything else, so that the firewall watch does not put rules back), our firewalld zone (firewalld reloaded if it
    runs), and empty directories of the state root.
  - Only what carries this collection's marks is touched; objects of others, of the same kinds included, stay.
  - Afterwards each kind is read again, and the module fails, naming them, when anything of ours is left.
  - The run holds the host's run lock and takes a new converge generation, so that the module tasks of a
    C(site.yml) run planned before it stop at their next task instead of making things again behind it.
  - The same removal as the roles make with empty lists (C(workload_list=[]) and C(container_host_state=absent)),
    in one task instead of some thirty (see the teardown playbook).
author:
  - anatomy.containers developers (@anatomy-containers)
requirements:
  - Linux, as root, with systemd
  - pyroute2 (for the network steps)
extends_documentation_fragment:
  - anatomy.containers._attributes
attributes:
  check_mode:
    support: full
    details: Each step runs in check mode and says what it would remove; the layers that root filesystems still
      use are listed as the real run would remove them, after it unmounted those.
  diff_mode:
    support: full
    details: Every object of ours before, by kind; nothing after.
  platform:
    platforms: posix
    details: Linux only.
options:
  state_root:
    description:
      - The state root of the host (the roles' C(container_host_state_root) and C(workload_state_root)), holding
        C(workloads/), C(layers/), C(volumes/) and C(resolv.conf).
    type: path
    default: /var/lib/anatomy
  backend:
    description:
      - The netfilter backend whose rules of ours are removed, as for M(anatomy.containers.nat_masquerade).
    type: str
    choices: [auto, nftables, iptables]
    default: auto
  purge_volumes:
    description:
      - Also delete the data of every volume of ours under O(state_root)C(/volumes), bound or not.
      - Without it, volume data is kept, as C(docker rm) keeps named volumes.
    type: bool
    default: false
  kill:
    description:
      - Kill the workloads' processes at once with SIGKILL, as C(docker rm -f) does, instead of stopping them with
        their stop signal and waiting up to their stop timeout.
    type: bool
    default: false
notes:
  - C(/run/netns) (the mount point that C(ip netns) makes) stays. It is iproute2's, shared with every user of
    C(ip netns) on the host, and on a tmpfs.
seealso:
  - module: anatomy.containers.workload_service
  - module: anatomy.containers.bridge
"""

EXAMPLES = r"""
- name: Remove everything of ours, keeping the volumes' data
  anatomy.containers.teardown:

- name: Remove everything of ours at once, volumes included, as docker rm -f -v would
  anatomy.containers.teardown:
    kill: true
    purge_volumes: true
  register: teardown

- name: Say what went
  ansible.builtin.debug:
    var: teardown.removed
"""

RETURN = r"""
removed:
  description: What went (in check mode, what would go), by kind, each object named by its module's key.
  returned: always
  type: dict
  sample: {"services": ["web"], "namespaces": ["web"], "published_ports": ["tcp 0.0.0.0 8080"],
           "overlays": ["/var/lib/anatomy/workloads/web/rootfs"], "bridges": ["ctbr0"]}
files:
  description: The paths of ours that no module owns, removed (in check mode, that would be removed).
  returned: always
  type: list
  elements: str
  sample: ["/var/lib/anatomy/workloads", "/usr/local/sbin/anatomy-restore"]
left:
  description: What of ours was still there after the removal, by kind (the module then fails).
  returned: on failure, when something was left
  type: dict
  sample: {"namespaces": ["web"]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._services import SystemctlError
from ansible_collections.anatomy.containers.plugins.module_utils._teardown import TEARDOWN_ARGUMENT_SPEC, TeardownError, teardown


def main():
    module = AnsibleModule(argument_spec=TEARDOWN_ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    try:
        result = teardown(module, params['state_root'], params['backend'], params['purge_volumes'], params['kill'],
                          module.check_mode)
    except TeardownError as exc:
        partial = dict(exc.result)
        partial.pop('before', None)
        module.fail_json(msg=str(exc), **partial)
    except (SystemctlError, OSError) as exc:
        module.fail_json(msg='teardown: %s' % exc)
    before = result.pop('before')
    if module._diff:
        result['diff'] = dict(before=before, after={})
    module.exit_json(**result)


if __name__ == '__main__':
    main()
