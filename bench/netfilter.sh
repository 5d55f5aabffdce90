#!/usr/bin/env bash
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Publishing 10, 100 and 1,000 ports: port_forward against ansible.builtin.iptables in a loop and against
# `iptables -C || iptables -A` per rule, on a lab host of its own (lab "nfbench"). See bench/netfilter_bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python3)}"
[ -x .venv/bin/python ] && PY=.venv/bin/python
exec "$PY" bench/netfilter_bench.py "$@"
