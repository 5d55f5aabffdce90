#!/usr/bin/env bash
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# site.yml with 1, 10, 100 and 1,000 workloads (first run and no-change re-run) against the CNI bridge + portmap
# plugins doing the same workloads' networking, on fresh lab hosts (lab "bench-site"). See bench/site_bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python3)}"
[ -x .venv/bin/python ] && PY=.venv/bin/python
export ANATOMY_COLLECTIONS_PATH="${ANATOMY_COLLECTIONS_PATH:-$PWD/.build/install}"
exec "$PY" bench/site_bench.py "$@"
