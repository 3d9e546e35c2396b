# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Where the calls go: the endpoint of each service, and the region.

Options come first, then the environment. Without an endpoint setting RAM, a global service, is
``ram.aliyuncs.com`` for every region (Alibaba's RAM endpoint table; the SDK's regional rule would
invent ``ram.<region>.aliyuncs.com`` for regions missing from its map); ECS and STS come from
the SDK's own map and regional rule. ``network: vpc`` (``ALIBABA_CLOUD_NETWORK``) selects the VPC
endpoints, for controllers inside a VPC without internet access. Nothing here does I/O.
"""

import os
import re

from urllib.parse import urlsplit

from ansible_collections.alicloud.ram.plugins.module_utils.data import first_set

DEFAULT_REGION = 'cn-hangzhou'
DEFAULT_METADATA_ENDPOINT = 'http://100.100.100.200'
GLOBAL_SERVICES = ('ram', 'sts')
NETWORKS = ('public', 'vpc')
NETWORK_ENV = 'ALIBABA_CLOUD_NETWORK'
RAM_ENDPOINTS = {'public': 'ram.aliyuncs.com', 'vpc': 'ram.vpc-proxy.aliyuncs.com'}
# regional VPC endpoints: ecs-vpc.<region>.aliyuncs.com, sts-vpc.<region>.aliyuncs.com
VPC_ENDPOINT = '%s-vpc.%s.aliyuncs.com'

ENDPOINT_ENV = {
    'ram': 'ALIBABA_CLOUD_RAM_ENDPOINT',
    'ecs': 'ALIBABA_CLOUD_ECS_ENDPOINT',
    'sts': 'ALIBABA_CLOUD_STS_ENDPOINT',
}
METADATA_ENDPOINT_ENV = 'ALIBABA_CLOUD_METADATA_ENDPOINT'
REGION_ENV = ('ALIBABA_CLOUD_REGION_ID', 'ALICLOUD_REGION', 'ALICLOUD_REGION_ID')

_HOST_RE = re.compile(r'(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?))(?::(?P<port>[0-9]{1,5}))?')
_REGION_RE = re.compile(r'[a-z0-9][a-z0-9-]*[a-z0-9]')


class EndpointError(ValueError):
    """An endpoint, region or network setting is unusable."""


def _env(env):
    return os.environ if env is None else env


def parse_endpoint(value, name='endpoint', default_protocol='https'):
    """Parse ``host``, ``host:port`` or ``http(s)://host[:port]`` into ``(host_with_port, protocol)``."""
    text = value.strip() if isinstance(value, str) else ''
    if not text:
        raise EndpointError('%s is empty' % name)
    protocol = default_protocol
    if '://' in text:
        try:
            parts = urlsplit(text)
        except ValueError:
            raise EndpointError('%s is not a URL that can be parsed (give http(s)://host[:port])' % name) from None
        scheme = (parts.scheme or '').lower()
        if scheme not in ('http', 'https'):
            raise EndpointError('%s: the scheme must be http or https' % name)
        if '@' in parts.netloc:
            raise EndpointError('%s: user information in the URL is not allowed' % name)
        if parts.path not in ('', '/') or parts.query or parts.fragment or ';' in parts.netloc:
            raise EndpointError('%s: a path, parameters, query or fragment is not allowed; give only scheme, host and port' % name)
        host = parts.netloc
        protocol = scheme
    else:
        host = text.rstrip('/')
        if '@' in host:
            raise EndpointError('%s: user information is not allowed' % name)
    match = _HOST_RE.fullmatch(host)
    if not match:
        raise EndpointError('%s is not a host name, host:port or http(s)://host[:port] URL' % name)
    port = match.group('port')
    if port is not None and not 0 < int(port) < 65536:
        raise EndpointError('%s: the port is out of range' % name)
    return host, protocol


def resolve_network_kind(options, env=None):
    """``public`` or ``vpc``: the ``network`` option, else ``ALIBABA_CLOUD_NETWORK``, else public."""
    value, source = options.get('network'), 'network'
    if not value:
        value, source = _env(env).get(NETWORK_ENV), NETWORK_ENV
    if not value:
        return 'public'
    kind = value.strip().lower()
    if kind not in NETWORKS:
        raise EndpointError('%s must be public or vpc' % source)
    return kind


def default_endpoint(service, region, kind='public'):
    """The endpoint host of ``service`` when none is set, or None to let the SDK compute it from the region."""
    if service == 'ram':
        return RAM_ENDPOINTS[kind]
    if kind == 'vpc' and region:
        return VPC_ENDPOINT % (service, region)
    return None


def resolve_endpoint(service, options, region=None, env=None):
    """Return ``(host_with_port, protocol)`` for ``service``: the option, its variable, else :func:`default_endpoint`.

    The host is None when the SDK computes it from ``region`` (ECS and STS on the public network).
    """
    option = '%s_endpoint' % service
    value = options.get(option)
    source = option
    if not value:
        env_name = ENDPOINT_ENV.get(service)
        value = _env(env).get(env_name) if env_name else None
        source = env_name
    if not value:
        return default_endpoint(service, region, resolve_network_kind(options, env)), 'https'
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
    region, name = first_set(_env(env), REGION_ENV)
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
