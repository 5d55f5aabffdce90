#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: layer
short_description: Image layers, directories of files that overlays stack as a container's root filesystem
version_added: 0.1.0
description:
  - Builds each listed layer as the directory O(layers_root)C(/NAME), to be a lower layer of
    M(anatomy.containers.overlay_mount), as an image layer is for Docker's overlay2 driver.
  - A layer holds the files given in O(config[].files), and with O(config[].busybox=true) the host's static busybox
    with a link for each applet, the directories a root filesystem needs (C(/proc), C(/sys), C(/dev), C(/tmp) and
    more) and minimal C(/etc/passwd) and C(/etc/group) (unless O(config[].files) gives them).
  - Every layer of the list is built in one task. A file is written only when its content or mode differs, as a new
    file renamed into place; files are never written through a symlink.
  - A layer is owned by this collection when C(LAYERS_ROOT/.anatomy/NAME.json) records it (outside the layer, so the
    record never shows in a root filesystem). The record names the files this module wrote; their content and mode
    are read back from the layer on each run, so a file changed by hand is written again. A directory under
    O(layers_root) without a record is never touched.
  - Changing a layer that a mounted overlay uses changes what the overlay shows, as overlayfs documents for
    lower layers changed underneath it; a layer that a mounted overlay uses is never removed.
author:
  - anatomy.containers developers (@anatomy-containers)
requirements:
  - Linux; C(busybox-static) (or another static busybox at O(busybox_binary)) for busybox layers
extends_documentation_fragment:
  - anatomy.containers._attributes
  - anatomy.containers._attributes.RESOURCE
  - anatomy.containers._resource_state
options:
  config:
    description:
      - The layers, each identified by O(config[].name).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The layer's directory name under O(layers_root). Names with C(/), C(.) or C(..), NUL or over 255 bytes
            are refused, and so is C(.anatomy). Required in every item.
        type: str
      busybox:
        description:
          - Make it a base layer from the host's static busybox (O(busybox_binary)). The busybox is copied again when
            the host's changes. V(false) does not remove busybox from a layer that has it.
          - Defaults to V(false).
        type: bool
      files:
        description:
          - The files this module writes into the layer, its whole set; a file written by an earlier run and no longer
            listed is removed.
          - Defaults to none.
        type: list
        elements: dict
        suboptions:
          path:
            description: The file's path inside the layer, relative (a leading C(/) is ignored), without C(..).
            type: str
            required: true
          content:
            description: The file's content (text).
            type: str
            required: true
          mode:
            description: The file's mode, in octal.
            type: str
            default: '0644'
  layers_root:
    description:
      - The directory that holds the layers; created (mode C(0700)) when missing.
    type: path
    default: /var/lib/anatomy/layers
  busybox_binary:
    description:
      - The host's static busybox, for busybox layers.
    type: path
    default: /bin/busybox
"""

EXAMPLES = r"""
- name: A busybox base layer and a layer with a web site, for containers to run busybox httpd from
  anatomy.containers.layer:
    config:
      - name: busybox
        busybox: true
      - name: site
        files:
          - path: www/index.html
            content: "<h1>hello</h1>\n"
          - path: etc/motd
            content: "a container of anatomy.containers\n"
            mode: "0600"

- name: Remove every layer this collection built (refused for a layer a mounted overlay uses)
  anatomy.containers.layer:
    state: deleted
"""

RETURN = r"""
before:
  description: The owned layers before the run, with the files this module wrote as they are in the layer.
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: []
after:
  description: The owned layers after the run (in check mode, as they would be).
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"name": "site", "busybox": false, "files": [{"path": "www/index.html", "content": "<h1>hello</h1>\n",
            "mode": "0644"}]}]
gathered:
  description: The owned layers, in the shape of O(config).
  returned: when O(state=gathered)
  type: list
  elements: dict
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._layers import LAYER_ARGUMENT_SPEC, run_layer


def main():
    module = AnsibleModule(argument_spec=LAYER_ARGUMENT_SPEC, supports_check_mode=True)
    run_layer(module)


if __name__ == '__main__':
    main()
