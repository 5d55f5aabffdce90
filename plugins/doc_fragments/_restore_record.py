# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private documentation fragment: names starting with _ may change without notice.


class ModuleDocFragment(object):
    # The modules whose objects a host brings back at boot.
    DOCUMENTATION = r"""
options: {}
notes:
  - A run that is not in check mode keeps a record of every object of this kind that this collection owns afterwards,
    in C(/var/lib/anatomy/restore/), one JSON file per module, written atomically; the last object gone, the record
    goes too. The restore program that the P(anatomy.containers.container_host#role) role installs makes these objects
    again at boot (C(anatomy-restore.service)), and puts the netfilter ones back after a firewall reload or flush
    (C(anatomy-firewall.service)).
  - Run by the roles, a task runs only while no later run has planned the same host; otherwise it fails, changing
    nothing, and the later run converges the host.
"""
