# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AlicloudModule: common options, input checks before any call, credentials, region, redaction, -vvv details."""

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import module as module_utils
from ansible_collections.alicloud.ram.plugins.module_utils.common_args import COMMON_ARGUMENT_SPEC
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.tests.unit.emulated import ENDPOINT, ModuleExit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, emulated):
    for name in list(os.environ):
        if name.startswith(('ALIBABA_CLOUD_', 'ALICLOUD_')) or name.lower() in ('http_proxy', 'https_proxy', 'no_proxy'):
            monkeypatch.delenv(name)
    monkeypatch.setenv('HOME', '/nonexistent-home')
    return emulated


def make(args, services=('ram',), spec=None, verbosity=0):
    values = dict(args, _ansible_verbosity=verbosity)
    with patch_module_args(values):
        return module_utils.AlicloudModule(argument_spec=spec or {'name': dict(type='str')}, services=services,
                                           supports_check_mode=True)


def failure(call):
    with pytest.raises(ModuleExit) as exc:
        call()
    assert exc.value.failed
    return exc.value.result


def emulator_args(emulated, **extra):
    values = dict(emulated.common_args())
    values.update(extra)
    return values


def test_common_spec_is_merged_with_aliases():
    module = make({'alicloud_access_key': 'ak', 'alicloud_secret_key': 'sk', 'region_id': 'cn-beijing', 'name': 'x'})
    assert module.params['access_key_id'] == 'ak' and module.params['region'] == 'cn-beijing'
    assert module.params['retries'] == 5 and module.params['name'] == 'x' and module.params['validate_certs'] is True
    assert set(COMMON_ARGUMENT_SPEC) <= set(module.argument_spec)
    for name in ('access_key_secret', 'security_token', 'http_proxy', 'https_proxy'):
        assert COMMON_ARGUMENT_SPEC[name]['no_log'], name


def test_missing_sdk_fails_naming_the_pip_package(monkeypatch):
    monkeypatch.setattr(client_utils, 'missing_sdks', lambda services: (['alibabacloud-ecs20140526'], 'Traceback ...'))
    result = failure(lambda: make({}, services=('ram', 'ecs')))
    assert 'alibabacloud-ecs20140526' in result['msg']


@pytest.mark.parametrize('args,text', [
    ({'read_timeout': -1}, 'read_timeout must be a number of seconds greater than 0 and at most 3600, got -1.0'),
    ({'read_timeout': 0}, 'read_timeout must be a number of seconds greater than 0'),
    ({'read_timeout': 'inf'}, 'read_timeout must be a number of seconds greater than 0 and at most 3600, got inf'),
    ({'read_timeout': 1e308}, 'read_timeout must be a number of seconds greater than 0 and at most 3600'),
    ({'connect_timeout': -0.5}, 'connect_timeout must be a number of seconds greater than 0 and at most 3600, got -0.5'),
    ({'retry_timeout': 3601}, 'retry_timeout must be a number of seconds greater than 0 and at most 3600, got 3601'),
    ({'retries': -1}, 'retries must be between 0 and 100, got -1'),
    ({'retries': 101}, 'retries must be between 0 and 100, got 101'),
    ({'region': 'cn-hangzhou\nx'}, "is not a valid region id"),
    ({'region': 'cn hangzhou'}, "region 'cn hangzhou' is not a valid region id"),
    ({'ecs_endpoint': 'http://h/path'}, 'ecs_endpoint: a path, parameters, query or fragment is not allowed'),
    ({'ram_endpoint': 'ram.aliyuncs.com\nevil'}, 'is not a host name'),
    ({'ram_endpoint': 'http://[::1'}, 'ram_endpoint is not a URL that can be parsed'),
    ({'network': 'intranet'}, 'value of network must be one of: public, vpc, got: intranet'),
    ({'https_proxy': 'socks5://p:1080'}, 'option https_proxy: the proxy URL must start with http:// or https://'),
    ({'https_proxy': 'http://[::1'}, 'option https_proxy is not a usable proxy URL'),
    ({'ca_bundle': '/nonexistent/ca.pem'}, 'ca_bundle: /nonexistent/ca.pem is not a file'),
])
def test_unusable_connection_options_are_refused_before_any_call(emulated, args, text):
    result = failure(lambda: make(emulator_args(emulated, **args)))
    assert text in result['msg']
    assert emulated.actions() == []


def test_a_negative_read_timeout_is_not_retried_as_a_connection_error(emulated):
    from ansible_collections.alicloud.ram.plugins.modules import ram_instance_role_info
    result = emulated.run(ram_instance_role_info, {'read_timeout': -5})
    assert result['failed'] and result['msg'].startswith('read_timeout must be')
    assert 'ConnectionError' not in result['msg'] and emulated.actions() == []


def test_no_credentials_is_a_clean_failure():
    module = make({})
    assert failure(lambda: module.client('ram'))['msg'].startswith('No Alibaba Cloud credentials found')


def test_two_credential_sources_on_one_task_fail_naming_both(emulated):
    module = make(emulator_args(emulated, profile='prod'))
    result = failure(lambda: module.client('ram'))
    assert 'this task sets access_key_id and profile' in result['msg']
    assert emulated.actions() == []


def test_client_is_built_once_and_cached(emulated):
    module = make(emulator_args(emulated))
    ram = module.client('ram')
    assert module.client('ram') is ram
    assert ram.sdk_client._endpoint == '127.0.0.1:9' and ram.retries == 2
    assert module.credentials().source == 'options'
    assert ram.calls == {}


def test_ecs_without_region_fails_cleanly(emulated):
    args = emulator_args(emulated)
    del args['region']
    module = make(args, services=('ram', 'ecs'))
    assert 'needs a region' in failure(lambda: module.client('ecs'))['msg']
    assert module.region('ecs', required=False) is None
    assert module.region('ram') == 'cn-hangzhou'


def test_region_from_the_chosen_profile(emulated, tmp_path, monkeypatch):
    os.makedirs(str(tmp_path / '.aliyun'))
    (tmp_path / '.aliyun' / 'config.json').write_text(json.dumps({'current': 'p', 'profiles': [
        {'name': 'p', 'mode': 'AK', 'access_key_id': emulated.config.access_key_id,
         'access_key_secret': emulated.config.access_key_secret, 'region_id': 'cn-beijing'}]}))
    monkeypatch.setenv('HOME', str(tmp_path))
    args = dict((k, v) for k, v in emulated.common_args().items() if k not in ('access_key_id', 'access_key_secret', 'region'))
    module = make(dict(args, profile='p'), services=('ram', 'ecs'), verbosity=3)
    assert module.region('ecs') == 'cn-beijing'
    assert module.client('ecs').sdk_client._region_id == 'cn-beijing'
    monkeypatch.setenv('ALIBABA_CLOUD_REGION_ID', 'cn-shanghai')
    assert make(dict(args, profile='p'), services=('ram', 'ecs')).region('ecs') == 'cn-shanghai'
    assert make(dict(args, profile='p', region='eu-central-1'), services=('ram', 'ecs')).region('ecs') == 'eu-central-1'


def test_fail_api_is_one_line_with_error_dict_and_no_secret(emulated):
    module = make(emulator_args(emulated, access_key_secret='sk-secret-value'))
    err = AlicloudApiError('NoPermission', 'denied for sk-secret-value at http://u:pw@h/?token=T', request_id='R7', status=403)
    result = failure(lambda: module.fail_api(err, 'create role web', role_name='web'))
    assert result['msg'] == 'create role web failed: NoPermission: denied for ******** at http://********@h/******** (request id R7)'
    assert result['error'] == {'code': 'NoPermission', 'message': 'denied for ******** at http://********@h/********',
                               'request_id': 'R7', 'status': 403}
    assert result['role_name'] == 'web'
    # module_args carry no_log values, which Ansible masks itself
    shown = json.dumps(dict((k, v) for k, v in result.items() if k != 'invocation'))
    assert 'sk-secret-value' not in shown and 'pw@' not in shown


def test_url_options_in_the_module_arguments_shown_at_vvv_are_redacted(emulated):
    module = make(emulator_args(emulated, http_proxy='http://user:Pr0xy@S3cr3tTail@proxy:3128'))
    module.params['metadata_endpoint'] = 'http://admin:MdPass@127.0.0.1:9/?token=T0k3n'
    result = failure(lambda: module.fail_json(msg='stop'))
    args = result['invocation']['module_args']
    assert args['http_proxy'] == 'http://********@proxy:3128'
    assert args['metadata_endpoint'] == 'http://********@127.0.0.1:9/********'
    assert args['ram_endpoint'] == ENDPOINT and args['region'] == 'cn-hangzhou'


def test_warnings_and_debug_lines_are_redacted(emulated, monkeypatch):
    module = make(emulator_args(emulated, access_key_secret='sk-secret-value'))
    logged, warned = [], []
    monkeypatch.setattr(module_utils.AnsibleModule, 'log', lambda self, msg, log_args=None: logged.append(msg))
    monkeypatch.setattr(module_utils.AnsibleModule, 'warn', lambda self, warning, **kwargs: warned.append(warning))
    module._debug = True
    module.warn('leaked sk-secret-value via ftp://admin:PASSWORD@host')
    module.debug('proxy http://user:hunter22@proxy:3128 and X-aliyun-ecs-metadata-token: abcdef')
    assert warned == ['leaked ******** via ftp://********@host']
    assert logged == ['[debug] proxy http://********@proxy:3128 and X-aliyun-ecs-metadata-token: ********']


def test_assume_role_failure_reports_the_sts_error(emulated):
    emulated.script('AssumeRole', code='NoPermission', status=403, message='You are not authorized to do this action.')
    module = make(emulator_args(emulated, assume_role={'role_arn': 'acs:ram::%s:role/x' % emulated.config.account_id}))
    result = failure(lambda: module.client('ram'))
    assert 'assume_role acs:ram::%s:role/x' % emulated.config.account_id in result['msg']
    assert result['error']['code'] == 'NoPermission' and result['error']['request_id'] == 'SCRIPTED-REQUEST'


def test_verbose_results_name_credentials_region_and_connections(emulated, monkeypatch):
    monkeypatch.setenv('HTTP_PROXY', 'http://user:hunter22@proxy.example.com:3128')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    module = make(emulator_args(emulated, ecs_endpoint='http://ecs.example.com:8080'), services=('ram', 'ecs'), verbosity=3)
    module.client('ram')
    module.client('ecs')
    with pytest.raises(ModuleExit) as exc:
        module.exit_json(changed=False)
    result = exc.value.result
    assert result['credentials_source'] == 'options' and result['region_source'] == 'option region'
    assert result['connections'] == {
        'ram': {'endpoint': ENDPOINT, 'proxy': 'direct (exempted by env NO_PROXY)'},
        'ecs': {'endpoint': 'http://ecs.example.com:8080', 'proxy': 'http://********@proxy.example.com:3128 (env HTTP_PROXY)'}}
    quiet = make(emulator_args(emulated))
    quiet.client('ram')
    with pytest.raises(ModuleExit) as exc:
        quiet.exit_json(changed=False)
    assert 'connections' not in exc.value.result and 'credentials_source' not in exc.value.result
