# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RAM name checks and result shapes; the ECS service functions and the instance toolkit on the in-process emulator."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api, instances, ram, ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.client import service_client_for
from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import WorkerPool
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.tests.unit.emulated import ENDPOINT, REGION
from ansible_collections.alicloud.ram.tests.unit.plugins.modules.test_ecs_instance_role_attachment import counts as actions, hold, seed

ECS_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Service': ['ecs.aliyuncs.com']}}],
                        'Version': '1'})


def client_for(emulated, service, retries=0):
    creds = Credentials(emulated.config.access_key_id, emulated.config.access_key_secret, None, 'test')
    options = OptionAdapter.from_dict({'%s_endpoint' % service: ENDPOINT, 'region': REGION, 'retries': retries})
    return service_client_for(service, creds, options)


@pytest.fixture
def ecs(emulated):
    return client_for(emulated, 'ecs')


@pytest.fixture
def ram_client(emulated):
    return client_for(emulated, 'ram')


@pytest.fixture
def pool(emulated):
    return WorkerPool(lambda count: [client_for(emulated, 'ecs') for _n in range(count)], start=3)


# -- RAM names and result shapes ---------------------------------------------------------------------


@pytest.mark.parametrize('name,ok', [
    ('web-role.1', True), ('a' * 64, True), ('', False), ('a' * 65, False), ('bad_name', False), ('bad name', False), (None, False),
    ('ok\n', False),
])
def test_validate_role_name(name, ok):
    assert (ram.validate_role_name(name) is None) is ok


def test_validators_messages_name_the_rule():
    assert 'letters, digits and hyphens' in ram.validate_policy_name('no.dots')
    assert ram.validate_policy_name('Grant-web-1') is None
    assert ram.validate_user_name('alice_b.c-d') is None
    assert ram.validate_user_name('alice@x') is not None
    assert ram.validate_description('x' * 1024) is None
    assert '1025' in ram.validate_description('x' * 1025)
    assert ram.validate_max_session_duration(3600) is None
    assert ram.validate_max_session_duration(43200) is None
    assert 'between 3600 and 43200' in ram.validate_max_session_duration(3599)
    assert ram.validate_max_session_duration(True) is not None


def test_role_to_result():
    role = {'RoleName': 'web', 'RoleId': '123', 'Arn': 'acs:ram::1:role/web', 'Description': 'd', 'AssumeRolePolicyDocument': ECS_TRUST,
            'MaxSessionDuration': 3600, 'CreateDate': 'c', 'UpdateDate': 'u', 'Tags': {'Tag': [{'TagKey': 'env', 'TagValue': 'dev'}]}}
    policies = [{'PolicyName': 'b', 'PolicyType': 'System'}, {'PolicyName': 'z', 'PolicyType': 'Custom'}, {'PolicyName': 'A', 'PolicyType': 'System'}]
    result = ram.role_to_result(role, policies)
    assert result['assume_role_policy_document'] == json.loads(ECS_TRUST)
    assert result['tags'] == {'env': 'dev'}
    assert result['attached_policies'] == [ram.policy_item('z', 'Custom'), ram.policy_item('A', 'System'), ram.policy_item('b', 'System')]
    assert result['attached_policies'][0] == {'name': 'z', 'type': 'Custom', 'policy_name': 'z', 'policy_type': 'Custom'}
    assert ram.role_to_result(role, tags={'a': '1'})['tags'] == {'a': '1'}


def test_tags_round_trip():
    assert ram_api.tags_param({'b': 2, 'a': None}) == [{'Key': 'a', 'Value': ''}, {'Key': 'b', 'Value': '2'}]
    assert ram.tags_from_ram([{'Key': 'a', 'Value': 'x'}]) == {'a': 'x'}


def test_marker_pages_follow_the_marker(ram_client, emulated):
    for n in range(5):
        ram_api.create_role(ram_client, 'paged-%d' % n, ECS_TRUST)
    emulated.state.calls[:] = []
    names = [r['RoleName'] for r in ram_api.marker_pages(ram_client, 'ListRoles', {}, ('Roles', 'Role'), max_items=2)]
    assert names == ['paged-%d' % n for n in range(5)] and actions(emulated) == {'ListRoles': 3}


# -- ECS service functions ---------------------------------------------------------------------------


def test_chunks():
    assert ecs_api.chunks(range(5), 2) == [[0, 1], [2, 3], [4]]
    assert [len(c) for c in ecs_api.chunks(['i-%d' % n for n in range(250)], ecs_api.MAX_IDS_PER_WRITE)] == [100, 100, 50]
    assert ecs_api.chunks([], 3) == []
    with pytest.raises(ValueError):
        ecs_api.chunks([1], 0)


def test_role_page_lists_roleless_instances_without_a_role(ecs, ram_client, emulated):
    ram_api.create_role(ram_client, 'web', ECS_TRUST)
    ids = seed(emulated, 3)
    hold(emulated, 'web', ids[:1])
    page = ecs_api.describe_instance_ram_roles(ecs, REGION, instance_ids=ids)
    assert page.roles == {ids[0]: 'web', ids[1]: None, ids[2]: None} and page.total == 3


def test_role_page_naming_an_unknown_instance_is_refused(ecs, emulated):
    with pytest.raises(AlicloudApiError) as caught:
        ecs_api.describe_instance_ram_roles(ecs, REGION, instance_ids=seed(emulated, 1) + ['i-nope'])
    assert caught.value.code == 'InvalidInstanceId.NotFound' and caught.value.operation == 'read the RAM roles of instances in %s' % REGION


def test_describe_instances_by_tags_pages_with_next_token(ecs, emulated):
    web = seed(emulated, 130, tags={'app': 'web'})
    seed(emulated, 2, tags={'app': 'api'})
    first = ecs_api.describe_instances(ecs, REGION, tags={'app': 'web'})
    second = ecs_api.describe_instances(ecs, REGION, tags={'app': 'web'}, next_token=first.next_token)
    assert [i['InstanceId'] for i in first.instances + second.instances] == web and second.next_token is None
    assert ecs_api.network_type(first.instances[0]) == 'vpc'


def test_attach_answer_reports_each_instance(ecs, ram_client, emulated):
    ram_api.create_role(ram_client, 'app', ECS_TRUST)
    vpc = seed(emulated, 2)
    classic = seed(emulated, 1, network='classic')
    answer = ecs_api.attach_instance_ram_role(ecs, REGION, 'app', vpc + classic)
    assert answer.fail_count == 1 and answer.request_id
    assert [(r.instance_id, r.success, r.code) for r in answer.results] == [
        (vpc[0], True, '200'), (vpc[1], True, '200'), (classic[0], False, 'InvalidNetworkType.MismatchRamRole')]
    detached = ecs_api.detach_instance_ram_role(ecs, REGION, 'app', vpc)
    assert detached.fail_count == 0 and all(r.success for r in detached.results)


def test_batch_answers_tolerate_missing_keys():
    body = {'RequestId': 'R', 'FailCount': '1', 'AttachInstanceRamRoleResults': {'AttachInstanceRamRoleResult': [
        {'InstanceId': 'i-1', 'Success': 'true', 'Code': 200}, {'InstanceId': 'i-2'}, 'junk']}}
    answer = ecs_api._batch_answer(body, 'AttachInstanceRamRoleResults')  # pylint: disable=protected-access
    assert answer == ecs_api.BatchAnswer([ecs_api.InstanceResult('i-1', True, '200', ''), ecs_api.InstanceResult('i-2', False, None, '')],
                                         1, 'R')
    assert ecs_api._batch_answer({}, 'DetachInstanceRamRoleResults').results == []  # pylint: disable=protected-access


# -- the instance toolkit ----------------------------------------------------------------------------


def test_validation_of_ids_and_tags():
    assert instances.validate_instance_ids(['i-1', 'i-2', 'i-1']) == (['i-1', 'i-2'], None)
    assert instances.validate_instance_ids(None) == ([], None)
    for bad in ([''], [' i-1'], ['i 1'], [None], [{'id': 1}]):
        assert instances.validate_instance_ids(bad)[1], bad
    assert instances.validate_instance_tags({'a': 'b'}) is None
    assert '20' in instances.validate_instance_tags(dict(('k%d' % n, 'v') for n in range(21)))
    assert instances.validate_instance_tags({' ': 'v'})
    assert instances.short_list(range(12)) == '0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more'


def test_selection_is_ids_then_tagged_instances_without_duplicates(ecs, emulated):
    web = seed(emulated, 3, tags={'app': 'web'})
    selection = instances.select_instances(ecs, REGION, ['i-x', web[1], 'i-x'], {'app': 'web'})
    assert selection.ids == ['i-x', web[1], web[0], web[2]] and set(selection.described) == set(web)
    assert instances.select_instances(ecs, REGION, ['i-x']).ids == ['i-x']


def test_role_reads_cost_one_call_per_50_ids_and_describe_only_what_they_do_not_list(pool, ram_client, emulated):
    ram_api.create_role(ram_client, 'app', ECS_TRUST)
    ids = seed(emulated, 120)
    classic = seed(emulated, 1, network='classic')
    hold(emulated, 'app', ids[:5])
    emulated.state.calls[:] = []
    reading = instances.read_roles(pool, REGION, ids + classic)
    assert actions(emulated) == {'DescribeInstanceRamRole': 3}
    assert reading.roles == dict((i, 'app' if i in ids[:5] else None) for i in ids + classic)
    emulated.state.calls[:] = []
    reading = instances.read_roles(pool, REGION, ids[:60] + ['i-nope'] + ids[60:])
    # the second page names i-nope: refused, its ids described in one call and read again without it
    assert actions(emulated) == {'DescribeInstanceRamRole': 4, 'DescribeInstances': 1}
    assert reading.unknown == ['i-nope'] and len(reading.roles) == 120 and reading.classic == []


def test_role_holders_follow_every_page(ecs, ram_client, emulated):
    ram_api.create_role(ram_client, 'Fleet', ECS_TRUST)
    ids = seed(emulated, 120)
    hold(emulated, 'fleet', ids)
    emulated.state.calls[:] = []
    holders = instances.role_holders(ecs, REGION, 'FLEET')
    assert list(holders) == ids and set(holders.values()) == {'Fleet'} and actions(emulated) == {'DescribeInstanceRamRole': 3}
    assert instances.holders_of_role(ecs, REGION, 'no-such-role') == []


def test_detach_answers_that_leave_the_instance_without_the_role_count_as_done():
    for code in ('Emulator.RamRoleNotAttached', 'InvalidRamRole.NotFound', 'InvalidInstanceId.NotFound', 'Emulator.RamRoleMismatch',
                 'InvalidNetworkType.MismatchRamRole'):
        assert instances.detach_already_done(code)
    for code in ('Throttling.User', 'InvalidUser.PassRoleForbidden', 'InternalError', None, ''):
        assert not instances.detach_already_done(code)


def test_batched_writes_report_done_and_failed_ids(pool, ram_client, emulated):
    ram_api.create_role(ram_client, 'app', ECS_TRUST)
    ram_api.create_role(ram_client, 'old', ECS_TRUST)
    ids = seed(emulated, 150)
    hold(emulated, 'old', ids[3:4])
    outcome = instances.attach_role(pool, REGION, 'app', ids)
    assert len(outcome.done) == 149 and [f['instance_id'] for f in outcome.failures] == [ids[3]] and outcome.uncertain == []
    emulated.script('DetachInstanceRamRole', code='NoPermission', status=403)
    one_at_a_time = WorkerPool(lambda count: [client_for(emulated, 'ecs')], start=1)
    outcome = instances.detach_role(one_at_a_time, REGION, 'app', ids)
    assert len(outcome.done) == 50 and {f['code'] for f in outcome.failures} == {'NoPermission'} and len(outcome.failures) == 100


def test_an_attach_retried_after_a_lost_reply_is_uncertain(ram_client, emulated):
    ram_api.create_role(ram_client, 'app', ECS_TRUST)
    ids = seed(emulated, 2)
    emulated.script('AttachInstanceRamRole', lose_reply=True)
    retrying = WorkerPool(lambda count: [client_for(emulated, 'ecs', retries=1)], start=1)
    outcome = instances.attach_role(retrying, REGION, 'app', ids)
    assert outcome.done == ids and outcome.uncertain == ids
