# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workloads from images, through site.yml: the seed's demo (python3 -m http.server from the python image, a busybox
client), Docker's rules for the image's config, shared layers, check mode of a first run, and bad images."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration.test_durability import eventually, fetch_from_lab, in_workload
from tests.integration.test_site_plan import changed_tasks, converge, run_site, teardown

STATE = '/var/lib/anatomy'
NETWORKS = [{'name': 'ctbr0', 'subnet': '10.88.0.0/16'}]


@pytest.fixture(scope='module')
def registry(lab):
    lab.registry.push_test_images()
    return lab.registry


@pytest.fixture
def host(lab, registry):
    teardown(lab)
    yield lab.hosts[0]
    teardown(lab)


def site(registry, workloads, **extra):
    images = [{'name': registry.reference(name), 'ca_file': registry.host_ca} for name in ('python:3-slim', 'busybox:latest')]
    return dict({'container_host_networks': NETWORKS, 'workload_images': images, 'workload_list': workloads}, **extra)


def demo(registry):
    return [
        {'name': 'server', 'network': 'ctbr0', 'image': registry.reference('python:3-slim'), 'published_ports': ['80:8080']},
        {'name': 'client', 'network': 'ctbr0', 'image': registry.reference('busybox:latest'),
         'command': ['sleep', '2147483647']},
    ]


def ran(results, task, changed=None) -> bool:
    """Whether the task (named without its role) ran, and, when CHANGED is given, changed or not."""
    return any(r['_task'].split(' : ')[-1] == task and r['_status'] != 'skipped'
               and (changed is None or bool(r.get('changed')) == changed) for r in results)


def layer_count(host) -> int:
    return int(host.run('ls %s/images/layers | wc -l' % STATE).stdout)


def test_the_seeds_demo_runs_from_images_and_a_second_run_changes_nothing(lab, host, registry):
    variables = site(registry, demo(registry))
    rc, out, results = run_site(lab, variables, check=True)
    assert rc == 0, out[-3000:]
    assert host.run('ls %s/images/images 2>/dev/null | wc -l' % STATE).stdout == '0\n', 'check mode pulled nothing'
    assert ran(results, 'Pull the images the workloads run', changed=True), 'check mode says what it would pull'
    assert ran(results, 'Plan the workloads with their images') and ran(results, 'Network namespaces', changed=True)
    results = converge(lab, variables)
    assert ran(results, 'Pull the images the workloads run', changed=True)
    assert ran(results, 'Plan the workloads with their images')
    page = eventually(lambda: fetch_from_lab(lab, host, 80), what='port 80 from the lab')
    assert page == '<h1>anatomy lab: python:3-slim</h1>\n'
    server = host.run('ip -n server -4 -o addr show eth0').stdout.split()[3].split('/')[0]
    for target in (server, 'server'):
        out = in_workload(host, 'client', "wget -q -O- http://%s:8080/" % target, check=False)
        assert out.stdout == page, (target, out.stdout, out.stderr)
    # The image's config: its working directory, its environment, and its anonymous volume at /data.
    environ = in_workload(host, 'server', 'cat /proc/1/environ').stdout.split('\0')
    assert 'LANG=C.UTF-8' in environ and in_workload(host, 'server', 'readlink /proc/1/cwd').stdout == '/srv/www\n'
    assert host.run('findmnt -n -o SOURCE %s/workloads/server/rootfs/data' % STATE).stdout.strip().endswith(
        '/volumes/anon-server-%s/_data]' % hashlib.sha256(b'/data').hexdigest()[:12])
    rc, out, results = run_site(lab, variables)
    assert rc == 0 and changed_tasks(results) == [], changed_tasks(results)
    assert not ran(results, 'Pull the images the workloads run'), 'a host with its images does not ask the registry'
    assert not ran(results, 'Look up the images the workloads need')


def test_a_second_workload_from_the_same_image_adds_no_layer_and_only_its_writable_layer(lab, host, registry):
    variables = site(registry, demo(registry)[:1])
    converge(lab, variables)
    layers = layer_count(host)
    second = dict(demo(registry)[0], name='server2', published_ports=['81:8080'])
    results = converge(lab, site(registry, demo(registry)[:1] + [second]))
    assert not ran(results, 'Pull the images the workloads run')
    assert layer_count(host) == layers
    assert eventually(lambda: fetch_from_lab(lab, host, 81), what='port 81') == '<h1>anatomy lab: python:3-slim</h1>\n'
    # Its own disk use: the writable layer alone (a few files python and the runtime write).
    used = int(host.run('du -sk %s/workloads/server2/upper' % STATE).stdout.split()[0])
    assert used < 1024, used


def test_dockers_entrypoint_and_command_rules_and_the_images_user(lab, host, registry):
    busybox = registry.reference('busybox:latest')
    workloads = [
        {'name': 'cmd', 'network': 'ctbr0', 'image': busybox, 'command': 'sh -c "echo from-command > /tmp/out; sleep 1d"'},
        {'name': 'entry', 'network': 'ctbr0', 'image': busybox, 'entrypoint': ['/bin/sh', '-c'],
         'command': ['echo from-entrypoint > /tmp/out; sleep 1d'], 'user': 'nobody', 'working_dir': '/tmp'},
    ]
    converge(lab, site(registry, workloads))
    for name, text in (('cmd', 'from-command'), ('entry', 'from-entrypoint')):
        assert eventually(lambda: in_workload(host, name, 'cat /tmp/out', check=False).stdout, what=name) == text + '\n'
    uids = in_workload(host, 'entry', 'grep ^Uid: /proc/1/status').stdout.split()[1:]
    assert uids == ['65534'] * 4


@pytest.mark.parametrize('case, match', [
    ('unknown tag', 'manifest unknown'),
    ('bad layer', 'escapes the layer'),
    ('bad reference', "image 'Python:3' must be a reference"),
])
def test_bad_images_fail_before_any_workload_changes(lab, host, registry, case, match):
    image = {'unknown tag': registry.reference('python:nope'), 'bad layer': registry.reference('bad:escape'),
             'bad reference': 'Python:3'}[case]
    workloads = demo(registry) + [{'name': 'broken', 'network': 'ctbr0', 'image': image, 'published_ports': ['90:80']}]
    variables = site(registry, workloads)
    if case != 'bad reference':
        variables['workload_images'].append({'name': image, 'ca_file': registry.host_ca})
    rc, out, _results = run_site(lab, variables)
    assert rc != 0 and match in out, out[-3000:]
    assert host.run('ls /run/netns 2>/dev/null | wc -l').stdout == '0\n', 'no workload was made'
    assert host.run('ls %s/workloads 2>/dev/null | grep -v addresses.json | wc -l' % STATE).stdout == '0\n'


def test_the_teardown_removes_images_and_their_layers(lab, host, registry):
    converge(lab, site(registry, demo(registry)))
    assert layer_count(host) > 0
    teardown(lab)
    assert host.run('test -e %s/images' % STATE, check=False).returncode == 1


def test_a_workload_given_another_image_is_recreated_on_it_and_keeps_its_volume(lab, host, registry):
    first = [{'name': 'app', 'network': 'ctbr0', 'image': registry.reference('busybox:latest'), 'published_ports': ['80:8080'],
              'command': ['sh', '-c', 'echo busybox > /data/was; exec httpd -f -p 8080 -h /data'],
              'volumes': [{'name': 'app-data', 'target': '/data'}]}]
    converge(lab, site(registry, first))
    eventually(lambda: fetch_from_lab(lab, host, 80), what='busybox httpd on port 80')
    second = [dict(first[0], image=registry.reference('python:3-slim'), command=None)]
    second[0].pop('command')
    second[0]['volumes'] = [{'name': 'app-data', 'target': '/data'}]
    results = converge(lab, site(registry, second))
    assert ran(results, 'Run every workload as a service; restart those whose definition changed', changed=True)
    assert eventually(lambda: fetch_from_lab(lab, host, 80), what='python') == '<h1>anatomy lab: python:3-slim</h1>\n'
    assert host.run('cat %s/volumes/app-data/_data/was' % STATE).stdout == 'busybox\n'
    rc, out, results = run_site(lab, site(registry, second))
    assert rc == 0 and changed_tasks(results) == [], changed_tasks(results)
