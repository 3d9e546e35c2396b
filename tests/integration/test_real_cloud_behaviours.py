# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The APIs as the real services answer them (API_FACTS 1.8, 5.1-5.5, 9), each switched on in the emulator:
whole-state metadata writes, the global RAM endpoint, per-instance results without ``Success``, empty bodies,
lost answers on the last attempt, detaches decided by reads, lagging detaches under ``force``, released
instances in a batch, flow-control storms, limits as documented."""

from __future__ import annotations

import json
import threading

from cloud import attach_directly, calls_of, create_role, ids_in, roles_of, task
from network_helpers import CountingProxy

ATTACH = 'alicloud.ram.ecs_instance_role_attachment'
METADATA = 'alicloud.ram.ecs_instance_metadata_options'
ROLE = 'alicloud.ram.ram_instance_role'
POLICY = 'alicloud.ram.ram_role_policy'
GRANT = 'alicloud.ram.ram_user_role_grant'


def http_tokens(emu, ids):
    return dict((i['InstanceId'], i['MetadataOptions']) for i in emu.instances() if i['InstanceId'] in ids)


# 1 ----------------------------------------------------------------------------------------------

def test_metadata_options_are_written_as_the_whole_wanted_state(runner, emu):
    """HttpEndpoint is required by the API; an omitted HttpTokens falls back to optional (strict switch)."""
    emu.set_faults(strict_metadata_options=True)
    ids = emu.seed_instances(2)
    emu.clear_calls()
    res = runner.run_tasks([
        task(METADATA, 'harden', instance_ids=ids, http_tokens='required'),
        task(METADATA, 'endpoint off', instance_ids=[ids[0]], http_endpoint='disabled'),
        task(METADATA, 'endpoint on', instance_ids=[ids[0]], http_endpoint='enabled'),
    ])
    assert [res.by_name(n)['changed'] for n in ('harden', 'endpoint off', 'endpoint on')] == [True, True, True]
    sent = [(c['params']['InstanceId'], c['params'].get('HttpEndpoint'), c['params'].get('HttpTokens'), c['params'].get('InstanceMetadataTags'))
            for c in calls_of(emu, 'ModifyInstanceMetadataOptions')]
    assert sorted(sent[:2]) == sorted((i, 'enabled', 'required', None) for i in ids)
    # changing the endpoint keeps the instance hardened: the current HttpTokens travels with it
    assert sent[2:] == [(ids[0], 'disabled', 'required', None), (ids[0], 'enabled', 'required', None)]
    options = http_tokens(emu, ids)
    assert all(options[i]['HttpTokens'] == 'required' and options[i]['HttpEndpoint'] == 'enabled' for i in ids), options


# 2 ----------------------------------------------------------------------------------------------

def test_ram_calls_go_to_the_global_endpoint_in_regions_missing_from_the_sdk_map(runner, emu):
    """The proxy sees where the calls go: ram.aliyuncs.com, never an invented ram.<region>.aliyuncs.com."""
    with CountingProxy(refuse_tunnels=True) as proxy:
        res = runner.run_tasks([
            dict(task(ROLE, 'global', name='anywhere', region=region, retries=0, connect_timeout=2, https_proxy=proxy.url),
                 ignore_errors=True)
            for region in ('cn-guangzhou', 'me-central-1', 'na-south-1')
        ] + [dict(task(ROLE, 'vpc', name='anywhere', region='ap-southeast-7', network='vpc', retries=0, connect_timeout=2,
                       https_proxy=proxy.url), ignore_errors=True)],
            module_defaults={'group/alicloud.ram.alicloud': {'access_key_id': 'LTAI-test', 'access_key_secret': 'not-a-real-secret'}},
            env={'ALIBABA_CLOUD_RAM_ENDPOINT': None, 'ALIBABA_CLOUD_ECS_ENDPOINT': None, 'ALIBABA_CLOUD_STS_ENDPOINT': None})
    assert all(r['status'] == 'failed' for r in res.results)
    assert proxy.seen == ['CONNECT ram.aliyuncs.com:443'] * 3 + ['CONNECT ram.vpc-proxy.aliyuncs.com:443'], proxy.seen


# 3 and 6 --------------------------------------------------------------------------------------

def test_per_instance_results_without_success_and_detaches_decided_by_reads(runner, emu):
    emu.set_faults(results_without_success=True)
    create_role(emu, 'web')
    create_role(emu, 'other')
    ids = emu.seed_instances(3)
    emu.clear_calls()
    res = runner.run_tasks([task(ATTACH, 'attach', role_name='web', instance_ids=ids)])
    out = res.module_result('attach')
    assert out['changed'] is True and out['changed_instance_ids'] == ids and out['failed_instances'] == []
    assert roles_of(emu, ids) == dict((i, 'web') for i in ids)

    # ids[0] loses the role elsewhere, but the detach lags: the module's read still shows it holding web, its
    # detach meets a per-instance failure with an HTTP-like code, and the read that settles it shows the role gone
    from cloud import ecs  # pylint: disable=import-outside-toplevel
    from alibabacloud_ecs20140526 import models as ecs_models  # pylint: disable=import-outside-toplevel
    emu.set_faults(instance_codes='http', detach_visibility_reads=1)
    ecs(emu).detach_instance_ram_role(ecs_models.DetachInstanceRamRoleRequest(
        region_id='cn-hangzhou', ram_role_name='web', instance_ids=json.dumps([ids[0]])))
    emu.clear_calls()
    res = runner.run_tasks([task(ATTACH, 'detach', role_name='web', instance_ids=ids, state='absent')])
    out = res.module_result('detach')
    detach = calls_of(emu, 'DetachInstanceRamRole')
    assert len(detach) == 1 and ids_in(detach[0]) == ids
    assert out['failed_instances'] == [] and sorted(out['changed_instance_ids']) == sorted(ids[1:])
    assert roles_of(emu, ids) == dict((i, None) for i in ids)


# 4 ----------------------------------------------------------------------------------------------

def test_empty_answers_are_retried_and_settled_by_a_read(runner, emu):
    create_role(emu, 'web')
    ids = emu.seed_instances(2)
    emu.set_faults(empty_body_actions=['DescribeInstanceRamRole', 'AttachInstanceRamRole'])
    emu.clear_calls()
    res = runner.run_tasks([task(ATTACH, 'attach', role_name='web', instance_ids=ids)])
    out = res.module_result('attach')
    assert out['changed'] is True and out['changed_instance_ids'] == ids and out['failed_instances'] == []
    assert [c.get('empty_body', False) for c in calls_of(emu, 'AttachInstanceRamRole')][0] is True
    assert roles_of(emu, ids) == dict((i, 'web') for i in ids)
    emu.set_faults(empty_body_actions=[])
    emu.clear_calls()
    again = runner.run_tasks([task(ATTACH, 'attach', role_name='web', instance_ids=ids)])
    assert again.result(0)['changed'] is False and emu.write_calls() == []


# 5 ----------------------------------------------------------------------------------------------

def test_a_write_whose_last_attempt_lost_its_answer_is_settled_by_a_read(runner, emu):
    """retries: 0, every write's answer lost after it took effect: each counts as done and changed."""
    emu.create_user('alice')
    ids = emu.seed_instances(2)
    emu.set_faults(lose_reply_actions=['CreateRole', 'AttachPolicyToRole', 'AttachInstanceRamRole', 'AttachPolicyToUser',
                                       'ModifyInstanceMetadataOptions', 'DetachInstanceRamRole'])
    defaults = dict(retries=0)
    res = runner.run_tasks([
        task(ROLE, 'create', name='lost', **defaults),
        task(POLICY, 'policy', role_name='lost', policies=['AliyunOSSReadOnlyAccess'], **defaults),
        task(ATTACH, 'attach', role_name='lost', instance_ids=ids, **defaults),
        task(GRANT, 'grant', user_name='alice', role_name='lost', **defaults),
        task(METADATA, 'harden', instance_ids=ids, http_tokens='required', **defaults),
        task(ATTACH, 'detach', role_name='lost', instance_ids=[ids[1]], state='absent', **defaults),
    ])
    assert [r['status'] for r in res.results] == ['changed'] * 6, [r['result'].get('msg') for r in res.results]
    assert res.module_result('attach')['changed_instance_ids'] == ids
    assert res.module_result('detach')['changed_instance_ids'] == [ids[1]]
    assert res.module_result('harden')['changed_instance_ids'] == ids
    assert res.module_result('grant')['attached_to'] == ['user alice']
    assert res.module_result('policy')['attached'][0]['policy_name'] == 'AliyunOSSReadOnlyAccess'
    assert roles_of(emu, ids) == {ids[0]: 'lost', ids[1]: None}
    # nothing was sent twice
    writes = [c['action'] for c in emu.write_calls()]
    assert sorted(set(writes)) == sorted(writes) or writes.count('ModifyInstanceMetadataOptions') == 2, writes


# 7 ----------------------------------------------------------------------------------------------

def test_force_waits_for_a_lagging_detach_before_attaching(runner, emu):
    create_role(emu, 'old')
    create_role(emu, 'new')
    ids = emu.seed_instances(2)
    attach_directly(emu, 'old', ids)
    # the detach shows only after three more reads; until then an attach of another role is refused
    emu.set_faults(detach_visibility_reads=3)
    emu.clear_calls()
    res = runner.run_tasks([task(ATTACH, 'replace', role_name='new', instance_ids=ids, force=True)])
    out = res.module_result('replace')
    assert out['failed_instances'] == [] and sorted(out['changed_instance_ids']) == sorted(ids)
    assert roles_of(emu, ids) == dict((i, 'new') for i in ids)
    assert len(calls_of(emu, 'DetachInstanceRamRole')) == 1


# 8 ----------------------------------------------------------------------------------------------

def test_an_instance_released_between_read_and_write_does_not_sink_its_batch(runner, emu):
    create_role(emu, 'web')
    ids = emu.seed_instances(4)
    emu.clear_calls()
    released = threading.Event()

    def release_then_join():
        # wait until the module's attach is held at the barrier, release an instance, then be its second request
        pause = threading.Event()
        while emu.control('GET', 'barrier').get('state') == 'waiting' and not emu.control('GET', 'barrier').get('arrived'):
            pause.wait(0.05)
        emu.release_instances([ids[2]])
        released.set()
        attach_directly(emu, 'web', [ids[3]])

    with emu.barrier(2, action='AttachInstanceRamRole', timeout=600):
        thread = threading.Thread(target=release_then_join)
        thread.start()
        res = runner.run_tasks([dict(task(ATTACH, 'attach', role_name='web', instance_ids=ids), ignore_errors=True)])
        thread.join(60)
    assert released.is_set()
    out = res.module_result('attach')
    # the batch was refused as a whole; the module re-read it, dropped the released id and sent the rest again
    assert [f['instance_id'] for f in out['failed_instances']] == [ids[2]]
    assert out['failed_instances'][0]['code'] == 'InvalidInstanceId.NotFound'
    assert roles_of(emu, [ids[0], ids[1], ids[3]]) == {ids[0]: 'web', ids[1]: 'web', ids[3]: 'web'}
    attaches = [ids_in(c) for c in calls_of(emu, 'AttachInstanceRamRole') if c['status'] in (200, 404)]
    assert ids[2] not in attaches[-1] and out['changed'] is True


# 9 ----------------------------------------------------------------------------------------------

def test_limits_names_storms_and_refusals_as_documented(runner, emu):
    create_role(emu, 'app-role')
    vpc = emu.seed_instances(2)
    classic = emu.seed_instances(1, network_type='classic')
    unknown = 'i-doesnotexist0000001'
    emu.clear_calls()
    long_value = 'v' * 256
    multibyte = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'oss:GetObject', 'Resource': '*',
                                                'Condition': {'StringEquals': {'oss:Prefix': ['\u00e9' * 3100]}}}]}
    res = runner.run_tasks([
        task(ROLE, 'long tag', name='app-role', tags={'note': long_value}),
        dict(task(POLICY, 'bytes', role_name='app-role', policies=[{'name': 'too-big', 'document': multibyte}]), ignore_errors=True),
        task(ATTACH, 'as ram spells it', role_name='APP-ROLE', instance_ids=vpc),
        dict(task(ATTACH, 'refused', role_name='app-role', instance_ids=vpc + classic + [unknown]), ignore_errors=True),
    ])
    assert res.module_result('long tag')['role']['tags'] == {'note': long_value}
    assert 'bytes long once compacted (UTF-8); the limit is 6144 bytes' in res.module_result('bytes')['msg']
    assert [c['params']['RamRoleName'] for c in calls_of(emu, 'AttachInstanceRamRole')] == ['app-role']
    refused = res.module_result('refused')
    assert 'not found' in refused['msg'] and 'classic-network' in refused['msg'], refused['msg']
    assert sorted(f['instance_id'] for f in refused['failed_instances']) == sorted(classic + [unknown])
    assert not calls_of(emu, 'CreatePolicy')

    # throttling is retried beyond the retries count (within retry_timeout): four throttled calls in a row with retries: 2
    emu.set_faults(throttle_storm={'calls': 4})
    emu.clear_calls()
    stormy = runner.run_tasks([task(ATTACH, 'storm', role_name='app-role', instance_ids=vpc, state='absent', retries=2)])
    assert stormy.result(0)['changed'] is True and roles_of(emu, vpc) == dict((i, None) for i in vpc)
    assert [c['code'] for c in emu.calls()][:4] == ['Throttling.User'] * 4


# every switch at once, through the example role ----------------------------------------------------

def test_the_example_role_sets_up_reruns_and_tears_down_with_every_documented_behaviour_switched_on(runner, emu):
    """The role on a service that answers the way the documentation says, all at once: strict metadata options,
    results without Success, HTTP-like per-instance codes, lagging detaches, classic ids refused, one empty answer of
    each batch API, a short storm of flow control."""
    emu.create_user('role-deployer')
    ids = emu.seed_instances(3)
    emu.set_faults(strict_metadata_options=True, results_without_success=True, instance_codes='http', detach_visibility_reads=1,
                   empty_body_actions=['DescribeInstanceRamRole', 'AttachInstanceRamRole', 'DetachInstanceRamRole'],
                   throttle_storm={'calls': 2})
    role = {'name': 'role', 'ansible.builtin.include_role': {'name': 'alicloud.ram.instance_role'}, 'vars': {
        'instance_role_name': 'documented', 'instance_role_policies': ['AliyunOSSReadOnlyAccess'], 'instance_role_instance_ids': ids,
        'instance_role_users': ['role-deployer'], 'instance_role_metadata_http_tokens': 'required', 'instance_role_force': True}}
    first = runner.run_tasks([role])
    assert first.changed and roles_of(emu, ids) == dict((i, 'documented') for i in ids)
    assert all(o['HttpTokens'] == 'required' and o['HttpEndpoint'] == 'enabled' for o in http_tokens(emu, ids).values())
    emu.clear_calls()
    again = runner.run_tasks([role])
    assert not again.changed and emu.write_calls() == []
    teardown = dict(role, vars=dict(role['vars'], instance_role_state='absent'))
    gone = runner.run_tasks([teardown])
    assert gone.changed and roles_of(emu, ids) == dict((i, None) for i in ids)
    state = emu.state()
    assert state['roles'] == [] and [p['PolicyName'] for p in state['policies']] == []
