#!/usr/bin/env bash
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Durable hosts: a host's boot to its workloads answering next to site.yml's first run, a firewall flush to our rules
# back, and the teardown playbook next to the CNI plugins' DEL (lab "bench-dur"). See bench/durability_bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python3)}"
[ -x .venv/bin/python ] && PY=.venv/bin/python
export ANATOMY_COLLECTIONS_PATH="${ANATOMY_COLLECTIONS_PATH:-$PWD/.build/install}"
exec "$PY" bench/durability_bench.py "$@"
