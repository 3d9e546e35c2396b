# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""alicloud.ram.ram_user_role_grant against the emulator: real ansible-playbook runs."""

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


def user_policies(emu, user):
    for item in emu.state()['users']:
        if item['UserName'] == user:
            return sorted(p['PolicyName'] for p in item['policies'])
    raise AssertionError('no user %s' % user)


def statements(document):
    return {(tuple(s['Action']), tuple(s['Resource'])) for s in document['Statement']}


def test_grant_then_second_run_makes_no_write_call(runner, emu, setup):
    arn = setup
    res = runner.run_tasks([task('grant', **grant('alice')), task('again', **grant('alice'))])
    out = res.module_result(0)
    assert res.result(0)['changed'] is True
    assert arn == 'acs:ram::%s:role/web.app' % emu.account_id
    assert out['role_arn'] == arn
    assert out['policy_name'] == 'PassRole-web-app'
    assert out['user_name'] == 'alice'
    assert out['attached'] is True and out['policy_action'] == 'create'
    assert statements(out['policy_document']) == {(('ram:PassRole',), (arn,)), (tuple(ECS_ACTIONS), ('*',))}
    # the second task wrote nothing: every write belongs to the first
    assert [c['action'] for c in emu.write_calls()] == ['CreatePolicy', 'AttachPolicyToUser']
    assert res.result(1)['changed'] is False
    assert res.module_result(1)['policy_document'] == out['policy_document']
    counts = emu.call_counts()
    assert {k: counts[k] for k in ('GetUser', 'GetRole', 'GetPolicy', 'ListPoliciesForUser')} == {
        'GetUser': 2, 'GetRole': 2, 'GetPolicy': 2, 'ListPoliciesForUser': 1}
    assert sum(counts.values()) == 9
    stored = policy(emu, 'PassRole-web-app')
    assert len(stored['versions']) == 1
    stored_doc = json.loads(stored['versions'][0]['PolicyDocument'])
    pass_role = [s for s in stored_doc['Statement'] if 'ram:PassRole' in s['Action']]
    assert pass_role[0]['Resource'] == [arn]  # exactly the role, never '*'
    assert user_policies(emu, 'alice') == ['PassRole-web-app']

    emu.clear_calls()
    res = runner.run_tasks([task('third run', **grant('alice'))])
    assert res.result(0)['changed'] is False
    assert emu.write_calls() == []
    assert emu.call_counts() == {'GetUser': 1, 'GetRole': 1, 'GetPolicy': 1, 'ListPoliciesForUser': 1}


def test_two_users_share_one_policy_and_revoke_deletes_it_last(runner, emu, setup):
    ram = ram_client(emu)
    res = runner.run_tasks([task('grant alice', **grant('alice')), task('grant bob', **grant('bob'))])
    assert [r['changed'] for r in res.results] == [True, True]
    assert res.module_result(1)['policy_action'] == 'none'
    assert [c['action'] for c in emu.write_calls()] == ['CreatePolicy', 'AttachPolicyToUser', 'AttachPolicyToUser']
    assert len([p for p in emu.state()['policies'] if p['PolicyName'].startswith('PassRole-')]) == 1
    assert user_policies(emu, 'alice') == user_policies(emu, 'bob') == ['PassRole-web-app']
    # give the policy an extra version: deleting the policy must remove it too
    extra = json.dumps({'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'ram:PassRole', 'Resource': 'acs:ram::1:role/x'}]})
    ram.create_policy_version(ram_models.CreatePolicyVersionRequest(policy_name='PassRole-web-app', policy_document=extra,
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
    assert res.module_result(3)['policy_deleted'] is False
    assert [c['action'] for c in emu.write_calls()] == ['DetachPolicyFromUser', 'DetachPolicyFromUser', 'DeletePolicyVersion',
                                                        'DeletePolicy']
    assert [c['params']['UserName'] for c in emu.write_calls()[:2]] == ['alice', 'bob']
    assert policy(emu, 'PassRole-web-app') is None
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
    assert res.module_result(5)['policy_name'] == 'PassRole-gone-role'
    results = [r['result'] for r in res.results[:4]]
    assert 'RAM user nobody does not exist' in results[0]['msg']
    assert 'RAM role no-such-role does not exist' in results[1]['msg']
    assert "policy name 'has.dot' is invalid" in results[2]['msg']
    assert "role name 'bad/role' is invalid" in results[3]['msg']
    assert all('Traceback' not in r['msg'] and emu.access_key_secret not in json.dumps(r) for r in results)
    assert emu.write_calls() == []
    # invalid names never reach the API
    assert [c['action'] for c in emu.calls()][:3] == ['GetUser', 'GetUser', 'GetRole']
    assert policy(emu, 'PassRole-web-app') is None


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
    stored = policy(emu, 'PassRole-web-app')
    assert stored['DefaultVersion'] == 'v1' and len(stored['versions']) == 2
    assert user_policies(emu, 'alice') == ['PassRole-web-app']


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
    for key in ('user_name', 'role_arn', 'policy_name', 'policy_document', 'attached', 'policy_action', 'diff'):
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
    for key in ('role_arn', 'policy_document', 'attached', 'policy_deleted', 'policy_used_by', 'diff'):
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
    assert predicted['policy_name'] == 'PassRole-Future-Role'
    assert statements(predicted['policy_document']) == {
        (('ram:PassRole',), ('acs:ram::<account-id>:role/future.role',)), (tuple(ECS_ACTIONS), ('*',))}
    assert any('role Future.Role does not exist yet' in w for w in predicted['warnings'])
    assert res.by_name('real run fails')['status'] == 'failed'
    assert 'RAM role Future.Role does not exist' in res.module_result('real run fails')['msg']
    assert emu.write_calls() == [] and policy(emu, 'PassRole-Future-Role') is None
