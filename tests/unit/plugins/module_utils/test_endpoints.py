# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import endpoints
from ansible_collections.alicloud.ram.plugins.module_utils.endpoints import EndpointError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter


def opts(**values):
    return OptionAdapter.from_dict(values)


@pytest.mark.parametrize('value,expected', [
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


@pytest.mark.parametrize('value,fragment', [
    ('http://127.0.0.1:8555/api', 'path'),
    ('ftp://host', 'scheme'),
    ('http://user:pw@host', 'user information'),
    ('host:99999', 'port out of range'),
    ('bad host', 'not a host name'),
    ('host/path', 'not a host name'),
    ('', 'empty'),
])
def test_parse_endpoint_rejects_bad_input(value, fragment):
    with pytest.raises(EndpointError) as exc:
        endpoints.parse_endpoint(value, 'ram_endpoint')
    assert fragment in str(exc.value)


def test_resolve_endpoint_option_beats_env():
    env = {'ALIBABA_CLOUD_RAM_ENDPOINT': 'http://127.0.0.1:1'}
    assert endpoints.resolve_endpoint('ram', opts(ram_endpoint='http://127.0.0.1:2'), env=env) == ('127.0.0.1:2', 'http')
    assert endpoints.resolve_endpoint('ram', opts(), env=env) == ('127.0.0.1:1', 'http')
    assert endpoints.resolve_endpoint('ecs', opts(), env=env) == (None, 'https')
    assert endpoints.resolve_endpoint('sts', opts(), env={'ALIBABA_CLOUD_STS_ENDPOINT': 'sts.aliyuncs.com'}) == ('sts.aliyuncs.com', 'https')


def test_bad_env_endpoint_names_the_variable():
    with pytest.raises(EndpointError) as exc:
        endpoints.resolve_endpoint('ecs', opts(), env={'ALIBABA_CLOUD_ECS_ENDPOINT': 'http://h/x'})
    assert 'ALIBABA_CLOUD_ECS_ENDPOINT' in str(exc.value)


def test_region_precedence_and_defaults():
    env = {'ALIBABA_CLOUD_REGION_ID': 'cn-beijing', 'ALICLOUD_REGION': 'cn-shanghai'}
    assert endpoints.resolve_region('ecs', opts(region='eu-central-1'), env) == 'eu-central-1'
    assert endpoints.resolve_region('ecs', opts(), env) == 'cn-beijing'
    assert endpoints.resolve_region('ecs', opts(), {'ALICLOUD_REGION': 'cn-shanghai'}) == 'cn-shanghai'
    assert endpoints.resolve_region('ram', opts(), {}) == 'cn-hangzhou'
    assert endpoints.resolve_region('sts', opts(), {}) == 'cn-hangzhou'
    with pytest.raises(EndpointError) as exc:
        endpoints.resolve_region('ecs', opts(), {})
    assert 'region' in str(exc.value)
    with pytest.raises(EndpointError):
        endpoints.resolve_region('ecs', opts(region='cn hangzhou'), {})


def test_metadata_endpoint():
    assert endpoints.resolve_metadata_endpoint(opts(), {}) == 'http://100.100.100.200'
    assert endpoints.resolve_metadata_endpoint(opts(), {'ALIBABA_CLOUD_METADATA_ENDPOINT': '127.0.0.1:8555'}) == 'http://127.0.0.1:8555'
    assert endpoints.resolve_metadata_endpoint(opts(metadata_endpoint='http://127.0.0.1:9/'), {}) == 'http://127.0.0.1:9'
