# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""layer on a real lab host: a busybox base layer that runs, file layers, an overlay of both, refusals."""

from __future__ import annotations

import pytest

from tests.integration.test_overlay_mount import converge_checked, failed

M = 'anatomy.containers.'
ROOT = '/var/lib/anatomy/it-layers'
SITE = {'name': 'site', 'files': [{'path': 'www/index.html', 'content': 'hello from a layer\n'},
                                  {'path': 'etc/passwd', 'content': 'root:x:0:0::/:/bin/sh\nweb:x:80:80::/:/bin/false\n'}]}


def params(config, **extra):
    return dict({'config': config, 'layers_root': ROOT}, **extra)


@pytest.fixture
def host(hosts, ansible):
    host = hosts[0]

    def clean():
        ansible.tasks(host, [{M + 'overlay_mount': {'state': 'deleted', 'purge': True, 'lazy_unmount': True}},
                             {M + 'layer': {'state': 'deleted', 'layers_root': ROOT}}])
        host.run('rm -rf %s /var/lib/anatomy/it-layers-view' % ROOT)
    clean()
    yield host
    clean()


def test_layers_are_built_and_an_overlay_of_them_runs_busybox(ansible, host):
    applied = converge_checked(ansible, host, 'layer', params([{'name': 'base', 'busybox': True}, SITE]))
    assert [(layer['name'], layer['busybox']) for layer in applied['after']] == [('base', True), ('site', False)]
    view = '/var/lib/anatomy/it-layers-view'
    result = ansible(host, M + 'overlay_mount', {'config': [{'path': view, 'lower': [ROOT + '/site', ROOT + '/base']}]})
    assert result['_status'] == 'ok', result.get('msg')
    # The site layer's passwd hides the base layer's; busybox runs from the merged root.
    out = host.run("chroot %s /bin/sh -c 'cat /www/index.html; grep -c web /etc/passwd; ls /bin/wget'" % view).stdout
    assert out == 'hello from a layer\n1\n/bin/wget\n'
    # A layer that a mounted overlay uses is never removed.
    failed(ansible, host, 'layer', {'state': 'deleted', 'layers_root': ROOT}, 'uses it; unmount that first')
    assert host.run('test -x %s/base/bin/busybox' % ROOT, check=False).returncode == 0


def test_hand_edits_are_put_back_and_unlisted_files_removed(ansible, host):
    ansible(host, M + 'layer', params([SITE]))
    host.run('echo defaced > %s/site/www/index.html && touch %s/site/www/theirs.html' % (ROOT, ROOT))
    result = ansible(host, M + 'layer', params([SITE]), diff=True)
    assert result['changed'] and result['diff']['before']['config'][0]['files'][1]['content'] == 'defaced\n'
    assert host.run('cat %s/site/www/index.html' % ROOT).stdout == 'hello from a layer\n'
    result = ansible(host, M + 'layer', params([{'name': 'site', 'files': SITE['files'][:1]}]))
    assert result['changed']
    assert host.run('test -e %s/site/etc/passwd' % ROOT, check=False).returncode == 1
    assert host.run('test -e %s/site/www/theirs.html' % ROOT).returncode == 0


def test_a_directory_we_did_not_build_is_refused_and_kept(ansible, host):
    host.run('mkdir -p %s/theirs && echo mine > %s/theirs/file' % (ROOT, ROOT))
    failed(ansible, host, 'layer', params([{'name': 'theirs', 'busybox': True}]), 'not managed by')
    ansible(host, M + 'layer', params([SITE]))
    gone = ansible(host, M + 'layer', {'state': 'deleted', 'layers_root': ROOT})
    assert gone['changed'] and gone['after'] == []
    assert host.run('cat %s/theirs/file' % ROOT).stdout == 'mine\n'


@pytest.mark.parametrize('bad, match', [
    ({'name': '..'}, "must not be '.' or '..'"),
    ({'name': 'x', 'files': [{'path': '../../etc/cron.d/x', 'content': ''}]}, 'relative path inside the layer'),
    ({'name': 'x', 'files': [{'path': 'a', 'content': '', 'mode': '999'}]}, 'mode must be octal'),
])
def test_bad_input_fails_before_any_change(ansible, host, bad, match):
    failed(ansible, host, 'layer', params([SITE, bad]), match)
    assert host.run('test -e %s' % ROOT, check=False).returncode == 1
