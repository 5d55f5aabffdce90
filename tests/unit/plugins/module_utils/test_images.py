# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The image store: layers by diff ID, shared and unpacked once, nothing half-written trusted, removal only when asked.

skopeo is replaced by a source that writes the OCI layout skopeo would; the layers are real tar blobs unpacked on disk.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils import _images
from ansible_collections.anatomy.containers.plugins.module_utils._images import Image, layer_path
from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError, converge

LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip'


def layer_blob(files: dict) -> tuple:
    """(gzip blob, diff ID) of a layer holding FILES (path -> text)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w', format=tarfile.PAX_FORMAT) as tar:
        for path, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), 'sha256:' + hashlib.sha256(tar_bytes).hexdigest()


def digest(data: bytes) -> str:
    return 'sha256:' + hashlib.sha256(data).hexdigest()


class FakeSource:
    """Images by name: each a list of layers (dicts of files) and a config; counts what was copied."""

    def __init__(self):
        self.images, self.copies, self.inspects = {}, [], []

    def add(self, name, layers, cmd=('sh',), tamper=None):
        blobs = [layer_blob(files) for files in layers]
        config = {'architecture': _images.GOARCH.get(os.uname().machine, os.uname().machine), 'os': 'linux',
                  'config': {'Cmd': list(cmd)}, 'rootfs': {'type': 'layers', 'diff_ids': [d for _b, d in blobs]}}
        if tamper:
            tamper(config)
        config_bytes = json.dumps(config).encode()
        manifest = {'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                    'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': digest(config_bytes),
                               'size': len(config_bytes)},
                    'layers': [{'mediaType': LAYER_TYPE, 'digest': digest(blob), 'size': len(blob)} for blob, _d in blobs]}
        self.images[name] = (json.dumps(manifest).encode(), config_bytes, [blob for blob, _d in blobs])

    def inspect(self, item, scratch):
        self.inspects.append(item['name'])
        if item['name'] not in self.images:
            raise ResourceError('image %r: manifest unknown' % item['name'])
        manifest, config, _blobs = self.images[item['name']]
        return {'repo_digest': digest(manifest), 'manifest_digest': digest(manifest), 'config': json.loads(config),
                'config_bytes': config}

    def copy(self, item, layout, scratch):
        self.copies.append(item['name'])
        manifest, config, blobs = self.images[item['name']]
        os.makedirs(os.path.join(layout, 'blobs', 'sha256'))
        for data in [manifest, config] + blobs:
            with open(os.path.join(layout, 'blobs', 'sha256', digest(data).split(':')[1]), 'wb') as out:
                out.write(data)
        with open(os.path.join(layout, 'index.json'), 'w') as out:
            json.dump({'schemaVersion': 2, 'manifests': [{'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                                                          'digest': digest(manifest), 'size': len(manifest)}]}, out)


class NoMounts:
    def __init__(self, lower=()):
        self.lower = list(lower)

    def mountinfo(self):
        from ansible_collections.anatomy.containers.plugins.module_utils._mounts import MountTable, parse_mountinfo
        line = '99 1 0:99 / /srv/ctr rw - overlay overlay rw,lowerdir=%s,upperdir=/u,workdir=/w\n' % ':'.join(self.lower)
        return MountTable(parse_mountinfo(line if self.lower else ''))


BASE = {'bin/sh': 'shell', 'etc/os-release': 'ID=test'}
APP = {'srv/app.py': 'print(1)'}


@pytest.fixture
def source():
    fake = FakeSource()
    fake.add('reg.lab:5000/app:1', [BASE, APP], cmd=('python3', '/srv/app.py'))
    fake.add('reg.lab:5000/other:1', [BASE, {'srv/other': 'x'}])
    return fake


def run(tmp_path, source, config, state='merged', check=False, prune=False, lower=()):
    resource = Image(str(tmp_path), prune, source, NoMounts(lower))
    result = converge(resource, config, state, check)
    if state != 'gathered':
        resource.finish(result, check)
    return result


def test_a_pull_unpacks_each_layer_once_by_diff_id_and_records_the_image(tmp_path, source):
    result = run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}])
    assert result['changed'] and source.copies == ['reg.lab:5000/app:1']
    image = result['after'][0]
    assert image['config'] == {'Cmd': ['python3', '/srv/app.py']} and image['complete']
    assert open(os.path.join(layer_path(str(tmp_path), image['layers'][1]), 'srv/app.py')).read() == 'print(1)'
    index = json.load(open(_images.index_path(str(tmp_path))))['images']
    assert index['reg.lab:5000/app:1']['layers'] == image['layers']
    again = run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}])
    assert not again['changed'] and source.copies == ['reg.lab:5000/app:1'], 'present: neither copied nor looked up'


def test_a_second_image_shares_the_layers_it_has_in_common(tmp_path, source):
    run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}])
    base = layer_path(str(tmp_path), run(tmp_path, source, None, 'gathered')['gathered'][0]['layers'][0])
    inode = os.stat(os.path.join(base, 'bin/sh')).st_ino
    result = run(tmp_path, source, [{'name': 'reg.lab:5000/other:1'}])
    assert result['after'][0]['layers'][0] == result['after'][1]['layers'][0]
    assert os.stat(os.path.join(base, 'bin/sh')).st_ino == inode, 'the shared layer was not unpacked again'
    assert len(os.listdir(os.path.join(str(tmp_path), 'images', 'layers'))) == 3


def test_check_mode_looks_the_image_up_changes_nothing_and_predicts_the_pull(tmp_path, source):
    result = run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}], check=True)
    assert result['changed'] and result['after'][0]['config'] == {'Cmd': ['python3', '/srv/app.py']}
    assert not os.path.exists(os.path.join(str(tmp_path), 'images', 'images')) and source.copies == []
    assert run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}])['after'] == result['after']
    with pytest.raises(ResourceError, match='manifest unknown'):
        run(tmp_path, source, [{'name': 'reg.lab:5000/nope:1'}], check=True)


def test_an_unknown_image_fails_before_any_image_of_the_list_is_pulled(tmp_path, source):
    with pytest.raises(ResourceError, match='manifest unknown'):
        run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}, {'name': 'reg.lab:5000/nope:1'}])
    assert source.copies == [] and not os.path.exists(os.path.join(str(tmp_path), 'images', 'layers'))


def test_diff_ids_that_do_not_match_leave_no_layer(tmp_path, source):
    source.add('reg.lab:5000/bad:1', [BASE], tamper=lambda c: c['rootfs'].update(diff_ids=['sha256:' + '0' * 64]))
    with pytest.raises(ResourceError, match='bad:1'):
        run(tmp_path, source, [{'name': 'reg.lab:5000/bad:1'}])
    assert os.listdir(os.path.join(str(tmp_path), 'images', 'layers')) == []
    assert run(tmp_path, source, None, 'gathered')['gathered'] == []


def test_an_interrupted_pull_is_never_trusted_and_its_leftovers_go(tmp_path, source):
    os.makedirs(os.path.join(str(tmp_path), 'images', 'layers', '.partial-' + 'e' * 64, 'etc'))
    os.makedirs(os.path.join(str(tmp_path), 'images', 'tmp', 'xyz'))
    run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}])
    assert not any(entry.startswith('.partial-') for entry in os.listdir(os.path.join(str(tmp_path), 'images', 'layers')))
    assert not os.path.exists(os.path.join(str(tmp_path), 'images', 'tmp')), 'the scratch copies go after the pull'


def test_a_layer_removed_by_hand_makes_the_image_incomplete_and_it_is_pulled_again(tmp_path, source):
    image = run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}])['after'][0]
    import shutil
    shutil.rmtree(layer_path(str(tmp_path), image['layers'][1]))
    assert not run(tmp_path, source, None, 'gathered')['gathered'][0]['complete']
    assert run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}])['changed']
    assert os.path.isdir(layer_path(str(tmp_path), image['layers'][1]))


def test_pull_always_changes_only_when_the_source_holds_another_image(tmp_path, source):
    run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}])
    assert not run(tmp_path, source, [{'name': 'reg.lab:5000/app:1', 'pull': 'always'}])['changed']
    source.add('reg.lab:5000/app:1', [BASE, {'srv/app.py': 'print(2)'}])
    assert not run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}])['changed'], 'missing: the name is there'
    result = run(tmp_path, source, [{'name': 'reg.lab:5000/app:1', 'pull': 'always'}])
    assert result['changed'] and result['before'][0]['id'] != result['after'][0]['id']


def test_deleted_removes_the_name_and_the_layers_no_other_image_uses_but_not_those_a_mount_uses(tmp_path, source):
    run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}, {'name': 'reg.lab:5000/other:1'}])
    images = {item['name']: item for item in run(tmp_path, source, None, 'gathered')['gathered']}
    app_layer = layer_path(str(tmp_path), images['reg.lab:5000/app:1']['layers'][1])
    with pytest.raises(ResourceError, match='the overlay at /srv/ctr uses its layers'):
        run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}], 'deleted', lower=[app_layer])
    result = run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}], 'deleted')
    assert result['pruned_layers'] == [images['reg.lab:5000/app:1']['layers'][1]]
    assert not os.path.exists(app_layer)
    assert os.path.isdir(layer_path(str(tmp_path), images['reg.lab:5000/other:1']['layers'][0])), 'shared layer kept'


def test_prune_removes_only_unused_layers_and_check_mode_says_which(tmp_path, source):
    run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}])
    stray = os.path.join(str(tmp_path), 'images', 'layers', 'f' * 64)
    os.makedirs(stray)
    checked = run(tmp_path, source, None, 'overridden', check=True, prune=True)
    assert checked['changed'] and len(checked['pruned_layers']) == 3 and os.path.isdir(stray)
    kept = run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}], 'merged', prune=True)
    assert kept['changed'] and kept['pruned_layers'] == ['sha256:' + 'f' * 64] and not os.path.exists(stray)
    assert not run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}], 'merged', prune=True)['changed']


def test_two_names_of_one_image_and_deleting_one_keeps_the_layers(tmp_path, source):
    source.images['reg.lab:5000/app:latest'] = source.images['reg.lab:5000/app:1']
    run(tmp_path, source, [{'name': 'reg.lab:5000/app:1'}, {'name': 'reg.lab:5000/app:latest'}])
    assert len(os.listdir(os.path.join(str(tmp_path), 'images', 'images'))) == 1
    result = run(tmp_path, source, [{'name': 'reg.lab:5000/app:latest'}], 'deleted')
    assert result['pruned_layers'] == [] and [i['name'] for i in result['after']] == ['reg.lab:5000/app:1']


@pytest.mark.parametrize('item, message', [
    ({'name': 'Reg/App'}, 'name must be a reference'),
    ({'name': 'x:1', 'source': 'oci-archive', 'path': '/no/such.tar'}, 'does not exist on the host'),
    ({'name': 'x:1', 'ca_file': '/no/ca.crt'}, 'ca_file /no/ca.crt is not a file'),
    ({'name': 'x:1', 'digest': 'sha256:abc'}, 'digest must be sha256'),
])
def test_bad_input_is_refused_before_anything(tmp_path, source, item, message):
    with pytest.raises(ResourceError, match=message):
        run(tmp_path, source, [item])
    assert not os.path.exists(os.path.join(str(tmp_path), 'images'))


def test_an_image_for_another_architecture_is_refused(tmp_path, source):
    source.add('reg.lab:5000/arm:1', [BASE], tamper=lambda c: c.update(architecture='s390x' if os.uname().machine != 's390x' else 'arm64'))
    with pytest.raises(ResourceError, match='the image is for linux/'):
        run(tmp_path, source, [{'name': 'reg.lab:5000/arm:1'}])


def test_skopeo_gets_the_source_and_options_without_the_password_on_its_command_line(tmp_path):
    skopeo = _images.Skopeo()
    item = {'name': 'reg.lab:5000/app:1', 'source': 'registry', 'digest': 'sha256:' + 'a' * 64, 'insecure': True,
            'username': 'u', 'password': 'Not-On-Argv-42', 'ca_file': str(tmp_path / 'ca.pem')}
    (tmp_path / 'ca.pem').write_text('CA')
    assert skopeo.source(item) == 'docker://reg.lab:5000/app@sha256:' + 'a' * 64
    assert skopeo.source({'name': 'x:1', 'source': 'docker-archive', 'path': '/i.tar'}) == 'docker-archive:/i.tar'
    argv = skopeo.options(item, 'src-', str(tmp_path))
    assert '--src-tls-verify=false' in argv and not any('Not-On-Argv-42' in arg for arg in argv)
    authfile = [arg.split('=', 1)[1] for arg in argv if arg.startswith('--src-authfile=')][0]
    assert 'reg.lab:5000' in json.load(open(authfile))['auths']
    cert_dir = [arg.split('=', 1)[1] for arg in argv if arg.startswith('--src-cert-dir=')][0]
    assert open(os.path.join(cert_dir, 'ca.crt')).read() == 'CA'


@pytest.mark.parametrize('name, registry', [
    ('reg.lab:5000/app:1', 'reg.lab:5000'), ('registry.example/team/app', 'registry.example'),
    ('localhost/app', 'localhost'), ('python:3-slim', 'docker.io'), ('library/python', 'docker.io'),
    ('team/app:1', 'docker.io'),
])
def test_credentials_go_to_the_registry_the_name_names(name, registry):
    assert _images.registry_of(name) == registry


def test_skopeos_reason_is_taken_out_of_its_log_line():
    stderr = ('time="2026-12-01T03:41:29Z" level=fatal msg="Error parsing image name \\"docker://r:5000/x:1\\": reading '
              'manifest 1 in r:5000/x: manifest unknown: manifest unknown"\n')
    assert _images.Skopeo.reason(stderr) == 'reading manifest 1 in r:5000/x: manifest unknown: manifest unknown'
    assert _images.Skopeo.reason('plain failure\n') == 'plain failure'


def test_prune_with_no_store_makes_none(tmp_path, source):
    result = run(tmp_path, source, None, 'deleted', prune=True)
    assert not result['changed'] and result['pruned_layers'] == []
    assert not os.path.exists(os.path.join(str(tmp_path), 'images'))
