# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab's upstream server: answers every GET with the address it sees the client at.

Runs in the lab's upstream namespace only, so tests can tell whether a workload's traffic was masqueraded.
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WhoAmI(BaseHTTPRequestHandler):
    def do_GET(self):
        body = (self.client_address[0] + '\n').encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stdout.write('%s %s\n' % (self.client_address[0], fmt % args))
        sys.stdout.flush()


if __name__ == '__main__':
    ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), WhoAmI).serve_forever()
