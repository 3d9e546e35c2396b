# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Convergence under injected faults: throttling, ServiceUnavailable, latency and delayed role visibility.

Every run below is made while the emulator answers about 30% of the API calls with
``400 Throttling.User`` or ``503 ServiceUnavailable`` and adds latency to every call. A run must
converge to the exact expected state; the repeat run (faults still on) must report no change and
make no write call. ``retries`` is raised through ``module_defaults`` as a user facing such an
error rate would do (docs/reliability.md).

Each test prints one ``RELIABILITY`` line with its figures (run pytest with ``-s`` to see them).
"""

from __future__ import annotations

import json
import sys
import time

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ram20150501 import models as ram_models

from harness import ACTION_GROUP
from tests.emulator.sdkhelpers import ECS_TRUST, clients

FAULTS = {'throttle_rate': 0.15, 'unavailable_rate': 0.15, 'latency_ms': 20}
RETRIES = 10
# How many lookups of a new role ECS attach and STS AssumeRole refuse before they see it: counted by
# the emulator per role, so the window is met however busy the machine is.
INVISIBLE_FOR = 3
ROLE = 'rel-fault-app'
CUSTOM = 'rel-fault-logs'
USER = 'rel-fault-deployer'
OSS = 'AliyunOSSReadOnlyAccess'
ECS_RO = 'AliyunECSReadOnlyAccess'
DOC = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': ['log:PostLogStoreLogs'], 'Resource': ['acs:log:*:*:project/app/*']}]}


def defaults(runner, retries=RETRIES):
    values = runner.module_defaults()
    values[ACTION_GROUP]['retries'] = retries
    return values


def vpc_ids(emu):
    return [i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc']


def role_of(state, name):
    return next((r for r in state['roles'] if r['RoleName'] == name), None)


def holders(state, name):
    return sorted(i['InstanceId'] for i in state['instances'] if i['RamRoleName'] == name)


def user_policies(state, name):
    user = next(u for u in state['users'] if u['UserName'] == name)
    return sorted((p['PolicyType'], p['PolicyName']) for p in user['policies'])


def injected(calls, figures=None):
    """Number of calls answered by an injected fault; adds the API calls to ``figures['calls']``."""
    if figures is not None:
        figures['calls'] += sum(1 for c in calls if c['service'] != 'metadata')
    return sum(1 for c in calls if c.get('injected'))


def role_run(runner, state, instance_ids):
    role_vars = {
        'instance_role_name': ROLE,
        'instance_role_state': state,
        'instance_role_description': 'reliability under faults',
        'instance_role_max_session_duration': 7200,
        'instance_role_tags': {'suite': 'reliability'},
        'instance_role_policies': [OSS, {'name': CUSTOM, 'type': 'Custom', 'document': DOC}],
        'instance_role_delete_custom_policies': True,
        'instance_role_instance_ids': instance_ids,
        'instance_role_users': [USER],
        'instance_role_wait': True,
    }
    task = {'name': 'instance role', 'ansible.builtin.include_role': {'name': 'alicloud.ram.instance_role'}, 'vars': role_vars}
    return runner.run_tasks([task], module_defaults=defaults(runner))


def assert_role_set_up(emu, instance_ids):
    state = emu.state()
    assert [r['RoleName'] for r in state['roles']] == [ROLE], state['roles']
    role = role_of(state, ROLE)
    assert role['Description'] == 'reliability under faults'
    assert role['MaxSessionDuration'] == 7200
    assert sorted((p['PolicyType'], p['PolicyName']) for p in role['policies']) == [('Custom', CUSTOM), ('System', OSS)]
    assert holders(state, ROLE) == sorted(instance_ids)
    custom = [p for p in state['policies'] if p['PolicyName'] == CUSTOM]
    assert len(custom) == 1 and len(custom[0]['versions']) == 1, custom
    assert user_policies(state, USER) == [('Custom', 'PassRole-%s' % ROLE)]
    assert sorted(p['PolicyName'] for p in state['policies']) == sorted([CUSTOM, 'PassRole-%s' % ROLE])


def test_instance_role_converges_under_faults_and_repeats_without_writes(runner, emu):
    emu.create_user(USER)
    ids = vpc_ids(emu)
    emu.set_faults(seed=1101, **FAULTS)
    figures = {'runs': 0, 'converged': 0, 'faults': 0, 'calls': 0}

    emu.clear_calls()
    first = role_run(runner, 'present', ids)
    figures['runs'] += 1
    figures['faults'] += injected(emu.calls(), figures)
    assert first.changed, first
    assert_role_set_up(emu, ids)
    figures['converged'] += 1

    emu.clear_calls()
    again = role_run(runner, 'present', ids)
    figures['runs'] += 1
    calls = emu.calls()
    figures['faults'] += injected(calls, figures)
    assert again.recap['changed'] == 0, again
    assert [c for c in calls if c['write']] == [], again
    assert_role_set_up(emu, ids)
    figures['converged'] += 1

    print('\nRELIABILITY faults role: runs=%(runs)d converged=%(converged)d api_calls=%(calls)d injected_faults=%(faults)d' % figures)
    assert figures['faults'] > 0, 'the fault injection did not fire'


def module_tasks(ids, other_role, state='present'):
    """Every module once: the role, its policies, attachments (one instance held by another role), the grant, both info modules."""
    if state == 'absent':
        return [
            {'name': 'look up', 'alicloud.ram.ram_instance_role_info': {'name': ROLE}, 'register': 'found'},
            {'name': 'revoke', 'alicloud.ram.ram_user_role_grant': {'user_name': USER, 'role_name': ROLE, 'state': 'absent'}},
            {'name': 'detach instances', 'alicloud.ram.ecs_instance_role_attachment': {
                'role_name': ROLE, 'instance_ids': ids, 'state': 'absent'}},
            {'name': 'detach policies', 'alicloud.ram.ram_role_policy': {
                'role_name': ROLE, 'state': 'absent', 'delete_unused_custom_policies': True,
                'policies': [OSS, ECS_RO, {'name': CUSTOM, 'document': DOC}]},
             # as roles/instance_role does: ram_role_policy fails on a role that is gone (see test_interrupted_runs.py)
             'when': 'found.roles | length > 0'},
            {'name': 'delete role', 'alicloud.ram.ram_instance_role': {'name': ROLE, 'state': 'absent', 'force': True}},
            {'name': 'role info', 'alicloud.ram.ram_instance_role_info': {'name': ROLE}},
        ]
    return [
        {'name': 'role', 'alicloud.ram.ram_instance_role': {
            'name': ROLE, 'description': 'modules under faults', 'tags': {'suite': 'reliability', 'kind': 'modules'}}},
        {'name': 'policies', 'alicloud.ram.ram_role_policy': {
            'role_name': ROLE, 'policies': [OSS, ECS_RO, {'name': CUSTOM, 'document': DOC}]}},
        {'name': 'attach', 'alicloud.ram.ecs_instance_role_attachment': {
            'role_name': ROLE, 'instance_ids': ids, 'force': True, 'wait': True}},
        {'name': 'grant', 'alicloud.ram.ram_user_role_grant': {'user_name': USER, 'role_name': ROLE}},
        {'name': 'role info', 'alicloud.ram.ram_instance_role_info': {'name': ROLE}},
        {'name': 'prefix info', 'alicloud.ram.ram_instance_role_info': {'name_prefix': 'rel-', 'instance_roles_only': False}},
        {'name': 'attachment info', 'alicloud.ram.ecs_instance_role_info': {'instance_ids': ids + [other_role[0]]}},
    ]


def test_each_module_converges_under_faults_and_repeats_without_writes(runner, emu):
    emu.create_user(USER)
    ids = vpc_ids(emu)
    extra = emu.seed_instances(2)
    ram, ecs, _sts = clients(emu)
    # start state: an instance holding another role (replaced with force), a custom policy with another document
    ram.create_role(ram_models.CreateRoleRequest(role_name='rel-fault-other', assume_role_policy_document=ECS_TRUST))
    ecs.attach_instance_ram_role(ecs_models.AttachInstanceRamRoleRequest(
        region_id='cn-hangzhou', ram_role_name='rel-fault-other', instance_ids=json.dumps([ids[0], extra[1]])))
    old_doc = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'log:GetLogStore', 'Resource': '*'}]}
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name=CUSTOM, policy_document=json.dumps(old_doc)))
    targets = ids + [extra[0]]
    emu.set_faults(seed=2202, **FAULTS)
    figures = {'runs': 0, 'converged': 0, 'faults': 0, 'calls': 0}

    emu.clear_calls()
    first = runner.run_tasks(module_tasks(targets, [extra[1]]), module_defaults=defaults(runner))
    figures['runs'] += 1
    figures['faults'] += injected(emu.calls(), figures)
    state = emu.state()
    role = role_of(state, ROLE)
    assert role is not None and role['Description'] == 'modules under faults'
    assert sorted(tuple(t) for t in role['tags']) == [('kind', 'modules'), ('suite', 'reliability')]
    assert sorted((p['PolicyType'], p['PolicyName']) for p in role['policies']) == [
        ('Custom', CUSTOM), ('System', ECS_RO), ('System', OSS)]
    custom = next(p for p in state['policies'] if p['PolicyName'] == CUSTOM)
    assert len(custom['versions']) == 2 and custom['DefaultVersion'] == 'v2', custom
    assert holders(state, ROLE) == sorted(targets)
    assert holders(state, 'rel-fault-other') == [extra[1]]
    assert user_policies(state, USER) == [('Custom', 'PassRole-%s' % ROLE)]
    assert [r['role_name'] for r in first.module_result('role info')['roles']] == [ROLE]
    listed = first.module_result('attachment info')['attachments']
    assert sorted((a['instance_id'], a['role_name']) for a in listed) == sorted(
        [(i, ROLE) for i in targets] + [(extra[1], 'rel-fault-other')])
    figures['converged'] += 1

    emu.clear_calls()
    again = runner.run_tasks(module_tasks(targets, [extra[1]]), module_defaults=defaults(runner))
    figures['runs'] += 1
    calls = emu.calls()
    figures['faults'] += injected(calls, figures)
    assert again.recap['changed'] == 0, again
    assert [c for c in calls if c['write']] == [], again
    figures['converged'] += 1

    emu.clear_calls()
    gone = runner.run_tasks(module_tasks(targets, [extra[1]], state='absent'), module_defaults=defaults(runner))
    figures['runs'] += 1
    figures['faults'] += injected(emu.calls(), figures)
    state = emu.state()
    assert role_of(state, ROLE) is None
    assert sorted(p['PolicyName'] for p in state['policies']) == [], state['policies']
    assert holders(state, ROLE) == [] and holders(state, 'rel-fault-other') == [extra[1]]
    assert user_policies(state, USER) == []
    assert gone.module_result('role info')['roles'] == []
    figures['converged'] += 1

    print('\nRELIABILITY faults modules: runs=%(runs)d converged=%(converged)d api_calls=%(calls)d injected_faults=%(faults)d' % figures)
    assert figures['faults'] > 0


ACCOUNT_AND_ECS_TRUST = {'Version': '1', 'Statement': [{
    'Effect': 'Allow', 'Action': 'sts:AssumeRole',
    'Principal': {'Service': ['ecs.aliyuncs.com'], 'RAM': ['acs:ram::1234567890123456:root']}}]}


def test_new_roles_invisible_for_a_while_are_waited_out_by_attach_and_sts_assume_role(runner, emu, tmp_path):
    """A role created moments ago, used by the next task: attached to instances, or assumed through
    the assume_role option. ECS answers InvalidRamRole.NotFound and STS EntityNotExist.Role while a
    new role is not visible yet; both are waited out. Two hosts run the two cases side by side
    (``strategy: free``), so their visibility windows overlap.
    """
    ids = vpc_ids(emu)
    arn = 'acs:ram::%s:role/%s-sts' % (emu.account_id, ROLE)
    inventory = tmp_path / 'visibility.ini'
    inventory.write_text(''.join('%s ansible_connection=local ansible_python_interpreter=%s\n' % (host, sys.executable)
                                 for host in ('ecs', 'sts')))
    tasks = [
        {'name': 'create', 'alicloud.ram.ram_instance_role': {'name': ROLE}, 'when': "inventory_hostname == 'ecs'"},
        {'name': 'attach right away', 'alicloud.ram.ecs_instance_role_attachment': {
            'role_name': ROLE, 'instance_ids': ids, 'wait': True}, 'when': "inventory_hostname == 'ecs'"},
        {'name': 'create second', 'alicloud.ram.ram_instance_role': {
            'name': ROLE + '-sts', 'assume_role_policy_document': ACCOUNT_AND_ECS_TRUST}, 'when': "inventory_hostname == 'sts'"},
        {'name': 'assume it right away', 'alicloud.ram.ram_instance_role_info': {
            'name': ROLE + '-sts', 'assume_role': {'role_arn': arn, 'session_name': 'reliability'}},
         'when': "inventory_hostname == 'sts'"},
    ]
    play = {'name': 'visibility', 'hosts': 'all', 'gather_facts': False, 'strategy': 'free', 'module_defaults': runner.module_defaults(),
            'tasks': tasks}
    playbook = tmp_path / 'visibility.yml'
    playbook.write_text(json.dumps([play], indent=2))
    emu.set_faults(role_visibility_calls=INVISIBLE_FOR)
    started = time.monotonic()

    res = runner.run_playbook(playbook, extra_args=('-i', str(inventory), '-f', '2'))

    elapsed = time.monotonic() - started
    assert holders(emu.state(), ROLE) == sorted(ids), res
    calls = emu.calls()
    refused = [c for c in calls if c['action'] == 'AttachInstanceRamRole' and c['code'] == 'InvalidRamRole.NotFound']
    accepted = [c for c in calls if c['action'] == 'AttachInstanceRamRole' and c['status'] == 200]
    sts_refused = [c for c in calls if c['action'] == 'AssumeRole' and c['code'] == 'EntityNotExist.Role']
    assert len(refused) == INVISIBLE_FOR and accepted, 'the visibility window was not exercised by the attach'
    assert len(sts_refused) == INVISIBLE_FOR, 'the visibility window was not exercised by AssumeRole'
    assumed = next(r for r in res.results if r['task'] == 'assume it right away' and r['host'] == 'sts')
    assert assumed['status'] == 'ok' and [r['role_name'] for r in assumed['result']['roles']] == [ROLE + '-sts'], assumed
    print('\nRELIABILITY visibility: window=%d lookups refused_attaches=%d refused_assume_role=%d converged=2 seconds=%.0f' % (
        INVISIBLE_FOR, len(refused), len(sts_refused), elapsed))
