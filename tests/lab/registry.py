# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab's OCI registry: Debian's docker-registry (the reference registry) inside the lab namespace, over TLS.

Two processes of it, on the lab router's address, share one storage directory (so an image pushed once is
there on both listeners; the blob descriptor cache is off, so neither serves stale answers about the other's
writes):

    registry.lab:5000   198.18.0.1:5000, no authentication
    registry.lab:5001   198.18.0.1:5001, HTTP basic authentication (htpasswd, bcrypt): USERNAME / PASSWORD

Both present a certificate for DNS registry.lab and IP 198.18.0.1, signed by a CA of the lab (made with openssl
when the lab comes up, under ROOT/labs/NAME/registry/ca/). Every lab host resolves registry.lab to 198.18.0.1 and
has the CA at HOST_CA (it is deliberately not in the hosts' system trust store: a client trusts the registry
only when it is told to use that file). On this machine, which cannot resolve registry.lab, clients use the IP.

Files, under ROOT/labs/NAME/registry/: ca/ (ca.key, ca.crt), certs/ (the CA as ca.crt alone: a cert dir for
skopeo/containers), registry.key, registry.crt, htpasswd, config-PORT.yml, PORT.pid, PORT.log, storage/.
"""

from __future__ import annotations

import fcntl
import json
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from .oci_images import IMAGES, NO_PROXY_ENV, TestImages, push_images

NAME = 'registry.lab'
PORT = 5000
AUTH_PORT = 5001
USERNAME = 'lab'
PASSWORD = 'lab-secret'
#: Where the lab hosts have the lab CA (what the tests hand to a module as its CA file).
HOST_CA = '/etc/anatomy-lab/ca.crt'
BINARY = '/usr/bin/docker-registry'


class Registry:
    """The registry of one lab (see the module's doc). ``lab.registry``."""

    name = NAME
    port = PORT
    auth_port = AUTH_PORT
    username = USERNAME
    password = PASSWORD
    host_ca = HOST_CA

    def __init__(self, lab, address: str):
        self.lab = lab
        #: The IP address both listeners bind, the lab router's.
        self.ip = address
        self.dir = lab.dir / 'registry'
        self.ca_dir = self.dir / 'ca'
        #: The lab CA on this machine.
        self.ca_cert = self.ca_dir / 'ca.crt'
        #: A directory holding the CA alone as ca.crt: skopeo's --cert-dir/--dest-cert-dir on this machine.
        self.cert_dir = self.dir / 'certs'
        self.storage = self.dir / 'storage'
        self.images = TestImages(lab.root / 'images')
        self._processes = {}

    # -- what clients use ------------------------------------------------------
    @property
    def address(self) -> str:
        """HOST:PORT of the open listener, as lab hosts name it: registry.lab:5000."""
        return '%s:%d' % (NAME, PORT)

    @property
    def auth_address(self) -> str:
        """HOST:PORT of the listener that wants USERNAME/PASSWORD: registry.lab:5001."""
        return '%s:%d' % (NAME, AUTH_PORT)

    def reference(self, image: str, auth: bool = False) -> str:
        """The reference of IMAGE ('python:3-slim') on the registry as lab hosts name it."""
        return '%s/%s' % (self.auth_address if auth else self.address, image)

    def inventory_vars(self) -> dict:
        return {
            'registry': self.address, 'registry_auth': self.auth_address, 'registry_ip': self.ip,
            'registry_ca': HOST_CA, 'registry_username': USERNAME, 'registry_password': PASSWORD,
        }

    def hosts_line(self) -> str:
        """The /etc/hosts line of a lab host."""
        return '%s\t%s\n' % (self.ip, NAME)

    # -- life cycle --------------------------------------------------------------
    def _listeners(self):
        return ((PORT, False), (AUTH_PORT, True))

    def pidfile(self, port: int) -> Path:
        return self.dir / ('%d.pid' % port)

    def log(self, port: int) -> Path:
        return self.dir / ('%d.log' % port)

    def start(self) -> None:
        """Make the CA, the certificate and the configs, and start both listeners (see wait)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(exist_ok=True)
        self._certificates()
        htpasswd = self.dir / 'htpasswd'
        htpasswd.write_text(subprocess.run(['htpasswd', '-nbB', USERNAME, PASSWORD], check=True, capture_output=True,
                                           text=True).stdout.strip() + '\n')
        secret = secrets.token_hex(16)
        for port, auth in self._listeners():
            config = {
                'version': '0.1',
                'log': {'level': 'info', 'formatter': 'text', 'fields': {'service': 'registry', 'listener': port},
                        'accesslog': {'disabled': False}},
                # No blob descriptor cache: the other listener writes into the same storage.
                'storage': {'filesystem': {'rootdirectory': str(self.storage)}, 'delete': {'enabled': True},
                            'maintenance': {'uploadpurging': {'enabled': False}}},
                'http': {'addr': '%s:%d' % (self.ip, port), 'secret': secret,
                         'tls': {'certificate': str(self.dir / 'registry.crt'), 'key': str(self.dir / 'registry.key')},
                         'headers': {'X-Content-Type-Options': ['nosniff']}},
            }
            if auth:
                config['auth'] = {'htpasswd': {'realm': 'anatomy-lab', 'path': str(htpasswd)}}
            path = self.dir / ('config-%d.yml' % port)
            # JSON is YAML.
            path.write_text(json.dumps(config, indent=2) + '\n')
            with open(self.log(port), 'w') as log:
                process = subprocess.Popen(self.lab.netns_argv([BINARY, 'serve', str(path)]), stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                           env=NO_PROXY_ENV)
            self.pidfile(port).write_text(str(process.pid))
            self._processes[port] = process

    def _certificates(self) -> None:
        """The lab CA (once per lab), and the registry's certificate for registry.lab and its IP, signed by it."""
        self.ca_dir.mkdir(mode=0o700, exist_ok=True)
        key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
        if not self.ca_cert.is_file():
            _openssl(['req', '-x509', *key, '-keyout', str(self.ca_dir / 'ca.key'), '-out', str(self.ca_cert),
                      '-days', '3650', '-subj', '/O=anatomy lab/CN=anatomy lab %s CA' % self.lab.name,
                      '-addext', 'basicConstraints=critical,CA:TRUE',
                      '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
            self.ca_cert.chmod(0o644)
        self.cert_dir.mkdir(exist_ok=True)
        shutil.copyfile(self.ca_cert, self.cert_dir / 'ca.crt')
        csr = self.dir / 'registry.csr'
        _openssl(['req', '-new', *key, '-keyout', str(self.dir / 'registry.key'), '-out', str(csr),
                  '-subj', '/O=anatomy lab/CN=' + NAME])
        extensions = self.dir / 'registry.ext'
        extensions.write_text('subjectAltName=DNS:%s,IP:%s\nbasicConstraints=critical,CA:FALSE\n'
                              'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' % (NAME, self.ip))
        _openssl(['x509', '-req', '-in', str(csr), '-CA', str(self.ca_cert), '-CAkey', str(self.ca_dir / 'ca.key'),
                  '-set_serial', '0x' + secrets.token_hex(8), '-days', '825', '-extfile', str(extensions),
                  '-out', str(self.dir / 'registry.crt')])
        csr.unlink()
        extensions.unlink()

    def pids(self) -> list:
        """The listeners' process ids, from their pid files (Lab.down stops them)."""
        pids = []
        for port in (PORT, AUTH_PORT):
            try:
                pids.append(int(self.pidfile(port).read_text()))
            except (OSError, ValueError):
                pass
        return pids

    def wait(self, timeout: float = 30) -> None:
        """Until both listeners answer over TLS with the lab CA (from the lab namespace, as registry.lab)."""
        deadline = time.monotonic() + timeout
        for port, auth in self._listeners():
            expected = '401' if auth else '200'
            while True:
                process = self._processes.get(port)
                if process is not None and process.poll() is not None:
                    raise RuntimeError('the lab registry on port %d exited; see %s:\n%s'
                                       % (port, self.log(port), self.log(port).read_text()[-2000:]))
                code = self.curl('/v2/', port=port).stdout.strip()
                if code == expected:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError('the lab registry on port %d does not answer (%r); see %s'
                                       % (port, code, self.log(port)))
                time.sleep(0.1)

    def curl(self, path: str, port: int = PORT, auth: bool = False, extra=()) -> subprocess.CompletedProcess:
        """curl https://registry.lab:PORT/PATH from the lab namespace, trusting the lab CA (with USERNAME/PASSWORD if
        AUTH). Its stdout is the HTTP status unless EXTRA says otherwise; it is not checked."""
        argv = ['curl', '-sS', '-m', '5', '--noproxy', '*', '--cacert', str(self.ca_cert),
                '--resolve', '%s:%d:%s' % (NAME, port, self.ip), '-o', '/dev/null', '-w', '%{http_code}', *extra]
        if auth:
            argv += ['-u', '%s:%s' % (USERNAME, PASSWORD)]
        return subprocess.run(self.lab.netns_argv(argv + ['https://%s:%d%s' % (NAME, port, path)]), check=False,
                              capture_output=True, text=True, env=NO_PROXY_ENV)

    # -- test images -------------------------------------------------------------
    def push_test_images(self, log=print) -> dict:
        """Build the OCI test images unless cached (see oci_images), and push them all into this registry, once per
        lab: a second call returns at once. Returns {"NAME:TAG": reference on the open listener}; every image is
        on the authenticated listener as well (same storage)."""
        images = self.images.ensure(log=log)
        marker = self.dir / 'pushed.json'
        with open(self.dir / '.push.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (marker.is_file() and json.loads(marker.read_text()).get('images') == str(images)):
                # Pushed by IP: this machine does not resolve registry.lab; the certificate names the IP as well.
                seconds = push_images(self.images, self.cert_dir, '%s:%d' % (self.ip, PORT), self.lab.netns_argv,
                                      log=log)
                marker.write_text(json.dumps({'images': str(images), 'seconds': round(seconds, 2)}) + '\n')
        return {'%s:%s' % image: self.reference('%s:%s' % image) for image in IMAGES}


def _openssl(argv: list) -> None:
    result = subprocess.run(['openssl', *argv], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError('openssl %s failed: %s' % (argv[0], result.stderr.strip()))
