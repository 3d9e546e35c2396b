# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode tells the truth: for a matrix of start states, ``--check --diff`` predicts exactly the
``changed`` flag, result (the done lists included) and diff of the real run that follows, and fails
exactly like it on input RAM would refuse.

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
    'alicloud.ram.ram_user_role_grant': ('user_name', 'group_name', 'grantee_role_name', 'role_arn', 'policy_name', 'policy_document',
                                         'attached', 'policy_deleted', 'policy_used_by', 'policy_action', 'created_policies',
                                         'updated_policies', 'attached_to', 'detached_from', 'deleted_policies'),
    'alicloud.ram.ecs_instance_metadata_options': ('instances', 'changed_instance_ids', 'failed_instances'),
}
# every task changes something, except these
UNCHANGED = ('B no drift', 'E grant already present', 'H already hardened')
# documents and names RAM would refuse: the real run fails before any write, and check mode fails alike
REFUSED = {
    'I permission policy RAM would refuse': 'Effect must be Allow or Deny',
    'I oversize permission policy': 'the limit is 6144',
    'I trust policy of another version': 'RAM accepts only "1"',
    'I attach policy over 1024 characters': 'the limit is 1024',
    'I grant under a policy name held elsewhere': 'policy ct-shared is not a PassRole grant (held by user ct-user)',
}


def start_states(emu):
    """Create the matrix of start states through the API; return the instance ids used.

    Each task of the matrix works on names no earlier task touches, so the check run, which
    changes nothing, sees the same start state for every task as the real run does.
    """
    ram, ecs, _sts = clients(emu)
    vpc = [i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc'] + emu.seed_instances(8)
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
    # C: a custom policy at the 5-version limit whose default is not the newest
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name='ct-pol-full', policy_document=json.dumps(OLD_DOC)))
    for n in range(2, 6):
        ram.create_policy_version(ram_models.CreatePolicyVersionRequest(
            policy_name='ct-pol-full', set_as_default=(n == 3), policy_document=json.dumps(
                {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'log:GetProject%d' % n, 'Resource': '*'}]})))
    # G: a group and a deployer role as grantees, each for a role of its own
    emu.create_group('ct-group')
    for name in ('ct-deployer', 'ct-g1', 'ct-g2'):
        ram.create_role(ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=ECS_TRUST))
    # I: a policy with another document, held by a user
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name='ct-shared', policy_document=json.dumps(OLD_DOC)))
    ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(policy_type='Custom', policy_name='ct-shared', user_name='ct-user'))
    # H: metadata options, one instance hardened already
    ecs.modify_instance_metadata_options(ecs_models.ModifyInstanceMetadataOptionsRequest(
        region_id='cn-hangzhou', instance_id=vpc[9], http_endpoint='enabled', http_tokens='required'))
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
        # C: a new document for a policy at the version limit (the oldest non-default version makes room)
        ('alicloud.ram.ram_role_policy', 'C update at the version limit', {
            'role_name': 'ct-drift', 'policies': [{'name': 'ct-pol-full', 'document': DOC}]}),
        # G: grants to a group and to a role
        ('alicloud.ram.ram_user_role_grant', 'G grant to a group', {'group_name': 'ct-group', 'role_name': 'ct-g1'}),
        ('alicloud.ram.ram_user_role_grant', 'G grant to a role', {'grantee_role_name': 'ct-deployer', 'role_name': 'ct-g2'}),
        # H: metadata options on some instances, and on instances that already match
        ('alicloud.ram.ecs_instance_metadata_options', 'H harden', {'instance_ids': vpc[7:10], 'http_tokens': 'required'}),
        ('alicloud.ram.ecs_instance_metadata_options', 'H already hardened', {'instance_ids': vpc[9:10], 'http_tokens': 'required'}),
        # I: input RAM would refuse, and a policy name held by other principals
        ('alicloud.ram.ram_role_policy', 'I permission policy RAM would refuse', {'role_name': 'ct-att', 'policies': [
            {'name': 'ct-refused', 'document': {'Version': '1', 'Statement': [dict(DOC['Statement'][0], Effect='Permit')]}}]}),
        ('alicloud.ram.ram_role_policy', 'I oversize permission policy', {'role_name': 'ct-att', 'policies': [
            {'name': 'ct-refused', 'document': {'Version': '1', 'Statement': [dict(
                DOC['Statement'][0], Resource=['acs:log:*:*:project/p%04d/*' % n for n in range(300)])]}}]}),
        ('alicloud.ram.ram_instance_role', 'I trust policy of another version', {'name': 'ct-refused', 'assume_role_policy_document': {
            'Version': '2', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Principal': {'Service': ['ecs.aliyuncs.com']}}]}}),
        ('alicloud.ram.ecs_instance_role_attachment', 'I attach policy over 1024 characters', {
            'role_name': 'ct-att', 'instance_ids': vpc[10:11], 'policy': {'Version': '1', 'Statement': [dict(
                DOC['Statement'][0], Resource=['acs:log:*:*:project/p%04d/*' % n for n in range(40)])]}}),
        ('alicloud.ram.ram_user_role_grant', 'I grant under a policy name held elsewhere', {
            'user_name': 'ct-user2', 'role_name': 'ct-g1', 'policy_name': 'ct-shared'}),
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
    tasks = [dict({'name': name, action: args}, **({'ignore_errors': True} if name in REFUSED else {})) for action, name, args in cases]
    before = emu.state()
    emu.clear_calls()

    predicted = runner.run_tasks(tasks, check=True, diff=True)
    assert emu.write_calls() == [], 'check mode wrote'
    assert emu.state() == before, 'check mode changed the account'
    check_calls = len(emu.calls())
    emu.clear_calls()

    real = runner.run_tasks(tasks, diff=True)

    mismatches = []
    for action, name, _args in cases:
        guess, truth = predicted.by_name(name), real.by_name(name)
        for key in ('status', 'changed'):
            if guess[key] != truth[key]:
                mismatches.append('%s: %s %s in check mode, %s for real' % (name, key, guess[key], truth[key]))
        if guess['result'].get('msg') != truth['result'].get('msg'):
            mismatches.append('%s: msg\n  check %s\n  real  %s' % (name, guess['result'].get('msg'), truth['result'].get('msg')))
        if comparable(action, guess['result']) != comparable(action, truth['result']):
            mismatches.append('%s: result\n  check %s\n  real  %s' % (
                name, comparable(action, guess['result']), comparable(action, truth['result'])))
        if guess['result'].get('diff') != truth['result'].get('diff'):
            mismatches.append('%s: diff\n  check %s\n  real  %s' % (name, guess['result'].get('diff'), truth['result'].get('diff')))
    changed = [name for _a, name, _r in cases if real.by_name(name)['changed']]
    refused = dict((name, real.by_name(name)['result'].get('msg', '')) for name in REFUSED)
    states = sorted(set(name[0] for _a, name, _r in cases))
    print('\nRELIABILITY check mode: start_states=%d tasks=%d changed=%d refused_alike=%d mismatches=%d api_calls=%d+%d' % (
        len(states), len(cases), len(changed), len(refused), len(mismatches), check_calls, len(emu.calls())))
    assert mismatches == [], '\n'.join(mismatches)
    assert changed == [name for _a, name, _r in cases if name not in UNCHANGED and name not in REFUSED], changed
    assert [name for name, msg in refused.items() if REFUSED[name] not in msg or real.by_name(name)['status'] != 'failed'] == [], refused
    refused_writes = [c for c in emu.calls() if c['write'] and c['status'] != 200]
    assert refused_writes == [], 'the service refused writes the modules should have refused first: %s' % refused_writes

    state = emu.state()
    holders = dict((i['InstanceId'], i['RamRoleName']) for i in state['instances'])
    assert [holders[i] for i in vpc[0:7]] == ['ct-att'] * 4 + ['', '', '']
    assert 'ct-del' not in [r['RoleName'] for r in state['roles']]
    assert real.by_name('C update at the version limit')['result']['updated_policies'] == ['ct-pol-full']
    full = next(p for p in state['policies'] if p['PolicyName'] == 'ct-pol-full')
    assert len(full['versions']) == 5 and 'v1' not in [v['VersionId'] for v in full['versions']], full
    default = next(v for v in full['versions'] if v['VersionId'] == full['DefaultVersion'])
    assert json.loads(default['PolicyDocument'])['Statement'][0]['Action'] == DOC['Statement'][0]['Action']
    assert real.by_name('H harden')['result']['changed_instance_ids'] == vpc[7:9]
    tokens = dict((i['InstanceId'], i['MetadataOptions']['HttpTokens']) for i in state['instances'])
    assert [tokens[i] for i in vpc[7:11]] == ['required'] * 3 + ['optional']
    assert 'ct-refused' not in [p['PolicyName'] for p in state['policies']] + [r['RoleName'] for r in state['roles']]
