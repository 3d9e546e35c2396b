# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Results tell the truth when a run stops half-way, in every module that writes.

* A failure after a write (the next call denied, some instances failing) reports ``changed=true``
  and lists what was done; the next run does only what is left.
* A write whose reply was lost (it took effect, the connection dropped, the retry met "already
  exists" / "already attached" / "not found") counts as done and changed; the next run makes no write.

Each scenario is one playbook in which ``ansible.builtin.uri`` tasks switch the emulator's faults
between the module tasks (the control API needs no signature), so every module meets its fault in
one run. Each test prints one ``RELIABILITY`` line with its figures (pytest ``-s`` or ``-rA``).
"""

from __future__ import annotations

import json
import random
import time

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ram20150501 import models as ram_models

from tests.emulator.sdkhelpers import ECS_TRUST, clients

ROLE = 'pw-app'
OTHER_ROLE = 'pw-other'
CUSTOM = 'pw-logs'
USER = 'pw-deployer'
PASS_ROLE = 'PassRole-%s' % ROLE
OSS = 'AliyunOSSReadOnlyAccess'
DOC = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': ['log:PostLogStoreLogs'], 'Resource': ['acs:log:*:*:project/pw/*']}]}
META = 'alicloud.ram.ecs_instance_metadata_options'
MODIFY = 'ModifyInstanceMetadataOptions'
THROTTLE = 0.5


def faults_task(emu, **settings):
    """A task that changes the emulator's fault settings from inside the playbook."""
    return {'name': 'faults %s' % json.dumps(settings, sort_keys=True), 'changed_when': False, 'ansible.builtin.uri': {
        'url': '%s/_emulator/faults' % emu.url, 'method': 'POST', 'body_format': 'json', 'body': settings, 'use_proxy': False}}


def module_task(title, module, **args):
    return {'name': title, 'alicloud.ram.%s' % module: args, 'ignore_errors': True}


def playbook(emu, steps, with_faults=True):
    """``steps``: (fault settings or None, task); the fault tasks are left out when ``with_faults`` is false."""
    tasks = []
    for settings, task in steps:
        if with_faults and settings is not None:
            tasks.append(faults_task(emu, **settings))
        tasks.append(task)
    return tasks


def throttle_seed(pattern, rate=THROTTLE):
    """A fault seed whose first draws pass (``.``) or throttle (``T``) the API calls as ``pattern`` says."""
    for seed in range(100000):
        draws = random.Random(seed)
        if all((draws.random() < rate) == (mark == 'T') for mark in pattern):
            return seed
    raise AssertionError('no seed for %s' % pattern)


def module_results(res, steps):
    return [res.by_name(task['name']) for _settings, task in steps]


def successful_writes(calls):
    """``(action, main parameter)`` of the writes that took effect (answered 200, or carried out and the answer lost)."""
    keys = ('RoleName', 'UserName', 'PolicyName', 'InstanceIds', 'InstanceId')
    writes = []
    for call in calls:
        if call['write'] and (call['status'] == 200 or call.get('lost_reply')):
            value = next((call['params'][k] for k in keys if k in call['params']), None)
            writes.append((call['action'], json.loads(value) if call['action'].endswith('InstanceRamRole') else value))
    return writes


def state_of(emu):
    state = emu.state()
    roles = dict((r['RoleName'], r) for r in state['roles'])
    policies = dict((p['PolicyName'], p) for p in state['policies'])
    users = dict((u['UserName'], sorted(p['PolicyName'] for p in u['policies'])) for u in state['users'])
    held = dict((i['InstanceId'], i['RamRoleName']) for i in state['instances'])
    tokens = dict((i['InstanceId'], (i.get('MetadataOptions') or {}).get('HttpTokens')) for i in state['instances'])
    return roles, policies, users, held, tokens


def seed_account(emu):
    """The role (description 'one', tag a=1), the user, instances: two free, one holding another role, four for metadata."""
    ram, ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name=ROLE, assume_role_policy_document=ECS_TRUST, description='one',
                                                 tag=[ram_models.CreateRoleRequestTag(key='a', value='1')]))
    ram.create_role(ram_models.CreateRoleRequest(role_name=OTHER_ROLE, assume_role_policy_document=ECS_TRUST))
    emu.create_user(USER)
    ids = [i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc'][:3]
    ecs.attach_instance_ram_role(ecs_models.AttachInstanceRamRoleRequest(
        region_id='cn-hangzhou', ram_role_name=OTHER_ROLE, instance_ids=json.dumps(ids[2:3])))
    return ids, emu.seed_instances(4)


def test_a_failure_after_a_write_reports_changed_and_what_was_done_in_every_write_module(runner, emu):
    ids, meta_ids = seed_account(emu)
    # the metadata module's reads pass, then its four one-instance writes alternate between passing and throttled
    seed = throttle_seed('..T.T')
    denied = ['TagResources', 'AttachPolicyToRole', 'AttachPolicyToUser', 'DetachInstanceRamRole']
    steps = [
        ({'deny_actions': denied}, module_task('role: update, then tag denied', 'ram_instance_role',
                                               name=ROLE, description='two', tags={'a': '1', 'b': '2'})),
        (None, module_task('policies: create, then attach denied', 'ram_role_policy',
                           role_name=ROLE, policies=[{'name': CUSTOM, 'document': DOC}])),
        (None, module_task('grant: create, then attach denied', 'ram_user_role_grant', user_name=USER, role_name=ROLE)),
        (None, module_task('attach: two attached, the detach of the third denied', 'ecs_instance_role_attachment',
                           role_name=ROLE, instance_ids=ids, force=True)),
        ({'deny_actions': [], 'throttle_rate': THROTTLE, 'seed': seed}, module_task(
            'metadata: some instances throttled', 'ecs_instance_metadata_options',
            instance_ids=meta_ids, http_tokens='required', concurrency=1, retries=0)),
        ({'throttle_rate': 0}, {'name': 'end of the faults', 'ansible.builtin.debug': {'msg': 'faults off'}}),
    ]
    emu.clear_calls()
    started = time.monotonic()

    res = runner.run_tasks(playbook(emu, steps))

    elapsed = time.monotonic() - started
    role, policies, grant, attach, meta = module_results(res, steps)[:5]
    for item in (role, policies, grant, attach, meta):
        assert item['status'] == 'failed' and item['changed'] is True, item
        assert '\n' not in item['result']['msg'] and 'Traceback' not in json.dumps(item['result']), item['result']['msg']
    for item in (role, policies, grant):
        assert item['result']['error']['code'] == 'NoPermission', item['result']
    out = role['result']
    assert 'tag role %s' % ROLE in out['msg']
    assert out['role']['description'] == 'two' and out['role']['tags'] == {'a': '1'}, out['role']
    out = policies['result']
    assert out['created_policies'] == [CUSTOM] and out['attached'] == [] and out['attached_policies'] == [], out
    assert 'attach Custom policy %s to role %s failed: NoPermission' % (CUSTOM, ROLE) in out['msg']
    out = grant['result']
    assert out['created_policies'] == [PASS_ROLE] and out['attached_to'] == [] and out['attached'] is False, out
    out = attach['result']
    assert out['changed_instance_ids'] == ids[:2], out
    assert [(f['instance_id'], f['code']) for f in out['failed_instances']] == [(ids[2], 'NoPermission')], out
    assert out['attachments'] == {ids[0]: ROLE, ids[1]: ROLE, ids[2]: OTHER_ROLE}, out
    out = meta['result']
    modifies = [c for c in emu.calls() if c['action'] == MODIFY]
    passed = [c['params']['InstanceId'] for c in modifies if c['status'] == 200]
    throttled = [c['params']['InstanceId'] for c in modifies if c['code'] == 'Throttling.User']
    assert passed and throttled and sorted(passed + throttled) == sorted(meta_ids), modifies
    assert out['changed_instance_ids'] == passed, out
    assert sorted(f['instance_id'] for f in out['failed_instances']) == sorted(throttled), out
    assert {f['code'] for f in out['failed_instances']} == {'Throttling.User'}
    assert dict((i, out['instances'][i]['http_tokens']) for i in meta_ids) == dict(
        (i, 'required' if i in passed else 'optional') for i in meta_ids), out['instances']
    # the call log: exactly these writes took effect
    assert successful_writes(emu.calls()) == [
        ('UpdateRole', ROLE), ('CreatePolicy', CUSTOM), ('CreatePolicy', PASS_ROLE),
        ('AttachInstanceRamRole', ids[:2])] + [(MODIFY, i) for i in passed], emu.calls()
    roles, stored, users, held, tokens = state_of(emu)
    assert roles[ROLE]['Description'] == 'two' and sorted(tuple(t) for t in roles[ROLE]['tags']) == [('a', '1')]
    assert roles[ROLE]['policies'] == [] and sorted(stored) == sorted([CUSTOM, PASS_ROLE]) and users[USER] == []
    assert [held[i] for i in ids] == [ROLE, ROLE, OTHER_ROLE]
    assert [tokens[i] for i in meta_ids] == ['required' if i in passed else 'optional' for i in meta_ids]
    figures = 'tasks=5 failed_changed=5 api_calls=%d writes_done=%d writes_refused=%d seconds=%.0f' % (
        len(emu.calls()), len(successful_writes(emu.calls())), sum(1 for c in emu.calls() if c['write'] and c['status'] != 200), elapsed)

    # the next run, faults gone, does only what was left
    emu.clear_calls()
    again = runner.run_tasks(playbook(emu, steps, with_faults=False))

    assert all(item['status'] == 'changed' for item in module_results(again, steps)[:5]), again
    assert again.by_name(steps[1][1]['name'])['result']['created_policies'] == []
    assert again.by_name(steps[2][1]['name'])['result']['created_policies'] == []
    assert again.by_name(steps[3][1]['name'])['result']['changed_instance_ids'] == ids[2:]
    assert sorted(successful_writes(emu.calls())) == sorted(
        [('TagResources', None), ('AttachPolicyToRole', ROLE), ('AttachPolicyToUser', USER),
         ('DetachInstanceRamRole', ids[2:]), ('AttachInstanceRamRole', ids[2:])]
        + [(MODIFY, i) for i in throttled]), emu.calls()
    print('\nRELIABILITY failure after a write: %s; next run: writes=%d (only what was left)' % (
        figures, len(successful_writes(emu.calls()))))


def lost(*actions, **more):
    return dict(lose_reply_actions=list(actions), **more)


def test_lost_replies_count_as_done_and_changed_in_every_write_module_and_a_rerun_writes_nothing(runner, emu):
    emu.create_user(USER)
    ids = [i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc']
    role_args = dict(name=ROLE, description='lost replies', tags={'suite': 'lost'})
    updated_args = dict(name=ROLE, description='lost replies, updated', tags={'suite': 'lost', 'b': '2'})
    setup = [
        (lost('CreateRole'), module_task('role: create', 'ram_instance_role', **role_args)),
        (lost('UpdateRole', 'TagResources'), module_task('role: update', 'ram_instance_role', **updated_args)),
        (lost('CreatePolicy', 'AttachPolicyToRole', 'AttachPolicyToRole'), module_task(
            'policies: create and attach', 'ram_role_policy', role_name=ROLE, policies=[OSS, {'name': CUSTOM, 'document': DOC}])),
        (lost('AttachInstanceRamRole', attach_same_role='failure'), module_task(
            'attach', 'ecs_instance_role_attachment', role_name=ROLE, instance_ids=ids)),
        (lost('CreatePolicy', 'AttachPolicyToUser'), module_task('grant', 'ram_user_role_grant', user_name=USER, role_name=ROLE)),
        (lost(MODIFY), module_task('metadata', 'ecs_instance_metadata_options', instance_ids=ids, http_tokens='required', concurrency=1)),
    ]
    teardown = [
        (lost('DetachPolicyFromUser', 'DeletePolicy'), module_task(
            'revoke', 'ram_user_role_grant', user_name=USER, role_name=ROLE, state='absent')),
        # a lost DetachInstanceRamRole reply: test_a_lost_detach_reply_counts_as_done_and_changed
        (lost(), module_task('detach', 'ecs_instance_role_attachment', role_name=ROLE, instance_ids=ids, state='absent')),
        (lost('DetachPolicyFromRole', 'DetachPolicyFromRole', 'DeletePolicy'), module_task(
            'policies: detach and delete', 'ram_role_policy', role_name=ROLE, state='absent', delete_unused_custom_policies=True,
            policies=[OSS, {'name': CUSTOM, 'document': DOC}])),
        (lost('DeleteRole'), module_task('role: delete', 'ram_instance_role', name=ROLE, state='absent')),
    ]
    # steps whose outcome a later step changes: the rerun repeats only the final ones
    superseded = ('role: create',)
    figures = {'lost': 0, 'tasks': 0, 'calls': 0}

    def run(steps, label):
        emu.clear_calls()
        res = runner.run_tasks(playbook(emu, steps))
        calls = emu.calls()
        lost_calls = [c['action'] for c in calls if c.get('lost_reply')]
        wanted = sorted(a for settings, _task in steps for a in settings['lose_reply_actions'])
        assert sorted(lost_calls) == wanted, 'every listed reply was lost once: %s' % lost_calls
        items = module_results(res, steps)
        assert [(i['task'], i['status']) for i in items] == [(i['task'], 'changed') for i in items], res
        figures['lost'] += len(lost_calls)
        figures['tasks'] += len(items)
        figures['calls'] += len(calls)
        # the rerun: nothing left to do, no write call
        emu.set_faults(lose_reply_actions=[], attach_same_role='success')
        emu.clear_calls()
        final = [step for step in steps if step[1]['name'] not in superseded]
        again = runner.run_tasks(playbook(emu, final, with_faults=False))
        assert [i['changed'] for i in module_results(again, final)] == [False] * len(final), again
        assert [c for c in emu.calls() if c['write']] == [], '%s rerun wrote: %s' % (label, emu.calls())
        return dict((i['task'], i['result']) for i in items), calls

    started = time.monotonic()
    out, calls = run(setup, 'setup')
    roles, policies, users, held, tokens = state_of(emu)
    assert list(roles) == [ROLE] and roles[ROLE]['Description'] == 'lost replies, updated'
    assert sorted(tuple(t) for t in roles[ROLE]['tags']) == [('b', '2'), ('suite', 'lost')]
    assert out['role: create']['role']['role_id'] == roles[ROLE]['RoleId']
    assert out['policies: create and attach']['created_policies'] == [CUSTOM]
    assert sorted(p['name'] for p in out['policies: create and attach']['attached']) == sorted([OSS, CUSTOM])
    assert sorted((p['PolicyType'], p['PolicyName']) for p in roles[ROLE]['policies']) == [('Custom', CUSTOM), ('System', OSS)]
    assert out['attach']['changed_instance_ids'] == ids and out['attach']['failed_instances'] == []
    assert [held[i] for i in ids] == [ROLE] * len(ids)
    assert out['grant']['created_policies'] == [PASS_ROLE] and out['grant']['attached_to'] == ['user %s' % USER]
    assert users[USER] == [PASS_ROLE] and sorted(policies) == sorted([CUSTOM, PASS_ROLE])
    assert out['metadata']['changed_instance_ids'] == ids and [tokens[i] for i in ids] == ['required'] * len(ids)
    retried = sorted(set(c['code'] for c in calls if c['code']))

    out, calls = run(teardown, 'teardown')
    roles, policies, users, held, _tokens = state_of(emu)
    assert roles == {} and policies == {} and users[USER] == [] and [held[i] for i in ids] == [''] * len(ids)
    assert out['revoke']['detached_from'] == ['user %s' % USER] and out['revoke']['deleted_policies'] == [PASS_ROLE]
    assert out['detach']['changed_instance_ids'] == ids
    assert sorted(p['name'] for p in out['policies: detach and delete']['detached']) == sorted([OSS, CUSTOM])
    assert out['policies: detach and delete']['deleted_policies'] == [CUSTOM]
    retried += sorted(set(c['code'] for c in calls if c['code']))
    print('\nRELIABILITY lost replies: tasks=%(tasks)d api_calls=%(calls)d lost_replies=%(lost)d reruns_with_writes=0' % figures
          + ' retry_answers=%s seconds=%.0f' % (sorted(set(retried)), time.monotonic() - started))


def test_a_lost_new_version_reply_leaves_one_version_of_the_document(runner, emu):
    ram, _ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name=ROLE, assume_role_policy_document=ECS_TRUST))
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name=CUSTOM, policy_document=json.dumps(DOC)))
    emu.create_user(USER)
    new_doc = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': ['log:GetLogStore'], 'Resource': ['*']}]}
    steps = [
        (None, module_task('grant', 'ram_user_role_grant', user_name=USER, role_name=ROLE)),
        (lost('CreatePolicyVersion'), module_task('grant: narrower', 'ram_user_role_grant', user_name=USER, role_name=ROLE,
                                                  allow_instance_management=False)),
        (lost('CreatePolicyVersion'), module_task('policies: new document', 'ram_role_policy', role_name=ROLE,
                                                  policies=[{'name': CUSTOM, 'document': new_doc}])),
    ]
    res = runner.run_tasks(playbook(emu, steps))

    assert [i['status'] for i in module_results(res, steps)] == ['changed'] * 3, res
    assert [c['action'] for c in emu.calls() if c.get('lost_reply')] == ['CreatePolicyVersion'] * 2
    _roles, policies, _users, _held, _tokens = state_of(emu)
    assert [(name, sorted(v['VersionId'] for v in policies[name]['versions'])) for name in (PASS_ROLE, CUSTOM)] == [
        (PASS_ROLE, ['v1', 'v2']), (CUSTOM, ['v1', 'v2'])]


def test_a_lost_detach_reply_counts_as_done_and_changed(runner, emu):
    ram, ecs, _sts = clients(emu)
    ids = [i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc']
    for role, held in ((ROLE, ids[:2]), (OTHER_ROLE, ids[2:3])):
        ram.create_role(ram_models.CreateRoleRequest(role_name=role, assume_role_policy_document=ECS_TRUST))
        ecs.attach_instance_ram_role(ecs_models.AttachInstanceRamRoleRequest(
            region_id='cn-hangzhou', ram_role_name=role, instance_ids=json.dumps(held)))
    steps = [
        (lost('DetachInstanceRamRole'), module_task('detach', 'ecs_instance_role_attachment', role_name=ROLE, instance_ids=ids[:2],
                                                    state='absent')),
        (lost('DetachInstanceRamRole'), module_task('delete with force', 'ram_instance_role', name=OTHER_ROLE, state='absent',
                                                    force=True)),
    ]
    res = runner.run_tasks(playbook(emu, steps))

    assert [c['action'] for c in emu.calls() if c.get('lost_reply')] == ['DetachInstanceRamRole'] * 2
    _roles, _policies, _users, held, _tokens = state_of(emu)
    assert [held[i] for i in ids[:3]] == [''] * 3
    detach, delete = module_results(res, steps)
    assert (detach['status'], detach['result']['changed_instance_ids']) == ('changed', ids[:2]), detach['result']
    assert (delete['status'], delete['result']['detached_instance_ids']) == ('changed', ids[2:3]), delete['result']
