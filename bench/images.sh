#!/usr/bin/env bash
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Images: the image module's pull and site.yml's workloads from one image, next to skopeo copy + umoci unpack + crun run
# of the same image, and the disk N workloads of one image take (lab "bench-img"). See bench/images_bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python3)}"
[ -x .venv/bin/python ] && PY=.venv/bin/python
export ANATOMY_COLLECTIONS_PATH="${ANATOMY_COLLECTIONS_PATH:-$PWD/.build/install}"
exec "$PY" bench/images_bench.py "$@"
