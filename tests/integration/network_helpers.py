# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small network pieces for the integration tests: a counting forward proxy, and a TLS front for the
emulator with a self-signed certificate made on the spot."""

from __future__ import annotations

import datetime
import ipaddress
import select
import socket
import socketserver
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def _relay(left, right):
    """Copy bytes both ways until one side closes."""
    sockets = [left, right]
    try:
        while True:
            readable, _w, _x = select.select(sockets, [], [], 30)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (right if sock is left else left).sendall(data)
    except OSError:
        return


class _Background:
    """A server running in a daemon thread; ``url`` is where it listens."""

    scheme = 'http'

    def __init__(self, server):
        self.server = server
        self.port = server.server_address[1]
        self.url = '%s://127.0.0.1:%d' % (self.scheme, self.port)
        threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def _forward(self):
        self.server.seen.append('%s %s' % (self.command, self.path))
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        headers = ''.join('%s: %s\r\n' % (k, v) for k, v in self.headers.items()
                          if k.lower() not in ('proxy-connection', 'connection', 'proxy-authorization'))
        target = parts.path + ('?' + parts.query if parts.query else '')
        head = '%s %s HTTP/1.1\r\n%sConnection: close\r\n\r\n' % (self.command, target or '/', headers)
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=30) as upstream:
            upstream.sendall(head.encode('latin-1') + body)
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                self.wfile.write(chunk)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = _forward  # noqa: N815

    def do_CONNECT(self):  # noqa: N802
        self.server.seen.append('CONNECT %s' % self.path)
        if self.server.refuse_tunnels:
            self.send_response(502, 'Tunnel refused by the test proxy')
            self.send_header('Content-Length', '0')
            self.end_headers()
            self.close_connection = True
            return
        host, port = self.path.rsplit(':', 1)
        upstream = socket.create_connection((host, int(port)), timeout=30)
        self.send_response(200, 'Connection established')
        self.end_headers()
        _relay(self.connection, upstream)
        upstream.close()
        self.close_connection = True


class CountingProxy(_Background):
    """A forward proxy (absolute-URI requests and CONNECT tunnels) that records each request line in ``seen``.

    ``refuse_tunnels``: answer every CONNECT with 502 (after recording it): where calls would go, without a network.
    """

    def __init__(self, refuse_tunnels=False):
        server = ThreadingHTTPServer(('127.0.0.1', 0), _ProxyHandler)
        server.daemon_threads = True
        server.seen = []
        server.refuse_tunnels = refuse_tunnels
        super().__init__(server)

    @property
    def seen(self):
        return self.server.seen


def self_signed_certificate(directory, host='127.0.0.1'):
    """Write a self-signed CA-style certificate for ``host`` (IP SAN and localhost) and its key; return both paths."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'alicloud.ram test endpoint')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName('localhost')]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / 'endpoint.pem', directory / 'endpoint.key'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _TlsRelay(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            tls = self.server.context.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            self.server.refused += 1  # a client that does not trust the certificate hangs up here
            return
        self.server.accepted += 1
        with socket.create_connection(self.server.target, timeout=30) as upstream:
            _relay(tls, upstream)


class TlsFront(_Background):
    """HTTPS in front of a plain HTTP server (the emulator), with the certificate at ``cert_path``."""

    scheme = 'https'

    def __init__(self, target_port, cert_path, key_path):
        server = socketserver.ThreadingTCPServer(('127.0.0.1', 0), _TlsRelay)
        server.daemon_threads = True
        server.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.context.load_cert_chain(str(cert_path), str(key_path))
        server.target = ('127.0.0.1', target_port)
        server.accepted = server.refused = 0
        super().__init__(server)
