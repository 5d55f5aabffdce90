#!/usr/bin/env bash
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Starting N workloads at once: today's units through crun against the previous design's units (RootDirectory=),
# and crun run alone, on a fresh lab host (lab "bench-rt"). See bench/runtime_bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python3)}"
[ -x .venv/bin/python ] && PY=.venv/bin/python
export ANATOMY_COLLECTIONS_PATH="${ANATOMY_COLLECTIONS_PATH:-$PWD/.build/install}"
exec "$PY" bench/runtime_bench.py "$@"
