"""Control API under /_emulator/ (plain JSON, no signature) used by tests and benchmarks."""

from collections import Counter

from . import oidc
from .state import INSTANCE_STATUSES


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def handle(app, method, route, query, body):
    """Dispatch one control request; returns (status, JSON-able body)."""
    state = app.state
    key = (method, route.strip('/'))
    if key == ('GET', 'health'):
        return 200, {'ok': True}
    if key == ('POST', 'reset'):
        app.barrier.clear()
        state.reset()
        app.nonces.clear()
        return 200, {'ok': True}
    if key == ('GET', 'faults'):
        return 200, state.faults.snapshot()
    if key == ('POST', 'faults'):
        try:
            return 200, state.faults.update(body or {})
        except (TypeError, ValueError) as exc:
            raise ControlError(400, str(exc)) from None
    if key == ('POST', 'instances'):
        return 200, _add_instances(state, body or {})
    if key == ('POST', 'instance_tags'):
        return 200, _tag_instances(state, body or {})
    if key == ('POST', 'instance_status'):
        return 200, _set_status(state, body or {})
    if key == ('POST', 'release_instances'):
        return 200, _release(state, body or {})
    if route.strip('/') in ('barrier', 'clock'):
        return 200, _timing(app, key, body or {})
    if key == ('GET', 'instances'):
        region = query.get('region') or state.config.regions[0]
        with state.lock:
            out = []
            for inst in state.instances_in(region):
                view = state.public_instance(inst)
                view['RamRoleName'] = state.role_name_of(inst)
                out.append(view)
        return 200, {'instances': out}
    if key == ('POST', 'users'):
        name = (body or {}).get('user_name')
        if not name:
            raise ControlError(400, 'user_name is required')
        with state.lock:
            user = state.add_user(name)
            state.save()
        return 200, {'user_name': user['UserName'], 'user_id': user['UserId']}
    if key == ('POST', 'groups'):
        name = (body or {}).get('group_name')
        if not name:
            raise ControlError(400, 'group_name is required')
        with state.lock:
            group = state.add_group(name, (body or {}).get('comments'))
            state.save()
        return 200, {'group_name': group['GroupName'], 'group_id': group['GroupId']}
    if key == ('POST', 'metadata'):
        return 200, _metadata(state, body or {})
    if key == ('GET', 'metadata'):
        with state.lock:
            return 200, _metadata_view(state)
    if key == ('POST', 'oidc_providers'):
        return 200, _oidc_provider(state, body or {})
    if key == ('POST', 'oidc_tokens'):
        return 200, _oidc_token(state, body or {})
    if key == ('GET', 'calls'):
        with state.lock:
            calls = [dict(c) for c in state.calls]
        counts = Counter(c['action'] for c in calls)
        return 200, {'calls': calls, 'counts': dict(counts), 'writes': sum(1 for c in calls if c['write'])}
    if key == ('DELETE', 'calls'):
        with state.lock:
            state.calls = []
        return 200, {'ok': True}
    if key == ('GET', 'state'):
        return 200, state.dump()
    raise ControlError(404, 'unknown control endpoint %s /_emulator/%s' % key)


def _tags(body):
    tags = body.get('tags') or {}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and k for k in tags):
        raise ControlError(400, 'tags must be an object of {"key": "value"}')
    return tags


def _add_instances(state, body):
    tags = _tags(body)
    try:
        count = int(body.get('count', 1))
    except (TypeError, ValueError):
        raise ControlError(400, 'count must be an integer') from None
    network = body.get('network_type', 'vpc')
    if network not in ('vpc', 'classic') or count < 0 or count > 10000:
        raise ControlError(400, 'network_type must be vpc or classic and count 0..10000')
    status = _status(body.get('status', 'Running'))
    region = body.get('region') or state.config.regions[0]
    with state.lock:
        ids = state.add_instances(region, count, network, tags, status)
        if state.data['metadata']['instance_id'] is None and network == 'vpc' and ids:
            state.data['metadata']['instance_id'] = ids[0]
        state.save()
    return {'instance_ids': ids}


def _tag_instances(state, body):
    ids = body.get('instance_ids')
    tags = _tags(body)
    if not isinstance(ids, list) or not tags:
        raise ControlError(400, 'instance_ids (a list) and tags (a non-empty object) are required')
    with state.lock:
        unknown = [iid for iid in ids if iid not in state.data['instances']]
        if unknown:
            raise ControlError(404, 'unknown instances %s' % ', '.join(map(str, unknown)))
        for iid in ids:
            state.tag_instance(state.data['instances'][iid], tags)
        state.save()
        return {'tags': dict((iid, dict(state.data['instances'][iid]['tags'])) for iid in ids)}


def _status(value):
    if value not in INSTANCE_STATUSES:
        raise ControlError(400, 'status must be one of %s' % ', '.join(INSTANCE_STATUSES))
    return value


def _set_status(state, body):
    ids = body.get('instance_ids')
    if not isinstance(ids, list):
        raise ControlError(400, 'instance_ids (a list) and status are required')
    status = _status(body.get('status'))
    with state.lock:
        unknown = [iid for iid in ids if iid not in state.data['instances']]
        if unknown:
            raise ControlError(404, 'unknown instances %s' % ', '.join(map(str, unknown)))
        for iid in ids:
            state.data['instances'][iid]['Status'] = status
        state.save()
    return {'instance_ids': ids, 'status': status}


def _release(state, body):
    """Release (delete) instances, as a user would between a module's read and its write."""
    ids = body.get('instance_ids')
    if not isinstance(ids, list):
        raise ControlError(400, 'instance_ids (a list) is required')
    with state.lock:
        released = [iid for iid in ids if state.data['instances'].pop(iid, None) is not None]
        state.save()
    return {'released': released}


def _timing(app, key, body):
    """The barrier (POST arms, GET shows, DELETE cancels) and the emulator clock (POST freezes/advances)."""
    method, route = key
    try:
        if route == 'barrier':
            if method == 'POST':
                return app.barrier.arm(body.get('count', 0), body.get('action'), body.get('timeout', 60))
            if method == 'GET':
                return app.barrier.status()
            if method == 'DELETE':
                return app.barrier.cancel()
        clock = app.state.faults.clock
        if method == 'POST':
            if set(body) - {'freeze', 'advance'}:
                raise ValueError('clock takes "freeze" (true/false) and "advance" (seconds)')
            if body.get('freeze') is True:
                clock.freeze()
            elif body.get('freeze') is False:
                clock.unfreeze()
            clock.advance(float(body.get('advance', 0)))
        if method in ('GET', 'POST'):
            return clock.view()
    except (TypeError, ValueError) as exc:
        raise ControlError(400, str(exc)) from None
    raise ControlError(404, 'unknown control endpoint %s /_emulator/%s' % key)


def _metadata_view(state):
    inst = state.current_instance()
    return {'instance_id': state.data['metadata']['instance_id'], 'role_name': state.role_name_of(inst) if inst else '',
            'hardened_only': inst is not None and inst['MetadataOptions']['HttpTokens'] == 'required'}


def _metadata(state, body):
    with state.lock:
        meta = state.data['metadata']
        if body.get('instance_id'):
            if body['instance_id'] not in state.data['instances']:
                raise ControlError(404, 'unknown instance %s' % body['instance_id'])
            meta['instance_id'] = body['instance_id']
        inst = state.current_instance()
        if inst is None and ('role_name' in body or body.get('hardened_only') is not None):
            raise ControlError(400, 'no current instance')
        if 'role_name' in body:
            if body['role_name']:
                role = state.data['roles'].get(str(body['role_name']).lower())
                if role is None:
                    raise ControlError(404, 'unknown role %s' % body['role_name'])
                inst['role'] = role['RoleName'].lower()
            else:
                inst['role'] = None
        if body.get('hardened_only') is not None:
            inst['MetadataOptions']['HttpTokens'] = 'required' if body['hardened_only'] else 'optional'
        state.save()
        return _metadata_view(state)


def _oidc_provider(state, body):
    with state.lock:
        try:
            provider = oidc.add_provider(state, body.get('name'), body.get('issuer'), body.get('client_ids'))
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        state.save()
        return provider


def _oidc_token(state, body):
    settings = {k: body[k] for k in ('subject', 'audience', 'issuer', 'forged') if body.get(k) is not None}
    try:
        settings['expires_in'] = int(body.get('expires_in', 3600))
    except (TypeError, ValueError):
        raise ControlError(400, 'expires_in must be an integer number of seconds') from None
    with state.lock:
        try:
            token, claims = oidc.issue_token(state, body.get('provider'), **settings)
        except KeyError:
            raise ControlError(404, 'unknown OIDC provider %s' % body.get('provider')) from None
    return {'token': token, 'claims': claims}
