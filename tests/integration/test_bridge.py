# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bridge on a real lab host: every state, check mode and diff, against `ip -d link` and `ip addr`."""

from __future__ import annotations

import pytest

from ansible_collections.anatomy.containers.plugins.module_utils._netlink_resources import bridge_mac
from tests.integration.test_netns import M, converge_checked, links, reset

#: Links the tests make by hand, as a workload's veth would be: removed before and after.
HAND_MADE = ('theirbr', 'vmac1', 'vmac2', 'vmac3')


@pytest.fixture(scope='module', autouse=True)
def clean(ansible, host):
    reset(ansible, host, foreign_links=HAND_MADE)
    yield
    reset(ansible, host, foreign_links=HAND_MADE)


def addresses(host, name):
    return sorted('%s/%d' % (a['local'], a['prefixlen'])
                  for i in host.json('ip -j addr show dev %s' % name) for a in i['addr_info']
                  if not a['local'].startswith('fe80:'))


def test_bridge_lifecycle(ansible, host):
    config = [{'name': 'acbr0', 'addresses': ['172.31.7.1/24', '2001:DB8:7::1/64'], 'mtu': 1400}]
    want = {'name': 'acbr0', 'addresses': ['172.31.7.1/24', '2001:db8:7::1/64'], 'mtu': 1400, 'stp': False,
            'mac': bridge_mac('acbr0')}

    def nothing_yet(check):
        assert check['after'] == [want] and 'acbr0' not in links(host)

    result = converge_checked(ansible, host, 'bridge', {'config': config}, before_apply=nothing_yet)
    assert result['after'] == [want]
    link = links(host)['acbr0']
    assert link['linkinfo']['info_kind'] == 'bridge' and link['ifalias'] == 'anatomy.containers:bridge'
    assert link['mtu'] == 1400 and 'UP' in link['flags'] and link['linkinfo']['info_data']['stp_state'] == 0
    assert addresses(host, 'acbr0') == ['172.31.7.1/24', '2001:db8:7::1/64']
    assert host.run('ping -c1 -W1 172.31.7.1').returncode == 0

    # merged: only what is given changes
    result = converge_checked(ansible, host, 'bridge', {'config': [{'name': 'acbr0', 'mtu': 9000, 'stp': True,
                                                                    'addresses': ['172.31.7.1/24', '172.31.8.1/24']}]})
    assert result['after'][0] == {'name': 'acbr0', 'addresses': ['172.31.7.1/24', '172.31.8.1/24'], 'mtu': 9000,
                                  'stp': True, 'mac': bridge_mac('acbr0')}
    link = links(host)['acbr0']
    assert link['mtu'] == 9000 and link['linkinfo']['info_data']['stp_state'] == 1
    assert addresses(host, 'acbr0') == ['172.31.7.1/24', '172.31.8.1/24']

    # replaced: what is not given goes back to its default
    result = converge_checked(ansible, host, 'bridge', {'config': [{'name': 'acbr0'}], 'state': 'replaced'})
    assert result['after'] == [{'name': 'acbr0', 'addresses': [], 'mtu': 1500, 'stp': False,
                                'mac': bridge_mac('acbr0')}]
    assert addresses(host, 'acbr0') == [] and links(host)['acbr0']['mtu'] == 1500

    gathered = ansible(host, M + 'bridge', {'state': 'gathered'})
    assert gathered['gathered'] == result['after'] and not gathered['changed']

    # overridden: acbr1 stays, acbr0 goes
    ansible(host, M + 'bridge', {'config': [{'name': 'acbr1'}]})
    result = converge_checked(ansible, host, 'bridge', {'config': [{'name': 'acbr1'}], 'state': 'overridden'})
    assert [b['name'] for b in result['after']] == ['acbr1']
    assert 'acbr0' not in links(host) and 'acbr1' in links(host)

    result = converge_checked(ansible, host, 'bridge', {'config': [{'name': 'acbr1'}], 'state': 'deleted'})
    assert result['after'] == [] and 'acbr1' not in links(host)


def test_the_bridge_mac_stays_when_ports_with_lower_macs_join(ansible, host):
    """A bridge with no MAC set takes the lowest of its ports': adding a workload would change the gateway's MAC."""
    derived = bridge_mac('acbr3')
    assert int(derived[:2], 16) & 0x07 == 0x06 and not derived.startswith('02:')
    result = ansible(host, M + 'bridge', {'config': [{'name': 'acbr3', 'addresses': ['172.31.10.1/24']}]})
    assert result['_status'] == 'ok'
    made = links(host)['acbr3']['address']
    # Ports with MACs lower than any the bridge could have (00:...), joining one after the other, as workloads do.
    for number in (1, 2):
        assert host.run('ip link add vmac{0} address 00:00:00:00:00:0{0} type veth peer name vmac{0}p && '
                        'ip link set vmac{0} master acbr3 up && ip link set vmac{0}p up'.format(number)).returncode == 0
        assert links(host)['vmac%d' % number]['master'] == 'acbr3'
        assert links(host)['acbr3']['address'] == made, 'the bridge took a port MAC'
    assert made == derived and result['after'][0]['mac'] == derived
    # Leaving changes nothing either, and the module sees no difference.
    host.run('ip link del vmac1')
    assert links(host)['acbr3']['address'] == derived
    again = ansible(host, M + 'bridge', {'config': [{'name': 'acbr3', 'addresses': ['172.31.10.1/24']}],
                                         'state': 'overridden'})
    assert again['_status'] == 'ok' and not again['changed'] and again['after'][0]['mac'] == derived


def test_a_bridge_with_another_mac_is_brought_to_its_own(ansible, host):
    ansible(host, M + 'bridge', {'config': [{'name': 'acbr4'}], 'state': 'overridden'})
    host.run('ip link set acbr4 address 00:00:00:00:00:03')
    assert links(host)['acbr4']['address'] == '00:00:00:00:00:03'
    result = converge_checked(ansible, host, 'bridge', {'config': [{'name': 'acbr4'}], 'state': 'replaced'})
    assert result['before'][0]['mac'] == '00:00:00:00:00:03' and result['after'][0]['mac'] == bridge_mac('acbr4')
    assert links(host)['acbr4']['address'] == bridge_mac('acbr4')
    # A MAC of one's choosing, in any case; it holds when a port with a lower MAC joins.
    result = converge_checked(ansible, host, 'bridge', {'config': [{'name': 'acbr4', 'mac': '02:AB:00:00:00:04'}]})
    assert result['after'][0]['mac'] == '02:ab:00:00:00:04'
    host.run('ip link add vmac3 address 00:00:00:00:00:01 type veth peer name vmac3p && ip link set vmac3 master acbr4 up')
    assert links(host)['acbr4']['address'] == '02:ab:00:00:00:04'
    bad = ansible(host, M + 'bridge', {'config': [{'name': 'acbr4', 'mac': '01:00:5e:00:00:01'}]})
    assert bad['_status'] == 'failed' and 'multicast' in bad['msg'] and bad['field'] == 'mac'
    host.run('ip link del vmac3')


def test_a_bridge_made_by_someone_else_is_never_touched(ansible, host):
    host.run('ip link add theirbr type bridge && ip addr add 172.31.9.1/24 dev theirbr')
    for state in ('merged', 'replaced', 'overridden', 'deleted'):
        result = ansible(host, M + 'bridge', {'config': [{'name': 'theirbr', 'mtu': 1400}], 'state': state})
        assert result['_status'] == 'failed' and "bridge 'theirbr' exists and is not managed" in result['msg']
    ansible(host, M + 'bridge', {'config': [], 'state': 'overridden'})
    ansible(host, M + 'bridge', {'state': 'deleted'})
    assert links(host)['theirbr']['mtu'] == 1500 and addresses(host, 'theirbr') == ['172.31.9.1/24']
    host.run('ip link del theirbr')


@pytest.mark.parametrize('item, field, message', [
    ({'name': 'acbr2', 'mtu': 67}, 'mtu', 'mtu must be an integer from 68 to 65535'),
    ({'name': 'acbr2', 'mtu': 65536}, 'mtu', 'mtu must be an integer from 68 to 65535'),
    ({'name': 'acbr2', 'addresses': ['172.31.7.300/24']}, 'addresses', 'not a valid CIDR'),
    ({'name': 'acbr2', 'addresses': ['172.31.7.1']}, 'addresses', 'ADDRESS/PREFIX'),
    ({'name': 'sixteen-bytes-xx'}, 'name', 'at most 15'),
    ({'name': 'br:0'}, 'name', 'not a valid interface name'),
    ({'name': 'br 0'}, 'name', 'not a valid interface name'),
])
def test_bridge_bad_input_fails_before_any_change(ansible, host, item, field, message):
    result = ansible(host, M + 'bridge', {'config': [{'name': 'acbr9'}, item]})
    assert result['_status'] == 'failed' and message in result['msg'] and result['field'] == field, result
    assert result['index'] == 1 and 'acbr9' not in links(host)
