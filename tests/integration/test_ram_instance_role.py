# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ram_instance_role against the emulator: create, idempotency, in-place updates, tags, delete."""

from __future__ import annotations

import json

MODULE = 'alicloud.ram.ram_instance_role'
ECS_TRUST = {'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Service': ['ecs.aliyuncs.com']}}],
             'Version': '1'}


def task(title, **args):
    return {'name': title, MODULE: args}


def failing(title, **args):
    return {'name': title, MODULE: args, 'ignore_errors': True}


def ram_writes(emu):
    return [(c['action'], c['params']) for c in emu.write_calls()]


def actions(emu):
    return [c['action'] for c in emu.calls()]


def role_state(emu, name):
    for role in emu.state()['roles'] if isinstance(emu.state()['roles'], list) else emu.state()['roles'].values():
        if role['RoleName'].lower() == name.lower():
            return role
    return None


def sdk_ram(emu):
    from alibabacloud_ram20150501.client import Client  # pylint: disable=import-outside-toplevel
    from alibabacloud_tea_openapi.models import Config  # pylint: disable=import-outside-toplevel
    return Client(Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret,
                         endpoint=emu.endpoint, protocol='http', region_id='cn-hangzhou'))


def test_create_then_second_run_makes_no_write_call(runner, emu):
    args = dict(name='app-role', description='application servers', max_session_duration=7200, tags={'team': 'pay', 'env': 'dev'})
    res = runner.run_tasks([task('create', **args)])
    created = res.module_result('create')
    assert res.result(0)['status'] == 'changed'
    role = created['role']
    assert role['role_name'] == 'app-role'
    assert role['role_id'] and role['arn'] == 'acs:ram::%s:role/app-role' % emu.account_id
    assert role['description'] == 'application servers'
    assert role['max_session_duration'] == 7200
    assert role['tags'] == {'team': 'pay', 'env': 'dev'}
    assert role['attached_policies'] == []
    assert role['assume_role_policy_document']['Statement'][0]['Principal']['Service'] == ['ecs.aliyuncs.com']
    assert role['create_date']
    # one read, one write; tags travel with CreateRole
    assert actions(emu) == ['GetRole', 'CreateRole']
    create = emu.write_calls()[0]
    assert json.loads(create['params']['Tag']) == [{'Key': 'env', 'Value': 'dev'}, {'Key': 'team', 'Value': 'pay'}]

    emu.clear_calls()
    res = runner.run_tasks([task('again', **args), task('no options keeps everything', name='app-role')])
    assert [r['status'] for r in res.results] == ['ok', 'ok']
    assert emu.write_calls() == []
    assert res.module_result('again')['role'] == role
    assert res.module_result('no options keeps everything')['role']['role_id'] == role['role_id']
    # a no-change run reads the role, its policies and its tags: 3 calls
    assert emu.call_counts() == {'GetRole': 2, 'ListPoliciesForRole': 2, 'ListTagResources': 2}


def test_in_place_updates_keep_the_role_id_with_one_update_call(runner, emu):
    runner.run_tasks([task('create', name='upd', description='one')])
    role_id = role_state(emu, 'upd')['RoleId']

    emu.clear_calls()
    trust = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole',
                                            'Principal': {'Service': ['ecs.aliyuncs.com', 'fc.aliyuncs.com']}}]}
    res = runner.run_tasks([task('update all', name='upd', description='two', max_session_duration=10800,
                                 assume_role_policy_document=trust)])
    assert res.result(0)['status'] == 'changed'
    writes = ram_writes(emu)
    assert [w[0] for w in writes] == ['UpdateRole']
    params = writes[0][1]
    assert params['NewDescription'] == 'two' and params['NewMaxSessionDuration'] == '10800'
    assert json.loads(params['NewAssumeRolePolicyDocument'])['Statement'][0]['Principal']['Service'] == [
        'ecs.aliyuncs.com', 'fc.aliyuncs.com']
    role = res.module_result(0)['role']
    assert role['role_id'] == role_id
    assert role['description'] == 'two' and role['max_session_duration'] == 10800
    assert role_state(emu, 'upd')['RoleId'] == role_id

    # only the changed field travels
    emu.clear_calls()
    res = runner.run_tasks([task('description only', name='upd', description='three'),
                            task('trusted_services back to ecs', name='upd', trusted_services=['ecs.aliyuncs.com'])])
    writes = ram_writes(emu)
    assert [w[0] for w in writes] == ['UpdateRole', 'UpdateRole']
    assert set(writes[0][1]) == {'RoleName', 'NewDescription'}
    assert set(writes[1][1]) == {'RoleName', 'NewAssumeRolePolicyDocument'}
    assert res.module_result(1)['role']['description'] == 'three'
    assert res.module_result(1)['role']['max_session_duration'] == 10800
    assert role_state(emu, 'upd')['RoleId'] == role_id


def test_tags_add_change_and_purge(runner, emu):
    runner.run_tasks([task('create', name='tg', tags={'a': '1', 'b': '2'})])
    emu.clear_calls()
    res = runner.run_tasks([
        task('add without purge', name='tg', tags={'c': '3'}, purge_tags=False),
        task('change one, purge others', name='tg', tags={'a': 'one', 'c': '3'}),
        task('same again', name='tg', tags={'a': 'one', 'c': '3'}),
        task('purge all', name='tg', tags={}),
    ])
    assert [r['status'] for r in res.results] == ['changed', 'changed', 'ok', 'changed']
    assert res.module_result(0)['role']['tags'] == {'a': '1', 'b': '2', 'c': '3'}
    assert res.module_result(1)['role']['tags'] == {'a': 'one', 'c': '3'}
    assert res.module_result(3)['role']['tags'] == {}
    writes = ram_writes(emu)
    assert [w[0] for w in writes] == ['TagResources', 'UntagResources', 'TagResources', 'UntagResources']
    assert json.loads(writes[0][1]['Tag']) == [{'Key': 'c', 'Value': '3'}]
    assert json.loads(writes[1][1]['TagKeys']) == ['b']
    assert json.loads(writes[2][1]['Tag']) == [{'Key': 'a', 'Value': 'one'}]
    assert sorted(json.loads(writes[3][1]['TagKeys'])) == ['a', 'c']
    assert emu.call_counts().get('UpdateRole') is None


def _attach(emu, role, policy='AliyunOSSReadOnlyAccess'):
    from alibabacloud_ram20150501 import models  # pylint: disable=import-outside-toplevel
    sdk_ram(emu).attach_policy_to_role(models.AttachPolicyToRoleRequest(policy_name=policy, policy_type='System', role_name=role))


def _attach_instances(emu, role, ids):
    from alibabacloud_ecs20140526.client import Client  # pylint: disable=import-outside-toplevel
    from alibabacloud_ecs20140526 import models  # pylint: disable=import-outside-toplevel
    from alibabacloud_tea_openapi.models import Config  # pylint: disable=import-outside-toplevel
    ecs = Client(Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret,
                        endpoint=emu.endpoint, protocol='http', region_id='cn-hangzhou'))
    ecs.attach_instance_ram_role(models.AttachInstanceRamRoleRequest(region_id='cn-hangzhou', ram_role_name=role,
                                                                     instance_ids=json.dumps(ids)))


def test_delete_with_attached_policies_and_instances_fails_naming_them(runner, emu):
    runner.run_tasks([task('create', name='busy')])
    _attach(emu, 'busy')
    instance = emu.instances()[0]['InstanceId']
    _attach_instances(emu, 'busy', [instance])
    emu.clear_calls()
    res = runner.run_tasks([failing('delete', name='busy', state='absent'),
                            dict(failing('delete in check mode', name='busy', state='absent'), check_mode=True)])
    for index in (0, 1):
        assert res.result(index)['status'] == 'failed'
        result = res.module_result(index)
        assert 'AliyunOSSReadOnlyAccess' in result['msg'] and instance in result['msg'], result['msg']
        assert 'force' in result['msg'] and '\n' not in result['msg']
        assert result['instance_ids'] == [instance]
    assert emu.write_calls() == []
    assert role_state(emu, 'busy') is not None

    # force in check mode predicts, changes nothing
    res = runner.run_tasks([task('force in check mode', name='busy', state='absent', force=True)], check=True)
    assert res.result(0)['status'] == 'changed' and emu.write_calls() == []
    assert res.module_result(0)['detached_instance_ids'] == [instance]

    res = runner.run_tasks([task('force', name='busy', state='absent', force=True)], diff=True)
    result = res.module_result(0)
    assert res.result(0)['status'] == 'changed'
    assert result['role'] == {}
    assert result['detached_policies'] == [
        {'name': 'AliyunOSSReadOnlyAccess', 'type': 'System', 'policy_name': 'AliyunOSSReadOnlyAccess', 'policy_type': 'System'}]
    assert result['detached_instance_ids'] == [instance]
    assert result['diff']['after'] == {} and result['diff']['before']['role_name'] == 'busy'
    assert [w[0] for w in ram_writes(emu)] == ['DetachInstanceRamRole', 'DetachPolicyFromRole', 'DeleteRole']
    assert role_state(emu, 'busy') is None

    emu.clear_calls()
    res = runner.run_tasks([task('absent again', name='busy', state='absent')])
    assert res.result(0)['status'] == 'ok' and res.module_result(0)['role'] == {}
    assert emu.write_calls() == [] and actions(emu) == ['GetRole']


def test_delete_plain_role_checks_every_region_with_or_without_a_region_set(runner, emu):
    runner.run_tasks([task('create', name='plain'), task('create other', name='plain2')])
    emu.clear_calls()
    res = runner.run_tasks([task('delete', name='plain', state='absent')])
    assert res.result(0)['status'] == 'changed'
    assert [w[0] for w in ram_writes(emu)] == ['DeleteRole']
    defaults = runner.module_defaults()
    defaults['group/alicloud.ram.alicloud'].pop('region')
    emu.clear_calls()
    res = runner.run_tasks([task('delete without region', name='plain2', state='absent')], module_defaults=defaults,
                           env={'ALIBABA_CLOUD_REGION_ID': None})
    assert res.result(0)['status'] == 'changed' and not res.module_result(0).get('warnings')
    # a RAM role is global: the holders are looked for in every region ECS offers, whatever the task's region
    assert res.module_result(0)['regions_checked'] == ['cn-hangzhou']
    assert actions(emu)[:5] == ['GetRole', 'ListPoliciesForRole', 'ListTagResources', 'DescribeRegions', 'DescribeInstanceRamRole']


def test_invalid_input_fails_cleanly_without_any_write(runner, emu):
    runner.run_tasks([task('create', name='valid')])
    emu.clear_calls()
    res = runner.run_tasks([
        failing('bad name', name='bad name!'),
        failing('long description', name='valid', description='x' * 1025),
        failing('duration 100', name='valid', max_session_duration=100),
        failing('invalid json', name='valid', assume_role_policy_document='{"Statement": [}'),
        failing('both trust options', name='valid', trusted_services=['ecs.aliyuncs.com'], assume_role_policy_document=ECS_TRUST),
        failing('reserved tag key', name='valid', tags={'aliyun:x': '1'}),
        failing('too many tags', name='valid', tags=dict(('k%d' % i, 'v') for i in range(21))),
        failing('empty trusted_services', name='valid', trusted_services=[]),
        failing('trust without principal', name='valid',
                assume_role_policy_document={'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole'}]}),
    ])
    expected = ['role name', 'description', 'max_session_duration', 'not valid JSON', 'mutually exclusive', "'aliyun'",
                'at most 20 tags', 'trusted_services', 'Principal']
    for index, fragment in enumerate(expected):
        assert res.result(index)['status'] == 'failed', res.result(index)
        result = res.module_result(index)
        assert fragment in result['msg'], (fragment, result['msg'])
        assert '\n' not in result['msg'] and 'Traceback' not in result['msg']
        assert 'Traceback' not in json.dumps(result)
    assert emu.write_calls() == []
    assert actions(emu) == []


def test_tagging_denied_after_an_update_fails_reporting_the_update(runner, emu):
    runner.run_tasks([task('create', name='half', description='one', tags={'a': '1'})])
    emu.clear_calls()
    emu.set_faults(deny_actions=['TagResources'])
    res = runner.run_tasks([failing('update, then tag', name='half', description='two', tags={'a': '1', 'b': '2'})])
    assert res.result(0)['status'] == 'failed'
    result = res.module_result(0)
    assert result['changed'] is True
    assert result['error']['code'] == 'NoPermission' and 'tag role half' in result['msg'] and '\n' not in result['msg']
    assert result['role']['description'] == 'two' and result['role']['tags'] == {'a': '1'}
    assert [w['action'] for w in emu.write_calls() if w['status'] == 200] == ['UpdateRole']
    assert role_state(emu, 'half')['Description'] == 'two'

    emu.set_faults(deny_actions=[])
    emu.clear_calls()
    res = runner.run_tasks([task('again', name='half', description='two', tags={'a': '1', 'b': '2'})])
    assert res.result(0)['status'] == 'changed'
    assert [w[0] for w in ram_writes(emu)] == ['TagResources']


def test_create_whose_reply_is_lost_counts_as_created_once(runner, emu):
    emu.set_faults(lose_reply_actions=['CreateRole'])
    res = runner.run_tasks([task('create', name='lost', description='mine')])
    assert res.result(0)['status'] == 'changed'
    result = res.module_result(0)
    assert result['role']['role_id'] == role_state(emu, 'lost')['RoleId'] and result['role']['description'] == 'mine'
    assert actions(emu).count('CreateRole') == 2
    roles = emu.state()['roles']
    assert len(roles) == 1

    emu.clear_calls()
    res = runner.run_tasks([task('again', name='lost', description='mine')])
    assert res.result(0)['status'] == 'ok'
    assert emu.write_calls() == []
