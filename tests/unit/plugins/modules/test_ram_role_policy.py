# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ram_role_policy decision logic with the network stubbed (an in-memory RAM)."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import role_policies
from ansible_collections.alicloud.ram.plugins.module_utils.errors import format_error
from ansible_collections.alicloud.ram.plugins.module_utils.role_policies import PolicyInputError, RolePolicyManager, parse_policy_items
from ansible_collections.alicloud.ram.plugins.modules import ram_role_policy
from ansible_collections.alicloud.ram.tests.unit.plugins.module_utils.test_custom_policy import FakeRam, api_error, doc

OSS = 'AliyunOSSReadOnlyAccess'
ECS = 'AliyunECSReadOnlyAccess'
VPC = 'AliyunVPCReadOnlyAccess'


class Done(Exception):
    def __init__(self, result, failed=False):
        super(Done, self).__init__(result)
        self.result = result
        self.failed = failed


class FakeModule(object):
    def __init__(self, params, check_mode=False, diff=False):
        self.params = dict({'state': 'present', 'purge_policies': False, 'policies': []}, **params)
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def exit_json(self, **result):
        raise Done(result)

    def fail_json(self, **result):
        raise Done(result, failed=True)

    def fail_api(self, err, operation, **extra):
        raise Done(dict(extra, msg=format_error(err, operation), error=err.to_dict()), failed=True)

    def warn(self, message):
        self.warnings.append(message)


def run(ram, check_mode=False, diff=False, **params):
    params.setdefault('role_name', 'app-role')
    module = FakeModule(params, check_mode=check_mode, diff=diff)
    with pytest.raises(Done) as exc:
        RolePolicyManager(module, client=ram).run()
    exc.value.result['_warnings'] = module.warnings
    return exc.value


def pol(name, policy_type):
    """A policy as every result lists it: both key pairs, same values."""
    return {'name': name, 'type': policy_type, 'policy_name': name, 'policy_type': policy_type}


def ram_with_role(*attached, **kwargs):
    ram = FakeRam(**kwargs)
    ram.add_role('app-role', attached)
    return ram


# -- input validation ----------------------------------------------------------------------------

@pytest.mark.parametrize('items,message', [
    ([OSS, OSS.lower()], 'listed twice'),
    ([{'name': 'a-b', 'type': 'Managed'}], 'System or Custom'),
    ([{'name': 'a_b'}], 'letters, digits and hyphens'),
    (['x' * 129], 'policy name'),
    ([''], 'non-empty'),
    ([{'type': 'System'}], 'non-empty'),
    ([42], 'policy name or a dict'),
    ([{'name': 'a', 'colour': 'red'}], "unknown key 'colour'"),
    ([{'name': 'a', 'policy_name': 'b'}], 'given twice'),
    ([{'name': 'a', 'type': 'System', 'document': doc('x:*')}], 'cannot take a document'),
    ([{'name': 'a', 'document': '{"Statement": ['}], 'not valid JSON'),
    ([{'name': 'a', 'document': '[1, 2]'}], 'JSON object'),
    ([{'name': 'a', 'document': {'Statement': []}}], 'non-empty Statement'),
    ([{'name': 'a', 'document': {'Statement': [{'Effect': 'Perhaps', 'Action': 'x:y'}]}}], 'Effect Allow or Deny'),
    ([{'name': 'a', 'document': doc(*['oss:Action%05d' % i for i in range(600)])}], 'the limit is 6144'),
    ([{'name': 'a', 'description': 'd'}], 'only together with a document'),
    ([{'name': 'a', 'document': doc('x:*'), 'description': 'd' * 1025}], 'limit is 1024'),
])
def test_bad_items_are_refused(items, message):
    with pytest.raises(PolicyInputError) as exc:
        parse_policy_items(items)
    assert message in str(exc.value)


def test_items_are_parsed_with_aliases_and_types():
    requests = parse_policy_items([
        OSS,
        {'policy_name': 'mine', 'policy_type': 'custom'},
        {'name': 'new-one', 'policy_document': json.dumps(doc('x:*')), 'description': 'the new one'},
        {'name': 'sys', 'type': 'SYSTEM'},
    ])
    assert [(r.name, r.type) for r in requests] == [(OSS, None), ('mine', 'Custom'), ('new-one', 'Custom'), ('sys', 'System')]
    assert requests[2].document == doc('x:*') and requests[2].description == 'the new one'


def test_invalid_input_makes_no_call_at_all():
    ram = ram_with_role()
    done = run(ram, policies=[{'name': 'ok', 'document': doc('x:*')}, {'name': 'bad', 'document': 'nope'}])
    assert done.failed and 'policies[1] (bad)' in done.result['msg'] and ram.requests == []
    done = run(ram, role_name='bad role', policies=[OSS])
    assert done.failed and 'role name' in done.result['msg'] and ram.requests == []


# -- present -------------------------------------------------------------------------------------

def test_attach_system_and_create_custom_policy():
    ram = ram_with_role()
    done = run(ram, policies=[OSS.upper(), {'name': 'app', 'document': doc('oss:GetObject'), 'description': 'app'}])
    result = done.result
    assert not done.failed and result['changed'] is True
    assert result['attached'] == [pol('app', 'Custom'), pol(OSS, 'System')]
    assert result['attached_policies'] == [pol('app', 'Custom'), pol(OSS, 'System')]
    assert result['created_policies'] == ['app'] and result['updated_policies'] == [] and result['detached'] == []
    assert sorted(ram.roles['app-role']['policies']) == [('AliyunOSSReadOnlyAccess', 'System'), ('app', 'Custom')]
    assert ram.custom['app']['Description'] == 'app'
    # a custom policy to create is checked against system names once; nothing else is read twice
    assert ram.actions() == ['ListPoliciesForRole', 'GetPolicy', 'GetPolicy', 'GetPolicy', 'CreatePolicy',
                             'AttachPolicyToRole', 'AttachPolicyToRole']


def test_no_change_with_plain_attached_names_is_one_read():
    ram = ram_with_role((OSS, 'System'), ('mine', 'Custom'), (ECS, 'System'))
    ram.add_custom('mine', [doc('x:*')])
    done = run(ram, policies=[OSS.lower(), 'MINE', {'name': ECS, 'type': 'System'}], purge_policies=True)
    assert done.result['changed'] is False and done.result['detached'] == []
    assert done.result['attached_policies'] == [pol('mine', 'Custom'), pol(ECS, 'System'), pol(OSS, 'System')]
    assert ram.actions() == ['ListPoliciesForRole']


def test_no_change_with_a_document_reads_the_policy_once():
    ram = ram_with_role(('mine', 'Custom'))
    ram.add_custom('mine', [doc('x:*')])
    done = run(ram, policies=[{'name': 'mine', 'document': json.dumps(doc('x:*'), indent=2)}])
    assert done.result['changed'] is False and ram.actions() == ['ListPoliciesForRole', 'GetPolicy']


def test_plain_name_resolves_to_an_existing_custom_policy():
    ram = ram_with_role()
    ram.add_custom('Team-Policy', [doc('x:*')])
    done = run(ram, policies=['team-policy'])
    assert done.result['attached'] == [pol('Team-Policy', 'Custom')]
    assert [p['PolicyType'] for a, p in ram.requests if a == 'GetPolicy'] == ['System', 'Custom']


@pytest.mark.parametrize('item,message', [
    ({'name': 'AliyunNothing', 'type': 'System'}, "system policy 'AliyunNothing' does not exist"),
    ({'name': 'nothing', 'type': 'Custom'}, "custom policy 'nothing' does not exist; give a document"),
    ('nothing', "policy 'nothing' does not exist (neither"),
    ({'name': OSS, 'document': doc('x:*')}, 'name of a system policy'),
])
def test_missing_policies_fail_before_any_write(item, message):
    ram = ram_with_role((ECS, 'System'))
    done = run(ram, policies=[{'name': 'fresh', 'document': doc('x:*')}, item], purge_policies=True)
    assert done.failed and message in done.result['msg']
    assert ram.writes() == [] and 'fresh' not in ram.custom


def test_missing_role_is_a_clear_error_from_the_only_read():
    ram = FakeRam()
    done = run(ram, policies=[OSS])
    assert done.failed and "role 'app-role' does not exist" in done.result['msg']
    assert done.result['error']['code'] == 'EntityNotExist.Role' and 'RID-EntityNotExist.Role' in done.result['msg']
    assert ram.actions() == ['ListPoliciesForRole']


def test_check_mode_on_a_missing_role_predicts_every_listed_policy_as_attached():
    ram = FakeRam()
    ram.add_custom('mine', [doc('a:1')])
    items = [OSS, 'mine', {'name': 'fresh', 'document': doc('f:1')}]
    done = run(ram, check_mode=True, diff=True, policies=items, purge_policies=True)
    assert not done.failed and done.result['changed'] is True
    assert done.result['attached'] == [pol('fresh', 'Custom'), pol('mine', 'Custom'), pol(OSS, 'System')]
    assert done.result['attached_policies'] == done.result['attached'] and done.result['detached'] == []
    assert done.result['created_policies'] == ['fresh']
    assert done.result['diff']['before']['attached_policies'] == []
    assert done.result['_warnings'] == ['role app-role does not exist yet; predicting as if an earlier task creates it']
    assert ram.writes() == []


def test_missing_role_still_fails_outside_check_mode_even_with_nothing_listed():
    ram = FakeRam()
    done = run(ram, policies=[], purge_policies=True)
    assert done.failed and "role 'app-role' does not exist" in done.result['msg'] and ram.writes() == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_absent_on_a_missing_role_is_ok_and_unchanged(check_mode):
    ram = FakeRam()
    done = run(ram, check_mode=check_mode, state='absent', policies=[OSS, 'mine'])
    assert not done.failed and done.result['changed'] is False
    assert done.result['detached'] == [] and done.result['attached_policies'] == []
    assert done.result['_warnings'] == [] and ram.writes() == []


def test_absent_on_a_missing_role_still_deletes_unused_listed_custom_policies():
    ram = FakeRam()
    ram.add_custom('mine', [doc('a:1')])
    ram.add_custom('used', [doc('u:1')])['users'] = ['alice']
    items = [OSS, {'name': 'mine', 'document': doc('a:1')}, {'name': 'used', 'document': doc('u:1')}]
    checked = run(ram, check_mode=True, state='absent', delete_unused_custom_policies=True, policies=items).result
    assert ram.writes() == []
    done = run(ram, state='absent', delete_unused_custom_policies=True, policies=items)
    assert not done.failed and done.result == checked
    assert done.result['changed'] is True and done.result['deleted_policies'] == ['mine'] and done.result['detached'] == []
    assert 'mine' not in ram.custom and 'used' in ram.custom


def test_purge_detaches_unlisted_policies_before_attaching():
    ram = ram_with_role((ECS, 'System'), ('old', 'Custom'), (OSS, 'System'))
    ram.add_custom('old', [doc('x:*')])
    done = run(ram, policies=[OSS, VPC], purge_policies=True)
    assert done.result['detached'] == [pol('old', 'Custom'), pol(ECS, 'System')]
    assert done.result['attached'] == [pol(VPC, 'System')]
    assert done.result['attached_policies'] == [pol(OSS, 'System'), pol(VPC, 'System')]
    assert [a for a, _p in ram.writes()] == ['DetachPolicyFromRole', 'DetachPolicyFromRole', 'AttachPolicyToRole']
    assert 'old' in ram.custom, 'purge detaches, it never deletes a policy'


def test_without_purge_unlisted_policies_stay():
    ram = ram_with_role((ECS, 'System'))
    done = run(ram, policies=[OSS])
    assert done.result['detached'] == [] and done.result['attached_policies'] == [pol(ECS, 'System'), pol(OSS, 'System')]


def test_document_change_on_an_attached_policy_updates_it():
    ram = ram_with_role(('mine', 'Custom'))
    ram.add_custom('mine', [doc('a:1')], description='keep')
    done = run(ram, policies=[{'name': 'mine', 'document': doc('a:2'), 'description': 'other'}])
    assert done.result['updated_policies'] == ['mine'] and done.result['attached'] == [] and done.result['created_policies'] == []
    assert ram.default_document('mine')['Statement'][0]['Action'] == ['a:2']
    assert any('description is set only when' in w for w in done.result['_warnings'])


def test_concurrent_attach_and_detach_are_absorbed():
    ram = ram_with_role((ECS, 'System'))
    ram.fail['AttachPolicyToRole'] = api_error('EntityAlreadyExists.Role.Policy', 409)
    ram.fail['DetachPolicyFromRole'] = api_error('EntityNotExist.Role.Policy', 404)
    done = run(ram, policies=[OSS], purge_policies=True)
    assert not done.failed and done.result['changed'] is True


def test_write_error_is_one_line_with_code_and_request_id():
    ram = ram_with_role()
    ram.fail['AttachPolicyToRole'] = api_error('LimitExceeded.Role.Policy', 409)
    done = run(ram, policies=[OSS])
    assert done.failed and done.result['error']['code'] == 'LimitExceeded.Role.Policy'
    assert done.result['msg'].startswith("attach system policy '%s' to role 'app-role' failed: LimitExceeded.Role.Policy" % OSS)
    assert '\n' not in done.result['msg'] and 'RID-LimitExceeded.Role.Policy' in done.result['msg']


def test_new_custom_policy_attach_retries_not_yet_visible_policy():
    ram = ram_with_role()
    seen = []
    original = ram.call

    def call(action, params=None, retry_codes=()):
        if action == 'AttachPolicyToRole':
            seen.append((params['PolicyName'], tuple(retry_codes)))
        return original(action, params, retry_codes)
    ram.call = call
    run(ram, policies=[OSS, {'name': 'fresh', 'document': doc('x:*')}])
    assert sorted(seen) == [(OSS, ()), ('fresh', ('EntityNotExist.Policy',))]


# -- absent ----------------------------------------------------------------------------------

def test_absent_detaches_listed_and_ignores_missing_without_reads():
    ram = ram_with_role((ECS, 'System'), ('mine', 'Custom'), (OSS, 'System'))
    done = run(ram, state='absent', policies=[ECS.lower(), 'mine', 'never-attached', {'name': OSS, 'type': 'Custom'}], purge_policies=True)
    assert done.result['detached'] == [pol('mine', 'Custom'), pol(ECS, 'System')]
    assert done.result['attached_policies'] == [pol(OSS, 'System')]
    assert ram.actions() == ['ListPoliciesForRole', 'DetachPolicyFromRole', 'DetachPolicyFromRole']
    assert run(ram, state='absent', policies=[ECS]).result['changed'] is False


def test_absent_deletes_unused_custom_policies_only_when_asked():
    ram = ram_with_role(('mine', 'Custom'), ('shared', 'Custom'), (OSS, 'System'))
    ram.add_role('other-role', [('shared', 'Custom')])
    ram.add_custom('mine', [doc('a:1'), doc('a:2')])
    ram.add_custom('shared', [doc('s:1')])
    ram.add_custom('used-by-user', [doc('u:1')])['users'] = ['alice']
    items = [OSS, {'name': 'mine', 'document': doc('a:2')}, {'name': 'shared', 'document': doc('s:1')},
             {'name': 'used-by-user', 'document': doc('u:1')}, {'name': 'never-created', 'document': doc('n:1')}]
    checked = run(ram, check_mode=True, diff=True, state='absent', delete_unused_custom_policies=True, policies=items).result
    assert ram.writes() == []
    done = run(ram, diff=True, state='absent', delete_unused_custom_policies=True, policies=items)
    assert done.result == checked
    assert done.result['deleted_policies'] == ['mine'] and 'mine' not in ram.custom and 'shared' in ram.custom
    assert done.result['detached'] == [pol('mine', 'Custom'), pol('shared', 'Custom'), pol(OSS, 'System')]
    assert done.result['diff']['before']['custom_policies'] == ['mine'] and done.result['diff']['after']['custom_policies'] == []
    warnings = ' '.join(done.result['_warnings'])
    assert "'shared' is kept: it is still attached to role other-role" in warnings and 'user alice' in warnings
    ram.requests = []
    again = run(ram, state='absent', delete_unused_custom_policies=True, policies=items).result
    assert again['changed'] is False and ram.writes() == []
    # without the option nothing is deleted
    ram = ram_with_role(('mine', 'Custom'))
    ram.add_custom('mine', [doc('a:1')])
    done = run(ram, state='absent', policies=[{'name': 'mine', 'document': doc('a:1')}])
    assert done.result['deleted_policies'] == [] and 'mine' in ram.custom
    assert 'ListEntitiesForPolicy' not in ram.actions()


# -- check mode and diff ---------------------------------------------------------------------

def _scenario():
    ram = ram_with_role((ECS, 'System'), ('mine', 'Custom'))
    ram.add_custom('mine', [doc('a:%d' % i) for i in range(1, 6)])
    return ram


def test_check_mode_predicts_exactly_and_writes_nothing():
    params = dict(purge_policies=True, policies=[OSS, {'name': 'mine', 'document': doc('a:new')},
                                                 {'name': 'fresh', 'document': doc('f:1')}])
    ram = _scenario()
    checked = run(ram, check_mode=True, diff=True, **params).result
    assert ram.writes() == []
    ram = _scenario()
    real = run(ram, diff=True, **params).result
    assert checked == real
    assert real['attached'] == [pol('fresh', 'Custom'), pol(OSS, 'System')] and real['detached'] == [pol(ECS, 'System')]
    assert real['created_policies'] == ['fresh'] and real['updated_policies'] == ['mine']
    assert len(ram.version_ids('mine')) == 5
    ram.requests = []
    again = run(ram, **params).result
    assert again['changed'] is False and ram.writes() == []


def test_diff_shows_attachments_and_normalised_documents():
    ram = _scenario()
    result = run(ram, check_mode=True, diff=True, policies=[{'name': 'mine', 'document': doc('a:new')}, OSS]).result
    before, after = result['diff']['before'], result['diff']['after']
    assert before['attached_policies'] == ['Custom:mine', 'System:%s' % ECS]
    assert after['attached_policies'] == ['Custom:mine', 'System:%s' % ECS, 'System:%s' % OSS]
    assert before['policy_documents']['mine']['Statement'] == [{'Action': ['a:5'], 'Effect': 'Allow', 'Resource': ['*']}]
    assert after['policy_documents']['mine']['Statement'] == [{'Action': ['a:new'], 'Effect': 'Allow', 'Resource': ['*']}]
    unchanged = run(ram, check_mode=True, diff=True, policies=[{'name': 'mine', 'document': doc('a:5')}]).result
    assert unchanged['diff']['before'] == unchanged['diff']['after']
    assert 'policy_documents' not in unchanged['diff']['before']


def test_module_spec_matches_the_documented_options():
    assert set(ram_role_policy.ARGUMENT_SPEC) == {'role_name', 'policies', 'state', 'purge_policies', 'delete_unused_custom_policies'}
    assert ram_role_policy.ARGUMENT_SPEC['purge_policies']['default'] is False
    assert role_policies.ATTACH_DONE_CODES == ('EntityAlreadyExists.Role.Policy',)
