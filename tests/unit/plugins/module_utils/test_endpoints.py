# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the calls go: endpoint parsing, the endpoint of each service for each class of region and network, the region."""

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import endpoints
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.endpoints import EndpointError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter


def opts(**values):
    return OptionAdapter.from_dict(values)


def endpoint_of(service, env=None, **options):
    """The URL a client built from ``options`` sends to (the SDK client is built; nothing is sent)."""
    return client_utils.service_client_for(service, Credentials('ak', 'sk'), opts(**options), env=env or {}).endpoint_url()


# -- one test per class of region ----------------------------------------------------------------

def test_a_region_in_the_sdks_map():
    assert endpoint_of('ecs', region='cn-hangzhou') == 'https://ecs-cn-hangzhou.aliyuncs.com'
    assert endpoint_of('sts', region='ap-southeast-2') == 'https://sts.aliyuncs.com'
    assert endpoint_of('ram', region='cn-hangzhou') == 'https://ram.aliyuncs.com'


@pytest.mark.parametrize('region', ['cn-guangzhou', 'cn-wulanchabu', 'ap-northeast-2', 'ap-southeast-7', 'me-central-1', 'na-south-1'])
def test_regions_missing_from_the_sdks_map(region):
    # RAM is global: never ram.<region>.aliyuncs.com, a host that does not exist
    assert endpoint_of('ram', region=region) == 'https://ram.aliyuncs.com'
    assert endpoint_of('ecs', region=region) == 'https://ecs.%s.aliyuncs.com' % region
    assert endpoint_of('sts', region=region) == 'https://sts.%s.aliyuncs.com' % region


@pytest.mark.parametrize('service, expected', [
    ('ram', 'https://ram.vpc-proxy.aliyuncs.com'),
    ('ecs', 'https://ecs-vpc.me-central-1.aliyuncs.com'),
    ('sts', 'https://sts-vpc.me-central-1.aliyuncs.com'),
])
def test_network_vpc_selects_the_vpc_endpoints(service, expected):
    assert endpoint_of(service, region='me-central-1', network='vpc') == expected
    assert endpoint_of(service, env={'ALIBABA_CLOUD_NETWORK': 'VPC'}, region='me-central-1') == expected
    # the option wins over the environment
    assert endpoint_of(service, env={'ALIBABA_CLOUD_NETWORK': 'vpc'}, region='me-central-1', network='public') != expected


@pytest.mark.parametrize('service', ['ram', 'ecs', 'sts'])
def test_explicit_endpoints_win_over_region_and_network(service):
    option = {'%s_endpoint' % service: 'http://127.0.0.1:8555'}
    assert endpoint_of(service, region='na-south-1', network='vpc', **option) == 'http://127.0.0.1:8555'
    env = {endpoints.ENDPOINT_ENV[service]: 'proxy.internal:8443', 'ALIBABA_CLOUD_NETWORK': 'vpc'}
    assert endpoint_of(service, env=env, region='na-south-1') == 'https://proxy.internal:8443'


def test_an_unknown_network_is_refused_naming_where_it_came_from():
    with pytest.raises(EndpointError) as caught:
        endpoints.resolve_network_kind(opts(network='intranet'))
    assert str(caught.value) == 'network must be public or vpc'
    with pytest.raises(EndpointError) as caught:
        endpoints.resolve_network_kind(opts(), {'ALIBABA_CLOUD_NETWORK': 'classic'})
    assert str(caught.value) == 'ALIBABA_CLOUD_NETWORK must be public or vpc'
    assert endpoints.resolve_network_kind(opts(), {}) == 'public'


def test_resolve_endpoint_option_beats_env():
    env = {'ALIBABA_CLOUD_RAM_ENDPOINT': 'http://127.0.0.1:1'}
    assert endpoints.resolve_endpoint('ram', opts(ram_endpoint='http://127.0.0.1:2'), env=env) == ('127.0.0.1:2', 'http')
    assert endpoints.resolve_endpoint('ram', opts(), env=env) == ('127.0.0.1:1', 'http')
    assert endpoints.resolve_endpoint('ram', opts(), env={}) == ('ram.aliyuncs.com', 'https')
    # ECS and STS on the public network: the SDK computes the host from the region
    assert endpoints.resolve_endpoint('ecs', opts(), env=env) == (None, 'https')
    assert endpoints.resolve_endpoint('sts', opts(), env={'ALIBABA_CLOUD_STS_ENDPOINT': 'sts.aliyuncs.com'}) == ('sts.aliyuncs.com', 'https')


# -- parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ('ram.aliyuncs.com', ('ram.aliyuncs.com', 'https')),
    ('127.0.0.1:8555', ('127.0.0.1:8555', 'https')),
    ('http://127.0.0.1:8555', ('127.0.0.1:8555', 'http')),
    ('http://127.0.0.1:8555/', ('127.0.0.1:8555', 'http')),
    ('HTTPS://ecs.cn-hangzhou.aliyuncs.com', ('ecs.cn-hangzhou.aliyuncs.com', 'https')),
    ('  ram.aliyuncs.com  ', ('ram.aliyuncs.com', 'https')),
    ('http://[::1]:9000', ('[::1]:9000', 'http')),
])
def test_parse_endpoint_accepts_hosts_and_urls(value, expected):
    assert endpoints.parse_endpoint(value) == expected


@pytest.mark.parametrize('value, message', [
    ('http://127.0.0.1:8555/api', 'ram_endpoint: a path, parameters, query or fragment is not allowed; give only scheme, host and port'),
    ('http://h:1/?token=T0k3n', 'ram_endpoint: a path, parameters, query or fragment is not allowed; give only scheme, host and port'),
    ('http://h:1;token=T0k3n', 'ram_endpoint: a path, parameters, query or fragment is not allowed; give only scheme, host and port'),
    ('ftp://host', 'ram_endpoint: the scheme must be http or https'),
    ('http://user:pw@host', 'ram_endpoint: user information in the URL is not allowed'),
    ('TOKEN@host:9', 'ram_endpoint: user information is not allowed'),
    ('host:99999', 'ram_endpoint: the port is out of range'),
    ('http://[::1', 'ram_endpoint is not a URL that can be parsed (give http(s)://host[:port])'),
    ('bad host', 'ram_endpoint is not a host name, host:port or http(s)://host[:port] URL'),
    ('host/path', 'ram_endpoint is not a host name, host:port or http(s)://host[:port] URL'),
    ('', 'ram_endpoint is empty'),
])
def test_parse_endpoint_refuses_bad_input_naming_the_option_never_the_value(value, message):
    with pytest.raises(EndpointError) as caught:
        endpoints.parse_endpoint(value, 'ram_endpoint')
    assert str(caught.value) == message


@pytest.mark.parametrize('value', ['ram.aliyuncs.com\nx', 'http://127.0.0.1:1\n/x', 'host:1:2', 'host:'])
def test_an_endpoint_is_checked_as_a_whole_string(value):
    with pytest.raises(EndpointError):
        endpoints.parse_endpoint(value, 'ram_endpoint')


def test_a_bad_env_endpoint_names_the_variable():
    with pytest.raises(EndpointError) as caught:
        endpoints.resolve_endpoint('ecs', opts(), env={'ALIBABA_CLOUD_ECS_ENDPOINT': 'http://h/x'})
    assert str(caught.value).startswith('ALIBABA_CLOUD_ECS_ENDPOINT: ')


# -- region --------------------------------------------------------------------------------------

def test_region_precedence_and_defaults():
    env = {'ALIBABA_CLOUD_REGION_ID': 'cn-beijing', 'ALICLOUD_REGION': 'cn-shanghai'}
    assert endpoints.resolve_region('ecs', opts(region='eu-central-1'), env) == 'eu-central-1'
    assert endpoints.resolve_region('ecs', opts(), env) == 'cn-beijing'
    assert endpoints.resolve_region('ecs', opts(), {'ALICLOUD_REGION': 'cn-shanghai'}) == 'cn-shanghai'
    assert endpoints.resolve_region('ecs', opts(), {}, inferred=('me-central-1', 'metadata')) == 'me-central-1'
    assert endpoints.resolve_region('ram', opts(), {}) == 'cn-hangzhou'
    assert endpoints.resolve_region('sts', opts(), {}) == 'cn-hangzhou'
    with pytest.raises(EndpointError) as caught:
        endpoints.resolve_region('ecs', opts(), {})
    assert str(caught.value) == 'ECS needs a region: set the region option or ALIBABA_CLOUD_REGION_ID'


def test_find_region_says_where_the_region_came_from():
    assert endpoints.find_region(opts(region='cn-beijing'), {}) == ('cn-beijing', 'option region')
    assert endpoints.find_region(opts(), {'ALICLOUD_REGION_ID': 'cn-beijing'}) == ('cn-beijing', 'env ALICLOUD_REGION_ID')
    assert endpoints.find_region(opts(), {}, inferred=('cn-beijing', 'profile p')) == ('cn-beijing', 'profile p')
    assert endpoints.find_region(opts(), {}) == (None, None)


@pytest.mark.parametrize('value', ['cn-hangzhou\n', 'cn-hangzhou\nevil', '-cn', 'cn_hangzhou', 'CN-HANGZHOU', '', None])
def test_a_region_is_checked_as_a_whole_string(value):
    with pytest.raises(EndpointError):
        endpoints.check_region(value)


def test_metadata_endpoint():
    assert endpoints.resolve_metadata_endpoint(opts(), {}) == 'http://100.100.100.200'
    assert endpoints.resolve_metadata_endpoint(opts(), {'ALIBABA_CLOUD_METADATA_ENDPOINT': '127.0.0.1:8555'}) == 'http://127.0.0.1:8555'
    assert endpoints.resolve_metadata_endpoint(opts(metadata_endpoint='http://127.0.0.1:9/'), {}) == 'http://127.0.0.1:9'
    with pytest.raises(EndpointError) as caught:
        endpoints.resolve_metadata_endpoint(opts(metadata_endpoint='http://h/latest#T0k3n'), {})
    assert 'T0k3n' not in str(caught.value)
