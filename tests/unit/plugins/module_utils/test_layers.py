# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Layers: built in a temporary layers root, with a stand-in busybox that lists three applets."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils._resource import ResourceError, converge
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import MountTable, parse_mountinfo
from ansible_collections.anatomy.containers.plugins.module_utils._layers import Layer, normalize_file_path


class FakeKernel:
    def __init__(self, text=''):
        self.text = text

    def mountinfo(self):
        return MountTable(parse_mountinfo(self.text))


@pytest.fixture
def busybox(tmp_path):
    path = tmp_path / 'busybox'
    path.write_text('#!/bin/sh\necho "busybox cat ls sh"\n')
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / 'layers')


def layers(root, busybox, kernel=None):
    return Layer(root, busybox, kernel or FakeKernel())


def run(root, busybox, config, state='merged', check_mode=False, kernel=None):
    return converge(layers(root, busybox, kernel), config, state, check_mode)


SITE = {'name': 'site', 'files': [{'path': '/www/index.html', 'content': 'hello\n'},
                                  {'path': 'bin/run', 'content': '#!/bin/sh\n', 'mode': '755'}]}


def test_busybox_layer_has_the_binary_applets_mount_points_and_users(root, busybox):
    result = run(root, busybox, [{'name': 'base', 'busybox': True}])
    assert result['changed'] and result['after'] == [{'name': 'base', 'busybox': True, 'files': []}]
    base = os.path.join(root, 'base')
    assert open(os.path.join(base, 'bin/busybox')).read() == open(busybox).read()
    assert os.readlink(os.path.join(base, 'bin/sh')) == 'busybox' and os.readlink(os.path.join(base, 'bin/ls')) == 'busybox'
    assert not os.path.islink(os.path.join(base, 'bin/busybox'))
    for directory in ('proc', 'sys', 'dev', 'tmp', 'etc'):
        assert os.path.isdir(os.path.join(base, directory))
    assert oct(os.stat(os.path.join(base, 'tmp')).st_mode & 0o7777) == '0o1777'
    assert open(os.path.join(base, 'etc/passwd')).read().startswith('root:x:0:0:')
    # The record lives beside the layers, never inside one.
    assert json.load(open(os.path.join(root, '.anatomy', 'base.json')))['owner'] == 'anatomy.containers'
    assert not run(root, busybox, [{'name': 'base', 'busybox': True}])['changed']


def test_files_are_written_with_their_modes_and_a_second_run_changes_nothing(root, busybox):
    result = run(root, busybox, [SITE])
    assert result['after'][0]['files'] == [{'path': 'bin/run', 'content': '#!/bin/sh\n', 'mode': '0755'},
                                           {'path': 'www/index.html', 'content': 'hello\n', 'mode': '0644'}]
    assert oct(os.stat(os.path.join(root, 'site/bin/run')).st_mode & 0o777) == '0o755'
    assert not run(root, busybox, [SITE])['changed']


def test_hand_edit_and_mode_change_are_put_back(root, busybox):
    run(root, busybox, [SITE])
    with open(os.path.join(root, 'site/www/index.html'), 'w') as handle:
        handle.write('defaced\n')
    os.chmod(os.path.join(root, 'site/bin/run'), 0o600)
    result = run(root, busybox, [SITE])
    assert result['changed'] and result['before'][0]['files'][1]['content'] == 'defaced\n'
    assert open(os.path.join(root, 'site/www/index.html')).read() == 'hello\n'
    assert oct(os.stat(os.path.join(root, 'site/bin/run')).st_mode & 0o777) == '0o755'


def test_a_file_no_longer_listed_is_removed_and_others_files_stay(root, busybox):
    run(root, busybox, [SITE])
    open(os.path.join(root, 'site/www/theirs.html'), 'w').write('not ours\n')
    run(root, busybox, [{'name': 'site', 'files': SITE['files'][:1]}])
    assert not os.path.exists(os.path.join(root, 'site/bin/run'))
    assert os.path.exists(os.path.join(root, 'site/www/theirs.html'))


def test_a_changed_host_busybox_is_copied_again(root, busybox):
    run(root, busybox, [{'name': 'base', 'busybox': True}])
    with open(busybox, 'a') as handle:
        handle.write('# upgraded\n')
    result = run(root, busybox, [{'name': 'base', 'busybox': True}])
    assert result['changed'] and result['before'][0]['busybox'] is False
    assert open(os.path.join(root, 'base/bin/busybox')).read().endswith('# upgraded\n')


def test_interrupted_busybox_build_is_done_again(root, busybox):
    run(root, busybox, [{'name': 'base', 'busybox': True}])
    os.unlink(os.path.join(root, 'base/bin/sh'))
    assert run(root, busybox, [{'name': 'base', 'busybox': True}])['changed']
    assert os.path.islink(os.path.join(root, 'base/bin/sh'))


def test_a_directory_without_our_record_is_never_touched(root, busybox):
    os.makedirs(os.path.join(root, 'theirs'))
    with pytest.raises(ResourceError, match='not managed by'):
        run(root, busybox, [{'name': 'theirs', 'busybox': True}])
    run(root, busybox, [SITE])
    assert run(root, busybox, None, state='deleted')['after'] == []
    assert os.path.isdir(os.path.join(root, 'theirs')) and not os.path.exists(os.path.join(root, 'site'))


def test_check_mode_writes_nothing(root, busybox):
    result = run(root, busybox, [SITE, {'name': 'base', 'busybox': True}], check_mode=True)
    assert result['changed'] and [layer['name'] for layer in result['after']] == ['base', 'site']
    assert not os.path.exists(root)


def test_files_are_never_written_through_a_symlink(root, busybox, tmp_path):
    run(root, busybox, [{'name': 'site', 'files': [{'path': 'a.txt', 'content': 'x'}]}])
    outside = tmp_path / 'outside'
    outside.mkdir()
    os.symlink(str(outside), os.path.join(root, 'site/www'))
    with pytest.raises(ResourceError, match='symlink'):
        run(root, busybox, [SITE])
    assert list(outside.iterdir()) == []


def test_a_layer_a_mounted_overlay_uses_is_not_removed(root, busybox):
    run(root, busybox, [SITE])
    line = ('100 1 0:50 / /var/lib/anatomy/workloads/web/rootfs rw,relatime shared:1 - overlay overlay '
            'rw,lowerdir=%s/site:/var/lib/anatomy/layers/base,upperdir=/u,workdir=/w\n' % root)
    with pytest.raises(ResourceError, match='overlay at /var/lib/anatomy/workloads/web/rootfs uses it'):
        run(root, busybox, None, state='deleted', kernel=FakeKernel(line))
    assert os.path.isdir(os.path.join(root, 'site'))


@pytest.mark.parametrize('item, match', [
    ({'name': '..'}, "must not be '.' or '..'"),
    ({'name': '.anatomy'}, 'is reserved'),
    ({'name': 'a/b'}, "must not contain '/'"),
    ({'name': 'x', 'files': [{'path': '../escape', 'content': ''}]}, 'relative path inside the layer'),
    ({'name': 'x', 'files': [{'path': 'a', 'content': ''}, {'path': '/a', 'content': ''}]}, 'listed twice'),
    ({'name': 'x', 'files': [{'path': 'a', 'content': ''}, {'path': 'a/b', 'content': ''}]}, 'as a directory'),
    ({'name': 'x', 'files': [{'path': 'a', 'content': '', 'mode': '0998'}]}, 'mode must be octal'),
    ({'name': 'x', 'files': [{'path': 'a', 'content': None}]}, 'content must be a string'),
])
def test_bad_input_is_refused_before_any_change(root, busybox, item, match):
    with pytest.raises(ResourceError, match=match):
        run(root, busybox, [SITE, item])
    assert not os.path.exists(root)


def test_busybox_layer_needs_a_readable_busybox(root, tmp_path):
    with pytest.raises(ResourceError, match='install busybox-static'):
        run(root, str(tmp_path / 'missing'), [{'name': 'base', 'busybox': True}])


def test_normalize_file_path():
    assert normalize_file_path('/www//./index.html') == 'www/index.html'
    assert normalize_file_path('a/../b') is None and normalize_file_path('/') is None
