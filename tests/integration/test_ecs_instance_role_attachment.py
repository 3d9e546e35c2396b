# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ecs_instance_role_attachment against the emulator: batching, idempotency, force, failures, check/diff."""

from __future__ import annotations

import json
import math
import sys

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.models import Config

MODULE = 'alicloud.ram.ecs_instance_role_attachment'
ECS_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow',
                                       'Principal': {'Service': ['ecs.aliyuncs.com']}}], 'Version': '1'})
RAM_ONLY_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow',
                                            'Principal': {'RAM': ['acs:ram::1234567890123456:root']}}], 'Version': '1'})


def create_role(emu, name, trust=ECS_TRUST):
    config = Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret, endpoint=emu.endpoint,
                    protocol='http', region_id='cn-hangzhou')
    RamClient(config).create_role(ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=trust))


def attach_directly(emu, role, ids):
    config = Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret, endpoint=emu.endpoint,
                    protocol='http', region_id='cn-hangzhou')
    EcsClient(config).attach_instance_ram_role(ecs_models.AttachInstanceRamRoleRequest(
        region_id='cn-hangzhou', ram_role_name=role, instance_ids=json.dumps(ids)))


def roles_of(emu, ids):
    held = {i['InstanceId']: i.get('RamRoleName') or None for i in emu.instances()}
    return {i: held.get(i) for i in ids}


def calls_of(emu, action):
    return [c for c in emu.calls() if c['action'] == action]


def ids_in(call):
    return json.loads(call['params']['InstanceIds'])


def diff_maps(diff):
    """``(before, after)`` of a diff, without its summary headers."""
    return diff['before'], diff['after']


def task(name, **args):
    return {'name': name, MODULE: args, 'register': name.replace(' ', '_')}


def test_attach_three_check_mode_policy_then_second_run_makes_no_write_call(runner, emu):
    create_role(emu, 'app-role')
    ids = emu.seed_instances(3)
    policy = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': ['oss:GetObject'], 'Resource': ['*']}]}
    args = dict(role_name='app-role', instance_ids=ids + [ids[0]], policy=policy)
    emu.clear_calls()
    check = runner.run_tasks([task('attach', **args)], check=True, diff=True)
    predicted = check.module_result('attach')
    assert emu.write_calls() == [] and predicted['changed'] is True
    check_counts = emu.call_counts()

    emu.clear_calls()
    first = runner.run_tasks([task('attach', **args)], diff=True)
    result = first.module_result('attach')
    assert first.result(0)['changed'] is True
    for key in ('changed', 'attachments', 'changed_instance_ids', 'failed_instances', 'diff'):
        assert result[key] == predicted[key], key
    assert result['attachments'] == {i: 'app-role' for i in ids}
    assert result['changed_instance_ids'] == ids and result['failed_instances'] == []
    assert diff_maps(result['diff']) == ({i: None for i in ids}, {i: 'app-role' for i in ids})
    assert result['diff']['after_header'] == result['msg'] == 'attached app-role to 3 of 3 instance(s)'
    assert result['summary'] == {'selected': 3, 'changed': 3, 'failed': 0, 'unchanged': 0}
    assert roles_of(emu, ids) == {i: 'app-role' for i in ids}
    counts = emu.call_counts()
    assert counts == {'DescribeInstanceRamRole': 1, 'GetRole': 1, 'AttachInstanceRamRole': 1}
    # check mode made the very reads of the real run
    assert check_counts == {'DescribeInstanceRamRole': 1, 'GetRole': 1}
    attach = calls_of(emu, 'AttachInstanceRamRole')
    assert ids_in(attach[0]) == ids and json.loads(attach[0]['params']['Policy']) == policy

    emu.clear_calls()
    second = runner.run_tasks([task('attach', role_name='APP-ROLE', instance_ids=ids)])
    assert second.result(0)['changed'] is False
    assert second.module_result('attach')['changed_instance_ids'] == []
    assert emu.write_calls() == []
    # a no-change run reads the roles once and nothing else
    assert emu.call_counts() == {'DescribeInstanceRamRole': 1}


def test_250_instances_are_batched_within_api_limits(runner, emu):
    create_role(emu, 'fleet-role')
    ids = emu.seed_instances(250)
    emu.clear_calls()
    res = runner.run_tasks([task('fleet', role_name='fleet-role', instance_ids=ids, concurrency=3)])
    result = res.module_result('fleet')
    assert result['changed'] is True and len(result['changed_instance_ids']) == 250
    attach = calls_of(emu, 'AttachInstanceRamRole')
    assert len(attach) == math.ceil(250 / 100)
    assert all(len(ids_in(c)) <= 100 for c in attach)
    assert sorted(i for c in attach for i in ids_in(c)) == sorted(ids)
    describe = calls_of(emu, 'DescribeInstanceRamRole')
    assert describe and all(len(ids_in(c)) <= 50 for c in describe)
    assert len(describe) == math.ceil(250 / 50)
    # the role read lists every instance: no DescribeInstances at all
    assert emu.call_counts() == {'DescribeInstanceRamRole': 5, 'GetRole': 1, 'AttachInstanceRamRole': 3}
    assert set(roles_of(emu, ids).values()) == {'fleet-role'}
    assert 1 <= result['concurrency'] <= 3


def test_other_role_fails_without_force_and_is_replaced_with_force(runner, emu):
    create_role(emu, 'app-role')
    create_role(emu, 'old-role')
    ids = emu.seed_instances(3)
    attach_directly(emu, 'old-role', [ids[0]])
    emu.clear_calls()
    failed = runner.run_tasks([task('no force', role_name='app-role', instance_ids=ids)], expect_failure=True)
    result = failed.module_result('no force')
    assert ids[0] in result['msg'] and 'old-role' in result['msg'] and 'force' in result['msg']
    assert [(f['instance_id'], f['code']) for f in result['failed_instances']] == [(ids[0], 'InstanceHasOtherRole')]
    assert result['changed_instance_ids'] == [] and result['attachments'][ids[0]] == 'old-role'
    assert emu.write_calls() == []
    assert roles_of(emu, ids) == {ids[0]: 'old-role', ids[1]: None, ids[2]: None}

    emu.clear_calls()
    forced = runner.run_tasks([task('force', role_name='app-role', instance_ids=ids, force=True)], diff=True)
    result = forced.module_result('force')
    assert result['changed'] is True and sorted(result['changed_instance_ids']) == sorted(ids)
    writes = [(c['action'], ids_in(c), c['params'].get('RamRoleName')) for c in emu.write_calls()]
    assert writes[0] == ('DetachInstanceRamRole', [ids[0]], 'old-role')
    assert writes[1][0] == 'AttachInstanceRamRole' and sorted(writes[1][1]) == sorted(ids) and len(writes) == 2
    assert result['diff']['before'] == {ids[0]: 'old-role', ids[1]: None, ids[2]: None}
    assert result['diff']['after'] == {i: 'app-role' for i in ids}
    assert roles_of(emu, ids) == {i: 'app-role' for i in ids}


def test_classic_and_unknown_instances_fail_clearly_without_writes(runner, emu):
    create_role(emu, 'app-role')
    vpc = emu.seed_instances(2)
    classic = emu.seed_instances(1, network_type='classic')
    unknown = 'i-doesnotexist0000000'
    emu.clear_calls()
    res = runner.run_tasks([
        task('mixed', role_name='app-role', instance_ids=vpc + classic + [unknown]),
    ], expect_failure=True)
    result = res.module_result('mixed')
    codes = {f['instance_id']: f['code'] for f in result['failed_instances']}
    assert codes == {classic[0]: 'InvalidNetworkType.MismatchRamRole', unknown: 'InvalidInstanceId.NotFound'}
    assert unknown in result['msg'] and classic[0] in result['msg'] and 'classic' in result['msg']
    assert '\n' not in result['msg'] and 'Traceback' not in res.stdout
    assert result['error']['code'] in codes.values()
    assert emu.write_calls() == []
    assert roles_of(emu, vpc) == {i: None for i in vpc}


def test_detach_check_mode_and_unknown_instance_warning(runner, emu):
    create_role(emu, 'app-role')
    create_role(emu, 'other-role')
    ids = emu.seed_instances(3)
    attach_directly(emu, 'app-role', ids[:2])
    attach_directly(emu, 'other-role', [ids[2]])
    emu.clear_calls()
    unknown = 'i-doesnotexist0000001'
    args = dict(role_name='app-role', instance_ids=ids + [unknown], state='absent')
    check = runner.run_tasks([task('detach', **args)], check=True, diff=True)
    predicted = check.module_result('detach')
    assert emu.write_calls() == []
    assert predicted['changed'] is True and predicted['changed_instance_ids'] == ids[:2]
    assert diff_maps(predicted['diff']) == ({ids[0]: 'app-role', ids[1]: 'app-role'}, {ids[0]: None, ids[1]: None})

    real = runner.run_tasks([task('detach', **args)], diff=True)
    result = real.module_result('detach')
    for key in ('changed', 'attachments', 'changed_instance_ids', 'failed_instances', 'diff'):
        assert result[key] == predicted[key], key
    # the instances it changed; the others are counted
    assert result['attachments'] == {ids[0]: None, ids[1]: None}
    assert result['summary'] == {'selected': 4, 'changed': 2, 'failed': 0, 'unchanged': 2}
    assert result['msg'] == 'detached app-role from 2 of 4 instance(s); 2 did not hold it'
    assert any(unknown in w for w in result.get('warnings', []))
    detach = calls_of(emu, 'DetachInstanceRamRole')
    assert len(detach) == 1 and ids_in(detach[0]) == ids[:2] and detach[0]['params']['RamRoleName'] == 'app-role'
    assert roles_of(emu, ids) == {ids[0]: None, ids[1]: None, ids[2]: 'other-role'}


def test_role_not_yet_visible_to_ecs_is_retried(runner, emu):
    ids = emu.seed_instances(2)
    # ECS refuses the first two attaches naming the new role (counted by the emulator, whatever the machine's speed)
    emu.set_faults(role_visibility_calls=2)
    create_role(emu, 'fresh-role')
    emu.clear_calls()
    res = runner.run_tasks([task('fresh', role_name='fresh-role', instance_ids=ids, wait=True)])
    result = res.module_result('fresh')
    assert result['failed_instances'] == [] and result['attachments'] == {i: 'fresh-role' for i in ids}
    attach = calls_of(emu, 'AttachInstanceRamRole')
    assert [c['code'] for c in attach] == ['InvalidRamRole.NotFound', 'InvalidRamRole.NotFound', None]
    assert roles_of(emu, ids) == {i: 'fresh-role' for i in ids}


def test_role_problems_and_bad_input_fail_before_any_write(runner, emu):
    create_role(emu, 'ram-only', trust=RAM_ONLY_TRUST)
    ids = emu.seed_instances(1)
    emu.clear_calls()
    res = runner.run_tasks([
        dict(task('missing', role_name='no-such-role', instance_ids=ids), ignore_errors=True),
        dict(task('not ecs', role_name='ram-only', instance_ids=ids), ignore_errors=True),
        dict(task('bad name', role_name='bad/name', instance_ids=ids), ignore_errors=True),
        dict(task('neither ids nor tags', role_name='app-role'), ignore_errors=True),
        dict(task('bad policy', role_name='app-role', instance_ids=ids, policy='{"Statement": '), ignore_errors=True),
        dict(task('concurrency', role_name='app-role', instance_ids=ids, concurrency=17), ignore_errors=True),
        dict(task('bad tags', role_name='app-role', instance_tags={'k%d' % n: 'v' for n in range(21)}), ignore_errors=True),
    ])
    assert res.module_result('missing')['error']['code'] == 'EntityNotExist.Role'
    assert res.module_result('not ecs')['error']['code'] == 'InvalidRamRole.NotEcsRole'
    assert 'instance_ids' in res.module_result('neither ids nor tags')['msg']
    for name in ('bad name', 'bad policy', 'concurrency', 'bad tags'):
        assert res.by_name(name)['status'] == 'failed', name
        assert res.module_result(name)['msg'].startswith('invalid input'), name
    assert emu.write_calls() == []
    # the invalid inputs made no call at all
    assert emu.call_counts() == {'DescribeInstanceRamRole': 2, 'GetRole': 2}


def test_check_mode_predicts_the_attach_of_a_role_that_does_not_exist_yet(runner, emu):
    ids = emu.seed_instances(2)
    emu.clear_calls()
    res = runner.run_tasks([
        dict(task('predict', role_name='future-role', instance_ids=ids), check_mode=True),
        dict(task('real run fails', role_name='future-role', instance_ids=ids), ignore_errors=True),
    ])
    predicted = res.module_result('predict')
    assert res.by_name('predict')['changed'] is True
    assert predicted['attachments'] == {i: 'future-role' for i in ids}
    assert sorted(predicted['changed_instance_ids']) == sorted(ids) and predicted['failed_instances'] == []
    assert any('role future-role does not exist yet' in w for w in predicted['warnings'])
    assert res.module_result('real run fails')['error']['code'] == 'EntityNotExist.Role'
    assert emu.write_calls() == []
    assert roles_of(emu, ids) == {i: None for i in ids}


def test_tag_selection_across_pages_and_empty_selections(runner, emu):
    create_role(emu, 'web-role')
    web = emu.seed_instances(120, tags={'app': 'web', 'tier': 'front'})
    api = emu.seed_instances(3, tags={'app': 'api'})
    extra = emu.seed_instances(1)
    emu.clear_calls()
    args = dict(role_name='web-role', instance_tags={'app': 'web'}, instance_ids=extra)
    first = runner.run_tasks([task('by tags', **args)]).module_result('by tags')
    assert first['changed'] is True and first['changed_instance_ids'] == extra + web
    # two DescribeInstances pages for the tags; the role pages list every instance, so nothing else is described
    assert emu.call_counts() == {'DescribeInstances': 2, 'DescribeInstanceRamRole': 3, 'GetRole': 1, 'AttachInstanceRamRole': 2}
    tag_calls = calls_of(emu, 'DescribeInstances')
    assert all(c['params'].get('Tag.1.Key') == 'app' and c['params'].get('Tag.1.Value') == 'web' for c in tag_calls), tag_calls
    assert roles_of(emu, web + extra + api) == dict([(i, 'web-role') for i in web + extra] + [(i, None) for i in api])

    emu.clear_calls()
    res = runner.run_tasks([
        task('again', **args),
        task('no match', role_name='web-role', instance_tags={'app': 'nothing-has-this'}),
        task('no ids', role_name='web-role', instance_ids=[]),
    ])
    assert [res.by_name(n)['changed'] for n in ('again', 'no match', 'no ids')] == [False, False, False]
    assert res.module_result('no match')['attachments'] == {} and res.module_result('no ids')['changed_instance_ids'] == []
    assert emu.write_calls() == []
    assert emu.call_counts() == {'DescribeInstances': 3, 'DescribeInstanceRamRole': 3}


def test_lost_attach_reply_counts_as_done_and_changed(runner, emu):
    create_role(emu, 'app-role')
    ids = emu.seed_instances(3)
    # the attach is carried out and its answer lost; the retry meets "already holds this role" per instance
    emu.set_faults(lose_reply_actions=['AttachInstanceRamRole'], attach_same_role='failure')
    emu.clear_calls()
    result = runner.run_tasks([task('attach', role_name='app-role', instance_ids=ids)]).module_result('attach')
    assert result['changed'] is True and result['changed_instance_ids'] == ids and result['failed_instances'] == []
    attach = calls_of(emu, 'AttachInstanceRamRole')
    assert len(attach) == 2 and attach[0].get('lost_reply'), attach
    # the failed instances of the retry are read back once
    assert emu.call_counts() == {'DescribeInstanceRamRole': 2, 'GetRole': 1, 'AttachInstanceRamRole': 2}
    assert roles_of(emu, ids) == {i: 'app-role' for i in ids}


def test_two_identical_runs_at_once_both_end_ok(runner, emu, tmp_path):
    create_role(emu, 'race-role')
    ids = emu.seed_instances(5)
    # the service answers "already holds this role" as a per-instance failure; a barrier makes both runs read
    # before either writes
    emu.set_faults(attach_same_role='failure')
    emu.clear_calls()
    inventory = tmp_path / 'two.ini'
    hosts = ''.join('racer%d ansible_connection=local ansible_python_interpreter=%s\n' % (n, sys.executable) for n in range(2))
    inventory.write_text('[racers]\n' + hosts)
    playbook = tmp_path / 'race.yml'
    playbook.write_text(json.dumps([{'name': 'race', 'hosts': 'racers', 'gather_facts': False,
                                     'module_defaults': runner.module_defaults(),
                                     'tasks': [task('attach', role_name='race-role', instance_ids=ids)]}]))
    with emu.barrier(2, action='DescribeInstanceRamRole', timeout=600):
        res = runner.run_playbook(playbook, extra_args=('-i', str(inventory), '-f', '2'))
    results = [r for r in res.results if r['task'] == 'attach']
    assert sorted(r['status'] for r in results) == ['changed', 'ok'], results
    attach = calls_of(emu, 'AttachInstanceRamRole')
    assert len(attach) == 2, attach
    # one run attached; the other met "already holds" for every instance, read it back and changed nothing
    for item in results:
        assert item['result']['attachments'] == {i: 'race-role' for i in ids} and item['result']['failed_instances'] == []
    assert roles_of(emu, ids) == {i: 'race-role' for i in ids}
