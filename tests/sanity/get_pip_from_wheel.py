# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stands in for get-pip.py when ansible-test --venv bootstraps pip: runs pip from its wheel.

ansible-test downloads get-pip.py from a host that some machines cannot reach; the Makefile puts
this file where ansible-test caches that script, beside the pip wheel that PyPI serves.
get-pip.py implies `install --upgrade --force-reinstall` and takes two flags pip itself does not.
"""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WHEELS = sorted(glob.glob(os.path.join(HERE, 'pip-*-py3-none-any.whl')))
if not WHEELS:
    sys.exit('no pip wheel beside %s' % __file__)
sys.path.insert(0, WHEELS[-1])

from pip._internal.cli.main import main  # noqa: E402  pylint: disable=wrong-import-position

ARGS = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
sys.exit(main(['install', '--upgrade', '--force-reinstall'] + ARGS))
