#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image
short_description: OCI images on the host, their layers unpacked once and shared by every workload
version_added: 0.2.0
description:
  - Brings each listed image onto the host, as C(docker pull) or C(docker load) do, with C(skopeo). It comes from a
    registry by tag or by digest, or from an OCI image layout, an C(oci-archive) or a C(docker-archive) tarball
    (C(docker save) output) on the host.
  - Layers go into a content-addressed store, O(state_root)C(/images/layers/HEX), named by their diff ID (the digest
    of the uncompressed layer). Each layer is unpacked once and shared by every image and workload that uses it; an
    image that shares layers with one already on the host unpacks only the new ones.
  - The blob of each layer is checked against its digest and the unpacked tar against the diff ID the image's config
    gives. A layer is unpacked under a temporary name and renamed when whole, after the data is synced, so an
    interrupted pull leaves nothing a later run would trust; its left-overs are removed by the next run.
  - The OCI layer format becomes what overlayfs reads, as Docker's overlay2 driver does. A whiteout C(.wh.NAME)
    becomes a 0/0 character device, an opaque directory marker C(.wh..wh..opq) the C(trusted.overlay.opaque) xattr.
    Hard links, symlinks, device nodes, FIFOs, modes (setuid included), owners, xattrs (file capabilities included)
    and timestamps are kept.
  - A layer entry whose path leaves the layer (C(..), or a parent that is a symlink) is refused, as is an entry of a
    type a root filesystem cannot hold; symlink targets are kept as they are (they are resolved inside the
    container). A refused or corrupt layer leaves nothing behind.
  - The image's config (Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts, Volumes) is kept in the image's record
    for the P(anatomy.containers.workload#role) role, which runs a workload from O(config[].name) with the image's
    layers as the lower dirs of its root filesystem.
  - Every name of the list is handled in one task. A name is the key; several names may point at one image (its
    ID is the digest of its config, as Docker's image IDs).
  - A missing image is looked up in its source before anything is pulled, in check mode too. An unknown image or
    tag, a registry that does not answer, wrong credentials or a digest that does not match fail the task before
    any image is pulled, and check mode reports the image's config and layers as they would be.
  - Images and layers are removed only when asked (O(state=deleted) or O(prune=true)), and never a layer that a
    mounted overlay (a running workload's root filesystem) uses.
author:
  - anatomy.containers developers (@anatomy-containers)
requirements:
  - Linux; C(skopeo) on the host (Debian package C(skopeo)); C(zstd) for zstd-compressed layers
extends_documentation_fragment:
  - anatomy.containers._attributes
  - anatomy.containers._attributes.RESOURCE
  - anatomy.containers._resource_state
options:
  config:
    description:
      - The images, each identified by O(config[].name).
      - With O(state=deleted), the names to remove; an image left with no name is removed with the layers no other
        image uses. Without O(config), every image.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The image's reference, as C(docker pull) takes it, C([REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:HEX]),
            for example C(registry.example:5000/python:3-slim). A name without a registry is Docker Hub's.
          - For the C(oci), C(oci-archive) and C(docker-archive) sources it is the name the image gets on the host.
          - Required in every item.
        type: str
      source:
        description:
          - Where the image comes from. V(registry) pulls O(config[].name). V(oci) imports the single image of the OCI
            image layout directory O(config[].path), V(oci-archive) that of a tarball of one, V(docker-archive) the
            single image of a C(docker save) tarball.
          - Defaults to V(registry).
        type: str
        choices: [registry, oci, oci-archive, docker-archive]
      path:
        description:
          - The directory or tarball on the host for the C(oci), C(oci-archive) and C(docker-archive) sources.
        type: path
      digest:
        description:
          - The manifest digest the image must have, C(sha256:HEX). With the registry source the image is pulled by
            this digest. A digest in O(config[].name) does the same.
          - An image on the host with another digest is pulled again.
        type: str
      username:
        description:
          - The user to log in to the registry as. It is handed to skopeo in a temporary auth file, never on a
            command line.
        type: str
      password:
        description:
          - The password of O(config[].username).
        type: str
      ca_file:
        description:
          - A CA certificate (PEM) on the host that the registry's TLS certificate must chain to, in addition to the
            host's trusted CAs.
        type: path
      insecure:
        description:
          - Do not verify the registry's TLS certificate, and allow plain HTTP. Only for registries you trust by
            other means.
          - Defaults to V(false).
        type: bool
      pull:
        description:
          - V(missing) pulls an image only when the name is not on the host (or its layers are not all there), as
            C(docker run) does. V(always) asks the source each run and pulls when it holds another image than the one
            on the host (for a registry, another manifest digest); the task changes only then.
          - Defaults to V(missing).
        type: str
        choices: [missing, always]
  state_root:
    description:
      - The state root of the host; the store is its C(images) directory.
    type: path
    default: /var/lib/anatomy
  prune:
    description:
      - Also remove every layer that no image on the host names and no mounted overlay uses, and what an
        interrupted pull left. Images are never pruned, only layers.
    type: bool
    default: false
  timeout:
    description:
      - Seconds one skopeo command (a lookup, a copy) may take.
    type: int
    default: 600
"""

EXAMPLES = r"""
- name: Pull the python image from the lab's registry, trusting the lab's CA
  anatomy.containers.image:
    config:
      - name: registry.lab:5000/python:3-slim
        ca_file: /etc/anatomy-lab/ca.crt

- name: Pull by digest, with credentials, and import a docker save tarball under a name of our own
  anatomy.containers.image:
    config:
      - name: registry.example:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        username: deploy
        password: "{{ registry_password }}"
      - name: local/tools:1.0
        source: docker-archive
        path: /srv/images/tools.tar

- name: Keep exactly these images, and remove the layers nothing uses any more
  anatomy.containers.image:
    config:
      - name: registry.lab:5000/python:3-slim
        ca_file: /etc/anatomy-lab/ca.crt
    state: overridden
    prune: true

- name: List the images and their layers
  anatomy.containers.image:
    state: gathered
  register: images
"""

RETURN = r"""
before:
  description: The image names on the host before the run, each with its image.
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: []
after:
  description:
    - The image names after the run (in check mode, as they would be, from the source's config).
    - C(id) is the digest of the image's config, C(digest) the manifest digest on the host, C(repo_digest) the
      digest the registry gave for the name, C(layers) the diff IDs bottom first, C(config) what a workload takes
      from the image, C(complete) whether every layer is in the store.
  returned: when O(state) is not V(gathered)
  type: list
  elements: dict
  sample: [{"name": "registry.lab:5000/python:3-slim", "id": "sha256:6f1c...", "digest": "sha256:99a0...",
            "repo_digest": "sha256:99a0...", "layers": ["sha256:1d2e...", "sha256:7a8b..."], "architecture": "amd64",
            "config": {"Cmd": ["python3", "-m", "http.server", "8080"], "WorkingDir": "/srv/www"}, "complete": true}]
gathered:
  description: The image names on the host, in the shape of RV(after).
  returned: when O(state=gathered)
  type: list
  elements: dict
  sample: []
pruned_layers:
  description: The diff IDs of the layers removed (in check mode, that would be removed) as no longer used.
  returned: when O(state) is not V(gathered)
  type: list
  elements: str
  sample: ["sha256:1d2e3f..."]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.anatomy.containers.plugins.module_utils._images import IMAGE_ARGUMENT_SPEC, run_image


def main():
    module = AnsibleModule(argument_spec=IMAGE_ARGUMENT_SPEC, supports_check_mode=True)
    run_image(module)


if __name__ == '__main__':
    main()
