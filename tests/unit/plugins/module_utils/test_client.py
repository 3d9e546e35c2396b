# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils.client import ServiceClient, Timeouts
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter

ram_models = pytest.importorskip('alibabacloud_ram20150501.models')
tea_exceptions = pytest.importorskip('alibabacloud_tea_openapi.exceptions')


class _Body(object):
    def __init__(self, data):
        self.data = data

    def to_map(self):
        return dict(self.data)


class _Response(object):
    def __init__(self, data):
        self.body = _Body(data)


def not_found():
    return tea_exceptions.ClientException(status_code=404, code='EntityNotExist.Role', request_id='R1', data={},
                                          message='code: 404, The role does not exist. request id: R1')


class FakeRamSdk(object):
    """Mimics the SDK client's ``<action>_with_options`` methods."""

    def __init__(self, outcomes=None):
        self.outcomes = list(outcomes or [])
        self.seen = []

    def _next(self, default):
        outcome = self.outcomes.pop(0) if self.outcomes else default
        if isinstance(outcome, Exception):
            raise outcome
        return _Response(outcome)

    def get_role_with_options(self, request, runtime):
        self.seen.append(('GetRole', request, runtime))
        return self._next({'RequestId': 'R', 'Role': {'RoleName': request.role_name}})

    def create_role_with_options(self, tmp_req, runtime):
        self.seen.append(('CreateRole', tmp_req, runtime))
        return self._next({'RequestId': 'R'})

    def get_caller_identity_with_options(self, runtime):
        self.seen.append(('GetCallerIdentity', None, runtime))
        return self._next({'AccountId': '1'})


def service(sdk, **kwargs):
    kwargs.setdefault('sleep', lambda s: None)
    kwargs.setdefault('rand', lambda: 0.0)
    return ServiceClient('ram', sdk, timeouts=Timeouts(3, 7), models=ram_models, **kwargs)


def test_call_maps_action_to_sdk_method_and_request_model():
    sdk = FakeRamSdk()
    client = service(sdk)
    assert client.call('GetRole', {'RoleName': 'web'}) == {'RequestId': 'R', 'Role': {'RoleName': 'web'}}
    action, request, runtime = sdk.seen[0]
    assert isinstance(request, ram_models.GetRoleRequest) and request.role_name == 'web'
    assert (runtime.connect_timeout, runtime.read_timeout, runtime.autoretry) == (3000, 7000, False)
    assert client.calls == {'GetRole': 1}


def test_nested_parameters_reach_the_model():
    sdk = FakeRamSdk()
    service(sdk).call('CreateRole', {'RoleName': 'web', 'MaxSessionDuration': 3600, 'Description': None,
                                     'Tag': [{'Key': 'env', 'Value': 'dev'}]})
    request = sdk.seen[0][1]
    assert isinstance(request, ram_models.CreateRoleRequest)
    assert request.max_session_duration == 3600 and request.description is None
    assert request.tag[0].key == 'env' and request.tag[0].value == 'dev'


def test_action_without_request_model():
    sdk = FakeRamSdk()
    assert service(sdk).call('GetCallerIdentity') == {'AccountId': '1'}


def test_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        service(FakeRamSdk()).call('NoSuchAction', {})


def test_retries_then_success_counts_every_attempt():
    throttled = tea_exceptions.ClientException(status_code=400, code='Throttling.User', request_id='T', data={},
                                               message='code: 400, Request was denied due to user flow control. request id: T')
    sdk = FakeRamSdk([throttled, throttled])
    sleeps = []
    client = service(sdk, retries=5, sleep=sleeps.append, rand=lambda: 1.0)
    assert client.call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}
    assert client.calls == {'GetRole': 3} and sleeps == [1.0, 2.0]


def test_retry_codes_at_call_site_and_exhaustion():
    sdk = FakeRamSdk([not_found()] * 3)
    client = service(sdk, retries=2)
    with pytest.raises(AlicloudApiError) as exc:
        client.call('GetRole', {'RoleName': 'web'}, retry_codes=('EntityNotExist.Role',))
    assert exc.value.code == 'EntityNotExist.Role' and client.calls['GetRole'] == 3


def test_call_or_none():
    client = service(FakeRamSdk([not_found()]), retries=5)
    assert client.call_or_none('GetRole', {'RoleName': 'x'}) is None
    assert client.calls == {'GetRole': 1}
    client = service(FakeRamSdk([not_found()]))
    assert client.call_or_none('GetRole', {'RoleName': 'x'}, missing_codes=('EntityNotExist',)) is None
    client = service(FakeRamSdk([not_found()]))
    with pytest.raises(AlicloudApiError):
        client.call_or_none('GetRole', {'RoleName': 'x'}, missing_codes=('InvalidRamRole.NotFound',))


def test_secrets_are_scrubbed_from_errors():
    exc = tea_exceptions.ClientException(status_code=400, code='InvalidParameter', request_id='R', data={},
                                         message='code: 400, echo supersecretvalue request id: R')
    client = service(FakeRamSdk([exc]), secrets=['supersecretvalue'])
    with pytest.raises(AlicloudApiError) as err:
        client.call('GetRole', {'RoleName': 'x'})
    assert 'supersecretvalue' not in str(err.value)


def test_build_sdk_client_configures_endpoint_protocol_and_user_agent():
    sdk = client_utils.build_sdk_client('ram', Credentials('ak', 'sk', 'tok'), '127.0.0.1:8555', 'http', 'cn-hangzhou', Timeouts(2, 4))
    assert sdk._endpoint == '127.0.0.1:8555' and sdk._protocol == 'http'
    assert sdk._user_agent == client_utils.USER_AGENT
    assert (sdk._connect_timeout, sdk._read_timeout) == (2000, 4000)


def test_unknown_service_and_missing_sdk(monkeypatch):
    with pytest.raises(ValueError):
        client_utils.import_sdk('oss')
    real_import = client_utils._import

    def fake_import(name):
        if name.startswith('alibabacloud_ecs20140526'):
            raise ImportError('No module named %s' % name)
        return real_import(name)

    monkeypatch.setattr(client_utils, '_import', fake_import)
    missing, tb = client_utils.missing_sdks(('ram', 'ecs'))
    assert missing == ['alibabacloud-ecs20140526'] and 'ImportError' in tb
    with pytest.raises(client_utils.MissingSdkError) as exc:
        client_utils.import_sdk('ecs')
    assert exc.value.pip_names == ['alibabacloud-ecs20140526']
    assert client_utils.missing_sdks(('ram',)) == ([], None)


class _RamHandler(BaseHTTPRequestHandler):
    answers = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        status, body = self.answers.pop(0)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json;charset=utf-8')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def ram_server():
    server = HTTPServer(('127.0.0.1', 0), _RamHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_real_sdk_round_trip_with_error_conversion_and_retry(ram_server):
    _RamHandler.answers[:] = [
        (503, {'Code': 'ServiceUnavailable', 'Message': 'try later', 'RequestId': 'R-503'}),
        (200, {'RequestId': 'R-ok', 'Role': {'RoleName': 'web', 'Arn': 'acs:ram::1:role/web'}}),
        (404, {'Code': 'EntityNotExist.Role', 'Message': 'The role does not exist: nope.', 'RequestId': 'R-404'}),
        (403, {'Code': 'NoPermission', 'Message': 'You are not authorized to do this action.', 'RequestId': 'R-403'}),
    ]
    options = OptionAdapter.from_dict({'ram_endpoint': 'http://127.0.0.1:%d' % ram_server.server_address[1], 'retries': 2,
                                       'connect_timeout': 5, 'read_timeout': 5})
    client = client_utils.service_client_for('ram', Credentials('ak', 'sk'), options, env={})
    client._sleep = lambda s: None
    assert client.call('GetRole', {'RoleName': 'web'})['Role']['Arn'] == 'acs:ram::1:role/web'
    assert client.calls == {'GetRole': 2}
    assert client.call_or_none('GetRole', {'RoleName': 'nope'}) is None
    with pytest.raises(AlicloudApiError) as exc:
        client.call('GetRole', {'RoleName': 'web'})
    assert (exc.value.code, exc.value.status, exc.value.request_id) == ('NoPermission', 403, 'R-403')
    assert exc.value.message == 'You are not authorized to do this action.'
