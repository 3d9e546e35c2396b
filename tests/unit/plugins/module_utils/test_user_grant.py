# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ram_user_role_grant's planning as pure functions: grant ownership (``grant_role_of``), ``RoleGrant.plan`` and its refusals."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils.failures import InputError
from ansible_collections.alicloud.ram.plugins.module_utils.user_grant import (
    INSTANCE_MANAGEMENT_ACTIONS,
    RoleGrant,
    grant_role_of,
    pass_role_policy,
)
from ansible_collections.alicloud.ram.plugins.modules import ram_user_role_grant
from ansible_collections.alicloud.ram.tests.unit.planning import predicted, resource_for

ARN = 'acs:ram::1234567890123456:role/web'
POLICY = 'PassRole-web'
PASS_ROLE = {'Effect': 'Allow', 'Action': 'ram:PassRole', 'Resource': ARN}
MANAGEMENT = {'Effect': 'Allow', 'Action': list(INSTANCE_MANAGEMENT_ACTIONS), 'Resource': '*'}
ADMIN = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}


def grant(*statements):
    return {'Version': '1', 'Statement': list(statements)}


# -- which role a policy grants ----------------------------------------------------------------

@pytest.mark.parametrize('document, role', [
    (pass_role_policy(ARN), 'web'),
    (pass_role_policy(ARN, allow_instance_management=False), 'web'),
    (json.dumps(grant(PASS_ROLE, MANAGEMENT)), 'web'),                                  # as RAM stores it: JSON text
    (grant(dict(PASS_ROLE, Action='RAM:passrole')), 'web'),                             # actions are case-insensitive
    (grant(dict(PASS_ROLE, Resource='acs:ram::1:role/Web.App')), 'web.app'),
    (grant(dict(MANAGEMENT, Action=list(reversed(INSTANCE_MANAGEMENT_ACTIONS))), PASS_ROLE), 'web'),
    (grant(dict(PASS_ROLE, Effect='Deny')), None),
    (grant(dict(PASS_ROLE, Condition={'IpAddress': {'acs:SourceIp': '10.0.0.0/8'}})), None),
    (grant(PASS_ROLE, dict(PASS_ROLE, Resource='acs:ram::1:role/db')), None),         # two roles
    (grant(PASS_ROLE, dict(MANAGEMENT, Action=list(INSTANCE_MANAGEMENT_ACTIONS) + ['ecs:DeleteInstance'])), None),
    (grant(PASS_ROLE, dict(MANAGEMENT, Resource='acs:ecs:*:*:instance/*')), None),
    (grant(dict(PASS_ROLE, Resource=[ARN, 'acs:ram::1:role/db'])), None),
    (grant(dict(PASS_ROLE, Resource='acs:ram::1:user/web')), None),
    (grant(dict(PASS_ROLE, Resource='arn:aws:iam::1:role/web')), None),
    (grant(dict(PASS_ROLE, Action=['ram:PassRole', 'ram:GetRole'])), None),
    (grant(MANAGEMENT), None),
    (ADMIN, None),
    (None, None),
    ('not json', None),
])
def test_grant_role_of_recognises_exactly_the_documented_shape(document, role):
    assert grant_role_of(document) == role


# -- RoleGrant.plan ----------------------------------------------------------------------------

def planner(check_mode=False, **params):
    params.setdefault('role_name', 'web')
    if not any(key in params for key in ('user_name', 'group_name', 'grantee_role_name')):
        params['user_name'] = 'alice'
    resource = resource_for(RoleGrant, ram_user_role_grant, check_mode=check_mode, **params)
    resource.validate()
    return resource


def present(document=None, attached=False, others=(), wanted=None):
    """What ``read`` finds for ``state: present``: the policy's default ``document`` (None: no policy)."""
    wanted = wanted or pass_role_policy(ARN)
    facts = {'policy': None, 'document': None, 'versions': None}
    if document is not None:
        facts = {'policy': {'PolicyName': POLICY, 'PolicyType': 'Custom'}, 'document': document,
                 'versions': [{'VersionId': 'v1', 'IsDefaultVersion': True, 'PolicyDocument': json.dumps(document)}]}
    return {'role_arn': ARN, 'wanted': wanted, 'facts': facts, 'document': document, 'exists': document is not None,
            'attached': attached, 'others': list(others)}


def absent(document=None, attached=False, others=()):
    return {'role_arn': ARN, 'document': document, 'exists': document is not None, 'attached': attached, 'others': list(others)}


def walk(resource, plan):
    recorder = predicted(resource, plan)
    return dict((name, recorder.done(name)) for name in resource.DONE_LISTS if recorder.done(name)), recorder.view


STALE = pass_role_policy('acs:ram::1234567890123456:role/WEB', allow_instance_management=False)


@pytest.mark.parametrize('current, action, lists, after', [
    (present(), 'create', {'created_policies': [POLICY], 'attached_to': ['user alice']}, {'attached': True}),
    (present(pass_role_policy(ARN), attached=True), 'none', {}, {'attached': True}),
    # the same grant held by others is shared, not rewritten
    (present(pass_role_policy(ARN), others=['user bob']), 'none', {'attached_to': ['user alice']}, {'attached': True}),
    # this role's grant with another document, held by nobody else: converged
    (present(STALE, attached=True), 'create_version', {'updated_policies': [POLICY]}, {'attached': True}),
    (present(STALE), 'create_version', {'updated_policies': [POLICY], 'attached_to': ['user alice']}, {'attached': True}),
])
def test_present_plans(current, action, lists, after):
    resource = planner()
    plan = resource.plan(current)
    assert plan.policy_plan['action'] == action
    assert plan.before == {'attached': current['attached'], 'policy_document': current['document']}
    done, view = walk(resource, plan)
    assert done == lists and view == dict(after, policy_document=pass_role_policy(ARN))


@pytest.mark.parametrize('document, others, fragment, policy_role', [
    (pass_role_policy('acs:ram::1:role/db'), ['user bob'], 'policy %s is the grant of role db (held by user bob), not a grant of role web: '
                                                           'it is not rewritten' % POLICY, 'db'),
    (ADMIN, [], 'policy %s is not a PassRole grant (held by nobody), not a grant of role web' % POLICY, None),
    (STALE, ['group ops'], 'policy %s already exists with another document and is attached to group ops' % POLICY, None),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_present_refuses_to_rewrite_what_is_not_its_own(document, others, fragment, policy_role, check_mode):
    with pytest.raises(InputError) as caught:
        planner(check_mode).plan(present(document, others=others))
    assert fragment in str(caught.value)
    result = caught.value.result
    assert result['user_name'] == 'alice' and result['policy_name'] == POLICY
    assert result['policy_used_by'] == sorted(others)
    assert result.get('policy_role') == policy_role


@pytest.mark.parametrize('current, lists, after', [
    (absent(), {}, {'attached': False, 'policy_document': None}),
    (absent(pass_role_policy(ARN), attached=True), {'detached_from': ['user alice'], 'deleted_policies': [POLICY]},
     {'attached': False, 'policy_document': None}),
    (absent(pass_role_policy(ARN), attached=True, others=['user bob']), {'detached_from': ['user alice']},
     {'attached': False, 'policy_document': pass_role_policy(ARN)}),
    # a grant left without holders is cleaned up
    (absent(pass_role_policy(ARN)), {'deleted_policies': [POLICY]}, {'attached': False, 'policy_document': None}),
    # another role's grant held by others and not by this grantee: nothing of ours to remove
    (absent(pass_role_policy('acs:ram::1:role/db'), others=['user bob']), {},
     {'attached': False, 'policy_document': pass_role_policy('acs:ram::1:role/db')}),
])
def test_absent_plans(current, lists, after):
    resource = planner(state='absent')
    plan = resource.plan(current)
    done, view = walk(resource, plan)
    assert done == lists and view == after


@pytest.mark.parametrize('current', [absent(ADMIN, attached=True), absent(ADMIN), absent(pass_role_policy('acs:ram::1:role/db'), attached=True)])
def test_absent_refuses_to_detach_or_delete_what_is_not_its_own(current):
    with pytest.raises(InputError) as caught:
        planner(state='absent').plan(current)
    assert 'it is not detached or deleted; choose another policy_name' in str(caught.value)
    assert caught.value.result['attached'] is current['attached']


def test_another_grantee_kind_is_named_in_the_changes():
    resource = planner(grantee_role_name='deployer')
    assert walk(resource, resource.plan(present()))[0] == {'created_policies': [POLICY], 'attached_to': ['role deployer']}


@pytest.mark.parametrize('params, fragment', [
    ({'user_name': None}, 'one of user_name, group_name or grantee_role_name is required'),
    ({'user_name': 'bad user'}, "user name 'bad user' is invalid"),
    ({'user_name': 'alice', 'role_name': 'bad_role', 'policy_name': 'no.dots'}, "role name 'bad_role' is invalid"),
])
def test_validate_refuses_bad_names(params, fragment):
    resource = resource_for(RoleGrant, ram_user_role_grant, **dict({'role_name': 'web'}, **params))
    with pytest.raises(InputError) as caught:
        resource.validate()
    assert fragment in str(caught.value)


def test_validate_names_every_bad_name_at_once():
    resource = resource_for(RoleGrant, ram_user_role_grant, role_name='bad_role', user_name='bad user', policy_name='no.dots')
    with pytest.raises(InputError) as caught:
        resource.validate()
    assert all(word in str(caught.value) for word in ('user name', 'role name', 'policy name'))
