# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whole-call deadlines and what failures say: a trickling emulator is cut off at read_timeout (modules)
and timeout (lookup); answers that are not the API's are labelled and trimmed; passwords and tokens
in endpoint URLs are never echoed."""

from __future__ import annotations


INFO = 'alicloud.ram.ram_instance_role_info'


def _failing(name, module, **args):
    return {'name': name, module: args, 'ignore_errors': True}


def test_a_trickling_api_is_cut_off_at_read_timeout_and_retried_a_bounded_number_of_times(runner, emu):
    emu.set_faults(trickle_ms=500)   # an answer of ~300 bytes would take minutes
    emu.clear_calls()
    res = runner.run_tasks([_failing('read', INFO, name_prefix='app-', read_timeout=2, retries=1)])
    result = res.module_result(0)
    assert result['error']['code'] == 'Timeout', result
    assert result['msg'].endswith('failed: Timeout: no complete answer from %s within 2s (read_timeout)' % emu.url), result['msg']
    assert [c['action'] for c in emu.calls()] == ['ListRoles', 'ListRoles']


def test_a_trickling_metadata_service_is_cut_off_at_the_lookup_timeout(runner, emu):
    emu.set_faults(trickle_ms=500)
    task = {'name': 'read', 'ansible.builtin.debug': {
        'msg': "{{ lookup('alicloud.ram.metadata_credentials', 'web', timeout=1, retries=1, imds_mode='plain') }}"},
        'ignore_errors': True}
    res = runner.run_tasks([task])
    message = res.module_result(0)['msg']
    assert 'the metadata service at %s sent no complete answer within 1s (timeout)' % emu.url in message, message
    assert len([c for c in emu.calls() if c['service'] == 'metadata']) == 2


def test_an_html_gateway_error_is_labelled_with_status_and_type_and_trimmed(runner, emu):
    emu.set_faults(raw_error={'status': 502, 'content_type': 'text/html', 'size': 5000000})
    res = runner.run_tasks([_failing('read', INFO, name_prefix='app-', retries=1)])
    result = res.module_result(0)
    assert result['error']['code'] == 'UnexpectedAnswer' and result['error']['status'] == 502
    assert "answered HTTP 502 Bad Gateway (text/html, 5000000 bytes) instead of the API's JSON answer: <!DOCTYPE html>" in result['msg']
    assert 'ConnectionError' not in result['msg'] and 'more characters)' in result['msg']
    assert len(result['msg']) < 1400 and len(result['error']['message']) < 1300
    assert len(res.stdout) < 20000
    # a 5xx from a gateway is transient: retried within retries
    assert len(emu.calls()) == 2


def test_passwords_and_tokens_in_endpoint_urls_are_never_echoed(runner, emu):
    host = emu.endpoint
    lookup = "{{ lookup('alicloud.ram.metadata_credentials', 'web', metadata_endpoint='http://admin:MdPassw0rd@%s') }}" % host
    res = runner.run_tasks([
        _failing('userinfo', INFO, ram_endpoint='http://admin:Passw0rdInUrl@%s' % host),
        _failing('query', INFO, ram_endpoint='http://%s/?token=TokenInQuery123' % host),
        _failing('ftp', INFO, ram_endpoint='ftp://admin:FtpPassw0rd@%s' % host),
        _failing('proxy', INFO, http_proxy='http://user:ProxyPassw0rd@127.0.0.1:1', retries=0),
        {'name': 'lookup', 'ansible.builtin.debug': {'msg': lookup}, 'ignore_errors': True},
    ], verbosity=3)
    text = res.stdout + res.stderr
    for secret in ('Passw0rdInUrl', 'TokenInQuery123', 'FtpPassw0rd', 'ProxyPassw0rd', 'MdPassw0rd'):
        assert secret not in text, secret
    assert res.by_name('userinfo')['result']['msg'] == 'ram_endpoint: user information in the URL is not allowed'
    # refusals name the option and the problem, not the URL
    assert res.by_name('query')['result']['msg'] == 'ram_endpoint: a path, parameters, query or fragment is not allowed; ' \
        'give only scheme, host and port'
    assert res.by_name('ftp')['result']['msg'] == 'ram_endpoint: the scheme must be http or https'
    proxy = res.by_name('proxy')['result']
    assert proxy['error']['code'] == 'ConnectionError' and 'ProxyPassw0rd' not in proxy['msg']
    assert 'metadata_endpoint: user information in the URL is not allowed' in res.by_name('lookup')['result']['msg']
