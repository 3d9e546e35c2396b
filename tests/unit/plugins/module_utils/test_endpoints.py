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


@pytest.mark.parametrize('value', ['cn-hangzhou\n', 'cn-hangzhou\nevil', '-cn', 'cn_hangzhou', 'CN-HANGZHOU', ''])
def test_region_is_checked_as_a_whole_string(value):
    with pytest.raises(EndpointError):
        endpoints.check_region(value)


@pytest.mark.parametrize('value', ['ram.aliyuncs.com\nx', 'http://127.0.0.1:1\n/x', 'host:1:2', 'host:'])
def test_endpoint_is_checked_as_a_whole_string(value):
    with pytest.raises(EndpointError):
        endpoints.parse_endpoint(value, 'ram_endpoint')


@pytest.mark.parametrize('host,port,no_proxy,expected', [
    ('127.0.0.1', 8555, '127.0.0.1', True),
    ('127.0.0.1', 8555, '127.0.0.1:8555', True),
    ('127.0.0.1', 8555, '127.0.0.1:9999', False),
    ('127.0.0.1', 8555, 'localhost, 127.0.0.0/8', True),
    ('10.1.2.3', 443, '10.0.0.0/8', True),
    ('11.1.2.3', 443, '10.0.0.0/8', False),
    ('ram.aliyuncs.com', 443, 'aliyuncs.com', True),
    ('ram.aliyuncs.com', 443, '.aliyuncs.com', True),
    ('ram.aliyuncs.com', 443, '*.aliyuncs.com', True),
    ('aliyuncs.com', 443, '.aliyuncs.com', True),
    ('notaliyuncs.com', 443, 'aliyuncs.com', False),
    ('RAM.Aliyuncs.COM', 443, 'ram.aliyuncs.com:443', True),
    ('ram.aliyuncs.com', 443, 'ram.aliyuncs.com:80', False),
    ('ram.aliyuncs.com', 443, '*', True),
    ('ram.aliyuncs.com', 443, 'example.com other.org', False),
    ('::1', 80, '[::1]:80', True),
    ('::1', 80, '::1', True),
    ('100.100.100.200', 80, '100.100.100.200', True),
    ('127.0.0.1', 80, '', False),
])
def test_no_proxy_matching(host, port, no_proxy, expected):
    assert endpoints.bypasses_proxy(host, port, no_proxy) is expected


def test_network_settings_options_before_environment_in_both_cases(tmp_path):
    env = {'HTTP_PROXY': 'http://upper:1', 'http_proxy': 'http://lower:1', 'HTTPS_PROXY': 'proxy.example.com:3128', 'NO_PROXY': 'a.example'}
    network = endpoints.resolve_network(opts(), env)
    assert (network.http_proxy, network.https_proxy, network.no_proxy) == ('http://lower:1', 'http://proxy.example.com:3128', 'a.example')
    assert network.sources == {'http_proxy': 'env http_proxy', 'https_proxy': 'env HTTPS_PROXY', 'no_proxy': 'env NO_PROXY'}
    assert network.validate_certs is True and network.ca_bundle is None
    bundle = tmp_path / 'ca.pem'
    bundle.write_text('-----BEGIN CERTIFICATE-----\n')
    network = endpoints.resolve_network(opts(http_proxy='http://option:2', no_proxy='b.example', validate_certs=False), dict(
        env, ALIBABA_CLOUD_CA_BUNDLE=str(bundle)))
    assert (network.http_proxy, network.no_proxy, network.ca_bundle, network.validate_certs) == ('http://option:2', 'b.example', str(bundle), False)
    assert network.sources['http_proxy'] == 'option http_proxy' and network.sources['no_proxy'] == 'option no_proxy'


@pytest.mark.parametrize('options,env,text', [
    ({'http_proxy': 'socks5://p:1080'}, {}, 'option http_proxy: the proxy URL must start with http:// or https://'),
    ({}, {'HTTPS_PROXY': 'http://p:99999'}, 'env HTTPS_PROXY: the proxy port is out of range'),
    ({}, {'HTTPS_PROXY': 'http://p:1/path'}, 'env HTTPS_PROXY is not a proxy URL'),
    ({'ca_bundle': '/nonexistent.pem'}, {}, 'ca_bundle: /nonexistent.pem is not a file'),
    ({}, {'ALIBABA_CLOUD_CA_BUNDLE': '/nonexistent.pem'}, 'ALIBABA_CLOUD_CA_BUNDLE: /nonexistent.pem is not a file'),
])
def test_unusable_network_settings(options, env, text):
    with pytest.raises(EndpointError) as exc:
        endpoints.resolve_network(opts(**options), env)
    assert text in str(exc.value)


def test_proxy_for_picks_by_scheme_and_says_why():
    network = endpoints.Network('http://p:1', 'http://p:2', 'internal.example', None, True,
                                {'http_proxy': 'env HTTP_PROXY', 'https_proxy': 'option https_proxy', 'no_proxy': 'env NO_PROXY'})
    assert endpoints.proxy_for('http://ram.aliyuncs.com', network) == ('http://p:1', 'env HTTP_PROXY')
    assert endpoints.proxy_for('https://ram.aliyuncs.com', network) == ('http://p:2', 'option https_proxy')
    assert endpoints.proxy_for('https://api.internal.example:8443', network) == (None, 'exempted by env NO_PROXY')
    assert endpoints.proxy_for('https://ram.aliyuncs.com', endpoints.NO_NETWORK_SETTINGS) == (None, 'no proxy set')


class _FakeTimer(object):
    """A timer fired by hand."""

    def __init__(self, seconds, callback):
        self.seconds, self.callback, self.started, self.cancelled, self.daemon = seconds, callback, False, False, False

    def start(self):
        self.started = True

    def cancel(self):
        self.cancelled = True


def test_deadline_arms_on_the_first_watch_and_shuts_every_watched_socket():
    import socket
    timers = []
    deadline = endpoints.Deadline(2.5, timer=lambda seconds, callback: timers.append(_FakeTimer(seconds, callback)) or timers[-1])
    left, right = socket.socketpair()
    late_left, late_right = socket.socketpair()
    try:
        assert timers == []
        deadline.watch(left)
        deadline.watch(left)
        assert len(timers) == 1 and timers[0].started and timers[0].seconds == 2.5 and not deadline.expired
        timers[0].callback()
        assert deadline.expired and left.recv(1) == b''
        # a connection that shows up after the deadline is shut at once
        deadline.watch(late_left)
        assert late_left.recv(1) == b''
        deadline.cancel()
        assert timers[0].cancelled
    finally:
        for sock in (left, right, late_left, late_right):
            sock.close()
