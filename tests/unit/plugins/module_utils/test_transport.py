# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP transport against real local sockets: the whole-call deadline, answers that are not the API's, empty
answers, TLS, proxies, and recordings. The SDK and ServiceClient run unchanged; the endpoint is a scripted server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import ram_api, recording
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.tests.integration.network_helpers import CountingProxy, TlsFront, self_signed_certificate

pytest.importorskip('darabonba.core')

ROLE = {'RequestId': 'R', 'Role': {'RoleName': 'web'}}
# how long a held answer waits for the client to give up, at most (the deadline ends it long before)
HOLD_LIMIT = 30


class _Api(BaseHTTPRequestHandler):
    """A RAM endpoint with scripted answers, taken in order: ``('json', status, body)``, ``('raw', status, content type,
    bytes)``, or ``('hold', bytes, n)``: the first n bytes of a raw answer, then nothing until the client hangs up."""

    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        server = self.server
        server.requests.append(self.headers.get('x-acs-action'))
        kind = server.answers.pop(0) if server.answers else ('json', 200, ROLE)
        try:
            if kind[0] == 'json':
                self._raw(kind[1], 'application/json;charset=utf-8', json.dumps(kind[2]).encode())
            elif kind[0] == 'raw':
                self._raw(kind[1], kind[2], kind[3])
            else:
                self.wfile.write(kind[1][:kind[2]])
                self.wfile.flush()
                server.stalled.release()
                server.closing.wait(HOLD_LIMIT)
        except OSError:
            pass  # the client hung up

    def _raw(self, status, content_type, data):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Serving(object):
    """``server`` served on a thread that notices a shutdown at once."""

    def __init__(self, server):
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.01}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope='module')
def served_api():
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Api)
    server.daemon_threads = True
    server.answers, server.requests = [], []
    server.stalled, server.closing = threading.Semaphore(0), threading.Event()
    serving = Serving(server)
    yield server
    server.closing.set()
    serving.close()


@pytest.fixture
def api(served_api):
    """The scripted endpoint; ``answers`` and ``requests`` start empty."""
    served_api.answers[:] = []
    served_api.requests[:] = []
    return served_api


@pytest.fixture(scope='module')
def proxy():
    with CountingProxy() as counting:
        yield counting


@pytest.fixture(scope='module')
def tls(served_api, tmp_path_factory):
    """HTTPS with a self-signed certificate in front of the scripted endpoint; ``cert`` is the certificate's path."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp('tls'))
    with TlsFront(served_api.server_address[1], cert, key) as front:
        front.cert = str(cert)
        yield front


def url(server):
    return 'http://127.0.0.1:%d' % server.server_address[1]


def real_ram(server, env=None, **options):
    values = {'ram_endpoint': url(server), 'retries': 1, 'connect_timeout': 5, 'read_timeout': 10}
    values.update(options)
    return client_utils.service_client_for('ram', Credentials('ak', 'sk-transport-secret'), OptionAdapter.from_dict(values),
                                           env=env if env is not None else {})


def ok_answer(body=json.dumps(ROLE).encode()):
    return b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body)


@pytest.fixture(autouse=True)
def virtual_time(clock):
    """Backoff waits run on the virtual clock."""
    return clock


# -- answers -------------------------------------------------------------------------------------

def test_round_trip_with_error_conversion_and_retry(api):
    api.answers[:] = [
        ('json', 503, {'Code': 'ServiceUnavailable', 'Message': 'try later', 'RequestId': 'R-503'}),
        ('json', 200, {'RequestId': 'R-ok', 'Role': {'RoleName': 'web', 'Arn': 'acs:ram::1:role/web'}}),
        ('json', 404, {'Code': 'EntityNotExist.Role', 'Message': 'The role does not exist: nope.', 'RequestId': 'R-404'}),
        ('json', 403, {'Code': 'NoPermission', 'Message': 'You are not authorized to do this action.', 'RequestId': 'R-403'}),
    ]
    client = real_ram(api, retries=2)
    answer = client.call('GetRole', {'RoleName': 'web'})
    # a 5xx may have been carried out: what follows it is uncertain
    assert answer['Role']['Arn'] == 'acs:ram::1:role/web' and answer.uncertain is True and client.calls == {'GetRole': 2}
    assert ram_api.get_role(client, 'nope') is None
    with pytest.raises(AlicloudApiError) as caught:
        client.call('GetRole', {'RoleName': 'web'})
    assert (caught.value.code, caught.value.status, caught.value.request_id) == ('NoPermission', 403, 'R-403')
    assert caught.value.message == 'You are not authorized to do this action.'


def test_an_empty_answer_is_retried_and_uncertain(api):
    api.answers[:] = [('raw', 200, 'application/json', b''), ('json', 200, ROLE)]
    client = real_ram(api)
    answer = client.call('GetRole', {'RoleName': 'web'})
    assert answer['Role'] == {'RoleName': 'web'} and answer.uncertain is True and client.calls == {'GetRole': 2}
    api.answers[:] = [('raw', 200, 'application/json', b'')] * 2
    with pytest.raises(AlicloudApiError) as caught:
        client.call('GetRole', {'RoleName': 'web'})
    assert (caught.value.code, caught.value.status, caught.value.uncertain) == ('EmptyAnswer', 200, True)
    assert 'answered HTTP 200 with an empty body' in caught.value.message


def test_an_html_gateway_error_is_labelled_trimmed_and_retried(api):
    page = b'<html><body>' + b'Bad gateway ' * 500000 + b'</body></html>'
    api.answers[:] = [('raw', 502, 'text/html', page)] * 2
    client = real_ram(api)
    with pytest.raises(AlicloudApiError) as caught:
        client.call('GetRole', {'RoleName': 'web'})
    err = caught.value
    assert (err.code, err.status) == ('UnexpectedAnswer', 502) and client.calls == {'GetRole': 2}
    assert 'HTTP 502 Bad Gateway (text/html, %d bytes)' % len(page) in err.message
    assert 'ConnectionError' not in err.message and len(err.message) < 1300


@pytest.mark.parametrize('status, content_type, body, label', [
    (403, 'text/plain', b'', 'HTTP 403 Forbidden (text/plain, empty body)'),
    (404, 'text/html', b'<h1>Not Found</h1>', 'HTTP 404 Not Found (text/html, 18 bytes)'),
    (200, 'text/html', b'<html>captive portal</html>', 'HTTP 200 OK (text/html, 27 bytes)'),
])
def test_answers_that_are_not_the_apis_are_labelled_and_not_retried(api, status, content_type, body, label):
    api.answers[:] = [('raw', status, content_type, body)]
    client = real_ram(api, retries=3)
    with pytest.raises(AlicloudApiError) as caught:
        client.call('GetRole', {'RoleName': 'web'})
    assert caught.value.code == 'UnexpectedAnswer' and label in caught.value.message and client.calls == {'GetRole': 1}
    # a 404 page from something that is not the API never means "the role does not exist"
    api.answers[:] = [('raw', status, content_type, body)]
    with pytest.raises(AlicloudApiError):
        ram_api.get_role(client, 'web')


def test_json_without_an_api_error_code_is_labelled(api):
    api.answers[:] = [('json', 502, {'error': 'upstream down'})]
    with pytest.raises(AlicloudApiError) as caught:
        real_ram(api, retries=0).call('GetRole', {'RoleName': 'web'})
    assert caught.value.code == 'UnexpectedAnswer' and 'upstream down' in caught.value.message and caught.value.status == 502


# -- the whole-call deadline (the watchdog itself: test_transport_exchange.py) ----------------------

def test_a_complete_answer_is_not_disturbed_by_the_deadline(api):
    api.answers[:] = [('raw', 200, 'application/json', json.dumps(ROLE).encode())]
    assert real_ram(api, read_timeout=1).call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}


# -- TLS -----------------------------------------------------------------------------------------

def test_a_certificate_that_does_not_verify_fails_at_once(api, tls):
    client = real_ram(api, ram_endpoint=tls.url, retries=3)
    with pytest.raises(AlicloudApiError) as caught:
        client.call('GetRole', {'RoleName': 'web'})
    assert caught.value.code == 'TLSError' and client.calls == {'GetRole': 1} and api.requests == []
    assert caught.value.message.startswith('TLS with %s failed: ' % tls.url) and 'ca_bundle and validate_certs' in caught.value.message
    assert caught.value.uncertain is False


def test_the_ca_bundle_makes_the_certificate_trusted(api, tls):
    assert real_ram(api, ram_endpoint=tls.url, ca_bundle=tls.cert).call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}
    assert real_ram(api, ram_endpoint=tls.url, env={'SSL_CERT_FILE': tls.cert}).call('GetRole', {'RoleName': 'web'})['RequestId'] == 'R'
    assert api.requests == ['GetRole', 'GetRole']


# -- proxies -------------------------------------------------------------------------------------

def test_the_proxy_is_used_unless_no_proxy_exempts_the_endpoint(api, proxy):
    proxy.seen[:] = []
    client = real_ram(api, http_proxy=proxy.url)
    assert client.call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}
    assert proxy.seen == ['POST %s/?RoleName=web' % url(api)]
    assert client.describe()['proxy'] == '%s (option http_proxy)' % proxy.url
    exempt = real_ram(api, http_proxy=proxy.url, no_proxy='example.com, 127.0.0.1:%d' % api.server_address[1])
    exempt.call('GetRole', {'RoleName': 'web'})
    assert len(proxy.seen) == 1 and api.requests == ['GetRole', 'GetRole']
    assert exempt.describe()['proxy'] == 'direct (exempted by option no_proxy)'


def test_proxy_and_no_proxy_from_the_environment(api, proxy):
    proxy.seen[:] = []
    env = {'HTTP_PROXY': proxy.url, 'NO_PROXY': 'localhost'}
    client = real_ram(api, env=env, retries=0)
    client.call('GetRole', {'RoleName': 'web'})
    assert len(proxy.seen) == 1 and client.describe()['proxy'].endswith('(env HTTP_PROXY)')
    env['no_proxy'] = '127.0.0.0/8'
    client = real_ram(api, env=env, retries=0)
    client.call('GetRole', {'RoleName': 'web'})
    assert len(proxy.seen) == 1 and client.describe()['proxy'] == 'direct (exempted by env no_proxy)'


# -- recordings ----------------------------------------------------------------------------------

def test_every_call_is_recorded_without_secrets(api, tmp_path, monkeypatch):
    path = tmp_path / 'calls.jsonl'
    monkeypatch.setenv(recording.RECORD_ENV, str(path))
    api.answers[:] = [('json', 404, {'Code': 'EntityNotExist.Role', 'Message': 'gone', 'RequestId': 'R-404'}),
                      ('raw', 502, 'text/html', b'<h1>down</h1>')]
    client = real_ram(api, retries=0)
    assert ram_api.get_role(client, 'web') is None
    with pytest.raises(AlicloudApiError):
        client.call('ListRoles', {'Marker': 'token-abc', 'MaxItems': 10})
    text = path.read_text()
    assert 'sk-transport-secret' not in text
    first, second = [json.loads(line) for line in text.splitlines()]
    assert (first['service'], first['action'], first['status'], first['params']['RoleName']) == ('ram', 'GetRole', 404, 'web')
    assert first['body']['Code'] == 'EntityNotExist.Role'
    assert (second['action'], second['status'], second['body']) == ('ListRoles', 502, None)
