# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns on a real lab host: every state, check mode and diff, against what `ip netns` sees.

Also the helpers the other network module tests share (reset, converge_checked, links).
"""

from __future__ import annotations

import pytest

M = 'anatomy.containers.'
NETWORK_MODULES = ('netns_addr', 'veth', 'bridge', 'netns')
#: What the host had after the last reset (other tests' leftovers): the checks here look past it.
BASELINE = {'netns': set(), 'links': set()}


def reset(ansible, host, foreign_netns=(), foreign_links=()):
    """Remove every network object the collection owns on the host, and the named foreign ones."""
    results = ansible.tasks(host, [{M + name: {'state': 'deleted'}} for name in NETWORK_MODULES])
    assert all(r['_status'] == 'ok' for r in results), [r.get('msg') for r in results]
    for name in foreign_links:
        host.run('ip link del %s 2>/dev/null; true' % name)
    for name in foreign_netns:
        host.run('ip netns del %s 2>/dev/null; true' % name)
    BASELINE['netns'] = set(host.run('ls /run/netns 2>/dev/null; true').stdout.split())
    BASELINE['links'] = set(links(host))


def converge_checked(ansible, host, module, params, before_apply=None):
    """check mode (changed, nothing done), then apply, check, apply: changed, not, not. Returns the apply result.

    before_apply(check_result) runs between the check-mode run and the real one, to assert on the kernel.
    """
    check = ansible(host, M + module, params, check=True, diff=True)
    assert check['_status'] == 'ok', check.get('msg')
    assert check['changed'] and check['diff']['before'] != check['diff']['after'], check
    if before_apply:
        assert before_apply(check) is not False, 'before the real run'
    results = ansible.tasks(host, [
        {M + module: params, 'diff': True},
        {M + module: params, 'check_mode': True, 'diff': True},
        {M + module: params},
    ])
    assert [r['_status'] for r in results] == ['ok'] * 3, [r.get('msg') for r in results]
    assert [r['changed'] for r in results] == [True, False, False], results
    applied = results[0]
    assert applied['diff'] == {'before': {'config': applied['before']}, 'after': {'config': applied['after']}}
    # Check mode predicted what the real run did (a value the kernel picks, like a MAC, predicted as None).
    assert len(check['after']) == len(applied['after'])
    for predicted, real in zip(check['after'], applied['after']):
        assert {k: v for k, v in predicted.items() if v is not None} == \
            {k: v for k, v in real.items() if k in predicted and predicted[k] is not None}, (predicted, real)
    return applied


def netns_list(host):
    """The named namespaces, but for those that were there at the last reset."""
    return sorted(set(host.run('ls /run/netns 2>/dev/null; true').stdout.split()) - BASELINE['netns'])


def new_links(host):
    """The links of the host's namespace that were not there at the last reset."""
    return sorted(set(links(host)) - BASELINE['links'])


def links(host, netns=None):
    """{name: link} as `ip -j -d link` shows them, in a namespace or the host's."""
    prefix = 'ip -n %s' % netns if netns else 'ip'
    return {link['ifname']: link for link in host.json('%s -j -d link show' % prefix)}


@pytest.fixture(scope='module', autouse=True)
def clean(ansible, host):
    reset(ansible, host, foreign_netns=('theirs',))
    yield
    reset(ansible, host, foreign_netns=('theirs',))


def test_netns_lifecycle(ansible, host):
    config = [{'name': 'ns-a'}, {'name': 'ns-b'}]

    def nothing_yet(check):
        assert check['after'] == config and netns_list(host) == []

    result = converge_checked(ansible, host, 'netns', {'config': config}, before_apply=nothing_yet)
    assert result['before'] == [] and result['after'] == config
    assert netns_list(host) == ['ns-a', 'ns-b']
    # `ip netns` works with them: exec, and lo is up and marked.
    assert 'ns-a' in host.run('ip netns list').stdout
    lo = links(host, 'ns-a')['lo']
    assert 'UP' in lo['flags'] and lo['ifalias'] == 'anatomy.containers:netns'
    assert host.run('ip netns exec ns-b ping -c1 -W1 127.0.0.1').returncode == 0
    # The mount survives in other mount namespaces: /run/netns is a shared mount, as ip netns makes it.
    assert host.run('findmnt -no PROPAGATION /run/netns').stdout.strip().startswith('shared')

    gathered = ansible(host, M + 'netns', {'state': 'gathered'})
    assert gathered['gathered'] == config and not gathered['changed']

    replaced = ansible(host, M + 'netns', {'config': [{'name': 'ns-a'}], 'state': 'replaced'})
    assert not replaced['changed']

    result = converge_checked(ansible, host, 'netns', {'config': [{'name': 'ns-b'}], 'state': 'overridden'},
                              before_apply=lambda check: netns_list(host) == ['ns-a', 'ns-b'])
    assert result['after'] == [{'name': 'ns-b'}] and netns_list(host) == ['ns-b']

    result = converge_checked(ansible, host, 'netns', {'state': 'deleted'},
                              before_apply=lambda check: netns_list(host) == ['ns-b'])
    assert result['after'] == [] and netns_list(host) == []
    assert not {'ns-a', 'ns-b'} & set(host.run('ip netns list').stdout.split())


def test_netns_brings_lo_back_up(ansible, host):
    ansible(host, M + 'netns', {'config': [{'name': 'ns-lo'}]})
    host.run('ip -n ns-lo link set lo down')
    check = ansible(host, M + 'netns', {'config': [{'name': 'ns-lo'}]}, check=True)
    assert check['changed'] and 'UP' not in links(host, 'ns-lo')['lo']['flags']
    result = ansible(host, M + 'netns', {'config': [{'name': 'ns-lo'}]})
    assert result['changed'] and 'UP' in links(host, 'ns-lo')['lo']['flags']
    assert host.run('ip netns exec ns-lo ping -c1 -W1 127.0.0.1').returncode == 0
    assert not ansible(host, M + 'netns', {'config': [{'name': 'ns-lo'}]})['changed']
    ansible(host, M + 'netns', {'config': [{'name': 'ns-lo'}], 'state': 'deleted'})


def test_netns_made_by_ip_netns_is_never_touched(ansible, host):
    host.run('ip netns add theirs')
    ansible(host, M + 'netns', {'config': [{'name': 'ours'}]})
    for state in ('merged', 'replaced', 'overridden', 'deleted'):
        result = ansible(host, M + 'netns', {'config': [{'name': 'theirs'}], 'state': state})
        assert result['_status'] == 'failed' and "'theirs' exists and is not managed" in result['msg'], result
    for state in ('overridden', 'deleted'):
        result = ansible(host, M + 'netns', {'config': [], 'state': state})
        assert result['_status'] == 'ok' and 'theirs' in netns_list(host)
    assert netns_list(host) == ['theirs']
    assert ansible(host, M + 'netns', {'state': 'gathered'})['gathered'] == []
    host.run('ip netns del theirs')


@pytest.mark.parametrize('name, message', [('a/b', "name 'a/b' is not a valid namespace name"),
                                           ('..', "name '..' is not a valid")])
def test_netns_bad_input_fails_before_any_change(ansible, host, name, message):
    result = ansible(host, M + 'netns', {'config': [{'name': 'fine'}, {'name': name}]})
    assert result['_status'] == 'failed' and message in result['msg'] and result['field'] == 'name'
    assert result['index'] == 1 and netns_list(host) == []


def test_netns_duplicates_fail(ansible, host):
    result = ansible(host, M + 'netns', {'config': [{'name': 'x'}, {'name': 'x'}]})
    assert result['_status'] == 'failed' and 'listed twice' in result['msg'] and netns_list(host) == []
