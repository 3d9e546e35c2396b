# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""RAM name checks and the result shapes of roles, policies and tags."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import ram, ram_api
from ansible_collections.alicloud.ram.tests.emulator.sdkhelpers import ECS_TRUST


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
