# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The service layer and the shared in-process emulator: operations, codes, lost replies."""

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.client import service_client_for
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.plugins.module_utils.policy import to_json, trust_policy_for_services
from ansible_collections.alicloud.ram.tests.unit.emulated import ENDPOINT

TRUST = to_json(trust_policy_for_services(['ecs.aliyuncs.com']))


@pytest.fixture
def ram(emulated):
    creds = Credentials(emulated.config.access_key_id, emulated.config.access_key_secret, None, 'test')
    options = OptionAdapter.from_dict({'ram_endpoint': ENDPOINT, 'retries': 2})
    return service_client_for('ram', creds, options)


def test_missing_read_is_none(ram):
    assert ram_api.get_role(ram, 'nobody') is None


def test_create_then_read(ram):
    created = ram_api.create_role(ram, 'app', TRUST, description='d')
    assert created['RoleName'] == 'app'
    assert ram_api.get_role(ram, 'APP')['RoleName'] == 'app'


def test_already_done_by_someone_else_is_false(ram):
    ram_api.create_role(ram, 'app', TRUST)
    assert ram_api.create_role(ram, 'app', TRUST) is False


def test_lost_reply_then_already_done_counts_as_ours(ram, emulated):
    emulated.script('CreateRole', lose_reply=True)
    assert ram_api.create_role(ram, 'app', TRUST) is True
    assert emulated.actions().count('CreateRole') == 2
    assert ram_api.get_role(ram, 'app') is not None


def test_other_errors_name_the_operation(ram, emulated):
    emulated.script('CreateRole', code='NoPermission', status=403)
    with pytest.raises(AlicloudApiError) as caught:
        ram_api.create_role(ram, 'app', TRUST)
    assert caught.value.code == 'NoPermission'
    assert caught.value.operation == 'create role app'


def test_entities_for_policy_by_kind(ram):
    ram_api.create_role(ram, 'app', TRUST)
    ram_api.attach_policy(ram, 'role', 'app', 'AliyunOSSReadOnlyAccess', 'System')
    assert ram_api.attach_policy(ram, 'role', 'app', 'AliyunOSSReadOnlyAccess', 'System') is False
    assert ram_api.list_entities_for_policy(ram, 'AliyunOSSReadOnlyAccess', 'System') == {'user': [], 'group': [], 'role': ['app']}
    assert [p['PolicyName'] for p in ram_api.list_policies_for(ram, 'role', 'app')] == ['AliyunOSSReadOnlyAccess']
    assert ram_api.detach_policy(ram, 'role', 'app', 'AliyunOSSReadOnlyAccess', 'System') is True
    assert ram_api.detach_policy(ram, 'role', 'app', 'AliyunOSSReadOnlyAccess', 'System') is False
