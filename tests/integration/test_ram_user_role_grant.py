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
    res = runner.run_tasks([task('grant', **grant('alice'))])
    out = res.module_result(0)
    assert res.result(0)['changed'] is True
    assert arn == 'acs:ram::%s:role/web.app' % emu.account_id
    assert out['role_arn'] == arn
    assert out['policy_name'] == 'PassRole-web-app'
    assert out['user_name'] == 'alice'
    assert out['attached'] is True and out['policy_action'] == 'create'
    assert statements(out['policy_document']) == {(('ram:PassRole',), (arn,)), (tuple(ECS_ACTIONS), ('*',))}
    assert [c['action'] for c in emu.write_calls()] == ['CreatePolicy', 'AttachPolicyToUser']
    stored = policy(emu, 'PassRole-web-app')
    assert len(stored['versions']) == 1
    stored_doc = json.loads(stored['versions'][0]['PolicyDocument'])
    pass_role = [s for s in stored_doc['Statement'] if 'ram:PassRole' in s['Action']]
    assert pass_role[0]['Resource'] == [arn]  # exactly the role, never '*'
    assert user_policies(emu, 'alice') == ['PassRole-web-app']

    emu.clear_calls()
    res = runner.run_tasks([task('again', **grant('alice'))])
    assert res.result(0)['changed'] is False
    assert res.module_result(0)['policy_document'] == out['policy_document']
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
    # give the policy extra versions: deleting it must remove them too
    extra = json.dumps({'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'ram:PassRole', 'Resource': 'acs:ram::1:role/x'}]})
    ram.create_policy_version(ram_models.CreatePolicyVersionRequest(policy_name='PassRole-web-app', policy_document=extra,
                                                                    set_as_default=False))

    emu.clear_calls()
    res = runner.run_tasks([task('revoke alice', **grant('alice', state='absent'))])
    out = res.module_result(0)
    assert res.result(0)['changed'] is True
    assert out['attached'] is False and out['policy_deleted'] is False and out['policy_used_by'] == ['user bob']
    assert out['policy_document'] is not None
    assert [c['action'] for c in emu.write_calls()] == ['DetachPolicyFromUser']
    assert user_policies(emu, 'alice') == []
    assert user_policies(emu, 'bob') == ['PassRole-web-app']

    emu.clear_calls()
    res = runner.run_tasks([task('revoke bob', **grant('bob', state='absent')),
                            task('revoke bob again', **grant('bob', state='absent'))])
    out = res.module_result(0)
    assert [r['changed'] for r in res.results] == [True, False]
    assert out['policy_deleted'] is True and out['policy_document'] is None
    assert [c['action'] for c in emu.write_calls()] == ['DetachPolicyFromUser', 'DeletePolicyVersion', 'DeletePolicy']
    assert policy(emu, 'PassRole-web-app') is None
    assert user_policies(emu, 'bob') == []
    assert res.module_result(1)['policy_deleted'] is False


def test_unknown_user_or_role_or_bad_name_fails_before_any_write(runner, emu, setup):
    res = runner.run_tasks([
        dict(task('unknown user', **grant('nobody')), ignore_errors=True),
        dict(task('unknown role', **grant('alice', role='no-such-role')), ignore_errors=True),
        dict(task('bad policy name', **grant('alice', policy_name='has.dot')), ignore_errors=True),
        dict(task('bad role name', **grant('alice', role='bad/role')), ignore_errors=True),
    ])
    assert [r['status'] for r in res.results] == ['failed'] * 4, res
    results = [r['result'] for r in res.results]
    assert 'RAM user nobody does not exist' in results[0]['msg']
    assert 'RAM role no-such-role does not exist' in results[1]['msg']
    assert "policy name 'has.dot' is invalid" in results[2]['msg']
    assert "role name 'bad/role' is invalid" in results[3]['msg']
    assert all('Traceback' not in r['msg'] and emu.access_key_secret not in json.dumps(r) for r in results)
    assert emu.write_calls() == []
    # invalid names never reach the API
    assert [c['action'] for c in emu.calls()] == ['GetUser', 'GetUser', 'GetRole']
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
    res = runner.run_tasks([task('widen', **grant('alice'))])
    out = res.module_result(0)
    assert res.result(0)['changed'] is True and out['policy_action'] == 'create_version'
    assert statements(out['policy_document']) == {(('ram:PassRole',), (arn,)), (tuple(ECS_ACTIONS), ('*',))}
    writes = emu.write_calls()
    assert [c['action'] for c in writes] == ['CreatePolicyVersion']
    assert writes[0]['params']['SetAsDefault'].lower() == 'true'
    stored = policy(emu, 'PassRole-web-app')
    assert stored['DefaultVersion'] == 'v2' and len(stored['versions']) == 2

    emu.clear_calls()
    res = runner.run_tasks([task('narrow back', **grant('alice', allow_instance_management=False))])
    assert res.module_result(0)['policy_action'] == 'set_default'
    assert [c['action'] for c in emu.write_calls()] == ['SetDefaultPolicyVersion']
    assert policy(emu, 'PassRole-web-app')['DefaultVersion'] == 'v1'


def test_check_mode_predicts_the_real_run_and_diff_shows_the_change(runner, emu, setup):
    arn = setup
    check = runner.run_tasks([task('grant', **grant('alice', policy_name='WebPass'))], check=True, diff=True)
    predicted = check.module_result(0)
    assert check.result(0)['changed'] is True
    assert emu.write_calls() == []
    assert policy(emu, 'WebPass') is None
    diff = predicted['diff']
    assert diff['before'] == {'user_name': 'alice', 'policy_name': 'WebPass', 'attached': False, 'policy_document': None}
    assert diff['after']['attached'] is True
    assert diff['after']['policy_document'] == predicted['policy_document']
    assert '"attached": true' in check.stdout and arn in check.stdout

    real = runner.run_tasks([task('grant', **grant('alice', policy_name='WebPass'))], diff=True)
    done = real.module_result(0)
    assert real.result(0)['changed'] is True
    for key in ('user_name', 'role_arn', 'policy_name', 'policy_document', 'attached', 'policy_action', 'diff'):
        assert done[key] == predicted[key], key
    assert user_policies(emu, 'alice') == ['WebPass']

    # check mode of a revoke, then the revoke itself
    emu.clear_calls()
    check = runner.run_tasks([task('revoke', **grant('alice', policy_name='WebPass', state='absent'))], check=True, diff=True)
    predicted = check.module_result(0)
    assert check.result(0)['changed'] is True and predicted['policy_deleted'] is True
    assert predicted['diff']['before']['attached'] is True and predicted['diff']['before']['policy_document'] is not None
    assert predicted['diff']['after'] == {'user_name': 'alice', 'policy_name': 'WebPass', 'attached': False, 'policy_document': None}
    assert emu.write_calls() == []
    real = runner.run_tasks([task('revoke', **grant('alice', policy_name='WebPass', state='absent'))], diff=True)
    done = real.module_result(0)
    for key in ('changed', 'role_arn', 'policy_document', 'attached', 'policy_deleted', 'policy_used_by', 'diff'):
        assert done[key] == predicted[key], key
    assert policy(emu, 'WebPass') is None


def test_absent_succeeds_when_user_and_role_are_gone(runner, emu, setup):
    res = runner.run_tasks([
        task('user gone', **grant('ghost', state='absent')),
        task('role gone', **grant('alice', role='gone.role', state='absent')),
    ])
    assert [r['changed'] for r in res.results] == [False, False]
    assert res.module_result(1)['role_arn'] is None
    assert res.module_result(1)['policy_name'] == 'PassRole-gone-role'
    assert emu.write_calls() == []
