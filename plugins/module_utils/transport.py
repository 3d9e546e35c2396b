# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""How every API call travels: one exchange on a connection of ``connections.py``, and the SDK's HTTP exit.

The SDK sends every request through one function, darabonba's ``DaraCore.do_action(request,
runtime) -> DaraResponse``, which falls short in three ways: its timeouts are per-read socket
timeouts (a server trickling one byte every 500 ms is never cut off), it never applies
``no_proxy`` (HTTP(S)_PROXY from the environment always wins), and when an answer is not JSON (a
proxy's HTML 502, an empty 200) it raises a parse error that has lost the status and content
type. :func:`send` keeps that function's contract and replaces it in the process that runs a
module (:func:`install`; only the SDK's own function is replaced, never a stand-in installed by
someone else).

:func:`send` speaks HTTP/1.1 with the standard library's ``http.client``, on keep-alive
connections kept per route (endpoint, proxy, TLS settings) between calls and threads. It sends
the URL the SDK composed, already encoded, as it is: requests and urllib3 would parse and
re-encode it on every call, the largest share of a call's CPU with the long query strings of
the batch APIs (docs/benchmarks.md). Proxies: an ``http://`` endpoint through a proxy gets the
absolute URL, an ``https://`` endpoint a CONNECT tunnel; user information in the proxy URL
becomes ``Proxy-Authorization``; an ``https://`` proxy is spoken to over TLS (a tunnel through it
carries TLS inside TLS). TLS: the CA bundle the settings name (a file or a directory; the
system store otherwise), ``validate_certs``, one context per settings.

Connections, routes, proxies, TLS and the whole-call deadline are ``connections.py``'s; proxy and
TLS settings come from ``network.py``; every answer is offered
to :mod:`recording` (``ALIBABA_CLOUD_RECORD``). :func:`http_request` is the same exchange, on a
connection of its own, for the instance metadata service.
"""

import importlib
import json
import socket
import ssl
import zlib

from http.client import HTTPException
from urllib.parse import urlsplit

from ansible_collections.alicloud.ram.plugins.module_utils import recording
from ansible_collections.alicloud.ram.plugins.module_utils.connections import CONNECTIONS, Deadline, Route, open_connection
from ansible_collections.alicloud.ram.plugins.module_utils.network import NO_NETWORK_SETTINGS, Network, proxy_for
from ansible_collections.alicloud.ram.plugins.module_utils.errors import (
    EMPTY_ANSWER_CODE,
    TIMEOUT_ERROR_CODE,
    TLS_ERROR_CODE,
    TRANSPORT_ERROR_CODE,
    UNEXPECTED_ANSWER_CODE,
    TransportFailure,
    describe_answer,
    redact,
)


# -- one exchange ------------------------------------------------------------------------------

DEFAULT_CONNECT_MS = 5000   # the SDK's defaults, for runtime options without timeouts
DEFAULT_READ_MS = 10000
_XML_ERROR_TYPE = 'text/xml;charset=utf-8'  # the one non-JSON error format the SDK parses itself


class Answer(object):
    """Status, reason, headers (lower-case names) and body of one HTTP answer."""

    __slots__ = ('status', 'reason', 'headers', 'body')

    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body


class _Failed(Exception):
    """An exchange failed: ``error`` (OSError, HTTPException), ``connecting``: before the connection was up."""

    def __init__(self, error, connecting):
        super(_Failed, self).__init__(str(error))
        self.error = error
        self.connecting = connecting


def _decoded(body, encoding):
    # servers compress only when asked, and http.client asks for identity; a proxy may not care
    encoding = (encoding or '').strip().lower()
    if encoding in ('gzip', 'x-gzip'):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == 'deflate':
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


def exchange(conn, deadline, method, target, headers, body, read_timeout):
    """Send one request on ``conn`` (connecting it if needed) and read the whole answer; ``(Answer, keep-alive)``.

    Raises :class:`_Failed` for connection and protocol errors.
    """
    connecting = conn.sock is None
    try:
        deadline.watch(conn)
        if connecting:
            conn.connect()
            deadline.watch(conn)   # the socket exists now: shut it at once if the deadline already passed
            connecting = False
        conn.sock.settimeout(read_timeout)
        conn.request(method, target, body=body, headers=dict(headers, **getattr(conn, 'proxy_headers', {})))
        response = conn.getresponse()
        content = _decoded(response.read(), response.getheader('content-encoding'))
    except (OSError, HTTPException) as exc:
        raise _Failed(exc, connecting) from None
    names = {}
    for name, value in response.getheaders():
        name = name.lower()
        names[name] = '%s, %s' % (names[name], value) if name in names else value
    return Answer(response.status, response.reason, names, content), not response.will_close


# -- the SDK's HTTP exit -----------------------------------------------------------------------

def _import(name):
    return importlib.import_module(name)


def install():
    """Send the SDK's requests through :func:`send` from now on (in this process)."""
    core = _import('darabonba.core').DaraCore
    if getattr(core.do_action, '__module__', None) == core.__module__:
        core.do_action = staticmethod(send)


def _seconds(millis, default_millis):
    return float(millis or default_millis) / 1000.0


def base_url(url):
    """``scheme://host[:port]`` of ``url``: what messages show of an endpoint."""
    parts = urlsplit(url)
    return '%s://%s' % (parts.scheme, parts.netloc.rpartition('@')[2])


def _reason(exc):
    """One line for a connection or protocol error (its message, else its type)."""
    text = ' '.join(str(exc).split())
    return text or type(exc).__name__


def _transport_error(failed, url, proxy):
    """The collection's error for a request that got no answer."""
    exc = failed.error
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        # a certificate that does not verify now will not verify on a repeat: not retried
        return TransportFailure(TLS_ERROR_CODE, 'TLS with %s failed: %s (see ca_bundle and validate_certs)' % (
            base_url(url), _reason(exc)))
    if failed.connecting and proxy:
        return TransportFailure(TRANSPORT_ERROR_CODE, 'cannot reach the API endpoint %s through the proxy %s: %s' % (
            base_url(url), redact(proxy), _reason(exc)))
    if failed.connecting and isinstance(exc, socket.timeout):
        return TransportFailure(TRANSPORT_ERROR_CODE, 'cannot reach the API endpoint %s: no connection within the connect_timeout'
                                % base_url(url))
    return TransportFailure(TRANSPORT_ERROR_CODE, 'cannot reach the API endpoint %s: %s' % (base_url(url), _reason(exc)))


def _is_api_answer(status, content_type, body):
    """Whether the SDK can read this answer: JSON (or, for errors, the XML it parses itself)."""
    if status >= 400 and content_type == _XML_ERROR_TYPE:
        return True
    text = (body or b'').lstrip()[:1]
    if status < 400:
        return text in (b'{', b'[')
    try:
        return isinstance(json.loads(body.decode('utf-8')), dict)
    except ValueError:
        return False


def _unexpected(url, answer, content_type):
    if answer.status < 300 and not (answer.body or b'').strip():
        # documented for the instance RAM role APIs: the call may have been carried out
        return TransportFailure(EMPTY_ANSWER_CODE, '%s answered HTTP %s with an empty body' % (base_url(url), answer.status),
                                status=answer.status)
    return TransportFailure(UNEXPECTED_ANSWER_CODE, '%s answered %s' % (base_url(url), describe_answer(
        answer.status, answer.reason, content_type, answer.body)), status=answer.status)


def _network_of(runtime):
    return Network(runtime.get('httpProxy'), runtime.get('httpsProxy'), runtime.get('noProxy'), runtime.get('ca'),
                   not runtime.get('ignoreSSL'), {})


def send(request, runtime_option=None):
    """Send one SDK request (``DaraCore.do_action``'s contract); see the comment at the top."""
    core = _import('darabonba.core')
    runtime = runtime_option or {}
    url = core.DaraCore.compose_url(request)
    proxy = proxy_for(url, _network_of(runtime))[0]
    route = Route(url, proxy, _network_of(runtime), runtime.get('cert'))
    read_timeout = _seconds(runtime.get('readTimeout'), DEFAULT_READ_MS)
    body = request.body.encode('utf-8') if isinstance(request.body, str) else request.body
    conn = CONNECTIONS.take(route, _seconds(runtime.get('connectTimeout'), DEFAULT_CONNECT_MS))
    with Deadline(read_timeout) as deadline:
        try:
            answer, keep_alive = exchange(conn, deadline, request.method.upper(), route.target(url), request.headers, body, read_timeout)
        except _Failed as failed:
            conn.close()
            # once the deadline shut the socket, whatever the reading thread ran into is the timeout
            if deadline.expired:
                raise TransportFailure(TIMEOUT_ERROR_CODE, 'no complete answer from %s within %gs (read_timeout)' % (
                    base_url(url), read_timeout)) from None
            raise _transport_error(failed, url, proxy) from None
        except BaseException:
            conn.close()
            raise
    if keep_alive and not deadline.expired:
        CONNECTIONS.give_back(route, conn)
    else:
        conn.close()
    recording.record(request, url, answer.status, answer.body)
    content_type = answer.headers.get('content-type', '')
    if not _is_api_answer(answer.status, content_type, answer.body):
        raise _unexpected(url, answer, content_type)
    response = _import('darabonba.response').DaraResponse()
    response.status_code = answer.status
    response.status_message = answer.reason
    response.headers = answer.headers
    response.body = answer.body
    return response


# -- plain HTTP exchanges (the instance metadata service) ------------------------------------

def http_request(method, url, headers, timeout, network=NO_NETWORK_SETTINGS):
    """One HTTP exchange on a connection of its own, bounded as a whole by ``timeout`` seconds;
    returns ``(status, body bytes)``.

    Raises ``TimeoutError`` when the whole exchange (connect, request, complete answer) takes
    longer, ``OSError`` / ``HTTPException`` on connection errors.
    """
    route = Route(url, proxy_for(url, network)[0], network)
    conn = open_connection(route, timeout)
    with Deadline(timeout) as deadline:
        try:
            answer = exchange(conn, deadline, method, route.target(url), headers, None, timeout)[0]
        except _Failed as failed:
            if deadline.expired:
                raise TimeoutError('no complete answer within %gs' % timeout) from None
            raise failed.error from None
        finally:
            conn.close()
    return answer.status, answer.body
