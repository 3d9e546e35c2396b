# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alicloud.ram.instance_role role through the collection's own playbooks/, against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP = REPO_ROOT / 'playbooks' / 'instance_role_setup.yml'
TEARDOWN = REPO_ROOT / 'playbooks' / 'instance_role_teardown.yml'
ROLE_NAME = 'demo-app-oss-reader'  # playbooks/vars/instance_role.yml
CUSTOM_POLICY = 'demo-app-oss-reader-logs'
SYSTEM_POLICY = 'AliyunOSSReadOnlyAccess'
USER = 'app-deployer'


@pytest.fixture
def setup_vars(emu):
    """Extra vars for the playbooks: the emulator's VPC instances and one existing RAM user."""
    emu.create_user(USER)
    vpc_ids = [i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc']
    assert len(vpc_ids) >= 2
    return {'instance_role_instance_ids': vpc_ids, 'instance_role_users': [USER]}


def _role(state, name=ROLE_NAME):
    return next((r for r in state['roles'] if r['RoleName'] == name), None)


def _user(state, name=USER):
    return next(u for u in state['users'] if u['UserName'] == name)


def _task(res, name):
    """The last result of a task called ``name``, inside the role (``<role> : name``) or not."""
    for item in reversed(res.results):
        if item['task'] == name or item['task'].endswith(' : ' + name):
            return item
    raise AssertionError('no result for task %r; recorded: %r' % (name, [i['task'] for i in res.results]))


def _instances_holding(state, name=ROLE_NAME):
    return sorted(i['InstanceId'] for i in state['instances'] if i['RamRoleName'] == name)


def _hardened(emu):
    return sorted(i['InstanceId'] for i in emu.instances() if i['MetadataOptions']['HttpTokens'] == 'required')


def test_setup_creates_role_policies_attachments_and_grant(runner, emu, setup_vars):
    res = runner.run_playbook(SETUP, extra_vars=setup_vars)

    assert res.recap['changed'] >= 4, res
    state = emu.state()
    role = _role(state)
    assert role is not None, state['roles']
    assert role['Description'] == 'Demo application servers read their assets from OSS'
    attached = {(p['PolicyName'], p['PolicyType']) for p in role['policies']}
    assert attached == {(SYSTEM_POLICY, 'System'), (CUSTOM_POLICY, 'Custom')}
    assert _instances_holding(state) == sorted(setup_vars['instance_role_instance_ids'])
    assert _hardened(emu) == sorted(setup_vars['instance_role_instance_ids']), 'the vars file asks for hardened mode'
    assert [p['PolicyType'] for p in _user(state)['policies']] == ['Custom']
    summary = _task(res, 'Show what the role set up')['result']['msg']
    assert set(summary['metadata_options']) == set(setup_vars['instance_role_instance_ids'])
    assert {o['http_tokens'] for o in summary['metadata_options'].values()} == {'required'}
    assert summary['arn'] == 'acs:ram::%s:role/%s' % (emu.account_id, ROLE_NAME)
    assert sorted(summary['policies']) == sorted([SYSTEM_POLICY, CUSTOM_POLICY])
    assert summary['users'] == [USER]


def test_check_mode_on_a_fresh_account_predicts_changes_and_writes_nothing(runner, emu, setup_vars):
    res = runner.run_playbook(SETUP, extra_vars=setup_vars, check=True)

    assert _task(res, 'Create or update the RAM role that ECS assumes, %s' % ROLE_NAME)['changed'], res
    # every later step predicts its part for the role the first step would create
    policies = _task(res, 'Attach the policies to the role %s' % ROLE_NAME)
    assert policies['changed'], res
    assert sorted(p['name'] for p in policies['result']['attached']) == sorted([SYSTEM_POLICY, CUSTOM_POLICY])
    assert policies['result']['created_policies'] == [CUSTOM_POLICY]
    attachment = _task(res, 'Attach the role to the listed ECS instances')
    assert attachment['changed'], res
    assert sorted(attachment['result']['changed_instance_ids']) == sorted(setup_vars['instance_role_instance_ids'])
    metadata = _task(res, 'Enforce the metadata access mode on the role\'s instances')
    assert sorted(metadata['result']['changed_instance_ids']) == sorted(setup_vars['instance_role_instance_ids'])
    grants = _task(res, 'Allow the RAM users to pass the role to instances')
    assert grants['changed'], res
    grant = grants['result']['results'][0]
    assert grant['role_arn'] is None and grant['policy_action'] == 'create'
    for item in (policies['result'], attachment['result']):
        assert any('does not exist yet' in w for w in item.get('warnings', [])), item
    assert 'role %s does not exist yet; predicting as if an earlier task creates it' % ROLE_NAME in res.stderr
    summary = _task(res, 'Show what the role set up')['result']['msg']
    assert sorted(summary['policies']) == sorted([SYSTEM_POLICY, CUSTOM_POLICY])
    assert emu.write_calls() == [], res
    state = emu.state()
    assert state['roles'] == [] and state['policies'] == [], state
    assert _user(state)['policies'] == []
    assert _hardened(emu) == []


def test_teardown_keeps_a_custom_policy_another_role_still_uses(runner, emu, setup_vars):
    runner.run_playbook(SETUP, extra_vars=setup_vars)
    runner.run_tasks([
        {'name': 'another role', 'alicloud.ram.ram_instance_role': {'name': 'other-app'}},
        {'name': 'shares the custom policy', 'alicloud.ram.ram_role_policy': {
            'role_name': 'other-app', 'policies': [{'name': CUSTOM_POLICY, 'type': 'Custom'}]}},
    ])

    runner.run_playbook(TEARDOWN, extra_vars=setup_vars)

    state = emu.state()
    assert _role(state) is None
    assert [p['PolicyName'] for p in state['policies']] == [CUSTOM_POLICY]
    assert [p['PolicyName'] for p in _role(state, 'other-app')['policies']] == [CUSTOM_POLICY]


def test_tagged_instances_get_the_role_and_hardened_mode_and_lose_only_the_role_on_teardown(runner, emu, setup_vars):
    listed = setup_vars['instance_role_instance_ids'][:1]
    tagged = emu.seed_instances(3, tags={'app': 'demo-app'})
    emu.seed_instances(2, tags={'app': 'other'})
    extra = dict(setup_vars, instance_role_instance_ids=listed, instance_role_instance_tags={'app': 'demo-app'})

    res = runner.run_playbook(SETUP, extra_vars=extra)

    wanted = sorted(listed + tagged)
    assert _instances_holding(emu.state()) == wanted
    assert _hardened(emu) == wanted
    assert sorted(_task(res, 'Show what the role set up')['result']['msg']['metadata_options']) == wanted
    emu.clear_calls()

    again = runner.run_playbook(SETUP, extra_vars=extra)

    assert again.recap['changed'] == 0, again
    assert emu.write_calls() == [], again

    runner.run_playbook(TEARDOWN, extra_vars=extra)

    assert _instances_holding(emu.state()) == []
    assert _hardened(emu) == wanted


def test_metadata_mode_unset_leaves_the_instances_alone(runner, emu, setup_vars):
    res = runner.run_tasks([
        {'name': 'apply the role', 'ansible.builtin.include_role': {'name': 'alicloud.ram.instance_role'},
         'vars': {'instance_role_name': 'plain-app', 'instance_role_instance_ids': setup_vars['instance_role_instance_ids']}},
    ])

    assert _task(res, 'Enforce the metadata access mode on the role\'s instances')['status'] == 'skipped'
    assert _instances_holding(emu.state(), 'plain-app') == sorted(setup_vars['instance_role_instance_ids'])
    assert _hardened(emu) == []
    assert not [c for c in emu.calls() if c['action'] == 'ModifyInstanceMetadataOptions']


@pytest.mark.parametrize('bad_vars, message', [
    ({'instance_role_name': 'app', 'instance_role_state': 'maybe'}, 'instance_role_state'),
    ({'instance_role_state': 'present'}, 'instance_role_name'),
    ({'instance_role_name': 'app', 'instance_role_instance_ids': 'i-not-a-list', 'instance_role_force': 'perhaps'},
     'instance_role_force'),
    ({'instance_role_name': 'app', 'instance_role_metadata_http_tokens': 'always'}, 'instance_role_metadata_http_tokens'),
    ({'instance_role_name': 'app', 'instance_role_instance_tags': ['app=web']}, 'instance_role_instance_tags'),
])
def test_argument_specs_reject_bad_variables_before_any_api_call(runner, emu, bad_vars, message):
    res = runner.run_tasks([
        {'name': 'apply the role', 'ansible.builtin.include_role': {'name': 'alicloud.ram.instance_role'},
         'vars': bad_vars},
    ], expect_failure=True)

    failure = _task(res, 'Validating arguments against arg spec \'main\' - '
                         'Set up or tear down an Alibaba Cloud instance RAM role end to end')
    assert failure['status'] == 'failed', res
    assert message in failure['result']['msg'], failure
    assert emu.calls() == [], res


def _role_run(runner, role_vars, check=False):
    return runner.run_tasks([
        {'name': 'apply the role', 'ansible.builtin.include_role': {'name': 'alicloud.ram.instance_role'}, 'vars': role_vars},
        {'name': 'result', 'ansible.builtin.debug': {'var': 'instance_role_result'}},
    ], check=check)


def _trust_services(state, name):
    document = json.loads(_role(state, name)['AssumeRolePolicyDocument'])
    return sorted(service for statement in document['Statement'] for service in statement['Principal']['Service'])


# Each list variable given as one string works like the one-item list, in the setup and in the teardown
# (a string with commas like the list of its items); nothing is half done.
@pytest.mark.parametrize('variable', ['instance_role_users', 'instance_role_instance_ids', 'instance_role_policies',
                                      'instance_role_trusted_services'])
def test_a_list_variable_given_as_a_string_works_like_a_one_item_list(runner, emu, setup_vars, variable):
    name = 'string-' + variable.replace('_', '-')
    instance = setup_vars['instance_role_instance_ids'][0]
    value = {
        'instance_role_users': USER,
        'instance_role_instance_ids': instance,
        'instance_role_policies': SYSTEM_POLICY,
        'instance_role_trusted_services': 'ecs.aliyuncs.com',
    }[variable]
    role_vars = {'instance_role_name': name, variable: value}

    summary = _role_run(runner, role_vars).module_result('result')['instance_role_result']

    state = emu.state()
    assert _trust_services(state, name) == ['ecs.aliyuncs.com']
    if variable == 'instance_role_users':
        assert summary['granted_users'] == [USER]
        assert len(_user(state)['policies']) == 1
    if variable == 'instance_role_instance_ids':
        assert summary['attachments'] == {instance: name}
        assert _instances_holding(state, name) == [instance]
    if variable == 'instance_role_policies':
        assert summary['attached_policy_names'] == [SYSTEM_POLICY]

    summary = _role_run(runner, dict(role_vars, instance_role_state='absent')).module_result('result')['instance_role_result']

    state = emu.state()
    assert _role(state, name) is None
    assert _user(state)['policies'] == [] and _instances_holding(state, name) == [] and state['policies'] == []
    if variable == 'instance_role_users':
        assert summary['revoked_users'] == [USER]
    if variable == 'instance_role_instance_ids':
        assert summary['detached_instance_ids'] == [instance]


def test_a_string_with_commas_is_the_list_of_its_items(runner, emu, setup_vars):
    emu.create_user('second-deployer')
    ids = setup_vars['instance_role_instance_ids'][:2]
    role_vars = {'instance_role_name': 'comma-app', 'instance_role_users': '%s, second-deployer' % USER,
                 'instance_role_instance_ids': ','.join(ids), 'instance_role_trusted_services': 'ecs.aliyuncs.com,fc.aliyuncs.com'}

    summary = _role_run(runner, role_vars).module_result('result')['instance_role_result']

    assert summary['granted_users'] == [USER, 'second-deployer']
    assert summary['attachments'] == {ids[0]: 'comma-app', ids[1]: 'comma-app'}
    assert _trust_services(emu.state(), 'comma-app') == ['ecs.aliyuncs.com', 'fc.aliyuncs.com']


@pytest.mark.parametrize('variable, value', [
    ('instance_role_users', {'alice': 'admin'}),
    ('instance_role_policies', {'name': SYSTEM_POLICY}),
    ('instance_role_instance_ids', {'i-abc': True}),
])
def test_a_list_variable_of_another_shape_is_refused_before_any_call(runner, emu, variable, value):
    res = runner.run_tasks([
        {'name': 'apply the role', 'ansible.builtin.include_role': {'name': 'alicloud.ram.instance_role'},
         'vars': {'instance_role_name': 'shape-app', variable: value}},
    ], expect_failure=True)

    assert variable in res.stdout, res
    assert emu.calls() == [], res
