"""OIDC identity providers, the tokens they issue, and how STS AssumeRoleWithOIDC checks both.

A provider is registered through the control API (``POST /_emulator/oidc_providers``); tokens
are JWTs the emulator signs for it (``POST /_emulator/oidc_tokens``). Real providers sign with
RSA keys published by the issuer; the emulator signs with an HMAC key of its own per provider
and labels the token RS256, as a pod's projected token is. Callers hold ``state.lock``.
"""

import base64
import fnmatch
import hashlib
import hmac
import json
import re
import secrets
import time

from .errors import ApiError
from .policydoc import action_matches, as_list

DEFAULT_AUDIENCE = 'sts.aliyuncs.com'
DEFAULT_SUBJECT = 'system:serviceaccount:default:ansible'
ALGORITHM = 'RS256'
PROVIDER_ARN = re.compile(r'acs:ram::(\d+):oidc-provider/([A-Za-z0-9.\-]{1,128})', re.IGNORECASE)
PROVIDER_NAME = re.compile(r'[A-Za-z0-9.\-]{1,128}')


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _unb64(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def _refused(code, message):
    return ApiError(401, code, message)


def providers(state):
    return state.data.setdefault('oidc_providers', {})


def add_provider(state, name, issuer=None, client_ids=None):
    """Register (or return) the provider ``name``; its view has ``name, arn, issuer, client_ids``."""
    if not isinstance(name, str) or not PROVIDER_NAME.fullmatch(name):
        raise ValueError('name must be 1-128 characters of letters, digits, "." and "-"')
    known = providers(state)
    if name.lower() not in known:
        known[name.lower()] = {
            'name': name,
            'arn': '%soidc-provider/%s' % (state.arn_prefix(), name),
            'issuer': issuer or 'https://oidc-ack-emulator.example.com/%s' % name,
            'client_ids': list(client_ids or [DEFAULT_AUDIENCE]),
            'key': secrets.token_hex(32),
        }
    return view(known[name.lower()])


def view(provider):
    return {k: v for k, v in provider.items() if k != 'key'}


def issue_token(state, provider_name, subject=DEFAULT_SUBJECT, audience=DEFAULT_AUDIENCE, expires_in=3600, issuer=None,
                forged=False):
    """A token of ``provider_name``; ``issuer`` overrides its ``iss``, ``forged`` signs it with a wrong key."""
    provider = providers(state).get(str(provider_name).lower())
    if provider is None:
        raise KeyError(provider_name)
    now = int(time.time())
    header = {'alg': ALGORITHM, 'kid': provider['name'], 'typ': 'JWT'}
    claims = {'iss': issuer or provider['issuer'], 'aud': audience, 'sub': subject, 'iat': now, 'nbf': now,
              'exp': now + int(expires_in)}
    signed = '%s.%s' % (_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()))
    key = secrets.token_hex(32) if forged else provider['key']
    return '%s.%s' % (signed, _b64(hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest())), claims


def verify(state, provider_arn, token, now=None):
    """The claims of ``token`` when ``provider_arn`` issued it for STS and it is still valid; else STS's refusal."""
    match = PROVIDER_ARN.fullmatch(provider_arn)
    if not match:
        raise ApiError(400, 'InvalidParameter.OIDCProviderArn', 'The parameter OIDCProviderArn is wrongly formed.')
    token = (token or '').strip()
    if not token:
        raise _refused('AuthenticationFail.OIDCToken.Invalid', 'The OIDCToken can not empty.')
    parts = token.split('.')
    if len(parts) != 3:
        raise _refused('AuthenticationFail.OIDCToken.Invalid', "The number of Jwt field should be divided into 3 parts with '.' .")
    try:
        header, claims = json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
    except (ValueError, TypeError):
        raise _refused('AuthenticationFail.OIDCToken.Invalid', 'The Jwt content is invalid that cannot be recognized.') from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _refused('AuthenticationFail.OIDCToken.Invalid', 'The Jwt content is invalid that cannot be recognized.')
    if header.get('alg') != ALGORITHM:
        raise _refused('AuthenticationFail.OIDCToken.Invalid', 'The algorithm %s that be specified in Jwt header is unknown.' % header.get('alg'))
    provider = providers(state).get(match.group(2).lower()) if match.group(1) == state.data['account_id'] else None
    if provider is None:
        raise _refused('AuthenticationFail.NoPermission', 'No such OIDC Provider registered.')
    if claims.get('iss') != provider['issuer']:
        raise _refused('AuthenticationFail.OIDCToken.IssuerNotMatch', "The issuer in the OIDC Token doesn't match the OIDC Provider registered.")
    expected = _b64(hmac.new(provider['key'].encode(), ('%s.%s' % (parts[0], parts[1])).encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        raise _refused('AuthenticationFail.OIDCToken.InvalidSignature', 'OIDC token validate failed: invalid signature.')
    if not set(as_list(claims.get('aud'))) & set(provider['client_ids']):
        raise _refused('AuthenticationFail.OIDCToken.AudienceNotMatch', 'Invalid audience.')
    if not isinstance(claims.get('exp'), int) or claims['exp'] <= (now or time.time()):
        raise _refused('AuthenticationFail.OIDCToken.Expired', 'This JsonWebToken is expired.')
    return claims


def _condition_holds(condition, claims):
    """``StringEquals`` / ``StringLike`` on ``oidc:iss``, ``oidc:aud``, ``oidc:sub``; any other operator fails."""
    values = {'oidc:iss': [claims.get('iss')], 'oidc:aud': as_list(claims.get('aud')), 'oidc:sub': [claims.get('sub')]}
    for operator, tests in (condition or {}).items():
        if operator not in ('StringEquals', 'StringLike') or not isinstance(tests, dict):
            return False
        for key, wanted in tests.items():
            have = [str(v) for v in values.get(key.lower(), []) if v is not None]
            if operator == 'StringEquals':
                ok = any(str(w) == h for w in as_list(wanted) for h in have)
            else:
                ok = any(fnmatch.fnmatchcase(h, str(w)) for w in as_list(wanted) for h in have)
            if not ok:
                return False
    return True


def trusts(document, provider_arn, claims):
    """Whether the role's trust policy lets this provider's token assume it (``Principal.Federated``); Deny wins."""
    allowed = False
    for statement in document.get('Statement', []):
        principal = statement.get('Principal') or {}
        if not isinstance(principal, dict) or not action_matches(statement.get('Action'), 'sts:AssumeRole'):
            continue
        if provider_arn.lower() not in [str(p).lower() for p in as_list(principal.get('Federated'))]:
            continue
        if not _condition_holds(statement.get('Condition'), claims):
            continue
        if statement.get('Effect') == 'Deny':
            return False
        allowed = allowed or statement.get('Effect') == 'Allow'
    return allowed
