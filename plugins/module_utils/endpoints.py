# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""How to reach an endpoint: address, region, proxy, TLS settings and the per-call deadline.

Options come first, then the environment. Nothing here does I/O except the deadline's timer.
"""

import collections
import ipaddress
import os
import re
import socket
import threading

from urllib.parse import urlsplit

DEFAULT_REGION = 'cn-hangzhou'
DEFAULT_METADATA_ENDPOINT = 'http://100.100.100.200'
GLOBAL_SERVICES = ('ram', 'sts')

ENDPOINT_ENV = {
    'ram': 'ALIBABA_CLOUD_RAM_ENDPOINT',
    'ecs': 'ALIBABA_CLOUD_ECS_ENDPOINT',
    'sts': 'ALIBABA_CLOUD_STS_ENDPOINT',
}
METADATA_ENDPOINT_ENV = 'ALIBABA_CLOUD_METADATA_ENDPOINT'
REGION_ENV = ('ALIBABA_CLOUD_REGION_ID', 'ALICLOUD_REGION', 'ALICLOUD_REGION_ID')
# lower case first: where both are set, the lower-case variable wins (as in curl and urllib)
PROXY_ENV = {'http': ('http_proxy', 'HTTP_PROXY'), 'https': ('https_proxy', 'HTTPS_PROXY')}
NO_PROXY_ENV = ('no_proxy', 'NO_PROXY')
CA_BUNDLE_ENV = 'ALIBABA_CLOUD_CA_BUNDLE'

_HOST_RE = re.compile(r'(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?))(?::(?P<port>[0-9]{1,5}))?')
_REGION_RE = re.compile(r'[a-z0-9][a-z0-9-]*[a-z0-9]')

Network = collections.namedtuple('Network', ['http_proxy', 'https_proxy', 'no_proxy', 'ca_bundle', 'validate_certs', 'sources'])
NO_NETWORK_SETTINGS = Network(None, None, None, None, True, {})


class EndpointError(ValueError):
    """An endpoint, region or network setting is unusable."""


def _env(env):
    return os.environ if env is None else env


def _first_env(environ, names):
    """``(value, name)`` of the first non-empty variable of ``names``."""
    for name in names:
        if environ.get(name):
            return environ[name], name
    return None, None


def parse_endpoint(value, name='endpoint', default_protocol='https'):
    """Parse ``host``, ``host:port`` or ``http(s)://host[:port]`` into ``(host_with_port, protocol)``."""
    text = (value or '').strip()
    if not text:
        raise EndpointError('%s is empty' % name)
    protocol = default_protocol
    if '://' in text:
        parts = urlsplit(text)
        scheme = (parts.scheme or '').lower()
        if scheme not in ('http', 'https'):
            raise EndpointError("%s '%s': the scheme must be http or https" % (name, text))
        if '@' in parts.netloc:
            raise EndpointError('%s: user information in the URL is not allowed' % name)
        if parts.path not in ('', '/') or parts.query or parts.fragment:
            raise EndpointError("%s '%s': a path, query or fragment is not allowed; give only scheme, host and port" % (name, text))
        host = parts.netloc
        protocol = scheme
    else:
        host = text.rstrip('/')
    match = _HOST_RE.fullmatch(host)
    if not match:
        raise EndpointError("%s '%s' is not a host name, host:port or http(s)://host[:port] URL" % (name, text))
    port = match.group('port')
    if port is not None and not 0 < int(port) < 65536:
        raise EndpointError("%s '%s': port out of range" % (name, text))
    return host, protocol


def resolve_endpoint(service, options, region=None, env=None):
    """Return ``(host_with_port or None, protocol)`` for ``service``.

    ``None`` lets the SDK compute its default endpoint from the region. ``region`` is accepted
    for symmetry with the SDK; the host itself never depends on it here.
    """
    del region  # the SDK derives default hosts from the region itself
    option = '%s_endpoint' % service
    value = options.get(option)
    source = option
    if not value:
        env_name = ENDPOINT_ENV.get(service)
        value = _env(env).get(env_name) if env_name else None
        source = env_name
    if not value:
        return None, 'https'
    return parse_endpoint(value, source)


def check_region(region, source='region'):
    """``region`` if it is a region id (the whole string), else :class:`EndpointError`."""
    if not isinstance(region, str) or not _REGION_RE.fullmatch(region):
        raise EndpointError('%s %r is not a valid region id (for example cn-hangzhou)' % (source, region))
    return region


def find_region(options, env=None, inferred=None):
    """``(region, source)``: the ``region`` option, ``ALIBABA_CLOUD_REGION_ID`` / ``ALICLOUD_REGION``, then ``inferred``.

    ``inferred`` is ``(region, source)`` from the credentials (the chosen profile's ``region_id``
    or the metadata service's ``region-id``), or None. ``(None, None)`` when nothing is set.
    """
    region = options.get('region')
    if region:
        return check_region(region), 'option region'
    region, name = _first_env(_env(env), REGION_ENV)
    if region:
        return check_region(region.strip(), name), 'env %s' % name
    if inferred and inferred[0]:
        return check_region(inferred[0], inferred[1]), inferred[1]
    return None, None


def resolve_region(service, options, env=None, inferred=None):
    """The region for ``service`` (see :func:`find_region`).

    RAM and STS are global and default to ``cn-hangzhou``; ECS requires a region.
    """
    region = find_region(options, env, inferred)[0]
    if region:
        return region
    if service in GLOBAL_SERVICES:
        return DEFAULT_REGION
    raise EndpointError('%s needs a region: set the region option or ALIBABA_CLOUD_REGION_ID' % service.upper())


def resolve_metadata_endpoint(options, env=None):
    """Base URL of the metadata service (no trailing slash)."""
    value = options.get('metadata_endpoint') or _env(env).get(METADATA_ENDPOINT_ENV) or DEFAULT_METADATA_ENDPOINT
    host, protocol = parse_endpoint(value, 'metadata_endpoint', default_protocol='http')
    return '%s://%s' % (protocol, host)


# -- proxies and TLS ---------------------------------------------------------------------------

def _check_proxy(value, source):
    parts = urlsplit(value if '://' in value else 'http://' + value)
    if (parts.scheme or '').lower() not in ('http', 'https'):
        raise EndpointError('%s: the proxy URL must start with http:// or https://' % source)
    try:
        port = parts.port
    except ValueError:
        raise EndpointError('%s: the proxy port is out of range' % source) from None
    if not parts.hostname or parts.path not in ('', '/') or parts.query or parts.fragment or port == 0:
        raise EndpointError('%s is not a proxy URL such as http://proxy.example.com:3128' % source)
    return value if '://' in value else 'http://' + value


def resolve_network(options, env=None):
    """The proxy and TLS settings of the API calls: options first, then the environment.

    ``sources`` names where each proxy setting came from (``option https_proxy``, ``env HTTPS_PROXY``).
    """
    environ = _env(env)
    values, sources = {}, {}
    for scheme, names in sorted(PROXY_ENV.items()):
        option = '%s_proxy' % scheme
        value, source = options.get(option), 'option %s' % option
        if not value:
            value, name = _first_env(environ, names)
            source = 'env %s' % name
        values[option] = _check_proxy(value.strip(), source) if value else None
        if value:
            sources[option] = source
    no_proxy, source = options.get('no_proxy'), 'option no_proxy'
    if not no_proxy:
        no_proxy, name = _first_env(environ, NO_PROXY_ENV)
        source = 'env %s' % name
    if no_proxy:
        sources['no_proxy'] = source
    ca_bundle = options.get('ca_bundle') or environ.get(CA_BUNDLE_ENV) or None
    if ca_bundle:
        source = 'ca_bundle' if options.get('ca_bundle') else CA_BUNDLE_ENV
        ca_bundle = os.path.expanduser(ca_bundle)
        if not os.path.isfile(ca_bundle):
            raise EndpointError('%s: %s is not a file (a PEM bundle of CA certificates)' % (source, ca_bundle))
    validate_certs = options.get('validate_certs')
    return Network(values['http_proxy'], values['https_proxy'], no_proxy or None, ca_bundle,
                   True if validate_certs is None else bool(validate_certs), sources)


def _entry_host_port(entry):
    """``(host, port or None)`` of a NO_PROXY entry: ``host``, ``.domain``, ``host:port``, ``[v6]:port``, ``10.0.0.0/8``."""
    if entry.startswith('['):
        host, _sep, rest = entry[1:].partition(']')
        return host, rest[1:] if rest.startswith(':') else None
    if entry.count(':') == 1:
        host, port = entry.split(':')
        return host, port
    return entry, None


def _ip(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def bypasses_proxy(host, port, no_proxy):
    """Whether ``no_proxy`` (comma or space separated) exempts ``host:port`` from the proxy.

    Entries: ``*`` (everything), host names and domain suffixes (``example.com`` and
    ``.example.com`` both match ``example.com`` and ``api.example.com``), IP addresses,
    CIDR blocks (``10.0.0.0/8``), each optionally with ``:port`` (then only that port).
    """
    host = (host or '').strip('[]').rstrip('.').lower()
    address = _ip(host)
    for entry in re.split(r'[\s,]+', (no_proxy or '').strip().lower()):
        if not entry:
            continue
        if entry == '*':
            return True
        entry_host, entry_port = _entry_host_port(entry)
        if entry_port and (not entry_port.isdigit() or int(entry_port) != port):
            continue
        entry_host = entry_host.lstrip('*').lstrip('.').rstrip('.')
        if not entry_host:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry_host, strict=False):
                    return True
            except ValueError:
                pass
        elif host == entry_host or host.endswith('.' + entry_host):
            return True
    return False


def proxy_for(url, network):
    """``(proxy URL or None, why)`` for a request to ``url`` under ``network`` settings."""
    parts = urlsplit(url)
    scheme = (parts.scheme or 'http').lower()
    proxy = network.https_proxy if scheme == 'https' else network.http_proxy
    if not proxy:
        return None, 'no proxy set'
    port = parts.port or (443 if scheme == 'https' else 80)
    if network.no_proxy and bypasses_proxy(parts.hostname, port, network.no_proxy):
        return None, 'exempted by %s' % network.sources.get('no_proxy', 'no_proxy')
    return proxy, network.sources.get('%s_proxy' % scheme, '%s_proxy' % scheme)


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
