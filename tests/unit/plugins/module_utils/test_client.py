# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ServiceClient over the in-process emulator, and the HTTP transport against real local sockets."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import ram_api, client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import endpoints
from ansible_collections.alicloud.ram.plugins.module_utils.client import Timeouts
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.tests.integration.network_helpers import CountingProxy
from ansible_collections.alicloud.ram.tests.unit.emulated import ENDPOINT

ram_models = pytest.importorskip('alibabacloud_ram20150501.models')
darabonba_core = pytest.importorskip('darabonba.core')
TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Service': ['ecs.aliyuncs.com']}}],
                    'Version': '1'})


@pytest.fixture
def ram(emulated):
    creds = Credentials(emulated.config.access_key_id, emulated.config.access_key_secret, None, 'test')
    client = client_utils.service_client_for('ram', creds, OptionAdapter.from_dict({'ram_endpoint': ENDPOINT, 'retries': 2}), env={})
    client._sleep = lambda seconds: None
    return client


def test_call_maps_the_action_to_the_sdk_method_and_request_model(ram, emulated):
    ram.call('CreateRole', {'RoleName': 'web', 'AssumeRolePolicyDocument': TRUST, 'Description': None,
                            'Tag': [{'Key': 'env', 'Value': 'dev'}]})
    body = ram.call('GetRole', {'RoleName': 'web'})
    assert body['Role']['RoleName'] == 'web' and body['RequestId']
    assert ram.calls == {'CreateRole': 1, 'GetRole': 1}
    assert emulated.actions() == ['CreateRole', 'GetRole']


def test_action_without_request_model(emulated):
    creds = Credentials(emulated.config.access_key_id, emulated.config.access_key_secret, None, 'test')
    sts = client_utils.service_client_for('sts', creds, OptionAdapter.from_dict({'sts_endpoint': ENDPOINT}), env={})
    assert sts.call('GetCallerIdentity')['AccountId'] == emulated.config.account_id


def test_unknown_action_is_a_programming_error(ram):
    with pytest.raises(ValueError):
        ram.call('NoSuchAction', {})


def test_throttling_is_retried_and_reported_to_the_pool(ram, emulated):
    emulated.script('GetRole', code='Throttling.User', status=400)
    emulated.script('GetRole', code='Throttling.User', status=400)
    throttled = []
    ram.on_throttle = lambda: throttled.append(1)
    with pytest.raises(AlicloudApiError) as exc:
        ram.call('GetRole', {'RoleName': 'nobody'})
    assert exc.value.code == 'EntityNotExist.Role'
    assert ram.calls == {'GetRole': 3} and len(throttled) == 2


def test_retry_codes_at_the_call_site_and_exhaustion(ram):
    with pytest.raises(AlicloudApiError) as exc:
        ram.call('GetRole', {'RoleName': 'nobody'}, retry_codes=('EntityNotExist.Role',))
    assert exc.value.code == 'EntityNotExist.Role' and ram.calls['GetRole'] == 3


def test_secrets_are_scrubbed_from_errors(ram, emulated):
    emulated.script('GetRole', code='InvalidParameter', status=400, message='echo %s' % emulated.config.access_key_secret)
    with pytest.raises(AlicloudApiError) as err:
        ram.call('GetRole', {'RoleName': 'x'})
    assert emulated.config.access_key_secret not in str(err.value) and '********' in err.value.message


def test_runtime_options_carry_timeouts_proxies_and_tls_settings(ram):
    ram.timeouts = Timeouts(3, 7.5)
    ram.network = endpoints.Network('http://p:1', 'http://p:2', '127.0.0.1', '/ca.pem', False, {})
    runtime = ram._runtime()
    assert (runtime.connect_timeout, runtime.read_timeout, runtime.autoretry) == (3000, 7500, False)
    assert (runtime.http_proxy, runtime.https_proxy, runtime.no_proxy, runtime.ca, runtime.ignore_ssl) == (
        'http://p:1', 'http://p:2', '127.0.0.1', '/ca.pem', True)


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


def test_the_transport_replaces_only_the_sdks_own_http_exit(emulated):
    # a stand-in installed by someone else (here the emulated cloud) stays in place
    stand_in = darabonba_core.DaraCore.do_action
    client_utils.import_sdk('ram')
    assert darabonba_core.DaraCore.do_action == stand_in


# -- the transport against real sockets ---------------------------------------------------------

class _Api(BaseHTTPRequestHandler):
    """A RAM endpoint with scripted answers: ('json', status, body), ('raw', status, type, bytes),
    ('trickle', bytes, delay, n): the first n bytes at once, then one byte per delay."""

    protocol_version = 'HTTP/1.1'
    answers = []
    requests = []

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.requests.append(self.headers.get('x-acs-action'))
        kind = self.answers.pop(0) if self.answers else ('json', 200, {'RequestId': 'R', 'Role': {'RoleName': 'web'}})
        try:
            if kind[0] == 'json':
                self._raw(kind[1], 'application/json;charset=utf-8', json.dumps(kind[2]).encode())
            elif kind[0] == 'raw':
                self._raw(kind[1], kind[2], kind[3])
            else:
                data, delay, at_once = kind[1:]
                self.wfile.write(data[:at_once])
                for index in range(at_once, len(data)):
                    self.wfile.write(data[index:index + 1])
                    self.wfile.flush()
                    time.sleep(delay)
        except OSError:
            pass  # the client hung up

    def _raw(self, status, content_type, data):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def api_server():
    _Api.answers[:] = []
    _Api.requests[:] = []
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Api)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def real_ram(server, **options):
    values = {'ram_endpoint': 'http://127.0.0.1:%d' % server.server_address[1], 'retries': 1, 'connect_timeout': 2, 'read_timeout': 5}
    values.update(options)
    client = client_utils.service_client_for('ram', Credentials('ak', 'sk'), OptionAdapter.from_dict(values), env={})
    client._sleep = lambda seconds: None
    return client


def ok_answer(body=b'{"RequestId": "R", "Role": {"RoleName": "web"}}'):
    return b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body)


def test_real_round_trip_with_error_conversion_and_retry(api_server):
    _Api.answers[:] = [
        ('json', 503, {'Code': 'ServiceUnavailable', 'Message': 'try later', 'RequestId': 'R-503'}),
        ('json', 200, {'RequestId': 'R-ok', 'Role': {'RoleName': 'web', 'Arn': 'acs:ram::1:role/web'}}),
        ('json', 404, {'Code': 'EntityNotExist.Role', 'Message': 'The role does not exist: nope.', 'RequestId': 'R-404'}),
        ('json', 403, {'Code': 'NoPermission', 'Message': 'You are not authorized to do this action.', 'RequestId': 'R-403'}),
    ]
    client = real_ram(api_server, retries=2)
    assert client.call('GetRole', {'RoleName': 'web'})['Role']['Arn'] == 'acs:ram::1:role/web'
    assert client.calls == {'GetRole': 2}
    assert ram_api.get_role(client, 'nope') is None
    with pytest.raises(AlicloudApiError) as exc:
        client.call('GetRole', {'RoleName': 'web'})
    assert (exc.value.code, exc.value.status, exc.value.request_id) == ('NoPermission', 403, 'R-403')
    assert exc.value.message == 'You are not authorized to do this action.'


@pytest.mark.parametrize('what', ['body', 'status line and headers'])
def test_a_trickling_answer_is_cut_off_at_read_timeout_on_every_attempt(api_server, what):
    answer = ok_answer()
    at_once = answer.index(b'\r\n\r\n') + 4 if what == 'body' else 0
    _Api.answers[:] = [('trickle', answer, 0.2, at_once)] * 2
    client = real_ram(api_server, read_timeout=1, retries=1)
    started = time.monotonic()
    with pytest.raises(AlicloudApiError) as exc:
        client.call('GetRole', {'RoleName': 'web'})
    elapsed = time.monotonic() - started
    assert exc.value.code == 'Timeout' and client.calls == {'GetRole': 2}
    assert 'http://127.0.0.1:%d' % api_server.server_address[1] in exc.value.message and '1s (read_timeout)' in exc.value.message
    # two attempts of 1 s each; per-read timeouts alone would have waited 20 s per attempt
    assert 1.9 < elapsed < 4, elapsed


def test_a_fast_answer_is_not_disturbed_by_the_deadline(api_server):
    _Api.answers[:] = [('trickle', ok_answer(), 0.001, 0)]
    assert real_ram(api_server, read_timeout=3).call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}


def test_an_html_gateway_error_is_labelled_trimmed_and_retried(api_server):
    page = b'<html><body>' + b'Bad gateway ' * 500000 + b'</body></html>'
    _Api.answers[:] = [('raw', 502, 'text/html', page)] * 2
    client = real_ram(api_server, retries=1)
    with pytest.raises(AlicloudApiError) as exc:
        client.call('GetRole', {'RoleName': 'web'})
    err = exc.value
    assert (err.code, err.status) == ('UnexpectedAnswer', 502) and client.calls == {'GetRole': 2}
    assert 'HTTP 502 Bad Gateway (text/html, %d bytes)' % len(page) in err.message
    assert 'ConnectionError' not in err.message and len(err.message) < 1300


@pytest.mark.parametrize('status,content_type,body,label', [
    (403, 'text/plain', b'', 'HTTP 403 Forbidden (text/plain, empty body)'),
    (404, 'text/html', b'<h1>Not Found</h1>', 'HTTP 404 Not Found (text/html, 18 bytes)'),
    (200, 'text/html', b'<html>captive portal</html>', 'HTTP 200 OK (text/html, 27 bytes)'),
])
def test_answers_that_are_not_the_apis_are_labelled_and_not_retried(api_server, status, content_type, body, label):
    _Api.answers[:] = [('raw', status, content_type, body)]
    client = real_ram(api_server, retries=3)
    with pytest.raises(AlicloudApiError) as exc:
        client.call('GetRole', {'RoleName': 'web'})
    assert exc.value.code == 'UnexpectedAnswer' and label in exc.value.message
    assert client.calls == {'GetRole': 1}
    # a 404 page from something that is not the API never means "the role does not exist"
    if status == 404:
        _Api.answers[:] = [('raw', status, content_type, body)]
        with pytest.raises(AlicloudApiError):
            ram_api.get_role(client, 'web')


def test_json_without_an_api_error_code_is_labelled(api_server):
    _Api.answers[:] = [('json', 502, {'error': 'upstream down'})]
    with pytest.raises(AlicloudApiError) as exc:
        real_ram(api_server, retries=0).call('GetRole', {'RoleName': 'web'})
    assert exc.value.code == 'UnexpectedAnswer' and 'upstream down' in exc.value.message and exc.value.status == 502


@pytest.fixture
def proxy_server():
    with CountingProxy() as proxy:
        yield proxy


def test_the_proxy_is_used_unless_no_proxy_exempts_the_endpoint(api_server, proxy_server):
    client = real_ram(api_server, http_proxy=proxy_server.url)
    assert client.call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}
    assert proxy_server.seen == ['POST http://127.0.0.1:%d/?RoleName=web' % api_server.server_address[1]]
    assert client.describe()['proxy'] == '%s (option http_proxy)' % proxy_server.url
    exempt = real_ram(api_server, http_proxy=proxy_server.url, no_proxy='example.com, 127.0.0.1:%d' % api_server.server_address[1])
    exempt.call('GetRole', {'RoleName': 'web'})
    assert len(proxy_server.seen) == 1 and _Api.requests == ['GetRole', 'GetRole']
    assert exempt.describe()['proxy'] == 'direct (exempted by option no_proxy)'


def test_proxy_and_no_proxy_from_the_environment(api_server, proxy_server):
    port = api_server.server_address[1]
    env = {'HTTP_PROXY': proxy_server.url, 'NO_PROXY': 'localhost'}
    options = OptionAdapter.from_dict({'ram_endpoint': 'http://127.0.0.1:%d' % port, 'retries': 0})
    client = client_utils.service_client_for('ram', Credentials('ak', 'sk'), options, env=env)
    client.call('GetRole', {'RoleName': 'web'})
    assert len(proxy_server.seen) == 1 and client.describe()['proxy'].endswith('(env HTTP_PROXY)')
    env['no_proxy'] = '127.0.0.0/8'
    client = client_utils.service_client_for('ram', Credentials('ak', 'sk'), options, env=env)
    client.call('GetRole', {'RoleName': 'web'})
    assert len(proxy_server.seen) == 1 and client.describe()['proxy'] == 'direct (exempted by env no_proxy)'
