# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private documentation fragment: names starting with _ may change without notice.


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
"""

    # Every resource module: check mode, diff, Linux.
    RESOURCE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: Reads the current state and reports what would change; changes nothing.
  diff_mode:
    support: full
    details: The diff shows the owned objects before and after, in the shape of O(config).
  platform:
    platforms: posix
    details: Linux only.
"""
