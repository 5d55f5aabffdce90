# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""image on a real lab host: pulls from the lab's TLS registry, imports, shared layers, whiteouts, 80 layers, prune,
and the bad inputs, each failing with nothing left behind."""

from __future__ import annotations

import shutil

import pytest

from tests.integration.test_overlay_mount import converge_checked, failed

M = 'anatomy.containers.'
ROOT = '/var/lib/anatomy/it-images'
STORE = ROOT + '/images'
VIEW = '/var/lib/anatomy/it-images-view'


@pytest.fixture(scope='module')
def registry(lab):
    lab.registry.push_test_images()
    return lab.registry


@pytest.fixture
def host(hosts, ansible, registry):
    host = hosts[0]

    def clean():
        ansible.tasks(host, [{M + 'overlay_mount': {'state': 'deleted', 'purge': True, 'lazy_unmount': True}},
                             {M + 'image': {'state': 'deleted', 'state_root': ROOT, 'prune': True}}])
        host.run('rm -rf %s %s' % (ROOT, VIEW))
    clean()
    yield host
    clean()


def image(registry, name, **extra):
    return dict({'name': registry.reference(name), 'ca_file': registry.host_ca}, **extra)


def params(config, **extra):
    return dict({'config': config, 'state_root': ROOT}, **extra)


def layer_dirs(host) -> list:
    return host.run('ls -A %s/layers 2>/dev/null || true' % STORE).stdout.split()


def nothing_left(ansible, host):
    """No image, no layer (whole or partial), no scratch copy."""
    gathered = ansible(host, M + 'image', {'state': 'gathered', 'state_root': ROOT})
    assert gathered['gathered'] == []
    assert layer_dirs(host) == []
    assert host.run('ls -A %s/tmp 2>/dev/null || true' % STORE).stdout == ''


def mount_view(ansible, host, pulled):
    lower = ['%s/layers/%s' % (STORE, diff_id.split(':')[1]) for diff_id in reversed(pulled['layers'])]
    result = ansible(host, M + 'overlay_mount', {'config': [{'path': VIEW, 'lower': lower, 'upper': ROOT + '/upper',
                                                             'work': ROOT + '/work'}]})
    assert result['_status'] == 'ok', result.get('msg')


def test_a_pull_from_the_tls_registry_with_its_ca_runs_python_with_whiteouts_and_opaque_dirs(ansible, host, registry):
    pulled = converge_checked(ansible, host, 'image', params([image(registry, 'python:3-slim')]))['after'][0]
    assert pulled['config']['Cmd'] == ['python3', '-m', 'http.server', '8080'] and pulled['complete']
    assert pulled['config']['WorkingDir'] == '/srv/www' and '/data' in pulled['config']['Volumes']
    assert len(pulled['layers']) >= 3 and sorted(layer_dirs(host)) == sorted(d.split(':')[1] for d in pulled['layers'])
    top = '%s/layers/%s' % (STORE, pulled['layers'][-1].split(':')[1])
    # The OCI whiteout became overlayfs's: a 0/0 character device; the opaque marker an xattr.
    assert host.run("stat -c '%%F %%t:%%T' %s/etc/issue.net" % top).stdout == 'character special file 0:0\n'
    assert host.run("python3 -c 'import os; print(os.getxattr(\"%s/srv/www\", \"trusted.overlay.opaque\"))'" % top
                    ).stdout == "b'y'\n"
    assert host.run('find %s -name ".wh.*" | wc -l' % ROOT).stdout == '0\n'
    mount_view(ansible, host, pulled)
    out = host.run("chroot %s /bin/sh -c 'ls /srv/www; test -e /etc/issue.net || echo no-issue.net; "
                   "python3 -c \"import sys; print(sys.version_info[0])\"'" % VIEW).stdout
    assert out == 'index.html\nno-issue.net\n3\n'
    # Owners, modes and file capabilities survive: setuid su, root-owned /usr/bin, and the python binary runs.
    assert host.run("stat -c '%%U %%a' %s/usr/bin/su %s/usr/bin" % (VIEW, VIEW)).stdout == 'root 4755\nroot 755\n'


def test_the_registry_is_refused_without_its_ca_and_by_a_wrong_password_and_a_right_one_pulls(ansible, host, registry):
    failed(ansible, host, 'image', params([{'name': registry.reference('python:3-slim')}]), 'certificate')
    wrong = {'name': registry.reference('busybox:latest', auth=True), 'ca_file': registry.host_ca, 'username': 'lab',
             'password': 'not-the-password'}
    failed(ansible, host, 'image', params([wrong]), 'unauthorized')
    failed(ansible, host, 'image', params([dict(wrong, username=None, password=None)]), 'unauthorized', check=True)
    nothing_left(ansible, host)
    right = dict(wrong, password=registry.password)
    result = ansible(host, M + 'image', params([right]))
    assert result['changed'] and registry.password not in str(result)
    # insecure skips verification: without the CA, the open listener serves.
    insecure = ansible(host, M + 'image', params([{'name': registry.reference('python:3-slim'), 'insecure': True}]))
    assert insecure['changed'], insecure.get('msg')


@pytest.mark.parametrize('name, extra, match', [
    ('python:no-such-tag', {}, 'manifest unknown'),
    ('nothing-here:1', {}, 'manifest unknown'),
    ('python:3-slim', {'digest': 'sha256:' + '0' * 64}, 'manifest unknown'),
])
def test_unknown_images_and_digests_fail_before_any_pull(ansible, host, registry, name, extra, match):
    listed = [image(registry, 'busybox:latest'), image(registry, name, **extra)]
    result = failed(ansible, host, 'image', params(listed), '', check=True)
    assert match in result['msg'].lower(), result['msg']
    result = failed(ansible, host, 'image', params(listed), '')
    assert match in result['msg'].lower(), result['msg']
    nothing_left(ansible, host)


def test_a_registry_that_does_not_answer_fails_clearly(ansible, host, registry):
    result = failed(ansible, host, 'image', params([{'name': 'registry.lab:5999/python:3-slim', 'ca_file': registry.host_ca}]),
                    'image ')
    assert 'connection refused' in result['msg'].lower(), result['msg']
    nothing_left(ansible, host)


@pytest.mark.parametrize('name, match', [
    ('bad:escape', 'escapes the layer'),
    ('bad:type', 'unsupported type'),
    ('bad:diffid', 'has the diff_id'),
])
def test_bad_layers_are_refused_and_nothing_is_written(ansible, host, registry, name, match):
    failed(ansible, host, 'image', params([image(registry, name)]), match)
    nothing_left(ansible, host)
    assert host.run('ls %s/escape.txt %s/escape.txt %s/escape.txt 2>/dev/null | wc -l' % (ROOT, STORE, STORE + '/layers')
                    ).stdout == '0\n'


def test_a_pinned_digest_pulls_that_image_and_a_wrong_one_is_refused(ansible, host, registry):
    pulled = ansible(host, M + 'image', params([image(registry, 'python:3-slim')]))['after'][0]
    by_digest = image(registry, 'python:3-slim', digest=pulled['repo_digest'])
    again = ansible(host, M + 'image', params([by_digest]))
    assert not again['changed'], 'the image on the host has that digest'
    by_name = {'name': registry.reference('python') + '@' + pulled['repo_digest'], 'ca_file': registry.host_ca}
    pinned = ansible(host, M + 'image', params([by_name]))
    assert pinned['changed'] and pinned['after'][0]['id'] == pulled['id']
    assert sorted(layer_dirs(host)) == sorted(d.split(':')[1] for d in pulled['layers']), 'nothing unpacked twice'


def test_archives_import_and_share_the_registrys_layers_and_a_truncated_one_leaves_nothing(ansible, host, registry):
    archives = host.state / 'it-archives'
    archives.mkdir(exist_ok=True)
    for name in ('python-docker-archive.tar', 'python-oci-archive.tar', 'truncated-docker-archive.tar'):
        shutil.copyfile(registry.images.archive(name), archives / name)
    shutil.copytree(registry.images.layout('python'), archives / 'python-layout')
    on_host = '/var/lib/anatomy/it-archives/'
    try:
        truncated = {'name': 'local/truncated:1', 'source': 'docker-archive', 'path': on_host + 'truncated-docker-archive.tar'}
        failed(ansible, host, 'image', params([truncated]), 'image ')
        nothing_left(ansible, host)
        pulled = ansible(host, M + 'image', params([image(registry, 'python:3-slim')]))['after'][0]
        layers = sorted(layer_dirs(host))
        imported = converge_checked(ansible, host, 'image', params([
            image(registry, 'python:3-slim'),
            {'name': 'local/python:docker', 'source': 'docker-archive', 'path': on_host + 'python-docker-archive.tar'},
            {'name': 'local/python:oci', 'source': 'oci-archive', 'path': on_host + 'python-oci-archive.tar'},
            {'name': 'local/python:layout', 'source': 'oci', 'path': on_host + 'python-layout'},
        ]))['after']
        assert {item['name']: item['layers'] for item in imported} == {
            registry.reference('python:3-slim'): pulled['layers'], 'local/python:docker': pulled['layers'],
            'local/python:oci': pulled['layers'], 'local/python:layout': pulled['layers']}
        assert sorted(layer_dirs(host)) == layers, 'the same diff IDs: no layer unpacked again'
    finally:
        shutil.rmtree(archives)


def test_eighty_layers_mount_as_one_root_filesystem(ansible, host, registry):
    pulled = ansible(host, M + 'image', params([image(registry, 'many:80')]))['after'][0]
    assert len(pulled['layers']) == 80
    # The lower dirs' paths alone are longer than one page of mount options.
    assert len(':'.join('%s/layers/%s' % (STORE, d.split(':')[1]) for d in pulled['layers'])) > 4096
    mount_view(ansible, host, pulled)
    assert host.run("chroot %s /bin/sh -c 'ls /layers | wc -l'" % VIEW).stdout.strip() == '79'


def test_deleted_and_prune_keep_what_a_mounted_root_filesystem_uses(ansible, host, registry):
    result = ansible(host, M + 'image', params([image(registry, 'python:3-slim'), image(registry, 'busybox:latest')]))
    python = [item for item in result['after'] if 'python' in item['name']][0]
    mount_view(ansible, host, python)
    failed(ansible, host, 'image', params([image(registry, 'python:3-slim')], state='deleted'), 'uses its layers')
    # Prune removes nothing an image names; busybox deleted, its layer goes and python's stay.
    assert not ansible(host, M + 'image', params([image(registry, 'python:3-slim')], prune=True))['changed']
    checked = ansible(host, M + 'image', params([image(registry, 'busybox:latest')], state='deleted'), check=True)
    gone = ansible(host, M + 'image', params([image(registry, 'busybox:latest')], state='deleted'), diff=True)
    assert gone['changed'] and gone['pruned_layers'] == checked['pruned_layers'] and len(gone['pruned_layers']) == 1
    assert sorted(layer_dirs(host)) == sorted(d.split(':')[1] for d in python['layers'])
    ansible(host, M + 'overlay_mount', {'state': 'deleted', 'purge': True})
    everything = ansible(host, M + 'image', {'state': 'deleted', 'state_root': ROOT, 'prune': True})
    assert everything['changed'] and sorted(everything['pruned_layers']) == sorted(python['layers'])
    nothing_left(ansible, host)
