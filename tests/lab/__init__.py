# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test lab: real Debian hosts under systemd-nspawn, in network namespaces of their own."""

from .lab import Lab, LabHost  # noqa: F401
