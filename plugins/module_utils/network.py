# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The network settings of every call: proxies, ``no_proxy`` and TLS, options first, then the environment.

``resolve_network`` reads them once per client; ``proxy_for`` tells which proxy (if any) a URL
goes through. The calls themselves travel through ``transport.py``.
"""

import collections
import ipaddress
import os
import re
import ssl

from urllib.parse import urlsplit

from ansible_collections.alicloud.ram.plugins.module_utils.data import first_set

# lower case first: where both are set, the lower-case variable wins (as in curl and urllib)
PROXY_ENV = {'http': ('http_proxy', 'HTTP_PROXY'), 'https': ('https_proxy', 'HTTPS_PROXY')}
NO_PROXY_ENV = ('no_proxy', 'NO_PROXY')
CA_BUNDLE_ENV = 'ALIBABA_CLOUD_CA_BUNDLE'
# the variables of requests and OpenSSL naming a CA bundle, after the collection's own
GENERIC_CA_BUNDLE_ENV = ('REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE')

Network = collections.namedtuple('Network', ['http_proxy', 'https_proxy', 'no_proxy', 'ca_bundle', 'validate_certs', 'sources'])
NO_NETWORK_SETTINGS = Network(None, None, None, None, True, {})


class NetworkError(ValueError):
    """A proxy or TLS setting is unusable. The message names the setting, never its value."""


def _env(env):
    return os.environ if env is None else env


# -- proxies and TLS ---------------------------------------------------------------------------

def _check_proxy(value, source):
    text = value if '://' in value else 'http://' + value
    try:
        parts = urlsplit(text)
        port = parts.port
        hostname = parts.hostname
    except ValueError:
        raise NetworkError('%s is not a usable proxy URL (give http://[user:password@]host:port)' % source) from None
    if (parts.scheme or '').lower() not in ('http', 'https'):
        raise NetworkError('%s: the proxy URL must start with http:// or https://' % source)
    if not hostname or parts.path not in ('', '/') or parts.query or parts.fragment or port == 0:
        raise NetworkError('%s is not a proxy URL such as http://proxy.example.com:3128' % source)
    return text


def system_ca_bundle():
    """The system's CA store as OpenSSL knows it (a file, else a directory), or None."""
    paths = ssl.get_default_verify_paths()
    for path, check in ((paths.cafile, os.path.isfile), (paths.capath, os.path.isdir)):
        if path and check(path):
            return path
    return None


def _ca_bundle(options, environ, sources):
    """The CA bundle: ``ca_bundle`` / ALIBABA_CLOUD_CA_BUNDLE, else REQUESTS_CA_BUNDLE / SSL_CERT_FILE, else the system store."""
    value, source = options.get('ca_bundle'), 'option ca_bundle'
    if not value:
        value, name = first_set(environ, (CA_BUNDLE_ENV,) + GENERIC_CA_BUNDLE_ENV)
        source = 'env %s' % name
    if value:
        path = os.path.expanduser(value)
        if not os.path.exists(path):
            raise NetworkError('%s: %s is not a file (a PEM bundle of CA certificates)' % (source, path))
        sources['ca_bundle'] = source
        return path
    path = system_ca_bundle()
    if path:
        sources['ca_bundle'] = 'the system store'
    return path


def resolve_network(options, env=None):
    """The proxy and TLS settings of the API calls: options first, then the environment.

    ``sources`` names where each setting came from (``option https_proxy``, ``env HTTPS_PROXY``).
    """
    environ = _env(env)
    values, sources = {}, {}
    for scheme, names in sorted(PROXY_ENV.items()):
        option = '%s_proxy' % scheme
        value, source = options.get(option), 'option %s' % option
        if not value:
            value, name = first_set(environ, names)
            source = 'env %s' % name
        values[option] = _check_proxy(value.strip(), source) if value else None
        if value:
            sources[option] = source
    no_proxy, source = options.get('no_proxy'), 'option no_proxy'
    if not no_proxy:
        no_proxy, name = first_set(environ, NO_PROXY_ENV)
        source = 'env %s' % name
    if no_proxy:
        sources['no_proxy'] = source
    ca_bundle = _ca_bundle(options, environ, sources)
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
