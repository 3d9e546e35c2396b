"""STS (2015-04-01): AssumeRole, AssumeRoleWithOIDC and GetCallerIdentity."""

import json
import re

from . import oidc, policydoc
from .errors import ApiError, invalid
from .state import iso

ARN = re.compile(r'acs:ram::(\d+):role/([A-Za-z0-9.\-]{1,64})', re.IGNORECASE)
SESSION = re.compile(r'[A-Za-z0-9.@\-_]{2,64}')


def caller_arns(state, principal):
    account = state.data['account_id']
    arns = ['acs:ram::%s:root' % account, account]
    if principal['type'] == 'user':
        arns.append('acs:ram::%s:user/%s' % (account, principal['user']))
    else:
        arns.append('acs:ram::%s:role/%s' % (account, principal['role']))
    return arns


# answered without any signature (the caller has no AccessKey yet)
ANONYMOUS_ACTIONS = ('AssumeRoleWithOIDC',)


def _session_request(params):
    """``(account, role name, session, policy)`` of an AssumeRole-like request, checked for form."""
    match = ARN.fullmatch(params.text('RoleArn', required=True))
    if not match:
        raise ApiError(400, 'InvalidParameter.RoleArn', 'The parameter RoleArn is wrongly formed.')
    session = params.text('RoleSessionName', required=True)
    if not SESSION.fullmatch(session):
        raise ApiError(400, 'InvalidParameter.RoleSessionName', 'The parameter RoleSessionName is wrongly formed.')
    policy = params.text('Policy')
    if policy is not None:
        if len(policy) > 2048:
            raise ApiError(400, 'InvalidParameter.PolicySize', 'The size of Policy must be smaller than 2048 bytes.')
        try:
            policydoc.parse(policy, 'Policy')
        except ApiError:
            raise ApiError(400, 'InvalidParameter.PolicyGrammar', 'The parameter Policy has not passed grammar check.') from None
    return match.group(1), match.group(2), session, policy


def _role(state, account, name):
    role = state.data['roles'].get(name.lower()) if account == state.data['account_id'] else None
    if role is None or not state.role_visible(role):
        raise ApiError(404, 'EntityNotExist.Role', 'The role not exists: acs:ram::%s:role/%s' % (account, name.lower()))
    return role


def _duration(params, role):
    message = 'The Min/Max value of DurationSeconds is 15min/%ds.' % role['MaxSessionDuration']
    duration = params.integer('DurationSeconds', default=3600, code='DurationSeconds', message=message)
    if duration < 900 or duration > role['MaxSessionDuration']:
        raise ApiError(400, 'InvalidParameter.DurationSeconds', message)
    return duration


def _issued(state, role, session, duration, source):
    access_key_id, cred = state.issue_credentials(role, session, duration, source)
    return {
        'Credentials': {'AccessKeyId': access_key_id, 'AccessKeySecret': cred['secret'], 'SecurityToken': cred['token'],
                        'Expiration': iso(cred['expires'])},
        'AssumedRoleUser': {'Arn': '%s/%s' % (role['Arn'], session), 'AssumedRoleId': '%s:%s' % (role['RoleId'], session)},
    }


def assume_role(ctx):
    params, state = ctx.params, ctx.state
    account, name, session, _policy = _session_request(params)
    external = params.text('ExternalId')
    if external is not None and not re.fullmatch(r'[\w+=,.@:/\-]{2,1224}', external):
        raise invalid('ExternalId', 'The parameter ExternalId is wrongly formed.')
    role = _role(state, account, name)
    duration = _duration(params, role)
    decision = policydoc.trusts_ram(json.loads(role['AssumeRolePolicyDocument']), caller_arns(state, ctx.principal))
    if decision != 'allow':
        raise ApiError(403, 'NoPermission', 'You are not authorized to do this action. You should be authorized by RAM.')
    return _issued(state, role, session, duration, 'AssumeRole')


def assume_role_with_oidc(ctx):
    """Anonymous: the OIDC token, its provider and the role's trust policy decide (see oidc.py)."""
    params, state = ctx.params, ctx.state
    provider_arn = params.text('OIDCProviderArn', required=True)
    account, name, session, _policy = _session_request(params)
    claims = oidc.verify(state, provider_arn, params.text('OIDCToken'))  # the provider ARN's form first, then the token
    role = _role(state, account, name)
    if not oidc.trusts(json.loads(role['AssumeRolePolicyDocument']), provider_arn, claims):
        raise ApiError(401, 'AuthenticationFail.NoPermission', 'There is no permission')
    answer = _issued(state, role, session, _duration(params, role), 'AssumeRoleWithOIDC')
    answer['OIDCTokenInfo'] = {'Subject': claims.get('sub'), 'Issuer': claims.get('iss'),
                               'ClientIds': ','.join(str(a) for a in policydoc.as_list(claims.get('aud'))),
                               'IssuanceTime': iso(claims['iat']) if isinstance(claims.get('iat'), int) else None,
                               'ExpirationTime': iso(claims['exp'])}
    return answer


def get_caller_identity(ctx):
    state, principal = ctx.state, ctx.principal
    account = state.data['account_id']
    if principal['type'] == 'user':
        user = state.data['users'][principal['user']]
        return {'AccountId': account, 'Arn': 'acs:ram::%s:user/%s' % (account, user['UserName']), 'IdentityType': 'RAMUser',
                'PrincipalId': user['UserId'], 'UserId': user['UserId']}
    role = state.data['roles'][principal['role']]
    return {'AccountId': account, 'Arn': 'acs:ram::%s:assumed-role/%s/%s' % (account, role['RoleName'], principal['session']),
            'IdentityType': 'AssumedRoleUser', 'PrincipalId': '%s:%s' % (role['RoleId'], principal['session']),
            'RoleId': role['RoleId']}


ACTIONS = {'AssumeRole': assume_role, 'AssumeRoleWithOIDC': assume_role_with_oidc, 'GetCallerIdentity': get_caller_identity}
