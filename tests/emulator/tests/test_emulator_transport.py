"""Transport behaviour: replies without per-call stalls, lost replies, trickled and non-JSON answers."""

import socket
import statistics
import time

import pytest
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client as RamClient
from darabonba.exceptions import UnretryableException

from tests.emulator.process import EmulatorError
from tests.emulator.sdkhelpers import ECS_TRUST, error_of, make_config, policy


def test_sequential_calls_on_a_kept_alive_connection_do_not_stall(ram):
    ram.list_roles(m.ListRolesRequest())
    durations = []
    for _unused in range(30):
        started = time.perf_counter()
        ram.list_roles(m.ListRolesRequest())
        durations.append(time.perf_counter() - started)
    # Headers and body written apart used to cost a delayed-ACK stall of about 40 ms per call.
    assert statistics.median(durations) < 0.025, durations


def raw_get(emulator, path, timeout=5.0):
    """GET ``path`` over a plain socket; returns (status, headers dict, body bytes, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(('127.0.0.1', emulator.port), timeout=timeout) as sock:
        sock.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' % path).encode())
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _sep, body = b''.join(chunks).partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    headers = dict(line.lower().split(': ', 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body, time.monotonic() - started


def test_lost_reply_is_carried_out_logged_and_answered_by_a_closed_connection(emulator, ram):
    assert emulator.set_faults(lose_reply_actions=['CreatePolicy', 'CreatePolicy'])['lose_reply_actions'] == ['CreatePolicy', 'CreatePolicy']
    with pytest.raises(UnretryableException) as info:
        ram.create_policy(m.CreatePolicyRequest(policy_name='lost-1', policy_document=policy()))
    assert 'RemoteDisconnected' in str(info.value)
    assert ram.get_policy(m.GetPolicyRequest(policy_name='lost-1', policy_type='Custom')).body.policy.policy_name == 'lost-1'
    assert emulator.control('GET', 'faults')['lose_reply_actions'] == ['CreatePolicy'], 'one occurrence is used per call'
    with pytest.raises(UnretryableException):
        ram.create_policy(m.CreatePolicyRequest(policy_name='lost-1', policy_document=policy()))
    retried = error_of(ram.create_policy, m.CreatePolicyRequest(policy_name='lost-1', policy_document=policy()))
    assert retried.code == 'EntityAlreadyExists.Policy', 'the third call is answered again'
    creates = [c for c in emulator.calls() if c['action'] == 'CreatePolicy']
    assert [(c['status'], c['code'], c['lost_reply']) for c in creates] == [
        (200, None, True), (409, 'EntityAlreadyExists.Policy', True), (409, 'EntityAlreadyExists.Policy', False)]
    assert emulator.control('GET', 'faults')['lose_reply_actions'] == []


def test_trickled_replies_defeat_per_read_timeouts_but_not_control_calls(emulator, ram):
    emulator.set_faults(trickle_ms=50)
    started = time.monotonic()
    assert emulator.control('GET', 'health') == {'ok': True}
    assert time.monotonic() - started < 1.0, 'the control API is never trickled (its ~130 bytes would take over 6 s)'
    emulator.set_faults(trickle_ms=4)
    status, headers, body, took = raw_get(emulator, '/latest/meta-data/region-id', timeout=0.2)
    assert (status, body) == (200, b'cn-hangzhou') and int(headers['content-length']) == len(body)
    assert took > 0.4, 'about 150 bytes at one byte per 4 ms, each read well inside the 0.2 s timeout'
    slow = clients_with_read_timeout(emulator, 300)
    started = time.monotonic()
    assert slow.list_roles(m.ListRolesRequest()).body.is_truncated is False
    assert time.monotonic() - started > 0.6
    with socket.create_connection(('127.0.0.1', emulator.port)) as sock:   # a client that gives up half-way
        sock.sendall(b'GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n\r\n')
        assert sock.recv(1) == b'H'
    emulator.set_faults(trickle_ms=0)
    started = time.monotonic()
    ram.list_roles(m.ListRolesRequest())
    assert time.monotonic() - started < 0.5


def clients_with_read_timeout(emulator, read_timeout_ms):
    config = make_config(emulator)
    config.read_timeout = read_timeout_ms
    return RamClient(config)


def test_raw_error_bodies_for_api_calls_only(emulator, ram):
    emulator.set_faults(raw_error={'status': 502, 'content_type': 'text/html', 'size': 5000000})
    status, headers, body, _took = raw_get(emulator, '/?Action=ListRoles&Version=2015-05-01')
    assert (status, headers['content-type'], len(body)) == (502, 'text/html', 5000000)
    assert body.startswith(b'<!DOCTYPE html><html>') and body.endswith(b'</body></html>\n')
    with pytest.raises(Exception) as info:
        ram.list_roles(m.ListRolesRequest())
    assert 'Failed to parse the value as json' in str(info.value)
    assert raw_get(emulator, '/latest/meta-data/instance-id')[0] == 200, 'the metadata service is not affected'
    emulator.set_faults(raw_error={'status': 503, 'content_type': 'text/plain', 'size': 40})
    status, headers, body, _took = raw_get(emulator, '/?Action=ListRoles&Version=2015-05-01')
    assert (status, headers['content-type'], body) == (503, 'text/plain', b'503 Error: ' + b'x' * 28 + b'\n')
    api_calls = [c for c in emulator.calls() if c['service'] == 'ram']
    assert [(c['action'], c['status'], c['injected']) for c in api_calls] == [('ListRoles', 502, True)] * 2 + [('ListRoles', 503, True)]
    emulator.set_faults(raw_error=None)
    assert ram.list_roles(m.ListRolesRequest()).body.roles.role == []


def test_denied_actions_are_refused_and_not_carried_out(emulator, ram):
    ram.create_role(m.CreateRoleRequest(role_name='guarded', assume_role_policy_document=ECS_TRUST))
    emulator.set_faults(deny_actions=['AttachPolicyToRole', 'DeleteRole'])
    for call, request in ((ram.attach_policy_to_role, m.AttachPolicyToRoleRequest(policy_type='System', policy_name='AliyunOSSReadOnlyAccess',
                                                                                  role_name='guarded')),
                          (ram.delete_role, m.DeleteRoleRequest(role_name='guarded'))):
        exc = error_of(call, request)
        assert (exc.code, exc.status_code) == ('NoPermission', 403)
        assert 'You are not authorized to do this action. You should be authorized by RAM.' in exc.message
    assert ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name='guarded')).body.policies.policy == []
    assert ram.get_role(m.GetRoleRequest(role_name='guarded')).body.role.role_name == 'guarded'
    assert [(c['action'], c['injected']) for c in emulator.calls() if c['code'] == 'NoPermission'] == [
        ('AttachPolicyToRole', True), ('DeleteRole', True)]
    emulator.set_faults(deny_actions=[])
    ram.delete_role(m.DeleteRoleRequest(role_name='guarded'))


def test_fault_settings_are_validated_and_reset(emulator):
    for bad in ({'deny_actions': 'AttachPolicyToRole'}, {'lose_reply_actions': [1]}, {'attach_same_role': 'maybe'},
                {'raw_error': {'status': 700}}, {'raw_error': {'status': 502, 'body': 'x'}}, {'trickle_ms': 'fast'}, {'nope': 1}):
        with pytest.raises(EmulatorError) as info:
            emulator.set_faults(**bad)
        assert info.value.status == 400, bad
    emulator.set_faults(deny_actions=['GetRole'], lose_reply_actions=['CreateRole'], trickle_ms=1, attach_same_role='failure',
                        raw_error={'status': 502, 'content_type': 'text/html', 'size': 10})
    emulator.reset()
    settings = emulator.control('GET', 'faults')
    assert {k: settings[k] for k in ('deny_actions', 'lose_reply_actions', 'trickle_ms', 'attach_same_role', 'raw_error')} == {
        'deny_actions': [], 'lose_reply_actions': [], 'trickle_ms': 0, 'attach_same_role': 'success', 'raw_error': None}
