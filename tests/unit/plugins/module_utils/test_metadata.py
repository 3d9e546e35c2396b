# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import threading
from urllib.error import URLError

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import metadata
from ansible_collections.alicloud.ram.plugins.module_utils import network as netconf
from ansible_collections.alicloud.ram.plugins.module_utils.client import service_client_for
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import redact
from ansible_collections.alicloud.ram.plugins.module_utils.metadata import MetadataClient, MetadataError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.tests.emulator import control
from ansible_collections.alicloud.ram.tests.emulator.faults import Faults
from ansible_collections.alicloud.ram.tests.emulator.server import make_server
from ansible_collections.alicloud.ram.tests.emulator.state import Config
from ansible_collections.alicloud.ram.tests.integration.network_helpers import CountingProxy

NOW = 1700000000  # 2023-11-14T22:13:20Z
CREDS = {'AccessKeyId': 'STS.abc', 'AccessKeySecret': 'very-secret-value', 'SecurityToken': 'token-value-123',
         'Expiration': '2023-11-15T04:13:20Z', 'LastUpdated': '2023-11-14T22:13:20Z', 'Code': 'Success'}
ROLE_PATH = '/latest/meta-data/ram/security-credentials/'


class FakeService(object):
    """In-process stand-in for the metadata service, used as the MetadataClient opener."""

    def __init__(self, token_status=200, enforce_token=False, role='web', creds=None, fail_first=0, fail_status=500,
                 serves_metadata=True):
        self.serves_metadata = serves_metadata
        self.token_status = token_status
        self.enforce_token = enforce_token
        self.role = role
        self.creds = creds or dict(CREDS)
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.log = []
        self.tokens = 0

    def __call__(self, method, url, headers, timeout):
        path = url.split('://', 1)[1].split('/', 1)[1]
        path = '/' + path
        self.log.append((method, path, dict(headers)))
        if self.fail_first:
            self.fail_first -= 1
            if self.fail_status is None:
                raise URLError(ConnectionRefusedError('refused'))
            return self.fail_status, b'oops'
        if method == 'PUT' and path == metadata.TOKEN_PATH:
            if self.token_status != 200:
                return self.token_status, b''
            self.tokens += 1
            return 200, ('tok%d' % self.tokens).encode()
        token = headers.get(metadata.TOKEN_HEADER)
        if token is not None and token != 'tok%d' % self.tokens:
            return 401, b''
        if token is None and self.enforce_token:
            return 403, b''
        if not self.serves_metadata:
            return 404, b'not found'
        if path == metadata.INSTANCE_ID_PATH:
            return 200, b'i-fake'
        if path == ROLE_PATH:
            return (200, self.role.encode()) if self.role else (404, b'')
        if path == ROLE_PATH + self.role:
            return 200, json.dumps(self.creds).encode()
        return 404, b'not found'


def client(service, **kwargs):
    kwargs.setdefault('clock', lambda: NOW)
    kwargs.setdefault('sleep', lambda s: None)
    return MetadataClient(endpoint='http://md', opener=service, **kwargs)


def test_hardened_mode_uses_and_reuses_the_token():
    service = FakeService()
    md = client(service, mode='hardened', token_ttl=600)
    assert md.role_name() == 'web'
    creds = md.role_credentials('web')
    assert creds == {'access_key_id': 'STS.abc', 'access_key_secret': 'very-secret-value', 'security_token': 'token-value-123',
                     'expiration': '2023-11-15T04:13:20Z', 'last_updated': '2023-11-14T22:13:20Z'}
    methods = [(m, p) for m, p, _h in service.log]
    assert methods == [('PUT', metadata.TOKEN_PATH), ('GET', ROLE_PATH), ('GET', ROLE_PATH + 'web')]
    assert service.log[0][2] == {metadata.TOKEN_TTL_HEADER: '600'}
    assert service.log[1][2] == {metadata.TOKEN_HEADER: 'tok1'}


def test_token_is_renewed_near_its_ttl():
    now = [NOW]
    service = FakeService()
    md = client(service, mode='hardened', token_ttl=600, clock=lambda: now[0])
    md.role_name()
    now[0] += 590  # inside the renewal margin
    md.role_name()
    assert service.tokens == 2


def test_expired_token_answer_401_gets_one_fresh_token():
    service = FakeService()
    md = client(service, mode='hardened')
    md.role_name()
    service.tokens += 1  # the service forgot our token
    assert md.role_name() == 'web'
    assert [m for m, _p, _h in service.log].count('PUT') == 2


def test_auto_falls_back_to_plain_when_token_not_offered():
    for status in (404, 405):
        service = FakeService(token_status=status)
        md = client(service, mode='auto')
        assert md.role_credentials('web')['access_key_id'] == 'STS.abc'
        assert md.role_name() == 'web'
        assert [m for m, _p, _h in service.log].count('PUT') == 1  # not asked again
        assert all(metadata.TOKEN_HEADER not in h for m, _p, h in service.log if m == 'GET')


@pytest.mark.parametrize('status', [401, 403])
def test_auto_never_falls_back_after_a_refused_token(status):
    service = FakeService(token_status=status)
    with pytest.raises(MetadataError) as exc:
        client(service, mode='auto').role_name()
    assert exc.value.status == status
    assert [m for m, _p, _h in service.log] == ['PUT']


def test_hardened_mode_fails_when_tokens_are_not_offered():
    with pytest.raises(MetadataError) as exc:
        client(FakeService(token_status=404), mode='hardened').role_name()
    assert 'hardened' in exc.value.msg


def test_plain_mode_on_a_hardened_only_instance_explains_403():
    service = FakeService(enforce_token=True)
    with pytest.raises(MetadataError) as exc:
        client(service, mode='plain').role_name()
    assert exc.value.status == 403 and 'hardened' in exc.value.msg
    assert [m for m, _p, _h in service.log] == ['GET']


def test_no_role_attached_and_unknown_role():
    with pytest.raises(MetadataError) as exc:
        client(FakeService(role='')).role_name()
    assert 'no RAM role is attached' in exc.value.msg and exc.value.status == 404
    assert exc.value.cause == metadata.ROLE_MISSING
    with pytest.raises(MetadataError) as exc:
        client(FakeService()).role_credentials('other')
    assert "'other' is not attached" in exc.value.msg and exc.value.cause == metadata.ROLE_MISSING


@pytest.mark.parametrize('ask', [lambda md: md.role_name(), lambda md: md.role_credentials('web')], ids=['discovery', 'named'])
def test_a_service_that_serves_no_metadata_at_all_is_an_endpoint_off_not_a_missing_role(ask):
    service = FakeService(serves_metadata=False)
    with pytest.raises(MetadataError) as exc:
        ask(client(service, mode='plain'))
    assert exc.value.cause == metadata.ENDPOINT_OFF
    assert 'serves no metadata to this host' in exc.value.msg and 'HttpEndpoint=disabled' in exc.value.msg
    assert 'not attached' not in exc.value.msg and 'no RAM role' not in exc.value.msg
    assert service.log[-1][1] == metadata.INSTANCE_ID_PATH


@pytest.mark.parametrize('service, cause', [
    (FakeService(fail_first=10, fail_status=None), metadata.ENDPOINT_OFF),
    (FakeService(role=''), metadata.ROLE_MISSING),
    (FakeService(token_status=403), metadata.TOKEN_REFUSED),
    (FakeService(enforce_token=True), metadata.TOKEN_REFUSED),
], ids=['no answer', 'role missing', 'token refused', 'token required'])
def test_every_failure_says_what_the_service_showed(service, cause):
    mode = 'plain' if service.enforce_token else 'hardened'
    with pytest.raises(MetadataError) as exc:
        client(service, mode=mode, retries=0).role_name()
    assert exc.value.cause == cause, exc.value.msg
    assert '\n' not in exc.value.msg


def test_code_other_than_success_is_an_error_without_secrets():
    creds = dict(CREDS, Code='Failed')
    with pytest.raises(MetadataError) as exc:
        client(FakeService(creds=creds)).role_credentials('web')
    assert "Code 'Failed'" in exc.value.msg
    assert 'very-secret-value' not in exc.value.msg and 'token-value-123' not in exc.value.msg


def test_expired_credentials_are_an_error():
    creds = dict(CREDS, Expiration='2023-11-14T22:00:00Z')
    with pytest.raises(MetadataError) as exc:
        client(FakeService(creds=creds)).role_credentials('web')
    assert 'already expired' in exc.value.msg


def test_5xx_is_retried_with_backoff_then_succeeds():
    sleeps = []
    service = FakeService(fail_first=2, fail_status=503)
    md = client(service, mode='plain', retries=3, sleep=sleeps.append)
    assert md.role_name() == 'web'
    assert len(service.log) == 3 and sleeps == [0.2, 0.4]


def test_4xx_is_not_retried():
    service = FakeService(fail_first=1, fail_status=400)
    with pytest.raises(MetadataError):
        client(service, mode='plain', retries=3, sleep=lambda s: pytest.fail('no retry on 4xx')).role_name()
    assert len(service.log) == 1


def test_unreachable_endpoint_after_retries_gives_a_hint():
    service = FakeService(fail_first=10, fail_status=None)
    with pytest.raises(MetadataError) as exc:
        client(service, mode='plain', retries=2).role_name()
    assert len(service.log) == 3
    assert exc.value.msg.startswith('cannot reach the metadata service at http://md (connection refused): ')
    assert 'HttpEndpoint=disabled' in exc.value.msg and 'not an ECS instance' in exc.value.msg and 'metadata_endpoint' in exc.value.msg


def test_bad_mode_and_ttl_are_rejected():
    with pytest.raises(MetadataError):
        MetadataClient(mode='v2')
    with pytest.raises(MetadataError):
        MetadataClient(token_ttl=21601)


@pytest.fixture
def emulator():
    """The emulator as a real HTTP server; its metadata instance holds role ``web``."""
    server = make_server(Config(), Faults(), quiet=True)
    threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
    url = 'http://127.0.0.1:%d' % server.server_address[1]
    admin = Credentials(server.app.state.config.access_key_id, server.app.state.config.access_key_secret, None, 'test')
    ram = service_client_for('ram', admin, OptionAdapter.from_dict({'ram_endpoint': url}), env={})
    ram.call('CreateRole', {'RoleName': 'web', 'AssumeRolePolicyDocument': json.dumps({'Version': '1', 'Statement': [
        {'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Principal': {'Service': ['ecs.aliyuncs.com']}}]})})
    control.handle(server.app, 'POST', 'metadata', {}, {'role_name': 'web'})
    server.url = url
    yield server
    server.shutdown()
    server.server_close()


def test_real_http_round_trip_in_hardened_mode(emulator):
    md = MetadataClient(endpoint=emulator.url, mode='hardened', timeout=5)
    assert md.role_name() == 'web'
    assert md.role_credentials('web')['security_token']
    assert md.region_id() == 'cn-hangzhou'
    with pytest.raises(MetadataError) as exc:
        md.role_credentials('nope')
    assert exc.value.status == 404


def test_real_http_plain_mode_is_refused_by_a_hardened_only_instance(emulator):
    control.handle(emulator.app, 'POST', 'metadata', {}, {'hardened_only': True})
    with pytest.raises(MetadataError) as exc:
        MetadataClient(endpoint=emulator.url, mode='plain', timeout=5).role_name()
    assert exc.value.status == 403


def disable_metadata_endpoint(server):
    """HttpEndpoint=disabled on the metadata service's instance, through the ECS API as a user would set it."""
    admin = Credentials(server.app.state.config.access_key_id, server.app.state.config.access_key_secret, None, 'test')
    ecs = service_client_for('ecs', admin, OptionAdapter.from_dict({'ecs_endpoint': server.url, 'region': 'cn-hangzhou'}), env={})
    instance_id = control.handle(server.app, 'GET', 'metadata', {}, None)[1]['instance_id']
    ecs.call('ModifyInstanceMetadataOptions', {'RegionId': 'cn-hangzhou', 'InstanceId': instance_id, 'HttpEndpoint': 'disabled'})


@pytest.mark.parametrize('mode', metadata.MODES)
def test_real_http_disabled_endpoint_is_named_as_the_cause_not_a_missing_role(emulator, mode):
    disable_metadata_endpoint(emulator)
    md = MetadataClient(endpoint=emulator.url, mode=mode, timeout=5, retries=1, backoff=0.01)
    for ask in (md.role_name, lambda: md.role_credentials('web')):
        with pytest.raises(MetadataError) as exc:
            ask()
        assert exc.value.cause == metadata.ENDPOINT_OFF
        assert exc.value.msg.startswith('cannot reach the metadata service at %s (connection closed without an answer): '
                                        'the metadata endpoint of this instance is disabled (HttpEndpoint=disabled' % emulator.url)
        assert 'not attached' not in exc.value.msg and 'no RAM role' not in exc.value.msg


def test_each_request_is_bounded_as_a_whole_by_the_timeout(emulator):
    emulator.app.state.faults.update({'trickle_ms': 200})   # the answer would take about 30 s
    md = MetadataClient(endpoint=emulator.url, mode='plain', timeout=0.6, retries=1, backoff=0.01)
    with pytest.raises(MetadataError) as exc:
        md.role_name()
    assert exc.value.msg.startswith('the metadata service at %s sent no complete answer within 0.6s (timeout): ' % emulator.url)
    assert exc.value.cause == metadata.ENDPOINT_OFF
    assert md.requests == 2


def test_requests_go_through_the_proxy_unless_no_proxy_exempts_the_endpoint(emulator):
    with CountingProxy() as proxy:
        network = netconf.Network(proxy.url, None, None, None, True, {'http_proxy': 'env HTTP_PROXY'})
        md = MetadataClient(endpoint=emulator.url, mode='hardened', timeout=5, network=network)
        assert md.role_name() == 'web'
        assert [line.split()[0] for line in proxy.seen] == ['PUT', 'GET']
        assert md.describe() == '%s, through proxy %s (env HTTP_PROXY)' % (emulator.url, proxy.url)
        exempt = netconf.Network(proxy.url, None, '127.0.0.1', None, True, {'no_proxy': 'env NO_PROXY'})
        md = MetadataClient(endpoint=emulator.url, mode='hardened', timeout=5, network=exempt)
        assert md.role_name() == 'web' and len(proxy.seen) == 2
        assert md.describe() == '%s, direct (exempted by env NO_PROXY)' % emulator.url


def test_the_session_token_is_redacted_from_every_later_message(emulator):
    md = MetadataClient(endpoint=emulator.url, mode='hardened', timeout=5)
    md.role_name()
    assert redact('token %s leaked' % md._token) == 'token ******** leaked'
