# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contention: three runs at once on the same things, every run ends ok.

One ansible-playbook run with three local inventory hosts and ``forks: 3``: each task runs three
times at the same moment. Three writers give one custom policy (already at the 5-version limit)
three different documents; then the three runs make identical attach, grant and metadata-option
changes, with the emulator refusing an attach of the role an instance already holds
(``attach_same_role: failure``, one of the two plausible answers of the real service). Latency on
every call widens the window between each run's reads and its writes.
"""

from __future__ import annotations

import json
import sys

from alibabacloud_ram20150501 import models as ram_models

from tests.emulator.sdkhelpers import ECS_TRUST, clients

WRITERS = 3
ROLE = 'cn-app'
CUSTOM = 'cn-contended'
USER = 'cn-deployer'


def document(tag):
    return {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': ['log:GetProject'], 'Resource': ['acs:log:*:*:project/%s' % tag]}]}


def same_document(stored, wanted):
    return json.loads(stored)['Statement'][0]['Resource'] in (wanted['Statement'][0]['Resource'], wanted['Statement'][0]['Resource'][0])


def test_three_runs_at_once_update_one_policy_and_make_identical_changes_all_ok(runner, emu, tmp_path):
    ram, _ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name=ROLE, assume_role_policy_document=ECS_TRUST))
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name=CUSTOM, policy_document=json.dumps(document('seed-1'))))
    for n in range(2, 6):
        ram.create_policy_version(ram_models.CreatePolicyVersionRequest(
            policy_name=CUSTOM, policy_document=json.dumps(document('seed-%d' % n)), set_as_default=True))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_name=CUSTOM, policy_type='Custom', role_name=ROLE))
    emu.create_user(USER)
    ids = emu.seed_instances(6)
    emu.set_faults(attach_same_role='failure')
    emu.clear_calls()
    inventory = tmp_path / 'writers.ini'
    inventory.write_text('[writers]\n' + ''.join('writer%d ansible_connection=local ansible_python_interpreter=%s writer=%d\n' % (
        n, sys.executable, n) for n in range(WRITERS)))

    def barrier(action):
        # before each step, a barrier for its first read: the three runs all read before any of them writes
        return {'name': 'barrier %s' % action, 'run_once': True, 'ansible.builtin.uri': {
            'url': emu.url + '/_emulator/barrier', 'method': 'POST', 'body_format': 'json',
            'body': {'count': WRITERS, 'action': action, 'timeout': 600}}}

    tasks = [
        barrier('GetPolicy'),
        {'name': 'policy', 'alicloud.ram.ram_role_policy': {
            'role_name': ROLE, 'policies': [{'name': CUSTOM, 'document': '{{ documents[writer | int] }}'}]}},
        barrier('DescribeInstanceRamRole'),
        {'name': 'attach', 'alicloud.ram.ecs_instance_role_attachment': {'role_name': ROLE, 'instance_ids': ids}},
        barrier('GetUser'),
        {'name': 'grant', 'alicloud.ram.ram_user_role_grant': {'user_name': USER, 'role_name': ROLE}},
        barrier('DescribeInstances'),
        {'name': 'metadata', 'alicloud.ram.ecs_instance_metadata_options': {'instance_ids': ids, 'http_tokens': 'required'}},
    ]
    play = {'name': 'contention', 'hosts': 'writers', 'gather_facts': False, 'module_defaults': runner.module_defaults(),
            'vars': {'documents': [json.dumps(document('writer-%d' % n)) for n in range(WRITERS)]}, 'tasks': tasks}
    playbook = tmp_path / 'contention.yml'
    playbook.write_text(json.dumps([play], indent=2))

    res = runner.run_playbook(playbook, extra_args=('-i', str(inventory), '-f', str(WRITERS)))

    by_task = dict((name, [r for r in res.results if r['task'] == name]) for name in ('policy', 'attach', 'grant', 'metadata'))
    assert all(len(items) == WRITERS and all(r['status'] in ('ok', 'changed') for r in items) for items in by_task.values()), res
    refusals = {}
    for call in emu.calls():
        if call['code']:
            refusals[call['code']] = refusals.get(call['code'], 0) + 1
    state = emu.state()
    # three writers, three documents: each stored as a version, at most five versions, the default one of them
    policy = next(p for p in state['policies'] if p['PolicyName'] == CUSTOM)
    versions = dict((v['VersionId'], v['PolicyDocument']) for v in policy['versions'])
    assert len(versions) <= 5, versions
    assert [n for n in range(WRITERS) if any(same_document(d, document('writer-%d' % n)) for d in versions.values())] == [0, 1, 2]
    assert any(same_document(versions[policy['DefaultVersion']], document('writer-%d' % n)) for n in range(WRITERS))
    assert all(r['result']['updated_policies'] == [CUSTOM] for r in by_task['policy'])
    # identical attaches: no failed instance, each instance counted by exactly one run
    assert all(r['result']['failed_instances'] == [] for r in by_task['attach'])
    assert sorted(i for r in by_task['attach'] for i in r['result']['changed_instance_ids']) == sorted(ids)
    assert sorted(i['InstanceId'] for i in state['instances'] if i['RamRoleName'] == ROLE) == sorted(ids)
    # identical grants: one policy, created and attached once
    assert [r['result']['created_policies'] for r in by_task['grant']].count(['PassRole-%s' % ROLE]) == 1
    user = next(u for u in state['users'] if u['UserName'] == USER)
    assert [p['PolicyName'] for p in user['policies']] == ['PassRole-%s' % ROLE]
    assert len([p for p in state['policies'] if p['PolicyName'] == 'PassRole-%s' % ROLE]) == 1
    # identical metadata changes (the call sets values, so a second run's call succeeds as well): no failure
    assert all(r['result']['failed_instances'] == [] for r in by_task['metadata'])
    assert set(i['MetadataOptions']['HttpTokens'] for i in state['instances'] if i['InstanceId'] in ids) == {'required'}
    attaches = [c for c in emu.calls() if c['action'] == 'AttachInstanceRamRole']
    print('\nRELIABILITY contention: runs=%d tasks=%d failed=0 api_calls=%d versions=%d attach_calls=%d refusals_absorbed=%s' % (
        WRITERS, WRITERS * len(by_task), len(emu.calls()), len(versions), len(attaches), refusals))
