# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""custom_policy: planning and applying a custom policy's default document within the version limit."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import custom_policy
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, is_not_found

WRITES = ('Create', 'Delete', 'Set', 'Attach', 'Detach', 'Update')


def doc(*actions):
    return {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': list(actions), 'Resource': '*'}]}


def api_error(code, status):
    return AlicloudApiError(code, code + ' (fake)', request_id='RID-%s' % code, status=status)


class FakeRam(object):
    """An in-memory RAM with just the policy and role actions the policy modules use.

    ``fail``: {action: AlicloudApiError or callable(params) -> error or None} injects errors.
    ``get_policy_without_document``: GetPolicy answers without the default document.
    """

    def __init__(self, system=('AliyunOSSReadOnlyAccess', 'AliyunECSReadOnlyAccess', 'AliyunVPCReadOnlyAccess'),
                 get_policy_without_document=False):
        self.system = dict((name.lower(), name) for name in system)
        self.custom = {}
        self.roles = {}
        self.requests = []
        self.fail = {}
        self.get_policy_without_document = get_policy_without_document
        self._clock = 0

    # -- set-up helpers ------------------------------------------------------------------------

    def add_role(self, name, attached=()):
        self.roles[name.lower()] = {'name': name, 'policies': list(attached)}

    def add_custom(self, name, documents, default_index=-1, description=''):
        policy = {'PolicyName': name, 'Description': description, 'versions': [], 'next': 1, 'default': None}
        self.custom[name.lower()] = policy
        for document in documents:
            self._add_version(policy, document)
        policy['default'] = policy['versions'][default_index]['VersionId']
        return policy

    def _add_version(self, policy, document):
        self._clock += 1
        version = {'VersionId': 'v%d' % policy['next'], 'PolicyDocument': document if isinstance(document, str) else json.dumps(document),
                   'CreateDate': '2024-01-01T00:00:%02dZ' % self._clock}
        policy['next'] += 1
        policy['versions'].append(version)
        return version

    def version_ids(self, name):
        return [v['VersionId'] for v in self.custom[name.lower()]['versions']]

    def default_document(self, name):
        policy = self.custom[name.lower()]
        return json.loads([v for v in policy['versions'] if v['VersionId'] == policy['default']][0]['PolicyDocument'])

    def writes(self):
        return [(action, params) for action, params in self.requests if action.startswith(WRITES)]

    def actions(self):
        return [action for action, _params in self.requests]

    # -- client interface ----------------------------------------------------------------------

    def call(self, action, params=None, retry_codes=()):
        params = dict(params or {})
        self.requests.append((action, params))
        failure = self.fail.get(action)
        if callable(failure):
            failure = failure(params)
        if failure is not None:
            raise failure
        return getattr(self, '_' + action)(params)

    def call_or_none(self, action, params=None, missing_codes=None, retry_codes=()):
        try:
            return self.call(action, params, retry_codes=retry_codes)
        except AlicloudApiError as err:
            if is_not_found(err):
                return None
            raise

    # -- actions -------------------------------------------------------------------------------

    def _role(self, params):
        role = self.roles.get(params['RoleName'].lower())
        if role is None:
            raise api_error('EntityNotExist.Role', 404)
        return role

    def _policy(self, name, policy_type):
        if policy_type == 'System':
            if name.lower() not in self.system:
                raise api_error('EntityNotExist.Policy', 404)
            return {'PolicyName': self.system[name.lower()], 'PolicyType': 'System'}
        if name.lower() not in self.custom:
            raise api_error('EntityNotExist.Policy', 404)
        return self.custom[name.lower()]

    def _ListPoliciesForRole(self, params):
        role = self._role(params)
        return {'Policies': {'Policy': [{'PolicyName': n, 'PolicyType': t} for n, t in role['policies']]}}

    def _GetPolicy(self, params):
        policy = self._policy(params['PolicyName'], params['PolicyType'])
        if params['PolicyType'] == 'System':
            return {'Policy': dict(policy), 'DefaultPolicyVersion': {'VersionId': 'v1', 'PolicyDocument': json.dumps(doc('x:*'))}}
        body = {'Policy': {'PolicyName': policy['PolicyName'], 'PolicyType': 'Custom', 'Description': policy['Description'],
                           'DefaultVersion': policy['default']}}
        if not self.get_policy_without_document:
            default = [v for v in policy['versions'] if v['VersionId'] == policy['default']][0]
            body['DefaultPolicyVersion'] = dict(default, IsDefaultVersion=True)
        return body

    def _ListPolicyVersions(self, params):
        policy = self._policy(params['PolicyName'], params['PolicyType'])
        return {'PolicyVersions': {'PolicyVersion': [dict(v, IsDefaultVersion=v['VersionId'] == policy['default'])
                                                     for v in policy['versions']]}}

    def _CreatePolicy(self, params):
        name = params['PolicyName']
        if name.lower() in self.custom or name.lower() in self.system:
            raise api_error('EntityAlreadyExists.Policy', 409)
        json.loads(params['PolicyDocument'])
        self.add_custom(name, [params['PolicyDocument']], description=params.get('Description', ''))
        return {'Policy': {'PolicyName': name}}

    def _CreatePolicyVersion(self, params):
        policy = self._policy(params['PolicyName'], 'Custom')
        if len(policy['versions']) >= 5:
            raise api_error('LimitExceeded.Policy.Version', 409)
        version = self._add_version(policy, params['PolicyDocument'])
        if params.get('SetAsDefault'):
            policy['default'] = version['VersionId']
        return {'PolicyVersion': version}

    def _DeletePolicyVersion(self, params):
        policy = self._policy(params['PolicyName'], 'Custom')
        if params['VersionId'] == policy['default']:
            raise api_error('DeleteConflict.Policy.Version.Default', 409)
        before = len(policy['versions'])
        policy['versions'] = [v for v in policy['versions'] if v['VersionId'] != params['VersionId']]
        if len(policy['versions']) == before:
            raise api_error('EntityNotExist.Policy.Version', 404)
        return {}

    def _SetDefaultPolicyVersion(self, params):
        policy = self._policy(params['PolicyName'], 'Custom')
        assert params['VersionId'] in [v['VersionId'] for v in policy['versions']]
        policy['default'] = params['VersionId']
        return {}

    def _AttachPolicyToRole(self, params):
        role = self._role(params)
        policy = self._policy(params['PolicyName'], params['PolicyType'])
        entry = (policy['PolicyName'], params['PolicyType'])
        if entry in role['policies']:
            raise api_error('EntityAlreadyExists.Role.Policy', 409)
        role['policies'].append(entry)
        return {}

    def _ListEntitiesForPolicy(self, params):
        policy = self._policy(params['PolicyName'], params['PolicyType'])
        roles = [{'RoleName': role['name']} for role in self.roles.values()
                 if any(n.lower() == policy['PolicyName'].lower() and t == params['PolicyType'] for n, t in role['policies'])]
        users = [{'UserName': user} for user in policy.get('users', ())]
        return {'Users': {'User': users}, 'Groups': {'Group': []}, 'Roles': {'Role': roles}}

    def _DeletePolicy(self, params):
        policy = self._policy(params['PolicyName'], 'Custom')
        if any(policy['PolicyName'] == n for role in self.roles.values() for n, _t in role['policies']):
            raise api_error('DeleteConflict.Role.Policy', 409)
        if len(policy['versions']) > 1:
            raise api_error('DeleteConflict.Policy.Version', 409)
        del self.custom[params['PolicyName'].lower()]
        return {}

    def _DetachPolicyFromRole(self, params):
        role = self._role(params)
        for entry in role['policies']:
            if entry[0].lower() == params['PolicyName'].lower() and entry[1] == params['PolicyType']:
                role['policies'].remove(entry)
                return {}
        raise api_error('EntityNotExist.Role.Policy', 404)


def converge(ram, name, document, description=None):
    plan = custom_policy.plan_custom_policy(ram, name, document)
    written = custom_policy.apply_custom_policy_plan(ram, name, plan, description)
    return plan, written


def test_missing_policy_is_created_with_its_description():
    ram = FakeRam()
    plan, written = converge(ram, 'app', doc('oss:GetObject'), 'app data')
    assert plan['action'] == 'create' and plan['before'] is None and written is True
    assert ram.custom['app']['Description'] == 'app data'
    assert ram.actions() == ['GetPolicy', 'CreatePolicy']


def test_equal_document_needs_one_read_and_no_write():
    ram = FakeRam()
    ram.add_custom('app', [{'Statement': [{'Resource': ['*'], 'Action': 'oss:GetObject', 'Effect': 'Allow'}]}])
    plan, written = converge(ram, 'app', json.dumps(doc('oss:GetObject'), indent=2))
    assert plan['action'] == 'none' and written is False
    assert ram.actions() == ['GetPolicy']


def test_changed_document_becomes_a_new_default_version():
    ram = FakeRam()
    ram.add_custom('app', [doc('oss:GetObject')])
    plan, written = converge(ram, 'app', doc('oss:PutObject'))
    assert plan['action'] == 'create_version' and plan['delete_version_id'] is None and written
    assert plan['before']['Statement'][0]['Action'] == ['oss:GetObject']
    assert ram.version_ids('app') == ['v1', 'v2'] and ram.custom['app']['default'] == 'v2'
    sent = json.dumps(doc('oss:PutObject'), sort_keys=True, separators=(',', ':'))
    assert ram.writes() == [('CreatePolicyVersion', {'PolicyName': 'app', 'PolicyDocument': sent, 'SetAsDefault': True})]


def test_existing_equal_version_is_made_default_instead_of_a_new_one():
    ram = FakeRam()
    ram.add_custom('app', [doc('a:1'), doc('a:2'), doc('a:3')])
    plan, _written = converge(ram, 'app', {'Statement': {'Effect': 'Allow', 'Action': 'a:2', 'Resource': '*'}})
    assert plan['action'] == 'set_default' and plan['version_id'] == 'v2'
    assert [a for a, _p in ram.writes()] == ['SetDefaultPolicyVersion']
    assert ram.version_ids('app') == ['v1', 'v2', 'v3'] and ram.custom['app']['default'] == 'v2'


def test_at_the_limit_the_oldest_non_default_version_goes_first():
    ram = FakeRam()
    # v1 is the default and the oldest: it must stay; v2 is the oldest non-default
    ram.add_custom('app', [doc('a:%d' % i) for i in range(1, 6)], default_index=0)
    plan, _written = converge(ram, 'app', doc('a:new'))
    assert plan['delete_version_id'] == 'v2'
    assert [(a, p.get('VersionId')) for a, p in ram.writes()] == [('DeletePolicyVersion', 'v2'), ('CreatePolicyVersion', None)]
    assert ram.version_ids('app') == ['v1', 'v3', 'v4', 'v5', 'v6'] and ram.custom['app']['default'] == 'v6'


def test_six_changes_in_a_row_never_exceed_five_versions():
    ram = FakeRam()
    converge(ram, 'app', doc('a:0'))
    for i in range(1, 7):
        converge(ram, 'app', doc('a:%d' % i))
        assert len(ram.version_ids('app')) <= 5
        assert ram.default_document('app')['Statement'][0]['Action'] == ['a:%d' % i]
    assert ram.version_ids('app') == ['v3', 'v4', 'v5', 'v6', 'v7']


def test_default_document_missing_from_get_policy_is_taken_from_the_version_list():
    ram = FakeRam(get_policy_without_document=True)
    ram.add_custom('app', [doc('a:1'), doc('a:2')])
    plan, written = converge(ram, 'app', doc('a:2'))
    assert plan['action'] == 'none' and not written and plan['before']['Statement'][0]['Action'] == ['a:2']
    assert ram.actions() == ['GetPolicy', 'ListPolicyVersions']
    plan, _written = converge(ram, 'app', doc('a:1'))
    assert plan['action'] == 'set_default' and plan['version_id'] == 'v1'


def test_unreadable_stored_document_differs_instead_of_failing():
    ram = FakeRam()
    ram.add_custom('app', ['not json at all', '{"Statement": "odd"}'])
    plan, _written = converge(ram, 'app', doc('a:1'))
    assert plan['action'] == 'create_version' and plan['before'] is not None
    assert ram.default_document('app') == doc('a:1')


def test_policy_created_concurrently_is_converged_not_failed():
    ram = FakeRam()
    plan = custom_policy.plan_custom_policy(ram, 'app', doc('a:2'))
    ram.add_custom('app', [doc('a:1')])      # another run wins the race
    assert custom_policy.apply_custom_policy_plan(ram, 'app', plan) is True
    assert ram.default_document('app')['Statement'][0]['Action'] == ['a:2']


def test_version_added_concurrently_at_the_limit_replans_once():
    ram = FakeRam()
    ram.add_custom('app', [doc('a:%d' % i) for i in range(1, 5)])
    plan = custom_policy.plan_custom_policy(ram, 'app', doc('a:new'))
    assert plan['delete_version_id'] is None
    ram._add_version(ram.custom['app'], doc('a:other'))   # now 5 versions
    assert custom_policy.apply_custom_policy_plan(ram, 'app', plan) is True
    assert len(ram.version_ids('app')) == 5 and ram.default_document('app')['Statement'][0]['Action'] == ['a:new']


def test_other_errors_propagate():
    ram = FakeRam()
    ram.add_custom('app', [doc('a:1')])
    ram.fail['CreatePolicyVersion'] = api_error('MalformedPolicyDocument', 400)
    plan = custom_policy.plan_custom_policy(ram, 'app', doc('a:2'))
    with pytest.raises(AlicloudApiError) as exc:
        custom_policy.apply_custom_policy_plan(ram, 'app', plan)
    assert exc.value.code == 'MalformedPolicyDocument'


def test_delete_custom_policy_removes_versions_then_policy():
    ram = FakeRam()
    ram.add_custom('app', [doc('a:1'), doc('a:2')])
    assert custom_policy.delete_custom_policy(ram, 'app') is True
    assert [a for a, _p in ram.writes()] == ['DeletePolicyVersion', 'DeletePolicy'] and 'app' not in ram.custom
    assert custom_policy.delete_custom_policy(ram, 'app') is False
