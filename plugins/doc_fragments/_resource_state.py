# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private documentation fragment: names starting with _ may change without notice.


class ModuleDocFragment(object):
    # The state option and the return values shared by every resource module.
    DOCUMENTATION = r"""
options:
  state:
    description:
      - V(merged) creates what O(config) lists, or updates the options given for it, and leaves everything else alone.
      - V(replaced) makes each listed object exactly as given; options not given take their defaults.
      - V(overridden) is V(replaced), and also removes every object of this kind that this collection owns and
        O(config) does not list.
      - V(deleted) removes the listed objects; with no O(config), every object of this kind that this collection owns.
      - V(gathered) reads and returns the objects of this kind that this collection owns, and changes nothing.
      - Objects are owned when this collection marked them at creation. Objects made by a person or another tool are
        never changed or removed; listing one by its name is an error.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered]
    default: merged
"""
