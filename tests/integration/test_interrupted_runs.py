# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interrupted runs: a setup killed midway, or a half-done account, converges on the next run
without duplicates or orphans (the custom policy is adopted, exactly one role, at most 5 versions),
and the teardown afterwards leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

from alibabacloud_ram20150501 import models as ram_models

from harness import ansible_command
from tests.emulator.sdkhelpers import ECS_TRUST, clients

ROLE = 'int-app'
CUSTOM = 'int-app-logs'
USER = 'int-deployer'
OSS = 'AliyunOSSReadOnlyAccess'
DOC = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': ['log:PostLogStoreLogs'], 'Resource': ['acs:log:*:*:project/int/*']}]}


def role_task(ids, state='present'):
    return {'name': 'instance role', 'ansible.builtin.include_role': {'name': 'alicloud.ram.instance_role'}, 'vars': {
        'instance_role_name': ROLE,
        'instance_role_state': state,
        'instance_role_description': 'interrupted runs',
        'instance_role_policies': [OSS, {'name': CUSTOM, 'type': 'Custom', 'document': DOC}],
        'instance_role_delete_custom_policies': True,
        'instance_role_instance_ids': ids,
        'instance_role_users': [USER],
        'instance_role_wait': True,
    }}


def vpc_ids(emu):
    return [i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc']


def assert_converged(emu, ids):
    state = emu.state()
    assert [r['RoleName'] for r in state['roles']] == [ROLE], state['roles']
    role = state['roles'][0]
    assert sorted((p['PolicyType'], p['PolicyName']) for p in role['policies']) == [('Custom', CUSTOM), ('System', OSS)]
    names = [p['PolicyName'] for p in state['policies']]
    assert sorted(names) == sorted([CUSTOM, 'PassRole-%s' % ROLE]), names
    for policy in state['policies']:
        assert 1 <= len(policy['versions']) <= 5, policy
    custom = next(p for p in state['policies'] if p['PolicyName'] == CUSTOM)
    default = next(v for v in custom['versions'] if v['VersionId'] == custom['DefaultVersion'])
    assert json.loads(default['PolicyDocument'])['Statement'][0]['Action'] == DOC['Statement'][0]['Action']
    assert sorted(i['InstanceId'] for i in state['instances'] if i['RamRoleName'] == ROLE) == sorted(ids)
    user = next(u for u in state['users'] if u['UserName'] == USER)
    assert [p['PolicyName'] for p in user['policies']] == ['PassRole-%s' % ROLE]
    return state


def assert_nothing_left(emu):
    state = emu.state()
    assert state['roles'] == [] and state['policies'] == [], (state['roles'], state['policies'])
    assert [i['InstanceId'] for i in state['instances'] if i['RamRoleName']] == []
    assert next(u for u in state['users'] if u['UserName'] == USER)['policies'] == []


def test_setup_killed_after_role_and_custom_policy_then_rerun_converges(runner, emu, tmp_path):
    emu.create_user(USER)
    ids = vpc_ids(emu)
    playbook = tmp_path / 'setup.yml'
    playbook.write_text(json.dumps([{'name': 'setup', 'hosts': 'localhost', 'gather_facts': False, 'connection': 'local',
                                     'module_defaults': runner.module_defaults(), 'tasks': [role_task(ids)]}]))
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('localhost ansible_connection=local\n')
    env = runner.environment(tmp_path / 'killed.jsonl')
    # the run is held at its first attach (after the role and its custom policy exist) and killed there
    emu.control('POST', 'barrier', {'count': 2, 'action': 'AttachInstanceRamRole', 'timeout': 600})
    proc = subprocess.Popen([ansible_command('ansible-playbook'), '-i', str(inventory), str(playbook)], cwd=str(tmp_path), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    killed_at = None
    pause = threading.Event()
    try:
        while proc.poll() is None and emu.control('GET', 'barrier').get('state') == 'waiting':
            if emu.control('GET', 'barrier').get('arrived'):
                os.killpg(proc.pid, signal.SIGKILL)
                killed_at = emu.state()
                break
            pause.wait(0.1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=300)
        emu.control('DELETE', 'barrier')  # the held attach is answered with a refusal: it never took effect
    assert killed_at is not None, 'the run ended before it reached the attach'
    assert killed_at['roles'] and any(p['PolicyName'] == CUSTOM for p in killed_at['policies'])
    half = emu.state()
    holders = [i for i in half['instances'] if i['RamRoleName'] == ROLE]
    granted = next(u for u in half['users'] if u['UserName'] == USER)['policies']
    assert len(holders) < len(ids) or not granted, 'the kill came too late: the run had finished its work'

    emu.clear_calls()
    runner.run_tasks([role_task(ids)])
    assert_converged(emu, ids)
    created = [c['action'] for c in emu.calls() if c['status'] == 200 and c['action'] in ('CreateRole', 'CreatePolicy')]
    assert 'CreateRole' not in created, 'the role made by the killed run must be adopted'
    assert created.count('CreatePolicy') <= 1, created  # only the PassRole policy, if the kill came before it
    print('\nRELIABILITY interrupted: killed_with roles=%d policies=%d attached_instances=%d -> converged' % (
        len(killed_at['roles']), len(killed_at['policies']), len(holders)))

    runner.run_tasks([role_task(ids, state='absent')])
    assert_nothing_left(emu)


def test_half_done_account_is_adopted_and_cleaned_up(runner, emu):
    """A role without policies, the custom policy at 5 versions with another default, the user's grant policy unattached."""
    emu.create_user(USER)
    ids = vpc_ids(emu)
    ram, _ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name=ROLE, assume_role_policy_document=ECS_TRUST))
    for n in range(5):
        document = json.dumps({'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'log:GetProject%d' % n, 'Resource': '*'}]})
        if n == 0:
            ram.create_policy(ram_models.CreatePolicyRequest(policy_name=CUSTOM, policy_document=document))
        else:
            ram.create_policy_version(ram_models.CreatePolicyVersionRequest(policy_name=CUSTOM, policy_document=document,
                                                                            set_as_default=(n == 2)))
    # the grant of this role as an interrupted run may have left it, without the instance management actions
    stale = json.dumps({'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'ram:PassRole',
                                                       'Resource': 'acs:ram::%s:role/%s' % (emu.account_id, ROLE)}]})
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name='PassRole-%s' % ROLE, policy_document=stale))
    emu.clear_calls()

    first = runner.run_tasks([role_task(ids)])
    state = assert_converged(emu, ids)
    assert first.changed
    custom = next(p for p in state['policies'] if p['PolicyName'] == CUSTOM)
    assert len(custom['versions']) == 5, custom['versions']
    passrole = next(p for p in state['policies'] if p['PolicyName'] == 'PassRole-%s' % ROLE)
    assert json.loads(next(v for v in passrole['versions'] if v['VersionId'] == passrole['DefaultVersion'])['PolicyDocument']) != \
        json.loads(stale), 'the stale grant of this role must be brought to the wanted document'
    assert not [c for c in emu.calls() if c['action'] in ('CreateRole', 'CreatePolicy')], 'existing role and policies are adopted'

    runner.run_tasks([role_task(ids, state='absent')])
    assert_nothing_left(emu)


def test_teardown_after_the_role_is_gone_removes_the_orphaned_custom_policy(runner, emu):
    """The role was deleted (by hand, or by a teardown interrupted and finished elsewhere) but the
    custom policy it used remains. A teardown must still delete that policy: ram_role_policy with
    state=absent on a role that no longer exists has nothing to detach, like every other absent state.
    """
    ram, _ecs, _sts = clients(emu)
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name=CUSTOM, policy_document=json.dumps(DOC)))
    emu.clear_calls()

    res = runner.run_tasks([
        {'name': 'policies absent', 'alicloud.ram.ram_role_policy': {
            'role_name': ROLE, 'state': 'absent', 'delete_unused_custom_policies': True,
            'policies': [OSS, {'name': CUSTOM, 'document': DOC}]}, 'ignore_errors': True},
    ])

    result = res.by_name('policies absent')
    assert result['status'] != 'failed', result['result'].get('msg')
    assert result['result']['deleted_policies'] == [CUSTOM], result
    assert emu.state()['policies'] == []
