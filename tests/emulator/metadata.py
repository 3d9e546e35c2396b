"""ECS instance metadata service under /latest/: hardened token flow and RAM role credentials."""

import secrets
import time

from .state import METADATA_CREDENTIAL_SECONDS, METADATA_REFRESH_MARGIN, iso

TOKEN_HEADER = 'x-aliyun-ecs-metadata-token'
TTL_HEADER = 'x-aliyun-ecs-metadata-token-ttl-seconds'
CREDENTIALS_PATH = '/latest/meta-data/ram/security-credentials/'
TEXT = 'text/plain'
JSON = 'application/json'


def _text(status, body, action):
    return status, TEXT, body, action


def handle(app, method, path, headers):
    """Answer one metadata request: returns (status, content type, body text, action name).

    The answer is for the current instance and follows its ``MetadataOptions``: ``HttpEndpoint``
    disabled gives status None (the connection is closed unanswered), ``HttpTokens`` required
    refuses token-less GETs with 403.
    """
    state = app.state
    with state.lock:
        inst = state.current_instance()
        if inst is not None and inst['MetadataOptions']['HttpEndpoint'] == 'disabled':
            return _text(None, 'HttpEndpoint disabled', 'EndpointDisabled')
    if state.faults.metadata_fault():
        return _text(503, 'Service Unavailable', 'Unavailable')
    if path == '/latest/api/token':
        if method != 'PUT':
            return _text(405, 'Method Not Allowed', 'PutToken')
        return _token(state, headers)
    if method != 'GET':
        return _text(405, 'Method Not Allowed', 'Get')
    with state.lock:
        inst = state.current_instance()
        token = headers.get(TOKEN_HEADER)
        if token is not None:
            entry = state.data['metadata_tokens'].get(token)
            if entry is None or entry['expires'] <= time.time() or entry['instance'] != state.data['metadata']['instance_id']:
                return _text(401, 'Unauthorized', 'Get')
        elif inst is not None and inst['MetadataOptions']['HttpTokens'] == 'required':
            return _text(403, 'Forbidden', 'Get')
        if inst is None:
            return _text(404, 'Not Found', 'Get')
        if path.rstrip('/') == CREDENTIALS_PATH.rstrip('/'):
            name = state.role_name_of(inst)
            if not name:
                return _text(404, 'Not Found', 'GetRoleName')
            return _text(200, name, 'GetRoleName')
        if path.startswith(CREDENTIALS_PATH):
            return _credentials(app, inst, path[len(CREDENTIALS_PATH):].rstrip('/'))
        items = {
            'instance-id': inst['InstanceId'],
            'region-id': inst['RegionId'],
            'zone-id': inst['ZoneId'],
            'owner-account-id': state.data['account_id'],
            'network-type': inst['InstanceNetworkType'],
            'vpc-id': inst['VpcAttributes']['VpcId'],
            'hostname': inst['HostName'],
            'instance/instance-type': inst['InstanceType'],
            'private-ipv4': (inst['VpcAttributes']['PrivateIpAddress']['IpAddress'] or inst['InnerIpAddress']['IpAddress'] or [''])[0],
        }
        item = path[len('/latest/meta-data/'):] if path.startswith('/latest/meta-data/') else None
        if path in ('/latest/meta-data', '/latest/meta-data/'):
            return _text(200, '\n'.join(sorted(list(items) + ['ram/'])), 'List')
        if item in items:
            return _text(200, items[item], item)
        return _text(404, 'Not Found', 'Get')


def _token(state, headers):
    if headers.get('x-forwarded-for'):
        return _text(403, 'Forbidden', 'PutToken')
    try:
        ttl = int(headers.get(TTL_HEADER, ''))
    except ValueError:
        ttl = 0
    if not 1 <= ttl <= 21600:
        return _text(400, 'Missing or Invalid Parameters', 'PutToken')
    with state.lock:
        token = secrets.token_urlsafe(40)
        now = time.time()
        tokens = state.data['metadata_tokens']
        for stale in [t for t, e in tokens.items() if e['expires'] <= now]:
            del tokens[stale]
        tokens[token] = {'expires': now + ttl, 'instance': state.data['metadata']['instance_id']}
        return _text(200, token, 'PutToken')


def _credentials(app, inst, name):
    state = app.state
    current = state.role_name_of(inst)
    if not current or current.lower() != name.lower():
        return _text(404, 'Not Found', 'GetRoleCredentials')
    role = state.data['roles'][current.lower()]
    cache = state.data['metadata_credentials']
    cache_key = '%s/%s' % (inst['InstanceId'], role['RoleId'])
    now = time.time()
    access_key_id = cache.get(cache_key)
    cred = state.data['sts'].get(access_key_id) if access_key_id else None
    if cred is None or cred['expires'] - now <= METADATA_REFRESH_MARGIN:
        access_key_id, cred = state.issue_credentials(role, inst['InstanceId'], METADATA_CREDENTIAL_SECONDS, 'metadata', inst['InstanceId'])
        cache[cache_key] = access_key_id
    body = app.json_text({'AccessKeyId': access_key_id, 'AccessKeySecret': cred['secret'], 'Expiration': iso(cred['expires']),
                          'SecurityToken': cred['token'], 'LastUpdated': iso(cred['issued']), 'Code': 'Success'})
    return 200, JSON, body, 'GetRoleCredentials'
