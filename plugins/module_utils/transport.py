# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""How every API call travels: the whole-call deadline, the SDK's HTTP exit, proxies and TLS applied.

The SDK sends every request through one function, darabonba's ``DaraCore.do_action(request,
runtime) -> DaraResponse``, which falls short in three ways: its timeouts are requests' per-read
socket timeouts (a server trickling one byte every 500 ms is never cut off), it never applies
``no_proxy`` (``Session.send`` does not consult it, and HTTP(S)_PROXY from the environment always
wins), and when an answer is not JSON (a proxy's HTML 502, an empty 200) it raises a parse error
that has lost the status and content type. :func:`send` keeps that function's contract and
replaces it in the process that runs a module (:func:`install`; only the SDK's own function is
replaced, never a stand-in installed by someone else). It sends with a requests session of its
own whose connections register with the call's :class:`Deadline`: a watchdog timer that shuts the
socket down when the whole exchange outlasts ``read_timeout``. A watchdog rather than streaming
the body against a clock, because the status line and headers can trickle too, and a blocked read
only ends when its socket does. The session is built on first use: importing this file imports no
HTTP library. Proxy and TLS settings come from ``network.py``; every answer is offered to :mod:`recording` (``ALIBABA_CLOUD_RECORD``).
"""

import base64
import importlib
import json
import os
import re
import socket
import ssl
import threading

from http.client import HTTPConnection, HTTPSConnection
from urllib.parse import unquote, urlsplit

from ansible_collections.alicloud.ram.plugins.module_utils import recording
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


# -- the per-call deadline ---------------------------------------------------------------------

class Deadline(object):
    """Bounds one HTTP exchange as a whole, from the request to the last byte of the answer.

    Socket timeouts apply to each read, so a server that trickles its answer byte by byte would
    never trip them. The deadline's timer starts with the first :meth:`watch` (the request being
    sent); when it fires, every watched connection's socket is shut down, which wakes up the
    thread blocked reading it with an error, and :attr:`expired` tells that error apart.
    """

    def __init__(self, seconds, timer=threading.Timer):
        self.seconds = seconds
        self.expired = False
        self._timer_factory = timer
        self._timer = None
        self._watched = []
        self._lock = threading.Lock()

    def watch(self, connection):
        """Watch ``connection`` (anything with a ``sock`` attribute, or a socket); arms the timer."""
        with self._lock:
            if connection not in self._watched:
                self._watched.append(connection)
            if self._timer is None:
                self._timer = self._timer_factory(self.seconds, self._expire)
                self._timer.daemon = True
                self._timer.start()
            if self.expired:
                _shutdown(connection)

    def _expire(self):
        with self._lock:
            self.expired = True
            for connection in self._watched:
                _shutdown(connection)

    def cancel(self):
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.cancel()


def _shutdown(connection):
    sock = connection if isinstance(connection, socket.socket) else getattr(connection, 'sock', None)
    if sock is None:
        return
    try:
        # the plain socket's shutdown, also for TLS sockets: SSLSocket.shutdown would also drop
        # the TLS state under the feet of the thread still reading it
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError):
        pass


# -- the SDK's HTTP exit -----------------------------------------------------------------------

DEFAULT_CONNECT_MS = 5000   # the SDK's defaults, for runtime options without timeouts
DEFAULT_READ_MS = 10000
_POOL_SIZE = 64             # connections kept per host: one per worker thread is plenty
_XML_ERROR_TYPE = 'text/xml;charset=utf-8'  # the one non-JSON error format the SDK parses itself

_transport = {}
_transport_lock = threading.Lock()
_current_call = threading.local()


def _import(name):
    return importlib.import_module(name)


def install():
    """Send the SDK's requests through :func:`send` from now on (in this process)."""
    core = _import('darabonba.core').DaraCore
    if getattr(core.do_action, '__module__', None) == core.__module__:
        core.do_action = staticmethod(send)


def _watch(connection):
    deadline = getattr(_current_call, 'deadline', None)
    if deadline is not None:
        deadline.watch(connection)


class _WatchedConnection(object):
    """Mixed into urllib3's connection classes: every connection a call uses is watched by its deadline."""

    def connect(self):
        _watch(self)
        super(_WatchedConnection, self).connect()
        _watch(self)  # the socket exists now: shut it at once if the deadline already passed

    def request(self, *args, **kwargs):
        _watch(self)
        return super(_WatchedConnection, self).request(*args, **kwargs)


def _session():
    with _transport_lock:
        if 'session' not in _transport:
            _transport['session'] = _build_session()
        return _transport['session']


def _build_session():
    requests = _import('requests')
    connection = _import('urllib3.connection')
    connectionpool = _import('urllib3.connectionpool')
    pools = {
        'http': type('WatchedHTTPConnectionPool', (connectionpool.HTTPConnectionPool,), {
            'ConnectionCls': type('WatchedHTTPConnection', (_WatchedConnection, connection.HTTPConnection), {})}),
        'https': type('WatchedHTTPSConnectionPool', (connectionpool.HTTPSConnectionPool,), {
            'ConnectionCls': type('WatchedHTTPSConnection', (_WatchedConnection, connection.HTTPSConnection), {})}),
    }

    class WatchedAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super(WatchedAdapter, self).init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            manager = super(WatchedAdapter, self).proxy_manager_for(proxy, **proxy_kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

    session = requests.Session()
    session.trust_env = False  # proxies and CA settings arrive resolved in the runtime options
    adapter = WatchedAdapter(pool_connections=10, pool_maxsize=_POOL_SIZE)
    session.mount('http://', adapter)
    session.mount('https://', adapter)
    return session


def _seconds(millis, default_millis):
    return float(millis or default_millis) / 1000.0


def base_url(url):
    """``scheme://host[:port]`` of ``url``: what messages show of an endpoint."""
    parts = urlsplit(url)
    return '%s://%s' % (parts.scheme, parts.netloc.rpartition('@')[2])


def _reason(exc):
    """The innermost cause of a requests / urllib3 error, without urllib3's connection-class prefix."""
    cause = exc
    while True:
        inner = getattr(cause, 'reason', None) or getattr(cause, 'original_error', None)
        if not isinstance(inner, BaseException) and cause.args and isinstance(cause.args[0], BaseException):
            inner = cause.args[0]
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    return re.sub(r'^\w*Connection(?:Pool)?\(host=[^)]*\): ', '', ' '.join(str(cause).split()))


def _transport_error(exc, url, proxy, requests):
    """The collection's error for a request that got no answer."""
    exceptions = requests.exceptions
    if isinstance(exc, exceptions.ProxyError):
        return TransportFailure(TRANSPORT_ERROR_CODE, 'cannot reach the API endpoint %s through the proxy %s: %s' % (
            base_url(url), redact(proxy), _reason(exc)))
    if isinstance(exc, exceptions.SSLError):
        # a certificate that does not verify now will not verify on a repeat: not retried
        return TransportFailure(TLS_ERROR_CODE, 'TLS with %s failed: %s (see ca_bundle and validate_certs)' % (
            base_url(url), _reason(exc)))
    if isinstance(exc, exceptions.ConnectTimeout):
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
    if answer.status_code < 300 and not (answer.content or b'').strip():
        # documented for the instance RAM role APIs: the call may have been carried out
        return TransportFailure(EMPTY_ANSWER_CODE, '%s answered HTTP %s with an empty body' % (base_url(url), answer.status_code),
                                status=answer.status_code)
    return TransportFailure(UNEXPECTED_ANSWER_CODE, '%s answered %s' % (base_url(url), describe_answer(
        answer.status_code, answer.reason, content_type, answer.content)), status=answer.status_code)


def _network_of(runtime):
    return Network(runtime.get('httpProxy'), runtime.get('httpsProxy'), runtime.get('noProxy'), runtime.get('ca'),
                   not runtime.get('ignoreSSL'), {})


def send(request, runtime_option=None):
    """Send one SDK request (``DaraCore.do_action``'s contract); see the comment at the top."""
    requests = _import('requests')
    core = _import('darabonba.core')
    runtime = runtime_option or {}
    url = core.DaraCore.compose_url(request)
    prepared = requests.PreparedRequest()
    prepared.prepare(method=request.method.upper(), url=url, headers=request.headers,
                     data=request.body.encode('utf-8') if isinstance(request.body, str) else request.body)
    proxy = proxy_for(url, _network_of(runtime))[0]
    connect_timeout = _seconds(runtime.get('connectTimeout'), DEFAULT_CONNECT_MS)
    read_timeout = _seconds(runtime.get('readTimeout'), DEFAULT_READ_MS)
    deadline = Deadline(read_timeout)
    _current_call.deadline = deadline
    try:
        answer = _session().send(prepared, proxies={urlsplit(url).scheme: proxy} if proxy else {}, allow_redirects=False,
                                 timeout=(connect_timeout, read_timeout), cert=runtime.get('cert'),
                                 verify=False if runtime.get('ignoreSSL') else (runtime.get('ca') or True))
    except Exception as exc:  # pylint: disable=broad-except
        # once the deadline shut the socket, whatever the reading thread ran into is the timeout
        if deadline.expired:
            raise TransportFailure(TIMEOUT_ERROR_CODE, 'no complete answer from %s within %gs (read_timeout)' % (
                base_url(url), read_timeout)) from None
        if isinstance(exc, (IOError, requests.RequestException)):
            raise _transport_error(exc, url, proxy, requests) from None
        raise
    finally:
        _current_call.deadline = None
        deadline.cancel()
    recording.record(request, url, answer.status_code, answer.content)
    content_type = answer.headers.get('content-type', '')
    if not _is_api_answer(answer.status_code, content_type, answer.content):
        raise _unexpected(url, answer, content_type)
    response = _import('darabonba.response').DaraResponse()
    response.status_code = answer.status_code
    response.status_message = answer.reason
    response.headers = dict((k.lower(), v) for k, v in answer.headers.items())
    response.body = answer.content
    response.response = answer
    return response


# -- plain HTTP exchanges (the instance metadata service) ------------------------------------

def _connection(url, network, timeout):
    """``(connection, request target)`` for ``url``: direct, or through the proxy ``network`` selects."""
    parts = urlsplit(url)
    https = parts.scheme == 'https'
    context = None
    if https:
        bundle = network.ca_bundle
        context = ssl.create_default_context(capath=bundle) if bundle and os.path.isdir(bundle) else ssl.create_default_context(cafile=bundle)
        if not network.validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    target = parts.path + ('?' + parts.query if parts.query else '')
    proxy = proxy_for(url, network)[0]
    if proxy is None:
        if https:
            return HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context), target
        return HTTPConnection(parts.hostname, parts.port, timeout=timeout), target
    proxy_parts = urlsplit(proxy)
    auth = {}
    if proxy_parts.username is not None:
        pair = '%s:%s' % (unquote(proxy_parts.username), unquote(proxy_parts.password or ''))
        auth['Proxy-Authorization'] = 'Basic ' + base64.b64encode(pair.encode('utf-8')).decode('ascii')
    if https:
        conn = HTTPSConnection(proxy_parts.hostname, proxy_parts.port or 80, timeout=timeout, context=context)
        conn.set_tunnel(parts.hostname, parts.port or 443, headers=auth)
        return conn, target
    conn = HTTPConnection(proxy_parts.hostname, proxy_parts.port or 80, timeout=timeout)
    conn.proxy_headers = auth
    return conn, url


def http_request(method, url, headers, timeout, network=NO_NETWORK_SETTINGS):
    """One HTTP exchange, bounded as a whole by ``timeout`` seconds; returns ``(status, body bytes)``.

    Raises ``TimeoutError`` when the whole exchange (connect, request, complete answer) takes
    longer, ``OSError`` / ``HTTPException`` on connection errors.
    """
    conn, target = _connection(url, network, timeout)
    headers = dict(headers, **getattr(conn, 'proxy_headers', {}))
    deadline = Deadline(timeout)
    try:
        deadline.watch(conn)
        conn.connect()
        deadline.watch(conn)
        conn.request(method, target, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    except Exception:  # pylint: disable=broad-except
        if deadline.expired:
            raise TimeoutError('no complete answer within %gs' % timeout) from None
        raise
    finally:
        deadline.cancel()
        conn.close()
