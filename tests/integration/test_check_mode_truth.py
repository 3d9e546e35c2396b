# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode tells the truth: for a matrix of start states, ``--check --diff`` predicts exactly the
``changed`` flag, result and diff of the real run that follows.

All start states live side by side in one account (distinct names), so one check run and one
real run of the same playbook cover the whole matrix.
"""

from __future__ import annotations

import json

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ram20150501 import models as ram_models

from tests.emulator.sdkhelpers import ECS_TRUST, clients

OSS = 'AliyunOSSReadOnlyAccess'
ECS_RO = 'AliyunECSReadOnlyAccess'
VPC_RO = 'AliyunVPCReadOnlyAccess'
DOC = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': ['log:PostLogStoreLogs'], 'Resource': ['*']}]}
OLD_DOC = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'log:GetLogStore', 'Resource': '*'}]}
# fields only the service assigns: a check run cannot know them for a role it would create
SERVICE_ASSIGNED = ('role_id', 'arn', 'create_date', 'update_date')

COMPARED = {
    'alicloud.ram.ram_instance_role': ('role', 'detached_policies', 'detached_instance_ids'),
    'alicloud.ram.ram_role_policy': ('role_name', 'attached_policies', 'attached', 'detached', 'created_policies',
                                     'updated_policies', 'deleted_policies'),
    'alicloud.ram.ecs_instance_role_attachment': ('attachments', 'changed_instance_ids', 'failed_instances'),
    'alicloud.ram.ram_user_role_grant': ('user_name', 'role_arn', 'policy_name', 'policy_document', 'attached',
                                         'policy_deleted', 'policy_used_by', 'policy_action'),
}


def start_states(emu):
    """Create the matrix of start states through the API; return the instance ids used.

    Each task of the matrix works on names no earlier task touches, so the check run, which
    changes nothing, sees the same start state for every task as the real run does.
    """
    ram, ecs, _sts = clients(emu)
    vpc = [i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc'] + emu.seed_instances(4)
    # B: a role with drift (description, session duration, tags)
    ram.create_role(ram_models.CreateRoleRequest(role_name='ct-drift', assume_role_policy_document=ECS_TRUST,
                                                 description='old', tag=[ram_models.CreateRoleRequestTag(key='old', value='1')]))
    # C: policies partly attached, a custom policy with another document, an extra policy to purge
    ram.create_role(ram_models.CreateRoleRequest(role_name='ct-pol', assume_role_policy_document=ECS_TRUST))
    for name in (OSS, VPC_RO):
        ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_name=name, policy_type='System', role_name='ct-pol'))
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name='ct-pol-doc', policy_document=json.dumps(OLD_DOC)))
    # D: instances partly attached, one holding another role (replaced with force)
    for name in ('ct-att', 'ct-other', 'ct-gone', 'ct-del'):
        ram.create_role(ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=ECS_TRUST))
    for role, ids in (('ct-att', vpc[0:2]), ('ct-other', vpc[2:3]), ('ct-gone', vpc[4:6]), ('ct-del', vpc[6:7])):
        ecs.attach_instance_ram_role(ecs_models.AttachInstanceRamRoleRequest(
            region_id='cn-hangzhou', ram_role_name=role, instance_ids=json.dumps(ids)))
    # F: a role to delete that still has a policy and instances
    for role in ('ct-gone', 'ct-del'):
        ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_name=OSS, policy_type='System', role_name=role))
    # E: a user grant present for ct-att (made by the module's own document, see the first task below)
    for user in ('ct-user', 'ct-user2', 'ct-user3'):
        emu.create_user(user)
    return vpc


def matrix_tasks(vpc):
    return [
        # A: nothing exists
        ('alicloud.ram.ram_instance_role', 'A create role', {
            'name': 'ct-new', 'description': 'new role', 'max_session_duration': 7200, 'tags': {'team': 'a'}}),
        ('alicloud.ram.ram_user_role_grant', 'A grant on a role that exists, policy that does not', {
            'user_name': 'ct-user2', 'role_name': 'ct-pol'}),
        # B: role exists with drift
        ('alicloud.ram.ram_instance_role', 'B fix drift', {
            'name': 'ct-drift', 'description': 'new', 'max_session_duration': 10800, 'tags': {'team': 'b'},
            'trusted_services': ['ecs.aliyuncs.com', 'fc.aliyuncs.com']}),
        ('alicloud.ram.ram_instance_role', 'B no drift', {'name': 'ct-att'}),
        # C: policies partly attached
        ('alicloud.ram.ram_role_policy', 'C attach, update custom, purge', {
            'role_name': 'ct-pol', 'purge_policies': True,
            'policies': [OSS, ECS_RO, {'name': 'ct-pol-doc', 'document': DOC}, {'name': 'ct-pol-new', 'document': DOC}]}),
        ('alicloud.ram.ram_role_policy', 'C detach', {'role_name': 'ct-gone', 'state': 'absent', 'policies': [OSS, ECS_RO]}),
        # D: instances partly attached, one holding another role
        ('alicloud.ram.ecs_instance_role_attachment', 'D attach with force', {
            'role_name': 'ct-att', 'instance_ids': vpc[0:4], 'force': True}),
        ('alicloud.ram.ecs_instance_role_attachment', 'D detach', {
            'role_name': 'ct-gone', 'instance_ids': vpc[4:6] + vpc[0:1], 'state': 'absent'}),
        # E: user grant present / absent
        ('alicloud.ram.ram_user_role_grant', 'E grant already present', {'user_name': 'ct-user', 'role_name': 'ct-att'}),
        ('alicloud.ram.ram_user_role_grant', 'E revoke, policy kept for the other user', {
            'user_name': 'ct-user3', 'role_name': 'ct-att', 'state': 'absent'}),
        ('alicloud.ram.ram_user_role_grant', 'E second user shares the policy', {'user_name': 'ct-user2', 'role_name': 'ct-att'}),
        # F: delete a role that still has policies and instances
        ('alicloud.ram.ram_instance_role', 'F delete with force', {'name': 'ct-del', 'state': 'absent', 'force': True}),
    ]


def comparable(action, result):
    view = dict((key, result.get(key)) for key in COMPARED[action] if key in result)
    if isinstance(view.get('role'), dict):
        view['role'] = dict((k, v) for k, v in view['role'].items() if k not in SERVICE_ASSIGNED)
    return view


def test_check_mode_predicts_the_real_run_for_every_start_state(runner, emu):
    vpc = start_states(emu)
    # E start state: the grants of ct-user and ct-user3 made for real, so the stored policy is the module's own
    runner.run_tasks([{'name': 'grant %s' % user, 'alicloud.ram.ram_user_role_grant': {'user_name': user, 'role_name': 'ct-att'}}
                      for user in ('ct-user', 'ct-user3')])
    cases = matrix_tasks(vpc)
    tasks = [{'name': name, action: args} for action, name, args in cases]
    before = emu.state()
    emu.clear_calls()

    predicted = runner.run_tasks(tasks, check=True, diff=True)
    assert emu.write_calls() == [], 'check mode wrote'
    assert emu.state() == before, 'check mode changed the account'

    real = runner.run_tasks(tasks, diff=True)

    mismatches = []
    for action, name, _args in cases:
        guess, truth = predicted.by_name(name), real.by_name(name)
        if guess['changed'] != truth['changed']:
            mismatches.append('%s: changed %s in check mode, %s for real' % (name, guess['changed'], truth['changed']))
        if comparable(action, guess['result']) != comparable(action, truth['result']):
            mismatches.append('%s: result\n  check %s\n  real  %s' % (
                name, comparable(action, guess['result']), comparable(action, truth['result'])))
        if guess['result'].get('diff') != truth['result'].get('diff'):
            mismatches.append('%s: diff\n  check %s\n  real  %s' % (name, guess['result'].get('diff'), truth['result'].get('diff')))
    changed = sum(1 for _a, name, _r in cases if real.by_name(name)['changed'])
    print('\nRELIABILITY check mode: start_states=6 tasks=%d changed=%d mismatches=%d' % (len(cases), changed, len(mismatches)))
    assert mismatches == [], '\n'.join(mismatches)
    assert changed == len(cases) - 2, 'B no drift and E grant already present change nothing; all others change'

    state = emu.state()
    holders = dict((i['InstanceId'], i['RamRoleName']) for i in state['instances'])
    assert [holders[i] for i in vpc[0:7]] == ['ct-att'] * 4 + ['', '', '']
    assert 'ct-del' not in [r['RoleName'] for r in state['roles']]
