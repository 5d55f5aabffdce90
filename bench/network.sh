#!/usr/bin/env bash
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The network benchmark (bench/network.py): modules vs a shell loop of ip commands vs the CNI bridge plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/network.py "$@"
