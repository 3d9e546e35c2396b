# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The instance toolkit on the in-process emulator: input checks, selection, role reads at the fewest calls, and the
batch senders the writer settles (per-instance results decided by Success or Code, refused batches sent again)."""

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import instances, ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.resource import DONE, FAILED, UNKNOWN
from ansible_collections.alicloud.ram.tests.emulator.sdkhelpers import ECS_TRUST
from ansible_collections.alicloud.ram.tests.unit.emulated import REGION


@pytest.fixture
def app(emulated, ram):
    """Role ``app`` that ECS may assume; the call log cleared."""
    ram_api.create_role(ram, 'app', ECS_TRUST)
    emulated.forget()
    return 'app'


def states(batch):
    return dict((key, item.state) for key, item in batch.items.items())


# -- input ---------------------------------------------------------------------------------------

def test_instance_ids_and_tags_are_checked_before_any_call():
    assert instances.selection_errors({'instance_ids': ['i-1', 'i-2'], 'instance_tags': {'a': 'b'}, 'concurrency': 4}) == [None, None, None]
    for bad in ([''], [' i-1'], ['i 1'], [None], [{'id': 1}]):
        assert instances.instance_ids_error(bad), bad
    assert 'at most 20' in instances.instance_tags_error(dict(('k%d' % n, 'v') for n in range(21)))
    assert instances.instance_tags_error({' ': 'v'})
    assert 'concurrency' in instances.selection_errors({'concurrency': 0})[2]


@pytest.mark.parametrize('value, shown', [('true', 'null'), ([1], 'list'), ({'a': 1}, 'dict'), (None, 'null')])
def test_tag_values_that_are_not_text_numbers_or_booleans_are_refused_naming_the_key(value, shown):
    if value == 'true':
        assert instances.instance_tags_error({'managed': value}) is None
        return
    assert instances.instance_tags_error({'managed': value}) == (
        "instance_tags: the value of 'managed' must be a string, number or boolean, not %s (quote it, or use \"\" to match any "
        "value)" % shown)


def test_tag_values_are_sent_as_the_text_users_see():
    ids, tags = instances.selection_input({'instance_ids': ['i-2', 'i-1', 'i-2'], 'instance_tags': {'managed': True, 'tier': 3, 'app': 'web'}})
    assert ids == ['i-2', 'i-1'] and tags == {'managed': 'true', 'tier': '3', 'app': 'web'}
    assert instances.selection_input({}) == ([], {})


def test_selection_is_the_ids_then_the_tagged_instances_without_duplicates(ecs, emulated):
    web = emulated.add_instances(3, tags={'app': 'web'})
    selection = instances.select_instances(ecs, REGION, ['i-x', web[1]], {'app': 'web'})
    assert selection.ids == ['i-x', web[1], web[0], web[2]] and set(selection.described) == set(web)
    assert instances.select_instances(None, REGION, ['i-x']) == instances.Selection(['i-x'], {})


# -- reads ---------------------------------------------------------------------------------------

def test_role_reads_cost_one_call_per_50_ids(emulated, app):
    ids = emulated.add_instances(120)
    emulated.hold(app, ids[:5])
    reading = instances.read_roles(emulated.pool(), REGION, ids)
    assert emulated.action_counts() == {'DescribeInstanceRamRole': 3}
    assert reading.roles == dict((i, 'app' if i in ids[:5] else None) for i in ids)
    assert (reading.unknown, reading.classic) == ([], [])


def test_a_page_refused_for_an_unknown_id_is_described_and_read_again_without_it(emulated, app):
    ids = emulated.add_instances(100)
    reading = instances.read_roles(emulated.pool(), REGION, ids[:60] + ['i-nope'] + ids[60:])
    # the second page names i-nope: refused, its ids described in one call and read again without it
    assert emulated.action_counts() == {'DescribeInstanceRamRole': 4, 'DescribeInstances': 1}
    assert reading.unknown == ['i-nope'] and sorted(reading.roles) == sorted(ids) and reading.classic == []


def test_classic_instances_described_by_the_tag_pages_are_never_read_for_a_role(ecs, emulated):
    tagged = emulated.add_instances(2, tags={'t': '1'}) + emulated.add_instances(1, network='classic', tags={'t': '1'})
    selection = instances.select_instances(ecs, REGION, tags={'t': '1'})
    emulated.forget()
    reading = instances.read_roles(emulated.pool(), REGION, selection.ids, selection.described)
    assert reading.classic == tagged[2:] and sorted(reading.roles) == sorted(tagged[:2])
    assert [len(p['InstanceIds'].split(',')) for p in emulated.params_of('DescribeInstanceRamRole')] == [2]


def test_observe_roles_is_the_read_that_settles_writes(emulated, app):
    ids = emulated.add_instances(2)
    emulated.hold(app, ids[:1])
    assert instances.observe_roles(emulated.pool(), REGION, ids + ['i-gone']) == {ids[0]: 'app', ids[1]: None}


# -- senders -------------------------------------------------------------------------------------

def test_the_attach_sender_reports_each_instance(ecs, emulated, app):
    ids = emulated.add_instances(2)
    emulated.hold('', ids)
    assert states(instances.attach_sender(REGION, 'app')(ecs, ids)) == {ids[0]: DONE, ids[1]: DONE}
    other = emulated.add_instances(1)
    ram_api.create_role(emulated.client('ram'), 'old', ECS_TRUST)
    emulated.hold('old', other)
    batch = instances.attach_sender(REGION, 'app')(ecs, other)
    assert states(batch) == {other[0]: FAILED} and batch.items[other[0]].failure['code'] == 'Emulator.RamRoleAlreadyAttached'
    assert batch.uncertain is False


def test_results_with_only_a_code_are_decided_by_it(ecs, emulated, app, monkeypatch):
    emulated.per_instance_results_without(monkeypatch, 'Success')
    ids = emulated.add_instances(1)
    assert states(instances.attach_sender(REGION, 'app')(ecs, ids)) == {ids[0]: DONE}
    assert states(instances.detach_sender(REGION, 'app')(ecs, ids)) == {ids[0]: DONE}
    assert states(instances.detach_sender(REGION, 'app')(ecs, ids))[ids[0]] == FAILED


def test_results_that_say_neither_are_unknown(ecs, emulated, app, monkeypatch):
    emulated.per_instance_results_without(monkeypatch, 'Success', 'Code', 'Message')
    ids = emulated.add_instances(1)
    assert states(instances.attach_sender(REGION, 'app')(ecs, ids)) == {ids[0]: UNKNOWN}


def test_a_batch_refused_for_a_released_instance_is_sent_again_without_it(ecs, emulated, app):
    ids = emulated.add_instances(3)
    with emulated.state.lock:
        del emulated.state.data['instances'][ids[1]]
    emulated.script('AttachInstanceRamRole', code='InvalidInstanceId.NotFound', status=404, message='The specified InstanceId does not exist.')
    batch = instances.attach_sender(REGION, 'app')(ecs, ids)
    assert states(batch) == {ids[0]: DONE, ids[1]: FAILED, ids[2]: DONE}
    assert batch.items[ids[1]].failure == {'instance_id': ids[1], 'code': 'InvalidInstanceId.NotFound', 'request_id': None,
                                           'message': 'The instance does not exist in region cn-hangzhou.'}
    sent = [p.get('InstanceIds') for p in emulated.params_of('AttachInstanceRamRole')]
    assert len(sent) == 2 and ids[1] in sent[0] and ids[1] not in sent[1] and emulated.roles_of([ids[0], ids[2]]) == {ids[0]: 'app', ids[2]: 'app'}


def test_a_refused_batch_whose_ids_all_exist_keeps_the_refusal(ecs, emulated, app):
    ids = emulated.add_instances(2)
    emulated.script('AttachInstanceRamRole', code='InvalidInstanceId.NotFound', status=404)
    with pytest.raises(AlicloudApiError) as caught:
        instances.attach_sender(REGION, 'app')(ecs, ids)
    assert caught.value.code == 'InvalidInstanceId.NotFound' and emulated.actions().count('AttachInstanceRamRole') == 1


def test_a_role_ecs_does_not_see_yet_is_attached_once_it_does(ecs, emulated, app, clock):
    ids = emulated.add_instances(1)
    for _attempt in range(2):
        emulated.script('AttachInstanceRamRole', code='InvalidRamRole.NotFound', status=404)
    assert states(instances.attach_sender(REGION, 'app')(ecs, ids)) == {ids[0]: DONE}
    assert emulated.actions().count('AttachInstanceRamRole') == 3 and len(clock.sleeps) == 2


def test_the_role_visibility_window_is_bounded(ecs, emulated, app, clock):
    emulated.state.faults.update({'role_visibility_delay': 3600})
    ids = emulated.add_instances(1)
    started = clock.monotonic()
    with pytest.raises(AlicloudApiError) as caught:
        instances.attach_sender(REGION, 'app', visibility_timeout=60)(ecs, ids)
    assert caught.value.code == 'InvalidRamRole.NotFound'
    assert clock.monotonic() - started == pytest.approx(60)


def test_same_role_is_case_insensitive_and_none_matches_only_none():
    assert instances.same_role('App', 'app') and instances.same_role(None, '') and not instances.same_role(None, 'app')
