# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workloads run from images: Docker's rules for the image's config, the images to pull first, layers in order."""

from __future__ import annotations

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils._host_plan import (
    PlanError, anonymous_volume, image_command, plan_host, with_image,
)

NETS = [{'name': 'ctbr0', 'subnet': '10.88.0.0/16'}]
LAYERS = [{'name': 'busybox', 'busybox': True}, {'name': 'site', 'files': [{'path': 'www/index.html', 'content': 'hi'}]}]
PYTHON = 'registry.lab:5000/python:3-slim'
INDEX = {PYTHON: {
    'id': 'sha256:' + 'a' * 64, 'manifest_digest': 'sha256:' + 'b' * 64, 'repo_digest': 'sha256:' + 'c' * 64,
    'layers': ['sha256:' + '1' * 64, 'sha256:' + '2' * 64, 'sha256:' + '3' * 64],
    'config': {'Cmd': ['python3', '-m', 'http.server', '8080'], 'WorkingDir': '/srv/www',
               'Env': ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8'], 'Volumes': {'/data': {}},
               'ExposedPorts': {'8080/tcp': {}}, 'User': 'www-data', 'StopSignal': 'SIGINT'},
}}


def server(**extra):
    return dict({'name': 'server', 'network': 'ctbr0', 'image': PYTHON, 'published_ports': ['80:8080']}, **extra)


def plan(workloads, images=None, index=None):
    return plan_host(NETS, workloads, LAYERS, '/var/lib/anatomy', None, '', None, images or [],
                     INDEX if index is None else index)


@pytest.mark.parametrize('workload, config, argv', [
    ({}, {'Cmd': ['python3', '-m', 'http.server']}, ['python3', '-m', 'http.server']),
    ({}, {'Entrypoint': ['/entry.sh'], 'Cmd': ['serve']}, ['/entry.sh', 'serve']),
    ({'command': 'migrate --all'}, {'Entrypoint': ['/entry.sh'], 'Cmd': ['serve']}, ['/entry.sh', 'migrate', '--all']),
    ({'command': ['sh']}, {'Cmd': ['python3']}, ['sh']),
    ({'entrypoint': ['/bin/sh', '-c']}, {'Entrypoint': ['/entry.sh'], 'Cmd': ['serve']}, ['/bin/sh', '-c']),
    ({'entrypoint': '/bin/sh -c', 'command': ['echo hi']}, {'Entrypoint': ['/e'], 'Cmd': ['x']}, ['/bin/sh', '-c', 'echo hi']),
    ({'entrypoint': [], 'command': ['ls']}, {'Entrypoint': ['/e'], 'Cmd': ['x']}, ['ls']),
    ({'entrypoint': ''}, {'Entrypoint': ['/e'], 'Cmd': ['x']}, []),
])
def test_entrypoint_and_command_follow_dockers_rules(workload, config, argv):
    assert image_command(workload, config) == argv


def test_the_image_supplies_what_the_workload_does_not_set():
    merged = with_image(server(environment={'LANG': 'en_US.UTF-8', 'MODE': 'x'}), INDEX[PYTHON])
    assert merged['command'] == ['python3', '-m', 'http.server', '8080']
    assert merged['environment'] == {'PATH': '/usr/local/bin:/usr/bin:/bin', 'LANG': 'en_US.UTF-8', 'MODE': 'x'}
    assert (merged['working_dir'], merged['user'], merged['stop_signal']) == ('/srv/www', 'www-data', 'SIGINT')
    assert merged['volumes'] == [{'name': anonymous_volume('server', '/data'), 'target': '/data'}]
    mine = with_image(server(user='root', working_dir='/tmp', volumes=[{'name': 'data', 'target': '/data/'}]), INDEX[PYTHON])
    assert (mine['user'], mine['working_dir']) == ('root', '/tmp')
    assert mine['volumes'] == [{'name': 'data', 'target': '/data/'}], 'a volume of the workload on that path replaces the anonymous one'


def test_a_missing_image_is_pulled_before_the_workloads_are_planned():
    result = plan([server(), {'name': 'client', 'network': 'ctbr0', 'image': 'busybox:latest'}],
                  images=[{'name': PYTHON, 'ca_file': '/etc/ca.crt', 'username': 'u', 'password': 'secret'}], index={})
    assert result['images'] == {'missing': ['busybox:latest', PYTHON], 'implicit': [{'name': 'busybox:latest'}], 'refresh': False}
    assert 'services' not in result and 'secret' not in repr(result), 'no tasks yet, and no credentials in the plan'
    assert set(result['addresses']['ctbr0']) == {'server', 'client'}


def test_an_image_on_the_host_gives_the_overlay_its_layers_topmost_first_under_the_workloads_own():
    result = plan([server(layers=['site'])])
    assert result['images']['missing'] == []
    overlay = result['overlays'][0]
    assert overlay['lower'] == ['/var/lib/anatomy/layers/site'] + [
        '/var/lib/anatomy/images/layers/' + digit * 64 for digit in '321']
    service = result['services'][0]
    assert service['command'] == ['python3', '-m', 'http.server', '8080']
    assert service['working_dir'] == '/srv/www' and service['environment']['LANG'] == 'C.UTF-8'
    volumes = [v for v in result['volumes'] if v.get('volume')]
    assert volumes == [{'target': '/data', 'root': overlay['path'], 'read_only': False, 'volume': anonymous_volume('server', '/data')}]


def test_a_new_image_restarts_its_workloads_only():
    before = {s['name']: s['revision'] for s in plan([server(), server(name='other', published_ports=[])])['services']}
    index = {PYTHON: dict(INDEX[PYTHON], id='sha256:' + 'f' * 64)}
    after = {s['name']: s['revision'] for s in plan([server(), server(name='other', published_ports=[])], index=index)['services']}
    assert before['server'] != after['server'] and before['other'] != after['other']
    plain = {'name': 'plain', 'network': 'ctbr0', 'layers': ['busybox'], 'command': ['sh']}
    assert plan([plain])['services'][0]['revision'] == plan([plain], index={})['services'][0]['revision']


def test_a_pinned_digest_that_the_host_does_not_have_is_pulled():
    pinned = {'name': PYTHON, 'digest': 'sha256:' + 'd' * 64}
    assert plan([server()], images=[pinned])['images']['missing'] == [PYTHON]
    assert plan([server()], images=[dict(pinned, digest=INDEX[PYTHON]['repo_digest'])])['images']['missing'] == []


@pytest.mark.parametrize('workload, message', [
    (server(image='Python:3'), "image 'Python:3' must be a reference"),
    (server(image=None), 'needs an image, or layers'),
    ({'name': 'x', 'network': 'ctbr0', 'layers': ['busybox'], 'command': ['sh'], 'entrypoint': ['/x']},
     'entrypoint is for workloads run from an image'),
    (server(entrypoint={'a': 1}), 'entrypoint must be a list of words or a string'),
    (server(entrypoint=[]), "image 'registry.lab:5000/python:3-slim' has neither Entrypoint nor Cmd"),
])
def test_bad_image_workloads_are_refused_before_anything(workload, message):
    with pytest.raises(PlanError, match=message):
        plan([workload])


@pytest.mark.parametrize('image, message', [
    ({'name': PYTHON, 'source': 'ftp'}, 'source must be one of'),
    ({'name': PYTHON, 'digest': 'md5:x'}, 'digest must be sha256'),
    ({'name': 'local/x:1', 'source': 'docker-archive'}, 'needs path, an absolute path'),
    ({'name': PYTHON, 'password': 'p'}, 'password needs username'),
    ({'name': PYTHON, 'path': '/x.tar'}, 'path is for the oci'),
    ({'name': PYTHON + '@sha256:' + 'a' * 64, 'digest': 'sha256:' + 'b' * 64}, 'the name pins'),
])
def test_bad_workload_images_are_named(image, message):
    with pytest.raises(PlanError, match=r"workload_images: image .*" + message):
        plan([server()], images=[image])


def test_an_image_config_the_service_refuses_is_named_with_the_image():
    index = {PYTHON: dict(INDEX[PYTHON], config={'Cmd': ['x'], 'Env': ['BAD KEY=1']})}
    with pytest.raises(PlanError, match="workload 'server': with image 'registry.lab:5000/python:3-slim'"):
        plan([server()], index=index)
