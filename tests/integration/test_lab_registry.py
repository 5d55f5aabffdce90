# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab's OCI registry, from a lab host: TLS from the lab CA (and only with it), basic auth, the test images."""

import json
import shlex

import pytest

#: A cert dir for skopeo on the host: the lab CA as ca.crt, and nothing else.
CERT_DIR = '/root/lab-registry-certs'


@pytest.fixture(scope='module')
def images(lab):
    """{"NAME:TAG": reference}: pushed at lab up, or now; a second call costs nothing."""
    return lab.registry.push_test_images()


@pytest.fixture(scope='module')
def cert_dir(host, lab):
    host.run('mkdir -p %s && cp %s %s/ca.crt' % (CERT_DIR, lab.registry.host_ca, CERT_DIR))
    yield CERT_DIR
    host.run('rm -rf ' + CERT_DIR)


def inspect(host, reference, *options, check=True):
    return host.run('skopeo inspect %s docker://%s' % (' '.join(shlex.quote(o) for o in options), reference),
                    check=check)


def test_hosts_name_the_registry_and_hold_the_ca_outside_their_trust_store(lab, host):
    assert host.run('getent hosts registry.lab').stdout.split() == ['198.18.0.1', 'registry.lab']
    assert host.run('cat ' + lab.registry.host_ca).stdout == lab.registry.ca_cert.read_text()
    # The host has a system trust store, and the lab CA is not in it.
    pem_line = lab.registry.ca_cert.read_text().splitlines()[1]
    assert host.run('grep -cF %s /etc/ssl/certs/ca-certificates.crt' % shlex.quote(pem_line), check=False).stdout \
        .strip() == '0'
    plain = host.run('curl -sS -m5 -o /dev/null https://registry.lab:5000/v2/', check=False)
    assert plain.returncode == 60, plain.stderr  # the peer's certificate cannot be verified
    assert host.run('curl -sS -m5 --cacert %s https://registry.lab:5000/v2/' % lab.registry.host_ca).stdout == '{}'


def test_inventory_names_the_registry(lab):
    text = lab.inventory.read_text()
    for value in ('"registry": "registry.lab:5000"', '"registry_auth": "registry.lab:5001"',
                  '"registry_ca": "/etc/anatomy-lab/ca.crt"', '"registry_username": "lab"',
                  '"registry_password": "lab-secret"'):
        assert value in text


def test_skopeo_inspects_with_the_lab_ca(lab, host, images, cert_dir):
    found = json.loads(inspect(host, images['python:3-slim'], '--cert-dir', cert_dir).stdout)
    built = lab.registry.images.digests()['python:3-slim']
    assert found['Digest'] == built['manifest']
    assert found['Layers'] == built['layers'] and len(found['Layers']) == 3
    assert 'LANG=C.UTF-8' in found['Env']


def test_skopeo_refuses_the_registry_without_the_ca(host, images):
    result = inspect(host, images['python:3-slim'], check=False)
    assert result.returncode != 0
    assert 'x509: certificate signed by unknown authority' in result.stderr


def test_auth_listener_wants_the_right_credentials(lab, host, images, cert_dir):
    reference = lab.registry.reference('python:3-slim', auth=True)
    assert reference == 'registry.lab:5001/python:3-slim'
    for options in ((), ('--creds', 'lab:wrong'), ('--creds', 'nobody:lab-secret')):
        result = inspect(host, reference, '--cert-dir', cert_dir, *options, check=False)
        assert result.returncode != 0 and 'unauthorized' in result.stderr, (options, result.stderr)
    creds = '%s:%s' % (lab.registry.username, lab.registry.password)
    assert creds == 'lab:lab-secret'
    result = inspect(host, reference, '--cert-dir', cert_dir, '--creds', creds, '--format', '{{.Digest}}')
    assert result.stdout.strip() == lab.registry.images.digests()['python:3-slim']['manifest']


def test_every_test_image_is_there_as_built(lab, host, images, cert_dir):
    built = lab.registry.images.digests()
    assert sorted(images) == sorted(built)
    for image, reference in images.items():
        assert reference == 'registry.lab:5000/' + image
        found = inspect(host, reference, '--cert-dir', cert_dir, '--format', '{{.Digest}}').stdout.strip()
        assert found == built[image]['manifest'], image
    assert len(built['many:80']['layers']) == 80


def test_python_image_unpacks_and_runs(host, images, cert_dir):
    """A reference unpacker (umoci) applies the whiteout and the opaque directory of layer 3; python3 runs."""
    work = '/var/tmp/lab-registry-python'
    try:
        host.run('rm -rf {w} && mkdir {w} && skopeo copy --quiet --src-cert-dir {c} docker://{r} oci:{w}/layout:x && '
                 'umoci unpack --image {w}/layout:x {w}/bundle >/dev/null'.format(w=work, c=cert_dir,
                                                                                  r=images['python:3-slim']))
        rootfs = work + '/bundle/rootfs'
        assert host.run('ls %s/srv/www' % rootfs).stdout.split() == ['index.html']
        assert host.run('test -e %s/etc/issue.net' % rootfs, check=False).returncode == 1
        assert host.run('test -e %s/etc/issue' % rootfs, check=False).returncode == 0
        assert host.run('chroot %s python3 -c "import ssl, sys; print(sys.version_info[0])"' % rootfs).stdout == '3\n'
    finally:
        host.run('rm -rf ' + work)
