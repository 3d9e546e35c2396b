# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decision logic of ram_user_role_grant with RAM replaced by an in-memory fake."""

import copy
import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import user_grant
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, is_not_found
from ansible_collections.alicloud.ram.plugins.module_utils.user_grant import UserRoleGrant, default_policy_name, pass_role_policy
from ansible_collections.alicloud.ram.plugins.modules import ram_user_role_grant

ACCOUNT = '1234567890123456'
ARN = 'acs:ram::%s:role/web.app' % ACCOUNT
WRITES = ('Create', 'Delete', 'Attach', 'Detach', 'Set')


def _missing(code):
    return AlicloudApiError(code, 'not there', request_id='RID-404', status=404)


class FakeRam(object):
    """Just enough RAM for the grant: users, roles, custom policies with versions, attachments."""

    def __init__(self):
        self.users = {'alice': set(), 'bob': set()}
        self.roles = {'web.app': ARN}
        self.policies = {}
        self.requests = []
        self.fail = {}  # action -> (exception raised once, side effect run first or None)

    @property
    def writes(self):
        return [a for a, _p in self.requests if a.startswith(WRITES)]

    def _policy(self, name):
        if name.lower() not in self.policies:
            raise _missing('EntityNotExist.Policy')
        return self.policies[name.lower()]

    def _user(self, name):
        if name.lower() not in self.users:
            raise _missing('EntityNotExist.User')
        return self.users[name.lower()]

    def add_policy(self, name, *documents):
        versions = [{'VersionId': 'v%d' % n, 'PolicyDocument': json.dumps(doc), 'IsDefaultVersion': n == len(documents),
                     'CreateDate': '2024-01-01T00:00:%02dZ' % n} for n, doc in enumerate(documents, 1)]
        self.policies[name.lower()] = {'name': name, 'versions': versions, 'next': len(documents) + 1}

    def default_document(self, name):
        return json.loads([v for v in self._policy(name)['versions'] if v['IsDefaultVersion']][0]['PolicyDocument'])

    def call(self, action, params=None, retry_codes=()):
        params = dict(params or {})
        self.requests.append((action, params))
        if action in self.fail:
            err, side_effect = self.fail.pop(action)
            if side_effect:
                side_effect()
            err.action = action
            raise err
        try:
            return getattr(self, 'do_' + action)(params)
        except AlicloudApiError as err:
            err.action = action  # as ServiceClient does
            raise

    def call_or_none(self, action, params=None, missing_codes=None, retry_codes=()):
        try:
            return self.call(action, params)
        except AlicloudApiError as err:
            if missing_codes is not None:
                if err.code in missing_codes:
                    return None
            elif is_not_found(err):
                return None
            raise

    # -- reads
    def do_GetUser(self, p):
        self._user(p['UserName'])
        return {'User': {'UserName': p['UserName']}}

    def do_GetRole(self, p):
        if p['RoleName'].lower() not in self.roles:
            raise _missing('EntityNotExist.Role')
        return {'Role': {'RoleName': p['RoleName'], 'Arn': self.roles[p['RoleName'].lower()]}}

    def do_GetPolicy(self, p):
        policy = self._policy(p['PolicyName'])
        default = [v for v in policy['versions'] if v['IsDefaultVersion']][0]
        return {'Policy': {'PolicyName': policy['name'], 'PolicyType': 'Custom'}, 'DefaultPolicyVersion': copy.deepcopy(default)}

    def do_ListPolicyVersions(self, p):
        return {'PolicyVersions': {'PolicyVersion': copy.deepcopy(self._policy(p['PolicyName'])['versions'])}}

    def do_ListPoliciesForUser(self, p):
        names = self._user(p['UserName'])
        return {'Policies': {'Policy': [{'PolicyName': self.policies[n]['name'], 'PolicyType': 'Custom'} for n in sorted(names)]}}

    def do_ListEntitiesForPolicy(self, p):
        self._policy(p['PolicyName'])
        users = [{'UserName': u} for u, names in sorted(self.users.items()) if p['PolicyName'].lower() in names]
        return {'Users': {'User': users}, 'Groups': {'Group': []}, 'Roles': {'Role': []}}

    # -- writes
    def do_CreatePolicy(self, p):
        if p['PolicyName'].lower() in self.policies:
            raise AlicloudApiError('EntityAlreadyExists.Policy', 'exists', status=409)
        self.add_policy(p['PolicyName'], json.loads(p['PolicyDocument']))
        return {}

    def do_CreatePolicyVersion(self, p):
        policy = self._policy(p['PolicyName'])
        if len(policy['versions']) >= 5:
            raise AlicloudApiError('LimitExceeded.Policy.Version', 'too many', status=409)
        for version in policy['versions']:
            version['IsDefaultVersion'] = False
        policy['versions'].append({'VersionId': 'v%d' % policy['next'], 'PolicyDocument': p['PolicyDocument'],
                                   'IsDefaultVersion': True, 'CreateDate': '2024-02-01T00:00:%02dZ' % policy['next']})
        policy['next'] += 1
        return {}

    def do_SetDefaultPolicyVersion(self, p):
        for version in self._policy(p['PolicyName'])['versions']:
            version['IsDefaultVersion'] = version['VersionId'] == p['VersionId']
        return {}

    def do_DeletePolicyVersion(self, p):
        policy = self._policy(p['PolicyName'])
        policy['versions'] = [v for v in policy['versions'] if v['VersionId'] != p['VersionId']]
        return {}

    def do_DeletePolicy(self, p):
        name = p['PolicyName'].lower()
        self._policy(name)
        assert not any(name in names for names in self.users.values()), 'deleting an attached policy'
        assert len(self.policies[name]['versions']) == 1, 'deleting a policy with extra versions'
        del self.policies[name]
        return {}

    def do_AttachPolicyToUser(self, p):
        self._policy(p['PolicyName'])
        names = self._user(p['UserName'])
        if p['PolicyName'].lower() in names:
            raise AlicloudApiError('EntityAlreadyExists.User.Policy', 'attached', status=409)
        names.add(p['PolicyName'].lower())
        return {}

    def do_DetachPolicyFromUser(self, p):
        names = self._user(p['UserName'])
        if p['PolicyName'].lower() not in names:
            raise _missing('EntityNotExist.User.Policy')
        names.discard(p['PolicyName'].lower())
        return {}


class Exit(Exception):
    pass


class Fail(Exception):
    pass


class FakeModule(object):
    def __init__(self, ram, check_mode=False, diff=False, **params):
        self.params = {'user_name': 'alice', 'role_name': 'web.app', 'state': 'present', 'policy_name': None,
                       'allow_instance_management': True}
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = diff
        self.ram = ram
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)

    def client(self, service):
        assert service == 'ram'
        return self.ram

    def exit_json(self, **result):
        raise Exit(result)

    def fail_json(self, **result):
        raise Fail(result)

    def fail_api(self, err, operation):
        raise Fail({'msg': '%s failed: %s' % (operation, err), 'error': err.to_dict()})


def run(ram, **kwargs):
    with pytest.raises(Exit) as info:
        UserRoleGrant(FakeModule(ram, **kwargs)).run()
    return info.value.args[0]


def run_fails(ram, **kwargs):
    with pytest.raises(Fail) as info:
        UserRoleGrant(FakeModule(ram, **kwargs)).run()
    return info.value.args[0]


@pytest.fixture
def ram():
    return FakeRam()


def test_default_policy_name_replaces_periods():
    assert default_policy_name('web.app.v2') == 'PassRole-web-app-v2'
    assert default_policy_name('a' * 64) == 'PassRole-' + 'a' * 64


def test_pass_role_policy_names_exactly_the_role():
    doc = pass_role_policy(ARN)
    assert doc['Version'] == '1'
    by_action = dict((tuple(s['Action']), s['Resource']) for s in doc['Statement'])
    assert by_action[('ram:PassRole',)] == [ARN]
    assert by_action[tuple(sorted(user_grant.INSTANCE_MANAGEMENT_ACTIONS))] == ['*']
    narrow = pass_role_policy(ARN, allow_instance_management=False)
    assert narrow['Statement'] == [{'Effect': 'Allow', 'Action': ['ram:PassRole'], 'Resource': [ARN]}]


def test_module_argument_spec_matches_the_contract():
    spec = ram_user_role_grant.argument_spec()
    assert set(spec) == {'user_name', 'role_name', 'state', 'policy_name', 'allow_instance_management'}
    assert spec['allow_instance_management']['default'] is True
    assert spec['state']['default'] == 'present'


@pytest.mark.parametrize('params,fragment', [
    ({'user_name': 'bad user'}, "user name 'bad user' is invalid"),
    ({'role_name': 'bad_role'}, "role name 'bad_role' is invalid"),
    ({'role_name': 'r' * 65}, 'role name'),
    ({'policy_name': 'no.dots'}, "policy name 'no.dots' is invalid"),
    ({'policy_name': 'p' * 129}, 'policy name'),
])
def test_invalid_input_fails_before_any_call(ram, params, fragment):
    for state in ('present', 'absent'):
        result = run_fails(ram, state=state, **params)
        assert fragment in result['msg']
    assert ram.requests == []


def test_grant_creates_and_attaches_then_second_run_only_reads(ram):
    result = run(ram)
    assert result['changed'] is True
    assert result['role_arn'] == ARN and result['policy_name'] == 'PassRole-web-app' and result['user_name'] == 'alice'
    assert result['policy_action'] == 'create' and result['attached'] is True
    assert ram.writes == ['CreatePolicy', 'AttachPolicyToUser']
    assert ram.default_document('PassRole-web-app') == result['policy_document']
    # a policy that did not exist cannot have been attached: no ListPoliciesForUser needed
    assert [a for a, _p in ram.requests] == ['GetUser', 'GetRole', 'GetPolicy', 'CreatePolicy', 'AttachPolicyToUser']

    ram.requests = []
    again = run(ram)
    assert again['changed'] is False and again['policy_action'] == 'none'
    assert again['policy_document'] == result['policy_document']
    assert ram.writes == []
    assert [a for a, _p in ram.requests] == ['GetUser', 'GetRole', 'GetPolicy', 'ListPoliciesForUser']


def test_check_mode_predicts_exactly_and_writes_nothing(ram):
    predicted = run(ram, check_mode=True, diff=True)
    assert ram.writes == [] and ram.policies == {}
    done = run(ram, diff=True)
    assert predicted == done
    assert predicted['diff']['before'] == {'user_name': 'alice', 'policy_name': 'PassRole-web-app', 'attached': False,
                                           'policy_document': None}
    assert predicted['diff']['after']['policy_document'] == done['policy_document']


def test_unknown_user_or_role_fails_without_writing(ram):
    result = run_fails(ram, user_name='nobody')
    assert 'RAM user nobody does not exist' in result['msg']
    result = run_fails(ram, role_name='missing-role')
    assert 'RAM role missing-role does not exist' in result['msg']
    assert ram.writes == []


def test_check_mode_on_a_role_that_does_not_exist_yet_predicts_the_grant(ram):
    module = FakeModule(ram, check_mode=True, diff=True, role_name='New.Role')
    with pytest.raises(Exit) as info:
        UserRoleGrant(module).run()
    result = info.value.args[0]
    assert result['changed'] is True and result['attached'] is True and result['policy_action'] == 'create'
    assert result['role_arn'] is None and result['policy_name'] == 'PassRole-New-Role'
    # the ARN the role would get, the account id marked as unknown
    assert result['policy_document'] == pass_role_policy('acs:ram::<account-id>:role/new.role')
    assert result['diff']['after']['policy_document'] == result['policy_document']
    assert module.warnings == ['role New.Role does not exist yet; predicting as if an earlier task creates it']
    assert ram.writes == []
    # outside check mode the missing role is still an error before any write
    assert 'RAM role New.Role does not exist' in run_fails(ram, role_name='New.Role')['msg']
    assert ram.writes == []


def test_attach_race_already_attached_is_absorbed(ram):
    ram.add_policy('PassRole-web-app', pass_role_policy(ARN))
    ram.fail['AttachPolicyToUser'] = (AlicloudApiError('EntityAlreadyExists.User.Policy', 'attached', status=409),
                                      lambda: ram.users['alice'].add('passrole-web-app'))
    result = run(ram)
    assert result['changed'] is True and result['attached'] is True
    assert ram.writes == ['AttachPolicyToUser']


def test_attachment_is_found_case_insensitively(ram):
    ram.add_policy('PASSROLE-WEB-APP', pass_role_policy(ARN))
    ram.users['alice'].add('passrole-web-app')
    assert run(ram)['changed'] is False
    assert ram.writes == []


def test_equal_document_in_another_form_is_not_rewritten(ram):
    messy = {'Statement': [
        {'Resource': '*', 'Action': list(reversed(user_grant.INSTANCE_MANAGEMENT_ACTIONS)), 'Effect': 'Allow'},
        {'Action': 'ram:PassRole', 'Effect': 'Allow', 'Resource': [ARN, ARN]}], 'Version': '1'}
    ram.add_policy('PassRole-web-app', messy)
    ram.users['alice'].add('passrole-web-app')
    assert run(ram)['changed'] is False
    assert ram.writes == []


def test_toggle_makes_a_new_default_version_within_the_limit(ram):
    old = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'ram:PassRole', 'Resource': '*'}]}
    others = [dict(old, Statement=[dict(old['Statement'][0], Resource='acs:ram::1:role/r%d' % n)]) for n in range(4)]
    ram.add_policy('PassRole-web-app', old, *others)  # 5 versions, v5 default
    ram.users['alice'].add('passrole-web-app')
    predicted = run(ram, check_mode=True, allow_instance_management=False)
    assert predicted['changed'] is True and predicted['policy_action'] == 'create_version'
    assert ram.writes == []
    result = run(ram, allow_instance_management=False)
    assert result == predicted
    assert ram.writes == ['DeletePolicyVersion', 'CreatePolicyVersion']
    assert ('DeletePolicyVersion', {'PolicyName': 'PassRole-web-app', 'VersionId': 'v1'}) in ram.requests
    assert ram.default_document('PassRole-web-app') == pass_role_policy(ARN, allow_instance_management=False)
    assert len(ram.policies['passrole-web-app']['versions']) == 5


def test_revoke_keeps_a_shared_policy_and_deletes_it_with_the_last_user(ram):
    run(ram)
    run(ram, user_name='bob')
    ram.requests = []
    predicted = run(ram, check_mode=True, state='absent')
    assert ram.writes == []
    result = run(ram, state='absent')
    assert result == predicted
    assert result['changed'] is True and result['policy_deleted'] is False and result['policy_used_by'] == ['user bob']
    assert result['policy_document'] == pass_role_policy(ARN) and result['attached'] is False
    assert ram.writes == ['DetachPolicyFromUser']
    assert ram.users['bob'] == {'passrole-web-app'} and ram.users['alice'] == set()

    ram.requests = []
    result = run(ram, state='absent', user_name='bob', diff=True)
    assert result['changed'] is True and result['policy_deleted'] is True and result['policy_document'] is None
    assert ram.writes == ['DetachPolicyFromUser', 'DeletePolicy']
    assert ram.policies == {}
    assert result['diff']['before']['attached'] is True and result['diff']['after']['policy_document'] is None

    ram.requests = []
    assert run(ram, state='absent', user_name='bob')['changed'] is False
    assert ram.writes == []


def test_revoke_deletes_extra_versions_before_the_policy(ram):
    ram.add_policy('PassRole-web-app', pass_role_policy(ARN, False), pass_role_policy(ARN))
    ram.users['alice'].add('passrole-web-app')
    run(ram, state='absent')
    assert ram.writes == ['DetachPolicyFromUser', 'DeletePolicyVersion', 'DeletePolicy']


def test_revoke_succeeds_when_user_or_role_is_gone(ram):
    result = run(ram, state='absent', user_name='ghost', role_name='gone.role')
    assert result['changed'] is False and result['role_arn'] is None and result['policy_document'] is None
    assert ram.writes == []
    # an unused policy left behind is cleaned up even though the role is gone
    ram.add_policy('PassRole-gone-role', pass_role_policy('acs:ram::1:role/gone.role'))
    result = run(ram, state='absent', user_name='ghost', role_name='gone.role')
    assert result['changed'] is True and result['policy_deleted'] is True
    assert ram.writes == ['DeletePolicy']


def test_detach_race_already_detached_is_absorbed(ram):
    run(ram)
    ram.fail['DetachPolicyFromUser'] = (_missing('EntityNotExist.User.Policy'), lambda: ram.users['alice'].discard('passrole-web-app'))
    result = run(ram, state='absent')
    assert result['changed'] is True and result['policy_deleted'] is True


def test_api_error_is_one_line_naming_the_operation(ram):
    ram.fail['AttachPolicyToUser'] = (AlicloudApiError('LimitExceeded.User.Policy', 'too many policies', request_id='RID-9', status=409), None)
    result = run_fails(ram)
    assert result['msg'].startswith('attach policy PassRole-web-app to RAM user alice failed')
    assert 'LimitExceeded.User.Policy' in result['msg'] and 'RID-9' in result['msg']
    assert result['error']['code'] == 'LimitExceeded.User.Policy'
    ram.fail['GetRole'] = (AlicloudApiError('NoPermission', 'denied', request_id='RID-1', status=403), None)
    assert run_fails(ram)['msg'].startswith('read RAM role web.app failed')


def test_unreadable_stored_document_is_replaced_and_does_not_block_a_revoke(ram):
    ram.policies['passrole-web-app'] = {'name': 'PassRole-web-app', 'next': 2, 'versions': [
        {'VersionId': 'v1', 'PolicyDocument': '{"Statement": []}', 'IsDefaultVersion': True, 'CreateDate': 'x'}]}
    ram.users['alice'].add('passrole-web-app')
    result = run(ram)
    assert result['changed'] is True and result['policy_action'] == 'create_version'
    assert ram.writes == ['CreatePolicyVersion']
    ram.policies['passrole-web-app']['versions'] = [
        {'VersionId': 'v9', 'PolicyDocument': 'not json', 'IsDefaultVersion': True, 'CreateDate': 'x'}]
    ram.requests = []
    result = run(ram, state='absent')
    assert result['changed'] is True and result['policy_deleted'] is True
    assert ram.writes == ['DetachPolicyFromUser', 'DeletePolicy']
