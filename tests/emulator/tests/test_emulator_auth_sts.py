"""Signature checks (V3 and V1), STS AssumeRole / GetCallerIdentity and STS credentials on API calls."""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid

from alibabacloud_ram20150501 import models as m
from alibabacloud_sts20150401 import models as s
from alibabacloud_tea_openapi.models import Config

from tests.emulator.sdkhelpers import ACCOUNT_TRUST, ECS_TRUST, clients, error_of


def raw_call(emulator, headers, query='RoleName=x'):
    request = urllib.request.Request('%s/?%s' % (emulator.url, query), data=b'', method='POST', headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def signed_headers(emulator, secret=None, date=None, nonce=None, query='RoleName=x'):
    """An independent V3 signer used to replay nonces and skew the date."""
    headers = {'host': emulator.endpoint, 'x-acs-action': 'GetRole', 'x-acs-version': '2015-05-01',
               'x-acs-date': date or time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
               'x-acs-signature-nonce': nonce or uuid.uuid4().hex, 'x-acs-content-sha256': hashlib.sha256(b'').hexdigest()}
    names = sorted(headers)
    canonical = '\n'.join(['POST', '/', query, ''.join('%s:%s\n' % (n, headers[n]) for n in names), ';'.join(names),
                           headers['x-acs-content-sha256']])
    to_sign = 'ACS3-HMAC-SHA256\n' + hashlib.sha256(canonical.encode()).hexdigest()
    signature = hmac.new((secret or emulator.access_key_secret).encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers['Authorization'] = 'ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s' % (emulator.access_key_id, ';'.join(names), signature)
    return headers


def test_wrong_secret_refused_right_secret_passes(emulator):
    ram_bad = clients(emulator, access_key_secret='not-the-secret')[0]
    exc = error_of(ram_bad.list_roles, m.ListRolesRequest())
    assert (exc.code, exc.status_code) == ('SignatureDoesNotMatch', 400)
    ram_good = clients(emulator)[0]
    assert ram_good.list_roles(m.ListRolesRequest()).body.roles.role == []
    exc = error_of(clients(emulator, access_key_id='LTAIUnknownKey')[0].list_roles, m.ListRolesRequest())
    assert (exc.code, exc.status_code) == ('InvalidAccessKeyId.NotFound', 404)


def test_gateway_checks(emulator):
    assert raw_call(emulator, {'x-acs-action': 'GetRole', 'x-acs-version': '2015-05-01'})[1]['Code'] == 'IncompleteSignature'
    garbled = {'x-acs-action': 'GetRole', 'x-acs-version': '2015-05-01', 'Authorization': 'ACS3-HMAC-SHA256 nonsense'}
    status, body = raw_call(emulator, garbled)
    assert (status, body['Code']) == (400, 'IncompleteSignature')
    headers = signed_headers(emulator)
    status, body = raw_call(emulator, headers)
    assert (status, body['Code']) == (404, 'EntityNotExist.Role')
    status, body = raw_call(emulator, headers)
    assert (status, body['Code']) == (400, 'SignatureNonceUsed')
    status, body = raw_call(emulator, signed_headers(emulator, date='2020-01-01T00:00:00Z'))
    assert (status, body['Code']) == (400, 'InvalidTimeStamp.Expired')
    tampered = signed_headers(emulator)
    status, body = raw_call(emulator, tampered, query='RoleName=y')
    assert (status, body['Code']) == (400, 'SignatureDoesNotMatch')
    bad_hash = signed_headers(emulator)
    bad_hash['x-acs-content-sha256'] = hashlib.sha256(b'x').hexdigest()
    assert raw_call(emulator, bad_hash)[1]['Code'] == 'SignatureDoesNotMatch'
    unknown = {'x-acs-action': 'Nope', 'x-acs-version': '2015-05-01'}
    assert raw_call(emulator, unknown)[1]['Code'] == 'InvalidAction.NotFound'


def test_assume_role_and_caller_identity(emulator, ram, sts):
    ram.create_role(m.CreateRoleRequest(role_name='Deployer', assume_role_policy_document=ACCOUNT_TRUST, max_session_duration=7200))
    admin = sts.get_caller_identity().body
    assert (admin.identity_type, admin.arn, admin.account_id) == ('RAMUser', 'acs:ram::1234567890123456:user/emulator-admin', '1234567890123456')
    creds = sts.assume_role(s.AssumeRoleRequest(role_arn='acs:ram::1234567890123456:role/deployer', role_session_name='ci-run',
                                                duration_seconds=7200)).body
    assert creds.credentials.access_key_id.startswith('STS.') and creds.credentials.security_token
    assert creds.assumed_role_user.assumed_role_id.endswith(':ci-run')
    expires = time.mktime(time.strptime(creds.credentials.expiration, '%Y-%m-%dT%H:%M:%SZ')) - time.mktime(time.gmtime())
    assert 7100 < expires <= 7200
    ram2, _ecs2, sts2 = clients(emulator, access_key_id=creds.credentials.access_key_id,
                                access_key_secret=creds.credentials.access_key_secret, security_token=creds.credentials.security_token)
    me = sts2.get_caller_identity().body
    assert me.identity_type == 'AssumedRoleUser' and me.arn == 'acs:ram::1234567890123456:assumed-role/Deployer/ci-run'
    assert me.principal_id == '%s:ci-run' % me.role_id
    assert ram2.list_roles(m.ListRolesRequest()).body.roles.role[0].role_name == 'Deployer'
    calls = [c for c in emulator.calls() if c['action'] == 'ListRoles']
    assert calls[-1]['access_key_id'] == creds.credentials.access_key_id
    assert all('SecurityToken' not in c['params'] and 'Signature' not in c['params'] for c in emulator.calls())
    wrong_token = clients(emulator, access_key_id=creds.credentials.access_key_id, access_key_secret=creds.credentials.access_key_secret,
                          security_token='CAISforged')[0]
    assert error_of(wrong_token.list_roles, m.ListRolesRequest()).code == 'InvalidSecurityToken.MismatchWithAccessKey'
    ram.delete_role(m.DeleteRoleRequest(role_name='Deployer'))
    assert error_of(ram2.list_roles, m.ListRolesRequest()).code == 'InvalidSecurityToken.Expired'


def test_assume_role_errors(emulator, ram, sts):
    ram.create_role(m.CreateRoleRequest(role_name='ecs-only', assume_role_policy_document=ECS_TRUST))
    ram.create_role(m.CreateRoleRequest(role_name='deployer', assume_role_policy_document=ACCOUNT_TRUST))
    cases = [
        (dict(role_arn='arn:aws:iam::1:role/x', role_session_name='ok-name'), 'InvalidParameter.RoleArn', 400),
        (dict(role_arn='acs:ram::1234567890123456:role/ghost', role_session_name='ok-name'), 'EntityNotExist.Role', 404),
        (dict(role_arn='acs:ram::1234567890123456:role/deployer', role_session_name='x'), 'InvalidParameter.RoleSessionName', 400),
        (dict(role_arn='acs:ram::1234567890123456:role/deployer', role_session_name='ok-name', duration_seconds=600),
         'InvalidParameter.DurationSeconds', 400),
        (dict(role_arn='acs:ram::1234567890123456:role/deployer', role_session_name='ok-name', duration_seconds=3601),
         'InvalidParameter.DurationSeconds', 400),
        (dict(role_arn='acs:ram::1234567890123456:role/deployer', role_session_name='ok-name', policy='{bad'), 'InvalidParameter.PolicyGrammar', 400),
        (dict(role_arn='acs:ram::1234567890123456:role/ecs-only', role_session_name='ok-name'), 'NoPermission', 403),
    ]
    for kwargs, code, status in cases:
        exc = error_of(sts.assume_role, s.AssumeRoleRequest(**kwargs))
        assert (exc.code, exc.status_code) == (code, status), kwargs
    assert exc.data['HostId'] == 'sts.aliyuncs.com'


def test_v1_signature_from_credentials_library(emulator, ram, monkeypatch):
    from alibabacloud_credentials.client import Client as CredClient
    from alibabacloud_credentials.models import Config as CredConfig
    from alibabacloud_credentials.provider import ram_role_arn

    original = ram_role_arn.TeaCore.do_action

    def plain_http(request, runtime=None):
        request.protocol = 'http'
        return original(request, runtime)
    monkeypatch.setattr(ram_role_arn.TeaCore, 'do_action', staticmethod(plain_http))
    ram.create_role(m.CreateRoleRequest(role_name='deployer', assume_role_policy_document=ACCOUNT_TRUST))
    cred = CredClient(CredConfig(type='ram_role_arn', access_key_id=emulator.access_key_id, access_key_secret=emulator.access_key_secret,
                                 role_arn='acs:ram::1234567890123456:role/deployer', role_session_name='lib-session',
                                 policy='{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
                                 sts_endpoint=emulator.endpoint))
    credential = cred.get_credential()
    assert credential.access_key_id.startswith('STS.')
    call = [c for c in emulator.calls() if c['action'] == 'AssumeRole'][-1]
    assert call['status'] == 200 and call['params']['RoleSessionName'] == 'lib-session' and call['write'] is False
    config = Config(credential=cred, endpoint=emulator.endpoint, protocol='http', region_id='cn-hangzhou')
    from alibabacloud_sts20150401.client import Client as StsClient
    assert StsClient(config).get_caller_identity().body.arn.endswith(':assumed-role/deployer/lib-session')
