# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import ecs, ram
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, is_not_found


class FakeClient(object):
    """Answers calls from a list of canned bodies and records the parameters."""

    def __init__(self, answers):
        self.answers = answers
        self.requests = []

    def call(self, action, params=None, retry_codes=()):
        self.requests.append((action, dict(params or {})))
        answer = self.answers(action, params or {}) if callable(self.answers) else self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def call_or_none(self, action, params=None, missing_codes=None, retry_codes=()):
        try:
            return self.call(action, params)
        except AlicloudApiError as err:
            if is_not_found(err):
                return None
            raise


@pytest.mark.parametrize('name,ok', [
    ('web-role.1', True), ('a' * 64, True), ('', False), ('a' * 65, False), ('bad_name', False), ('bad name', False), (None, False),
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


def test_paginate_marker_follows_markers_with_max_items():
    client = FakeClient([
        {'IsTruncated': True, 'Marker': 'm1', 'Roles': {'Role': [{'RoleName': 'a'}, {'RoleName': 'b'}]}},
        {'IsTruncated': True, 'Marker': 'm2', 'Roles': {'Role': [{'RoleName': 'c'}]}},
        {'IsTruncated': False, 'Roles': {'Role': [{'RoleName': 'd'}]}},
    ])
    names = [r['RoleName'] for r in ram.paginate_marker(client, 'ListRoles', {})]
    assert names == ['a', 'b', 'c', 'd']
    assert [p.get('Marker') for _a, p in client.requests] == [None, 'm1', 'm2']
    assert all(p['MaxItems'] == 1000 for _a, p in client.requests)


def test_paginate_marker_stops_on_a_repeated_marker_and_tolerates_missing_lists():
    client = FakeClient([{'IsTruncated': True, 'Marker': 'm'}, {'IsTruncated': True, 'Marker': 'm'}])
    assert list(ram.paginate_marker(client, 'ListRoles', {})) == []
    assert len(client.requests) == 2


def test_get_role_returns_none_when_missing():
    client = FakeClient([AlicloudApiError('EntityNotExist.Role', 'gone', status=404)])
    assert ram.get_role(client, 'x') is None
    client = FakeClient([AlicloudApiError('NoPermission', 'no', status=403)])
    with pytest.raises(AlicloudApiError):
        ram.get_role(client, 'x')


def test_role_to_result():
    trust = '{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["ecs.aliyuncs.com"]}}],"Version":"1"}'
    role = {'RoleName': 'web', 'RoleId': '123', 'Arn': 'acs:ram::1:role/web', 'Description': 'd', 'AssumeRolePolicyDocument': trust,
            'MaxSessionDuration': 3600, 'CreateDate': 'c', 'UpdateDate': 'u', 'Tags': {'Tag': [{'TagKey': 'env', 'TagValue': 'dev'}]}}
    policies = [{'PolicyName': 'b', 'PolicyType': 'System'}, {'PolicyName': 'z', 'PolicyType': 'Custom'}, {'PolicyName': 'A', 'PolicyType': 'System'}]
    result = ram.role_to_result(role, policies)
    assert result['assume_role_policy_document'] == json.loads(trust)
    assert result['tags'] == {'env': 'dev'}
    assert result['attached_policies'] == [ram.policy_item('z', 'Custom'), ram.policy_item('A', 'System'), ram.policy_item('b', 'System')]
    # both spellings of the keys, same values
    assert result['attached_policies'][0] == {'name': 'z', 'type': 'Custom', 'policy_name': 'z', 'policy_type': 'Custom'}
    assert set(result) == {'role_name', 'role_id', 'arn', 'description', 'assume_role_policy_document', 'max_session_duration',
                           'create_date', 'update_date', 'tags', 'attached_policies'}
    assert ram.role_to_result(role, tags={'a': '1'})['tags'] == {'a': '1'}


def test_tags_round_trip():
    assert ram.tags_to_ram({'b': 2, 'a': None}) == [{'Key': 'a', 'Value': ''}, {'Key': 'b', 'Value': '2'}]
    assert ram.tags_from_ram([{'Key': 'a', 'Value': 'x'}]) == {'a': 'x'}


def test_chunks():
    assert list(ecs.chunks(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert [len(c) for c in ecs.chunks(['i-%d' % n for n in range(250)], ecs.MAX_IDS_PER_WRITE)] == [100, 100, 50]
    assert list(ecs.chunks([], 3)) == []
    with pytest.raises(ValueError):
        list(ecs.chunks([1], 0))


def test_paginate_pages_stops_at_total_count():
    pages = {1: ['a', 'b'], 2: ['c', 'd'], 3: ['e']}

    def answers(action, params):
        items = pages[params['PageNumber']]
        return {'TotalCount': 5, 'Sets': {'Set': [{'Id': i} for i in items]}}

    client = FakeClient(answers)
    assert [i['Id'] for i in ecs.paginate_pages(client, 'X', {'RegionId': 'r'}, ('Sets', 'Set'), page_size=2)] == list('abcde')
    assert [p['PageNumber'] for _a, p in client.requests] == [1, 2, 3]


def test_paginate_pages_stops_on_short_or_empty_page_without_total():
    client = FakeClient([{'Sets': {'Set': [1, 2]}}, {'Sets': {'Set': []}}])
    assert list(ecs.paginate_pages(client, 'X', {}, ('Sets', 'Set'), page_size=2)) == [1, 2]
    assert len(client.requests) == 2


def test_parse_instance_results_tolerates_missing_keys():
    body = {'AttachInstanceRamRoleResults': {'AttachInstanceRamRoleResult': [
        {'InstanceId': 'i-1', 'Success': True, 'Code': '200', 'Message': 'success'},
        {'InstanceId': 'i-2', 'Success': 'false', 'Code': 'InvalidInstanceId.NotFound'},
        {'InstanceId': 'i-3'}]}}
    assert ecs.parse_instance_results(body, 'AttachInstanceRamRoleResults') == [
        ('i-1', True, '200', 'success'), ('i-2', False, 'InvalidInstanceId.NotFound', ''), ('i-3', False, None, '')]
    assert ecs.parse_instance_results({}, 'DetachInstanceRamRoleResults') == []


def test_describe_instance_ram_roles_batches_by_50():
    def answers(action, params):
        ids = json.loads(params['InstanceIds'])
        return {'TotalCount': len(ids), 'InstanceRamRoleSets': {'InstanceRamRoleSet': [
            {'InstanceId': i, 'RamRoleName': 'web' if i.endswith('0') else ''} for i in ids]}}

    client = FakeClient(answers)
    ids = ['i-%d' % n for n in range(120)]
    result = ecs.describe_instance_ram_roles(client, 'cn-hangzhou', ids)
    assert len(result) == 120 and result['i-10'] == 'web' and result['i-11'] is None
    assert [len(json.loads(p['InstanceIds'])) for _a, p in client.requests] == [50, 50, 20]
    assert all(p['RegionId'] == 'cn-hangzhou' for _a, p in client.requests)


def test_detach_answers_that_leave_the_instance_without_the_role_count_as_done():
    # a classic instance (InvalidNetworkType.MismatchRamRole) cannot hold a role either
    for code in ('Emulator.RamRoleNotAttached', 'InvalidRamRole.NotFound', 'InvalidInstanceId.NotFound', 'Emulator.RamRoleMismatch',
                 'InvalidNetworkType.MismatchRamRole'):
        assert ecs.detach_already_done(code)
    for code in ('Throttling.User', 'InvalidUser.PassRoleForbidden', 'InternalError', None, ''):
        assert not ecs.detach_already_done(code)
