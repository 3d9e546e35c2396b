# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP exit against real local sockets: the URL sent as the SDK encoded it, keep-alive connections
reused (and dropped ones not), compressed answers, TLS failures, an https:// proxy with a tunnel inside
it, and the deadline watchdog. No test waits on a clock."""

import gzip
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import connections, transport
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.network import NO_NETWORK_SETTINGS, Network
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.tests.integration.network_helpers import CountingProxy, TlsFront, self_signed_certificate

ROLE = {'RequestId': 'R', 'Role': {'RoleName': 'web'}}


class _Api(BaseHTTPRequestHandler):
    """Answers every POST with ``ROLE`` (gzip-compressed with ``compress``), records request lines and
    connections; ``close_after``: close the connection after answering (without saying so); ``lose_reply``:
    close it after reading the request, without answering."""

    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.server.connections += 1

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.server.lines.append(self.requestline)
        if self.server.lose_reply:
            self.close_connection = True   # the request was taken in; its answer never leaves
            return
        body = json.dumps(ROLE).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        if self.server.compress:
            body = gzip.compress(body)
            self.send_header('Content-Encoding', 'gzip')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.server.close_after:
            self.wfile.flush()
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def shutdown_request(self, request):
        super().shutdown_request(request)
        self.closed.set()


@pytest.fixture
def api():
    server = _Server(('127.0.0.1', 0), _Api)
    server.closed = threading.Event()
    server.lines, server.connections, server.compress, server.close_after, server.lose_reply = [], 0, False, False, False
    threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
    server.url = 'http://127.0.0.1:%d' % server.server_address[1]
    yield server
    server.shutdown()
    server.server_close()


def ram(url, **options):
    values = dict({'ram_endpoint': url, 'retries': 0, 'connect_timeout': 5, 'read_timeout': 30}, **options)
    return client_utils.service_client_for('ram', Credentials('ak', 'sk'), OptionAdapter.from_dict(values), env={})


def test_the_url_goes_out_as_the_sdk_encoded_it(api):
    name = 'web role/ü?&=%'
    ram(api.url).call('GetRole', {'RoleName': name})
    line = api.lines[0]
    assert line.startswith('POST /?') and line.endswith(' HTTP/1.1')
    target = line.split(' ')[1]
    # the SDK's urlencode, byte for byte: no second pass turned %2F, %3F or %25 into anything else
    assert 'RoleName=web+role%2F%C3%BC%3F%26%3D%25' in target


def test_keep_alive_connections_are_reused_between_calls_and_clients(api):
    first, second = ram(api.url), ram(api.url)
    for client in (first, second, first):
        assert client.call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}
    assert len(api.lines) == 3 and api.connections == 1


def test_a_connection_the_server_closed_is_not_reused(api):
    api.close_after = True
    client = ram(api.url)
    for _index in range(3):
        api.closed.clear()
        assert client.call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}
        assert api.closed.wait(30)   # closed by the server, without a word, once the answer was out
    assert api.connections == 3


def test_a_request_whose_answer_is_lost_on_a_kept_alive_connection_is_never_sent_again(api):
    """The server may have acted on it: sending the same signed bytes again would repeat a write (or be
    refused as a used nonce); what happened is for the caller to find out, with a new signature."""
    client = ram(api.url)
    assert client.call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}
    api.lose_reply = True
    with pytest.raises(AlicloudApiError):
        client.call('CreateRole', {'RoleName': 'web'})
    assert len(api.lines) == 2 and api.connections == 1


def test_a_compressed_answer_is_decoded(api):
    api.compress = True
    assert ram(api.url).call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}


@pytest.fixture
def certificate(tmp_path):
    pytest.importorskip('cryptography')
    return self_signed_certificate(tmp_path)


def test_a_certificate_that_does_not_verify_is_a_tls_error_and_ca_bundle_fixes_it(api, certificate):
    cert, key = certificate
    with TlsFront(api.server_address[1], cert, key) as front:
        with pytest.raises(AlicloudApiError) as exc:
            ram(front.url).call('GetRole', {'RoleName': 'web'})
        assert exc.value.code == 'TLSError' and 'CERTIFICATE_VERIFY_FAILED' in exc.value.message
        assert ram(front.url, ca_bundle=str(cert)).call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}
        assert ram(front.url, validate_certs=False).call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}


def test_an_https_proxy_carries_a_tunnel_to_an_https_endpoint_and_its_user_information(api, certificate):
    cert, key = certificate
    with TlsFront(api.server_address[1], cert, key) as endpoint, CountingProxy() as proxy, TlsFront(proxy.port, cert, key) as tls_proxy:
        proxy_url = tls_proxy.url.replace('https://', 'https://deployer:s%40cret@')
        client = ram(endpoint.url, https_proxy=proxy_url, ca_bundle=str(cert))
        assert client.call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}
        assert proxy.seen == ['CONNECT 127.0.0.1:%d' % endpoint.port]
        assert tls_proxy.server.accepted == 1 and endpoint.server.accepted == 1


def test_an_https_proxy_forwards_plain_http_calls(api, certificate):
    cert, key = certificate
    with CountingProxy() as proxy, TlsFront(proxy.port, cert, key) as tls_proxy:
        client = ram(api.url, http_proxy=tls_proxy.url, ca_bundle=str(cert))
        assert client.call('GetRole', {'RoleName': 'web'})['Role'] == {'RoleName': 'web'}
        assert proxy.seen == ['POST %s/?RoleName=web' % api.url]


def test_a_refused_tunnel_names_the_proxy_without_its_password():
    with CountingProxy(refuse_tunnels=True) as proxy:
        client = ram('https://ram.aliyuncs.com', https_proxy=proxy.url.replace('http://', 'http://u:Pa55word@'))
        with pytest.raises(AlicloudApiError) as exc:
            client.call('GetRole', {'RoleName': 'web'})
    assert exc.value.code == 'ConnectionError' and 'through the proxy http://********@127.0.0.1' in exc.value.message
    assert 'Pa55word' not in exc.value.message


def test_the_watchdog_shuts_the_socket_of_an_exchange_that_outlasts_its_deadline():
    left, right = socket.socketpair()
    try:
        deadline = connections.Deadline(0)
        expired = threading.Event()
        original = deadline.expire

        def expire():
            original()
            expired.set()

        deadline.expire = expire
        deadline.watch(left)
        assert expired.wait(30) and deadline.expired
        assert left.recv(1) == b''   # shut down: the blocked reader wakes up with nothing
    finally:
        left.close()
        right.close()


def test_a_cancelled_deadline_never_fires():
    left, right = socket.socketpair()
    try:
        watchdog = connections._Watchdog(clock=lambda: 100.0)
        deadline = connections.Deadline(5, watchdog=watchdog)
        deadline.watch(left)
        deadline.cancel()
        deadline.expire()   # what the watchdog would do at its time
        assert not deadline.expired
        right.sendall(b'x')
        assert left.recv(1) == b'x'
    finally:
        left.close()
        right.close()


def test_a_plain_request_through_a_proxy_and_directly(api):
    with CountingProxy() as proxy:
        network = Network(proxy.url, None, None, None, True, {})
        status, body = transport.http_request('POST', api.url + '/x', {'Content-Length': '0'}, 10, network)
        assert status == 200 and json.loads(body) == ROLE and proxy.seen == ['POST %s/x' % api.url]
    status, _body = transport.http_request('POST', api.url + '/y', {'Content-Length': '0'}, 10, NO_NETWORK_SETTINGS)
    assert status == 200 and api.lines[-1].startswith('POST /y ')
