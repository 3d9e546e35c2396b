# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""custom_policy: the plan as a pure function of the facts read, and the converge through the writer on the in-process
emulator (the 5-version limit, lost replies, other writers changing the policy meanwhile)."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import custom_policy, ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.policy import normalize_policy
from ansible_collections.alicloud.ram.plugins.module_utils.resource import Change, ChangeRecorder, Plan


def doc(*actions):
    return {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': list(actions), 'Resource': '*'}]}


# -- plan_custom_policy (pure) -----------------------------------------------------------------

def facts(*documents, **options):
    """The facts of a custom policy with one version per document, ``v1`` the oldest; the last one is the default
    unless ``default`` names another. ``get_policy_document=False``: GetPolicy answered without the default document."""
    if not documents:
        return {'policy': None, 'document': None, 'versions': None}
    default = options.get('default', 'v%d' % len(documents))
    versions = [{'VersionId': 'v%d' % n, 'IsDefaultVersion': 'v%d' % n == default, 'PolicyDocument': json.dumps(d),
                 'CreateDate': '2024-01-0%dT00:00:00Z' % n} for n, d in enumerate(documents, 1)]
    stored = [v for v in versions if v['IsDefaultVersion']][0]['PolicyDocument']
    return {'policy': {'PolicyName': 'app', 'DefaultVersion': default},
            'document': json.loads(stored) if options.get('get_policy_document', True) else None, 'versions': versions}


FIVE = [doc('a:%d' % n) for n in range(1, 6)]


@pytest.mark.parametrize('found, wanted, action, version_id, delete_version_id, before', [
    (facts(), doc('a:1'), 'create', None, None, None),
    # the same document, written otherwise
    (facts(doc('a:1')), json.dumps({'Statement': [{'Resource': ['*'], 'Action': 'a:1', 'Effect': 'Allow'}]}, indent=2),
     'none', None, None, doc('a:1')),
    (facts(doc('a:1')), doc('a:2'), 'create_version', None, None, doc('a:1')),
    (facts(doc('a:1'), doc('a:2'), doc('a:3')), {'Statement': {'Effect': 'Allow', 'Action': 'a:2', 'Resource': '*'}},
     'set_default', 'v2', None, doc('a:3')),
    (facts(*FIVE), doc('a:new'), 'create_version', None, 'v1', doc('a:5')),
    # v1 is the default and the oldest: it stays; v2 is the oldest non-default
    (facts(*FIVE, default='v1'), doc('a:new'), 'create_version', None, 'v2', doc('a:1')),
    # GetPolicy without the default document: the version list has it
    (facts(doc('a:1'), doc('a:2'), get_policy_document=False), doc('a:2'), 'none', None, None, doc('a:2')),
    (facts(doc('a:1'), doc('a:2'), get_policy_document=False), doc('a:1'), 'set_default', 'v1', None, doc('a:2')),
])
def test_plan_table(found, wanted, action, version_id, delete_version_id, before):
    plan = custom_policy.plan_custom_policy(found, wanted)
    assert (plan['action'], plan['version_id'], plan['delete_version_id']) == (action, version_id, delete_version_id)
    assert plan['exists'] is (found['policy'] is not None) and plan['policy'] is found['policy']
    assert plan['after'] == normalize_policy(wanted)
    assert plan['before'] == (normalize_policy(before) if before else None)
    assert json.loads(plan['document'])['Version'] == '1'


# -- converge through the writer, on the emulator ------------------------------------------------

LISTS = ('created', 'updated')


def change_for(kind, effect=True):
    return Change({('document',): 'wanted'} if effect else {}, kind, 'app')


def converge(ram, wanted, predict=False, timeout=custom_policy.CONTENTION_TIMEOUT, description=None, plan=None):
    """Read, plan and converge ``app`` to ``wanted`` through a writer; return (plan, what was recorded)."""
    plan = plan or custom_policy.plan_custom_policy(custom_policy.read_custom_policy(ram, 'app', wanted), wanted)
    recorder = ChangeRecorder(LISTS)
    recorder.start(Plan({}))
    custom_policy.converge_custom_policy(recorder.writer(predict), ram, 'app', plan, change_for, description, timeout=timeout)
    return plan, recorder.as_result()


def seed(emulated, ram, documents, default=None):
    """Custom policy ``app`` with one version per document (the last one default, or ``default``); the call log cleared."""
    ram_api.create_policy(ram, 'app', json.dumps(documents[0]))
    for document in documents[1:]:
        ram_api.create_policy_version(ram, 'app', json.dumps(document))
    if default:
        ram_api.set_default_policy_version(ram, 'app', default)
    emulated.forget()


def versions(ram):
    return [(v['VersionId'], v['IsDefaultVersion']) for v in ram_api.list_policy_versions(ram, 'app')]


def default_document(ram):
    """The default version's document, normalised (a replanned write sends the normalised form)."""
    return normalize_policy(json.loads(ram_api.get_policy(ram, 'app')['DefaultPolicyVersion']['PolicyDocument']))


NOTHING = {'changed': False, 'created': [], 'updated': []}
CREATED = {'changed': True, 'created': ['app'], 'updated': []}
UPDATED = {'changed': True, 'created': [], 'updated': ['app']}


def test_read_custom_policy_reads_the_versions_only_when_the_default_differs(emulated, ram):
    assert custom_policy.read_custom_policy(ram, 'app', doc('a:1')) == {'policy': None, 'document': None, 'versions': None}
    seed(emulated, ram, [doc('a:1'), doc('a:2')])
    same = custom_policy.read_custom_policy(ram, 'app', doc('a:2'))
    assert same['policy']['DefaultVersion'] == 'v2' and same['document'] == doc('a:2') and same['versions'] is None
    other = custom_policy.read_custom_policy(ram, 'app', doc('a:3'))
    assert [v['VersionId'] for v in other['versions']] == ['v1', 'v2']
    assert emulated.actions() == ['GetPolicy', 'GetPolicy', 'ListPolicyVersions']


def test_converge_follows_the_plan_within_five_versions(emulated, ram):
    plan, recorded = converge(ram, doc('oss:GetObject'), description='app data')
    assert plan['action'] == 'create' and recorded == CREATED
    assert ram_api.get_policy(ram, 'app')['Policy']['Description'] == 'app data'
    for n in range(1, 7):
        plan, recorded = converge(ram, doc('a:%d' % n))
        assert recorded == UPDATED and len(versions(ram)) <= 5 and default_document(ram) == normalize_policy(doc('a:%d' % n))
    assert [v for v, _default in versions(ram)] == ['v3', 'v4', 'v5', 'v6', 'v7']
    plan, recorded = converge(ram, doc('a:3'))
    assert plan['action'] == 'set_default' and recorded == UPDATED and default_document(ram) == normalize_policy(doc('a:3'))
    emulated.forget()
    assert converge(ram, doc('a:3'))[1] == NOTHING and emulated.write_actions() == []


def test_check_mode_predicts_every_write_of_the_plan_without_one(emulated, ram):
    seed(emulated, ram, FIVE)
    plan, recorded = converge(ram, doc('a:new'), predict=True)
    assert plan['delete_version_id'] == 'v1' and recorded == UPDATED and emulated.write_actions() == []


def test_a_lost_create_reply_is_retried_and_counts_as_created(emulated, ram):
    emulated.script('CreatePolicy', lose_reply=True)
    assert converge(ram, doc('a:1'))[1] == CREATED
    assert emulated.actions() == ['GetPolicy', 'CreatePolicy', 'CreatePolicy'] and versions(ram) == [('v1', True)]


def test_a_lost_version_reply_is_settled_by_a_read_never_sent_twice(emulated, ram):
    seed(emulated, ram, FIVE[:4])
    emulated.script('CreatePolicyVersion', lose_reply=True)
    assert converge(ram, doc('a:new'))[1] == UPDATED
    assert emulated.actions().count('CreatePolicyVersion') == 1 and len(versions(ram)) == 5 and default_document(ram) == normalize_policy(doc('a:new'))


def test_an_empty_answer_to_a_new_version_is_settled_the_same_way(emulated, ram):
    seed(emulated, ram, [doc('a:1')])
    emulated.script('CreatePolicyVersion', empty_answer=True)
    assert converge(ram, doc('a:2'))[1] == UPDATED and emulated.actions().count('CreatePolicyVersion') == 1


def test_a_lost_version_reply_the_read_does_not_confirm_fails(emulated, ram, monkeypatch):
    seed(emulated, ram, [doc('a:1')])
    emulated.script('CreatePolicyVersion', lose_reply=True)
    # another writer puts its own document back before our read
    original = custom_policy.read_custom_policy

    def read_after_a_rollback(ram_, name, wanted=None):
        if wanted is None:
            ram_api.set_default_policy_version(ram_, name, 'v1')
        return original(ram_, name, wanted)

    monkeypatch.setattr(custom_policy, 'read_custom_policy', read_after_a_rollback)
    with pytest.raises(AlicloudApiError) as caught:
        converge(ram, doc('a:2'))
    assert caught.value.code == 'ConnectionError' and caught.value.uncertain


# -- other writers -------------------------------------------------------------------------------

def test_a_policy_created_by_another_writer_meanwhile_is_converged(emulated, ram):
    plan = custom_policy.plan_custom_policy(custom_policy.read_custom_policy(ram, 'app', doc('a:2')), doc('a:2'))
    ram_api.create_policy(emulated.client('ram'), 'app', json.dumps(doc('a:1')))
    # its creation is not ours: only the version this run added is
    assert converge(ram, doc('a:2'), plan=plan)[1] == UPDATED and default_document(ram) == normalize_policy(doc('a:2'))


def test_a_policy_created_with_the_same_document_meanwhile_is_nothing_done(emulated, ram):
    plan = custom_policy.plan_custom_policy(custom_policy.read_custom_policy(ram, 'app', doc('a:1')), doc('a:1'))
    ram_api.create_policy(emulated.client('ram'), 'app', json.dumps(doc('a:1')))
    assert converge(ram, doc('a:1'), plan=plan)[1] == NOTHING and versions(ram) == [('v1', True)]


def test_two_writers_at_the_limit_both_succeed_within_five_versions(emulated, ram, clock):
    other = emulated.client('ram')
    seed(emulated, ram, FIVE)
    first = custom_policy.plan_custom_policy(custom_policy.read_custom_policy(ram, 'app', doc('x:1')), doc('x:1'))
    second = custom_policy.plan_custom_policy(custom_policy.read_custom_policy(other, 'app', doc('y:1')), doc('y:1'))
    assert first['delete_version_id'] == second['delete_version_id'] == 'v1'
    assert converge(ram, doc('x:1'), plan=first)[1] == UPDATED
    waits = len(clock.sleeps)
    assert converge(other, doc('y:1'), plan=second)[1] == UPDATED
    # the second writer's slot was taken: it read again, deleted the next oldest version and wrote
    codes = [(entry['action'], entry.get('code')) for entry in emulated.state.calls if entry.get('code')]
    assert codes == [('DeletePolicyVersion', 'EntityNotExist.Policy.Version'), ('CreatePolicyVersion', 'LimitExceeded.Policy.Version')]
    assert len(clock.sleeps) == waits + 1
    assert [v for v, _default in versions(ram)] == ['v3', 'v4', 'v5', 'v6', 'v7'] and default_document(ram) == normalize_policy(doc('y:1'))


def test_set_default_of_a_version_deleted_meanwhile_replans(emulated, ram):
    seed(emulated, ram, [doc('a:1'), doc('a:2'), doc('a:3')])
    plan = custom_policy.plan_custom_policy(custom_policy.read_custom_policy(ram, 'app', doc('a:2')), doc('a:2'))
    assert (plan['action'], plan['version_id']) == ('set_default', 'v2')
    ram_api.delete_policy_version(emulated.client('ram'), 'app', 'v2')
    assert converge(ram, doc('a:2'), plan=plan)[1] == UPDATED and default_document(ram) == normalize_policy(doc('a:2'))
    assert [v for v, _default in versions(ram)] == ['v1', 'v3', 'v4']


def test_a_version_to_delete_made_default_meanwhile_replans(emulated, ram):
    seed(emulated, ram, FIVE)
    plan = custom_policy.plan_custom_policy(custom_policy.read_custom_policy(ram, 'app', doc('a:new')), doc('a:new'))
    ram_api.set_default_policy_version(emulated.client('ram'), 'app', plan['delete_version_id'])
    assert converge(ram, doc('a:new'), plan=plan)[1] == UPDATED
    assert versions(ram) == [('v1', False), ('v3', False), ('v4', False), ('v5', False), ('v6', True)]


def test_refusals_past_the_deadline_are_raised_with_the_operation(emulated, ram, clock):
    seed(emulated, ram, [doc('a:1')])
    for _attempt in range(3):
        emulated.script('CreatePolicyVersion', code='LimitExceeded.Policy.Version', status=409)
    with pytest.raises(AlicloudApiError) as caught:
        converge(ram, doc('a:2'), timeout=0)
    assert caught.value.code == 'LimitExceeded.Policy.Version' and caught.value.operation == 'create a new version of custom policy app'
    assert clock.sleeps == []
    # within the deadline the same refusals are waited out
    assert converge(ram, doc('a:2'))[1] == UPDATED and len(clock.sleeps) == 2


def test_other_errors_are_raised_at_once(emulated, ram, clock):
    seed(emulated, ram, [doc('a:1')])
    emulated.script('CreatePolicyVersion', code='MalformedPolicyDocument', status=400)
    with pytest.raises(AlicloudApiError) as caught:
        converge(ram, doc('a:2'))
    assert caught.value.code == 'MalformedPolicyDocument' and clock.sleeps == []


# -- deleting --------------------------------------------------------------------------------------

def test_delete_removes_the_versions_then_the_policy(emulated, ram):
    seed(emulated, ram, [doc('a:1'), doc('a:2')])
    assert custom_policy.delete_custom_policy(ram, 'app') is True
    assert emulated.write_actions() == ['DeletePolicyVersion', 'DeletePolicy']
    assert custom_policy.delete_custom_policy(ram, 'app') is False


def test_delete_catches_a_version_added_meanwhile(emulated, ram, monkeypatch):
    seed(emulated, ram, [doc('a:1')])
    original = ram_api.delete_policy
    added = []

    def add_a_version_first(client, name):
        if not added:
            added.append(ram_api.create_policy_version(emulated.client('ram'), name, json.dumps(doc('late:1')), set_as_default=False))
        return original(client, name)

    monkeypatch.setattr(ram_api, 'delete_policy', add_a_version_first)
    assert custom_policy.delete_custom_policy(ram, 'app') is True
    assert ram_api.get_policy(ram, 'app') is None
    assert emulated.write_actions() == ['CreatePolicyVersion', 'DeletePolicyVersion', 'DeletePolicy']
