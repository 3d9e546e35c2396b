# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""alicloud.ram.ram_user_role_grant against the emulator: real ansible-playbook runs (users, groups, roles)."""

from __future__ import annotations

import json

import pytest

from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.models import Config

MODULE = 'alicloud.ram.ram_user_role_grant'
ECS_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow',
                                       'Principal': {'Service': ['ecs.aliyuncs.com']}}], 'Version': '1'})
ECS_ACTIONS = ['ecs:AttachInstanceRamRole', 'ecs:DescribeInstanceRamRole', 'ecs:DescribeInstances', 'ecs:DetachInstanceRamRole']
POLICY = 'PassRoleDot-web-app-1'   # the default policy name of role web.app
DONE_LISTS = ('created_policies', 'updated_policies', 'attached_to', 'detached_from', 'deleted_policies')


def ram_client(emu):
    return RamClient(Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret,
                            endpoint=emu.endpoint, protocol='http', region_id='cn-hangzhou'))


def create_role(emu, name):
    body = ram_client(emu).create_role(ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=ECS_TRUST))
    return body.body.role.arn


@pytest.fixture
def setup(emu):
    """Users alice and bob, role web.app; the call log starts empty."""
    emu.create_user('alice')
    emu.create_user('bob')
    arn = create_role(emu, 'web.app')
    emu.clear_calls()
    return arn


def grant(user, role='web.app', **extra):
    args = {'user_name': user, 'role_name': role}
    args.update(extra)
    return args


def task(name, **args):
    return {'name': name, MODULE: args, 'register': name.replace(' ', '_')}


def policy(emu, name):
    for item in emu.state()['policies']:
        if item['PolicyName'].lower() == name.lower():
            return item
    return None


def principal_policies(emu, kind, name):
    key = {'user': 'UserName', 'group': 'GroupName', 'role': 'RoleName'}[kind]
    for item in emu.state()[kind + 's']:
        if item[key] == name:
            return sorted(p['PolicyName'] for p in item['policies'])
    raise AssertionError('no %s %s' % (kind, name))


def user_policies(emu, user):
    return principal_policies(emu, 'user', user)


def done_lists(result):
    return dict((name, result[name]) for name in DONE_LISTS if result[name])


def statements(document):
    return {(tuple(s['Action']), tuple(s['Resource'])) for s in document['Statement']}


def test_grant_then_second_run_makes_no_write_call(runner, emu, setup):
    arn = setup
    res = runner.run_tasks([task('grant', **grant('alice')), task('again', **grant('alice'))])
    out = res.module_result(0)
    assert res.result(0)['changed'] is True
    assert arn == 'acs:ram::%s:role/web.app' % emu.account_id
    assert out['role_arn'] == arn
    assert out['policy_name'] == POLICY
    assert out['user_name'] == 'alice'
    assert out['attached'] is True and out['policy_action'] == 'create'
    assert done_lists(out) == {'created_policies': [POLICY], 'attached_to': ['user alice']}
    assert statements(out['policy_document']) == {(('ram:PassRole',), (arn,)), (tuple(ECS_ACTIONS), ('*',))}
    # the second task wrote nothing: every write belongs to the first
    assert [c['action'] for c in emu.write_calls()] == ['CreatePolicy', 'AttachPolicyToUser']
    assert res.result(1)['changed'] is False
    assert res.module_result(1)['policy_document'] == out['policy_document']
    assert done_lists(res.module_result(1)) == {}
    counts = emu.call_counts()
    assert {k: counts[k] for k in ('GetUser', 'GetRole', 'GetPolicy', 'ListEntitiesForPolicy')} == {
        'GetUser': 2, 'GetRole': 2, 'GetPolicy': 2, 'ListEntitiesForPolicy': 1}
    assert sum(counts.values()) == 9
    stored = policy(emu, POLICY)
    assert len(stored['versions']) == 1
    stored_doc = json.loads(stored['versions'][0]['PolicyDocument'])
    pass_role = [s for s in stored_doc['Statement'] if 'ram:PassRole' in s['Action']]
    assert pass_role[0]['Resource'] == [arn]  # exactly the role, never '*'
    assert user_policies(emu, 'alice') == [POLICY]

    emu.clear_calls()
    res = runner.run_tasks([task('third run', **grant('alice'))])
    assert res.result(0)['changed'] is False
    assert emu.write_calls() == []
    assert emu.call_counts() == {'GetUser': 1, 'GetRole': 1, 'GetPolicy': 1, 'ListEntitiesForPolicy': 1}


def test_two_users_share_one_policy_and_revoke_deletes_it_last(runner, emu, setup):
    ram = ram_client(emu)
    res = runner.run_tasks([task('grant alice', **grant('alice')), task('grant bob', **grant('bob'))])
    assert [r['changed'] for r in res.results] == [True, True]
    assert res.module_result(1)['policy_action'] == 'none'
    assert done_lists(res.module_result(1)) == {'attached_to': ['user bob']}
    assert [c['action'] for c in emu.write_calls()] == ['CreatePolicy', 'AttachPolicyToUser', 'AttachPolicyToUser']
    assert len([p for p in emu.state()['policies'] if p['PolicyName'].startswith('PassRole')]) == 1
    assert user_policies(emu, 'alice') == user_policies(emu, 'bob') == [POLICY]
    # give the policy an extra version: deleting the policy must remove it too
    extra = json.dumps({'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'ram:PassRole', 'Resource': 'acs:ram::1:role/x'}]})
    ram.create_policy_version(ram_models.CreatePolicyVersionRequest(policy_name=POLICY, policy_document=extra,
                                                                    set_as_default=False))

    emu.clear_calls()
    res = runner.run_tasks([
        task('revoke alice', **grant('alice', state='absent')),
        {'name': 'bob still holds it', 'alicloud.ram.ram_user_role_grant': grant('bob'), 'check_mode': True, 'register': 'bob'},
        task('revoke bob', **grant('bob', state='absent')),
        task('revoke bob again', **grant('bob', state='absent')),
    ])
    assert [r['changed'] for r in res.results] == [True, False, True, False]
    out = res.module_result(0)
    assert out['attached'] is False and out['policy_deleted'] is False and out['policy_used_by'] == ['user bob']
    assert out['policy_document'] is not None
    out = res.module_result(2)
    assert out['policy_deleted'] is True and out['policy_document'] is None and out['policy_used_by'] == []
    assert done_lists(out) == {'detached_from': ['user bob'], 'deleted_policies': [POLICY]}
    assert res.module_result(3)['policy_deleted'] is False
    assert [c['action'] for c in emu.write_calls()] == ['DetachPolicyFromUser', 'DetachPolicyFromUser', 'DeletePolicyVersion',
                                                        'DeletePolicy']
    assert [c['params']['UserName'] for c in emu.write_calls()[:2]] == ['alice', 'bob']
    assert policy(emu, POLICY) is None
    assert user_policies(emu, 'alice') == user_policies(emu, 'bob') == []


def test_unknown_user_or_role_fails_before_any_write_but_absent_succeeds(runner, emu, setup):
    res = runner.run_tasks([
        dict(task('unknown user', **grant('nobody')), ignore_errors=True),
        dict(task('unknown role', **grant('alice', role='no-such-role')), ignore_errors=True),
        dict(task('bad policy name', **grant('alice', policy_name='has.dot')), ignore_errors=True),
        dict(task('bad role name', **grant('alice', role='bad/role')), ignore_errors=True),
        task('user gone', **grant('ghost', state='absent')),
        task('role gone', **grant('alice', role='gone.role', state='absent')),
    ])
    assert [r['status'] for r in res.results] == ['failed'] * 4 + ['ok', 'ok'], res
    assert res.module_result(5)['role_arn'] is None
    assert res.module_result(5)['policy_name'] == 'PassRoleDot-gone-role-1'
    results = [r['result'] for r in res.results[:4]]
    assert 'RAM user nobody does not exist' in results[0]['msg'] and results[0]['changed'] is False
    assert 'RAM role no-such-role does not exist' in results[1]['msg']
    assert "policy name 'has.dot' is invalid" in results[2]['msg']
    assert "role name 'bad/role' is invalid" in results[3]['msg']
    assert all('Traceback' not in r['msg'] and emu.access_key_secret not in json.dumps(r) for r in results)
    assert emu.write_calls() == []
    # invalid names never reach the API
    assert [c['action'] for c in emu.calls()][:3] == ['GetUser', 'GetUser', 'GetRole']
    assert policy(emu, POLICY) is None


def test_instance_management_toggle_creates_new_default_versions(runner, emu, setup):
    arn = setup
    res = runner.run_tasks([
        task('narrow', **grant('alice', allow_instance_management=False)),
        task('narrow again', **grant('alice', allow_instance_management=False)),
    ])
    assert [r['changed'] for r in res.results] == [True, False]
    assert statements(res.module_result(0)['policy_document']) == {(('ram:PassRole',), (arn,))}

    emu.clear_calls()
    res = runner.run_tasks([
        task('widen', **grant('alice')),
        task('narrow back', **grant('alice', allow_instance_management=False)),
    ])
    out = res.module_result(0)
    assert res.result(0)['changed'] is True and out['policy_action'] == 'create_version'
    assert statements(out['policy_document']) == {(('ram:PassRole',), (arn,)), (tuple(ECS_ACTIONS), ('*',))}
    # the older equal version becomes the default again instead of a third version
    assert res.result(1)['changed'] is True and res.module_result(1)['policy_action'] == 'set_default'
    writes = emu.write_calls()
    assert [c['action'] for c in writes] == ['CreatePolicyVersion', 'SetDefaultPolicyVersion']
    assert writes[0]['params']['SetAsDefault'].lower() == 'true'
    assert writes[1]['params']['VersionId'] == 'v1'
    assert done_lists(out) == {'updated_policies': [POLICY]}
    stored = policy(emu, POLICY)
    assert stored['DefaultVersion'] == 'v1' and len(stored['versions']) == 2
    assert user_policies(emu, 'alice') == [POLICY]


def test_check_mode_predicts_the_real_run_and_diff_shows_the_change(runner, emu, setup):
    arn = setup
    args = grant('alice', policy_name='WebPass')
    revoke = grant('alice', policy_name='WebPass', state='absent')
    res = runner.run_tasks([
        {'name': 'predict grant', MODULE: args, 'check_mode': True},
        {'name': 'grant', MODULE: args},
        {'name': 'predict revoke', MODULE: revoke, 'check_mode': True},
        {'name': 'revoke', MODULE: revoke},
    ], diff=True)
    predicted, done = res.module_result(0), res.module_result(1)
    assert [r['changed'] for r in res.results] == [True] * 4
    for key in ('user_name', 'role_arn', 'policy_name', 'policy_document', 'attached', 'policy_action', 'diff') + DONE_LISTS:
        assert done[key] == predicted[key], key
    diff = predicted['diff']
    assert diff['before'] == {'user_name': 'alice', 'policy_name': 'WebPass', 'attached': False, 'policy_document': None}
    assert diff['after']['attached'] is True
    assert diff['after']['policy_document'] == predicted['policy_document']
    assert '"attached": true' in res.stdout and arn in res.stdout

    predicted, done = res.module_result(2), res.module_result(3)
    assert predicted['policy_deleted'] is True
    assert predicted['diff']['before']['attached'] is True and predicted['diff']['before']['policy_document'] is not None
    assert predicted['diff']['after'] == {'user_name': 'alice', 'policy_name': 'WebPass', 'attached': False, 'policy_document': None}
    for key in ('role_arn', 'policy_document', 'attached', 'policy_deleted', 'policy_used_by', 'diff') + DONE_LISTS:
        assert done[key] == predicted[key], key
    # the check-mode tasks wrote nothing: these are the two real tasks' writes
    assert [c['action'] for c in emu.write_calls()] == ['CreatePolicy', 'AttachPolicyToUser', 'DetachPolicyFromUser', 'DeletePolicy']
    assert policy(emu, 'WebPass') is None


def test_check_mode_predicts_the_grant_of_a_role_that_does_not_exist_yet(runner, emu, setup):
    res = runner.run_tasks([
        dict(task('predict', **grant('alice', role='Future.Role')), check_mode=True),
        dict(task('real run fails', **grant('alice', role='Future.Role')), ignore_errors=True),
    ])
    predicted = res.module_result('predict')
    assert res.by_name('predict')['changed'] is True
    assert predicted['role_arn'] is None and predicted['policy_action'] == 'create' and predicted['attached'] is True
    assert predicted['policy_name'] == 'PassRoleDot-future-role-1'
    assert statements(predicted['policy_document']) == {
        (('ram:PassRole',), ('acs:ram::<account-id>:role/future.role',)), (tuple(ECS_ACTIONS), ('*',))}
    assert any('role Future.Role does not exist yet' in w for w in predicted['warnings'])
    assert res.by_name('real run fails')['status'] == 'failed'
    assert 'RAM role Future.Role does not exist' in res.module_result('real run fails')['msg']
    assert emu.write_calls() == [] and policy(emu, 'PassRoleDot-future-role-1') is None


@pytest.mark.parametrize('kind,option,name', [('group', 'group_name', 'operators'), ('role', 'grantee_role_name', 'awx-deployer')])
def test_grant_to_a_group_or_a_role_and_its_removal(runner, emu, setup, kind, option, name):
    arn = setup
    if kind == 'group':
        emu.create_group(name)
    else:
        create_role(emu, name)
    emu.clear_calls()
    args = {option: name, 'role_name': 'web.app'}
    revoke = dict(args, state='absent')
    res = runner.run_tasks([
        dict(task('predict grant', **args), check_mode=True),
        task('grant', **args),
        task('grant again', **args),
        dict(task('predict revoke', **revoke), check_mode=True),
        task('revoke', **revoke),
        task('revoke again', **revoke),
    ], diff=True)
    assert [r['changed'] for r in res.results] == [True, True, False, True, True, False], res
    label = '%s %s' % (kind, name)
    granted = res.module_result('grant')
    assert granted[option] == name and 'user_name' not in granted
    assert granted['role_arn'] == arn and granted['policy_name'] == POLICY and granted['attached'] is True
    assert done_lists(granted) == {'created_policies': [POLICY], 'attached_to': [label]}
    assert statements(granted['policy_document']) == {(('ram:PassRole',), (arn,)), (tuple(ECS_ACTIONS), ('*',))}
    assert granted['diff']['before'] == {option: name, 'policy_name': POLICY, 'attached': False, 'policy_document': None}
    revoked = res.module_result('revoke')
    assert done_lists(revoked) == {'detached_from': [label], 'deleted_policies': [POLICY]}
    assert revoked['attached'] is False and revoked['policy_deleted'] is True
    for real, predicted in (('grant', 'predict grant'), ('revoke', 'predict revoke')):
        for key in ('role_arn', 'policy_document', 'attached', 'diff') + DONE_LISTS:
            assert res.module_result(real)[key] == res.module_result(predicted)[key], (real, key)
    suffix = kind.capitalize()
    assert [c['action'] for c in emu.write_calls()] == ['CreatePolicy', 'AttachPolicyTo' + suffix, 'DetachPolicyFrom' + suffix,
                                                        'DeletePolicy']
    assert all(c['params'][option.replace('grantee_', '').title().replace('_', '')] == name for c in emu.write_calls()[1:3])
    assert principal_policies(emu, kind, name) == [] and policy(emu, POLICY) is None


def test_roles_whose_names_differ_in_period_and_hyphen_get_separate_policies(runner, emu, setup):
    dash_arn = create_role(emu, 'web-app')
    res = runner.run_tasks([
        task('grant dot', **grant('alice')),
        task('grant dash', **grant('alice', role='web-app')),
        task('revoke dot', **grant('alice', state='absent')),
        task('dash unchanged', **grant('alice', role='web-app')),
    ])
    assert [r['changed'] for r in res.results] == [True, True, True, False], res
    dot, dash = res.module_result('grant dot'), res.module_result('grant dash')
    assert (dot['policy_name'], dash['policy_name']) == (POLICY, 'PassRole-web-app')
    assert done_lists(dash) == {'created_policies': ['PassRole-web-app'], 'attached_to': ['user alice']}
    assert statements(dash['policy_document']) == {(('ram:PassRole',), (dash_arn,)), (tuple(ECS_ACTIONS), ('*',))}
    assert res.module_result('revoke dot')['policy_deleted'] is True
    # revoking one role's grant left the other's policy, document and attachment intact
    assert policy(emu, POLICY) is None
    stored = policy(emu, 'PassRole-web-app')
    pass_role = [st for st in json.loads(stored['versions'][0]['PolicyDocument'])['Statement'] if 'ram:PassRole' in st['Action']]
    assert pass_role[0]['Resource'] in (dash_arn, [dash_arn])
    assert user_policies(emu, 'alice') == ['PassRole-web-app']


def test_existing_policy_with_another_document_held_elsewhere_is_never_rewritten(runner, emu, setup):
    ram = ram_client(emu)
    create_role(emu, 'oss-reader')
    foreign = json.dumps({'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'oss:GetObject', 'Resource': '*'}]})
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name='Shared', policy_document=foreign))
    ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(policy_type='Custom', policy_name='Shared', user_name='bob'))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_type='Custom', policy_name='Shared', role_name='oss-reader'))
    emu.clear_calls()
    res = runner.run_tasks([
        dict(task('predict', **grant('alice', policy_name='Shared')), check_mode=True, ignore_errors=True),
        dict(task('refused', **grant('alice', policy_name='Shared')), ignore_errors=True),
    ])
    for name in ('predict', 'refused'):
        out = res.module_result(name)
        assert res.by_name(name)['status'] == 'failed' and out['changed'] is False
        # not this role's grant (not a grant at all): never rewritten, whoever holds it
        assert 'policy Shared is not a PassRole grant (held by role oss-reader, user bob), not a grant of role ' in out['msg']
        assert out['policy_used_by'] == ['role oss-reader', 'user bob'] and done_lists(out) == {}
    assert emu.write_calls() == []
    stored = policy(emu, 'Shared')
    assert len(stored['versions']) == 1 and json.loads(stored['versions'][0]['PolicyDocument']) == json.loads(foreign)
    assert user_policies(emu, 'alice') == []


def test_attach_denied_after_create_reports_the_created_policy(runner, emu, setup):
    emu.set_faults(deny_actions=['AttachPolicyToUser'])
    res = runner.run_tasks([dict(task('denied', **grant('alice')), ignore_errors=True)])
    out = res.module_result('denied')
    assert res.by_name('denied')['status'] == 'failed'
    assert out['changed'] is True and done_lists(out) == {'created_policies': [POLICY]}
    assert out['attached'] is False and out['error']['code'] == 'NoPermission'
    assert out['msg'].startswith('attach Custom policy %s to user alice failed: NoPermission' % POLICY)
    assert 'request id' in out['msg'] and 'Traceback' not in out['msg']
    assert policy(emu, POLICY) is not None and user_policies(emu, 'alice') == []

    emu.set_faults(deny_actions=[])
    emu.clear_calls()
    res = runner.run_tasks([task('finish', **grant('alice'))])
    assert done_lists(res.module_result('finish')) == {'attached_to': ['user alice']}
    assert [c['action'] for c in emu.write_calls()] == ['AttachPolicyToUser']


def test_lost_replies_count_as_done_and_changed(runner, emu, setup):
    create_role(emu, 'awx-deployer')
    emu.clear_calls()
    emu.set_faults(lose_reply_actions=['CreatePolicy', 'AttachPolicyToRole'])
    res = runner.run_tasks([
        task('grant', grantee_role_name='awx-deployer', role_name='web.app'),
        task('again', grantee_role_name='awx-deployer', role_name='web.app'),
    ])
    assert [r['changed'] for r in res.results] == [True, False], res
    out = res.module_result('grant')
    assert done_lists(out) == {'created_policies': [POLICY], 'attached_to': ['role awx-deployer']}
    assert out['attached'] is True
    writes = [c['action'] for c in emu.write_calls()]
    assert writes.count('CreatePolicy') == 2 and writes.count('AttachPolicyToRole') == 2
    assert principal_policies(emu, 'role', 'awx-deployer') == [POLICY]
    assert len([p for p in emu.state()['policies'] if p['PolicyName'] == POLICY]) == 1
