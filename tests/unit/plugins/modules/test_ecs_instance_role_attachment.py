# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ecs_instance_role_attachment and ecs_instance_role_info on the in-process emulator (the ``emulated`` fixture)."""

import json
import time

import pytest

from ansible.module_utils import basic

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api, instance_attachment as ia, instances, ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.client import service_client_for
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.plugins.modules import ecs_instance_role_attachment as attachment_module
from ansible_collections.alicloud.ram.plugins.modules import ecs_instance_role_info as info_module
from ansible_collections.alicloud.ram.tests.unit.emulated import ENDPOINT, REGION

ECS_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Service': ['ecs.aliyuncs.com']}}],
                        'Version': '1'})
RAM_ONLY_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow',
                                            'Principal': {'RAM': ['acs:ram::1234567890123456:root']}}], 'Version': '1'})
RESULT_KEYS = ('changed', 'attachments', 'changed_instance_ids', 'failed_instances')
WRITES = ('AttachInstanceRamRole', 'DetachInstanceRamRole')
REAL_SLEEP = time.sleep  # the emulated fixture skips sleeps; the role-visibility tests need short real ones


@pytest.fixture
def cloud(emulated, monkeypatch):
    """The emulator with roles ``app`` and ``old`` (ECS may assume both) and ``ramonly`` (it may not)."""
    emulated.warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, message: emulated.warnings.append(message))
    creds = Credentials(emulated.config.access_key_id, emulated.config.access_key_secret, None, 'test')
    ram = service_client_for('ram', creds, OptionAdapter.from_dict({'ram_endpoint': ENDPOINT, 'retries': 0}))
    for name, trust in (('app', ECS_TRUST), ('old', ECS_TRUST), ('ramonly', RAM_ONLY_TRUST)):
        ram_api.create_role(ram, name, trust)
    emulated.state.calls[:] = []
    return emulated


def seed(cloud, count, network='vpc', tags=None):
    with cloud.state.lock:
        return cloud.state.add_instances(REGION, count, network, tags)


def hold(cloud, role, ids):
    """Attach ``role`` to ``ids`` behind the module's back (another run, the console)."""
    with cloud.state.lock:
        for iid in ids:
            cloud.state.data['instances'][iid]['role'] = role.lower()


def roles_of(cloud, ids):
    with cloud.state.lock:
        return dict((i, cloud.state.role_name_of(cloud.state.data['instances'][i]) or None) for i in ids)


def counts(cloud):
    found = {}
    for action in cloud.actions():
        found[action] = found.get(action, 0) + 1
    return found


def attach(cloud, check_mode=False, diff=False, **args):
    cloud.state.calls[:] = []
    return cloud.run(attachment_module, args, check_mode=check_mode, diff=diff)


def writes(cloud):
    return [a for a in cloud.write_actions() if a in WRITES]


def before_the_attach(monkeypatch, action):
    """Run ``action(ids)`` right before the module's attach batches (a concurrent run)."""
    original = instances.attach_role

    def wrapped(pool, region, role_name, instance_ids, *args):
        action(instance_ids)
        return original(pool, region, role_name, instance_ids, *args)

    monkeypatch.setattr(instances, 'attach_role', wrapped)


# -- input ----------------------------------------------------------------------------------------


def test_policy_is_compacted_and_limited_to_1024_characters():
    doc = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'oss:GetObject', 'Resource': '*'}]}
    text, error = ia.extra_policy_json(json.dumps(doc, indent=4))
    assert error is None and json.loads(text) == doc and ' ' not in text
    doc['Statement'][0]['Resource'] = ['acs:oss:*:*:bucket-%04d/*' % n for n in range(60)]
    assert 'limit is 1024' in ia.extra_policy_json(doc)[1]


def test_invalid_input_fails_with_every_problem_and_makes_no_call(cloud):
    result = attach(cloud, instance_ids=['i-1', 'i 2'], role_name='bad/name', concurrency=0, policy='{"x"',
                    instance_tags={'': 'x'})
    assert result['failed'] and result['msg'].startswith('invalid input: ')
    for word in ('whitespace', 'role', 'concurrency', 'policy', 'instance_tags'):
        assert word in result['msg'], word
    assert cloud.actions() == []


def test_empty_selection_changes_nothing(cloud):
    seed(cloud, 2, tags={'app': 'api'})
    for args in ({'instance_ids': []}, {'instance_tags': {'app': 'web'}}, {'instance_tags': {'app': 'web'}, 'instance_ids': []}):
        result = attach(cloud, role_name='app', **args)
        assert not result.get('failed') and result['changed'] is False, args
        assert result['attachments'] == {} and result['changed_instance_ids'] == [] and writes(cloud) == []
    attach(cloud, role_name='app', instance_ids=[])
    assert counts(cloud) == {}


# -- planning ---------------------------------------------------------------------------------------


def current(roles, unknown=(), classic=(), role=None, classic_at_attach=()):
    ids = list(roles) + list(unknown) + list(classic)
    return ia.Current(ids, roles, list(unknown), list(classic), role, role is not None, list(classic_at_attach))


def test_plan_present_absent_and_force():
    roles = {'a': 'APP', 'b': None, 'c': 'old'}
    plan = ia.plan_changes(current(roles, unknown=['x']), 'app', 'present', False)
    assert plan.attach == ['b'] and plan.conflicts == [('c', 'old')] and plan.unknown == ['x'] and not plan.replace
    plan = ia.plan_changes(current(roles), 'app', 'present', True)
    assert plan.replace == [('c', 'old')] and plan.write_ids == ['b', 'c']
    plan = ia.plan_changes(current(roles, unknown=['x'], classic=['y']), 'app', 'absent', False)
    assert plan.detach == [('a', 'APP')] and plan.write_ids == ['a'] and plan.unknown == ['x']


def test_plan_takes_the_role_name_as_ram_spells_it_and_names_role_problems():
    role = {'RoleName': 'App', 'AssumeRolePolicyDocument': ECS_TRUST}
    assert ia.plan_changes(current({'a': None}, role=role), 'APP', 'present', False).role_name == 'App'
    plan = ia.plan_changes(current({'a': None}, role={'RoleName': 'r', 'AssumeRolePolicyDocument': RAM_ONLY_TRUST}), 'r', 'present', False)
    assert plan.role_problem[0] == 'InvalidRamRole.NotEcsRole'
    missing = current({'a': None})._replace(role_read=True)
    assert ia.plan_changes(missing, 'r', 'present', False).role_problem[0] == 'EntityNotExist.Role'


def test_group_by_role_is_case_insensitive():
    assert ia.group_by_role([('a', 'Old'), ('b', 'x'), ('c', 'old')]) == [('Old', ['a', 'c']), ('x', ['b'])]


# -- attach -----------------------------------------------------------------------------------------


def test_attach_then_second_run_reads_the_role_pages_only(cloud):
    ids = seed(cloud, 3)
    hold(cloud, 'app', ids[2:])
    result = attach(cloud, role_name='APP', instance_ids=ids + ids[:1])
    assert not result.get('failed') and result['changed'] is True and result['changed_instance_ids'] == ids[:2]
    assert result['attachments'] == dict((i, 'app') for i in ids) and result['failed_instances'] == []
    assert counts(cloud) == {'DescribeInstanceRamRole': 1, 'GetRole': 1, 'AttachInstanceRamRole': 1}
    assert result['concurrency'] == 1
    again = attach(cloud, role_name='app', instance_ids=ids)
    assert again['changed'] is False and again['changed_instance_ids'] == [] and counts(cloud) == {'DescribeInstanceRamRole': 1}


def test_check_mode_predicts_the_real_run_and_diff_shows_only_changes(cloud):
    ids = seed(cloud, 3)
    hold(cloud, 'old', ids[1:2])
    hold(cloud, 'app', ids[2:])
    args = dict(role_name='app', instance_ids=ids, force=True)
    check = attach(cloud, check_mode=True, diff=True, **args)
    assert writes(cloud) == []
    real = attach(cloud, diff=True, **args)
    for key in RESULT_KEYS + ('diff',):
        assert check[key] == real[key], key
    assert real['diff'] == {'before': {ids[0]: None, ids[1]: 'old'}, 'after': {ids[0]: 'app', ids[1]: 'app'}}
    assert writes(cloud) == ['DetachInstanceRamRole', 'AttachInstanceRamRole']
    assert roles_of(cloud, ids) == dict((i, 'app') for i in ids)


def test_instances_selected_by_tags_across_pages_and_by_id(cloud):
    web = seed(cloud, 120, tags={'app': 'web', 'env': 'prod'})
    seed(cloud, 5, tags={'app': 'web', 'env': 'dev'})
    extra = seed(cloud, 1)
    result = attach(cloud, role_name='app', instance_ids=extra, instance_tags={'app': 'web', 'env': 'prod'})
    assert not result.get('failed') and result['changed_instance_ids'] == extra + web
    assert roles_of(cloud, web + extra) == dict((i, 'app') for i in web + extra)
    # two tag pages of 100; the role pages list every instance, so DescribeInstances is not needed again
    assert counts(cloud) == {'DescribeInstances': 2, 'DescribeInstanceRamRole': 3, 'GetRole': 1, 'AttachInstanceRamRole': 2}


def test_unknown_and_classic_instances_found_by_the_reads_fail_before_any_write(cloud):
    vpc = seed(cloud, 60)
    classic = seed(cloud, 1, network='classic')
    result = attach(cloud, role_name='app', instance_ids=vpc + classic + ['i-nope'])
    assert result['failed'] and result['changed'] is False and writes(cloud) == []
    assert [(f['instance_id'], f['code']) for f in result['failed_instances']] == [
        ('i-nope', 'InvalidInstanceId.NotFound'), (classic[0], 'InvalidNetworkType.MismatchRamRole')]
    assert 'i-nope' in result['msg'] and 'classic' in result['msg'] and '\n' not in result['msg']
    # the page naming the unknown id is refused: one DescribeInstances for it, one more read of its good ids
    assert counts(cloud) == {'DescribeInstanceRamRole': 3, 'DescribeInstances': 1, 'GetRole': 1}


def test_instances_the_role_read_leaves_out_are_described(cloud, monkeypatch):
    original = ecs_api.describe_instance_ram_roles

    def without_roleless(*args, **kwargs):
        page = original(*args, **kwargs)
        return page._replace(roles=dict((i, r) for i, r in page.roles.items() if r))

    monkeypatch.setattr(ecs_api, 'describe_instance_ram_roles', without_roleless)
    ids = seed(cloud, 3)
    hold(cloud, 'app', ids[:1])
    result = attach(cloud, role_name='app', instance_ids=ids + ['i-nope'], state='absent')
    assert not result.get('failed') and result['changed_instance_ids'] == ids[:1]
    assert result['attachments'] == {ids[0]: None, ids[1]: None, ids[2]: None, 'i-nope': None}
    assert 'i-nope' in cloud.warnings[0]
    # the page naming i-nope is refused and read again without it; the ids it leaves out are described once
    assert counts(cloud) == {'DescribeInstanceRamRole': 2, 'DescribeInstances': 1, 'DetachInstanceRamRole': 1}
    again = attach(cloud, role_name='app', instance_ids=ids, state='absent')
    assert again['changed'] is False and counts(cloud) == {'DescribeInstanceRamRole': 1, 'DescribeInstances': 1}


def test_classic_instance_listed_by_the_role_read_is_reported_by_the_attach_and_predicted_by_check_mode(cloud):
    ids = seed(cloud, 250)
    classic = seed(cloud, 1, network='classic')
    args = dict(role_name='app', instance_ids=ids[:120] + classic + ids[120:], concurrency=3)
    check = attach(cloud, check_mode=True, **args)
    real = attach(cloud, **args)
    assert real['failed'] and real['changed'] is True
    assert [(f['instance_id'], f['code']) for f in real['failed_instances']] == [(classic[0], 'InvalidNetworkType.MismatchRamRole')]
    assert real['changed_instance_ids'] == ids and real['attachments'][classic[0]] is None
    assert '1 of 251' in real['msg'] and real['error']['code'] == 'InvalidNetworkType.MismatchRamRole'
    assert counts(cloud) == {'DescribeInstanceRamRole': 6, 'GetRole': 1, 'AttachInstanceRamRole': 3}
    assert check['failed'] and [check[k] for k in RESULT_KEYS[:3]] == [real[k] for k in RESULT_KEYS[:3]]
    assert [f['code'] for f in check['failed_instances']] == ['InvalidNetworkType.MismatchRamRole']


def test_other_role_without_force_fails_before_any_write(cloud):
    ids = seed(cloud, 2)
    hold(cloud, 'old', ids[1:])
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert result['failed'] and '%s (old)' % ids[1] in result['msg'] and 'force=true' in result['msg']
    assert result['failed_instances'][0]['code'] == 'InstanceHasOtherRole' and writes(cloud) == []


@pytest.mark.parametrize('role, code', [('missing', 'EntityNotExist.Role'), ('ramonly', 'InvalidRamRole.NotEcsRole')])
def test_role_problems_fail_before_any_write(cloud, role, code):
    result = attach(cloud, role_name=role, instance_ids=seed(cloud, 1))
    assert result['failed'] and result['error']['code'] == code and writes(cloud) == []


def test_check_mode_on_a_role_that_does_not_exist_yet_predicts_the_attach(cloud):
    ids = seed(cloud, 2)
    result = attach(cloud, check_mode=True, role_name='new-role', instance_ids=ids)
    assert not result.get('failed') and result['changed'] is True and result['changed_instance_ids'] == ids
    assert result['attachments'] == dict((i, 'new-role') for i in ids)
    assert cloud.warnings == ['role new-role does not exist yet; predicting as if an earlier task creates it']


def test_lost_reply_on_attach_counts_as_done_and_changed(cloud):
    ids = seed(cloud, 2)
    cloud.script('AttachInstanceRamRole', lose_reply=True)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and result['changed'] is True and result['changed_instance_ids'] == ids
    assert cloud.actions().count('AttachInstanceRamRole') == 2 and roles_of(cloud, ids) == dict((i, 'app') for i in ids)


def test_lost_reply_on_a_service_that_refuses_the_same_role_is_read_back(cloud):
    cloud.state.faults.update({'attach_same_role': 'failure'})
    ids = seed(cloud, 2)
    cloud.script('AttachInstanceRamRole', lose_reply=True)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and result['changed'] is True and result['changed_instance_ids'] == ids
    assert result['failed_instances'] == [] and result['attachments'] == dict((i, 'app') for i in ids)
    assert counts(cloud) == {'DescribeInstanceRamRole': 2, 'GetRole': 1, 'AttachInstanceRamRole': 2}


def test_another_run_that_attached_first_is_not_our_change(cloud, monkeypatch):
    cloud.state.faults.update({'attach_same_role': 'failure'})
    ids = seed(cloud, 3)
    before_the_attach(monkeypatch, lambda batch: hold(cloud, 'app', batch[:2]))
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and result['changed'] is True
    assert result['changed_instance_ids'] == ids[2:] and result['attachments'] == dict((i, 'app') for i in ids)


def test_partial_failure_keeps_other_batches_and_reports_what_was_done(cloud, monkeypatch):
    ids = seed(cloud, 150)
    # another role turns up on one instance between the read and the attach
    before_the_attach(monkeypatch, lambda batch: hold(cloud, 'old', batch[7:8]))
    result = attach(cloud, role_name='app', instance_ids=ids, concurrency=2)
    assert result['failed'] and result['changed'] is True
    assert [f['instance_id'] for f in result['failed_instances']] == [ids[7]]
    assert result['changed_instance_ids'] == ids[:7] + ids[8:] and result['attachments'][ids[7]] is None
    assert result['error']['request_id'] and '1 of 150' in result['msg']
    assert roles_of(cloud, ids[7:8]) == {ids[7]: 'old'}


def test_request_level_refusal_fails_every_instance_of_the_batch_and_changes_nothing(cloud):
    ids = seed(cloud, 2)
    cloud.script('AttachInstanceRamRole', code='InvalidUser.PassRoleForbidden', status=403)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert result['failed'] and result['changed'] is False and result['changed_instance_ids'] == []
    assert [(f['instance_id'], f['code'], f['request_id']) for f in result['failed_instances']] == [
        (i, 'InvalidUser.PassRoleForbidden', 'SCRIPTED-REQUEST') for i in ids]
    assert roles_of(cloud, ids) == dict((i, None) for i in ids)


def test_detach_already_done_by_someone_else_is_not_our_change(cloud, monkeypatch):
    ids = seed(cloud, 2)
    hold(cloud, 'app', ids)
    original = instances.detach_role

    def racing(pool, region, role_name, instance_ids, secrets=()):
        hold(cloud, '', instance_ids[:1])  # detached by another run
        return original(pool, region, role_name, instance_ids, secrets)

    monkeypatch.setattr(instances, 'detach_role', racing)
    result = attach(cloud, role_name='app', instance_ids=ids, state='absent')
    assert not result.get('failed') and result['changed_instance_ids'] == ids[1:]
    assert result['attachments'] == dict((i, None) for i in ids)


@pytest.fixture
def short_waits(monkeypatch):
    """Backoff waits of at most 20 ms, so a role-visibility window of a fraction of a second is waited out for real."""
    monkeypatch.setattr(time, 'sleep', lambda seconds: REAL_SLEEP(min(seconds, 0.02)))


def test_a_role_ecs_does_not_see_yet_is_attached_once_it_does(cloud, short_waits):
    ids = seed(cloud, 2)
    with cloud.state.lock:
        cloud.state.data['roles']['app']['created'] = time.time()
    cloud.state.faults.update({'role_visibility_delay': 0.15})
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and result['changed_instance_ids'] == ids
    assert cloud.actions().count('AttachInstanceRamRole') >= 2


def test_the_role_visibility_window_is_bounded(cloud, short_waits, monkeypatch):
    monkeypatch.setattr(instances, 'ROLE_VISIBILITY_TIMEOUT', 0.1)
    cloud.state.faults.update({'role_visibility_delay': 600})
    ids = seed(cloud, 1)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert result['failed'] and result['changed'] is False
    assert [f['code'] for f in result['failed_instances']] == ['InvalidRamRole.NotFound']


def test_wait_polls_until_the_roles_show(cloud):
    ids = seed(cloud, 1)
    result = attach(cloud, role_name='app', instance_ids=ids, wait=True)
    assert not result.get('failed') and cloud.actions()[-1] == 'DescribeInstanceRamRole'


def test_throttled_calls_halve_the_pool(cloud, monkeypatch):
    throttles = []

    class WatchedPool(ia.WorkerPool):
        def throttled(self):
            throttles.append(self.limit)
            super(WatchedPool, self).throttled()

    monkeypatch.setattr(ia, 'WorkerPool', WatchedPool)
    ids = seed(cloud, 120)
    cloud.script('DescribeInstanceRamRole', code='Throttling.User', status=400)
    result = attach(cloud, role_name='app', instance_ids=ids)
    assert not result.get('failed') and len(result['changed_instance_ids']) == 120
    assert throttles == [4] and 1 <= result['concurrency'] <= 4


# -- info -------------------------------------------------------------------------------------------


def info(cloud, **args):
    cloud.state.calls[:] = []
    return cloud.run(info_module, args, check_mode=True)


def test_info_by_ids_by_role_by_tags(cloud):
    fleet = seed(cloud, 60, tags={'app': 'web'})
    others = seed(cloud, 2)
    hold(cloud, 'app', fleet)
    hold(cloud, 'old', others[:1])
    by_role = info(cloud, role_name='APP')
    assert [a['instance_id'] for a in by_role['attachments']] == fleet and {a['role_name'] for a in by_role['attachments']} == {'app'}
    assert counts(cloud) == {'DescribeInstanceRamRole': 2}
    by_ids = info(cloud, instance_ids=[others[1], others[0], fleet[0], 'i-nope'])
    assert by_ids['attachments'] == [{'instance_id': others[0], 'role_name': 'old'}, {'instance_id': fleet[0], 'role_name': 'app'}]
    assert by_ids['unknown_instance_ids'] == ['i-nope'] and 'i-nope' in cloud.warnings[-1]
    by_tags = info(cloud, instance_tags={'app': 'web'}, instance_ids=others, role_name='old')
    assert by_tags['attachments'] == [{'instance_id': others[0], 'role_name': 'old'}]
    assert counts(cloud) == {'DescribeInstances': 1, 'DescribeInstanceRamRole': 2}
    assert info(cloud, role_name='no-such-role')['attachments'] == []
    assert info(cloud, instance_tags={'app': 'none'})['attachments'] == [] and counts(cloud) == {'DescribeInstances': 1}
    assert info(cloud, instance_tags={})['attachments'] == [] and counts(cloud) == {}
    assert cloud.write_actions() == []
