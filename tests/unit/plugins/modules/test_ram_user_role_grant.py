# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ram_user_role_grant against the in-process emulator: users, groups and roles as grantees."""

import itertools
import json
import re

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.policy import to_json
from ansible_collections.alicloud.ram.plugins.module_utils.ram import validate_policy_name
from ansible_collections.alicloud.ram.plugins.module_utils.user_grant import (
    INSTANCE_MANAGEMENT_ACTIONS,
    default_policy_name,
    pass_role_policy,
)
from ansible_collections.alicloud.ram.plugins.modules import ram_user_role_grant
from ansible_collections.alicloud.ram.tests.emulator.sdkhelpers import ECS_TRUST

ROLE = 'web.app'
POLICY = default_policy_name(ROLE)
GRANTEES = [('user', 'user_name', 'alice'), ('group', 'group_name', 'ops'), ('role', 'grantee_role_name', 'deployer')]
DONE_LISTS = ('created_policies', 'updated_policies', 'attached_to', 'detached_from', 'deleted_policies')


@pytest.fixture
def cloud(emulated, ram):
    """Users alice and bob, group ops, roles web.app, app-web and deployer; an empty call log."""
    with emulated.state.lock:
        emulated.state.add_user('alice')
        emulated.state.add_user('bob')
        emulated.state.add_group('ops')
    for name in (ROLE, 'app-web', 'deployer'):
        ram_api.create_role(ram, name, ECS_TRUST)
    return emulated.forget()


def clear_calls(emulated):
    emulated.forget()


def arn(ram, role=ROLE):
    return ram_api.get_role(ram, role)['Arn']


def run(cloud, check_mode=False, diff=False, **args):
    args.setdefault('role_name', ROLE)
    if not any(key in args for _kind, key, _name in GRANTEES):
        args['user_name'] = 'alice'
    return cloud.run(ram_user_role_grant, args, check_mode=check_mode, diff=diff)


def holders(ram, policy=POLICY):
    return ram_api.list_entities_for_policy(ram, policy)


def stored(ram, policy=POLICY):
    found = ram_api.get_policy(ram, policy)
    return None if found is None else json.loads(found['DefaultPolicyVersion']['PolicyDocument'])


def done_lists(result):
    return dict((name, result[name]) for name in DONE_LISTS if result[name])


# -- the default policy name -----------------------------------------------------------------

def decode_policy_name(policy_name):
    """The lower-case role name a default policy name stands for (the inverse of default_policy_name)."""
    if policy_name.startswith('PassRole-'):
        return policy_name[len('PassRole-'):]
    body, number = policy_name[len('PassRoleDot-'):].rsplit('-', 1)
    flags = bin(int(number, 16))[2:].zfill(body.count('-'))
    assert len(flags) == body.count('-')
    separators = iter('.' if flag == '1' else '-' for flag in flags)
    return ''.join(next(separators) if char == '-' else char for char in body)


def test_default_policy_name_examples():
    assert default_policy_name('web-instance-role') == 'PassRole-web-instance-role'
    assert default_policy_name('Web-App') == 'PassRole-web-app'
    assert default_policy_name('web.app') == 'PassRoleDot-web-app-1'
    assert default_policy_name('web.app-v2') == 'PassRoleDot-web-app-v2-2'
    assert default_policy_name('a-b.c') == 'PassRoleDot-a-b-c-1'
    assert default_policy_name('a.b-c') == 'PassRoleDot-a-b-c-2'


def test_default_policy_name_never_collides_and_decodes_back():
    seen = {}
    for length in range(1, 7):
        for chars in itertools.product('aB1.-', repeat=length):
            role = ''.join(chars)
            name = default_policy_name(role)
            assert validate_policy_name(name) is None, name
            assert decode_policy_name(name) == role.lower()
            # policy names are case-insensitive too: compare folded
            assert seen.setdefault(name.lower(), role.lower()) == role.lower(), (role, seen[name.lower()])


@pytest.mark.parametrize('role', ['.' * 64, '-' * 64, '.-' * 32, 'a' * 64, 'a.' * 32, 'A' * 63 + '.'])
def test_default_policy_name_of_64_character_roles_is_a_valid_policy_name(role):
    name = default_policy_name(role)
    assert validate_policy_name(name) is None and len(name) <= 93
    assert decode_policy_name(name) == role.lower()


def test_pass_role_policy_names_exactly_the_role():
    role_arn = 'acs:ram::1:role/web.app'
    by_action = dict((tuple(s['Action']), s['Resource']) for s in pass_role_policy(role_arn)['Statement'])
    assert by_action == {('ram:PassRole',): [role_arn], tuple(sorted(INSTANCE_MANAGEMENT_ACTIONS)): ['*']}
    assert pass_role_policy(role_arn, allow_instance_management=False)['Statement'] == [
        {'Effect': 'Allow', 'Action': ['ram:PassRole'], 'Resource': [role_arn]}]


# -- input -----------------------------------------------------------------------------------

@pytest.mark.parametrize('args,fragment', [
    ({'user_name': 'alice', 'group_name': 'ops'}, 'mutually exclusive'),
    ({'user_name': 'alice', 'grantee_role_name': 'deployer'}, 'mutually exclusive'),
    ({'group_name': 'ops', 'grantee_role_name': 'deployer'}, 'mutually exclusive'),
    ({'role_name': ROLE}, 'one of the following is required'),
    ({'user_name': None}, 'one of user_name, group_name or grantee_role_name is required'),
    ({'user_name': 'bad user'}, "user name 'bad user' is invalid"),
    ({'group_name': 'bad_group'}, "group name 'bad_group' is invalid"),
    ({'grantee_role_name': 'bad/role'}, "role name 'bad/role' is invalid"),
    ({'user_name': 'alice', 'role_name': 'bad_role'}, "role name 'bad_role' is invalid"),
    ({'user_name': 'alice', 'role_name': 'r' * 65}, 'role name'),
    ({'user_name': 'alice', 'policy_name': 'no.dots'}, "policy name 'no.dots' is invalid"),
    ({'user_name': 'alice', 'policy_name': 'p' * 129}, 'policy name'),
])
def test_invalid_input_fails_before_any_call(cloud, args, fragment):
    for state in ('present', 'absent'):
        result = cloud.run(ram_user_role_grant, dict({'role_name': ROLE, 'state': state}, **args))
        assert result['failed'] and fragment in result['msg']
    assert cloud.actions() == []


@pytest.mark.parametrize('key,name,kind', [('user_name', 'nobody', 'user'), ('group_name', 'nogroup', 'group'),
                                           ('grantee_role_name', 'norole', 'role')])
def test_unknown_grantee_fails_without_writing(cloud, key, name, kind):
    result = run(cloud, **{key: name})
    assert result['failed'] and result['changed'] is False
    assert 'RAM %s %s does not exist' % (kind, name) in result['msg']
    assert result[key] == name
    assert cloud.write_actions() == []


def test_unknown_role_fails_without_writing(cloud):
    result = run(cloud, role_name='missing-role')
    assert result['failed'] and 'RAM role missing-role does not exist' in result['msg']
    assert cloud.write_actions() == []


def test_check_mode_predicts_the_grant_of_a_role_that_does_not_exist_yet(cloud):
    warnings = cloud.warnings
    result = run(cloud, check_mode=True, diff=True, role_name='New.Role')
    assert result['changed'] is True and result['attached'] is True and result['policy_action'] == 'create'
    assert result['role_arn'] is None and result['policy_name'] == 'PassRoleDot-new-role-1'
    assert result['policy_document'] == pass_role_policy('acs:ram::<account-id>:role/new.role')
    assert result['diff']['after']['policy_document'] == result['policy_document']
    assert warnings == ['role New.Role does not exist yet; predicting as if an earlier task creates it']
    assert cloud.write_actions() == []
    # outside check mode the missing role is an error before any write
    assert 'RAM role New.Role does not exist' in run(cloud, role_name='New.Role')['msg']
    assert cloud.write_actions() == []


def test_check_mode_predicts_the_grant_to_a_grantee_role_that_does_not_exist_yet(cloud):
    warnings = cloud.warnings
    result = run(cloud, check_mode=True, grantee_role_name='new-deployer')
    assert result['changed'] is True and done_lists(result) == {'created_policies': [POLICY], 'attached_to': ['role new-deployer']}
    assert warnings == ['role new-deployer does not exist yet; predicting as if an earlier task creates it']
    assert cloud.write_actions() == []


# -- grant and revoke ------------------------------------------------------------------------

def test_grant_to_a_user_then_second_run_only_reads(cloud, ram):
    result = run(cloud)
    assert result['changed'] is True
    assert (result['user_name'], result['role_arn'], result['policy_name']) == ('alice', arn(ram), POLICY)
    assert result['policy_action'] == 'create' and result['attached'] is True
    assert done_lists(result) == {'created_policies': [POLICY], 'attached_to': ['user alice']}
    assert 'group_name' not in result and 'grantee_role_name' not in result
    assert cloud.write_actions() == ['CreatePolicy', 'AttachPolicyToUser']
    assert stored(ram) == result['policy_document'] == pass_role_policy(arn(ram))
    assert holders(ram) == {'user': ['alice'], 'group': [], 'role': []}

    clear_calls(cloud)
    again = run(cloud)
    assert again['changed'] is False and again['policy_action'] == 'none' and done_lists(again) == {}
    assert again['policy_document'] == result['policy_document']
    assert cloud.actions() == ['GetUser', 'GetRole', 'GetPolicy', 'ListEntitiesForPolicy']


@pytest.mark.parametrize('kind,key,name', GRANTEES)
def test_grant_and_revoke_for_each_kind_of_grantee(cloud, ram, kind, key, name):
    predicted = run(cloud, check_mode=True, diff=True, **{key: name})
    assert cloud.write_actions() == []
    result = run(cloud, diff=True, **{key: name})
    assert result == predicted
    assert result[key] == name and result['attached'] is True
    assert done_lists(result) == {'created_policies': [POLICY], 'attached_to': ['%s %s' % (kind, name)]}
    assert holders(ram)[kind] == [name]
    assert [p['PolicyName'] for p in ram_api.list_policies_for(ram, kind, name)] == [POLICY]
    assert result['diff'] == {
        'before': {key: name, 'policy_name': POLICY, 'attached': False, 'policy_document': None},
        'after': {key: name, 'policy_name': POLICY, 'attached': True, 'policy_document': result['policy_document']}}
    assert run(cloud, **{key: name})['changed'] is False

    clear_calls(cloud)
    predicted = run(cloud, check_mode=True, diff=True, state='absent', **{key: name})
    assert cloud.write_actions() == []
    result = run(cloud, diff=True, state='absent', **{key: name})
    assert result == predicted
    assert result['changed'] is True and result['attached'] is False and result['policy_deleted'] is True
    assert done_lists(result) == {'detached_from': ['%s %s' % (kind, name)], 'deleted_policies': [POLICY]}
    assert cloud.write_actions() == ['DetachPolicyFrom' + kind.capitalize(), 'DeletePolicy']
    assert result['diff']['after'] == {key: name, 'policy_name': POLICY, 'attached': False, 'policy_document': None}
    assert ram_api.list_policies_for(ram, kind, name) == [] and stored(ram) is None
    assert run(cloud, state='absent', **{key: name})['changed'] is False


def test_colliding_role_names_get_separate_policies(cloud, ram):
    web_dot = run(cloud, role_name='app.web')
    assert web_dot['failed'] and 'RAM role app.web does not exist' in web_dot['msg']
    ram_api.create_role(ram, 'app.web', ECS_TRUST)
    dot, dash = run(cloud, role_name='app.web'), run(cloud, role_name='app-web')
    assert dot['policy_name'] != dash['policy_name']
    assert (dot['policy_name'], dash['policy_name']) == ('PassRoleDot-app-web-1', 'PassRole-app-web')
    assert dot['created_policies'] == [dot['policy_name']] and dash['created_policies'] == [dash['policy_name']]
    assert stored(ram, dot['policy_name']) == pass_role_policy(arn(ram, 'app.web'))
    assert stored(ram, dash['policy_name']) == pass_role_policy(arn(ram, 'app-web'))

    revoked = run(cloud, role_name='app.web', state='absent')
    assert revoked['policy_deleted'] is True and revoked['policy_name'] == dot['policy_name']
    assert stored(ram, dot['policy_name']) is None
    assert stored(ram, dash['policy_name']) == pass_role_policy(arn(ram, 'app-web'))
    assert [p['PolicyName'] for p in ram_api.list_policies_for(ram, 'user', 'alice')] == ['PassRole-app-web']


def test_users_share_one_policy_and_the_last_revoke_deletes_it(cloud, ram):
    run(cloud)
    shared = run(cloud, user_name='bob')
    assert shared['policy_action'] == 'none' and done_lists(shared) == {'attached_to': ['user bob']}
    extra = to_json(pass_role_policy('acs:ram::1:role/x'))
    ram_api.create_policy_version(ram, POLICY, extra, set_as_default=False)

    clear_calls(cloud)
    result = run(cloud, state='absent')
    assert result['changed'] is True and result['policy_deleted'] is False and result['policy_used_by'] == ['user bob']
    assert result['policy_document'] == pass_role_policy(arn(ram)) and result['attached'] is False
    assert cloud.write_actions() == ['DetachPolicyFromUser']

    clear_calls(cloud)
    result = run(cloud, state='absent', user_name='bob')
    assert result['policy_deleted'] is True and result['policy_document'] is None
    assert cloud.write_actions() == ['DetachPolicyFromUser', 'DeletePolicyVersion', 'DeletePolicy']
    assert stored(ram) is None


def test_revoke_succeeds_when_grantee_or_role_is_gone_and_cleans_up_an_unused_policy(cloud, ram):
    result = run(cloud, state='absent', user_name='ghost', role_name='gone.role')
    assert result['changed'] is False and result['role_arn'] is None and result['policy_document'] is None
    assert result['policy_name'] == 'PassRoleDot-gone-role-1'
    assert cloud.write_actions() == []
    ram_api.create_policy(ram, 'PassRoleDot-gone-role-1', to_json(pass_role_policy('acs:ram::1:role/gone.role')))
    result = run(cloud, state='absent', group_name='ghosts', role_name='gone.role')
    assert result['changed'] is True and result['policy_deleted'] is True
    assert done_lists(result) == {'deleted_policies': ['PassRoleDot-gone-role-1']}


def test_instance_management_toggle_makes_versions(cloud, ram):
    run(cloud, allow_instance_management=False)
    wide = run(cloud)
    assert wide['policy_action'] == 'create_version' and done_lists(wide) == {'updated_policies': [POLICY]}
    clear_calls(cloud)
    narrow = run(cloud, allow_instance_management=False)
    assert narrow['policy_action'] == 'set_default' and done_lists(narrow) == {'updated_policies': [POLICY]}
    assert cloud.write_actions() == ['SetDefaultPolicyVersion']
    assert stored(ram) == pass_role_policy(arn(ram), allow_instance_management=False)


# -- a policy that already exists ------------------------------------------------------------

def test_a_policy_that_is_no_passrole_grant_is_never_rewritten(cloud, ram):
    foreign = to_json({'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'oss:GetObject', 'Resource': '*'}]})
    ram_api.create_policy(ram, 'Shared', foreign)
    ram_api.attach_policy(ram, 'user', 'bob', 'Shared', 'Custom')
    ram_api.attach_policy(ram, 'role', 'deployer', 'Shared', 'Custom')
    ram_api.attach_policy(ram, 'user', 'alice', 'Shared', 'Custom')
    clear_calls(cloud)
    for check_mode in (True, False):
        result = run(cloud, check_mode=check_mode, policy_name='Shared')
        assert result['failed'] and result['changed'] is False
        assert result['msg'] == ('policy Shared is not a PassRole grant (held by role deployer, user alice, user bob), not a grant of role '
                                 'web.app: it is not rewritten; choose another policy_name')
        assert result['policy_used_by'] == ['role deployer', 'user alice', 'user bob'] and done_lists(result) == {}
    assert cloud.write_actions() == []
    assert stored(ram, 'Shared') == json.loads(foreign)
    # the same grant is shared, not refused
    ram_api.create_policy(ram, 'Granted', to_json(pass_role_policy(arn(ram))))
    ram_api.attach_policy(ram, 'group', 'ops', 'Granted', 'Custom')
    result = run(cloud, policy_name='Granted')
    assert result['changed'] is True and done_lists(result) == {'attached_to': ['user alice']}


@pytest.mark.parametrize('state', ['present', 'absent'])
def test_the_grant_of_another_role_is_neither_repurposed_nor_deleted(cloud, ram, state):
    run(cloud, role_name='app-web', user_name='bob', policy_name='Shared-Grant')
    clear_calls(cloud)
    result = run(cloud, state=state, user_name='bob', policy_name='Shared-Grant')
    assert result['failed'] and result['changed'] is False and cloud.write_actions() == []
    assert 'policy Shared-Grant is the grant of role app-web (held by user bob), not a grant of role web.app' in result['msg']
    assert result['policy_role'] == 'app-web' and result['policy_used_by'] == ['user bob']
    assert stored(ram, 'Shared-Grant') == pass_role_policy(arn(ram, 'app-web'))


def test_an_admin_policy_is_never_detached_or_deleted_by_a_revoke(cloud, ram):
    ram_api.create_policy(ram, 'Admin', to_json({'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))
    ram_api.attach_policy(ram, 'user', 'alice', 'Admin', 'Custom')
    clear_calls(cloud)
    result = run(cloud, state='absent', policy_name='Admin')
    assert result['failed'] and 'it is not detached or deleted' in result['msg'] and cloud.write_actions() == []
    assert stored(ram, 'Admin') is not None


@pytest.mark.parametrize('holder', [None, 'alice', 'ALICE'])
def test_this_roles_grant_held_only_by_this_grantee_or_nobody_is_converged(cloud, ram, holder):
    ram_api.create_policy(ram, POLICY, to_json(pass_role_policy(arn(ram), allow_instance_management=False)))
    if holder:
        ram_api.attach_policy(ram, 'user', holder, POLICY, 'Custom')
    result = run(cloud)
    assert result['changed'] is True and result['policy_action'] == 'create_version'
    expected = {'updated_policies': [POLICY]} if holder else {'updated_policies': [POLICY], 'attached_to': ['user alice']}
    assert done_lists(result) == expected
    assert stored(ram) == pass_role_policy(arn(ram))


def test_this_roles_grant_is_not_rewritten_under_other_holders(cloud, ram):
    ram_api.create_policy(ram, POLICY, to_json(pass_role_policy(arn(ram), allow_instance_management=False)))
    ram_api.attach_policy(ram, 'user', 'bob', POLICY, 'Custom')
    result = run(cloud)
    assert result['failed'] and 'already exists with another document and is attached to user bob' in result['msg']
    assert stored(ram) == pass_role_policy(arn(ram), allow_instance_management=False)


# -- truthful results ------------------------------------------------------------------------

def test_attach_denied_after_create_fails_and_reports_what_was_done(cloud, ram):
    cloud.script('AttachPolicyToUser', code='NoPermission', status=403, message='You are not authorized')
    result = run(cloud)
    assert result['failed'] is True and result['changed'] is True
    assert re.match(r'^attach Custom policy %s to user alice failed: NoPermission: You are not authorized '
                    r'\(request id SCRIPTED-REQUEST\)$' % POLICY, result['msg'])
    assert result['error']['code'] == 'NoPermission'
    assert done_lists(result) == {'created_policies': [POLICY]}
    assert result['attached'] is False and result['policy_document'] == pass_role_policy(arn(ram))
    assert stored(ram) is not None and holders(ram)['user'] == []
    # the next run finishes the grant
    again = run(cloud)
    assert done_lists(again) == {'attached_to': ['user alice']} and again['policy_action'] == 'none'


def test_lost_replies_count_as_done_and_changed(cloud, ram):
    cloud.script('CreatePolicy', lose_reply=True)
    cloud.script('AttachPolicyToGroup', lose_reply=True)
    result = run(cloud, group_name='ops')
    assert result['changed'] is True and not result.get('failed')
    assert done_lists(result) == {'created_policies': [POLICY], 'attached_to': ['group ops']}
    assert cloud.actions().count('CreatePolicy') == 2 and cloud.actions().count('AttachPolicyToGroup') == 2
    assert holders(ram)['group'] == ['ops'] and stored(ram) == pass_role_policy(arn(ram))
    assert run(cloud, group_name='ops')['changed'] is False


def test_lost_detach_reply_counts_as_done(cloud, ram):
    run(cloud, grantee_role_name='deployer')
    cloud.script('DetachPolicyFromRole', lose_reply=True)
    result = run(cloud, state='absent', grantee_role_name='deployer')
    assert result['changed'] is True and done_lists(result) == {'detached_from': ['role deployer'], 'deleted_policies': [POLICY]}
    assert stored(ram) is None


def test_read_error_is_one_line_naming_the_operation(cloud):
    cloud.script('GetRole', code='NoPermission', status=403, message='denied')
    result = run(cloud)
    assert result['failed'] and result['changed'] is False
    assert result['msg'] == 'read role web.app failed: NoPermission: denied (request id SCRIPTED-REQUEST)'
    assert cloud.write_actions() == []
