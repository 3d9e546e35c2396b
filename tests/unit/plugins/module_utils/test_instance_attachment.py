# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ecs_instance_role_attachment's planning as pure functions: refusals, the per-instance changes, before and after views."""

import collections
import json
import types

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import instance_attachment as ia
from ansible_collections.alicloud.ram.plugins.module_utils.failures import ResourceFailure
from ansible_collections.alicloud.ram.plugins.modules import ecs_instance_role_attachment
from ansible_collections.alicloud.ram.tests.emulator.sdkhelpers import ECS_TRUST, RAM_ONLY_TRUST
from ansible_collections.alicloud.ram.tests.unit.emulated import REGION
from ansible_collections.alicloud.ram.tests.unit.planning import predicted, resource_for

APP = {'RoleName': 'app', 'AssumeRolePolicyDocument': ECS_TRUST}


def current(roles, unknown=(), classic=(), role='app', role_read=True):
    """What ``read`` found: ``roles`` (id -> role held) for the VPC instances, then the unknown and classic ids;
    ``role``: the GetRole answer (``'app'`` for APP)."""
    role = APP if role == 'app' else role
    ids = list(roles) + list(unknown) + list(classic)
    return ia.Current(ids, collections.OrderedDict(roles), list(unknown), list(classic), role, role_read)


def planner(check_mode=False, **params):
    params.setdefault('role_name', 'app')
    resource = resource_for(ia.InstanceRoleAttachment, ecs_instance_role_attachment, check_mode=check_mode, **params)
    resource.region = REGION
    resource.pool = types.SimpleNamespace(peak=0)
    return resource


def table(plan):
    """``[(action, instance, target, listed as done)]`` of a plan, in order."""
    return [('attach' if c.target else 'detach', c.key, c.target, c.done_list is not None) for c in plan.changes]


# -- plan_changes ------------------------------------------------------------------------------

ROLES = {'a': 'APP', 'b': None, 'c': 'old'}


@pytest.mark.parametrize('state, force, changes, after', [
    ('present', False, [('attach', 'b', 'app', True)], {'a': 'APP', 'b': 'app', 'c': 'old'}),
    # force: the other role is detached first (not listed: the attach that follows is the change), then attached
    ('present', True, [('detach', 'c', None, False), ('attach', 'b', 'app', True), ('attach', 'c', 'app', True)],
     {'a': 'APP', 'b': 'app', 'c': 'app'}),
    ('absent', False, [('detach', 'a', None, True)], {'a': None, 'b': None, 'c': 'old'}),
    ('absent', True, [('detach', 'a', None, True)], {'a': None, 'b': None, 'c': 'old'}),
])
def test_plan_changes_before_and_after(state, force, changes, after):
    plan = ia.plan_changes(current(ROLES, unknown=['x']), 'app', state, force)
    assert plan.before == {'attachments': dict(ROLES, x=None)}
    assert table(plan) == changes
    assert plan.after == {'attachments': dict(after, x=None)}
    assert plan.replace == ({'c': 'old'} if state == 'present' and force else {})


def test_every_changed_instance_is_listed_once():
    plan = ia.plan_changes(current(ROLES), 'app', 'present', True)
    recorder = predicted(planner(), plan)
    assert recorder.done('changed_instance_ids') == ['b', 'c'] and recorder.view == plan.after


def test_nothing_to_do_is_an_empty_plan():
    plan = ia.plan_changes(current({'a': 'app', 'b': 'App'}), 'app', 'present', False)
    assert plan.changes == [] and plan.after == plan.before


# -- refusals ----------------------------------------------------------------------------------

def test_refusals_name_every_problem_of_the_selection_at_once():
    failed, problems = ia.refusals(current(ROLES, unknown=['x'], classic=['k']), 'app', REGION, False)
    assert [(f['instance_id'], f['code']) for f in failed] == [
        ('x', 'InvalidInstanceId.NotFound'), ('k', 'InvalidNetworkType.MismatchRamRole'), ('c', 'InstanceHasOtherRole')]
    assert problems == ['1 instance(s) not found in cn-hangzhou: x', '1 classic-network instance(s), RAM roles need VPC instances: k',
                        '1 instance(s) hold another role (set force=true to replace it): c (old)']
    failed, problems = ia.refusals(current(ROLES), 'app', REGION, True)
    assert failed == [] and problems == []


def test_plan_refuses_before_any_write_with_the_failed_instances():
    with pytest.raises(ResourceFailure) as caught:
        planner().plan(current(ROLES, unknown=['x'], classic=['k']))
    failure = caught.value
    assert str(failure).startswith('attach role app to 5 instance(s) failed: InvalidInstanceId.NotFound: ')
    assert 'x' in str(failure) and 'k' in str(failure) and 'c (old)' in str(failure) and '\n' not in str(failure)
    assert [f['instance_id'] for f in failure.result['failed_instances']] == ['x', 'k', 'c']
    assert failure.result['summary'] == {'selected': 5, 'changed': 0, 'failed': 3, 'unchanged': 2}
    assert failure.result['attachments'] == {'x': None, 'k': None, 'c': 'old'}


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_role_ecs_cannot_assume_is_refused(check_mode):
    with pytest.raises(ResourceFailure) as caught:
        planner(check_mode).plan(current({'a': None}, role={'RoleName': 'app', 'AssumeRolePolicyDocument': RAM_ONLY_TRUST}))
    assert caught.value.error.code == 'InvalidRamRole.NotEcsRole'


def test_a_missing_role_fails_a_real_run_and_check_mode_predicts_as_if_it_is_created():
    with pytest.raises(ResourceFailure) as caught:
        planner().plan(current({'a': None}, role=None))
    assert caught.value.error.code == 'EntityNotExist.Role' and caught.value.result['failed_instances'] == []
    checking = planner(check_mode=True)
    plan = checking.plan(current({'a': None}, role=None))
    assert table(plan) == [('attach', 'a', 'app', True)]
    assert checking.warnings == ['role app does not exist yet; predicting as if an earlier task creates it']


def test_in_check_mode_a_missing_role_is_still_named_with_the_other_problems():
    with pytest.raises(ResourceFailure) as caught:
        planner(check_mode=True).plan(current({'a': None}, unknown=['x'], role=None))
    assert caught.value.error.code == 'EntityNotExist.Role' and 'role app does not exist' in str(caught.value)
    assert 'x' in str(caught.value)


def test_the_role_is_attached_as_ram_spells_it():
    plan = planner(role_name='APP').plan(current({'a': None}, role={'RoleName': 'App', 'AssumeRolePolicyDocument': ECS_TRUST}))
    assert table(plan) == [('attach', 'a', 'App', True)]


def test_detaching_warns_about_unknown_instances_and_refuses_nothing():
    resource = planner(state='absent')
    plan = resource.plan(current({'a': 'app', 'b': 'old'}, unknown=['x'], classic=['k'], role=None, role_read=False))
    assert table(plan) == [('detach', 'a', None, True)]
    assert resource.warnings == ['1 instance(s) do not exist in cn-hangzhou and cannot hold role app: x']


# -- input -------------------------------------------------------------------------------------

def test_the_policy_option_is_measured_compacted_up_to_1024_characters():
    doc = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'oss:GetObject', 'Resource': '*'}]}
    assert ia.extra_policy_error(json.dumps(doc, indent=8)) is None and ia.extra_policy_error(None) is None
    doc['Statement'][0]['Resource'] = ['acs:oss:*:*:bucket-%04d/*' % n for n in range(60)]
    assert 'the limit is 1024' in ia.extra_policy_error(doc)
    assert ia.extra_policy_error('{"Statement": [') is not None


@pytest.mark.parametrize('value, ok', [(1, True), (86400, True), (0, False), (-5, False), (86401, False), (None, False)])
def test_wait_timeout_bounds(value, ok):
    assert (ia.wait_timeout_error(value) is None) is ok
