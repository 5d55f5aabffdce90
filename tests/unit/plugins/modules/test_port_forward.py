# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nat_masquerade and port_forward main(): the argument spec, the docs, and a run against fake commands."""

from __future__ import annotations

import contextlib

import pytest
import yaml

from ansible_collections.anatomy.containers.plugins.module_utils._netfilter import engine
from ansible_collections.anatomy.containers.plugins.modules import nat_masquerade, port_forward
from tests.unit.support.modules import read_output, run_main as run_module_main
from tests.unit.support import netfilter_fakes as FAKES


def run_main(module, monkeypatch, runner, args, check=False):
    monkeypatch.setattr(engine, 'ModuleRunner', lambda _m: runner)
    monkeypatch.setattr(engine, 'run_lock', contextlib.nullcontext)
    run_module_main(module, args, check=check)


@pytest.fixture
def output(capsys):
    return read_output(capsys)


@pytest.mark.parametrize('module', [nat_masquerade, port_forward])
def test_documented_options_match_the_argument_spec(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    suboptions = doc['options']['config']['suboptions']
    for name, spec in suboptions.items():
        # No defaults on config suboptions: merged must tell "not given" from "given".
        assert 'default' not in spec, name
    assert set(doc['options']) == {'config', 'backend'} | ({'sysctl_file'} if module is nat_masquerade else set())
    assert doc['extends_documentation_fragment'] == [
        'anatomy.containers._attributes', 'anatomy.containers._attributes.RESOURCE',
        'anatomy.containers._resource_state', 'anatomy.containers._restore_record']
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)


def test_port_forward_main_publishes_and_is_idempotent(monkeypatch, output):
    runner = FAKES.FakeRunner()
    args = {'backend': 'iptables', 'config': [{'host_port': 80, 'destination': '10.88.0.3', 'destination_port': 8080}]}
    run_main(port_forward, monkeypatch, runner, args)
    first = output()
    assert first['changed'] and first['backend'] == 'iptables' and first['after'][0]['host_port'] == '80'
    run_main(port_forward, monkeypatch, runner, args)
    assert not output()['changed']


def test_nat_masquerade_main_check_mode_changes_nothing(monkeypatch, output):
    runner = FAKES.FakeRunner()
    run_main(nat_masquerade, monkeypatch, runner, {'backend': 'iptables', 'config': [{'subnet': '10.88.0.0/24'}]},
             check=True)
    result = output()
    assert result['changed'] and result['after'][0]['out_interface'] == 'eth0'
    assert runner.iptables.save() == FAKES.FakeIptables().save()


def test_bad_input_fails_with_the_field(monkeypatch, output):
    runner = FAKES.FakeRunner()
    run_main(nat_masquerade, monkeypatch, runner, {'backend': 'iptables', 'config': [{'subnet': '10.88.0.1/24'}]})
    result = output()
    assert result['failed'] and 'host bits set' in result['msg'] and (result['index'], result['field']) == (0, 'subnet')
