"""Metadata service flows, fault injection, visibility delay and the control API."""

import http.client
import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from alibabacloud_ecs20140526 import models as e
from alibabacloud_ram20150501 import models as m

from tests.emulator.process import EmulatorError
from tests.emulator.sdkhelpers import ECS_TRUST, clients, error_of

CREDS = '/latest/meta-data/ram/security-credentials/'


def fetch(emulator, path, method='GET', headers=None):
    request = urllib.request.Request(emulator.url + path, method=method, headers=headers or {}, data=b'' if method == 'PUT' else None)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode(), response.headers.get('Content-Type')
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers.get('Content-Type')


def token(emulator, ttl='60'):
    return fetch(emulator, '/latest/api/token', 'PUT', {'X-aliyun-ecs-metadata-token-ttl-seconds': ttl})


def role_on_current_instance(emulator, ram, ecs):
    ram.create_role(m.CreateRoleRequest(role_name='InstanceRole', assume_role_policy_document=ECS_TRUST))
    current = emulator.control('GET', 'metadata')['instance_id']
    ecs.attach_instance_ram_role(e.AttachInstanceRamRoleRequest(region_id='cn-hangzhou', ram_role_name='InstanceRole',
                                                                instance_ids=json.dumps([current])))
    return current


def test_metadata_credentials_plain_and_hardened(emulator, ram, ecs):
    assert fetch(emulator, CREDS)[0] == 404
    current = role_on_current_instance(emulator, ram, ecs)
    assert current == [i['InstanceId'] for i in emulator.instances() if i['InstanceNetworkType'] == 'vpc'][0]
    assert fetch(emulator, '/latest/meta-data/instance-id')[1] == current
    assert fetch(emulator, '/latest/meta-data/region-id')[1] == 'cn-hangzhou'
    assert fetch(emulator, '/latest/meta-data/owner-account-id')[1] == emulator.account_id
    assert fetch(emulator, '/latest/meta-data/network-type')[1] == 'vpc'
    status, name, ctype = fetch(emulator, CREDS)
    assert (status, name) == (200, 'InstanceRole') and ctype.startswith('text/plain')
    status, body, _ctype = fetch(emulator, CREDS + name)
    first = json.loads(body)
    assert status == 200 and first['Code'] == 'Success' and first['AccessKeyId'].startswith('STS.')
    expiry = time.mktime(time.strptime(first['Expiration'], '%Y-%m-%dT%H:%M:%SZ')) - time.mktime(time.gmtime())
    assert 6 * 3600 - 60 < expiry <= 6 * 3600
    assert json.loads(fetch(emulator, CREDS + name)[1])['AccessKeyId'] == first['AccessKeyId'], 'credentials are stable until expiry'
    assert fetch(emulator, CREDS + 'OtherRole')[0] == 404
    _ram, _ecs, sts = clients(emulator, access_key_id=first['AccessKeyId'], access_key_secret=first['AccessKeySecret'],
                              security_token=first['SecurityToken'])
    identity = sts.get_caller_identity().body
    assert identity.identity_type == 'AssumedRoleUser' and identity.arn == 'acs:ram::%s:assumed-role/InstanceRole/%s' % (emulator.account_id, current)
    emulator.set_metadata(hardened_only=True)
    assert fetch(emulator, CREDS)[0] == 403
    assert token(emulator, '0')[0] == 400 and token(emulator, '21601')[0] == 400
    assert fetch(emulator, '/latest/api/token', 'PUT', {'X-aliyun-ecs-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '1.2.3.4'})[0] == 403
    status, value, _ctype = token(emulator, '1')
    assert status == 200 and value
    assert fetch(emulator, CREDS, headers={'X-aliyun-ecs-metadata-token': value})[1] == 'InstanceRole'
    assert fetch(emulator, CREDS, headers={'X-aliyun-ecs-metadata-token': 'forged'})[0] == 401
    time.sleep(1.1)
    assert fetch(emulator, CREDS, headers={'X-aliyun-ecs-metadata-token': value})[0] == 401
    ram.delete_role(m.DeleteRoleRequest(role_name='InstanceRole'))
    assert fetch(emulator, CREDS + 'InstanceRole', headers={'X-aliyun-ecs-metadata-token': token(emulator)[1]})[0] == 404
    assert [c['action'] for c in emulator.calls() if c['service'] == 'metadata'][:2] == ['GetRoleName', 'instance-id']


def test_metadata_control_and_unavailable(emulator, ram):
    ram.create_role(m.CreateRoleRequest(role_name='direct', assume_role_policy_document=ECS_TRUST))
    other = emulator.instances('cn-beijing')[0]['InstanceId']
    settings = emulator.set_metadata(instance_id=other, role_name='direct')
    assert settings == {'instance_id': other, 'role_name': 'direct', 'hardened_only': False}
    assert fetch(emulator, '/latest/meta-data/region-id')[1] == 'cn-beijing'
    assert fetch(emulator, CREDS)[1] == 'direct'
    assert emulator.set_metadata(role_name='')['role_name'] == ''
    emulator.set_faults(metadata_unavailable_rate=1.0)
    assert fetch(emulator, CREDS)[0] == 503
    try:
        emulator.set_metadata(role_name='ghost')
    except EmulatorError as exc:
        assert exc.status == 404
    else:
        raise AssertionError('unknown role accepted')


def test_throttling_and_unavailable(emulator, ram):
    assert emulator.set_faults(throttle_rate=1.0)['throttle_rate'] == 1.0
    exc = error_of(ram.list_roles, m.ListRolesRequest())
    assert (exc.code, exc.status_code) == ('Throttling.User', 400) and 'user flow control' in exc.message
    assert emulator.control('GET', 'health') == {'ok': True}, 'control calls are never faulted'
    emulator.set_faults(throttle_rate=0.0, unavailable_rate=1.0)
    exc = error_of(ram.list_roles, m.ListRolesRequest())
    assert (exc.code, exc.status_code) == ('ServiceUnavailable', 503)
    calls = emulator.calls()
    assert [(c['code'], c['injected']) for c in calls] == [('Throttling.User', True), ('ServiceUnavailable', True)]
    emulator.set_faults(unavailable_rate=0.5, seed=7)
    outcomes = []
    for _unused in range(12):
        try:
            ram.list_roles(m.ListRolesRequest())
            outcomes.append(True)
        except Exception:  # pylint: disable=broad-except
            outcomes.append(False)
    emulator.set_faults(seed=7)
    again = []
    for _unused in range(12):
        try:
            ram.list_roles(m.ListRolesRequest())
            again.append(True)
        except Exception:  # pylint: disable=broad-except
            again.append(False)
    assert outcomes == again and True in outcomes and False in outcomes
    emulator.reset()
    assert emulator.control('GET', 'faults')['unavailable_rate'] == 0.0 and emulator.calls() == []


def test_latency_delays_calls_that_are_in_flight_together(emulator):
    """Four delayed calls are held together by a barrier: the delay does not serialise them (no clock involved)."""
    emulator.set_faults(latency_ms=300)
    ram_clients = [clients(emulator)[0] for _unused in range(4)]
    threads = [threading.Thread(target=c.list_roles, args=(m.ListRolesRequest(),)) for c in ram_clients]
    with emulator.barrier(4, action='ListRoles', timeout=120):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(emulator.calls()) == 4 and all(c['status'] == 200 for c in emulator.calls())


def test_role_visibility_delay(emulator, ram, ecs):
    from alibabacloud_sts20150401 import models as s
    emulator.set_faults(role_visibility_delay=0.6)
    ram.create_role(m.CreateRoleRequest(role_name='fresh', assume_role_policy_document=ECS_TRUST))
    ram.update_role(m.UpdateRoleRequest(role_name='fresh', new_assume_role_policy_document=json.dumps(
        {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole',
                                        'Principal': {'Service': ['ecs.aliyuncs.com'], 'RAM': ['acs:ram::%s:root' % emulator.account_id]}}]})))
    assert ram.get_role(m.GetRoleRequest(role_name='fresh')).body.role.role_name == 'fresh', 'RAM itself sees the role at once'
    instance = emulator.instances()[0]['InstanceId']
    request = e.AttachInstanceRamRoleRequest(region_id='cn-hangzhou', ram_role_name='fresh', instance_ids=json.dumps([instance]))
    assert error_of(ecs.attach_instance_ram_role, request).code == 'InvalidRamRole.NotFound'
    sts = clients(emulator)[2]
    arn = 'acs:ram::%s:role/fresh' % emulator.account_id
    assert error_of(sts.assume_role, s.AssumeRoleRequest(role_arn=arn, role_session_name='early')).code == 'EntityNotExist.Role'
    time.sleep(0.7)
    assert ecs.attach_instance_ram_role(request).body.fail_count == 0
    assert sts.assume_role(s.AssumeRoleRequest(role_arn=arn, role_session_name='later')).body.credentials.access_key_id.startswith('STS.')


def test_control_api(emulator, ram):
    emulator.create_user('alice')
    emulator.create_user('alice')
    assert sorted(u['UserName'] for u in emulator.state()['users']) == ['alice', 'emulator-admin']
    ids = emulator.seed_instances(2, network_type='classic')
    assert [i['InstanceNetworkType'] for i in emulator.instances() if i['InstanceId'] in ids] == ['classic', 'classic']
    ram.create_policy(m.CreatePolicyRequest(policy_name='p1', policy_document=json.dumps(
        {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'ecs:Describe*', 'Resource': '*'}]})))
    dump = emulator.state()
    assert [p['PolicyName'] for p in dump['policies']] == ['p1'] and dump['policies'][0]['versions'][0]['VersionId'] == 'v1'
    calls = emulator.control('GET', 'calls')
    assert calls['writes'] == 1 and calls['counts'] == {'CreatePolicy': 1}
    emulator.clear_calls()
    assert emulator.calls() == []
    emulator.reset()
    assert len(emulator.instances()) == 4 and emulator.state()['policies'] == []


def test_state_file_survives_restart(tmp_path):
    from tests.emulator.process import start_emulator
    path = str(tmp_path / 'state.json')
    with start_emulator('--state-file', path, '--instances', '1', '--classic-instances', '0') as first:
        clients(first)[0].create_role(m.CreateRoleRequest(role_name='kept', assume_role_policy_document=ECS_TRUST))
    with start_emulator('--state-file', path) as second:
        assert [r['RoleName'] for r in second.state()['roles']] == ['kept']
        assert len(second.instances()) == 1


def modify_options(ecs, instance_id, region='cn-hangzhou', **options):
    options.setdefault('http_endpoint', 'enabled')
    ecs.modify_instance_metadata_options(e.ModifyInstanceMetadataOptionsRequest(region_id=region, instance_id=instance_id, **options))


def test_metadata_service_follows_the_current_instance_options(emulator, ram, ecs):
    current = role_on_current_instance(emulator, ram, ecs)
    others = [i['InstanceId'] for i in emulator.instances() if i['InstanceId'] != current]
    modify_options(ecs, others[0], http_tokens='required')
    assert fetch(emulator, CREDS)[1] == 'InstanceRole', 'only the current instance counts'
    modify_options(ecs, current, http_tokens='required')
    assert fetch(emulator, CREDS)[0] == 403
    assert emulator.control('GET', 'metadata')['hardened_only'] is True
    assert fetch(emulator, CREDS, headers={'X-aliyun-ecs-metadata-token': token(emulator)[1]})[1] == 'InstanceRole'
    emulator.set_metadata(hardened_only=False)
    assert [i['MetadataOptions']['HttpTokens'] for i in emulator.instances() if i['InstanceId'] == current] == ['optional']
    assert fetch(emulator, CREDS)[0] == 200
    modify_options(ecs, current, http_endpoint='disabled')
    for path, method in (('/latest/api/token', 'PUT'), (CREDS, 'GET'), ('/latest/meta-data/region-id', 'GET')):
        with pytest.raises(http.client.RemoteDisconnected):
            fetch(emulator, path, method, {'X-aliyun-ecs-metadata-token-ttl-seconds': '60'})
    assert [(c['action'], c['status']) for c in emulator.calls() if c['service'] == 'metadata'][-3:] == [('EndpointDisabled', None)] * 3
    modify_options(ecs, current, http_endpoint='enabled')
    assert fetch(emulator, '/latest/meta-data/region-id')[1] == 'cn-hangzhou'
    beijing = emulator.instances('cn-beijing')[0]['InstanceId']
    emulator.set_metadata(instance_id=beijing)
    assert fetch(emulator, '/latest/meta-data/region-id')[1] == 'cn-beijing', 'region-id names the current instance region'


def test_hardened_only_flag_is_the_default_http_tokens():
    from tests.emulator.process import start_emulator
    with start_emulator('--hardened-only', '--instances', '2', '--classic-instances', '0') as emu:
        ecs = clients(emu)[1]
        body = ecs.describe_instances(e.DescribeInstancesRequest(region_id='cn-hangzhou')).body
        assert [i.metadata_options.http_tokens for i in body.instances.instance] == ['required', 'required']
        added = emu.seed_instances(1)
        assert [i['MetadataOptions']['HttpTokens'] for i in emu.instances() if i['InstanceId'] in added] == ['required']
        assert fetch(emu, '/latest/meta-data/instance-id')[0] == 403
        assert fetch(emu, '/latest/meta-data/instance-id', headers={'X-aliyun-ecs-metadata-token': token(emu)[1]})[0] == 200
        modify_options(ecs, emu.control('GET', 'metadata')['instance_id'], http_tokens='optional')
        assert fetch(emu, '/latest/meta-data/instance-id')[0] == 200
