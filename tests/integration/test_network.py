# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proxies, NO_PROXY and TLS settings, through real module and lookup runs against the emulator.

Counting forward proxies tell whether a task's calls went through them (one proxy per task, so
one playbook run checks many settings); a TLS front with a certificate made by the test stands for
an HTTPS endpoint that the system does not trust.
"""

from __future__ import annotations

import contextlib
import json

import pytest

from network_helpers import CountingProxy, TlsFront, self_signed_certificate

INFO = 'alicloud.ram.ram_instance_role_info'


def _info(name, environment=None, **args):
    task = {'name': name, INFO: dict({'name_prefix': 'none-'}, **args)}
    if environment:
        task['environment'] = environment
    return task


@pytest.fixture
def proxies():
    """``proxies(n)``: n counting proxies, closed after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda count: [stack.enter_context(CountingProxy()) for _index in range(count)]


def test_proxy_settings_and_no_proxy_exemptions(runner, emu, proxies):
    p = proxies(6)
    with_auth = p[3].url.replace('http://', 'http://deployer:Pr0xyPassw0rd@')
    tasks = [
        _info('env HTTP_PROXY', {'HTTP_PROXY': p[0].url}),
        _info('env NO_PROXY host:port', {'http_proxy': p[1].url, 'NO_PROXY': 'localhost, 127.0.0.1:%d' % emu.port}),
        _info('no_proxy of another port', http_proxy=p[2].url, no_proxy='127.0.0.1:1,27.0.0.1,example.com'),
        _info('option before env', {'HTTP_PROXY': p[4].url, 'no_proxy': ''}, http_proxy=with_auth),
        _info('https proxy only', {'HTTPS_PROXY': p[5].url}),
    ]
    res = runner.run_tasks(tasks, verbosity=3)
    used = [bool(proxy.seen) for proxy in p]
    assert used == [True, False, True, True, False, False], used
    assert all(line.startswith('POST %s/' % emu.url) for line in p[0].seen), p[0].seen

    def proxy_of(task):
        return res.by_name(task)['result']['connections']['ram']['proxy']

    assert proxy_of('env HTTP_PROXY') == '%s (env HTTP_PROXY)' % p[0].url
    assert proxy_of('env NO_PROXY host:port') == 'direct (exempted by env NO_PROXY)'
    assert proxy_of('option before env') == 'http://********@127.0.0.1:%d (option http_proxy)' % p[3].port
    assert proxy_of('https proxy only') == 'direct (no proxy set)'
    assert res.by_name('env HTTP_PROXY')['result']['region_source'] == 'option region'
    assert 'Pr0xyPassw0rd' not in res.stdout + res.stderr


def _create_role(emu, name):
    from alibabacloud_tea_openapi.models import Config  # pylint: disable=import-outside-toplevel
    from alibabacloud_ram20150501.client import Client  # pylint: disable=import-outside-toplevel
    from alibabacloud_ram20150501 import models  # pylint: disable=import-outside-toplevel
    trust = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Principal': {'Service': ['ecs.aliyuncs.com']}}]}
    config = Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret, endpoint=emu.endpoint, protocol='http')
    Client(config).create_role(models.CreateRoleRequest(role_name=name, assume_role_policy_document=json.dumps(trust)))


def test_the_lookup_honours_the_proxy_environment(runner, emu, proxies):
    _create_role(emu, 'web')
    emu.set_metadata(role_name='web')
    proxy, exempted = proxies(2)
    task = {'name': 'read', 'ansible.builtin.set_fact': {
        'expiry': "{{ lookup('alicloud.ram.metadata_credentials', 'web', retries=0).expiration }}"}}
    res = runner.run_tasks([task], env={'HTTP_PROXY': proxy.url}, verbosity=3)
    assert [line.split()[0] for line in proxy.seen] == ['PUT', 'GET'], proxy.seen
    assert 'metadata service %s, through proxy %s (env HTTP_PROXY)' % (emu.url, proxy.url) in res.stdout
    runner.run_tasks([task], env={'HTTP_PROXY': exempted.url, 'no_proxy': '127.0.0.1'})
    assert exempted.seen == []


@pytest.fixture
def tls_front(emu, tmp_path):
    pytest.importorskip('cryptography')
    cert, key = self_signed_certificate(tmp_path)
    with TlsFront(emu.port, cert, key) as front:
        front.cert = str(cert)
        yield front


def test_ca_bundle_validate_certs_and_a_tunnel_to_an_https_endpoint(runner, emu, tls_front, proxies):
    tunnel, = proxies(1)
    res = runner.run_tasks([
        # default retries: a certificate that does not verify is not tried again
        dict(_info('untrusted', ram_endpoint=tls_front.url), ignore_errors=True),
        _info('ca_bundle option', ram_endpoint=tls_front.url, ca_bundle=tls_front.cert),
        _info('ca_bundle env', {'ALIBABA_CLOUD_CA_BUNDLE': tls_front.cert}, ram_endpoint=tls_front.url),
        _info('REQUESTS_CA_BUNDLE', {'REQUESTS_CA_BUNDLE': tls_front.cert}, ram_endpoint=tls_front.url),
        _info('SSL_CERT_FILE', {'SSL_CERT_FILE': tls_front.cert, 'REQUESTS_CA_BUNDLE': ''}, ram_endpoint=tls_front.url),
        _info('not validated', ram_endpoint=tls_front.url, validate_certs=False),
        _info('tunnel', {'HTTPS_PROXY': tunnel.url}, ram_endpoint=tls_front.url, ca_bundle=tls_front.cert),
    ])
    failed = res.by_name('untrusted')
    assert failed['status'] == 'failed' and 'CERTIFICATE_VERIFY_FAILED' in failed['result']['msg']
    assert failed['result']['error']['code'] == 'TLSError'
    for name in ('ca_bundle option', 'ca_bundle env', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'not validated', 'tunnel'):
        assert res.by_name(name)['status'] == 'ok', name
    assert tls_front.server.refused == 1 and tls_front.server.accepted >= 6
    assert tunnel.seen == ['CONNECT 127.0.0.1:%d' % tls_front.port]
