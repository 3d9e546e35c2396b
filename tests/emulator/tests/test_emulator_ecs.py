"""ECS instance RAM role actions through the official ECS SDK client."""

import json

from alibabacloud_ecs20140526 import models as e
from alibabacloud_ram20150501 import models as m

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


def test_per_instance_failures(emulator, ram, ecs):
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
