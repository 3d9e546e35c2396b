# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ram_instance_role and ram_instance_role_info: plan() as a pure function, and the modules against the in-process emulator."""

import json
import types

import pytest
from darabonba.core import DaraCore

from ansible.module_utils import basic

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api, ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.client import service_client_for
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.instance_role import InstanceRole, InstanceRoleInfo, validate_tags
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.plugins.module_utils.policy import to_json, trust_policy_for_services
from ansible_collections.alicloud.ram.plugins.module_utils.resource import InputError
from ansible_collections.alicloud.ram.plugins.modules import ram_instance_role, ram_instance_role_info
from ansible_collections.alicloud.ram.tests.unit.emulated import ENDPOINT, REGION

ECS_TRUST = {'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Service': ['ecs.aliyuncs.com']}}],
             'Version': '1'}
OTHER_TRUST = {'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'RAM': ['acs:ram::1:root']}}],
               'Version': '1'}


def policy(name, policy_type='System'):
    return {'name': name, 'type': policy_type, 'policy_name': name, 'policy_type': policy_type}


# ---------------------------------------------------------------------------------- helpers

def client(emulated, service):
    creds = Credentials(emulated.config.access_key_id, emulated.config.access_key_secret, None, 'test')
    options = OptionAdapter.from_dict({'ram_endpoint': ENDPOINT, 'ecs_endpoint': ENDPOINT, 'region': REGION, 'retries': 2})
    return service_client_for(service, creds, options)


def seed_role(emulated, name='app', trust=None, description=None, tags=None, policies=()):
    """A role made behind the module's back (through the service layer); the call log is cleared afterwards."""
    ram = client(emulated, 'ram')
    ram_api.create_role(ram, name, to_json(trust or ECS_TRUST), description=description, tags=tags)
    for policy_name in policies:
        ram_api.attach_policy(ram, 'role', name, policy_name, 'System')
    clear_calls(emulated)


def attach_to_instances(emulated, name, ids):
    ecs = client(emulated, 'ecs')
    for batch in ecs_api.chunks(ids, ecs_api.MAX_IDS_PER_WRITE):
        ecs_api.attach_instance_ram_role(ecs, REGION, name, batch)
    clear_calls(emulated)


def clear_calls(emulated):
    with emulated.state.lock:
        del emulated.state.calls[:]


def stored_role(emulated, name='app'):
    with emulated.state.lock:
        role = emulated.state.data['roles'].get(name.lower())
        return None if role is None else dict(role, tags=dict(role['tags']))


def holders(emulated, name='app'):
    with emulated.state.lock:
        return sorted(i['InstanceId'] for i in emulated.state.data['instances'].values() if i['role'] == name.lower())


def params_of(emulated, action):
    return [entry['params'] for entry in emulated.state.calls if entry['action'] == action]


def before_first(monkeypatch, emulated, action, hook):
    """Run ``hook()`` (someone else's doing) right before the module's first ``action`` call reaches the service."""
    pending = [hook]

    def do_action(request, runtime_option=None):
        headers = dict((k.lower(), v) for k, v in (request.headers or {}).items())
        if headers.get('x-acs-action') == action and pending:
            pending.pop()()
        return emulated.do_action(request, runtime_option)

    monkeypatch.setattr(DaraCore, 'do_action', staticmethod(do_action))


def run(emulated, check_mode=False, diff=False, **args):
    args.setdefault('name', 'app')
    return emulated.run(ram_instance_role, args, check_mode=check_mode, diff=diff)


# ---------------------------------------------------------------------------------- plan (pure)

def planner(**params):
    """An InstanceRole for ``params`` (module defaults for the rest), validated: only plan() is exercised."""
    values = dict((name, spec.get('default')) for name, spec in ram_instance_role.ARGUMENT_SPEC.items())
    values.update(name='app', region=REGION)
    values.update(params)
    resource = InstanceRole(types.SimpleNamespace(params=values, check_mode=False))
    resource.validate()
    return resource


def current(tags=None, policies=(), instance_ids=None, **role):
    found = {'RoleName': 'app', 'Description': 'd', 'AssumeRolePolicyDocument': json.dumps(ECS_TRUST), 'MaxSessionDuration': 3600}
    found.update(role)
    return {'role': found, 'policies': [{'PolicyName': p, 'PolicyType': 'System'} for p in policies], 'tags': dict(tags or {}),
            'region': REGION if instance_ids is not None else None, 'instance_ids': instance_ids}


def test_plan_create_defaults_to_ecs_trust_and_3600():
    plan = planner(tags={'a': 1}).plan(None)
    assert plan == {'create': {'trust_policy': to_json(ECS_TRUST), 'description': None, 'max_session_duration': 3600,
                               'tags': {'a': '1'}}}


def test_plan_create_with_given_trust_and_duration():
    plan = planner(trusted_services=['fc.aliyuncs.com'], max_session_duration=7200, description='x').plan(None)['create']
    assert json.loads(plan['trust_policy']) == trust_policy_for_services(['fc.aliyuncs.com'])
    assert plan['max_session_duration'] == 7200 and plan['description'] == 'x'


@pytest.mark.parametrize('params, role, changes', [
    (dict(), {}, {}),
    (dict(description='d', max_session_duration=3600, trusted_services=['ecs.aliyuncs.com']), {}, {}),
    (dict(trusted_services=['ecs.aliyuncs.com']),
     dict(AssumeRolePolicyDocument='{"Version": "1", "Statement": {"Principal": {"Service": "ecs.aliyuncs.com"}, '
                                   '"Action": ["sts:AssumeRole"], "Effect": "Allow"}}'), {}),
    (dict(), dict(AssumeRolePolicyDocument=json.dumps(OTHER_TRUST)), {}),
    (dict(description='new'), {}, {'description': 'new'}),
    (dict(max_session_duration=7200), dict(MaxSessionDuration='3600'), {'max_session_duration': 7200}),
    (dict(assume_role_policy_document=json.dumps(OTHER_TRUST)), {}, {'trust_policy': to_json(OTHER_TRUST)}),
])
def test_plan_update_changes_only_fields_that_differ(params, role, changes):
    assert planner(**params).plan(current(**role)) == {'update': changes, 'untag': [], 'tag': {}}


@pytest.mark.parametrize('have, params, untag, tag', [
    ({'a': '1'}, dict(tags={'a': '1'}), [], {}),
    ({'a': '1'}, dict(tags={'b': '2'}, purge_tags=False), [], {'b': '2'}),
    ({'a': '1', 'b': '2'}, dict(tags={'a': 'x'}), ['b'], {'a': 'x'}),
    ({'a': '1'}, dict(tags={}), ['a'], {}),
    ({'a': '1'}, dict(tags={}, purge_tags=False), [], {}),
    ({'a': '1'}, dict(), [], {}),
])
def test_plan_tags(have, params, untag, tag):
    plan = planner(**params).plan(current(tags=have))
    assert (plan['untag'], plan['tag']) == (untag, tag)


def test_plan_refuses_more_than_20_tags_after_merge():
    with pytest.raises(InputError) as caught:
        planner(tags=dict(('n%d' % i, 'v') for i in range(10)), purge_tags=False).plan(current(tags=dict(('k%d' % i, 'v') for i in range(15))))
    assert 'would have 25 tags; the limit is 20' in str(caught.value)


def test_plan_delete():
    assert planner(state='absent').plan(None) == {}
    assert planner(state='absent').plan(current()) == {'delete': True, 'region': None, 'instance_ids': [], 'policies': []}
    forced = planner(state='absent', force=True).plan(current(policies=['P'], instance_ids=['i-1']))
    assert forced == {'delete': True, 'region': REGION, 'instance_ids': ['i-1'], 'policies': [{'PolicyName': 'P', 'PolicyType': 'System'}]}


def test_plan_delete_without_force_names_what_blocks_it():
    with pytest.raises(InputError) as caught:
        planner(state='absent').plan(current(policies=['AliyunOSSReadOnlyAccess'], instance_ids=['i-1', 'i-2']))
    message = str(caught.value)
    assert 'AliyunOSSReadOnlyAccess (System)' in message and 'i-1, i-2' in message and 'force: true' in message
    assert caught.value.result['instance_ids'] == ['i-1', 'i-2']
    assert caught.value.result['attached_policies'] == [policy('AliyunOSSReadOnlyAccess')]
    fleet = ['i-%02d' % n for n in range(12)]
    with pytest.raises(InputError) as caught:
        planner(state='absent').plan(current(instance_ids=fleet))
    assert 'i-09 and 2 more' in str(caught.value) and caught.value.result['instance_ids'] == fleet


def test_validate_tags_stringifies_values():
    assert validate_tags({'a': 1, 'b': None, 'c': True}) == {'a': '1', 'b': '', 'c': 'true'}
    assert validate_tags(None) is None
    with pytest.raises(InputError):
        validate_tags({'a': [1]})


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
        {'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Principal': {'Service': ['x' * 7000]}}]}), 'limit is 6144'),
    (dict(assume_role_policy_document='{"Version": "1", "Version": "1", "Statement": [{"Effect": "Allow", '
                                      '"Action": "sts:AssumeRole", "Principal": {"Service": "ecs.aliyuncs.com"}}]}'), 'twice'),
    (dict(trusted_services=[]), 'trusted_services'),
    (dict(tags={'acs:x': '1'}), "'acs:'"),
    (dict(tags={'Aliyun-x': '1'}), "'aliyun'"),
    (dict(tags={'': '1'}), 'tag key'),
    (dict(tags={'k' * 129: '1'}), 'tag key'),
    (dict(tags={'k': 'v' * 129}), 'value of tag'),
    (dict(tags=dict(('k%d' % i, 'v') for i in range(21))), 'at most 20'),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_invalid_input_fails_before_any_call(emulated, params, fragment, check_mode):
    result = run(emulated, check_mode=check_mode, **params)
    assert result['failed'] and fragment in result['msg'], result['msg']
    assert result['changed'] is False and '\n' not in result['msg']
    assert emulated.actions() == []


# ---------------------------------------------------------------------------------- create

def test_create_then_second_run_makes_no_write_call(emulated):
    args = dict(description='app servers', max_session_duration=7200, tags={'b': '2', 'a': 1})
    result = run(emulated, **args)
    assert result['changed'] is True and not result.get('failed')
    assert emulated.actions() == ['GetRole', 'CreateRole']
    sent = params_of(emulated, 'CreateRole')[0]
    assert json.loads(sent['Tag']) == [{'Key': 'a', 'Value': '1'}, {'Key': 'b', 'Value': '2'}]
    assert json.loads(sent['AssumeRolePolicyDocument']) == ECS_TRUST
    role = result['role']
    assert role['role_id'] == stored_role(emulated)['RoleId'] and role['arn'] == 'acs:ram::1234567890123456:role/app'
    assert role['description'] == 'app servers' and role['max_session_duration'] == 7200
    assert role['tags'] == {'a': '1', 'b': '2'} and role['attached_policies'] == []
    assert role['update_date'] == role['create_date']
    assert result['detached_policies'] == [] and result['detached_instance_ids'] == []

    clear_calls(emulated)
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


def test_create_reply_lost_counts_as_created(emulated):
    emulated.script('CreateRole', lose_reply=True)
    result = run(emulated, description='mine')
    assert result['changed'] is True and not result.get('failed')
    assert emulated.actions().count('CreateRole') == 2
    assert emulated.write_actions() == ['CreateRole']
    assert result['role']['role_id'] == stored_role(emulated)['RoleId'] and result['role']['description'] == 'mine'
    assert len(emulated.state.data['roles']) == 1

    clear_calls(emulated)
    assert run(emulated, description='mine')['changed'] is False
    assert emulated.write_actions() == []


def test_create_race_converges_the_existing_role_reporting_only_own_writes(emulated, monkeypatch):
    before_first(monkeypatch, emulated, 'CreateRole', lambda: seed_role(emulated, description='theirs'))
    result = run(emulated, description='mine', diff=True)
    assert result['changed'] is True
    assert emulated.write_actions() == ['UpdateRole']
    assert result['role']['description'] == 'mine' and stored_role(emulated)['Description'] == 'mine'
    assert result['diff']['before']['description'] == 'theirs'


def test_create_race_with_an_equal_role_is_no_change(emulated, monkeypatch):
    before_first(monkeypatch, emulated, 'CreateRole', lambda: seed_role(emulated, description='same'))
    result = run(emulated, description='same')
    assert result['changed'] is False and not result.get('failed')
    assert emulated.write_actions() == []
    assert result['role']['role_id'] == stored_role(emulated)['RoleId']


# ---------------------------------------------------------------------------------- update

def test_drift_is_fixed_with_one_update_role_carrying_only_changed_fields(emulated):
    seed_role(emulated, description='d')
    role_id = stored_role(emulated)['RoleId']
    result = run(emulated, description='new', trusted_services=['ecs.aliyuncs.com', 'fc.aliyuncs.com'], diff=True)
    assert result['changed'] is True and emulated.write_actions() == ['UpdateRole']
    assert set(params_of(emulated, 'UpdateRole')[0]) == {'RoleName', 'NewDescription', 'NewAssumeRolePolicyDocument'}
    assert result['role']['role_id'] == role_id == stored_role(emulated)['RoleId']
    assert result['role']['update_date'] == stored_role(emulated)['UpdateDate']
    assert result['diff']['before']['description'] == 'd' and result['diff']['after']['description'] == 'new'
    services = result['diff']['after']['assume_role_policy_document']['Statement'][0]['Principal']['Service']
    assert services == ['ecs.aliyuncs.com', 'fc.aliyuncs.com']


def test_equivalent_trust_and_kept_trust_are_no_change(emulated):
    seed_role(emulated, trust=OTHER_TRUST)
    assert run(emulated)['role']['assume_role_policy_document'] == OTHER_TRUST
    text = '{"Version": "1", "Statement": {"Principal": {"RAM": "acs:ram::1:root"}, "Action": ["sts:AssumeRole"], "Effect": "Allow"}}'
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
    clear_calls(emulated)
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
    assert emulated.scripts == []   # the tag API was asked first
    assert emulated.actions() == ['GetRole', 'ListPoliciesForRole', 'ListRoles']


def test_other_tag_read_errors_fail_naming_the_operation(emulated):
    seed_role(emulated)
    emulated.script('ListTagResources', code='NoPermission', status=403)
    result = run(emulated)
    assert result['failed'] and 'read the tags of role app' in result['msg']
    assert result['error']['code'] == 'NoPermission' and result['error']['request_id'] == 'SCRIPTED-REQUEST'


def test_failure_after_a_write_reports_changed_and_the_role_as_updated(emulated):
    seed_role(emulated, description='d')
    emulated.script('TagResources', code='NoPermission', status=403)
    result = run(emulated, description='new', tags={'a': '1'})
    assert result['failed'] is True and result['changed'] is True
    assert 'tag role app' in result['msg'] and result['error']['code'] == 'NoPermission'
    assert emulated.write_actions() == ['UpdateRole']
    assert result['role']['description'] == 'new' and result['role']['tags'] == {}
    assert result['role']['update_date'] == stored_role(emulated)['UpdateDate']


# ---------------------------------------------------------------------------------- delete

def test_absent_role_is_no_change_with_one_read(emulated):
    result = run(emulated, state='absent', diff=True)
    assert result['changed'] is False and result['role'] == {} and 'region' not in result
    assert result['diff'] == {'before': {}, 'after': {}}
    assert emulated.actions() == ['GetRole']


def test_delete_plain_role(emulated):
    seed_role(emulated)
    result = run(emulated, state='absent', diff=True)
    assert result['changed'] is True and result['role'] == {} and result['region'] == REGION
    assert emulated.write_actions() == ['DeleteRole'] and stored_role(emulated) is None
    assert result['diff']['before']['role_name'] == 'app' and result['diff']['after'] == {}


def test_delete_blocked_by_policies_and_instances_names_them(emulated):
    seed_role(emulated, policies=['AliyunOSSReadOnlyAccess'])
    ids = emulated.instance_ids()
    attach_to_instances(emulated, 'app', ids[:1])
    for check_mode in (False, True):
        result = run(emulated, state='absent', check_mode=check_mode)
        assert result['failed'] and result['changed'] is False
        assert 'AliyunOSSReadOnlyAccess' in result['msg'] and ids[0] in result['msg'] and 'force' in result['msg']
        assert result['instance_ids'] == ids[:1]
    assert emulated.write_actions() == [] and stored_role(emulated) is not None


def test_force_delete_detaches_instances_then_policies_then_deletes(emulated):
    with emulated.state.lock:
        emulated.state.add_instances(REGION, 147, 'vpc')
    ids = emulated.instance_ids()
    seed_role(emulated, policies=['AliyunOSSReadOnlyAccess', 'AliyunECSReadOnlyAccess'])
    attach_to_instances(emulated, 'app', ids)
    predicted = run(emulated, state='absent', force=True, check_mode=True, diff=True)
    assert emulated.write_actions() == []
    result = run(emulated, state='absent', force=True, diff=True)
    assert result['changed'] is True and result['role'] == {} and stored_role(emulated) is None
    writes = emulated.write_actions()
    assert writes == ['DetachInstanceRamRole'] * 2 + ['DetachPolicyFromRole'] * 2 + ['DeleteRole']
    assert sorted(len(json.loads(p['InstanceIds'])) for p in params_of(emulated, 'DetachInstanceRamRole')) == [50, 100]
    assert sorted(result['detached_instance_ids']) == sorted(ids) and holders(emulated) == []
    assert result['detached_policies'] == [policy('AliyunOSSReadOnlyAccess'), policy('AliyunECSReadOnlyAccess')]
    for key in ('changed', 'role', 'detached_policies', 'diff', 'region'):
        assert predicted[key] == result[key], key
    assert sorted(predicted['detached_instance_ids']) == sorted(result['detached_instance_ids'])


def test_force_delete_reports_instances_it_could_not_detach_and_keeps_the_role(emulated):
    with emulated.state.lock:
        emulated.state.add_instances(REGION, 147, 'vpc')
    ids = emulated.instance_ids()
    seed_role(emulated, policies=['AliyunOSSReadOnlyAccess'])
    attach_to_instances(emulated, 'app', ids)
    emulated.script('DetachInstanceRamRole', code='NoPermission', status=403)
    result = run(emulated, state='absent', force=True)
    assert result['failed'] is True and result['changed'] is True
    failed = [f['instance_id'] for f in result['failed_instances']]
    done = result['detached_instance_ids']
    assert sorted(failed + done) == sorted(ids) and len(failed) in (50, 100)
    assert sorted(failed) == holders(emulated)
    assert result['error']['code'] == 'NoPermission' and 'was not deleted' in result['msg']
    assert 'for %d instance(s)' % len(failed) in result['msg'] and 'and %d more' % (len(failed) - 10) in result['msg']
    assert emulated.write_actions() == ['DetachInstanceRamRole']
    assert result['detached_policies'] == [] and result['role']['role_name'] == 'app'
    assert stored_role(emulated) is not None


def test_force_delete_detaches_a_policy_attached_meanwhile(emulated, monkeypatch):
    seed_role(emulated)
    ram = client(emulated, 'ram')
    before_first(monkeypatch, emulated, 'DeleteRole', lambda: ram_api.attach_policy(ram, 'role', 'app', 'AliyunOSSReadOnlyAccess', 'System'))
    result = run(emulated, state='absent', force=True)
    assert result['changed'] is True and not result.get('failed') and stored_role(emulated) is None
    assert [a for a in emulated.write_actions() if a != 'AttachPolicyToRole'] == ['DetachPolicyFromRole', 'DeleteRole']
    assert emulated.actions().count('DeleteRole') == 2
    assert result['detached_policies'] == [policy('AliyunOSSReadOnlyAccess')]


def test_delete_conflicts_stay_bounded(emulated):
    seed_role(emulated)
    for _attempt in range(4):
        emulated.script('DeleteRole', code='DeleteConflict.Role.Policy', status=409)
    result = run(emulated, state='absent', force=True)
    assert result['failed'] and result['error']['code'] == 'DeleteConflict.Role.Policy' and 'delete role app' in result['msg']
    assert len(emulated.scripts) == 1   # three attempts, each conflict followed by a fresh look at the policies
    assert emulated.actions().count('ListPoliciesForRole') == 3
    assert stored_role(emulated) is not None


def test_delete_conflict_without_force_fails_with_the_api_error(emulated):
    seed_role(emulated)
    for _attempt in range(2):
        emulated.script('DeleteRole', code='DeleteConflict.Role.Policy', status=409)
    result = run(emulated, state='absent')
    assert result['failed'] and result['error']['code'] == 'DeleteConflict.Role.Policy'
    assert len(emulated.scripts) == 1   # tried once: without force nothing is detached, so nothing is retried
    assert stored_role(emulated) is not None


def test_delete_reply_lost_counts_as_deleted(emulated):
    seed_role(emulated)
    emulated.script('DeleteRole', lose_reply=True)
    result = run(emulated, state='absent')
    assert result['changed'] is True and not result.get('failed') and result['role'] == {}
    assert emulated.actions().count('DeleteRole') == 2 and stored_role(emulated) is None


def test_role_deleted_by_someone_else_meanwhile_is_not_our_change(emulated, monkeypatch):
    seed_role(emulated)
    ram = client(emulated, 'ram')
    before_first(monkeypatch, emulated, 'DeleteRole', lambda: ram_api.delete_role(ram, 'app'))
    result = run(emulated, state='absent')
    assert result['changed'] is False and not result.get('failed') and result['role'] == {}


def test_without_a_region_the_instance_check_is_skipped_with_a_warning(emulated, monkeypatch):
    for name in ('ALIBABA_CLOUD_REGION_ID', 'ALICLOUD_REGION', 'ALICLOUD_REGION_ID'):
        monkeypatch.delenv(name, raising=False)
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, message: warnings.append(message))
    seed_role(emulated)
    result = run(emulated, state='absent', region=None)
    assert result['changed'] is True and 'region' not in result
    assert any('no region is configured' in w for w in warnings)
    assert 'DescribeInstanceRamRole' not in emulated.actions()


# ---------------------------------------------------------------------------------- info

def info(emulated, **args):
    return emulated.run(ram_instance_role_info, args, check_mode=True)


def test_info_by_name(emulated):
    seed_role(emulated, description='web', tags={'tier': 'web'}, policies=['AliyunOSSReadOnlyAccess'])
    result = info(emulated, name='APP')
    assert result['changed'] is False
    role = result['roles'][0]
    assert role['role_name'] == 'app' and role['tags'] == {'tier': 'web'} and role['ecs_can_assume'] is True
    assert role['attached_policies'] == [policy('AliyunOSSReadOnlyAccess')]
    assert sorted(emulated.actions()) == ['GetRole', 'ListPoliciesForRole', 'ListTagResources']
    assert info(emulated, name='nope')['roles'] == []


def test_info_by_name_filters_roles_ecs_cannot_assume(emulated):
    seed_role(emulated, trust=OTHER_TRUST)
    assert info(emulated, name='app')['roles'] == []
    assert info(emulated, name='app', instance_roles_only=False)['roles'][0]['ecs_can_assume'] is False


def test_info_pages_the_listing_and_takes_tags_from_it(emulated, monkeypatch):
    monkeypatch.setattr(InstanceRoleInfo, 'PAGE_SIZE', 10)
    for index in range(25):
        seed_role(emulated, 'r%04d' % index, trust=ECS_TRUST if index % 2 == 0 else OTHER_TRUST, tags={'i': str(index)})
    result = info(emulated, name_prefix='R000')
    assert [r['role_name'] for r in result['roles']] == ['r%04d' % i for i in range(0, 10, 2)]
    assert result['roles'][1]['tags'] == {'i': '2'}
    actions = emulated.actions()
    assert actions.count('ListRoles') == 3 and actions.count('GetRole') == 10 and actions.count('ListPoliciesForRole') == 5
    assert 'ListTagResources' not in actions and emulated.write_actions() == []
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
