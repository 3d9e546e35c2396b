# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ram_role_policy on the in-process emulator: check mode, truthful results, lost replies, bad documents (plan() alone: test_role_policies.py)."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.policy import normalize_policy
from ansible_collections.alicloud.ram.plugins.modules import ram_role_policy
from ansible_collections.alicloud.ram.tests.emulator.sdkhelpers import ECS_TRUST

ROLE = 'app-role'
OSS = 'AliyunOSSReadOnlyAccess'
ECS = 'AliyunECSReadOnlyAccess'
VPC = 'AliyunVPCReadOnlyAccess'
RESULT_KEYS = ('changed', 'role_name', 'attached_policies', 'attached', 'detached', 'created_policies', 'updated_policies',
               'deleted_policies')


def doc(*actions):
    return {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': list(actions), 'Resource': '*'}]}


def pol(name, policy_type):
    """A policy as every result lists it: both key pairs, same values."""
    return {'name': name, 'type': policy_type, 'policy_name': name, 'policy_type': policy_type}


@pytest.fixture
def cloud(emulated, ram):
    """Seeds the emulated account through the service layer, then forgets those calls."""

    class Cloud(object):
        def role(self, name=ROLE, attached=()):
            ram_api.create_role(ram, name, ECS_TRUST)
            for policy_name, policy_type in attached:
                ram_api.attach_policy(ram, 'role', name, policy_name, policy_type)
            return self.forget()

        def custom(self, name, *documents, **holders):
            ram_api.create_policy(ram, name, json.dumps(documents[0]), holders.pop('description', None))
            for document in documents[1:]:
                ram_api.create_policy_version(ram, name, json.dumps(document))
            for kind, names in holders.items():
                for holder in names:
                    ram_api.attach_policy(ram, kind, holder, name, 'Custom')
            return self.forget()

        def forget(self):
            emulated.forget()
            return self

        def attached(self, name=ROLE):
            return sorted((p['PolicyType'], p['PolicyName']) for p in ram_api.list_policies_for(ram, 'role', name))

        def versions(self, name):
            return [(v['VersionId'], v['IsDefaultVersion']) for v in ram_api.list_policy_versions(ram, name)]

        def default(self, name):
            """The default document, normalised."""
            return normalize_policy(json.loads(ram_api.get_policy(ram, name)['DefaultPolicyVersion']['PolicyDocument']))

    return Cloud()


@pytest.fixture
def warnings(emulated):
    """The warnings of the module runs of a test, in order."""
    return emulated.warnings


def run(emulated, check_mode=False, diff=False, **args):
    args.setdefault('role_name', ROLE)
    return emulated.run(ram_role_policy, args, check_mode=check_mode, diff=diff)


def same(a, b):
    return {k: a.get(k) for k in RESULT_KEYS + ('diff', 'failed', 'msg')} == {k: b.get(k) for k in RESULT_KEYS + ('diff', 'failed', 'msg')}


# -- input validation: refused before any call, check mode alike ---------------------------------

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
    ([{'name': 'a', 'document': '{"Statement": [{"Effect": "Allow", "Effect": "Deny", "Action": "x:y", "Resource": "*"}]}'}],
     'names the key "Effect" twice'),
    ([{'name': 'a', 'document': {'Statement': [{'Effect': 'Allow', 'Action': 'x:y'}]}}], 'Resource (or NotResource) is required'),
    ([{'name': 'a', 'document': {'Statement': [{'Effect': 'Allow', 'Action': 'x:y', 'Resource': '*', 'Sid': 's'}]}}],
     'unknown key Sid'),
    ([{'name': 'a', 'document': doc(*['oss:Action%05d' % i for i in range(600)])}], 'the limit is 6144'),
    ([{'name': 'a', 'description': 'd'}], 'only together with a document'),
    ([{'name': 'a', 'document': doc('x:*'), 'description': 'd' * 1025}], 'limit is 1024'),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_bad_items_are_refused_before_any_call(emulated, items, message, check_mode):
    result = run(emulated, check_mode=check_mode, policies=[{'name': 'ok', 'document': doc('x:*')}] + items)
    assert result['failed'] and message in result['msg'], result['msg']
    assert result['changed'] is False and result['role_name'] == ROLE and result['created_policies'] == []
    assert emulated.actions() == []


def test_bad_role_name_is_refused_before_any_call(emulated):
    result = run(emulated, role_name='bad role', policies=[OSS])
    assert result['failed'] and 'role name' in result['msg'] and emulated.actions() == []


@pytest.mark.parametrize('policies', [[], None])
@pytest.mark.parametrize('check_mode', [False, True])
def test_purge_without_policies_is_refused(emulated, cloud, policies, check_mode):
    cloud.role(attached=[(OSS, 'System')])
    args = {'purge_policies': True}
    if policies is not None:
        args['policies'] = policies
    result = run(emulated, check_mode=check_mode, **args)
    assert result['failed'] and 'would detach every policy' in result['msg'] and 'state=absent' in result['msg']
    assert emulated.actions() == [] and cloud.attached() == [('System', OSS)]
    # with state=absent purge_policies is ignored: nothing listed, nothing to do
    assert run(emulated, state='absent', purge_policies=True)['changed'] is False


# -- present ---------------------------------------------------------------------------------------

def test_attach_system_and_create_custom_then_second_run_makes_no_write(emulated, cloud):
    cloud.role()
    items = [OSS.upper(), {'name': 'app', 'document': json.dumps(doc('oss:GetObject')), 'description': 'app'}]
    result = run(emulated, policies=items)
    assert result['changed'] is True and not result.get('failed')
    assert result['attached'] == [pol('app', 'Custom'), pol(OSS, 'System')]
    assert result['attached_policies'] == [pol('app', 'Custom'), pol(OSS, 'System')]
    assert result['created_policies'] == ['app'] and result['updated_policies'] == [] and result['detached'] == []
    assert cloud.attached() == [('Custom', 'app'), ('System', OSS)]
    assert ram_api.get_policy(emulated.client(), 'app')['Policy']['Description'] == 'app'
    assert emulated.write_actions() == ['CreatePolicy', 'AttachPolicyToRole', 'AttachPolicyToRole']

    cloud.forget()
    again = run(emulated, policies=items)
    assert again['changed'] is False and again['attached'] == [] and again['created_policies'] == []
    assert again['attached_policies'] == result['attached_policies']
    assert emulated.write_actions() == [] and emulated.actions() == ['ListPoliciesForRole', 'GetPolicy']


def test_attached_plain_names_need_one_read(emulated, cloud):
    cloud.role(attached=[(OSS, 'System'), (ECS, 'System')]).custom('mine', doc('x:*'), role=[ROLE])
    result = run(emulated, policies=[OSS.lower(), 'MINE', {'name': ECS, 'type': 'System'}], purge_policies=True)
    assert result['changed'] is False and result['detached'] == []
    assert result['attached_policies'] == [pol('mine', 'Custom'), pol(ECS, 'System'), pol(OSS, 'System')]
    assert emulated.actions() == ['ListPoliciesForRole']


def test_plain_name_resolves_to_an_existing_custom_policy(emulated, cloud):
    cloud.role().custom('Team-Policy', doc('x:*'))
    result = run(emulated, policies=['team-policy'])
    assert result['attached'] == [pol('Team-Policy', 'Custom')]
    assert emulated.actions() == ['ListPoliciesForRole', 'GetPolicy', 'GetPolicy', 'AttachPolicyToRole']


@pytest.mark.parametrize('item,message', [
    ({'name': 'AliyunNothing', 'type': 'System'}, "system policy 'AliyunNothing' does not exist"),
    ({'name': 'nothing', 'type': 'Custom'}, "custom policy 'nothing' does not exist; give a document"),
    ('nothing', "policy 'nothing' does not exist (neither"),
    ({'name': OSS, 'document': doc('x:*')}, 'name of a system policy'),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_missing_policies_fail_before_any_write(emulated, cloud, item, message, check_mode):
    cloud.role(attached=[(ECS, 'System')])
    result = run(emulated, check_mode=check_mode, policies=[{'name': 'fresh', 'document': doc('x:*')}, item], purge_policies=True)
    assert result['failed'] and message in result['msg'] and result['changed'] is False
    assert result['role_name'] == ROLE and result['attached_policies'] == [pol(ECS, 'System')] and result['detached'] == []
    assert emulated.write_actions() == [] and ram_api.get_policy(emulated.client(), 'fresh') is None


def test_missing_role_fails_a_real_run_and_check_mode_predicts(emulated, cloud, warnings):
    cloud.custom('mine', doc('a:1'))
    result = run(emulated, policies=[OSS])
    assert result['failed'] and "role 'app-role' does not exist (EntityNotExist.Role)" in result['msg']
    assert result['error']['code'] == 'EntityNotExist.Role' and emulated.actions() == ['ListPoliciesForRole']

    items = [OSS, 'mine', {'name': 'fresh', 'document': doc('f:1')}]
    predicted = run(emulated, check_mode=True, diff=True, policies=items, purge_policies=True)
    assert predicted['changed'] is True and not predicted.get('failed')
    assert predicted['attached'] == [pol('fresh', 'Custom'), pol('mine', 'Custom'), pol(OSS, 'System')]
    assert predicted['attached_policies'] == predicted['attached'] and predicted['created_policies'] == ['fresh']
    assert predicted['diff']['before']['attached_policies'] == []
    assert warnings == ['role app-role does not exist yet; predicting as if an earlier task creates it']
    assert emulated.write_actions() == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_absent_on_a_missing_role_is_ok_and_unchanged(emulated, check_mode, warnings):
    result = run(emulated, check_mode=check_mode, state='absent', policies=[OSS, 'mine'])
    assert not result.get('failed') and result['changed'] is False
    assert result['detached'] == [] and result['attached_policies'] == [] and warnings == []


def test_purge_detaches_unlisted_policies_and_never_deletes(emulated, cloud):
    cloud.role(attached=[(ECS, 'System'), (OSS, 'System')]).custom('old', doc('x:*'), role=[ROLE])
    result = run(emulated, policies=[OSS, VPC], purge_policies=True)
    assert result['detached'] == [pol('old', 'Custom'), pol(ECS, 'System')]
    assert result['attached'] == [pol(VPC, 'System')]
    assert result['attached_policies'] == [pol(OSS, 'System'), pol(VPC, 'System')]
    assert emulated.write_actions() == ['DetachPolicyFromRole', 'DetachPolicyFromRole', 'AttachPolicyToRole']
    assert ram_api.get_policy(emulated.client(), 'old') is not None


def test_without_purge_unlisted_policies_stay(emulated, cloud):
    cloud.role(attached=[(ECS, 'System')])
    result = run(emulated, policies=[OSS])
    assert result['detached'] == [] and result['attached_policies'] == [pol(ECS, 'System'), pol(OSS, 'System')]


def test_document_change_on_an_attached_policy_updates_it(emulated, cloud, warnings):
    cloud.role().custom('mine', doc('a:1'), role=[ROLE], description='keep')
    result = run(emulated, policies=[{'name': 'mine', 'document': doc('a:2'), 'description': 'other'}])
    assert result['updated_policies'] == ['mine'] and result['attached'] == [] and result['created_policies'] == []
    assert cloud.default('mine')['Statement'][0]['Action'] == ['a:2']
    assert any('description is set only when' in w for w in warnings)
    assert emulated.write_actions() == ['CreatePolicyVersion']


# -- truthful results ------------------------------------------------------------------------------

def test_attach_denied_after_create_fails_with_changed_and_created_policies(emulated, cloud):
    cloud.role(attached=[(ECS, 'System')])
    emulated.script('AttachPolicyToRole', code='NoPermission', status=403, message='You are not authorized to do this action.')
    result = run(emulated, policies=[ECS, {'name': 'fresh', 'document': doc('x:*')}])
    assert result['failed'] is True and result['changed'] is True
    assert result['created_policies'] == ['fresh'] and result['attached'] == [] and result['updated_policies'] == []
    assert result['role_name'] == ROLE and result['attached_policies'] == [pol(ECS, 'System')]
    assert result['msg'].startswith('attach Custom policy fresh to role app-role failed: NoPermission')
    assert 'SCRIPTED-REQUEST' in result['msg'] and '\n' not in result['msg']
    assert result['error']['code'] == 'NoPermission'
    assert emulated.write_actions() == ['CreatePolicy']
    # the next run finishes the job without creating the policy again
    again = run(emulated, policies=[ECS, {'name': 'fresh', 'document': doc('x:*')}])
    assert again['changed'] is True and again['created_policies'] == [] and again['attached'] == [pol('fresh', 'Custom')]


def test_a_later_failure_keeps_the_earlier_writes_in_the_result(emulated, cloud):
    cloud.role(attached=[(ECS, 'System')])
    # the first attach (OSS, in name order) goes through, the second is refused
    emulated.before_next('AttachPolicyToRole', lambda: None)
    emulated.before_next('AttachPolicyToRole', lambda: emulated.script('AttachPolicyToRole', code='NoPermission', status=403))
    result = run(emulated, policies=[OSS, VPC], purge_policies=True)
    assert result['failed'] and result['changed'] is True and VPC in result['msg']
    assert result['detached'] == [pol(ECS, 'System')] and result['attached'] == [pol(OSS, 'System')]
    assert result['attached_policies'] == [pol(OSS, 'System')]


def test_lost_create_reply_counts_as_created_and_a_rerun_writes_nothing(emulated, cloud):
    cloud.role()
    emulated.script('CreatePolicy', lose_reply=True)
    items = [{'name': 'fresh', 'document': doc('x:*')}]
    result = run(emulated, policies=items)
    assert not result.get('failed') and result['changed'] is True
    assert result['created_policies'] == ['fresh'] and result['attached'] == [pol('fresh', 'Custom')]
    assert emulated.actions().count('CreatePolicy') == 2 and cloud.versions('fresh') == [('v1', True)]
    cloud.forget()
    assert run(emulated, policies=items)['changed'] is False and emulated.write_actions() == []


def test_lost_attach_reply_counts_as_attached(emulated, cloud):
    cloud.role()
    emulated.script('AttachPolicyToRole', lose_reply=True)
    result = run(emulated, policies=[OSS])
    assert result['changed'] is True and result['attached'] == [pol(OSS, 'System')]
    assert emulated.actions().count('AttachPolicyToRole') == 2


@pytest.mark.parametrize('fault', ['lose_reply', 'empty_answer'])
def test_the_last_allowed_attempt_that_took_effect_unseen_is_settled_by_a_read(emulated, cloud, fault):
    cloud.role(attached=[(ECS, 'System')]).custom('mine', doc('a:1'))
    emulated.script('AttachPolicyToRole', **{fault: True})
    emulated.script('DetachPolicyFromRole', **{fault: True})
    emulated.script('CreatePolicy', **{fault: True})
    result = run(emulated, retries=0, purge_policies=True, policies=['mine', {'name': 'fresh', 'document': doc('f:1')}])
    assert not result.get('failed') and result['changed'] is True
    assert result['created_policies'] == ['fresh'] and result['detached'] == [pol(ECS, 'System')]
    assert result['attached'] == [pol('fresh', 'Custom'), pol('mine', 'Custom')]
    assert cloud.attached() == [('Custom', 'fresh'), ('Custom', 'mine')]


def test_attach_done_by_someone_else_is_not_reported_as_ours(emulated, cloud):
    cloud.role()
    emulated.script('AttachPolicyToRole', code='EntityAlreadyExists.Role.Policy', status=409)
    result = run(emulated, policies=[OSS])
    assert not result.get('failed') and result['changed'] is False and result['attached'] == []
    assert result['attached_policies'] == [pol(OSS, 'System')]


def test_custom_policy_created_by_another_run_meanwhile_is_converged(emulated, cloud):
    cloud.role()
    emulated.before_next('CreatePolicy', lambda: ram_api.create_policy(emulated.client(), 'fresh', json.dumps(doc('other:1'))))
    result = run(emulated, policies=[{'name': 'fresh', 'document': doc('x:*')}])
    assert not result.get('failed') and result['changed'] is True
    assert result['created_policies'] == [] and result['updated_policies'] == ['fresh'] and result['attached'] == [pol('fresh', 'Custom')]
    assert cloud.default('fresh') == normalize_policy(doc('x:*')) and cloud.versions('fresh') == [('v1', False), ('v2', True)]


def test_new_custom_policy_not_visible_yet_is_retried_but_an_old_one_is_not(emulated, cloud):
    cloud.role().custom('old', doc('o:1'))
    emulated.script('AttachPolicyToRole', code='EntityNotExist.Policy', status=404)
    result = run(emulated, policies=[{'name': 'fresh', 'document': doc('x:*')}])
    assert not result.get('failed') and result['attached'] == [pol('fresh', 'Custom')]
    emulated.script('AttachPolicyToRole', code='EntityNotExist.Policy', status=404)
    result = run(emulated, policies=['old'])
    assert result['failed'] and 'EntityNotExist.Policy' in result['msg'] and result['changed'] is False


def test_write_error_is_one_line_with_code_and_request_id(emulated, cloud):
    cloud.role()
    emulated.script('AttachPolicyToRole', code='LimitExceeded.Role.Policy', status=409, message='too many')
    result = run(emulated, policies=[OSS])
    assert result['failed'] and result['error']['code'] == 'LimitExceeded.Role.Policy'
    assert result['msg'] == 'attach System policy %s to role app-role failed: LimitExceeded.Role.Policy: too many ' \
                            '(request id SCRIPTED-REQUEST)' % OSS


# -- absent ----------------------------------------------------------------------------------------

def test_absent_detaches_listed_and_ignores_missing_without_reads(emulated, cloud):
    cloud.role(attached=[(ECS, 'System'), (OSS, 'System')]).custom('mine', doc('a:1'), role=[ROLE])
    result = run(emulated, state='absent', policies=[ECS.lower(), 'mine', 'never-attached', {'name': OSS, 'type': 'Custom'}],
                 purge_policies=True)
    assert result['detached'] == [pol('mine', 'Custom'), pol(ECS, 'System')]
    assert result['attached_policies'] == [pol(OSS, 'System')]
    assert emulated.actions() == ['ListPoliciesForRole', 'DetachPolicyFromRole', 'DetachPolicyFromRole']
    assert run(emulated, state='absent', policies=[ECS])['changed'] is False


def test_absent_deletes_unused_custom_policies_only_when_asked(emulated, cloud, warnings):
    cloud.role(attached=[(OSS, 'System')]).role('other-role')
    cloud.custom('mine', doc('a:1'), doc('a:2'), role=[ROLE]).custom('shared', doc('s:1'), role=[ROLE, 'other-role'])
    items = [OSS, {'name': 'mine', 'document': doc('a:2')}, {'name': 'shared', 'document': doc('s:1')},
             {'name': 'never-created', 'document': doc('n:1')}]
    checked = run(emulated, check_mode=True, diff=True, state='absent', delete_unused_custom_policies=True, policies=items)
    assert emulated.write_actions() == []
    result = run(emulated, diff=True, state='absent', delete_unused_custom_policies=True, policies=items)
    assert same(checked, result)
    assert result['deleted_policies'] == ['mine'] and result['detached'] == [pol('mine', 'Custom'), pol('shared', 'Custom'),
                                                                             pol(OSS, 'System')]
    assert result['diff']['before']['custom_policies'] == ['mine'] and result['diff']['after']['custom_policies'] == []
    assert warnings == ["custom policy 'shared' is kept: it is still attached to role other-role"] * 2
    assert ram_api.get_policy(emulated.client(), 'mine') is None
    assert ram_api.get_policy(emulated.client(), 'shared') is not None
    cloud.forget()
    again = run(emulated, state='absent', delete_unused_custom_policies=True, policies=items)
    assert again['changed'] is False and emulated.write_actions() == []


def test_absent_without_the_option_deletes_nothing(emulated, cloud):
    cloud.role().custom('mine', doc('a:1'), role=[ROLE])
    result = run(emulated, state='absent', policies=[{'name': 'mine', 'document': doc('a:1')}])
    assert result['deleted_policies'] == [] and result['detached'] == [pol('mine', 'Custom')]
    assert 'ListEntitiesForPolicy' not in emulated.actions()


# -- check mode and diff ---------------------------------------------------------------------------

def _five_versions(cloud):
    cloud.role(attached=[(ECS, 'System')]).custom('mine', *[doc('a:%d' % i) for i in range(1, 6)], role=[ROLE])


def test_check_mode_predicts_exactly_and_writes_nothing(emulated, cloud):
    _five_versions(cloud)
    args = dict(purge_policies=True, policies=[OSS, {'name': 'mine', 'document': doc('a:new')}, {'name': 'fresh', 'document': doc('f:1')}])
    checked = run(emulated, check_mode=True, diff=True, **args)
    assert emulated.write_actions() == []
    real = run(emulated, diff=True, **args)
    assert same(checked, real)
    assert real['attached'] == [pol('fresh', 'Custom'), pol(OSS, 'System')] and real['detached'] == [pol(ECS, 'System')]
    assert real['created_policies'] == ['fresh'] and real['updated_policies'] == ['mine']
    assert cloud.versions('mine') == [('v2', False), ('v3', False), ('v4', False), ('v5', False), ('v6', True)]
    cloud.forget()
    assert run(emulated, **args)['changed'] is False and emulated.write_actions() == []


def test_diff_shows_attachments_and_normalised_documents(emulated, cloud):
    _five_versions(cloud)
    result = run(emulated, check_mode=True, diff=True, policies=[{'name': 'mine', 'document': doc('a:new')}, OSS])
    before, after = result['diff']['before'], result['diff']['after']
    assert before['attached_policies'] == ['Custom:mine', 'System:%s' % ECS]
    assert after['attached_policies'] == ['Custom:mine', 'System:%s' % ECS, 'System:%s' % OSS]
    assert before['policy_documents']['mine']['Statement'] == [{'Action': ['a:5'], 'Effect': 'Allow', 'Resource': ['*']}]
    assert after['policy_documents']['mine']['Statement'] == [{'Action': ['a:new'], 'Effect': 'Allow', 'Resource': ['*']}]
    unchanged = run(emulated, check_mode=True, diff=True, policies=[{'name': 'mine', 'document': doc('a:5')}])
    assert unchanged['diff']['before'] == unchanged['diff']['after'] and 'policy_documents' not in unchanged['diff']['before']


def test_module_spec_matches_the_documented_options():
    assert set(ram_role_policy.ARGUMENT_SPEC) == {'role_name', 'policies', 'state', 'purge_policies', 'delete_unused_custom_policies'}
    assert ram_role_policy.ARGUMENT_SPEC['purge_policies']['default'] is False
