#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: overlay_mount
short_description: Overlay filesystems, a container root filesystem of read-only layers under a writable one
version_added: 0.1.0
description:
  - Mounts overlayfs as Docker's overlay2 driver does for a container's root filesystem, read-only lower layers
    (shared between containers) under one writable upper layer, with copy-on-write.
  - Every option is checked before anything changes, the missing upper, work and merged directories are created
    (on one filesystem), and the overlay is mounted with mount(2) from the module's own process.
  - An overlay is owned by this collection when a record under C(/run/anatomy/mounts) names it and
    C(/proc/self/mountinfo) still shows it with the layers recorded; any other mount point is never touched.
  - A mounted overlay whose layers or options changed is unmounted and mounted again, only when nothing uses it
    (no process has a file, a directory or a mapping in it, and nothing is mounted on it); otherwise the task fails,
    unless O(lazy_unmount=true).
  - In check mode, a lower layer that does not exist yet is taken to be one an earlier task of the same run
    builds (M(anatomy.containers.layer)), and the task reports the overlay it would mount instead of failing. A real
    run still fails on a missing layer.
  - Many layers. When the mount options do not fit in the one page mount(2) takes, the new mount API passes one
    C(lowerdir+) per layer (Linux 6.8); on older kernels short links under C(/run/anatomy/l) stand for the layers,
    as Docker's overlay2 keeps under C(l/).
author:
  - anatomy.containers developers (@anatomy-containers)
requirements:
  - Linux with overlayfs, as root
extends_documentation_fragment:
  - anatomy.containers._attributes
  - anatomy.containers._attributes.RESOURCE
  - anatomy.containers._resource_state
  - anatomy.containers._restore_record
options:
  config:
    description:
      - The overlays.
    type: list
    elements: dict
    suboptions:
      path:
        description:
          - Where the merged view is mounted. An absolute path without C(.), C(..), symlinks or a trailing C(/).
          - Created when missing. Required in every item.
        type: path
      lower:
        description:
          - The read-only layers, topmost first, as C(lowerdir=) takes them. Each must exist.
          - Required for a new overlay. Paths with C(,), C(:) or C(\) are refused.
        type: list
        elements: path
      upper:
        description:
          - The writable layer. Created when missing. With O(config[].work); with neither, the overlay is read-only
            and needs at least two lower layers.
          - Refused on a filesystem overlayfs cannot use as its upper layer (an overlay, as the root of a container
            often is; xfs formatted without d_type; NFS; a read-only mount).
        type: path
      work:
        description:
          - overlayfs' work directory, on the same filesystem as O(config[].upper). Created when missing.
        type: path
      options:
        description:
          - Further mount options, for instance V(nosuid), V(nodev), V(ro), V(index=off), V(redirect_dir=on).
        type: list
        elements: str
  purge:
    description:
      - With O(state=deleted) or O(state=overridden), also remove the upper and work directories of the overlays
        unmounted, and every directory the module created for them (for instance a container's own directory
        above its merged, upper and work directories), deepest first and only when empty (what someone else put
        there keeps its directory). Removing an overlay and making it again then starts from its lower layers,
        as C(docker rm) then C(docker run) starts from the image.
      - Nothing is ever removed through a mount point. When anything is mounted below the upper or work
        directory (a volume, say), the task fails before it changes anything.
      - Without it they stay, with the writes made through the overlay; only the merged directory is removed,
        when the module created it.
    type: bool
    default: false
  lazy_unmount:
    description:
      - Unmount an overlay that is still in use by detaching it (C(umount -l)); what uses it keeps the old view.
      - Without it, an overlay in use is never unmounted and the task fails, naming what uses it.
    type: bool
    default: false
notes:
  - The records live on tmpfs, as the mounts do; both are gone after a reboot.
seealso:
  - module: anatomy.containers.bind_volume
  - name: overlayfs
    description: The kernel's documentation of overlayfs.
    link: https://docs.kernel.org/filesystems/overlayfs.html
"""

EXAMPLES = r"""
- name: Root filesystems of two containers over the same image layers
  anatomy.containers.overlay_mount:
    config:
      - path: /var/lib/anatomy/containers/web/merged
        lower: [/var/lib/anatomy/layers/app, /var/lib/anatomy/layers/base]
        upper: /var/lib/anatomy/containers/web/upper
        work: /var/lib/anatomy/containers/web/work
      - path: /var/lib/anatomy/containers/api/merged
        lower: [/var/lib/anatomy/layers/app, /var/lib/anatomy/layers/base]
        upper: /var/lib/anatomy/containers/api/upper
        work: /var/lib/anatomy/containers/api/work
        options: [nodev, nosuid]

- name: A read-only view of two layers
  anatomy.containers.overlay_mount:
    config:
      - path: /var/lib/anatomy/views/base
        lower: [/var/lib/anatomy/layers/app, /var/lib/anatomy/layers/base]

- name: Unmount a container's root filesystem and throw its writable layer away
  anatomy.containers.overlay_mount:
    config:
      - path: /var/lib/anatomy/containers/web/merged
    state: deleted
    purge: true
"""

RETURN = r"""
before:
  description: The owned overlays before the run.
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: []
after:
  description: The owned overlays after the run (in check mode, as they would be).
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"path": "/var/lib/anatomy/c1/merged", "lower": ["/var/lib/anatomy/layers/base"],
            "upper": "/var/lib/anatomy/c1/upper", "work": "/var/lib/anatomy/c1/work", "options": []}]
gathered:
  description: The owned overlays, in the shape of O(config).
  returned: when O(state=gathered)
  type: list
  elements: dict
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._mounts_resources import OVERLAY_MOUNT_ARGUMENT_SPEC, run_overlay_mount


def main():
    module = AnsibleModule(argument_spec=OVERLAY_MOUNT_ARGUMENT_SPEC, supports_check_mode=True)
    run_overlay_mount(module)


if __name__ == '__main__':
    main()
