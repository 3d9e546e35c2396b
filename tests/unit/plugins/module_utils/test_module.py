# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import module as module_utils
from ansible_collections.alicloud.ram.plugins.module_utils.common_args import COMMON_ARGUMENT_SPEC
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError


class Exited(Exception):
    def __init__(self, result):
        super(Exited, self).__init__(result)
        self.result = result


@pytest.fixture(autouse=True)
def no_exit(monkeypatch):
    def fail_json(self, **kwargs):
        raise Exited(kwargs)
    monkeypatch.setattr(module_utils.AlicloudModule, 'fail_json', fail_json)
    for name in list(__import__('os').environ):
        if name.startswith(('ALIBABA_CLOUD_', 'ALICLOUD_')):
            monkeypatch.delenv(name)
    monkeypatch.setenv('HOME', '/nonexistent-home')


def make(args, services=('ram',), spec=None):
    with patch_module_args(args):
        return module_utils.AlicloudModule(argument_spec=spec or {'name': dict(type='str')}, services=services,
                                           supports_check_mode=True)


def test_common_spec_is_merged_with_aliases():
    module = make({'alicloud_access_key': 'ak', 'alicloud_secret_key': 'sk', 'region_id': 'cn-beijing', 'name': 'x'})
    assert module.params['access_key_id'] == 'ak' and module.params['region'] == 'cn-beijing'
    assert module.params['retries'] == 5 and module.params['name'] == 'x'
    assert set(COMMON_ARGUMENT_SPEC) <= set(module.argument_spec)
    assert COMMON_ARGUMENT_SPEC['access_key_secret']['no_log'] and COMMON_ARGUMENT_SPEC['security_token']['no_log']


def test_missing_sdk_fails_naming_the_pip_package(monkeypatch):
    monkeypatch.setattr(client_utils, 'missing_sdks', lambda services: (['alibabacloud-ecs20140526'], 'Traceback ...'))
    with pytest.raises(Exited) as exc:
        make({}, services=('ram', 'ecs'))
    assert 'alibabacloud-ecs20140526' in exc.value.result['msg']


def test_no_credentials_is_a_clean_failure():
    module = make({})
    with pytest.raises(Exited) as exc:
        module.client('ram')
    assert exc.value.result['msg'].startswith('No Alibaba Cloud credentials found')


def test_client_is_built_once_and_cached():
    module = make({'access_key_id': 'ak', 'access_key_secret': 'sk-secret', 'ram_endpoint': 'http://127.0.0.1:9'})
    ram = module.client('ram')
    assert module.client('ram') is ram
    assert ram.sdk_client._endpoint == '127.0.0.1:9' and ram.retries == 5
    assert module.credentials().source == 'options'
    assert module.api_calls() == {'ram': {}}


def test_ecs_without_region_fails_cleanly():
    module = make({'access_key_id': 'ak', 'access_key_secret': 'sk-secret'}, services=('ram', 'ecs'))
    with pytest.raises(Exited) as exc:
        module.client('ecs')
    assert 'region' in exc.value.result['msg']


def test_bad_endpoint_fails_cleanly():
    module = make({'access_key_id': 'ak', 'access_key_secret': 'sk-secret', 'ram_endpoint': 'http://h/path'})
    with pytest.raises(Exited) as exc:
        module.client('ram')
    assert 'ram_endpoint' in exc.value.result['msg']


def test_fail_api_is_one_line_with_error_dict_and_no_secret():
    module = make({'access_key_id': 'ak', 'access_key_secret': 'sk-secret-value'})
    err = AlicloudApiError('NoPermission', 'denied for sk-secret-value', request_id='R7', status=403)
    with pytest.raises(Exited) as exc:
        module.fail_api(err, 'create role web', role_name='web')
    result = exc.value.result
    assert result['msg'] == 'create role web failed: NoPermission: denied for ******** (request id R7)'
    assert result['error'] == {'code': 'NoPermission', 'message': 'denied for ********', 'request_id': 'R7', 'status': 403}
    assert result['role_name'] == 'web'
    assert 'sk-secret-value' not in json.dumps(result)


def test_assume_role_failure_reports_the_sts_error(monkeypatch):
    class FailingSts(object):
        calls = {}

        def call(self, action, params):
            raise AlicloudApiError('NoPermission', 'You are not authorized to do this action.', request_id='R8', status=403)

    module = make({'access_key_id': 'ak', 'access_key_secret': 'sk-secret-value', 'assume_role': {'role_arn': 'acs:ram::1:role/x'}})
    monkeypatch.setattr(module, '_sts_client_factory', lambda creds, options, region=None: FailingSts())
    with pytest.raises(Exited) as exc:
        module.client('ram')
    result = exc.value.result
    assert 'assume_role acs:ram::1:role/x' in result['msg'] and result['error']['request_id'] == 'R8'
