# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Races: many Ansible workers converge the same role, policies, attachments and grant at the same moment.

One ansible-playbook run with ``forks`` equal to the number of inventory hosts; every host is the
local machine (``ansible_connection=local``), so with the linear strategy each task runs
RACERS times in parallel against the same emulator account. Every run must succeed (the
"already exists / already attached" answers of the losers absorbed) and leave exactly one role,
one custom policy with one version, the right attachments and one grant.
"""

from __future__ import annotations

import json
import sys

RACERS = 10
ROLE = 'race-app'
CUSTOM = 'race-app-logs'
USER = 'race-deployer'
OSS = 'AliyunOSSReadOnlyAccess'
DOC = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': ['log:PostLogStoreLogs'], 'Resource': ['acs:log:*:*:project/race/*']}]}


def write_playbook(runner, tmp_path, ids, state='present'):
    inventory = tmp_path / 'racers.ini'
    inventory.write_text('[racers]\n' + ''.join(
        'racer%02d ansible_connection=local ansible_python_interpreter=%s\n' % (n, sys.executable) for n in range(RACERS)))
    play = {
        'name': 'race', 'hosts': 'racers', 'gather_facts': False,
        'module_defaults': runner.module_defaults(),
        'tasks': [{'name': 'instance role', 'ansible.builtin.include_role': {'name': 'alicloud.ram.instance_role'}, 'vars': {
            'instance_role_name': ROLE,
            'instance_role_state': state,
            'instance_role_description': 'raced by %d workers' % RACERS,
            'instance_role_tags': {'suite': 'races'},
            'instance_role_policies': [OSS, {'name': CUSTOM, 'type': 'Custom', 'document': DOC}],
            'instance_role_delete_custom_policies': True,
            'instance_role_instance_ids': ids,
            'instance_role_users': [USER],
            'instance_role_wait': True,
        }}],
    }
    playbook = tmp_path / ('race-%s.yml' % state)
    playbook.write_text(json.dumps([play], indent=2))
    return playbook, inventory


def test_parallel_workers_converge_one_role_policies_attachments_and_grant(runner, emu, tmp_path):
    emu.create_user(USER)
    emu.set_faults(attach_same_role='failure')
    ids = [i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc'] + emu.seed_instances(5)
    playbook, inventory = write_playbook(runner, tmp_path, ids)

    # every worker reads the role before any of them creates it: the first RACERS GetRole calls wait for each other
    with emu.barrier(RACERS, action='GetRole', timeout=600):
        res = runner.run_playbook(playbook, extra_args=('-i', str(inventory), '-f', str(RACERS)))

    hosts = [h for h in res.recap_by_host if h.startswith('racer')]
    failed = [r for r in res.results if r['status'] in ('failed', 'unreachable')]
    codes = {}
    for call in emu.calls():
        if call['code']:
            codes[call['code']] = codes.get(call['code'], 0) + 1
    attach_calls = sum(1 for c in emu.calls() if c['action'] == 'AttachInstanceRamRole')
    print('\nRELIABILITY races: workers=%d failed_tasks=%d absorbed_conflicts=%s attach_calls=%d' % (
        len(hosts), len(failed), codes, attach_calls))
    assert len(hosts) == RACERS, res
    assert failed == [], failed
    assert all(counts['failed'] == 0 and counts['unreachable'] == 0 for counts in res.recap_by_host.values()), res

    state = emu.state()
    assert [r['RoleName'] for r in state['roles']] == [ROLE], state['roles']
    role = state['roles'][0]
    assert sorted((p['PolicyType'], p['PolicyName']) for p in role['policies']) == [('Custom', CUSTOM), ('System', OSS)]
    policies = sorted(p['PolicyName'] for p in state['policies'])
    assert policies == sorted([CUSTOM, 'PassRole-%s' % ROLE]), policies
    assert all(len(p['versions']) == 1 for p in state['policies']), state['policies']
    assert sorted(i['InstanceId'] for i in state['instances'] if i['RamRoleName'] == ROLE) == sorted(ids)
    user = next(u for u in state['users'] if u['UserName'] == USER)
    assert [(p['PolicyType'], p['PolicyName']) for p in user['policies']] == [('Custom', 'PassRole-%s' % ROLE)]
    creates = [c for c in emu.calls() if c['action'] == 'CreateRole' and c['status'] == 200]
    assert len(creates) == 1, creates
    attach_tasks = [r for r in res.results if r['action'] == 'alicloud.ram.ecs_instance_role_attachment']
    assert len(attach_tasks) == RACERS and all(r['result']['failed_instances'] == [] for r in attach_tasks), attach_tasks
    # every instance was attached by exactly one worker: the others did not count it as their change
    changed_ids = sorted(i for r in attach_tasks for i in r['result']['changed_instance_ids'])
    assert changed_ids == sorted(ids), changed_ids

    # and all of them tearing it down at once: every worker reads before any of them revokes the grant
    playbook, inventory = write_playbook(runner, tmp_path, ids, state='absent')
    with emu.barrier(RACERS, action='GetRole', timeout=600):
        res = runner.run_playbook(playbook, extra_args=('-i', str(inventory), '-f', str(RACERS)))
    failed = [r for r in res.results if r['status'] in ('failed', 'unreachable')]
    print('RELIABILITY races teardown: workers=%d failed_tasks=%d' % (RACERS, len(failed)))
    assert failed == [], failed
    state = emu.state()
    assert state['roles'] == [] and state['policies'] == [], state
    assert [i['InstanceId'] for i in state['instances'] if i['RamRoleName']] == []
