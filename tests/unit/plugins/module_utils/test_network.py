# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Proxies, ``no_proxy`` and the CA bundle of every call: options first, then the environment; messages never show a value."""

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import network
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.network import NetworkError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter


def opts(**values):
    return OptionAdapter.from_dict(values)


@pytest.fixture(autouse=True)
def no_system_store(monkeypatch):
    monkeypatch.setattr(network, 'system_ca_bundle', lambda: None)


@pytest.mark.parametrize('host, port, no_proxy, expected', [
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
    assert network.bypasses_proxy(host, port, no_proxy) is expected


def test_options_come_before_the_environment_and_lower_case_variables_before_upper_case(tmp_path):
    env = {'HTTP_PROXY': 'http://upper:1', 'http_proxy': 'http://lower:1', 'HTTPS_PROXY': 'proxy.example.com:3128', 'NO_PROXY': 'a.example'}
    settings = network.resolve_network(opts(), env)
    assert (settings.http_proxy, settings.https_proxy, settings.no_proxy) == ('http://lower:1', 'http://proxy.example.com:3128', 'a.example')
    assert settings.sources == {'http_proxy': 'env http_proxy', 'https_proxy': 'env HTTPS_PROXY', 'no_proxy': 'env NO_PROXY'}
    assert settings.validate_certs is True and settings.ca_bundle is None
    bundle = tmp_path / 'ca.pem'
    bundle.write_text('-----BEGIN CERTIFICATE-----\n')
    settings = network.resolve_network(opts(http_proxy='http://option:2', no_proxy='b.example', validate_certs=False),
                                       dict(env, ALIBABA_CLOUD_CA_BUNDLE=str(bundle)))
    assert (settings.http_proxy, settings.no_proxy, settings.ca_bundle, settings.validate_certs) == ('http://option:2', 'b.example', str(bundle), False)
    assert settings.sources['http_proxy'] == 'option http_proxy' and settings.sources['no_proxy'] == 'option no_proxy'


def test_the_ca_bundle_order(tmp_path, monkeypatch):
    paths = {}
    for name in ('option', 'collection', 'requests', 'openssl', 'system'):
        paths[name] = tmp_path / ('%s.pem' % name)
        paths[name].write_text('-----BEGIN CERTIFICATE-----\n')
    monkeypatch.setattr(network, 'system_ca_bundle', lambda: str(paths['system']))
    env = {'ALIBABA_CLOUD_CA_BUNDLE': str(paths['collection']), 'REQUESTS_CA_BUNDLE': str(paths['requests']),
           'SSL_CERT_FILE': str(paths['openssl'])}
    steps = [({'ca_bundle': str(paths['option'])}, env, 'option', 'option ca_bundle'),
             ({}, env, 'collection', 'env ALIBABA_CLOUD_CA_BUNDLE'),
             ({}, dict((k, v) for k, v in env.items() if k != 'ALIBABA_CLOUD_CA_BUNDLE'), 'requests', 'env REQUESTS_CA_BUNDLE'),
             ({}, {'SSL_CERT_FILE': str(paths['openssl'])}, 'openssl', 'env SSL_CERT_FILE'),
             ({}, {}, 'system', 'the system store')]
    for options, environ, chosen, source in steps:
        settings = network.resolve_network(opts(**options), environ)
        assert (settings.ca_bundle, settings.sources['ca_bundle']) == (str(paths[chosen]), source)


@pytest.mark.parametrize('options, env, message', [
    ({'http_proxy': 'socks5://p:1080'}, {}, 'option http_proxy: the proxy URL must start with http:// or https://'),
    ({}, {'HTTPS_PROXY': 'http://p:99999'}, 'env HTTPS_PROXY is not a usable proxy URL (give http://[user:password@]host:port)'),
    ({}, {'HTTPS_PROXY': 'http://[::1'}, 'env HTTPS_PROXY is not a usable proxy URL (give http://[user:password@]host:port)'),
    ({'https_proxy': 'http://u:S3cr3t@p:1/path'}, {}, 'option https_proxy is not a proxy URL such as http://proxy.example.com:3128'),
    ({'https_proxy': 'http://p:1/#T0k3n'}, {}, 'option https_proxy is not a proxy URL such as http://proxy.example.com:3128'),
    ({'ca_bundle': '/nonexistent.pem'}, {}, 'option ca_bundle: /nonexistent.pem is not a file (a PEM bundle of CA certificates)'),
    ({}, {'ALIBABA_CLOUD_CA_BUNDLE': '/nonexistent.pem'}, 'env ALIBABA_CLOUD_CA_BUNDLE: /nonexistent.pem is not a file'),
])
def test_unusable_settings_are_refused_naming_the_setting(options, env, message):
    with pytest.raises(NetworkError) as caught:
        network.resolve_network(opts(**options), env)
    assert str(caught.value).startswith(message)


def test_proxy_for_picks_by_scheme_and_says_why():
    settings = network.Network('http://p:1', 'http://p:2', 'internal.example', None, True,
                               {'http_proxy': 'env HTTP_PROXY', 'https_proxy': 'option https_proxy', 'no_proxy': 'env NO_PROXY'})
    assert network.proxy_for('http://ram.aliyuncs.com', settings) == ('http://p:1', 'env HTTP_PROXY')
    assert network.proxy_for('https://ram.aliyuncs.com', settings) == ('http://p:2', 'option https_proxy')
    assert network.proxy_for('https://api.internal.example:8443', settings) == (None, 'exempted by env NO_PROXY')
    assert network.proxy_for('https://ram.aliyuncs.com', network.NO_NETWORK_SETTINGS) == (None, 'no proxy set')


def test_a_proxy_password_holding_an_at_sign_is_never_shown():
    proxy = 'http://u:Pr0xy@S3cr3tTail@proxy.example.com:3128'
    client = client_utils.service_client_for('ram', Credentials('ak', 'sk'), opts(https_proxy=proxy), env={})
    assert client.network.https_proxy == proxy
    assert client.describe() == {'endpoint': 'https://ram.aliyuncs.com', 'proxy': 'http://********@proxy.example.com:3128 (option https_proxy)'}
