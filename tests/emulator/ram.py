"""RAM (2015-05-01): roles, policies, policy versions, users, groups, attachments and role tags."""

import base64
import time

from . import catalogue, policydoc
from .errors import ApiError, check_name, invalid
from .state import digest_digits, iso

ROLE_NAME = r'[A-Za-z0-9.\-]+'
USER_NAME = r'[A-Za-z0-9._\-]+'
GROUP_NAME = r'[A-Za-z0-9.\-]+'
POLICY_NAME = r'[A-Za-z0-9\-]+'
MAX_ROLES = 1000
MAX_CUSTOM_POLICIES = 1500
MAX_VERSIONS = 5
LIMITS = {'System': 20, 'Custom': 10}
MAX_TAGS = 20
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
ROTATE = ('None', 'DeleteOldestNonDefaultVersionWhenLimitExceeded')
ATTACH_LIMIT_MESSAGES = {
    'Role': 'The count of policies attached to the role beyond the current limits.',
    'User': 'The policy count of the user attached policies beyond the current limits.',
    'Group': 'The count of policies attached to the group beyond the current limits.',
}
DETACH_MISSING_MESSAGES = {
    'Role': 'The indicate policy attached to the role does not exist.',
    'User': 'The indicate policy of the user does not exist.',
    'Group': 'The indicate policy of the group does not exist.',
}


def not_found(entity, message):
    return ApiError(404, 'EntityNotExist.%s' % entity, message)


# ---------------------------------------------------------------------- helpers
def role_name(params):
    return check_name(params.text('RoleName', required=True), 'RoleName', 64, ROLE_NAME)


def user_name(params):
    return check_name(params.text('UserName', required=True), 'UserName', 64, USER_NAME)


def group_name(params):
    return check_name(params.text('GroupName', required=True), 'GroupName', 64, GROUP_NAME)


def comments(params):
    value = params.text('Comments')
    if value is not None and len(value) > 128:
        raise ApiError(400, 'InvalidParameter.Comments.Length', 'The parameter - "Comments" beyond the length limit.')
    return value


def policy_name(params):
    return check_name(params.text('PolicyName', required=True), 'PolicyName', 128, POLICY_NAME)


def policy_type(params, required=True):
    value = params.text('PolicyType', required=required)
    if value is not None and value not in ('System', 'Custom'):
        raise invalid('PolicyType')
    return value


def description(params, name='Description'):
    value = params.text(name)
    if value is not None and len(value) > 1024:
        raise ApiError(400, 'InvalidParameter.%s.Length' % name, 'The parameter - "%s" beyond the length limit.' % name)
    return value


def max_session(params, name):
    return params.integer(name, low=3600, high=43200, code='MaxSessionDuration',
                          message='The parameter - "MaxSessionDuration" must be between 3600 and 43200 seconds.')


def parse_tags(params):
    tags = params.json_list('Tag', default=[])
    result = []
    for tag in tags:
        if not isinstance(tag, dict) or not tag.get('Key'):
            raise invalid('Tag', 'The parameter - "Tag" must be a list of {"Key": ..., "Value": ...} objects.')
        key, value = str(tag['Key']), str(tag.get('Value', ''))
        if len(key) > MAX_TAG_KEY or len(value) > MAX_TAG_VALUE:
            part = 'Key' if len(key) > MAX_TAG_KEY else 'Value'
            raise ApiError(400, 'InvalidParameter.Tag.%s.Length' % part, 'The parameter - "Tag.%s" beyond the length limit.' % part)
        result.append([key, value])
    if len(result) > MAX_TAGS:
        raise ApiError(400, 'InvalidParameter.Tag.Count', 'The number of tags cannot be more than %d.' % MAX_TAGS)
    return result


def tags_view(tags):
    return {'Tag': [{'TagKey': k, 'TagValue': v} for k, v in tags]}


def get_role(state, name):
    role = state.data['roles'].get(name.lower())
    if role is None:
        raise not_found('Role', 'The role does not exist: %s.' % name)
    return role


def get_user(state, name):
    user = state.data['users'].get(name.lower())
    if user is None:
        raise not_found('User', 'The user does not exist: %s.' % name)
    return user


def get_group(state, name):
    group = state.data['groups'].get(name.lower())
    if group is None:
        raise not_found('Group', 'The group does not exist: %s.' % name)
    return group


def get_policy(state, name, kind):
    """The policy dict (system entries come from the catalogue) for ``kind`` System|Custom."""
    if kind == 'System':
        found = catalogue.find(name)
    else:
        found = state.data['policies'].get(name.lower())
    if found is None:
        raise not_found('Policy', 'The policy does not exist: %s.' % name)
    return found


def get_custom(state, name):
    return get_policy(state, name, 'Custom')


def attachments(state, policy, kind):
    """(roles, users, groups) the policy is attached to."""
    name = policy['PolicyName'].lower()

    def holders(pool):
        return [h for h in state.data[pool].values() if any(a['PolicyName'].lower() == name and a['PolicyType'] == kind for a in h['policies'])]
    return holders('roles'), holders('users'), holders('groups')


def role_view(role, trust=True, tags=False):
    view = {k: role[k] for k in ('RoleId', 'RoleName', 'Arn', 'Description', 'CreateDate', 'UpdateDate',
                                 'MaxSessionDuration', 'AllowConsoleLogin')}
    if trust:
        view['AssumeRolePolicyDocument'] = role['AssumeRolePolicyDocument']
    if tags:
        view['Tags'] = tags_view(role['tags'])
    return view


def policy_view(state, policy, kind):
    view = {k: policy[k] for k in ('PolicyName', 'Description', 'DefaultVersion', 'CreateDate', 'UpdateDate')}
    view['PolicyType'] = kind
    view['AttachmentCount'] = sum(len(holders) for holders in attachments(state, policy, kind))
    return view


def versions_of(policy, kind):
    if kind == 'System':
        return [{'VersionId': 'v1', 'IsDefaultVersion': True, 'PolicyDocument': policy['PolicyDocument'], 'CreateDate': policy['CreateDate']}]
    return [dict(v, IsDefaultVersion=v['VersionId'] == policy['DefaultVersion']) for v in policy['versions']]


def page(items, params, key):
    """Marker/MaxItems paging over ``items`` sorted by ``key``; returns (page, response extras)."""
    limit = params.integer('MaxItems', default=100, low=1, high=1000, code='MaxItems',
                           message='The parameter - "MaxItems" must be between 1 and 1000.')
    marker = params.text('Marker')
    start = 0
    if marker:
        try:
            after = int(base64.urlsafe_b64decode(marker.encode('ascii')).decode('ascii'))
        except ValueError:
            raise invalid('Marker', 'The parameter - "Marker" is invalid.') from None
        start = next((n for n, item in enumerate(items) if key(item) >= after), len(items))
    chunk = items[start:start + limit]
    extras = {'IsTruncated': start + limit < len(items)}
    if extras['IsTruncated']:
        extras['Marker'] = base64.urlsafe_b64encode(str(key(items[start + limit])).encode('ascii')).decode('ascii')
    return chunk, extras


# ---------------------------------------------------------------------- roles
def create_role(ctx):
    params, state = ctx.params, ctx.state
    name = role_name(params)
    text = params.text('AssumeRolePolicyDocument', required=True)
    policydoc.parse(text, 'AssumeRolePolicyDocument')
    desc = description(params)
    duration = max_session(params, 'MaxSessionDuration') or 3600
    tags = parse_tags(params)
    if name.lower() in state.data['roles']:
        raise ApiError(409, 'EntityAlreadyExists.Role', 'The role does already EXIST: %s.' % name)
    if len(state.data['roles']) >= MAX_ROLES:
        raise ApiError(409, 'LimitExceeded.Role', 'The count of roles beyond the current limits.')
    seq = state.next_number()
    now = iso()
    role = {'RoleName': name, 'RoleId': '3' + digest_digits('role/%s/%d' % (name.lower(), seq), 18),
            'Arn': '%srole/%s' % (state.arn_prefix(), name.lower()), 'Description': desc or '',
            'AssumeRolePolicyDocument': text, 'CreateDate': now, 'UpdateDate': now, 'MaxSessionDuration': duration,
            'AllowConsoleLogin': params.boolean('AllowConsoleLogin', False), 'tags': tags, 'policies': [],
            'seq': seq, 'created': time.time(), 'hidden_for': state.faults.get('role_visibility_calls')}
    state.data['roles'][name.lower()] = role
    return {'Role': role_view(role)}


def get_role_action(ctx):
    role = get_role(ctx.state, role_name(ctx.params))
    view = role_view(role)
    view['IsServiceLinkedRole'] = False
    view['RolePrincipalName'] = '%s@role.%s.onaliyunservice.com' % (role['RoleName'], ctx.state.data['account_id'])
    return {'Role': view}


def update_role(ctx):
    params, state = ctx.params, ctx.state
    role = get_role(state, role_name(params))
    text = params.text('NewAssumeRolePolicyDocument')
    if text is not None:
        policydoc.parse(text, 'NewAssumeRolePolicyDocument')
    desc = description(params, 'NewDescription')
    duration = max_session(params, 'NewMaxSessionDuration')
    console = params.boolean('NewAllowConsoleLogin', None)
    if text is not None:
        role['AssumeRolePolicyDocument'] = text
    if desc is not None:
        role['Description'] = desc
    if duration is not None:
        role['MaxSessionDuration'] = duration
    if console is not None:
        role['AllowConsoleLogin'] = console
    role['UpdateDate'] = iso()
    return {'Role': role_view(role)}


def delete_role(ctx):
    state = ctx.state
    role = get_role(state, role_name(ctx.params))
    if role['policies']:
        raise ApiError(409, 'DeleteConflict.Role.Policy', 'The role cannot have any attached policies when you delete it.')
    key = role['RoleName'].lower()
    del state.data['roles'][key]
    state.detach_role_everywhere(key)
    return {}


def list_roles(ctx):
    state = ctx.state
    wanted = parse_tags(ctx.params)
    roles = sorted(state.data['roles'].values(), key=lambda r: r['seq'])
    if wanted:
        roles = [r for r in roles if all(t in r['tags'] for t in wanted)]
    chunk, extras = page(roles, ctx.params, lambda r: r['seq'])
    return dict(extras, Roles={'Role': [role_view(r, trust=False, tags=True) for r in chunk]})


# ---------------------------------------------------------------------- attachments
def _attached_view(state, attachment):
    policy = get_policy(state, attachment['PolicyName'], attachment['PolicyType'])
    return {'PolicyName': policy['PolicyName'], 'PolicyType': attachment['PolicyType'], 'Description': policy['Description'],
            'DefaultVersion': policy['DefaultVersion'], 'AttachDate': attachment['AttachDate']}


def _attach(state, holder, params, entity):
    kind = policy_type(params)
    policy = get_policy(state, policy_name(params), kind)
    for item in holder['policies']:
        if item['PolicyName'].lower() == policy['PolicyName'].lower() and item['PolicyType'] == kind:
            raise ApiError(409, 'EntityAlreadyExists.%s.Policy' % entity, 'The %s has already been attached this policy.' % entity.lower())
    if sum(1 for item in holder['policies'] if item['PolicyType'] == kind) >= LIMITS[kind]:
        raise ApiError(409, 'LimitExceeded.%s.Policy' % entity, ATTACH_LIMIT_MESSAGES[entity])
    holder['policies'].append({'PolicyName': policy['PolicyName'], 'PolicyType': kind, 'AttachDate': iso(),
                               'ResourceGroupId': params.text('ResourceGroupId')})
    return {}


def _detach(state, holder, params, entity):
    kind = policy_type(params)
    policy = get_policy(state, policy_name(params), kind)
    for item in holder['policies']:
        if item['PolicyName'].lower() == policy['PolicyName'].lower() and item['PolicyType'] == kind:
            holder['policies'].remove(item)
            return {}
    raise not_found('%s.Policy' % entity, DETACH_MISSING_MESSAGES[entity])


def _holder(ctx, entity):
    """The role, user or group named in the request."""
    name_of, lookup = {'Role': (role_name, get_role), 'User': (user_name, get_user), 'Group': (group_name, get_group)}[entity]
    return lookup(ctx.state, name_of(ctx.params))


def attach_policy_to(entity):
    return lambda ctx: _attach(ctx.state, _holder(ctx, entity), ctx.params, entity)


def detach_policy_from(entity):
    return lambda ctx: _detach(ctx.state, _holder(ctx, entity), ctx.params, entity)


def list_policies_for(entity):
    return lambda ctx: {'Policies': {'Policy': [_attached_view(ctx.state, a) for a in _holder(ctx, entity)['policies']]}}


# ---------------------------------------------------------------------- policies
def create_policy(ctx):
    params, state = ctx.params, ctx.state
    name = policy_name(params)
    text = params.text('PolicyDocument', required=True)
    policydoc.parse(text, 'PolicyDocument')
    desc = description(params)
    tags = parse_tags(params)
    if name.lower() in state.data['policies'] or catalogue.find(name):
        raise ApiError(409, 'EntityAlreadyExists.Policy', 'The policy does already EXIST: %s.' % name)
    if len(state.data['policies']) >= MAX_CUSTOM_POLICIES:
        raise ApiError(409, 'LimitExceeded.Policy', 'The count of policy beyond the current limits.')
    now = iso()
    policy = {'PolicyName': name, 'Description': desc or '', 'CreateDate': now, 'UpdateDate': now, 'DefaultVersion': 'v1',
              'versions': [{'VersionId': 'v1', 'PolicyDocument': text, 'CreateDate': now}], 'next_version': 2,
              'tags': tags, 'seq': 100000 + state.next_number()}
    state.data['policies'][name.lower()] = policy
    view = {k: policy[k] for k in ('PolicyName', 'Description', 'DefaultVersion', 'CreateDate')}
    view['PolicyType'] = 'Custom'
    return {'Policy': view}


def get_policy_action(ctx):
    kind = policy_type(ctx.params)
    policy = get_policy(ctx.state, policy_name(ctx.params), kind)
    default = [v for v in versions_of(policy, kind) if v['IsDefaultVersion']][0]
    view = policy_view(ctx.state, policy, kind)
    view['PolicyDocument'] = default['PolicyDocument']
    return {'Policy': view, 'DefaultPolicyVersion': default}


def delete_policy(ctx):
    state = ctx.state
    policy = get_custom(state, policy_name(ctx.params))
    roles, users, groups = attachments(state, policy, 'Custom')
    if users:
        raise ApiError(409, 'DeleteConflict.Policy.User', 'The policy CAN NOT been attached to any user while deleting the policy.')
    if groups:
        raise ApiError(409, 'DeleteConflict.Policy.Group', 'The policy CAN NOT been attached to any group while deleting the policy.')
    if roles:
        raise ApiError(409, 'DeleteConflict.Role.Policy', 'The policy CAN NOT been attached to any role while deleting the policy.')
    if len(policy['versions']) > 1 and not ctx.params.boolean('CascadingDelete', False):
        raise ApiError(409, 'DeleteConflict.Policy.Version', 'The policy CAN NOT has any version except the default version.')
    del state.data['policies'][policy['PolicyName'].lower()]
    return {}


def list_policies(ctx):
    state = ctx.state
    kind = policy_type(ctx.params, required=False)
    items = []
    if kind in (None, 'System'):
        items += [(n, p, 'System') for n, p in enumerate(catalogue.SYSTEM_POLICIES)]
    if kind in (None, 'Custom'):
        items += [(p['seq'], p, 'Custom') for p in sorted(state.data['policies'].values(), key=lambda p: p['seq'])]
    wanted = parse_tags(ctx.params)
    if wanted:
        items = [i for i in items if i[2] == 'Custom' and all(t in i[1]['tags'] for t in wanted)]
    chunk, extras = page(items, ctx.params, lambda i: i[0])
    out = []
    for _seq, policy, pkind in chunk:
        view = policy_view(state, policy, pkind)
        view['Tags'] = tags_view(policy.get('tags', []))
        out.append(view)
    return dict(extras, Policies={'Policy': out})


def list_entities_for_policy(ctx):
    state = ctx.state
    kind = policy_type(ctx.params)
    policy = get_policy(state, policy_name(ctx.params), kind)
    roles, users, groups = attachments(state, policy, kind)
    lower = policy['PolicyName'].lower()

    def when(holder):
        return [a['AttachDate'] for a in holder['policies'] if a['PolicyName'].lower() == lower and a['PolicyType'] == kind][0]
    return {
        'Users': {'User': [{'UserName': u['UserName'], 'UserId': u['UserId'], 'DisplayName': u['DisplayName'], 'AttachDate': when(u)} for u in users]},
        'Groups': {'Group': [{'GroupName': g['GroupName'], 'Comments': g['Comments'], 'AttachDate': when(g)}
                             for g in sorted(groups, key=lambda g: g['seq'])]},
        'Roles': {'Role': [{'RoleName': r['RoleName'], 'RoleId': r['RoleId'], 'Arn': r['Arn'], 'Description': r['Description'],
                            'AttachDate': when(r)} for r in sorted(roles, key=lambda r: r['seq'])]},
    }


# ---------------------------------------------------------------------- versions
def version_id(params):
    value = params.text('VersionId', required=True)
    if len(value) < 2 or value[0] != 'v' or not value[1:].isdigit():
        raise ApiError(400, 'InvalidParameter.VersionId.Format', 'The format of the parameter - "VersionId" is incorrect.')
    return value


def find_version(policy, vid):
    for version in policy['versions']:
        if version['VersionId'] == vid:
            return version
    raise not_found('Policy.Version', 'The policy version does not exist: %s.' % vid)


def create_policy_version(ctx):
    params, state = ctx.params, ctx.state
    policy = get_custom(state, policy_name(params))
    text = params.text('PolicyDocument', required=True)
    policydoc.parse(text, 'PolicyDocument')
    strategy = params.text('RotateStrategy', default='None')
    if strategy not in ROTATE:
        raise invalid('RotateStrategy')
    make_default = params.boolean('SetAsDefault', False)
    if len(policy['versions']) >= MAX_VERSIONS:
        if strategy == 'None':
            raise ApiError(409, 'LimitExceeded.Policy.Version', 'The maximum number of policy versions is exceeded.')
        oldest = [v for v in policy['versions'] if v['VersionId'] != policy['DefaultVersion']][0]
        policy['versions'].remove(oldest)
    now = iso()
    version = {'VersionId': 'v%d' % policy['next_version'], 'PolicyDocument': text, 'CreateDate': now}
    policy['next_version'] += 1
    policy['versions'].append(version)
    if make_default:
        policy['DefaultVersion'] = version['VersionId']
    policy['UpdateDate'] = now
    return {'PolicyVersion': dict(version, IsDefaultVersion=make_default)}


def get_policy_version(ctx):
    kind = policy_type(ctx.params)
    policy = get_policy(ctx.state, policy_name(ctx.params), kind)
    vid = version_id(ctx.params)
    for version in versions_of(policy, kind):
        if version['VersionId'] == vid:
            return {'PolicyVersion': version}
    raise not_found('Policy.Version', 'The policy version does not exist: %s.' % vid)


def list_policy_versions(ctx):
    kind = policy_type(ctx.params)
    policy = get_policy(ctx.state, policy_name(ctx.params), kind)
    return {'PolicyVersions': {'PolicyVersion': versions_of(policy, kind)}}


def delete_policy_version(ctx):
    policy = get_custom(ctx.state, policy_name(ctx.params))
    version = find_version(policy, version_id(ctx.params))
    if version['VersionId'] == policy['DefaultVersion']:
        raise ApiError(409, 'DeleteConflict.Policy.Version.Default', 'The default policy version CAN NOT been deleted directly.')
    policy['versions'].remove(version)
    return {}


def set_default_policy_version(ctx):
    policy = get_custom(ctx.state, policy_name(ctx.params))
    version = find_version(policy, version_id(ctx.params))
    policy['DefaultVersion'] = version['VersionId']
    policy['UpdateDate'] = iso()
    return {}


# ---------------------------------------------------------------------- users
def user_view(user):
    return {k: user[k] for k in ('UserId', 'UserName', 'DisplayName', 'MobilePhone', 'Email', 'Comments', 'CreateDate', 'UpdateDate')}


def create_user(ctx):
    params, state = ctx.params, ctx.state
    name = user_name(params)
    display = params.text('DisplayName')
    if display is not None and len(display) > 128:
        raise ApiError(400, 'InvalidParameter.DisplayName.Length', 'The parameter - "DisplayName" beyond the length limit.')
    text = comments(params)
    if name.lower() in state.data['users']:
        raise ApiError(409, 'EntityAlreadyExists.User', 'The user does already EXIST: %s.' % name)
    user = state.add_user(name, display_name=display, comments=text, email=params.text('Email'), mobile=params.text('MobilePhone'))
    return {'User': {k: user[k] for k in ('UserId', 'UserName', 'DisplayName', 'MobilePhone', 'Email', 'Comments', 'CreateDate')}}


def get_user_action(ctx):
    user = get_user(ctx.state, user_name(ctx.params))
    return {'User': dict(user_view(user), LastLoginDate='')}


def delete_user(ctx):
    state = ctx.state
    user = get_user(state, user_name(ctx.params))
    if user['policies']:
        raise ApiError(409, 'DeleteConflict.User.Policy', 'The user CAN NOT has any attached policy while deleting the user.')
    key = user['UserName'].lower()
    if any(k['user'] == key for k in state.data['access_keys'].values()):
        raise ApiError(409, 'DeleteConflict.User.AccessKey', 'The user CAN NOT has any access key while deleting the user.')
    del state.data['users'][key]
    return {}


def list_users(ctx):
    users = sorted(ctx.state.data['users'].values(), key=lambda u: u['UserId'])
    chunk, extras = page(users, ctx.params, lambda u: int(u['UserId']))
    return dict(extras, Users={'User': [user_view(u) for u in chunk]})


# ---------------------------------------------------------------------- groups
def group_view(group):
    return {k: group[k] for k in ('GroupName', 'GroupId', 'Comments', 'CreateDate', 'UpdateDate')}


def create_group(ctx):
    state = ctx.state
    name = group_name(ctx.params)
    text = comments(ctx.params)
    if name.lower() in state.data['groups']:
        raise ApiError(409, 'EntityAlreadyExists.Group', 'The group does already EXIST: %s.' % name)
    view = group_view(state.add_group(name, text))
    del view['UpdateDate']
    return {'Group': view}


def get_group_action(ctx):
    return {'Group': group_view(get_group(ctx.state, group_name(ctx.params)))}


def delete_group(ctx):
    state = ctx.state
    group = get_group(state, group_name(ctx.params))
    if group['policies']:
        raise ApiError(409, 'DeleteConflict.Group.Policy', 'The group CAN NOT has any attached policy while deleting the group.')
    del state.data['groups'][group['GroupName'].lower()]
    return {}


def list_groups(ctx):
    groups = sorted(ctx.state.data['groups'].values(), key=lambda g: g['seq'])
    chunk, extras = page(groups, ctx.params, lambda g: g['seq'])
    return dict(extras, Groups={'Group': [group_view(g) for g in chunk]})


# ---------------------------------------------------------------------- tags
def _tag_targets(ctx):
    params, state = ctx.params, ctx.state
    kind = params.text('ResourceType', required=True)
    if kind not in ('role', 'policy'):
        raise invalid('ResourceType', 'The parameter - "ResourceType" must be role or policy.')
    names = params.json_list('ResourceNames', default=None)
    if not names:
        raise ApiError(400, 'MissingParameter', 'The input parameter "ResourceNames" that is mandatory for processing this request is not supplied.')
    if len(names) > 50:
        raise invalid('ResourceNames', 'The number of resource names cannot be more than 50.')
    if kind == 'role':
        return kind, [get_role(state, str(n)) for n in names]
    return kind, [get_custom(state, str(n)) for n in names]


def tag_resources(ctx):
    _kind, targets = _tag_targets(ctx)
    tags = parse_tags(ctx.params)
    if not tags:
        raise ApiError(400, 'MissingParameter', 'The input parameter "Tag" that is mandatory for processing this request is not supplied.')
    for target in targets:
        merged = dict((k, v) for k, v in target['tags'])
        merged.update(dict(tags))
        if len(merged) > MAX_TAGS:
            raise ApiError(400, 'InvalidParameter.Tag.Count', 'The number of tags cannot be more than %d.' % MAX_TAGS)
    for target in targets:
        merged = dict((k, v) for k, v in target['tags'])
        merged.update(dict(tags))
        target['tags'] = [[k, v] for k, v in merged.items()]
    return {}


def untag_resources(ctx):
    _kind, targets = _tag_targets(ctx)
    remove_all = ctx.params.boolean('All', False)
    keys = set(str(k) for k in ctx.params.json_list('TagKeys', default=[]))
    for target in targets:
        target['tags'] = [] if remove_all else [[k, v] for k, v in target['tags'] if k not in keys]
    return {}


def list_tag_resources(ctx):
    params, state = ctx.params, ctx.state
    kind = params.text('ResourceType', required=True)
    if kind not in ('role', 'policy'):
        raise invalid('ResourceType', 'The parameter - "ResourceType" must be role or policy.')
    names = params.json_list('ResourceNames', default=None)
    wanted = parse_tags(params)
    pool = state.data['roles'] if kind == 'role' else state.data['policies']
    if names:
        targets = [pool[str(n).lower()] for n in names if str(n).lower() in pool]
    else:
        targets = sorted(pool.values(), key=lambda t: t['seq'])
    rows = []
    for target in targets:
        label = target.get('RoleName') or target.get('PolicyName')
        for key, value in target['tags']:
            if wanted and [key, value] not in wanted and not any(w[0] == key and w[1] == '' for w in wanted):
                continue
            rows.append({'ResourceName': label, 'ResourceType': kind, 'TagKey': key, 'TagValue': value})
    size = params.integer('PageSize', default=50, low=1, high=1000)
    start = params.integer('NextToken', default=0, low=0, code='NextToken')
    body = {'TagResources': rows[start:start + size]}
    if start + size < len(rows):
        body['NextToken'] = str(start + size)
    return body


ACTIONS = {
    'CreateRole': create_role, 'GetRole': get_role_action, 'UpdateRole': update_role, 'DeleteRole': delete_role,
    'ListRoles': list_roles, 'ListPoliciesForRole': list_policies_for('Role'), 'AttachPolicyToRole': attach_policy_to('Role'),
    'DetachPolicyFromRole': detach_policy_from('Role'), 'CreatePolicy': create_policy, 'GetPolicy': get_policy_action,
    'DeletePolicy': delete_policy, 'ListPolicies': list_policies, 'CreatePolicyVersion': create_policy_version,
    'GetPolicyVersion': get_policy_version, 'ListPolicyVersions': list_policy_versions,
    'DeletePolicyVersion': delete_policy_version, 'SetDefaultPolicyVersion': set_default_policy_version,
    'ListEntitiesForPolicy': list_entities_for_policy, 'CreateUser': create_user, 'GetUser': get_user_action,
    'DeleteUser': delete_user, 'ListUsers': list_users, 'AttachPolicyToUser': attach_policy_to('User'),
    'DetachPolicyFromUser': detach_policy_from('User'), 'ListPoliciesForUser': list_policies_for('User'),
    'TagResources': tag_resources, 'UntagResources': untag_resources, 'ListTagResources': list_tag_resources,
    'CreateGroup': create_group, 'GetGroup': get_group_action, 'DeleteGroup': delete_group, 'ListGroups': list_groups,
    'AttachPolicyToGroup': attach_policy_to('Group'), 'DetachPolicyFromGroup': detach_policy_from('Group'),
    'ListPoliciesForGroup': list_policies_for('Group'),
}
