# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""custom_policy on the in-process emulator: plans, the 5-version limit, lost replies and concurrent writers."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import custom_policy, ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.client import service_client_for
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.tests.unit.emulated import ENDPOINT


def doc(*actions):
    return {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': list(actions), 'Resource': '*'}]}


def client(emulated):
    creds = Credentials(emulated.config.access_key_id, emulated.config.access_key_secret, None, 'test')
    return service_client_for('ram', creds, OptionAdapter.from_dict({'ram_endpoint': ENDPOINT, 'retries': 2}))


@pytest.fixture
def sleeps(monkeypatch):
    """The backoff waits of a test (none is actually slept)."""
    seen = []
    monkeypatch.setattr(custom_policy.time, 'sleep', seen.append)
    return seen


@pytest.fixture
def ram(emulated, sleeps):
    return client(emulated)


@pytest.fixture
def other(emulated):
    """Another writer on the same account (its own client)."""
    return client(emulated)


def seed(emulated, ram, name, documents, default=None):
    """Custom policy ``name`` with one version per document (the last one default, or ``default``); the call log cleared."""
    ram_api.create_policy(ram, name, json.dumps(documents[0]))
    for document in documents[1:]:
        ram_api.create_policy_version(ram, name, json.dumps(document))
    if default:
        ram_api.set_default_policy_version(ram, name, default)
    forget(emulated)


def forget(emulated):
    with emulated.state.lock:
        del emulated.state.calls[:]


def versions(ram, name):
    return [(v['VersionId'], v['IsDefaultVersion']) for v in ram_api.list_policy_versions(ram, name)]


def default_document(ram, name):
    return json.loads(ram_api.get_policy(ram, name)['DefaultPolicyVersion']['PolicyDocument'])


def converge(ram, name, document, description=None):
    plan = custom_policy.plan_custom_policy(ram, name, document)
    kinds = []
    written = custom_policy.apply_custom_policy_plan(ram, name, plan, description, on_write=kinds.append)
    return plan, written, kinds


# -- plans -----------------------------------------------------------------------------------------

@pytest.mark.parametrize('stored,default,wanted,action,version_id,delete_version_id,reads', [
    (None, None, doc('a:1'), 'create', None, None, ['GetPolicy']),
    ([doc('a:1')], None, json.dumps({'Statement': [{'Resource': ['*'], 'Action': 'a:1', 'Effect': 'Allow'}]}, indent=2),
     'none', None, None, ['GetPolicy']),
    ([doc('a:1')], None, doc('a:2'), 'create_version', None, None, ['GetPolicy', 'ListPolicyVersions']),
    ([doc('a:1'), doc('a:2'), doc('a:3')], None, {'Statement': {'Effect': 'Allow', 'Action': 'a:2', 'Resource': '*'}},
     'set_default', 'v2', None, ['GetPolicy', 'ListPolicyVersions']),
    ([doc('a:%d' % i) for i in range(1, 6)], None, doc('a:new'), 'create_version', None, 'v1', ['GetPolicy', 'ListPolicyVersions']),
    # v1 is the default and the oldest: it stays; v2 is the oldest non-default
    ([doc('a:%d' % i) for i in range(1, 6)], 'v1', doc('a:new'), 'create_version', None, 'v2', ['GetPolicy', 'ListPolicyVersions']),
])
def test_plan_table(emulated, ram, stored, default, wanted, action, version_id, delete_version_id, reads):
    if stored:
        seed(emulated, ram, 'app', stored, default)
    plan = custom_policy.plan_custom_policy(ram, 'app', wanted)
    assert (plan['action'], plan['version_id'], plan['delete_version_id']) == (action, version_id, delete_version_id)
    assert plan['exists'] is bool(stored) and (plan['policy'] is not None) is bool(stored)
    assert plan['after'] == custom_policy.normalize_policy(wanted)
    assert plan['before'] == (custom_policy.normalize_policy(stored[-1] if not default else stored[0]) if stored else None)
    assert json.loads(plan['document'])['Version'] == '1'
    assert emulated.actions() == reads


def test_apply_follows_the_plan_and_reports_what_it_wrote(emulated, ram):
    plan, written, kinds = converge(ram, 'app', doc('oss:GetObject'), 'app data')
    assert written is True and kinds == ['created'] and plan['action'] == 'create'
    assert ram_api.get_policy(ram, 'app')['Policy']['Description'] == 'app data'
    for i in range(1, 7):
        plan, written, kinds = converge(ram, 'app', doc('a:%d' % i))
        assert written and kinds == (['updated', 'updated'] if plan['delete_version_id'] else ['updated'])
        assert len(versions(ram, 'app')) <= 5 and default_document(ram, 'app') == doc('a:%d' % i)
    assert [v for v, _default in versions(ram, 'app')] == ['v3', 'v4', 'v5', 'v6', 'v7']
    plan, written, kinds = converge(ram, 'app', doc('a:3'))
    assert plan['action'] == 'set_default' and written and kinds == ['updated'] and default_document(ram, 'app') == doc('a:3')
    forget(emulated)
    assert converge(ram, 'app', doc('a:3'))[1:] == (False, []) and emulated.write_actions() == []


# -- lost replies ----------------------------------------------------------------------------------

def test_lost_create_reply_is_confirmed_by_reading_back(emulated, ram):
    emulated.script('CreatePolicy', lose_reply=True)
    plan, written, kinds = converge(ram, 'app', doc('a:1'))
    assert written is True and kinds == ['created']
    assert emulated.actions() == ['GetPolicy', 'CreatePolicy', 'CreatePolicy', 'GetPolicy']
    assert versions(ram, 'app') == [('v1', True)]


def test_lost_version_reply_is_read_back_not_repeated(emulated, ram):
    seed(emulated, ram, 'app', [doc('a:%d' % i) for i in range(1, 5)])
    emulated.script('CreatePolicyVersion', lose_reply=True)
    plan = custom_policy.plan_custom_policy(ram, 'app', doc('a:new'))
    assert plan['delete_version_id'] is None
    # our version lands as the fifth; its answer is lost, and the next plan finds it the default
    kinds = []
    assert custom_policy.apply_custom_policy_plan(ram, 'app', plan, on_write=kinds.append) is True
    assert default_document(ram, 'app') == doc('a:new') and len(versions(ram, 'app')) == 5
    assert kinds == ['updated'] and emulated.actions().count('CreatePolicyVersion') == 1


# -- other writers ---------------------------------------------------------------------------------

def test_policy_created_by_another_writer_meanwhile_is_converged(emulated, ram, other):
    plan = custom_policy.plan_custom_policy(ram, 'app', doc('a:2'))
    ram_api.create_policy(other, 'app', json.dumps(doc('a:1')))
    kinds = []
    assert custom_policy.apply_custom_policy_plan(ram, 'app', plan, on_write=kinds.append) is True
    assert kinds == ['updated'] and default_document(ram, 'app') == doc('a:2')


def test_policy_created_with_the_same_document_meanwhile_is_nothing_done(emulated, ram, other):
    plan = custom_policy.plan_custom_policy(ram, 'app', doc('a:1'))
    ram_api.create_policy(other, 'app', json.dumps(doc('a:1')))
    assert custom_policy.apply_custom_policy_plan(ram, 'app', plan) is False
    assert versions(ram, 'app') == [('v1', True)]


def test_two_writers_at_the_limit_both_succeed_within_five_versions(emulated, ram, other, sleeps):
    seed(emulated, ram, 'app', [doc('a:%d' % i) for i in range(1, 6)])
    first = custom_policy.plan_custom_policy(ram, 'app', doc('x:1'))
    second = custom_policy.plan_custom_policy(other, 'app', doc('y:1'))
    assert first['delete_version_id'] == second['delete_version_id'] == 'v1'
    assert custom_policy.apply_custom_policy_plan(ram, 'app', first) is True
    kinds = []
    assert custom_policy.apply_custom_policy_plan(other, 'app', second, on_write=kinds.append) is True
    # the second writer's slot was taken: it read again, deleted the next oldest version and wrote
    codes = [(entry['action'], entry.get('code')) for entry in emulated.state.calls if entry.get('code')]
    assert codes == [('DeletePolicyVersion', 'EntityNotExist.Policy.Version'), ('CreatePolicyVersion', 'LimitExceeded.Policy.Version')]
    assert kinds == ['updated', 'updated'] and len(sleeps) == 1
    assert [v for v, _default in versions(ram, 'app')] == ['v3', 'v4', 'v5', 'v6', 'v7']
    assert default_document(ram, 'app') == doc('y:1')


def test_set_default_of_a_version_deleted_meanwhile_replans(emulated, ram, other):
    seed(emulated, ram, 'app', [doc('a:1'), doc('a:2'), doc('a:3')])
    plan = custom_policy.plan_custom_policy(ram, 'app', doc('a:2'))
    assert plan['action'] == 'set_default' and plan['version_id'] == 'v2'
    ram_api.delete_policy_version(other, 'app', 'v2')
    kinds = []
    assert custom_policy.apply_custom_policy_plan(ram, 'app', plan, on_write=kinds.append) is True
    assert kinds == ['updated'] and default_document(ram, 'app') == doc('a:2')
    assert [v for v, _default in versions(ram, 'app')] == ['v1', 'v3', 'v4']


def test_version_to_delete_made_default_meanwhile_replans(emulated, ram, other):
    seed(emulated, ram, 'app', [doc('a:%d' % i) for i in range(1, 6)])
    plan = custom_policy.plan_custom_policy(ram, 'app', doc('a:new'))
    ram_api.set_default_policy_version(other, 'app', plan['delete_version_id'])
    assert custom_policy.apply_custom_policy_plan(ram, 'app', plan) is True
    assert list(versions(ram, 'app')) == [('v1', False), ('v3', False), ('v4', False), ('v5', False), ('v6', True)]


def test_refusals_past_the_deadline_are_raised_with_the_operation(emulated, ram, sleeps):
    seed(emulated, ram, 'app', [doc('a:1')])
    for _attempt in range(3):
        emulated.script('CreatePolicyVersion', code='LimitExceeded.Policy.Version', status=409)
    plan = custom_policy.plan_custom_policy(ram, 'app', doc('a:2'))
    with pytest.raises(AlicloudApiError) as caught:
        custom_policy.apply_custom_policy_plan(ram, 'app', plan, timeout=0)
    assert caught.value.code == 'LimitExceeded.Policy.Version' and caught.value.operation == 'create a new version of custom policy app'
    assert sleeps == []
    # within the deadline the same refusals are waited out
    assert custom_policy.apply_custom_policy_plan(ram, 'app', plan) is True and len(sleeps) == 2


def test_other_errors_are_raised_at_once(emulated, ram, sleeps):
    seed(emulated, ram, 'app', [doc('a:1')])
    emulated.script('CreatePolicyVersion', code='MalformedPolicyDocument', status=400)
    plan = custom_policy.plan_custom_policy(ram, 'app', doc('a:2'))
    with pytest.raises(AlicloudApiError) as caught:
        custom_policy.apply_custom_policy_plan(ram, 'app', plan)
    assert caught.value.code == 'MalformedPolicyDocument' and sleeps == []


# -- reading and deleting --------------------------------------------------------------------------

def test_read_custom_policy(emulated, ram):
    assert custom_policy.read_custom_policy(ram, 'app') == (None, None)
    seed(emulated, ram, 'app', [doc('a:1'), doc('a:2')])
    policy, document = custom_policy.read_custom_policy(ram, 'app')
    assert policy['PolicyName'] == 'app' and policy['DefaultVersion'] == 'v2' and document == doc('a:2')


def test_delete_removes_versions_then_the_policy(emulated, ram):
    seed(emulated, ram, 'app', [doc('a:1'), doc('a:2')])
    assert custom_policy.delete_custom_policy(ram, 'app') is True
    assert emulated.write_actions() == ['DeletePolicyVersion', 'DeletePolicy']
    assert custom_policy.delete_custom_policy(ram, 'app') is False


def test_delete_catches_a_version_added_meanwhile(emulated, ram, other, monkeypatch):
    seed(emulated, ram, 'app', [doc('a:1')])
    original = custom_policy.delete_policy
    added = []

    def add_version_first(client_, name):
        if not added:
            added.append(ram_api.create_policy_version(other, name, json.dumps(doc('late:1')), set_as_default=False))
        return original(client_, name)
    monkeypatch.setattr(custom_policy, 'delete_policy', add_version_first)
    assert custom_policy.delete_custom_policy(ram, 'app') is True
    assert ram_api.get_policy(ram, 'app') is None
    assert emulated.write_actions() == ['CreatePolicyVersion', 'DeletePolicyVersion', 'DeletePolicy']
