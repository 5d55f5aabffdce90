# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""python -m tests.lab up|down|status|image|test-images|push-images|ssh|exec|upstream: the lab from the command line."""

import argparse
import json
import os
import subprocess
import sys

from .lab import Lab


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='python -m tests.lab', description=__doc__)
    parser.add_argument('--lab', default=os.environ.get('ANATOMY_LAB', 'default'),
                        help='lab name; labs with different names coexist (default: $ANATOMY_LAB or "default")')
    sub = parser.add_subparsers(dest='command', required=True)
    up = sub.add_parser('up', help='boot a fresh lab (removing what an earlier run left)')
    up.add_argument('--hosts', type=int, default=1, help='boot N hosts h1..hN')
    up.add_argument('--host', action='append', dest='names', help='boot a host of this name (repeatable)')
    up.add_argument('--no-images', dest='images', action='store_false', default=None,
                    help="do not push the OCI test images into the lab's registry (default: $ANATOMY_LAB_IMAGES, else push)")
    sub.add_parser('down', help='stop every host, remove every namespace, mount and file of the lab')
    sub.add_parser('status', help='print the lab as JSON')
    sub.add_parser('instances', help="print Molecule's instance config for the lab's hosts (JSON, which is YAML)")
    sub.add_parser('image', help='build the host image if the cache lacks it')
    sub.add_parser('test-images', help='build the OCI test images if the cache lacks them; print where they are')
    sub.add_parser('push-images', help="push the OCI test images into the lab's registry (once per lab)")
    reboot = sub.add_parser('reboot', help='reboot a host on the same disk state')
    reboot.add_argument('host')
    reboot.add_argument('--power-cut', action='store_true', help='kill it instead of a clean halt')
    ssh = sub.add_parser('ssh', help='run a command on a host (or a shell)')
    ssh.add_argument('host')
    ssh.add_argument('cmd', nargs=argparse.REMAINDER)
    for name, where in (('exec', 'the lab namespace'), ('upstream', 'the upstream namespace')):
        runner = sub.add_parser(name, help='run a command in ' + where)
        runner.add_argument('cmd', nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    lab = Lab(args.lab)
    cmd = [c for c in getattr(args, 'cmd', None) or [] if c != '--'] if hasattr(args, 'cmd') else []

    if args.command == 'up':
        lab.up(args.names or args.hosts, images=args.images)
    elif args.command == 'down':
        lab.down()
    elif args.command == 'status':
        print(json.dumps(lab.status(), indent=2))
    elif args.command == 'instances':
        print(json.dumps([{'instance': h.name, 'address': h.address, 'user': 'root', 'port': 22,
                           'identity_file': str(lab.key)} for h in lab.hosts], indent=2))
    elif args.command == 'image':
        print(lab.image.ensure())
    elif args.command == 'test-images':
        print(lab.registry.images.ensure())
    elif args.command == 'push-images':
        print(json.dumps(lab.registry.push_test_images(), indent=2))
    elif args.command == 'reboot':
        lab.host(args.host).reboot(power_cut=args.power_cut)
    elif args.command == 'ssh':
        argv_ = lab.host(args.host).ssh_argv(' '.join(cmd)) if cmd else lab.host(args.host).ssh_argv('')[:-1]
        return subprocess.call(argv_)
    elif args.command == 'exec':
        return subprocess.call(lab.netns_argv(cmd or ['sh']))
    elif args.command == 'upstream':
        return subprocess.call(lab.netns_argv(cmd or ['sh'], lab.upstream_netns))
    return 0


if __name__ == '__main__':
    sys.exit(main())
