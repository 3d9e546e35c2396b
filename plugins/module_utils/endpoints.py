# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Endpoint and region resolution (options first, then environment)."""

import os
import re

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

_HOST_RE = re.compile(r'^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(?P<port>[0-9]{1,5}))?$')
_REGION_RE = re.compile(r'^[a-z0-9][a-z0-9-]*[a-z0-9]$')


class EndpointError(ValueError):
    """An endpoint or region setting is unusable."""


def _env(env):
    return os.environ if env is None else env


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
        if parts.path not in ('', '/') or parts.query or parts.fragment:
            raise EndpointError("%s '%s': a path, query or fragment is not allowed; give only scheme, host and port" % (name, text))
        if '@' in parts.netloc:
            raise EndpointError('%s: user information in the URL is not allowed' % name)
        host = parts.netloc
        protocol = scheme
    else:
        host = text.rstrip('/')
    match = _HOST_RE.match(host)
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


def resolve_region(service, options, env=None):
    """Region from the option, then ``ALIBABA_CLOUD_REGION_ID`` / ``ALICLOUD_REGION``.

    RAM and STS are global and default to ``cn-hangzhou``; ECS requires a region.
    """
    region = options.get('region')
    if not region:
        environ = _env(env)
        for name in REGION_ENV:
            if environ.get(name):
                region = environ.get(name)
                break
    if region:
        region = region.strip()
        if not _REGION_RE.match(region):
            raise EndpointError("region '%s' is not a valid region id (for example cn-hangzhou)" % region)
        return region
    if service in GLOBAL_SERVICES:
        return DEFAULT_REGION
    raise EndpointError('%s needs a region: set the region option or ALIBABA_CLOUD_REGION_ID' % service.upper())


def resolve_metadata_endpoint(options, env=None):
    """Base URL of the metadata service (no trailing slash)."""
    value = options.get('metadata_endpoint') or _env(env).get(METADATA_ENDPOINT_ENV) or DEFAULT_METADATA_ENDPOINT
    host, protocol = parse_endpoint(value, 'metadata_endpoint', default_protocol='http')
    return '%s://%s' % (protocol, host)
