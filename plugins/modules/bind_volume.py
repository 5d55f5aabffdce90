#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: bind_volume
short_description: Bind mounts of managed volumes and host paths into a container's root filesystem
version_added: 0.1.0
description:
  - Bind-mounts a managed volume (a directory kept under O(volumes_root), as Docker keeps
    C(/var/lib/docker/volumes/NAME/_data)) or a host path onto a target inside a root filesystem.
  - The target is resolved inside the root filesystem and never followed out of it by a symlink (the class of
    escape behind runc's CVE-2021-30465), with C(openat2(RESOLVE_IN_ROOT)) where the kernel has it and a walk one
    component at a time elsewhere; the mount is made onto that very directory through its file descriptor. Missing
    directories of the target are created inside the root filesystem (a file, when the source is a file).
  - A read-only bind is remounted read-only (every mount it brought along, when recursive) and checked; shared and
    slave propagation are refused when the source's mount cannot propagate (they would silently end up private,
    runc#5390), and the result is checked.
  - A bind mount in place is never mounted again on a re-run; a change of read-only or propagation is made in place,
    a change of source unmounts it first (only when nothing uses it, unless O(lazy_unmount=true)).
  - With O(config[].content), the module writes the source file itself before binding it, as a container engine
    writes a container's C(/etc/hosts), C(/etc/hostname) and C(/etc/resolv.conf); one task writes and binds them all.
    A changed content is written in place, into the very file the bind mount shows, with no remount.
  - In check mode, a O(config[].root) that does not exist yet is taken to be one an earlier task of the same run
    makes (the merged directory M(anatomy.containers.overlay_mount) mounts), and the task reports the binds it would
    make instead of failing. A real run still fails when the root is missing.
  - A bind mount is owned by this collection when a record under C(/run/anatomy/mounts) names it and it is still
    mounted. A volume is owned when this collection created its directory, which then holds C(anatomy.json).
author:
  - anatomy.containers developers (@anatomy-containers)
requirements:
  - Linux, as root
extends_documentation_fragment:
  - anatomy.containers._attributes
  - anatomy.containers._attributes.RESOURCE
  - anatomy.containers._resource_state
  - anatomy.containers._restore_record
options:
  config:
    description:
      - The bind mounts, each identified by O(config[].root) and O(config[].target).
    type: list
    elements: dict
    suboptions:
      target:
        description:
          - The mount point, a path inside O(config[].root). Required in every item.
        type: str
      root:
        description:
          - The root filesystem O(config[].target) lives in, for instance a container's merged overlay.
          - Defaults to V(/).
        type: path
      volume:
        description:
          - The name of a managed volume, kept in O(volumes_root)C(/NAME/_data) and created when missing.
          - Names with C(/), C(.) or C(..), NUL or over 255 bytes are refused. Exclusive with O(config[].source).
        type: str
      source:
        description:
          - A host path (directory or file) to bind instead of a volume. Exclusive with O(config[].volume).
          - It must exist, unless O(config[].content) is given.
        type: path
      content:
        description:
          - The content of the file O(config[].source), which the module writes before binding it. Only with
            O(config[].source), never with O(config[].volume).
          - O(config[].source) then need not exist; missing directories above it are created with mode V(0755) and
            a missing file with mode V(0644). It must not be a directory or anything but a regular file.
          - When the file's content differs, the file is truncated and written in place, never replaced by a
            rename, so that a bind mount of it shows the new content at once, also a read-only one (the file is
            written through O(config[].source) on the host). A change of content alone never unmounts or remounts.
          - The file is read on every run and its actual content reported (V(null) when it is missing or
            unreadable), so a file edited by hand is written again. A file replaced by another one at
            O(config[].source) (by a rename, as C(sed -i) and many editors do) is no longer the one the bind
            mount shows; it is reported as V(null), and then written and bound again.
          - Binds that share a source file must give it the same content.
          - Deleting the bind mount unmounts it and removes the file (the module wrote it, it is the bind's own),
            with the directories the module created for it when they are empty, so that a container's directory
            can go with it. A file that another bind mount still uses as its source stays.
          - Without it, the module never writes to O(config[].source).
        type: str
      read_only:
        description:
          - Whether the mount is read-only. Defaults to V(false).
        type: bool
      propagation:
        description:
          - Mount propagation of the bind mount. Defaults to V(rprivate), as Docker's.
          - V(shared) and V(rshared) need a source on a shared mount; V(slave) and V(rslave) on a shared or slave one.
        type: str
        choices: [private, rprivate, slave, rslave, shared, rshared]
      recursive:
        description:
          - Whether mounts below the source come along (C(rbind)). Defaults to V(true).
        type: bool
      owner:
        description:
          - Owner (name or uid) of a volume's C(_data) directory. Volumes only.
        type: str
      group:
        description:
          - Group (name or gid) of a volume's C(_data) directory. Volumes only.
        type: str
      mode:
        description:
          - Permissions of a volume's C(_data) directory, in octal (V('0755')). Volumes only; when not given, a new
            volume's directory is V('0755').
        type: str
  volumes_root:
    description:
      - Where managed volumes are kept.
    type: path
    default: /var/lib/anatomy/volumes
  purge:
    description:
      - With O(state=deleted) or O(state=overridden), also delete the data of the volumes unmounted, if this
        collection created them and no other bind mount still uses them. Host sources are never deleted (files
        written from O(config[].content) are removed with their bind mount, with or without purge).
      - Without it, a volume's data is never deleted.
    type: bool
    default: false
  lazy_unmount:
    description:
      - Unmount a bind mount that is still in use by detaching it (C(umount -l)).
    type: bool
    default: false
seealso:
  - module: anatomy.containers.overlay_mount
"""

EXAMPLES = r"""
- name: A volume and the host's timezone in a container's root filesystem
  anatomy.containers.bind_volume:
    config:
      - root: /var/lib/anatomy/containers/web/merged
        target: /var/lib/postgresql/data
        volume: pgdata
        owner: "999"
        group: "999"
        mode: "0700"
      - root: /var/lib/anatomy/containers/web/merged
        target: /etc/localtime
        source: /etc/localtime
        read_only: true

- name: A container's /etc/hosts and /etc/hostname, written by the module and bind-mounted read-only
  anatomy.containers.bind_volume:
    config:
      - root: /var/lib/anatomy/containers/web/merged
        target: /etc/hosts
        source: /var/lib/anatomy/containers/web/hosts
        read_only: true
        content: |
          127.0.0.1 localhost
          ::1 localhost ip6-localhost ip6-loopback
          10.88.0.2 web
      - root: /var/lib/anatomy/containers/web/merged
        target: /etc/hostname
        source: /var/lib/anatomy/containers/web/hostname
        read_only: true
        content: |
          web

- name: Unmount the volume and delete its data
  anatomy.containers.bind_volume:
    config:
      - root: /var/lib/anatomy/containers/web/merged
        target: /var/lib/postgresql/data
    state: deleted
    purge: true
"""

RETURN = r"""
before:
  description: The owned bind mounts before the run.
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: []
after:
  description: The owned bind mounts after the run (in check mode, as they would be).
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"root": "/", "target": "/srv/data", "volume": "data", "source": null, "content": null, "read_only": false,
            "propagation": "rprivate", "recursive": true, "owner": null, "group": null, "mode": null}]
gathered:
  description:
    - The owned bind mounts, in the shape of O(config).
    - For a bind with O(config[].content), its C(content) here (as in RV(before) and RV(after)) is what its source
      file holds, or V(null) when the file is missing, unreadable or no longer the one bound.
  returned: when O(state=gathered)
  type: list
  elements: dict
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._mounts_resources import BIND_VOLUME_ARGUMENT_SPEC, run_bind_volume


def main():
    module = AnsibleModule(argument_spec=BIND_VOLUME_ARGUMENT_SPEC, supports_check_mode=True)
    run_bind_volume(module)


if __name__ == '__main__':
    main()
