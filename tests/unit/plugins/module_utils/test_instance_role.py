# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ram_instance_role's ``InstanceRole.plan`` as a pure function: create, update, tags, and deletion with holders in every region."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import instance_role, ram
from ansible_collections.alicloud.ram.plugins.module_utils.failures import InputError
from ansible_collections.alicloud.ram.plugins.module_utils.instance_role import InstanceRole
from ansible_collections.alicloud.ram.plugins.module_utils.policy import to_json, trust_policy_for_services
from ansible_collections.alicloud.ram.plugins.module_utils.ram import policy_item
from ansible_collections.alicloud.ram.plugins.modules import ram_instance_role
from ansible_collections.alicloud.ram.tests.emulator.sdkhelpers import ECS_TRUST, RAM_ONLY_TRUST
from ansible_collections.alicloud.ram.tests.unit.planning import predicted, resource_for


def planner(**params):
    """An InstanceRole for ``params`` (module defaults for the rest), validated: only plan() is exercised."""
    params.setdefault('name', 'app')
    resource = resource_for(InstanceRole, ram_instance_role, **params)
    resource.validate()
    return resource


def current(tags=None, policies=(), holders=None, **role):
    """What ``read`` found for an existing role ``app``; ``holders``: region -> instance ids holding it."""
    found = {'RoleName': 'app', 'RoleId': '300', 'Arn': 'acs:ram::1:role/app', 'Description': 'd', 'AssumeRolePolicyDocument': ECS_TRUST,
             'MaxSessionDuration': 3600}
    found.update(role)
    return {'role': found, 'policies': [{'PolicyName': p, 'PolicyType': 'System'} for p in policies], 'tags': dict(tags or {}),
            'holders': dict((region, dict((i, 'app') for i in ids)) for region, ids in (holders or {}).items()),
            'regions': sorted(holders) if holders is not None else None}


def actions(plan):
    return [(c.action, c.args) for c in plan.changes]


# -- create ------------------------------------------------------------------------------------

def test_create_defaults_to_the_ecs_trust_and_3600_seconds():
    resource = planner(tags={'a': 1, 'b': True})
    plan = resource.plan(None)
    assert plan.before == {'role': None, 'policies': {}, 'tags': {}, 'holders': {}}
    assert actions(plan) == [('create', {'name': 'app', 'trust_policy': to_json(json.loads(ECS_TRUST)), 'description': None,
                                         'max_session_duration': 3600, 'tags': {'a': '1', 'b': 'true'}})]
    recorder = predicted(resource, plan)
    assert recorder.changed and recorder.view['tags'] == {'a': '1', 'b': 'true'}
    # what check mode shows: the fields only the service assigns are left out
    assert instance_role.role_result(recorder.view) == {
        'role_name': 'app', 'description': '', 'assume_role_policy_document': json.loads(ECS_TRUST), 'max_session_duration': 3600,
        'tags': {'a': '1', 'b': 'true'}, 'attached_policies': []}


def test_create_with_the_given_trust_and_duration():
    change = planner(trusted_services=['fc.aliyuncs.com'], max_session_duration=7200, description='x').plan(None).changes[0]
    assert json.loads(change.args['trust_policy']) == trust_policy_for_services(['fc.aliyuncs.com'])
    assert (change.args['max_session_duration'], change.args['description']) == (7200, 'x')


# -- update ------------------------------------------------------------------------------------

@pytest.mark.parametrize('params, role, changes', [
    (dict(), {}, None),
    (dict(description='d', max_session_duration=3600, trusted_services=['ecs.aliyuncs.com']), {}, None),
    (dict(trusted_services=['ecs.aliyuncs.com']),
     dict(AssumeRolePolicyDocument='{"Version": "1", "Statement": {"Principal": {"Service": "ecs.aliyuncs.com"}, '
                                   '"Action": ["sts:AssumeRole"], "Effect": "Allow"}}'), None),
    (dict(), dict(AssumeRolePolicyDocument=RAM_ONLY_TRUST), None),
    (dict(description='new'), {}, {'description': 'new'}),
    (dict(max_session_duration=7200), dict(MaxSessionDuration='3600'), {'max_session_duration': 7200}),
    (dict(assume_role_policy_document=RAM_ONLY_TRUST), {}, {'trust_policy': to_json(json.loads(RAM_ONLY_TRUST))}),
])
def test_update_changes_only_the_fields_that_differ(params, role, changes):
    plan = planner(**params).plan(current(**role))
    assert actions(plan) == ([('update', changes)] if changes else [])


def test_an_update_shows_in_the_after_view():
    plan = planner(description='new', max_session_duration=7200).plan(current())
    assert plan.before['role']['Description'] == 'd'
    assert (plan.after['role']['Description'], plan.after['role']['MaxSessionDuration']) == ('new', 7200)


@pytest.mark.parametrize('have, params, untag, tag', [
    ({'a': '1'}, dict(tags={'a': '1'}), None, None),
    ({'a': '1'}, dict(tags={'b': '2'}, purge_tags=False), None, {'b': '2'}),
    ({'a': '1', 'b': '2'}, dict(tags={'a': 'x'}), ['b'], {'a': 'x'}),
    ({'a': '1'}, dict(tags={}), ['a'], None),
    ({'a': '1'}, dict(tags={}, purge_tags=False), None, None),
    ({'a': '1'}, dict(), None, None),
])
def test_tags(have, params, untag, tag):
    plan = planner(**params).plan(current(tags=have))
    expected = ([('untag', untag)] if untag else []) + ([('tag', tag)] if tag else [])
    assert actions(plan) == expected
    final = dict((k, v) for k, v in have.items() if k not in (untag or ()))
    final.update(tag or {})
    assert plan.after['tags'] == final


def test_more_than_20_tags_after_the_merge_are_refused():
    with pytest.raises(InputError) as caught:
        planner(tags=dict(('n%d' % i, 'v') for i in range(10)), purge_tags=False).plan(current(tags=dict(('k%d' % i, 'v') for i in range(15))))
    assert 'would have 25 tags; the limit is 20' in str(caught.value)


# -- delete ------------------------------------------------------------------------------------

def test_deleting_a_missing_role_is_nothing_to_do():
    assert planner(state='absent').plan(None).changes == []


def test_deleting_a_role_nothing_holds():
    resource = planner(state='absent')
    plan = resource.plan(current(holders={}))
    assert actions(plan) == [('delete', None)]
    assert instance_role.role_result(predicted(resource, plan).view) == {}


def test_holders_in_any_region_and_policies_block_the_deletion_naming_instance_and_region():
    with pytest.raises(InputError) as caught:
        planner(state='absent').plan(current(policies=['AliyunOSSReadOnlyAccess'],
                                             holders={'cn-hangzhou': ['i-1', 'i-2'], 'me-central-1': ['i-9']}))
    message = str(caught.value)
    assert message.startswith('role app was not deleted: it still has attached policies: AliyunOSSReadOnlyAccess (System) and '
                              'holders: i-1, i-2 in cn-hangzhou; i-9 in me-central-1;')
    assert 'force: true' in message
    result = caught.value.result
    assert result['instance_ids'] == ['i-1', 'i-2', 'i-9'] and result['holders'] == {'cn-hangzhou': ['i-1', 'i-2'], 'me-central-1': ['i-9']}
    assert result['attached_policies'] == [policy_item('AliyunOSSReadOnlyAccess', 'System')] and result['role']['role_name'] == 'app'


def test_a_long_holder_list_is_shortened_in_the_message():
    fleet = ['i-%02d' % n for n in range(12)]
    with pytest.raises(InputError) as caught:
        planner(state='absent').plan(current(holders={'cn-hangzhou': fleet}))
    assert 'i-09 and 2 more in cn-hangzhou' in str(caught.value) and caught.value.result['instance_ids'] == fleet


def test_force_detaches_every_holder_in_its_region_then_the_policies_then_deletes():
    resource = planner(state='absent', force=True)
    plan = resource.plan(current(policies=['P'], holders={'cn-hangzhou': ['i-1'], 'me-central-1': ['i-9']}))
    assert [(c.action, c.key, c.args) for c in plan.changes] == [
        ('detach_instance', 'i-1', 'cn-hangzhou'), ('detach_instance', 'i-9', 'me-central-1'),
        ('detach_policy', None, policy_item('P', 'System')), ('delete', None, None)]
    assert plan.holders == {'cn-hangzhou': {'i-1': 'app'}, 'me-central-1': {'i-9': 'app'}}
    recorder = predicted(resource, plan)
    assert recorder.done('detached_instance_ids') == ['i-1', 'i-9'] and recorder.done('detached_policies') == [policy_item('P', 'System')]
    assert recorder.view['role'] is None and recorder.view['holders'] == {'cn-hangzhou': {}, 'me-central-1': {}}


# -- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize('tags, fragment', [
    ({'acs:x': '1'}, "'acs:'"),
    ({'k': 'v' * 257}, 'the limit is 256'),
    ({'k': ['a']}, 'must have a string value'),
])
def test_tags_the_service_would_refuse(tags, fragment):
    assert fragment in ram.tags_error(tags)


def test_tag_values_up_to_256_characters_and_their_text():
    assert ram.tags_error({'k': 'v' * 256}) is None
    assert [ram.tag_text(v) for v in (1, None, True, False, 'x')] == ['1', '', 'true', 'false', 'x']
