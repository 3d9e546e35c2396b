# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ecs_instance_metadata_options through the in-process emulator: plan, check and diff mode, no-change runs, failures, tags."""

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import metadata_options
from ansible_collections.alicloud.ram.plugins.modules import ecs_instance_metadata_options as module

MODIFY = 'ModifyInstanceMetadataOptions'
HARDENED = {'http_tokens': 'required', 'http_endpoint': 'enabled', 'instance_metadata_tags': 'disabled'}
NORMAL = {'http_tokens': 'optional', 'http_endpoint': 'enabled', 'instance_metadata_tags': 'disabled'}


@pytest.fixture
def ids(emulated):
    found = emulated.instance_ids()
    assert len(found) >= 3
    return found[:3]


def _writes(emulated):
    return [a for a in emulated.actions() if a == MODIFY]


# -- plan (pure) ---------------------------------------------------------------------------------

@pytest.mark.parametrize('settings, wanted, expected', [
    (NORMAL, {'http_tokens': 'required'}, {'http_tokens': 'required'}),
    (HARDENED, {'http_tokens': 'required'}, None),
    (HARDENED, {'http_endpoint': 'disabled', 'http_tokens': 'required'}, {'http_endpoint': 'disabled'}),
    (NORMAL, {'instance_metadata_tags': 'enabled', 'http_tokens': 'required'}, {'instance_metadata_tags': 'enabled', 'http_tokens': 'required'}),
])
def test_plan_lists_only_the_given_settings_that_differ(settings, wanted, expected):
    changes = metadata_options.plan_changes(['i-1'], {'i-1': dict(settings)}, wanted)
    assert changes.get('i-1') == expected


def test_settings_an_answer_leaves_out_take_the_ecs_default():
    assert metadata_options.current_settings({'MetadataOptions': {'HttpTokens': 'required'}}) == HARDENED
    assert metadata_options.current_settings({}) == NORMAL


# -- runs ----------------------------------------------------------------------------------------

def test_hardening_writes_once_per_instance_and_reports_the_settings(emulated, ids):
    result = emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required'})

    assert not result.get('failed'), result
    assert result['changed'] is True
    assert result['changed_instance_ids'] == ids
    assert result['failed_instances'] == []
    assert result['instances'] == dict((i, HARDENED) for i in ids)
    assert _writes(emulated) == [MODIFY] * 3
    assert emulated.actions().count('DescribeInstances') == 1
    assert 1 <= result['concurrency'] <= 4, 'at most the default of 4 calls in flight'


def test_second_run_makes_no_write_call_and_reads_the_hardened_state(emulated, ids):
    emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required'})
    before = len(emulated.actions())

    result = emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required'})

    assert result['changed'] is False
    assert result['changed_instance_ids'] == []
    assert result['instances'] == dict((i, HARDENED) for i in ids)
    assert emulated.actions()[before:] == ['DescribeInstances']


def test_check_mode_predicts_the_real_run_without_writing(emulated, ids):
    predicted = emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required'}, check_mode=True, diff=True)
    assert _writes(emulated) == []

    real = emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required'}, diff=True)

    for key in ('changed', 'changed_instance_ids', 'instances', 'failed_instances', 'diff'):
        assert predicted[key] == real[key], key
    assert _writes(emulated) == [MODIFY] * 3


def test_diff_shows_only_the_instances_that_change(emulated, ids):
    emulated.run(module, {'instance_ids': ids[:1], 'http_tokens': 'required'})

    result = emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required'}, diff=True)

    assert result['changed_instance_ids'] == ids[1:]
    assert result['diff'] == {'before': dict((i, NORMAL) for i in ids[1:]), 'after': dict((i, HARDENED) for i in ids[1:])}


def test_only_the_given_settings_are_enforced(emulated, ids):
    emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required'})

    result = emulated.run(module, {'instance_ids': ids, 'instance_metadata_tags': 'enabled'})

    assert result['changed_instance_ids'] == ids
    assert result['instances'][ids[0]] == dict(HARDENED, instance_metadata_tags='enabled')
    again = emulated.run(module, {'instance_ids': ids, 'http_tokens': 'optional', 'instance_metadata_tags': 'enabled'})
    assert again['instances'][ids[0]] == dict(NORMAL, instance_metadata_tags='enabled')


def test_a_failing_instance_fails_the_task_and_the_others_are_still_changed(emulated, ids):
    emulated.script(MODIFY, code='IncorrectInstanceStatus', status=403, message='The instance is stopping.')

    result = emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required', 'concurrency': 1})

    assert result['failed'] is True
    assert result['changed'] is True
    assert [f['instance_id'] for f in result['failed_instances']] == ids[:1]
    assert result['failed_instances'][0]['code'] == 'IncorrectInstanceStatus'
    assert result['failed_instances'][0]['message'] == 'The instance is stopping.'
    assert result['changed_instance_ids'] == ids[1:]
    assert result['instances'][ids[0]] == NORMAL and result['instances'][ids[1]] == HARDENED
    assert result['error']['code'] == 'IncorrectInstanceStatus'
    assert result['concurrency'] == 1
    assert 'IncorrectInstanceStatus' in result['msg'] and ids[0] in result['msg']
    assert '\n' not in result['msg']


def test_a_lost_reply_on_a_modify_is_retried_and_counts_as_done(emulated, ids):
    emulated.script(MODIFY, lose_reply=True)

    result = emulated.run(module, {'instance_ids': ids[:1], 'http_tokens': 'required'})

    assert not result.get('failed'), result
    assert result['changed_instance_ids'] == ids[:1]
    assert emulated.actions().count(MODIFY) == 2
    assert emulated.run(module, {'instance_ids': ids[:1], 'http_tokens': 'required'})['changed'] is False


def test_unknown_instances_fail_before_any_write(emulated, ids):
    unknown = 'i-doesnotexist000000'

    result = emulated.run(module, {'instance_ids': ids + [unknown], 'http_tokens': 'required'})

    assert result['failed'] is True
    assert result['changed'] is False
    assert result['failed_instances'] == [{'instance_id': unknown, 'code': 'InvalidInstanceId.NotFound',
                                           'message': 'The instance does not exist in region cn-hangzhou.', 'request_id': None}]
    assert unknown in result['msg']
    assert _writes(emulated) == []


def test_an_empty_selection_is_a_no_op(emulated):
    result = emulated.run(module, {'instance_ids': [], 'http_tokens': 'required'})

    assert not result.get('failed'), result
    assert result['changed'] is False and result['instances'] == {}
    assert emulated.actions() == []


@pytest.mark.parametrize('args, message', [
    ({'instance_ids': ['i-1']}, 'at least one setting'),
    ({'http_tokens': 'required'}, 'instance_ids, instance_tags'),
    ({'instance_ids': ['i-1'], 'http_tokens': 'required', 'concurrency': 0}, 'concurrency'),
    ({'instance_ids': ['i-1 '], 'http_tokens': 'required'}, 'whitespace'),
    ({'instance_tags': dict(('k%d' % n, 'v') for n in range(21)), 'http_tokens': 'required'}, 'at most 20'),
])
def test_bad_input_fails_before_any_call(emulated, args, message):
    result = emulated.run(module, args)

    assert result['failed'] is True
    assert message in result['msg']
    assert result['changed'] is False
    assert emulated.actions() == []


# -- selection by tags ---------------------------------------------------------------------------

def _tag(emulated, instance_ids, tags):
    state = emulated.state
    with state.lock:
        for iid in instance_ids:
            state.tag_instance(state.data['instances'][iid], tags)


def test_tag_selection_changes_only_the_tagged_instances_with_one_read(emulated, ids):
    _tag(emulated, ids[:2], {'app': 'web'})
    _tag(emulated, ids[2:], {'app': 'db'})

    result = emulated.run(module, {'instance_tags': {'app': 'web'}, 'http_tokens': 'required'})

    assert result['changed_instance_ids'] == ids[:2]
    assert sorted(result['instances']) == sorted(ids[:2])
    assert emulated.actions().count('DescribeInstances') == 1
    assert _writes(emulated) == [MODIFY] * 2


def test_ids_and_tags_together_select_the_union(emulated, ids):
    _tag(emulated, ids[1:2], {'app': 'web'})

    result = emulated.run(module, {'instance_ids': ids[:1], 'instance_tags': {'app': 'web'}, 'http_tokens': 'required'})

    assert result['changed_instance_ids'] == ids[:2]


def test_tags_matching_nothing_change_nothing(emulated):
    result = emulated.run(module, {'instance_tags': {'app': 'nothing-has-this'}, 'http_tokens': 'required'})

    assert not result.get('failed'), result
    assert result['changed'] is False and result['instances'] == {}
    assert _writes(emulated) == []
