# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Connections of the API calls: keep-alive connections per route (endpoint, proxy, TLS settings), proxies and
tunnels, TLS contexts, and the whole-call deadline.

Every exchange is bounded by a :class:`Deadline`: one watchdog thread shuts down the sockets of
exchanges that outlast ``read_timeout`` as a whole. A watchdog rather than streaming the body
against a clock, because the status line and headers can trickle too, and a blocked read only
ends when its socket does. Proxies: an ``http://`` endpoint through a proxy gets the absolute URL,
an ``https://`` endpoint a CONNECT tunnel; user information in the proxy URL becomes
``Proxy-Authorization``; an ``https://`` proxy is spoken to over TLS (a tunnel through it carries
TLS inside TLS). TLS: the CA bundle the settings name (a file or a directory; the system store
otherwise), ``validate_certs``, one context per settings.
"""

import base64
import heapq
import io
import itertools
import os
import select
import socket
import ssl
import threading
import time

from http.client import HTTPConnection, HTTPSConnection
from urllib.parse import unquote, urlsplit


# -- the per-call deadline ---------------------------------------------------------------------

class _Watchdog(object):
    """One daemon thread that expires :class:`Deadline` objects when their time comes (a thread
    per call would cost more than the rest of a call's bookkeeping)."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._heap = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread = None

    def add(self, deadline):
        with self._cond:
            heapq.heappush(self._heap, (deadline.due, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name='alicloud-ram-deadlines', daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                due, _order, deadline = self._heap[0]
                if deadline.cancelled:
                    heapq.heappop(self._heap)
                    continue
                wait = due - self.clock()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            deadline.expire()


_WATCHDOG = _Watchdog()


class Deadline(object):
    """Bounds one HTTP exchange as a whole, from the request to the last byte of the answer.

    Socket timeouts apply to each read, so a server that trickles its answer byte by byte would
    never trip them. The deadline starts with the first :meth:`watch` (the request being sent);
    when it passes, every watched connection's socket is shut down, which wakes up the thread
    blocked reading it with an error, and :attr:`expired` tells that error apart.
    """

    def __init__(self, seconds, watchdog=None):
        self.seconds = seconds
        self.expired = False
        self.cancelled = False
        self.due = None
        self._watchdog = watchdog or _WATCHDOG
        self._watched = []
        self._lock = threading.Lock()

    def watch(self, connection):
        """Watch ``connection`` (anything with a ``sock`` attribute, or a socket); starts the clock."""
        with self._lock:
            if connection not in self._watched:
                self._watched.append(connection)
            start = self.due is None
            if start:
                self.due = self._watchdog.clock() + self.seconds
            if self.expired:
                _shutdown(connection)
        if start:
            self._watchdog.add(self)

    def expire(self):
        with self._lock:
            if self.cancelled:
                return
            self.expired = True
            for connection in self._watched:
                _shutdown(connection)

    def cancel(self):
        with self._lock:
            self.cancelled = True

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.cancel()


def _shutdown(connection):
    sock = connection if isinstance(connection, socket.socket) else getattr(connection, 'sock', None)
    sock = getattr(sock, 'outer', sock)  # TLS inside a TLS tunnel: the socket underneath
    if sock is None:
        return
    try:
        # the plain socket's shutdown, also for TLS sockets: SSLSocket.shutdown would also drop
        # the TLS state under the feet of the thread still reading it
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError):
        pass


# -- routes and connections --------------------------------------------------------------------

class Route(object):
    """Where the bytes of a URL go: ``scheme://host:port``, directly or through ``proxy``, with TLS ``settings``."""

    __slots__ = ('scheme', 'host', 'port', 'proxy', 'tls', 'key')

    def __init__(self, url, proxy, network, cert=None):
        parts = urlsplit(url)
        self.scheme = (parts.scheme or 'http').lower()
        self.host = parts.hostname
        self.port = parts.port or (443 if self.scheme == 'https' else 80)
        self.proxy = proxy
        # a certificate is checked against the CA bundle the settings name (the system store if none)
        self.tls = (network.ca_bundle, bool(network.validate_certs), cert)
        self.key = (self.scheme, self.host, self.port, proxy, self.tls)

    def target(self, url):
        """The request target: the absolute URL for a plain proxy, else path and query."""
        if self.proxy and self.scheme == 'http':
            return url
        parts = urlsplit(url)
        return (parts.path or '/') + ('?' + parts.query if parts.query else '')


_contexts = {}
_contexts_lock = threading.Lock()


def _tls_context(settings):
    """One ``SSLContext`` per ``(ca_bundle, validate_certs, client cert)``: loading a CA store costs milliseconds."""
    with _contexts_lock:
        context = _contexts.get(settings)
        if context is None:
            bundle, validate, cert = settings
            if bundle and os.path.isdir(bundle):
                context = ssl.create_default_context(capath=bundle)
            else:
                context = ssl.create_default_context(cafile=bundle or None)
            if not validate:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if cert:
                context.load_cert_chain(*((cert,) if isinstance(cert, str) else tuple(cert)))
            _contexts[settings] = context
        return context


def _proxy_headers(proxy_parts):
    if proxy_parts.username is None:
        return {}
    pair = '%s:%s' % (unquote(proxy_parts.username), unquote(proxy_parts.password or ''))
    return {'Proxy-Authorization': 'Basic ' + base64.b64encode(pair.encode('utf-8')).decode('ascii')}


class _TlsInTls(object):
    """TLS to the endpoint carried inside the TLS connection to an ``https://`` proxy (a CONNECT tunnel).

    The socket ``http.client`` reads and writes: the inner TLS session runs on memory buffers and
    its records travel through ``outer`` (what a deadline shuts down).
    """

    def __init__(self, outer, context, hostname):
        self.outer = outer
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=hostname)
        self._pump(self._tls.do_handshake)

    def _pump(self, step, *args):
        while True:
            try:
                result = step(*args)
            except ssl.SSLWantReadError:
                self._flush()
                data = self.outer.recv(65536)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
                continue
            except ssl.SSLZeroReturnError:
                result = b''
            self._flush()
            return result

    def _flush(self):
        data = self._outgoing.read()
        if data:
            self.outer.sendall(data)

    def sendall(self, data):
        view = memoryview(data)
        while view:
            view = view[self._pump(self._tls.write, view):]

    def recv_into(self, buffer):
        data = self._pump(self._tls.read, len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def makefile(self, mode='rb'):  # pylint: disable=unused-argument
        return io.BufferedReader(_Readable(self))

    def settimeout(self, value):
        self.outer.settimeout(value)

    def fileno(self):
        return self.outer.fileno()

    def close(self):
        self.outer.close()


class _Readable(io.RawIOBase):
    def __init__(self, sock):
        super(_Readable, self).__init__()
        self._sock = sock

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._sock.recv_into(buffer)


def open_connection(route, timeout):
    """A new, unconnected ``http.client`` connection for ``route``; ``connect()`` opens it."""
    https = route.scheme == 'https'
    context = _tls_context(route.tls) if https else None
    if route.proxy is None:
        if https:
            return HTTPSConnection(route.host, route.port, timeout=timeout, context=context)
        return HTTPConnection(route.host, route.port, timeout=timeout)
    proxy = urlsplit(route.proxy)
    proxy_tls = (proxy.scheme or 'http').lower() == 'https'
    proxy_port = proxy.port or (443 if proxy_tls else 80)
    auth = _proxy_headers(proxy)
    if https:
        conn = HTTPSConnection(proxy.hostname, proxy_port, timeout=timeout, context=context)
        conn.set_tunnel(route.host, route.port, headers=auth)
    else:
        conn = HTTPConnection(proxy.hostname, proxy_port, timeout=timeout)
        conn.proxy_headers = auth
    if proxy_tls:
        _speak_tls_to_proxy(conn, _tls_context(route.tls), proxy.hostname, tunnel=https)
    return conn


def _speak_tls_to_proxy(conn, context, proxy_host, tunnel):
    """Make ``conn`` reach its ``https://`` proxy over TLS (and, for a tunnel, the endpoint over TLS inside it)."""
    def to_proxy(address, timeout, source_address=None):
        return context.wrap_socket(socket.create_connection(address, timeout, source_address), server_hostname=proxy_host)

    conn._create_connection = to_proxy  # pylint: disable=protected-access
    if tunnel:
        def connect():
            HTTPConnection.connect(conn)   # TCP, TLS to the proxy, CONNECT
            conn.sock = _TlsInTls(conn.sock, conn._context, conn._tunnel_host)  # pylint: disable=protected-access
        conn.connect = connect


def _dropped(conn):
    """Whether an idle keep-alive connection was closed by the other end (or has bytes nobody asked for)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class _Connections(object):
    """Idle keep-alive connections by route, shared between threads (each call takes one for itself)."""

    def __init__(self, idle_per_route=64):
        self.idle_per_route = idle_per_route
        self._idle = {}
        self._lock = threading.Lock()

    def take(self, route, timeout):
        while True:
            with self._lock:
                idle = self._idle.get(route.key)
                conn = idle.pop() if idle else None
            if conn is None:
                return open_connection(route, timeout)
            if not _dropped(conn):
                return conn
            conn.close()

    def give_back(self, route, conn):
        with self._lock:
            idle = self._idle.setdefault(route.key, [])
            if len(idle) < self.idle_per_route:
                idle.append(conn)
                return
        conn.close()


CONNECTIONS = _Connections()
