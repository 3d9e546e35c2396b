# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ecs_instance_metadata_options through the in-process emulator: whole-state writes, check and diff mode, no-change runs, failures, tags."""

import pytest

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


def test_every_write_carries_the_whole_state(emulated, ids):
    emulated.run(module, {'instance_ids': ids[:1], 'http_tokens': 'required'})
    emulated.run(module, {'instance_ids': ids[:1], 'http_endpoint': 'disabled'})
    emulated.run(module, {'instance_ids': ids[:1], 'instance_metadata_tags': 'enabled'})
    sent = [dict((k, p.get(k)) for k in ('HttpEndpoint', 'HttpTokens', 'InstanceMetadataTags')) for p in emulated.params_of(MODIFY)]
    # the tokens stay required when only the endpoint changes; metadata tags go only when the task sets them
    assert sent == [{'HttpEndpoint': 'enabled', 'HttpTokens': 'required', 'InstanceMetadataTags': None},
                    {'HttpEndpoint': 'disabled', 'HttpTokens': 'required', 'InstanceMetadataTags': None},
                    {'HttpEndpoint': 'disabled', 'HttpTokens': 'required', 'InstanceMetadataTags': 'enabled'}]


def test_second_run_makes_no_write_call_and_reads_the_hardened_state(emulated, ids):
    emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required'})
    emulated.forget()

    result = emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required', 'return_all': True})

    assert result['changed'] is False
    assert result['changed_instance_ids'] == []
    assert result['instances'] == dict((i, HARDENED) for i in ids)
    assert result['summary'] == {'selected': 3, 'changed': 0, 'failed': 0, 'unchanged': 3}
    assert result['msg'] == 'enforced http_tokens=required on 0 of 3 instance(s); 3 had it already'
    assert emulated.actions() == ['DescribeInstances']
    # without return_all the result lists only the instances a change was meant for
    assert emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required'})['instances'] == {}


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
    assert result['diff'] == {'before': dict((i, NORMAL) for i in ids[1:]), 'after': dict((i, HARDENED) for i in ids[1:]),
                              'before_header': 'metadata options of 3 instance(s)',
                              'after_header': 'enforced http_tokens=required on 2 of 3 instance(s); 1 had it already'}


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


@pytest.mark.parametrize('fault', ['lose_reply', 'empty_answer'])
def test_the_last_allowed_attempt_that_took_effect_unseen_counts_as_done(emulated, ids, fault):
    emulated.script(MODIFY, **{fault: True})

    result = emulated.run(module, {'instance_ids': ids[:1], 'http_tokens': 'required', 'retries': 0})

    assert not result.get('failed'), result
    assert result['changed'] is True and result['changed_instance_ids'] == ids[:1]
    assert emulated.actions().count(MODIFY) == 1


@pytest.mark.parametrize('check_mode', [False, True])
def test_instances_in_transition_fail_on_their_own_without_a_write(emulated, ids, check_mode):
    with emulated.state.lock:
        emulated.state.data['instances'][ids[1]]['Status'] = 'Stopping'

    result = emulated.run(module, {'instance_ids': ids, 'http_tokens': 'required'}, check_mode=check_mode)

    assert result['failed'] is True and result['changed'] is True
    assert result['changed_instance_ids'] == [ids[0], ids[2]]
    assert [(f['instance_id'], f['code']) for f in result['failed_instances']] == [(ids[1], 'IncorrectInstanceStatus')]
    assert 'Stopping' in result['msg']
    assert _writes(emulated) == ([] if check_mode else [MODIFY] * 2)


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
