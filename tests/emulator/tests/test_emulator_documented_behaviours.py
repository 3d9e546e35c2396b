"""Documented real-cloud behaviours and the switches between them and the older emulator behaviours (API_FACTS 4, 5.1-5.5)."""

import json

import pytest
from alibabacloud_ecs20140526 import models as e
from alibabacloud_ram20150501 import models as m
from darabonba.exceptions import UnretryableException

from tests.emulator.sdkhelpers import ECS_TRUST, error_of, policy


def make_role(ram, name='ecs-role'):
    ram.create_role(m.CreateRoleRequest(role_name=name, assume_role_policy_document=ECS_TRUST))


def ids_of(emulator, network='vpc', region='cn-hangzhou'):
    return [i['InstanceId'] for i in emulator.instances(region) if i['InstanceNetworkType'] == network]


def attach(ecs, ids, role='ecs-role'):
    return ecs.attach_instance_ram_role(e.AttachInstanceRamRoleRequest(region_id='cn-hangzhou', ram_role_name=role,
                                                                       instance_ids=json.dumps(ids))).body


def detach(ecs, ids, role=None):
    return ecs.detach_instance_ram_role(e.DetachInstanceRamRoleRequest(region_id='cn-hangzhou', ram_role_name=role,
                                                                       instance_ids=json.dumps(ids))).body


def describe(ecs, ids=None, role=None):
    body = ecs.describe_instance_ram_role(e.DescribeInstanceRamRoleRequest(
        region_id='cn-hangzhou', instance_ids=json.dumps(ids) if ids else None, ram_role_name=role)).body
    return [(s.instance_id, s.ram_role_name) for s in body.instance_ram_role_sets.instance_ram_role_set]


def held_roles(emulator):
    return dict((i['InstanceId'], i['RamRoleName']) for i in emulator.instances())


def modify(ecs, instance_id, **options):
    return ecs.modify_instance_metadata_options(e.ModifyInstanceMetadataOptionsRequest(region_id='cn-hangzhou', instance_id=instance_id,
                                                                                       **options))


def options_of(emulator, instance_id):
    return dict((i['InstanceId'], i['MetadataOptions']) for i in emulator.instances())[instance_id]


# ---------------------------------------------------------------- ModifyInstanceMetadataOptions (5.5)
def test_http_endpoint_is_required_unless_switched_off(emulator, ecs):
    target = ids_of(emulator)[0]
    exc = error_of(lambda: modify(ecs, target, http_tokens='required'))
    assert (exc.code, exc.status_code) == ('MissingParameter.HttpEndpoint', 400)
    assert exc.data['Message'] == 'The input parameter HttpEndpoint that is mandatory for processing this request is missing.'
    assert options_of(emulator, target)['HttpTokens'] == 'optional', 'a refused call changes nothing'
    emulator.set_faults(http_endpoint_required=False)
    modify(ecs, target, http_tokens='required')
    assert options_of(emulator, target)['HttpTokens'] == 'required'


def test_strict_metadata_options_resets_omitted_http_tokens_but_keeps_metadata_tags(emulator, ecs):
    target = ids_of(emulator)[0]
    modify(ecs, target, http_endpoint='enabled', http_tokens='required', instance_metadata_tags='enabled')
    modify(ecs, target, http_endpoint='enabled')
    assert options_of(emulator, target)['HttpTokens'] == 'required', 'default: an omitted setting is left alone'
    assert emulator.set_faults(strict_metadata_options=True)['strict_metadata_options'] is True
    modify(ecs, target, http_endpoint='enabled')
    assert options_of(emulator, target) == {'HttpEndpoint': 'enabled', 'HttpTokens': 'optional', 'InstanceMetadataTags': 'enabled',
                                            'HttpPutResponseHopLimit': 1}
    modify(ecs, target, http_endpoint='disabled', http_tokens='required')
    assert options_of(emulator, target)['HttpTokens'] == 'required'
    emulator.set_faults(http_endpoint_required=False)
    assert error_of(lambda: modify(ecs, target, http_tokens='required')).code == 'MissingParameter.HttpEndpoint', 'strict always needs HttpEndpoint'


@pytest.mark.parametrize('status', ['Pending', 'Starting', 'Stopping'])
def test_instances_in_transition_refuse_metadata_options(emulator, ecs, status):
    seeded = emulator.seed_instances(1, status=status)[0]
    described = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou', instance_ids=json.dumps([seeded]))).body
    assert described.instances.instance[0].status == status
    exc = error_of(lambda: modify(ecs, seeded, http_endpoint='enabled', http_tokens='required'))
    assert (exc.code, exc.status_code) == ('IncorrectInstanceStatus', 403)
    assert options_of(emulator, seeded)['HttpTokens'] == 'optional'
    emulator.set_instance_status([seeded], 'Stopped')
    modify(ecs, seeded, http_endpoint='enabled', http_tokens='required')
    assert options_of(emulator, seeded)['HttpTokens'] == 'required'


# ---------------------------------------------------------------- per-instance results without Success (5.1)
def test_results_without_success(emulator, ram, ecs):
    make_role(ram)
    make_role(ram, 'other-role')
    ids = ids_of(emulator)
    attach(ecs, ids[:1], 'other-role')
    assert emulator.set_faults(results_without_success=True)['results_without_success'] is True
    body = attach(ecs, ids)
    results = body.attach_instance_ram_role_results.attach_instance_ram_role_result
    assert [(r.success, r.code) for r in results] == [(None, 'Emulator.RamRoleAlreadyAttached'), (None, '200'), (None, '200')]
    assert (body.total_count, body.fail_count) == (3, 1)
    assert results[1].to_map() == {'InstanceId': ids[1], 'Code': '200', 'Message': 'success'}
    detached = detach(ecs, ids[1:])
    items = detached.detach_instance_ram_role_results.detach_instance_ram_role_result
    assert [(r.success, r.code) for r in items] == [(None, '200'), (None, '200')] and detached.fail_count == 0
    assert set(items[0].to_map()) == {'InstanceId', 'Code', 'Message', 'InstanceRamRoleSets'}


# ---------------------------------------------------------------- empty bodies (5.3)
def test_empty_body_by_count_carries_the_call_out(emulator, ram, ecs):
    make_role(ram)
    ids = ids_of(emulator)
    emulator.set_faults(empty_body_actions=['AttachInstanceRamRole', 'AttachInstanceRamRole'])
    with pytest.raises(UnretryableException):
        attach(ecs, ids[:1])
    assert held_roles(emulator)[ids[0]] == 'ecs-role', 'the call was carried out, only its answer is empty'
    assert error_of(attach, ecs, ['i-unknown']).code == 'InvalidInstanceId.NotFound', 'an error answer does not use up an entry'
    assert emulator.control('GET', 'faults')['empty_body_actions'] == ['AttachInstanceRamRole']
    with pytest.raises(UnretryableException):
        attach(ecs, ids[1:2])
    assert attach(ecs, ids[2:]).fail_count == 0, 'the count is used up'
    log = [(c['action'], c['status'], c['empty_body']) for c in emulator.calls()]
    assert log == [('CreateRole', 200, False), ('AttachInstanceRamRole', 200, True), ('AttachInstanceRamRole', 404, False),
                   ('AttachInstanceRamRole', 200, True), ('AttachInstanceRamRole', 200, False)]


def test_empty_body_rate_applies_to_the_three_ram_role_actions_only(emulator, ram, ecs):
    make_role(ram)
    ids = ids_of(emulator)
    emulator.set_faults(empty_body_rate=1.0)
    for call in (lambda: attach(ecs, ids), lambda: describe(ecs, ids), lambda: detach(ecs, ids[:1])):
        with pytest.raises(UnretryableException):
            call()
    assert held_roles(emulator)[ids[0]] == '' and held_roles(emulator)[ids[1]] == 'ecs-role'
    assert ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou')).body.total_count == 4
    assert ram.get_role(m.GetRoleRequest(role_name='ecs-role')).body.role.role_name == 'ecs-role'


# ---------------------------------------------------------------- unknown and classic ids (5.1-5.3)
def test_any_unknown_id_refuses_the_whole_batch(emulator, ram, ecs):
    make_role(ram)
    ids = ids_of(emulator)
    for call in (attach, detach, describe):
        exc = error_of(call, ecs, ids[:2] + ['i-released000000000000'])
        assert (exc.code, exc.status_code) == ('InvalidInstanceId.NotFound', 404), call.__name__
    assert set(held_roles(emulator).values()) == {''}, 'nothing applied'
    exc = error_of(attach, ecs, ids[:1] + ids_of(emulator, region='cn-beijing')[:1])
    assert exc.code == 'InvalidInstanceId.NotFound', 'an instance of another region is unknown here'
    exc = error_of(attach, ecs, ids[:1] + ids_of(emulator, 'classic') + ['i-released000000000000'])
    assert exc.code == 'InvalidInstanceId.NotFound', 'unknown wins over classic'
    emulator.set_faults(unknown_ids='per_instance')
    body = attach(ecs, ids[:2] + ['i-released000000000000'])
    assert (body.total_count, body.fail_count) == (3, 1)
    assert error_of(attach, ecs, ['i-released000000000000']).code == 'InvalidInstanceId.NotFound', 'all unknown: still the call'
    assert error_of(describe, ecs, ids + ['i-released000000000000']).code == 'InvalidInstanceId.NotFound'


def test_classic_ids_are_refused_for_the_whole_call(emulator, ram, ecs):
    make_role(ram)
    vpc, classic = ids_of(emulator), ids_of(emulator, 'classic')
    attach(ecs, vpc[:1])
    for call in (attach, detach, describe):
        exc = error_of(call, ecs, vpc[:2] + classic)
        assert (exc.code, exc.status_code) == ('InvalidNetworkType.MismatchRamRole', 403), call.__name__
    assert held_roles(emulator)[vpc[0]] == 'ecs-role' and held_roles(emulator)[vpc[1]] == ''
    assert describe(ecs, role='ecs-role') == [(vpc[0], 'ecs-role')], 'a role filter never lists classic instances'
    emulator.set_faults(classic_ids='per_instance')
    assert describe(ecs, vpc[:1] + classic) == [(vpc[0], 'ecs-role'), (classic[0], '')]
    body = attach(ecs, vpc[1:2] + classic)
    assert [r.code for r in body.attach_instance_ram_role_results.attach_instance_ram_role_result] == ['200', 'InvalidNetworkType.MismatchRamRole']
    assert error_of(attach, ecs, classic).code == 'InvalidNetworkType.MismatchRamRole', 'all classic: still the call'


# ---------------------------------------------------------------- detach visibility lag (5.2)
def test_detach_shows_after_a_number_of_reads(emulator, ram, ecs):
    make_role(ram)
    make_role(ram, 'new-role')
    target, other = ids_of(emulator)[:2]
    attach(ecs, [target, other])
    emulator.set_faults(detach_visibility_reads=2)
    assert detach(ecs, [target]).fail_count == 0
    assert held_roles(emulator)[target] == '', 'the control API shows the truth'
    assert describe(ecs, [target, other]) == [(target, 'ecs-role'), (other, 'ecs-role')]
    refused = attach(ecs, [target], 'new-role').attach_instance_ram_role_results.attach_instance_ram_role_result[0]
    assert refused.code == 'Emulator.RamRoleAlreadyAttached' and 'ecs-role' in refused.message
    assert describe(ecs, role='ecs-role') == [(target, 'ecs-role'), (other, 'ecs-role')], 'a read by role name counts too'
    assert describe(ecs, [target]) == [(target, '')]
    assert attach(ecs, [target], 'new-role').fail_count == 0
    assert describe(ecs, [target]) == [(target, 'new-role')]


def test_detach_shows_after_a_delay_on_the_emulator_clock(emulator, ram, ecs):
    make_role(ram)
    target = ids_of(emulator)[0]
    attach(ecs, [target])
    emulator.freeze_clock()
    emulator.set_faults(detach_visibility_delay=30)
    detach(ecs, [target], 'ecs-role')
    assert detach(ecs, [target], 'ecs-role').fail_count == 0, 'a repeated detach while the first one is not visible succeeds'
    emulator.advance_clock(29)
    assert describe(ecs, [target]) == [(target, 'ecs-role')]
    emulator.advance_clock(1)
    assert describe(ecs, [target]) == [(target, '')]
    assert detach(ecs, [target]).detach_instance_ram_role_results.detach_instance_ram_role_result[0].code == 'Emulator.RamRoleNotAttached'


def test_reattaching_during_the_lag_and_deleting_the_role_end_it(emulator, ram, ecs):
    make_role(ram)
    target = ids_of(emulator)[0]
    emulator.set_faults(detach_visibility_reads=5)
    attach(ecs, [target])
    detach(ecs, [target])
    assert attach(ecs, [target]).fail_count == 0, 'the same role attaches again'
    detach(ecs, [target])
    ram.delete_role(m.DeleteRoleRequest(role_name='ecs-role'))
    assert describe(ecs, [target]) == [(target, '')]


# ---------------------------------------------------------------- DescribeRegions
def test_describe_regions(emulator, ecs):
    emulator.seed_instances(1, region='ap-southeast-1')
    body = ecs.describe_regions(e.DescribeRegionsRequest()).body
    regions = [(r.region_id, r.local_name, r.region_endpoint, r.status) for r in body.regions.region]
    assert regions == [('cn-hangzhou', '华东1（杭州）', 'ecs.aliyuncs.com', 'available'),
                       ('cn-beijing', '华北2（北京）', 'ecs.aliyuncs.com', 'available'),
                       ('ap-southeast-1', '新加坡', 'ecs.aliyuncs.com', 'available')]
    english = ecs.describe_regions(e.DescribeRegionsRequest(accept_language='en-US')).body
    assert [r.local_name for r in english.regions.region] == ['China (Hangzhou)', 'China (Beijing)', 'Singapore']
    assert body.request_id


# ---------------------------------------------------------------- RAM limits (4)
def test_tag_values_up_to_256_characters(ram):
    ok = [m.CreateRoleRequestTag(key='k' * 128, value='v' * 256)]
    ram.create_role(m.CreateRoleRequest(role_name='tagged', assume_role_policy_document=ECS_TRUST, tag=ok))
    for tag, code in (((129, 1), 'InvalidParameter.Tag.Key.Length'), ((1, 257), 'InvalidParameter.Tag.Value.Length')):
        request = m.CreateRoleRequest(role_name='too-long', assume_role_policy_document=ECS_TRUST,
                                      tag=[m.CreateRoleRequestTag(key='k' * tag[0], value='v' * tag[1])])
        exc = error_of(ram.create_role, request)
        assert (exc.code, exc.status_code) == (code, 400)


def test_policy_document_size_counts_utf8_bytes(ram):
    document = json.loads(policy())
    document['Statement'][0]['Condition'] = {'StringEquals': {'acs:SourceVpc': '\u4e2d' * 2000}}
    text = json.dumps(document, ensure_ascii=False)
    assert len(text) < 6144 < len(text.encode('utf-8'))
    exc = error_of(ram.create_policy, m.CreatePolicyRequest(policy_name='wide', policy_document=text))
    assert (exc.code, exc.status_code) == ('InvalidParameter.PolicyDocument.Length', 400)
    document['Statement'][0]['Condition']['StringEquals']['acs:SourceVpc'] = '\u4e2d' * 1900
    ram.create_policy(m.CreatePolicyRequest(policy_name='fits', policy_document=json.dumps(document, ensure_ascii=False)))
