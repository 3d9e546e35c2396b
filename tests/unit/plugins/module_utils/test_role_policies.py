# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ram_role_policy's ``RolePolicies.plan`` as a pure function: from what ``read`` found to the changes, refusals and views."""

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils.failures import InputError
from ansible_collections.alicloud.ram.plugins.module_utils.policy import normalize_policy
from ansible_collections.alicloud.ram.plugins.module_utils.ram import policy_item
from ansible_collections.alicloud.ram.plugins.module_utils.role_policies import RolePolicies
from ansible_collections.alicloud.ram.plugins.modules import ram_role_policy
from ansible_collections.alicloud.ram.tests.unit.planning import predicted, resource_for

ROLE = 'app-role'
OSS = 'AliyunOSSReadOnlyAccess'
ECS = 'AliyunECSReadOnlyAccess'


def doc(*actions):
    return {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': list(actions), 'Resource': '*'}]}


def planner(check_mode=False, **params):
    resource = resource_for(RolePolicies, ram_role_policy, check_mode=check_mode, role_name=ROLE, **params)
    resource.validate()
    return resource


def found(attached=(), custom=None, resolved=None, entities=None):
    """What ``read`` returns: the attached policies (``(name, type)``), then per lower-case policy name the custom
    policy facts, the resolved ``(name, type)`` of a plain name, and the holders of a policy to delete."""
    return {'attached': [policy_item(name, kind) for name, kind in attached], 'custom': custom or {}, 'resolved': resolved or {},
            'entities': entities or {}}


def custom(document=None, versions=None, system_name=False, description=None):
    """The facts of a custom policy: None for one that does not exist."""
    if document is None:
        return {'facts': {'policy': None, 'document': None, 'versions': None}, 'system_name': system_name}
    policy = {'PolicyName': 'mine', 'PolicyType': 'Custom', 'Description': description}
    return {'facts': {'policy': policy, 'document': document, 'versions': versions}, 'system_name': system_name}


def done(resource, plan):
    recorder = predicted(resource, plan)
    return dict((name, recorder.done(name)) for name in resource.DONE_LISTS if recorder.done(name)), recorder.view


def test_present_creates_and_attaches_what_is_missing():
    resource = planner(policies=[OSS, {'name': 'app', 'document': doc('oss:GetObject')}, ECS])
    plan = resource.plan(found(attached=[(ECS, 'System')], custom={'app': custom()}, resolved={OSS.lower(): (OSS, 'System')}))
    assert plan.before == {'attached': {'System:%s' % ECS.lower(): policy_item(ECS, 'System')}, 'documents': {'app': None},
                           'custom_policies': {}}
    lists, after = done(resource, plan)
    assert lists == {'created_policies': ['app'], 'attached': [policy_item('app', 'Custom'), policy_item(OSS, 'System')]}
    assert after['documents'] == {'app': normalize_policy(doc('oss:GetObject'))}
    assert sorted(after['attached']) == ['Custom:app', 'System:%s' % ECS.lower(), 'System:%s' % OSS.lower()]
    # a policy created by this run may take a moment to be attachable: only its attach is marked new
    assert [(item['policy_name'], new) for item, new in plan.attach] == [('app', True), (OSS, False)]


def test_listed_and_attached_is_no_change_whatever_the_spelling():
    resource = planner(policies=[OSS.lower(), {'name': ECS, 'type': 'System'}], purge_policies=True)
    plan = resource.plan(found(attached=[(OSS, 'System'), (ECS, 'System')]))
    assert plan.changes == [] and plan.after == plan.before


def test_purge_detaches_what_is_not_listed_and_never_deletes():
    resource = planner(policies=[OSS], purge_policies=True)
    plan = resource.plan(found(attached=[(ECS, 'System'), ('old', 'Custom')], resolved={OSS.lower(): (OSS, 'System')}))
    lists, after = done(resource, plan)
    assert lists == {'detached': [policy_item('old', 'Custom'), policy_item(ECS, 'System')], 'attached': [policy_item(OSS, 'System')]}
    assert list(after['attached']) == ['System:%s' % OSS.lower()] and plan.delete == []


def test_a_new_document_for_an_attached_custom_policy_updates_it_and_warns_about_the_description():
    versions = [{'VersionId': 'v1', 'IsDefaultVersion': True, 'PolicyDocument': doc('a:1')}]
    resource = planner(policies=[{'name': 'mine', 'document': doc('a:2'), 'description': 'new words'}])
    plan = resource.plan(found(attached=[('mine', 'Custom')], custom={'mine': custom(doc('a:1'), versions, description='old words')}))
    lists, after = done(resource, plan)
    assert lists == {'updated_policies': ['mine']}
    assert plan.before['documents'] == {'mine': normalize_policy(doc('a:1'))} and after['documents'] == {'mine': normalize_policy(doc('a:2'))}
    assert resource.warnings == ["custom policy 'mine' already exists with another description; a description is set only when the "
                                 "policy is created"]


@pytest.mark.parametrize('item, current, message', [
    ({'name': 'AliyunNothing', 'type': 'System'}, found(resolved={'aliyunnothing': None}), "system policy 'AliyunNothing' does not exist"),
    ({'name': 'nothing', 'type': 'Custom'}, found(resolved={'nothing': None}), "custom policy 'nothing' does not exist; give a document"),
    ('nothing', found(resolved={'nothing': None}), "policy 'nothing' does not exist (neither a system policy nor a custom policy"),
    ({'name': OSS, 'document': doc('x:*')}, found(custom={OSS.lower(): custom(system_name=True)}), 'is the name of a system policy'),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_what_cannot_be_done_is_refused_with_the_role_as_read(item, current, message, check_mode):
    current['attached'].append(policy_item(ECS, 'System'))
    with pytest.raises(InputError) as caught:
        planner(check_mode, policies=[item]).plan(current)
    assert message in str(caught.value)
    assert caught.value.result == {'role_name': ROLE, 'attached_policies': [policy_item(ECS, 'System')]}


def test_absent_detaches_the_listed_policies_and_deletes_custom_ones_nobody_else_holds():
    resource = planner(state='absent', delete_unused_custom_policies=True,
                       policies=[ECS.lower(), {'name': 'mine', 'document': doc('a:1')}, {'name': 'shared', 'document': doc('s:1')},
                                 {'name': 'gone', 'document': doc('g:1')}, 'never-attached'])
    plan = resource.plan(found(attached=[(ECS, 'System'), ('mine', 'Custom'), ('shared', 'Custom'), (OSS, 'System')], entities={
        'mine': {'user': [], 'group': [], 'role': [ROLE.upper()]},
        'shared': {'user': ['bob'], 'group': [], 'role': [ROLE]},
        'gone': None}))
    lists, after = done(resource, plan)
    assert lists == {'detached': [policy_item('mine', 'Custom'), policy_item('shared', 'Custom'), policy_item(ECS, 'System')],
                     'deleted_policies': ['mine']}
    assert plan.before['custom_policies'] == {'mine': True} and after['custom_policies'] == {}
    assert list(after['attached']) == ['System:%s' % OSS.lower()]
    assert resource.warnings == ["custom policy 'shared' is kept: it is still attached to user bob"]


def test_absent_without_the_option_never_plans_a_deletion():
    resource = planner(state='absent', policies=[{'name': 'mine', 'document': doc('a:1')}])
    plan = resource.plan(found(attached=[('mine', 'Custom')]))
    assert done(resource, plan)[0] == {'detached': [policy_item('mine', 'Custom')]}


@pytest.mark.parametrize('policies', [[], None])
def test_purge_with_nothing_listed_is_refused_in_validate(policies):
    params = {'purge_policies': True}
    if policies is not None:
        params['policies'] = policies
    resource = resource_for(RolePolicies, ram_role_policy, role_name=ROLE, **params)
    with pytest.raises(InputError) as caught:
        resource.validate()
    assert 'would detach every policy of the role' in str(caught.value) and caught.value.result == {'role_name': ROLE}
