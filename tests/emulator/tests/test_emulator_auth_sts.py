"""Signature checks (V3 and V1), STS AssumeRole / AssumeRoleWithOIDC / GetCallerIdentity and STS credentials on API calls."""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from alibabacloud_ram20150501 import models as m
from alibabacloud_sts20150401 import models as s
from alibabacloud_tea_openapi.models import Config

from tests.emulator.process import EmulatorError
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


ACCOUNT = '1234567890123456'
SUBJECT = 'system:serviceaccount:awx:awx-ee'


def oidc_trust(provider_arn, **conditions):
    statement = {'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Federated': [provider_arn]}}
    if conditions:
        statement['Condition'] = {'StringEquals': conditions}
    return json.dumps({'Version': '1', 'Statement': [statement]})


def anonymous_sts(emulator):
    from alibabacloud_sts20150401.client import Client as StsClient  # pylint: disable=import-outside-toplevel
    return StsClient(Config(endpoint=emulator.endpoint, protocol='http', region_id='cn-hangzhou'))


def with_oidc(sts, provider_arn, token, role='pod-role', **extra):
    request = s.AssumeRoleWithOIDCRequest(oidcprovider_arn=provider_arn, role_arn='acs:ram::%s:role/%s' % (ACCOUNT, role),
                                          oidctoken=token, role_session_name=extra.pop('session', 'pod-session'), **extra)
    return sts.assume_role_with_oidc(request).body


def test_assume_role_with_oidc_is_anonymous_and_its_keys_sign_later_calls(emulator, ram):
    provider = emulator.add_oidc_provider('ack-rrsa-c1')
    assert provider['arn'] == 'acs:ram::%s:oidc-provider/ack-rrsa-c1' % ACCOUNT and provider['client_ids'] == ['sts.aliyuncs.com']
    ram.create_role(m.CreateRoleRequest(role_name='pod-role', max_session_duration=7200,
                                        assume_role_policy_document=oidc_trust(provider['arn'], **{'oidc:sub': SUBJECT})))
    token = emulator.oidc_token('ack-rrsa-c1', subject=SUBJECT)
    body = with_oidc(anonymous_sts(emulator), provider['arn'], token, duration_seconds=7200, policy='{"Version": "1", '
                     '"Statement": [{"Effect": "Allow", "Action": "ram:Get*", "Resource": "*"}]}')
    assert body.credentials.access_key_id.startswith('STS.') and body.credentials.security_token
    assert body.assumed_role_user.assumed_role_id.endswith(':pod-session')
    info = body.oidctoken_info
    assert (info.subject, info.issuer, info.client_ids) == (SUBJECT, provider['issuer'], 'sts.aliyuncs.com')
    assert info.expiration_time > info.issuance_time
    [call] = [c for c in emulator.calls() if c['action'] == 'AssumeRoleWithOIDC']
    assert call['access_key_id'] is None and call['status'] == 200 and 'OIDCToken' not in call['params']
    assert call['issued_access_key_id'] == body.credentials.access_key_id
    ram2, _ecs2, sts2 = clients(emulator, access_key_id=body.credentials.access_key_id,
                                access_key_secret=body.credentials.access_key_secret, security_token=body.credentials.security_token)
    assert sts2.get_caller_identity().body.arn == 'acs:ram::%s:assumed-role/pod-role/pod-session' % ACCOUNT
    assert ram2.get_role(m.GetRoleRequest(role_name='pod-role')).body.role.role_name == 'pod-role'
    # other actions still need a signature
    status, answer = raw_call(emulator, {'x-acs-action': 'GetCallerIdentity', 'x-acs-version': '2015-04-01'}, query='')
    assert (status, answer['Code']) == (400, 'IncompleteSignature')


def test_assume_role_with_oidc_refusals(emulator, ram):
    provider = emulator.add_oidc_provider('ack-rrsa-c1')
    emulator.add_oidc_provider('other-cluster')
    ram.create_role(m.CreateRoleRequest(role_name='pod-role', assume_role_policy_document=oidc_trust(
        provider['arn'], **{'oidc:sub': SUBJECT, 'oidc:aud': 'sts.aliyuncs.com'})))
    ram.create_role(m.CreateRoleRequest(role_name='ecs-only', assume_role_policy_document=ECS_TRUST))
    emulator.clear_calls()
    sts = anonymous_sts(emulator)
    good = emulator.oidc_token('ack-rrsa-c1', subject=SUBJECT)
    unknown_provider = 'acs:ram::%s:oidc-provider/nope' % ACCOUNT
    cases = [
        ((provider['arn'], emulator.oidc_token('ack-rrsa-c1', subject=SUBJECT, expires_in=-1)), {},
         'AuthenticationFail.OIDCToken.Expired', 401),
        ((provider['arn'], emulator.oidc_token('ack-rrsa-c1', subject=SUBJECT, forged=True)), {},
         'AuthenticationFail.OIDCToken.InvalidSignature', 401),
        ((provider['arn'], emulator.oidc_token('other-cluster', subject=SUBJECT)), {}, 'AuthenticationFail.OIDCToken.IssuerNotMatch', 401),
        ((provider['arn'], emulator.oidc_token('ack-rrsa-c1', subject=SUBJECT, audience='other')), {},
         'AuthenticationFail.OIDCToken.AudienceNotMatch', 401),
        ((provider['arn'], 'not-a-jwt'), {}, 'AuthenticationFail.OIDCToken.Invalid', 401),
        ((unknown_provider, good), {}, 'AuthenticationFail.NoPermission', 401),
        (('acs:ram::%s:role/not-a-provider' % ACCOUNT, good), {}, 'InvalidParameter.OIDCProviderArn', 400),
        ((provider['arn'], emulator.oidc_token('ack-rrsa-c1', subject='system:serviceaccount:x:y')), {},
         'AuthenticationFail.NoPermission', 401),
        ((provider['arn'], good), {'role': 'ecs-only'}, 'AuthenticationFail.NoPermission', 401),
        ((provider['arn'], good), {'role': 'ghost'}, 'EntityNotExist.Role', 404),
        ((provider['arn'], good), {'session': 'x'}, 'InvalidParameter.RoleSessionName', 400),
        ((provider['arn'], good), {'duration_seconds': 3601}, 'InvalidParameter.DurationSeconds', 400),
    ]
    for (provider_arn, token), extra, code, status in cases:
        exc = error_of(lambda: with_oidc(sts, provider_arn, token, **extra))  # pylint: disable=cell-var-from-loop
        assert (exc.code, exc.status_code) == (code, status), (code, extra)
        assert token not in json.dumps(exc.data)
    assert [c for c in emulator.calls() if c['write']] == []
    assert all(c['access_key_id'] is None for c in emulator.calls())


def test_oidc_control_api_errors(emulator):
    with pytest.raises(EmulatorError) as exc:
        emulator.add_oidc_provider('bad name!')
    assert exc.value.status == 400
    with pytest.raises(EmulatorError) as exc:
        emulator.oidc_token('never-registered')
    assert exc.value.status == 404


def test_oidc_provider_of_the_credentials_library(emulator, ram, tmp_path, monkeypatch):
    from alibabacloud_credentials.provider import oidc as oidc_provider  # pylint: disable=import-outside-toplevel

    original = oidc_provider.TeaCore.do_action

    def plain_http(request, runtime=None):
        request.protocol = 'http'
        return original(request, runtime)
    monkeypatch.setattr(oidc_provider.TeaCore, 'do_action', staticmethod(plain_http))
    provider = emulator.add_oidc_provider('ack-rrsa-c1')
    ram.create_role(m.CreateRoleRequest(role_name='pod-role', assume_role_policy_document=oidc_trust(provider['arn'])))
    token_file = emulator.write_oidc_token(tmp_path / 'token', 'ack-rrsa-c1')
    library = oidc_provider.OIDCRoleArnCredentialsProvider(
        role_arn='acs:ram::%s:role/pod-role' % ACCOUNT, oidc_provider_arn=provider['arn'], oidc_token_file_path=str(token_file),
        role_session_name='lib-session', sts_endpoint=emulator.endpoint)
    assert library.get_credentials().get_access_key_id().startswith('STS.')
    [call] = [c for c in emulator.calls() if c['action'] == 'AssumeRoleWithOIDC']
    assert call['status'] == 200 and call['params']['RoleSessionName'] == 'lib-session'
