"""ECS instance RAM role actions through the official ECS SDK client."""

import json

import pytest
from alibabacloud_ecs20140526 import models as e
from alibabacloud_ram20150501 import models as m

from tests.emulator.process import EmulatorError
from tests.emulator.sdkhelpers import ECS_TRUST, RAM_ONLY_TRUST, error_of


def make_role(ram, name='ecs-role', doc=ECS_TRUST):
    ram.create_role(m.CreateRoleRequest(role_name=name, assume_role_policy_document=doc))


def vpc_ids(emulator, region='cn-hangzhou'):
    return [i['InstanceId'] for i in emulator.instances(region) if i['InstanceNetworkType'] == 'vpc']


def classic_ids(emulator):
    return [i['InstanceId'] for i in emulator.instances() if i['InstanceNetworkType'] == 'classic']


def attach(ecs, ids, role='ecs-role', region='cn-hangzhou'):
    return ecs.attach_instance_ram_role(e.AttachInstanceRamRoleRequest(region_id=region, ram_role_name=role, instance_ids=json.dumps(ids))).body


def test_seeded_instances_are_deterministic(emulator, ecs):
    first = vpc_ids(emulator)
    assert len(first) == 3 and len(classic_ids(emulator)) == 1 and len(vpc_ids(emulator, 'cn-beijing')) == 3
    assert all(i.startswith('i-') and len(i) == 22 and i[2:].isalnum() and i[2:].lower() == i[2:] for i in first)
    emulator.reset()
    assert vpc_ids(emulator) == first
    body = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou', page_size=100)).body
    assert body.total_count == 4
    inst = body.instances.instance[0]
    assert inst.status == 'Running' and inst.instance_network_type == 'vpc' and inst.vpc_attributes.vpc_id.startswith('vpc-')
    assert inst.metadata_options.http_tokens == 'optional' and inst.zone_id.startswith('cn-hangzhou-')


def test_attach_describe_detach(emulator, ram, ecs):
    make_role(ram)
    ids = vpc_ids(emulator)
    body = attach(ecs, ids[:2])
    assert (body.total_count, body.fail_count, body.ram_role_name) == (2, 0, 'ecs-role')
    assert [(r.instance_id, r.success, r.code) for r in body.attach_instance_ram_role_results.attach_instance_ram_role_result] == \
        [(ids[0], True, '200'), (ids[1], True, '200')]
    again = attach(ecs, ids[:1])
    assert again.fail_count == 0, 'attaching the same role again is idempotent'
    described = ecs.describe_instance_ram_role(e.DescribeInstanceRamRoleRequest(region_id='cn-hangzhou', instance_ids=json.dumps(ids))).body
    assert described.total_count == 3
    assert [(s.instance_id, s.ram_role_name) for s in described.instance_ram_role_sets.instance_ram_role_set] == \
        [(ids[0], 'ecs-role'), (ids[1], 'ecs-role'), (ids[2], '')]
    by_role = ecs.describe_instance_ram_role(e.DescribeInstanceRamRoleRequest(region_id='cn-hangzhou', ram_role_name='ecs-role')).body
    assert by_role.total_count == 2
    detached = ecs.detach_instance_ram_role(e.DetachInstanceRamRoleRequest(region_id='cn-hangzhou', instance_ids=json.dumps(ids),
                                                                           ram_role_name='ecs-role')).body
    results = detached.detach_instance_ram_role_results.detach_instance_ram_role_result
    assert detached.fail_count == 1 and [r.success for r in results] == [True, True, False]
    assert results[0].instance_ram_role_sets.instance_ram_role_set[0].ram_role_name == 'ecs-role'
    assert results[2].code == 'Emulator.RamRoleNotAttached'
    assert [i['RamRoleName'] for i in emulator.instances() if i['InstanceId'] in ids] == ['', '', '']


def test_attach_errors(emulator, ram, ecs):
    make_role(ram)
    make_role(ram, 'not-ecs', RAM_ONLY_TRUST)
    ids = vpc_ids(emulator)
    cases = [
        (dict(region_id=None, ram_role_name='ecs-role', instance_ids=json.dumps(ids)), 'MissingParameter.RegionId', 400),
        (dict(region_id='cn-hangzhou', ram_role_name='ecs-role', instance_ids='i-1,i-2'), 'InvalidInstanceIds.Malformed', 400),
        (dict(region_id='cn-hangzhou', ram_role_name='ecs-role', instance_ids=json.dumps(['i-%d' % n for n in range(101)])),
         'InvalidParameter.TooManyInstanceIds', 400),
        (dict(region_id='cn-hangzhou', ram_role_name='ghost', instance_ids=json.dumps(ids)), 'InvalidRamRole.NotFound', 404),
        (dict(region_id='cn-hangzhou', ram_role_name='not-ecs', instance_ids=json.dumps(ids)), 'InvalidRamRole.NotEcsRole', 404),
        (dict(region_id='cn-hangzhou', ram_role_name='ecs-role', instance_ids=json.dumps(classic_ids(emulator))),
         'InvalidNetworkType.MismatchRamRole', 403),
        (dict(region_id='cn-hangzhou', ram_role_name='ecs-role', instance_ids='["i-doesnotexist0000000"]'), 'InvalidInstanceId.NotFound', 404),
        (dict(region_id='cn-beijing', ram_role_name='ecs-role', instance_ids=json.dumps(ids[:1])), 'InvalidInstanceId.NotFound', 404),
    ]
    for kwargs, code, status in cases:
        exc = error_of(ecs.attach_instance_ram_role, e.AttachInstanceRamRoleRequest(**kwargs))
        assert (exc.code, exc.status_code) == (code, status), kwargs
    assert exc.data['HostId'] == 'ecs.cn-beijing.aliyuncs.com'


def test_per_instance_failures_with_the_older_switches(emulator, ram, ecs):
    emulator.set_faults(unknown_ids='per_instance', classic_ids='per_instance')
    make_role(ram)
    make_role(ram, 'other-role')
    ids = vpc_ids(emulator)
    attach(ecs, ids[:1], 'other-role')
    body = attach(ecs, ids + classic_ids(emulator) + ['i-unknown000000000000'])
    results = {r.instance_id: r for r in body.attach_instance_ram_role_results.attach_instance_ram_role_result}
    assert body.total_count == 5 and body.fail_count == 3
    assert results[ids[0]].code == 'Emulator.RamRoleAlreadyAttached' and results[ids[0]].success is False
    assert results[classic_ids(emulator)[0]].code == 'InvalidNetworkType.MismatchRamRole'
    assert results['i-unknown000000000000'].code == 'InvalidInstanceId.NotFound'
    assert results[ids[1]].code == '200'
    detached = ecs.detach_instance_ram_role(e.DetachInstanceRamRoleRequest(region_id='cn-hangzhou', instance_ids=json.dumps(ids[:2]),
                                                                           ram_role_name='ecs-role')).body
    codes = [r.code for r in detached.detach_instance_ram_role_results.detach_instance_ram_role_result]
    assert codes == ['Emulator.RamRoleMismatch', '200']


def test_250_instances_in_three_calls(emulator, ram, ecs):
    make_role(ram)
    ids = emulator.seed_instances(250, region='cn-beijing')
    assert len(set(ids)) == 250 and not set(ids) & set(vpc_ids(emulator))
    emulator.clear_calls()
    for start in range(0, 250, 100):
        body = attach(ecs, ids[start:start + 100], region='cn-beijing')
        assert body.fail_count == 0 and body.total_count == len(ids[start:start + 100])
    assert emulator.call_counts() == {'AttachInstanceRamRole': 3}
    assert len(emulator.write_calls()) == 3
    seen, page = [], 1
    while True:
        body = ecs.describe_instance_ram_role(e.DescribeInstanceRamRoleRequest(region_id='cn-beijing', ram_role_name='ecs-role',
                                                                               page_number=page, page_size=50)).body
        seen += [s.instance_id for s in body.instance_ram_role_sets.instance_ram_role_set]
        if page * 50 >= body.total_count:
            break
        page += 1
    assert body.total_count == 250 and seen == ids


def test_describe_instance_ram_role_errors(emulator, ecs):
    exc = error_of(ecs.describe_instance_ram_role, e.DescribeInstanceRamRoleRequest(region_id='cn-hangzhou'))
    assert (exc.code, exc.status_code) == ('InvalidParameter.AllEmpty', 403)
    exc = error_of(ecs.describe_instance_ram_role, e.DescribeInstanceRamRoleRequest(region_id='cn-hangzhou', instance_ids='["i-nope"]'))
    assert (exc.code, exc.status_code) == ('InvalidInstanceId.NotFound', 404)
    exc = error_of(ecs.describe_instance_ram_role, e.DescribeInstanceRamRoleRequest(region_id='cn-hangzhou', ram_role_name='ghost'))
    assert (exc.code, exc.status_code) == ('InvalidRamRole.NotFound', 404)
    many = json.dumps(vpc_ids(emulator) * 17 + ['i-%d' % n for n in range(60)])
    exc = error_of(ecs.describe_instance_ram_role, e.DescribeInstanceRamRoleRequest(region_id='cn-hangzhou', instance_ids=many))
    assert exc.code == 'InvalidParameter.TooManyInstanceIds'
    exc = error_of(ecs.describe_instance_ram_role, e.DescribeInstanceRamRoleRequest(region_id='cn-hangzhou', ram_role_name='x', page_size=51))
    assert exc.code == 'InvalidParameter.PageSize'


def test_describe_instances_filters_and_paging(emulator, ecs):
    ids = vpc_ids(emulator)
    body = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou', instance_ids=json.dumps([ids[1], 'i-unknown']))).body
    assert body.total_count == 1 and body.instances.instance[0].instance_id == ids[1]
    first = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou', max_results=3)).body
    assert len(first.instances.instance) == 3 and first.next_token
    rest = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou', max_results=3, next_token=first.next_token)).body
    assert len(rest.instances.instance) == 1 and rest.next_token == ''
    paged = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou', page_number=2, page_size=2)).body
    assert (paged.page_number, paged.page_size, len(paged.instances.instance)) == (2, 2, 2)
    assert error_of(ecs.describe_instances, e.DescribeInstancesRequest(region_id='cn-hangzhou', page_size=101)).code == 'InvalidParameter.PageSize'
    assert error_of(ecs.describe_instances, e.DescribeInstancesRequest()).code == 'MissingParameter.RegionId'


def test_delete_role_detaches_instances(emulator, ram, ecs):
    make_role(ram)
    ids = vpc_ids(emulator)
    attach(ecs, ids)
    ram.delete_role(m.DeleteRoleRequest(role_name='ecs-role'))
    assert all(i['RamRoleName'] == '' for i in emulator.instances())


def test_attach_same_role_reports_success_or_failure_as_configured(emulator, ram, ecs):
    make_role(ram)
    ids = vpc_ids(emulator)
    attach(ecs, ids[:1])
    assert attach(ecs, ids[:2]).fail_count == 0, 'default: re-attaching the held role succeeds'
    assert emulator.set_faults(attach_same_role='failure')['attach_same_role'] == 'failure'
    body = attach(ecs, ids)
    results = {r.instance_id: r for r in body.attach_instance_ram_role_results.attach_instance_ram_role_result}
    assert (body.total_count, body.fail_count) == (3, 2)
    assert [(results[i].success, results[i].code) for i in ids] == [
        (False, 'Emulator.SameRamRoleAlreadyAttached'), (False, 'Emulator.SameRamRoleAlreadyAttached'), (True, '200')]
    assert 'already has this RAM role (ecs-role)' in results[ids[0]].message
    make_role(ram, 'other-role')
    other = attach(ecs, ids[:1], 'other-role').attach_instance_ram_role_results.attach_instance_ram_role_result[0]
    assert other.code == 'Emulator.RamRoleAlreadyAttached', 'another role keeps its own code'


def tag_filter(*pairs):
    return [e.DescribeInstancesRequestTag(key=key, value=value) for key, value in pairs]


def described_ids(ecs, **kwargs):
    kwargs.setdefault('region_id', 'cn-hangzhou')
    return [i.instance_id for i in ecs.describe_instances(e.DescribeInstancesRequest(**kwargs)).body.instances.instance]


def test_instance_tags_filter_describe_instances(emulator, ecs):
    ids = vpc_ids(emulator)
    seeded = emulator.seed_instances(3, tags={'env': 'prod', 'app': 'web'})
    assert emulator.tag_instances(ids[:2], {'env': 'dev'}) == {ids[0]: {'env': 'dev'}, ids[1]: {'env': 'dev'}}
    assert emulator.tag_instances(seeded[:1], {'app': 'api', 'tier': '1'}) == {seeded[0]: {'env': 'prod', 'app': 'api', 'tier': '1'}}
    inst = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou', instance_ids=json.dumps(seeded[:1]))).body.instances.instance[0]
    assert [(t.tag_key, t.tag_value) for t in inst.tags.tag] == [('env', 'prod'), ('app', 'api'), ('tier', '1')]
    assert described_ids(ecs, tag=tag_filter(('env', 'dev'))) == ids[:2]
    assert described_ids(ecs, tag=tag_filter(('env', None))) == ids[:2] + seeded, 'a key without value matches any value'
    assert described_ids(ecs, tag=tag_filter(('env', 'prod'), ('app', 'web'))) == seeded[1:], 'every tag must match'
    assert described_ids(ecs, tag=tag_filter(('env', 'prod')), instance_ids=json.dumps(seeded[:2] + ids)) == seeded[:2]
    assert described_ids(ecs, tag=tag_filter(('env', 'Dev'))) == [], 'values are case-sensitive'
    first = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou', tag=tag_filter(('env', None)), max_results=3)).body
    rest = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou', tag=tag_filter(('env', None)), max_results=3,
                                                             next_token=first.next_token)).body
    assert (first.total_count, [i.instance_id for i in first.instances.instance + rest.instances.instance], rest.next_token) == (
        5, ids[:2] + seeded, '')
    assert described_ids(ecs, tag=tag_filter(('env', None)), page_number=2, page_size=4) == [seeded[2]]
    exc = error_of(ecs.describe_instances, e.DescribeInstancesRequest(region_id='cn-hangzhou', tag=tag_filter((None, 'dev'))))
    assert (exc.code, exc.status_code) == ('InvalidTag.Mismatch', 400)
    exc = error_of(ecs.describe_instances, e.DescribeInstancesRequest(region_id='cn-hangzhou', tag=tag_filter(*[('k%d' % n, None) for n in range(21)])))
    assert (exc.code, exc.status_code) == ('InvalidParameter.Tag', 400)
    with pytest.raises(EmulatorError) as info:
        emulator.tag_instances(['i-unknown'], {'env': 'dev'})
    assert info.value.status == 404
    emulator.reset()
    assert all(i['Tags'] == {'Tag': []} for i in emulator.instances())


def test_modify_instance_metadata_options(emulator, ecs):
    ids = vpc_ids(emulator)
    body = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou', instance_ids=json.dumps(ids[:1]))).body
    options = body.instances.instance[0].metadata_options
    assert (options.http_endpoint, options.http_tokens, options.instance_metadata_tags, options.http_put_response_hop_limit) == (
        'enabled', 'optional', 'disabled', 1)
    answer = ecs.modify_instance_metadata_options(e.ModifyInstanceMetadataOptionsRequest(
        region_id='cn-hangzhou', instance_id=ids[0], http_endpoint='enabled', http_tokens='required', instance_metadata_tags='enabled')).body
    assert answer.request_id
    described = {i['InstanceId']: i['MetadataOptions'] for i in emulator.instances()}
    assert described[ids[0]] == {'HttpEndpoint': 'enabled', 'HttpTokens': 'required', 'InstanceMetadataTags': 'enabled', 'HttpPutResponseHopLimit': 1}
    assert described[ids[1]]['HttpTokens'] == 'optional'
    ecs.modify_instance_metadata_options(e.ModifyInstanceMetadataOptionsRequest(region_id='cn-hangzhou', instance_id=ids[0], http_endpoint='disabled'))
    assert {i['InstanceId']: i['MetadataOptions'] for i in emulator.instances()}[ids[0]]['HttpEndpoint'] == 'disabled'
    assert [c['action'] for c in emulator.write_calls()] == ['ModifyInstanceMetadataOptions'] * 2
    cases = [
        (dict(instance_id=ids[0], http_endpoint='enabled', http_tokens='mandatory'), 'InvalidParameter.HttpTokens', 400),
        (dict(instance_id=ids[0], http_endpoint='on'), 'InvalidParameter.HttpEndpoint', 400),
        (dict(instance_id=ids[0], http_endpoint='enabled', instance_metadata_tags='yes'), 'InvalidParameter.InstanceMetadataTags', 400),
        (dict(instance_id='i-unknown', http_endpoint='enabled', http_tokens='required'), 'InvalidInstanceId.NotFound', 404),
        (dict(instance_id=vpc_ids(emulator, 'cn-beijing')[0], http_endpoint='enabled'), 'InvalidInstanceId.NotFound', 404),
        (dict(http_endpoint='enabled', http_tokens='required'), 'MissingParameter.InstanceId', 400),
        (dict(instance_id=ids[0], http_tokens='optional'), 'MissingParameter.HttpEndpoint', 400),
    ]
    for kwargs, code, status in cases:
        exc = error_of(ecs.modify_instance_metadata_options, e.ModifyInstanceMetadataOptionsRequest(region_id='cn-hangzhou', **kwargs))
        assert (exc.code, exc.status_code) == (code, status), kwargs
    exc = error_of(ecs.modify_instance_metadata_options, e.ModifyInstanceMetadataOptionsRequest(instance_id=ids[0], http_endpoint='enabled'))
    assert exc.code == 'MissingParameter.RegionId'
    assert {i['InstanceId']: i['MetadataOptions'] for i in emulator.instances()}[ids[0]]['HttpTokens'] == 'required', 'refused calls change nothing'
