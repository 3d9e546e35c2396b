# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ecs_instance_role_attachment and ecs_instance_role_info on the in-process emulator (the ``emulated`` fixture)."""

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import instance_attachment, ram_api
from ansible_collections.alicloud.ram.plugins.modules import ecs_instance_role_attachment as attachment_module
from ansible_collections.alicloud.ram.plugins.modules import ecs_instance_role_info as info_module
from ansible_collections.alicloud.ram.tests.emulator.sdkhelpers import ECS_TRUST, RAM_ONLY_TRUST

RESULT_KEYS = ('changed', 'attachments', 'changed_instance_ids', 'failed_instances', 'summary', 'msg')
WRITES = ('AttachInstanceRamRole', 'DetachInstanceRamRole')


@pytest.fixture
def cloud(emulated, ram):
    """The emulator with roles ``app`` and ``old`` (ECS may assume both) and ``ramonly`` (it may not)."""
    for name, trust in (('app', ECS_TRUST), ('old', ECS_TRUST), ('ramonly', RAM_ONLY_TRUST)):
        ram_api.create_role(ram, name, trust)
    return emulated.forget()


def attach(cloud, check_mode=False, diff=False, **args):
    cloud.forget()
    return cloud.run(attachment_module, args, check_mode=check_mode, diff=diff)


def writes(cloud):
    return [a for a in cloud.write_actions() if a in WRITES]


def failed_codes(result):
    return [(f['instance_id'], f['code']) for f in result['failed_instances']]


# -- input ---------------------------------------------------------------------------------------

def test_invalid_input_fails_with_every_problem_and_makes_no_call(cloud):
    result = attach(cloud, instance_ids=['i-1', 'i 2'], role_name='bad/name', concurrency=0, policy='{"x"', wait_timeout=0,
                    instance_tags={'': 'x'})
    assert result['failed'] and result['msg'].startswith('invalid input: ')
    for word in ('whitespace', 'role', 'concurrency', 'policy', 'instance_tags', 'wait_timeout'):
        assert word in result['msg'], word
    assert cloud.actions() == []


@pytest.mark.parametrize('value', [[1], {'a': 1}, None])
def test_tag_values_of_the_wrong_type_are_refused_before_any_call(cloud, value):
    result = attach(cloud, role_name='app', instance_tags={'managed': value})
    assert result['failed'] and "the value of 'managed' must be a string, number or boolean" in result['msg'] and cloud.actions() == []


def test_tag_values_are_matched_as_the_text_users_see(cloud):
    managed = cloud.add_instances(2, tags={'managed': 'true', 'tier': '3'})
    cloud.add_instances(1, tags={'managed': 'false', 'tier': '3'})
    result = attach(cloud, role_name='app', instance_tags={'managed': True, 'tier': 3})
    assert result['changed_instance_ids'] == managed


def test_an_empty_selection_changes_nothing_without_a_call(cloud):
    cloud.add_instances(2, tags={'app': 'api'})
    for args in ({'instance_ids': []}, {'instance_tags': {'app': 'web'}}, {'instance_tags': {'app': 'web'}, 'instance_ids': []}):
        result = attach(cloud, role_name='app', **args)
        assert not result.get('failed') and result['changed'] is False, args
        assert result['attachments'] == {} and result['changed_instance_ids'] == [] and writes(cloud) == []
        assert result['summary'] == {'selected': 0, 'changed': 0, 'failed': 0, 'unchanged': 0}
    attach(cloud, role_name='app', instance_ids=[])
    assert cloud.actions() == []


# -- attach --------------------------------------------------------------------------------------

def test_attach_then_a_second_run_reads_the_role_pages_only(cloud):
    ids = cloud.add_instances(3)
    cloud.hold('app', ids[2:])
    result = attach(cloud, role_name='APP', instance_ids=ids + ids[:1])
    assert not result.get('failed') and result['changed'] is True and result['changed_instance_ids'] == ids[:2]
    # a lean result: the instances the task changed, as RAM spells the role
    assert result['attachments'] == {ids[0]: 'app', ids[1]: 'app'} and result['failed_instances'] == []
    assert result['summary'] == {'selected': 3, 'changed': 2, 'failed': 0, 'unchanged': 1}
    assert result['msg'] == 'attached APP to 2 of 3 instance(s); 1 held it already'
    assert cloud.action_counts() == {'DescribeInstanceRamRole': 1, 'GetRole': 1, 'AttachInstanceRamRole': 1}
    assert result['concurrency'] == 1
    again = attach(cloud, role_name='app', instance_ids=ids, return_all=True)
    assert again['changed'] is False and again['changed_instance_ids'] == [] and cloud.action_counts() == {'DescribeInstanceRamRole': 1}
    assert again['attachments'] == dict((i, 'app') for i in ids) and again['msg'] == 'attached app to 0 of 3 instance(s); 3 held it already'


def test_check_mode_predicts_the_real_run_and_diff_shows_only_changes(cloud):
    ids = cloud.add_instances(3)
    cloud.hold('old', ids[1:2])
    cloud.hold('app', ids[2:])
    args = dict(role_name='app', instance_ids=ids, force=True)
    check = attach(cloud, check_mode=True, diff=True, **args)
    assert writes(cloud) == []
    real = attach(cloud, diff=True, **args)
    for key in RESULT_KEYS + ('diff',):
        assert check[key] == real[key], key
    assert real['diff']['before'] == {ids[0]: None, ids[1]: 'old'} and real['diff']['after'] == {ids[0]: 'app', ids[1]: 'app'}
    assert real['diff']['after_header'] == real['msg'] == 'attached app to 2 of 3 instance(s); 1 held it already'
    assert writes(cloud) == ['DetachInstanceRamRole', 'AttachInstanceRamRole']
    assert cloud.roles_of(ids) == dict((i, 'app') for i in ids)


def test_instances_selected_by_tags_across_pages_and_by_id(cloud):
    web = cloud.add_instances(120, tags={'app': 'web', 'env': 'prod'})
    cloud.add_instances(5, tags={'app': 'web', 'env': 'dev'})
    extra = cloud.add_instances(1)
    result = attach(cloud, role_name='app', instance_ids=extra, instance_tags={'app': 'web', 'env': 'prod'})
    assert not result.get('failed') and result['changed_instance_ids'] == extra + web
    assert cloud.roles_of(web + extra) == dict((i, 'app') for i in web + extra)
    # two tag pages of 100; the role pages list every instance, so DescribeInstances is not needed again
    assert cloud.action_counts() == {'DescribeInstances': 2, 'DescribeInstanceRamRole': 3, 'GetRole': 1, 'AttachInstanceRamRole': 2}


@pytest.mark.parametrize('check_mode', [False, True])
def test_unknown_classic_and_other_role_instances_are_all_refused_before_any_write(cloud, check_mode):
    vpc = cloud.add_instances(2, tags={'t': 'x'})
    classic = cloud.add_instances(1, network='classic', tags={'t': 'x'})
    cloud.hold('old', vpc[1:])
    result = attach(cloud, check_mode=check_mode, role_name='app', instance_ids=['i-nope'], instance_tags={'t': 'x'})
    assert result['failed'] and result['changed'] is False and writes(cloud) == []
    assert failed_codes(result) == [('i-nope', 'InvalidInstanceId.NotFound'), (classic[0], 'InvalidNetworkType.MismatchRamRole'),
                                    (vpc[1], 'InstanceHasOtherRole')]
    for word in ('i-nope', 'classic', '%s (old)' % vpc[1], 'force=true'):
        assert word in result['msg']
    assert '\n' not in result['msg'] and result['error']['code'] == 'InvalidInstanceId.NotFound'
    assert result['summary'] == {'selected': 4, 'changed': 0, 'failed': 3, 'unchanged': 1}


@pytest.mark.parametrize('role, code', [('missing', 'EntityNotExist.Role'), ('ramonly', 'InvalidRamRole.NotEcsRole')])
def test_role_problems_fail_before_any_write(cloud, role, code):
    result = attach(cloud, role_name=role, instance_ids=cloud.add_instances(1))
    assert result['failed'] and result['error']['code'] == code and writes(cloud) == []


def test_check_mode_on_a_role_that_does_not_exist_yet_predicts_the_attach(cloud):
    ids = cloud.add_instances(2)
    result = attach(cloud, check_mode=True, role_name='new-role', instance_ids=ids)
    assert not result.get('failed') and result['changed'] is True and result['changed_instance_ids'] == ids
    assert result['attachments'] == dict((i, 'new-role') for i in ids)
    assert cloud.warnings == ['role new-role does not exist yet; predicting as if an earlier task creates it']


# -- what took effect ----------------------------------------------------------------------------

def test_a_lost_reply_on_attach_counts_as_done_and_changed(cloud):
    ids = cloud.add_instances(2)
    cloud.script('AttachInstanceRamRole', lose_reply=True)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and result['changed'] is True and result['changed_instance_ids'] == ids
    assert cloud.actions().count('AttachInstanceRamRole') == 2 and cloud.roles_of(ids) == dict((i, 'app') for i in ids)


def test_a_lost_reply_on_a_service_that_refuses_the_same_role_is_ours_by_a_read(cloud):
    cloud.state.faults.update({'attach_same_role': 'failure'})
    ids = cloud.add_instances(2)
    cloud.script('AttachInstanceRamRole', lose_reply=True)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and result['changed'] is True and result['changed_instance_ids'] == ids
    assert result['failed_instances'] == [] and result['attachments'] == dict((i, 'app') for i in ids)
    assert cloud.action_counts() == {'DescribeInstanceRamRole': 2, 'GetRole': 1, 'AttachInstanceRamRole': 2}


@pytest.mark.parametrize('state, action', [('present', 'AttachInstanceRamRole'), ('absent', 'DetachInstanceRamRole')])
@pytest.mark.parametrize('fault', ['lose_reply', 'empty_answer'])
def test_the_last_allowed_attempt_that_took_effect_unseen_counts_as_done(cloud, state, action, fault):
    ids = cloud.add_instances(2)
    if state == 'absent':
        cloud.hold('app', ids)
    cloud.script(action, **{fault: True})
    result = attach(cloud, role_name='app', instance_ids=ids, state=state, retries=0)
    assert not result.get('failed') and result['changed'] is True and result['changed_instance_ids'] == ids
    assert cloud.actions().count(action) == 1


def test_results_without_success_are_decided_by_their_code(cloud, monkeypatch):
    cloud.per_instance_results_without(monkeypatch, 'Success')
    ids = cloud.add_instances(2)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and result['changed'] is True and result['changed_instance_ids'] == ids
    assert cloud.action_counts() == {'DescribeInstanceRamRole': 1, 'GetRole': 1, 'AttachInstanceRamRole': 1}
    detached = attach(cloud, role_name='app', instance_ids=ids, state='absent')
    assert detached['changed_instance_ids'] == ids


def test_results_that_say_neither_are_settled_by_a_read(cloud, monkeypatch):
    cloud.per_instance_results_without(monkeypatch, 'Success', 'Code', 'Message')
    ids = cloud.add_instances(2)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and result['changed_instance_ids'] == ids
    assert cloud.action_counts() == {'DescribeInstanceRamRole': 2, 'GetRole': 1, 'AttachInstanceRamRole': 1}


def test_another_run_that_attached_first_is_not_our_change(cloud):
    cloud.state.faults.update({'attach_same_role': 'failure'})
    ids = cloud.add_instances(3)
    cloud.before_next('AttachInstanceRamRole', lambda: cloud.hold('app', ids[:2]))
    result = attach(cloud, role_name='app', instance_ids=ids, return_all=True)
    assert not result.get('failed') and result['changed'] is True
    assert result['changed_instance_ids'] == ids[2:] and result['attachments'] == dict((i, 'app') for i in ids)


def test_a_partial_failure_keeps_the_other_batches_and_reports_what_was_done(cloud):
    ids = cloud.add_instances(150)
    # another role turns up on one instance between the read and the attach
    cloud.before_next('AttachInstanceRamRole', lambda: cloud.hold('old', ids[7:8]))
    result = attach(cloud, role_name='app', instance_ids=ids, concurrency=2)
    assert result['failed'] and result['changed'] is True
    assert [f['instance_id'] for f in result['failed_instances']] == [ids[7]] and result['failed_instances'][0]['request_id']
    assert result['changed_instance_ids'] == ids[:7] + ids[8:] and result['attachments'][ids[7]] != 'app'
    assert result['summary'] == {'selected': 150, 'changed': 149, 'failed': 1, 'unchanged': 0}
    assert result['msg'].startswith('attach role app to 150 instance(s) failed: ') and ids[7] in result['msg']
    assert cloud.roles_of(ids[7:8]) == {ids[7]: 'old'}


def test_a_request_level_refusal_fails_every_instance_of_the_batch_and_changes_nothing(cloud):
    ids = cloud.add_instances(2)
    cloud.script('AttachInstanceRamRole', code='InvalidUser.PassRoleForbidden', status=403)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert result['failed'] and result['changed'] is False and result['changed_instance_ids'] == []
    assert [(f['instance_id'], f['code'], f['request_id']) for f in result['failed_instances']] == [
        (i, 'InvalidUser.PassRoleForbidden', 'SCRIPTED-REQUEST') for i in ids]
    assert '2 of 2 instance(s) failed' in result['msg'] and cloud.roles_of(ids) == dict((i, None) for i in ids)


def test_an_instance_released_before_the_attach_fails_alone(cloud):
    ids = cloud.add_instances(3)

    def release():
        with cloud.state.lock:
            del cloud.state.data['instances'][ids[1]]

    cloud.before_next('AttachInstanceRamRole', release)
    cloud.script('AttachInstanceRamRole', code='InvalidInstanceId.NotFound', status=404, message='The specified InstanceId does not exist.')
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert result['failed'] and result['changed'] is True and result['changed_instance_ids'] == [ids[0], ids[2]]
    assert failed_codes(result) == [(ids[1], 'InvalidInstanceId.NotFound')]


def test_a_detach_already_done_by_someone_else_is_not_our_change(cloud):
    ids = cloud.add_instances(2)
    cloud.hold('app', ids)
    cloud.before_next('DetachInstanceRamRole', lambda: cloud.hold('', ids[:1]))
    result = attach(cloud, role_name='app', instance_ids=ids, state='absent')
    assert not result.get('failed') and result['changed_instance_ids'] == ids[1:]
    assert result['attachments'] == dict((i, None) for i in ids)
    assert result['msg'] == 'detached app from 1 of 2 instance(s); 1 did not hold it'


def test_absent_warns_about_unknown_instances_and_leaves_other_roles(cloud):
    ids = cloud.add_instances(3)
    cloud.hold('app', ids[:1])
    cloud.hold('old', ids[1:2])
    result = attach(cloud, role_name='app', instance_ids=ids + ['i-nope'], state='absent')
    assert not result.get('failed') and result['changed_instance_ids'] == ids[:1]
    assert cloud.roles_of(ids) == {ids[0]: None, ids[1]: 'old', ids[2]: None}
    assert cloud.warnings == ['1 instance(s) do not exist in cn-hangzhou and cannot hold role app: i-nope']


# -- waiting -------------------------------------------------------------------------------------

def test_a_role_ecs_does_not_see_yet_is_attached_once_it_does(cloud, clock):
    ids = cloud.add_instances(2)
    for _attempt in range(2):
        cloud.script('AttachInstanceRamRole', code='InvalidRamRole.NotFound', status=404)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and result['changed_instance_ids'] == ids
    assert cloud.actions().count('AttachInstanceRamRole') == 3 and len(clock.sleeps) == 2


def test_the_role_visibility_window_is_bounded(cloud, clock):
    cloud.state.faults.update({'role_visibility_delay': 3600})
    ids = cloud.add_instances(1)
    started = clock.monotonic()
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert result['failed'] and result['changed'] is False
    assert failed_codes(result) == [(ids[0], 'InvalidRamRole.NotFound')]
    assert clock.monotonic() - started >= 60


def test_wait_polls_until_the_roles_show(cloud):
    ids = cloud.add_instances(1)
    result = attach(cloud, role_name='app', instance_ids=ids, wait=True)
    assert not result.get('failed') and cloud.actions()[-1] == 'DescribeInstanceRamRole'


def test_throttled_calls_halve_the_pool(cloud, monkeypatch):
    throttles = []

    class WatchedPool(instance_attachment.WorkerPool):
        def throttled(self):
            throttles.append(self.limit)
            super(WatchedPool, self).throttled()

    monkeypatch.setattr(instance_attachment, 'WorkerPool', WatchedPool)
    ids = cloud.add_instances(120)
    cloud.script('DescribeInstanceRamRole', code='Throttling.User', status=400)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and len(result['changed_instance_ids']) == 120
    assert throttles == [4] and 1 <= result['concurrency'] <= 4


# -- info ----------------------------------------------------------------------------------------

def info(cloud, **args):
    cloud.forget()
    return cloud.run(info_module, args, check_mode=True)


def test_info_by_ids_by_role_by_tags(cloud):
    fleet = cloud.add_instances(60, tags={'app': 'web'})
    others = cloud.add_instances(2)
    cloud.hold('app', fleet)
    cloud.hold('old', others[:1])
    by_role = info(cloud, role_name='APP')
    assert [a['instance_id'] for a in by_role['attachments']] == fleet and {a['role_name'] for a in by_role['attachments']} == {'app'}
    assert cloud.action_counts() == {'DescribeInstanceRamRole': 2}
    by_ids = info(cloud, instance_ids=[others[1], others[0], fleet[0], 'i-nope'])
    assert by_ids['attachments'] == [{'instance_id': others[0], 'role_name': 'old'}, {'instance_id': fleet[0], 'role_name': 'app'}]
    assert by_ids['unknown_instance_ids'] == ['i-nope'] and 'i-nope' in cloud.warnings[-1]
    by_tags = info(cloud, instance_tags={'app': 'web'}, instance_ids=others, role_name='old')
    assert by_tags['attachments'] == [{'instance_id': others[0], 'role_name': 'old'}]
    assert cloud.action_counts() == {'DescribeInstances': 1, 'DescribeInstanceRamRole': 2}
    assert info(cloud, role_name='no-such-role')['attachments'] == []
    assert info(cloud, instance_tags={'app': 'none'})['attachments'] == [] and cloud.action_counts() == {'DescribeInstances': 1}
    assert info(cloud, instance_tags={})['attachments'] == [] and cloud.action_counts() == {}
    assert cloud.write_actions() == []
