# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ram_instance_role and ram_instance_role_info against the in-process emulator (plan() alone: module_utils/test_instance_role.py)."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.ram import policy_item
from ansible_collections.alicloud.ram.plugins.module_utils.role_info import InstanceRoleInfo
from ansible_collections.alicloud.ram.plugins.modules import ram_instance_role, ram_instance_role_info
from ansible_collections.alicloud.ram.tests.emulator.sdkhelpers import ECS_TRUST, RAM_ONLY_TRUST
from ansible_collections.alicloud.ram.tests.unit.emulated import REGION

OTHER_REGION = 'me-central-1'
OSS = 'AliyunOSSReadOnlyAccess'
ECS = 'AliyunECSReadOnlyAccess'


@pytest.fixture(autouse=True)
def regions(emulated, monkeypatch):
    """ECS answers DescribeRegions (the role deletion looks for holders in every region)."""
    emulated.offer_describe_regions(monkeypatch)


def seed_role(emulated, name='app', trust=ECS_TRUST, description=None, tags=None, policies=()):
    """A role made behind the module's back (through the service layer); the call log is cleared afterwards."""
    ram = emulated.client('ram')
    ram_api.create_role(ram, name, trust, description=description, tags=tags)
    for policy_name in policies:
        ram_api.attach_policy(ram, 'role', name, policy_name, 'System')
    emulated.forget()


def held_by(emulated, ids, name='app'):
    emulated.hold(name, ids)
    emulated.forget()


def stored_role(emulated, name='app'):
    with emulated.state.lock:
        role = emulated.state.data['roles'].get(name.lower())
        return None if role is None else dict(role, tags=dict(role['tags']))


def holders(emulated, name='app'):
    with emulated.state.lock:
        return sorted(i['InstanceId'] for i in emulated.state.data['instances'].values() if i['role'] == name.lower())


def run(emulated, check_mode=False, diff=False, **args):
    args.setdefault('name', 'app')
    return emulated.run(ram_instance_role, args, check_mode=check_mode, diff=diff)


# ---------------------------------------------------------------------------------- validation

@pytest.mark.parametrize('params, fragment', [
    (dict(name='bad name'), 'role name'),
    (dict(name='x' * 65), 'role name'),
    (dict(description='x' * 1025), 'description'),
    (dict(description=''), 'description'),
    (dict(max_session_duration=100), 'max_session_duration'),
    (dict(max_session_duration=43201), 'max_session_duration'),
    (dict(assume_role_policy_document='{"Statement": ['), 'not valid JSON'),
    (dict(assume_role_policy_document='[]'), 'JSON object'),
    (dict(assume_role_policy_document={'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole'}]}), 'Principal'),
    (dict(assume_role_policy_document={'Statement': [
        {'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Principal': {'Service': ['x' * 7000]}}]}), 'the limit is 6144'),
    (dict(assume_role_policy_document='{"Version": "1", "Version": "1", "Statement": [{"Effect": "Allow", '
                                      '"Action": "sts:AssumeRole", "Principal": {"Service": "ecs.aliyuncs.com"}}]}'), 'twice'),
    (dict(trusted_services=[]), 'trusted_services'),
    (dict(tags={'acs:x': '1'}), "'acs:'"),
    (dict(tags={'Aliyun-x': '1'}), "'aliyun'"),
    (dict(tags={'': '1'}), 'tag key'),
    (dict(tags={'k' * 129: '1'}), 'tag key'),
    (dict(tags={'k': 'v' * 257}), 'value of tag'),
    (dict(tags=dict(('k%d' % i, 'v') for i in range(21))), 'at most 20'),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_invalid_input_fails_before_any_call(emulated, params, fragment, check_mode):
    result = run(emulated, check_mode=check_mode, **params)
    assert result['failed'] and fragment in result['msg'], result['msg']
    assert result['changed'] is False and '\n' not in result['msg']
    assert emulated.actions() == []


# ---------------------------------------------------------------------------------- create

def test_create_then_a_second_run_makes_no_write_call(emulated):
    args = dict(description='app servers', max_session_duration=7200, tags={'b': '2', 'a': 1, 'long': 'v' * 256})
    result = run(emulated, **args)
    assert result['changed'] is True and not result.get('failed')
    assert emulated.actions() == ['GetRole', 'CreateRole']
    sent = emulated.params_of('CreateRole')[0]
    assert json.loads(sent['Tag']) == [{'Key': 'a', 'Value': '1'}, {'Key': 'b', 'Value': '2'}, {'Key': 'long', 'Value': 'v' * 256}]
    assert json.loads(sent['AssumeRolePolicyDocument']) == json.loads(ECS_TRUST)
    role = result['role']
    assert role['role_id'] == stored_role(emulated)['RoleId'] and role['arn'] == 'acs:ram::1234567890123456:role/app'
    assert role['description'] == 'app servers' and role['max_session_duration'] == 7200
    assert role['tags'] == {'a': '1', 'b': '2', 'long': 'v' * 256} and role['attached_policies'] == []
    assert role['update_date'] == role['create_date']
    assert result['detached_policies'] == [] and result['detached_instance_ids'] == []

    emulated.forget()
    again = run(emulated, **args)
    assert again['changed'] is False and again['role'] == role
    assert emulated.write_actions() == []
    assert emulated.actions() == ['GetRole', 'ListPoliciesForRole', 'ListTagResources']


def test_check_mode_create_predicts_the_real_run(emulated):
    args = dict(description='x', max_session_duration=7200, tags={'a': '1'})
    predicted = run(emulated, check_mode=True, diff=True, **args)
    assert predicted['changed'] is True and emulated.write_actions() == [] and stored_role(emulated) is None
    assert set(predicted['role']) == {'role_name', 'description', 'assume_role_policy_document', 'max_session_duration', 'tags',
                                      'attached_policies'}
    assert predicted['diff']['before'] == {}
    real = run(emulated, diff=True, **args)
    for key, value in predicted['role'].items():
        assert real['role'][key] == value, key
    assert real['diff'] == predicted['diff']


@pytest.mark.parametrize('retries', [2, 0])
def test_a_create_whose_answer_was_lost_counts_as_created(emulated, retries):
    emulated.script('CreateRole', lose_reply=True)
    result = run(emulated, description='mine', retries=retries)
    assert result['changed'] is True and not result.get('failed')
    assert emulated.actions().count('CreateRole') == (1 if retries == 0 else 2) and emulated.write_actions() == ['CreateRole']
    assert result['role']['role_id'] == stored_role(emulated)['RoleId'] and result['role']['description'] == 'mine'
    assert len(emulated.state.data['roles']) == 1
    emulated.forget()
    assert run(emulated, description='mine')['changed'] is False and emulated.write_actions() == []


def test_a_create_race_converges_the_existing_role_reporting_only_own_writes(emulated):
    emulated.before_next('CreateRole', lambda: seed_role(emulated, description='theirs'))
    result = run(emulated, description='mine', diff=True)
    assert result['changed'] is True and not result.get('failed')
    assert emulated.write_actions() == ['UpdateRole']
    assert result['role']['description'] == 'mine' and stored_role(emulated)['Description'] == 'mine'
    assert result['diff']['before']['description'] == 'theirs'


def test_a_create_race_with_an_equal_role_is_no_change(emulated):
    emulated.before_next('CreateRole', lambda: seed_role(emulated, description='same'))
    result = run(emulated, description='same')
    assert result['changed'] is False and not result.get('failed')
    assert emulated.write_actions() == [] and result['role']['role_id'] == stored_role(emulated)['RoleId']


# ---------------------------------------------------------------------------------- update

def test_drift_is_fixed_with_one_update_role_carrying_only_the_changed_fields(emulated):
    seed_role(emulated, description='d')
    role_id = stored_role(emulated)['RoleId']
    result = run(emulated, description='new', trusted_services=['ecs.aliyuncs.com', 'fc.aliyuncs.com'], diff=True)
    assert result['changed'] is True and emulated.write_actions() == ['UpdateRole']
    assert set(emulated.params_of('UpdateRole')[0]) == {'RoleName', 'NewDescription', 'NewAssumeRolePolicyDocument'}
    assert result['role']['role_id'] == role_id == stored_role(emulated)['RoleId']
    assert result['role']['update_date'] == stored_role(emulated)['UpdateDate']
    assert result['diff']['before']['description'] == 'd' and result['diff']['after']['description'] == 'new'
    services = result['diff']['after']['assume_role_policy_document']['Statement'][0]['Principal']['Service']
    assert services == ['ecs.aliyuncs.com', 'fc.aliyuncs.com']


def test_an_equivalent_or_kept_trust_policy_is_no_change(emulated):
    seed_role(emulated, trust=RAM_ONLY_TRUST)
    assert run(emulated)['role']['assume_role_policy_document'] == json.loads(RAM_ONLY_TRUST)
    text = ('{"Version": "1", "Statement": {"Principal": {"RAM": "acs:ram::1234567890123456:root"}, "Action": ["sts:AssumeRole"], '
            '"Effect": "Allow"}}')
    result = run(emulated, assume_role_policy_document=text, diff=True)
    assert result['changed'] is False and result['diff']['before'] == result['diff']['after']
    assert emulated.write_actions() == []


def test_check_mode_update_predicts_the_real_run(emulated):
    seed_role(emulated, description='d', tags={'a': '1'})
    args = dict(description='new', max_session_duration=9000, tags={'b': '2'})
    predicted = run(emulated, check_mode=True, diff=True, **args)
    assert predicted['changed'] is True and emulated.write_actions() == []
    real = run(emulated, diff=True, **args)
    assert emulated.write_actions() == ['UpdateRole', 'UntagResources', 'TagResources']
    assert predicted['diff'] == real['diff']
    for key in ('role_id', 'arn', 'description', 'max_session_duration', 'tags', 'assume_role_policy_document', 'create_date'):
        assert predicted['role'][key] == real['role'][key], key
    emulated.forget()
    assert run(emulated, check_mode=True, **args)['changed'] is False


@pytest.mark.parametrize('have, params, writes, final', [
    ({'a': '1'}, dict(tags={'a': '1'}), [], {'a': '1'}),
    ({'a': '1'}, dict(tags={'b': '2'}, purge_tags=False), ['TagResources'], {'a': '1', 'b': '2'}),
    ({'a': '1', 'b': '2'}, dict(tags={'a': 'x'}), ['UntagResources', 'TagResources'], {'a': 'x'}),
    ({'a': '1'}, dict(tags={}), ['UntagResources'], {}),
    ({'a': '1'}, dict(), [], {'a': '1'}),
])
def test_tags_converge(emulated, have, params, writes, final):
    seed_role(emulated, tags=have)
    result = run(emulated, **params)
    assert emulated.write_actions() == writes and result['changed'] is bool(writes)
    assert result['role']['tags'] == final == stored_role(emulated)['tags']


def test_tags_come_from_list_roles_where_the_tag_api_is_not_offered(emulated):
    seed_role(emulated, tags={'a': '1'})
    emulated.script('ListTagResources', code='InvalidAction.NotFound', status=404)
    result = run(emulated)
    assert result['role']['tags'] == {'a': '1'} and result['changed'] is False
    assert emulated.actions() == ['GetRole', 'ListPoliciesForRole', 'ListTagResources', 'ListRoles']


def test_other_tag_read_errors_fail_naming_the_operation(emulated):
    seed_role(emulated)
    emulated.script('ListTagResources', code='NoPermission', status=403)
    result = run(emulated)
    assert result['failed'] and 'read the tags of role app' in result['msg']
    assert result['error']['code'] == 'NoPermission' and result['error']['request_id'] == 'SCRIPTED-REQUEST'


def test_a_failure_after_a_write_reports_changed_and_the_role_as_updated(emulated):
    seed_role(emulated, description='d')
    emulated.script('TagResources', code='NoPermission', status=403)
    result = run(emulated, description='new', tags={'a': '1'})
    assert result['failed'] is True and result['changed'] is True
    assert 'tag role app' in result['msg'] and result['error']['code'] == 'NoPermission'
    assert emulated.write_actions() == ['UpdateRole']
    assert result['role']['description'] == 'new' and result['role']['tags'] == {}
    assert result['role']['update_date'] == stored_role(emulated)['UpdateDate']


@pytest.mark.parametrize('action, params', [
    ('UpdateRole', dict(description='new')),
    ('TagResources', dict(tags={'a': '1', 'b': '2'}, purge_tags=False)),
    ('UntagResources', dict(tags={'a': '1'})),
])
def test_an_update_whose_last_answer_was_lost_is_settled_by_a_read(emulated, action, params):
    seed_role(emulated, description='d', tags={'a': '1', 'c': '3'})
    emulated.script(action, lose_reply=True)
    result = run(emulated, retries=0, **params)
    assert not result.get('failed') and result['changed'] is True
    assert emulated.write_actions() == [action]


# ---------------------------------------------------------------------------------- delete

def test_an_absent_role_is_no_change_with_one_read(emulated):
    result = run(emulated, state='absent', diff=True)
    assert result['changed'] is False and result['role'] == {} and 'regions_checked' not in result
    assert result['diff'] == {'before': {}, 'after': {}}
    assert emulated.actions() == ['GetRole']


def test_deleting_a_role_looks_for_holders_in_every_region(emulated):
    emulated.add_instances(1, region=OTHER_REGION)
    seed_role(emulated)
    result = run(emulated, state='absent', diff=True)
    assert result['changed'] is True and result['role'] == {} and result['regions_checked'] == [REGION, OTHER_REGION]
    assert emulated.write_actions() == ['DeleteRole'] and stored_role(emulated) is None
    assert sorted(p['RegionId'] for p in emulated.params_of('DescribeInstanceRamRole')) == [REGION, OTHER_REGION]
    assert result['diff']['before']['role_name'] == 'app' and result['diff']['after'] == {}


def test_where_describe_regions_is_not_offered_the_task_region_is_searched_with_a_warning(emulated):
    seed_role(emulated)
    held_by(emulated, emulated.instance_ids()[:1])
    emulated.script('DescribeRegions', code='InvalidAction.NotFound', status=404)
    result = run(emulated, state='absent')
    assert result['failed'] and result['holders'] == {REGION: emulated.instance_ids()[:1]}
    assert any('does not offer DescribeRegions (InvalidAction.NotFound)' in w and REGION in w for w in emulated.warnings)
    emulated.script('DescribeRegions', code='NoPermission', status=403)
    refused = run(emulated, state='absent')
    assert refused['failed'] and refused['error']['code'] == 'NoPermission' and 'list the regions failed' in refused['msg']
    assert stored_role(emulated) is not None


@pytest.mark.parametrize('check_mode', [False, True])
def test_holders_in_any_region_and_policies_block_the_deletion(emulated, check_mode):
    seed_role(emulated, policies=[OSS])
    here = emulated.instance_ids()[:1]
    there = emulated.add_instances(2, region=OTHER_REGION)
    held_by(emulated, here + there)
    result = run(emulated, state='absent', check_mode=check_mode)
    assert result['failed'] and result['changed'] is False
    assert OSS in result['msg'] and 'force' in result['msg']
    assert '%s in %s' % (here[0], REGION) in result['msg'] and '%s, %s in %s' % (there[0], there[1], OTHER_REGION) in result['msg']
    assert sorted(result['instance_ids']) == sorted(here + there) and result['holders'] == {REGION: here, OTHER_REGION: there}
    assert result['attached_policies'] == [policy_item(OSS, 'System')]
    assert emulated.write_actions() == [] and stored_role(emulated) is not None


def test_force_detaches_every_holder_in_its_region_then_the_policies_then_deletes(emulated):
    emulated.add_instances(147)
    ids = emulated.instance_ids()
    there = emulated.add_instances(2, region=OTHER_REGION)
    seed_role(emulated, policies=[OSS, ECS])
    held_by(emulated, ids + there)
    predicted = run(emulated, state='absent', force=True, check_mode=True, diff=True)
    assert emulated.write_actions() == []
    result = run(emulated, state='absent', force=True, diff=True)
    assert result['changed'] is True and result['role'] == {} and stored_role(emulated) is None
    assert emulated.write_actions() == ['DetachInstanceRamRole'] * 3 + ['DetachPolicyFromRole'] * 2 + ['DeleteRole']
    sent = sorted((p['RegionId'], len(json.loads(p['InstanceIds']))) for p in emulated.params_of('DetachInstanceRamRole'))
    assert sent == [(REGION, 50), (REGION, 100), (OTHER_REGION, 2)]
    assert sorted(result['detached_instance_ids']) == sorted(ids + there) and holders(emulated) == []
    assert result['detached_policies'] == [policy_item(OSS, 'System'), policy_item(ECS, 'System')]
    for key in ('changed', 'role', 'detached_policies', 'diff', 'regions_checked'):
        assert predicted[key] == result[key], key
    assert sorted(predicted['detached_instance_ids']) == sorted(result['detached_instance_ids'])


def test_force_reports_the_instances_it_could_not_detach_and_keeps_the_role(emulated):
    emulated.add_instances(147)
    ids = emulated.instance_ids()
    seed_role(emulated, policies=[OSS])
    held_by(emulated, ids)
    emulated.script('DetachInstanceRamRole', code='NoPermission', status=403)
    result = run(emulated, state='absent', force=True)
    assert result['failed'] is True and result['changed'] is True
    failed = [f['instance_id'] for f in result['failed_instances']]
    done = result['detached_instance_ids']
    assert sorted(failed + done) == sorted(ids) and len(failed) in (50, 100) and sorted(failed) == holders(emulated)
    assert result['error']['code'] == 'NoPermission' and 'was not deleted' in result['msg']
    assert '%d of 150 instance(s) failed' % len(failed) in result['msg'] and 'and %d more' % (len(failed) - 10) in result['msg']
    assert emulated.write_actions() == ['DetachInstanceRamRole']
    assert result['detached_policies'] == [] and result['role']['role_name'] == 'app' and stored_role(emulated) is not None


def test_force_detaches_a_policy_attached_meanwhile(emulated):
    seed_role(emulated)
    ram = emulated.client('ram')
    emulated.before_next('DeleteRole', lambda: ram_api.attach_policy(ram, 'role', 'app', OSS, 'System'))
    result = run(emulated, state='absent', force=True)
    assert result['changed'] is True and not result.get('failed') and stored_role(emulated) is None
    assert [a for a in emulated.write_actions() if a != 'AttachPolicyToRole'] == ['DetachPolicyFromRole', 'DeleteRole']
    assert emulated.actions().count('DeleteRole') == 2
    assert result['detached_policies'] == [policy_item(OSS, 'System')]


def test_delete_conflicts_stay_bounded(emulated):
    seed_role(emulated)
    for _attempt in range(4):
        emulated.script('DeleteRole', code='DeleteConflict.Role.Policy', status=409)
    result = run(emulated, state='absent', force=True)
    assert result['failed'] and result['error']['code'] == 'DeleteConflict.Role.Policy' and 'delete role app' in result['msg']
    assert len(emulated.scripts) == 1   # three attempts, each conflict followed by a fresh look at the policies
    assert emulated.actions().count('ListPoliciesForRole') == 3
    assert stored_role(emulated) is not None


def test_a_delete_conflict_without_force_fails_with_the_api_error(emulated):
    seed_role(emulated)
    for _attempt in range(2):
        emulated.script('DeleteRole', code='DeleteConflict.Role.Policy', status=409)
    result = run(emulated, state='absent')
    assert result['failed'] and result['error']['code'] == 'DeleteConflict.Role.Policy'
    assert len(emulated.scripts) == 1   # tried once: without force nothing is detached, so nothing is retried
    assert stored_role(emulated) is not None


@pytest.mark.parametrize('retries', [2, 0])
def test_a_delete_whose_answer_was_lost_counts_as_deleted(emulated, retries):
    seed_role(emulated)
    emulated.script('DeleteRole', lose_reply=True)
    result = run(emulated, state='absent', retries=retries)
    assert result['changed'] is True and not result.get('failed') and result['role'] == {}
    assert emulated.actions().count('DeleteRole') == (1 if retries == 0 else 2) and stored_role(emulated) is None


def test_a_role_deleted_by_someone_else_meanwhile_is_not_our_change(emulated):
    seed_role(emulated)
    ram = emulated.client('ram')
    emulated.before_next('DeleteRole', lambda: ram_api.delete_role(ram, 'app'))
    result = run(emulated, state='absent')
    assert result['changed'] is False and not result.get('failed') and result['role'] == {}


def test_without_a_region_the_regions_are_listed_from_the_default_one(emulated, monkeypatch):
    for name in ('ALIBABA_CLOUD_REGION_ID', 'ALICLOUD_REGION', 'ALICLOUD_REGION_ID'):
        monkeypatch.delenv(name, raising=False)
    emulated.add_instances(1, region=OTHER_REGION)
    seed_role(emulated)
    held_by(emulated, emulated.instance_ids(OTHER_REGION))
    result = run(emulated, state='absent', region=None)
    there = emulated.instance_ids(OTHER_REGION)
    assert result['failed'] and '%s in %s' % (there[0], OTHER_REGION) in result['msg'] and result['holders'] == {OTHER_REGION: there}


def test_a_region_list_failure_fails_before_any_write(emulated):
    seed_role(emulated)
    emulated.script('DescribeRegions', code='NoPermission', status=403)
    result = run(emulated, state='absent')
    assert result['failed'] and 'list the regions' in result['msg'] and emulated.write_actions() == []


# ---------------------------------------------------------------------------------- info

def info(emulated, **args):
    emulated.forget()
    return emulated.run(ram_instance_role_info, args, check_mode=True)


def test_info_by_name(emulated):
    seed_role(emulated, description='web', tags={'tier': 'web'}, policies=[OSS])
    result = info(emulated, name='APP')
    assert result['changed'] is False
    role = result['roles'][0]
    assert role['role_name'] == 'app' and role['tags'] == {'tier': 'web'} and role['ecs_can_assume'] is True
    assert role['attached_policies'] == [policy_item(OSS, 'System')]
    assert sorted(emulated.actions()) == ['GetRole', 'ListPoliciesForRole', 'ListTagResources']
    assert info(emulated, name='nope')['roles'] == []


def test_info_by_name_filters_roles_ecs_cannot_assume(emulated):
    seed_role(emulated, trust=RAM_ONLY_TRUST)
    assert info(emulated, name='app')['roles'] == []
    assert info(emulated, name='app', instance_roles_only=False)['roles'][0]['ecs_can_assume'] is False


def test_info_pages_the_listing_and_takes_tags_from_it(emulated, monkeypatch):
    monkeypatch.setattr(InstanceRoleInfo, 'PAGE_SIZE', 10)
    for index in range(25):
        seed_role(emulated, 'r%04d' % index, trust=ECS_TRUST if index % 2 == 0 else RAM_ONLY_TRUST, tags={'i': str(index)})
    result = info(emulated, name_prefix='R000')
    assert [r['role_name'] for r in result['roles']] == ['r%04d' % i for i in range(0, 10, 2)]
    assert result['roles'][1]['tags'] == {'i': '2'}
    counts = emulated.action_counts()
    assert counts['ListRoles'] == 3 and counts['GetRole'] == 10 and counts['ListPoliciesForRole'] == 5
    assert 'ListTagResources' not in counts and emulated.write_actions() == []
    assert len(info(emulated, instance_roles_only=False)['roles']) == 25


def test_info_skips_a_role_deleted_between_list_and_get(emulated):
    for name in ('a1', 'a2', 'a3'):
        seed_role(emulated, name)
    emulated.script('GetRole', code='EntityNotExist.Role', status=404)
    assert [r['role_name'] for r in info(emulated)['roles']] == ['a2', 'a3']


def test_info_api_errors_name_the_operation(emulated):
    emulated.script('ListRoles', code='NoPermission', status=403)
    result = info(emulated)
    assert result['failed'] and 'list roles' in result['msg'] and result['changed'] is False
