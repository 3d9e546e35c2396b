# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The metadata_credentials lookup in real ansible-playbook runs against the emulator's metadata service."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_sts20150401.client import Client as StsClient

from tests.emulator.sdkhelpers import ECS_TRUST, clients, make_config

LOOKUP = 'alicloud.ram.metadata_credentials'
ROLE = 'LookupTestRole'
MODES = ('auto', 'hardened', 'plain')
RESULT_KEYS = {'access_key_id', 'access_key_secret', 'security_token', 'expiration', 'last_updated'}


def attach_new_role(emu, role_name=ROLE):
    """Create an ECS instance role through the RAM API and attach it to the metadata service's instance."""
    ram, _ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name=role_name, assume_role_policy_document=ECS_TRUST))
    emu.set_metadata(role_name=role_name)


def metadata_calls(emu, action):
    return [call for call in emu.calls() if call['service'] == 'metadata' and call['action'] == action]


def lookup_task(name, expression, **extra):
    task = {'name': name, 'ansible.builtin.debug': {'var': 'creds'}, 'vars': {'creds': '{{ %s }}' % expression}}
    task.update(extra)
    return task


def lookup_expr(term=None, **options):
    args = ["'%s'" % LOOKUP]
    if term:
        args.append("'%s'" % term)
    args.extend("%s='%s'" % item for item in sorted(options.items()))
    return 'lookup(%s)' % ', '.join(args)


def caller_identity(emu, creds):
    sts = StsClient(make_config(emu, access_key_id=creds['access_key_id'], access_key_secret=creds['access_key_secret'],
                                security_token=creds['security_token']))
    return sts.get_caller_identity().body


def failure_message(res, name):
    item = res.by_name(name)
    assert item['status'] == 'failed' and item['ignored'], item
    return item['result']['msg']


def read_credentials_directly(emu, role_name=ROLE):
    with urllib.request.urlopen('%s/latest/meta-data/ram/security-credentials/%s' % (emu.url, role_name), timeout=10) as response:
        return json.loads(response.read().decode('utf-8'))


@pytest.mark.parametrize('hardened_only', [False, True], ids=['normal', 'hardened-only'])
def test_lookup_by_name_and_by_discovery_in_each_mode(runner, emu, hardened_only):
    attach_new_role(emu)
    emu.set_metadata(hardened_only=hardened_only)
    emu.clear_calls()
    tasks = []
    for mode in MODES:
        extra = {'ignore_errors': True} if hardened_only and mode == 'plain' else {}
        tasks.append(lookup_task('by name %s' % mode, lookup_expr(ROLE, imds_mode=mode), **extra))
        tasks.append(lookup_task('discovered %s' % mode, lookup_expr(imds_mode=mode), **extra))
    res = runner.run_tasks(tasks)

    working = [mode for mode in MODES if not (hardened_only and mode == 'plain')]
    found = []
    for mode in working:
        for name in ('by name %s' % mode, 'discovered %s' % mode):
            creds = res.module_result(name)['creds']
            assert set(creds) == RESULT_KEYS, creds
            assert creds['access_key_id'].startswith('STS.')
            found.append(creds)
    assert all(creds == found[0] for creds in found)
    identity = caller_identity(emu, found[0])
    assert ROLE.lower() in identity.arn.lower() and identity.identity_type == 'AssumedRoleUser', identity

    # one token per task in auto and hardened mode, none in plain mode
    assert len(metadata_calls(emu, 'PutToken')) == 4
    if hardened_only:
        for name in ('by name plain', 'discovered plain'):
            message = failure_message(res, name)
            assert 'HTTP 403' in message and 'hardened' in message, message
            assert found[0]['access_key_secret'] not in message
        assert len(metadata_calls(emu, 'GetRoleCredentials')) == 4
    else:
        assert len(metadata_calls(emu, 'GetRoleCredentials')) == 6


def test_clear_errors_for_missing_and_unknown_roles(runner, emu):
    attach_new_role(emu)
    emu.set_metadata(role_name='')
    res = runner.run_tasks([
        lookup_task('discover without role', lookup_expr(), ignore_errors=True),
        lookup_task('named without role', lookup_expr(ROLE), ignore_errors=True),
    ])
    assert 'no RAM role is attached to this instance' in failure_message(res, 'discover without role')
    message = failure_message(res, 'named without role')
    assert "RAM role '%s' is not attached to this instance" % ROLE in message, message

    emu.set_metadata(role_name=ROLE)
    res = runner.run_tasks([
        lookup_task('unknown role', lookup_expr('NoSuchRole', imds_mode='hardened'), ignore_errors=True),
        lookup_task('bad ttl', lookup_expr(ROLE, token_ttl='0'), ignore_errors=True),
        lookup_task('bad mode', lookup_expr(ROLE, imds_mode='v1'), ignore_errors=True),
        lookup_task('unreachable', lookup_expr(ROLE, metadata_endpoint='http://127.0.0.1:9', retries='0'), ignore_errors=True),
    ])
    message = failure_message(res, 'unknown role')
    assert "RAM role 'NoSuchRole' is not attached" in message and "holds RAM role '%s'" % ROLE in message, message
    assert 'token_ttl must be between 1 and 21600' in failure_message(res, 'bad ttl')
    assert 'imds_mode' in failure_message(res, 'bad mode')
    message = failure_message(res, 'unreachable')
    assert 'cannot reach the metadata service' in message and 'ECS instance' in message, message
    secret = read_credentials_directly(emu)['AccessKeySecret']
    assert secret not in res.stdout and secret not in res.stderr


def disable_metadata_endpoint(emu):
    """HttpEndpoint=disabled on the metadata service's instance, through the ECS API as a user would set it."""
    _ram, ecs, _sts = clients(emu)
    instance_id = emu.control('GET', 'metadata')['instance_id']
    ecs.modify_instance_metadata_options(ecs_models.ModifyInstanceMetadataOptionsRequest(
        region_id='cn-hangzhou', instance_id=instance_id, http_endpoint='disabled'))


def test_a_disabled_metadata_endpoint_is_named_as_the_cause_not_a_missing_role(runner, emu):
    attach_new_role(emu)
    disable_metadata_endpoint(emu)
    emu.clear_calls()
    res = runner.run_tasks([
        lookup_task('named', lookup_expr(ROLE, retries='0'), ignore_errors=True),
        lookup_task('discovered', lookup_expr(retries='0'), ignore_errors=True),
        lookup_task('named plain', lookup_expr(ROLE, retries='0', imds_mode='plain'), ignore_errors=True),
    ])
    for name in ('named', 'discovered', 'named plain'):
        message = failure_message(res, name)
        assert 'cannot reach the metadata service at %s (connection closed without an answer)' % emu.url in message, message
        assert 'HttpEndpoint=disabled' in message and 'ecs_instance_metadata_options' in message, message
        assert 'not attached' not in message and 'no RAM role' not in message, message
    assert set(call['action'] for call in emu.calls() if call['service'] == 'metadata') == {'EndpointDisabled'}


def test_discovering_the_role_a_named_lookup_fetched_serves_the_cached_credentials(runner, emu):
    attach_new_role(emu)
    emu.clear_calls()
    res = runner.run_tasks([lookup_task('named, then discovered', '[%s, %s]' % (lookup_expr(ROLE), lookup_expr()))])
    named, discovered = res.module_result('named, then discovered')['creds']
    assert named == discovered and named['access_key_id'].startswith('STS.')
    assert len(metadata_calls(emu, 'GetRoleCredentials')) == 1
    assert len(metadata_calls(emu, 'GetRoleName')) == 1


def test_a_loop_of_100_lookups_fetches_once(runner, emu):
    attach_new_role(emu)
    emu.clear_calls()
    res = runner.run_tasks([
        {'name': 'loop by name', 'ansible.builtin.set_fact': {'seen': '{{ seen | default([]) + [creds.access_key_id] }}'},
         'vars': {'creds': '{{ %s }}' % lookup_expr(ROLE)}, 'loop': '{{ range(100) | list }}'},
        {'name': 'loop discovered', 'ansible.builtin.set_fact': {'seen2': '{{ seen2 | default([]) + [creds.access_key_id] }}'},
         'vars': {'creds': '{{ %s }}' % lookup_expr()}, 'loop': '{{ range(100) | list }}'},
        {'name': 'check', 'ansible.builtin.assert': {'that': [
            'seen | length == 100', 'seen | unique | length == 1', 'seen2 | unique == seen | unique']}},
        # the reuse pattern of the docs: fetch once into a fact, pass it to the collection's modules
        {'name': 'read credentials once', 'ansible.builtin.set_fact': {'instance_creds': '{{ %s }}' % lookup_expr()},
         'run_once': True, 'no_log': True},
        {'name': 'use them with a module', 'alicloud.ram.ram_instance_role_info': {
            'name': ROLE,
            'access_key_id': '{{ instance_creds.access_key_id }}',
            'access_key_secret': '{{ instance_creds.access_key_secret }}',
            'security_token': '{{ instance_creds.security_token }}',
        }, 'no_log': True},
    ], verbosity=4, module_defaults={'group/alicloud.ram.alicloud': {'ram_endpoint': emu.url, 'region': 'cn-hangzhou'}})
    assert res.by_name('check')['status'] == 'ok'
    assert res.by_name('use them with a module')['status'] == 'ok'
    assert len(metadata_calls(emu, 'GetRoleCredentials')) == 3  # one per task
    assert len(metadata_calls(emu, 'GetRoleName')) == 2
    assert len(metadata_calls(emu, 'PutToken')) == 3
    creds = read_credentials_directly(emu)
    # the module authenticated with the role's temporary key, not the admin key of the environment
    ram_calls = [call for call in emu.calls() if call['service'] == 'ram']
    assert ram_calls and all(call['access_key_id'] == creds['AccessKeyId'] for call in ram_calls), ram_calls
    for secret in (creds['AccessKeySecret'], creds['SecurityToken']):
        assert secret not in res.stdout + res.stderr


class _RecordingProxy(BaseHTTPRequestHandler):
    """Forwards metadata requests to the emulator and remembers every session token it sees."""

    upstream = None
    tokens = None

    def _forward(self):
        headers = {key: value for key, value in self.headers.items() if key.lower().startswith('x-aliyun-')}
        token = self.headers.get('X-aliyun-ecs-metadata-token')
        if token:
            self.tokens.add(token)
        request = urllib.request.Request(self.upstream + self.path, method=self.command, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read()
        if self.command == 'PUT' and status == 200:
            self.tokens.add(body.decode('utf-8').strip())
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _forward
    do_PUT = _forward

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def recording_proxy(emu):
    handler = type('Proxy', (_RecordingProxy,), {'upstream': emu.url, 'tokens': set()})
    server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d' % server.server_address[1], handler.tokens
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_no_secret_or_token_in_verbose_debug_output(runner, emu, recording_proxy):
    proxy_url, tokens = recording_proxy
    attach_new_role(emu)
    emu.clear_calls()
    res = runner.run_tasks([
        {'name': 'read credentials', 'ansible.builtin.set_fact': {'instance_creds': '{{ %s }}' % lookup_expr(ROLE)},
         'run_once': True, 'no_log': True},
        {'name': 'use them in a loop', 'ansible.builtin.set_fact': {'loop_secret': '{{ creds.access_key_secret }}'},
         'vars': {'creds': '{{ %s }}' % lookup_expr()}, 'loop': '{{ range(3) | list }}', 'no_log': True},
        {'name': 'the fact outlives its task', 'ansible.builtin.assert': {'that': [
            "instance_creds.access_key_id is ansible.builtin.match('STS[.]')"], 'quiet': True}},
    ], env={'ANSIBLE_DEBUG': '1', 'ALIBABA_CLOUD_METADATA_ENDPOINT': proxy_url}, verbosity=4)
    assert len(metadata_calls(emu, 'GetRoleCredentials')) == 2  # set_fact task, loop task
    assert tokens, 'the lookup asked for no session token'
    creds = read_credentials_directly(emu)
    output = res.stdout + res.stderr
    assert 'RUNNING CLEANUP' in output  # ANSIBLE_DEBUG was on
    assert "metadata_credentials: fetched credentials of RAM role '%s'" % ROLE in output  # -vvvv reached the lookup
    for secret in [creds['AccessKeySecret'], creds['SecurityToken']] + sorted(tokens):
        assert secret not in output
