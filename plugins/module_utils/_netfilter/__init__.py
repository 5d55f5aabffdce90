# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Netfilter for anatomy.containers: the rules this collection owns, in nftables or iptables.

This is a private package of module_utils: its API may change without notice.

- :mod:`.model`: validation and canonical form of NAT networks and published ports (pure).
- :mod:`.rules`: the backend-independent rules of NAT networks (pure).
- :mod:`.nft`, :mod:`.iptables`: render, parse back, and one transaction per run (pure).
- :mod:`.engine`: backend choice, the run lock, the resources and the modules' main().
"""
