# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The instance RAM role: input validation, reads (role, policies, tags), and the
ram_instance_role / ram_instance_role_info resource classes.

Every decision is taken from reads only, so check mode predicts exactly what a real run does.
"""

from ansible_collections.alicloud.ram.plugins.module_utils import endpoints
from ansible_collections.alicloud.ram.plugins.module_utils.ecs import MAX_IDS_PER_WRITE, chunks, describe_instance_ram_roles
from ansible_collections.alicloud.ram.plugins.module_utils.ecs import detach_already_done, instance_ids_param, parse_instance_results
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, is_already_exists, is_not_found
from ansible_collections.alicloud.ram.plugins.module_utils.policy import (
    ECS_SERVICE,
    PolicyDocumentError,
    can_ecs_assume,
    normalize_policy,
    parse_policy_document,
    policies_equal,
    trust_policy_for_services,
    validate_policy_document,
)
from ansible_collections.alicloud.ram.plugins.module_utils.ram import (
    MAX_ITEMS,
    as_list,
    dig,
    get_role,
    list_policies_for_role,
    paginate_marker,
    parse_trust_policy,
    role_to_result,
    tags_from_ram,
    tags_to_ram,
    validate_description,
    validate_max_session_duration,
    validate_role_name,
)

DEFAULT_TRUSTED_SERVICES = [ECS_SERVICE]
DEFAULT_SESSION_DURATION = 3600
MAX_TAGS = 20
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 128
RESERVED_TAG_KEY_PREFIXES = ('acs:', 'aliyun')
TAG_RESOURCE_TYPE = 'role'
DELETE_ATTEMPTS = 3

# Error codes (substrings) meaning "this API or resource type is not offered here".
_UNSUPPORTED_MARKERS = ('invalidaction', 'invalidapi', 'unsupported', 'notsupport', 'invalidparameter.resourcetype',
                        'invalidresourcetype')


class InputError(ValueError):
    """Module input that must be rejected before any call is made."""


# ---------------------------------------------------------------------------------- validation

def validate_tags(tags):
    """``tags`` as a ``{str: str}`` dict; raise InputError on a rule the service would reject."""
    if tags is None:
        return None
    if not isinstance(tags, dict):
        raise InputError('tags must be a dictionary of key: value pairs')
    if len(tags) > MAX_TAGS:
        raise InputError('a role can have at most %d tags, %d given' % (MAX_TAGS, len(tags)))
    result = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY_LENGTH:
            raise InputError('tag key %r is invalid: a tag key is 1 to %d characters' % (key, MAX_TAG_KEY_LENGTH))
        if key.lower().startswith(RESERVED_TAG_KEY_PREFIXES):
            raise InputError("tag key '%s' is invalid: keys must not start with 'acs:' or 'aliyun'" % key)
        if isinstance(value, (dict, list)):
            raise InputError("tag '%s' must have a string value" % key)
        value = '' if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise InputError("the value of tag '%s' is %d characters long; the limit is %d" % (key, len(value), MAX_TAG_VALUE_LENGTH))
        result[key] = value
    return result


def _check_trust_shape(doc):
    statements = doc.get('Statement')
    for index, statement in enumerate(statements if isinstance(statements, list) else [statements], 1):
        principal = statement.get('Principal')
        if not isinstance(principal, dict) or not principal:
            raise InputError('statement %d of the trust policy needs a Principal (for example {"Service": ["%s"]})' % (index, ECS_SERVICE))


def validate_trust(params, creating):
    """The wanted trust policy as a dict, or None to keep the current one."""
    document = params.get('assume_role_policy_document')
    services = params.get('trusted_services')
    if document is not None:
        try:
            validate_policy_document(document, kind='trust policy')
            doc = parse_policy_document(document, kind='trust policy')
        except PolicyDocumentError as err:
            raise InputError('assume_role_policy_document: %s' % err) from None
        _check_trust_shape(doc)
        return doc
    if services is not None:
        if not services or not all(isinstance(s, str) and s.strip() for s in services):
            raise InputError('trusted_services must be a non-empty list of service names, for example [%s]' % ECS_SERVICE)
        return trust_policy_for_services([s.strip() for s in services])
    return trust_policy_for_services(DEFAULT_TRUSTED_SERVICES) if creating else None


def validate_common(params):
    """Checks that do not depend on whether the role exists; raise InputError."""
    for message in (validate_role_name(params.get('name')),
                    _validate_description(params.get('description')),
                    validate_max_session_duration(params.get('max_session_duration'))):
        if message:
            raise InputError(message)
    validate_tags(params.get('tags'))
    validate_trust(params, creating=True)


def _validate_description(description):
    if description is not None and description == '':
        return 'description must be 1 to 1024 characters; omit it to keep the current description'
    return validate_description(description)


# ---------------------------------------------------------------------------------- reads

def _tag_api_unsupported(err):
    code = (getattr(err, 'code', None) or '').lower()
    return any(marker in code for marker in _UNSUPPORTED_MARKERS)


class RoleReader(object):
    """Reads of roles, their policies and tags, with the fewest calls."""

    def __init__(self, client):
        self.client = client
        self.tag_api_supported = True

    def role(self, name):
        return get_role(self.client, name)

    def policies(self, name):
        try:
            return list_policies_for_role(self.client, name)
        except AlicloudApiError as err:
            if is_not_found(err):
                return []
            raise

    def tags(self, name):
        """Tags of role ``name``: ListTagResources, or ListRoles pages where that API is not offered."""
        if self.tag_api_supported:
            try:
                return self._tags_from_tag_api(name)
            except AlicloudApiError as err:
                if not _tag_api_unsupported(err):
                    raise
                self.tag_api_supported = False
        for role in self.list_roles():
            if (role.get('RoleName') or '').lower() == name.lower():
                return tags_from_ram(role.get('Tags'))
        return {}

    def _tags_from_tag_api(self, name):
        tags = {}
        token = None
        seen = set()
        while True:
            params = {'ResourceType': TAG_RESOURCE_TYPE, 'ResourceNames': [name]}
            if token:
                params['NextToken'] = token
            body = self.client.call('ListTagResources', params)
            rows = body.get('TagResources')
            if isinstance(rows, dict):  # tolerate a wrapped list
                rows = rows.get('TagResource')
            for row in as_list(rows):
                if isinstance(row, dict) and (row.get('ResourceName') or name).lower() == name.lower() and row.get('TagKey') is not None:
                    tags[row['TagKey']] = row.get('TagValue') or ''
            token = body.get('NextToken')
            if not token or token in seen:
                return tags
            seen.add(token)

    def list_roles(self, max_items=MAX_ITEMS):
        return paginate_marker(self.client, 'ListRoles', {}, ('Roles', 'Role'), max_items=max_items)


# ---------------------------------------------------------------------------------- results

def _trust_for_diff(doc):
    if doc is None:
        return None
    parsed = parse_trust_policy(doc)
    if not isinstance(parsed, dict):
        return parsed
    try:
        return normalize_policy(parsed)
    except (PolicyDocumentError, TypeError, ValueError):
        return parsed


def diff_view(result):
    """The fields of a ``role`` result shown by --diff (trust policy normalised)."""
    if not result:
        return {}
    view = dict((key, result.get(key)) for key in ('role_name', 'description', 'max_session_duration', 'tags', 'attached_policies')
                if key in result)
    view['assume_role_policy_document'] = _trust_for_diff(result.get('assume_role_policy_document'))
    return view


def _policy_label(policy):
    return '%s (%s)' % (policy.get('PolicyName'), policy.get('PolicyType'))


# ---------------------------------------------------------------------------------- ram_instance_role

class InstanceRoleManager(object):
    """Converges one RAM role to the module's options."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = module.params['name']
        self.check_mode = module.check_mode
        self.changed = False
        self.extra = {}
        self._reader = None

    @property
    def client(self):
        return self.module.client('ram')

    @property
    def reader(self):
        if self._reader is None:
            self._reader = RoleReader(self.client)
        return self._reader

    def run(self):
        try:
            validate_common(self.params)
        except InputError as err:
            self.module.fail_json(msg=str(err))
        if self.params['state'] == 'absent':
            before, after = self.ensure_absent()
        else:
            before, after = self.ensure_present()
        result = dict(changed=self.changed, role=after, **self.extra)
        if self.module._diff:
            result['diff'] = {'before': diff_view(before), 'after': diff_view(after)}
        self.module.exit_json(**result)

    def _api(self, operation, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AlicloudApiError as err:
            self.module.fail_api(err, operation)
        return None  # not reached

    def read_current(self):
        role = self._api('get role %s' % self.name, self.reader.role, self.name)
        if role is None:
            return None
        policies = self._api('list policies of role %s' % self.name, self.reader.policies, self.name)
        tags = self._api('read tags of role %s' % self.name, self.reader.tags, self.name)
        return role, policies, tags

    # -- present ---------------------------------------------------------------------------

    def ensure_present(self):
        current = self.read_current()
        if current is None:
            return self.create()
        return self.update(*current)

    def create(self):
        trust = validate_trust(self.params, creating=True)
        tags = validate_tags(self.params.get('tags')) or {}
        duration = self.params.get('max_session_duration') or DEFAULT_SESSION_DURATION
        description = self.params.get('description')
        self.changed = True
        if self.check_mode:
            predicted = {
                'role_name': self.name,
                'description': description or '',
                'assume_role_policy_document': trust,
                'max_session_duration': duration,
                'tags': tags,
                'attached_policies': [],
            }
            return {}, predicted
        params = {
            'RoleName': self.name,
            'AssumeRolePolicyDocument': validate_policy_document(trust, kind='trust policy'),
            'Description': description,
            'MaxSessionDuration': duration,
        }
        if tags:
            params['Tag'] = tags_to_ram(tags)
        try:
            body = self.client.call('CreateRole', params)
        except AlicloudApiError as err:
            if not is_already_exists(err):
                self.module.fail_api(err, 'create role %s' % self.name)
            # created by a concurrent run between our read and our create: converge it instead
            self.changed = False
            current = self.read_current()
            if current is None:
                self.module.fail_api(err, 'create role %s' % self.name)
            return self.update(*current)
        role = body.get('Role') or {}
        role.setdefault('RoleName', self.name)
        role.setdefault('AssumeRolePolicyDocument', params['AssumeRolePolicyDocument'])
        role.setdefault('MaxSessionDuration', duration)
        role.setdefault('Description', description or '')
        role.setdefault('UpdateDate', role.get('CreateDate'))
        return {}, role_to_result(role, [], tags)

    def plan_update(self, role):
        """UpdateRole parameters for the fields that differ (empty when nothing does)."""
        changes = {}
        trust = validate_trust(self.params, creating=False)
        current_trust = parse_trust_policy(role.get('AssumeRolePolicyDocument'))
        if trust is not None:
            equal = isinstance(current_trust, dict) and policies_equal(current_trust, trust)
            if not equal:
                changes['NewAssumeRolePolicyDocument'] = validate_policy_document(trust, kind='trust policy')
        description = self.params.get('description')
        if description is not None and description != (role.get('Description') or ''):
            changes['NewDescription'] = description
        duration = self.params.get('max_session_duration')
        if duration is not None and duration != _int_or_none(role.get('MaxSessionDuration')):
            changes['NewMaxSessionDuration'] = duration
        return changes

    def plan_tags(self, current_tags):
        """(tags to set, keys to remove, resulting tags)."""
        wanted = validate_tags(self.params.get('tags'))
        if wanted is None:
            return {}, [], dict(current_tags)
        to_set = dict((k, v) for k, v in wanted.items() if current_tags.get(k) != v)
        to_remove = sorted(k for k in current_tags if k not in wanted) if self.params.get('purge_tags') else []
        final = dict((k, v) for k, v in current_tags.items() if k not in to_remove)
        final.update(wanted)
        if len(final) > MAX_TAGS:
            self.module.fail_json(msg='role %s would have %d tags; the limit is %d (set purge_tags: true to remove the others)'
                                  % (self.name, len(final), MAX_TAGS))
        return to_set, to_remove, final

    def update(self, role, policies, tags):
        before = role_to_result(role, policies, tags)
        changes = self.plan_update(role)
        to_set, to_remove, final_tags = self.plan_tags(tags)
        if not changes and not to_set and not to_remove:
            return before, before
        self.changed = True
        after_role = dict(role)
        if 'NewAssumeRolePolicyDocument' in changes:
            after_role['AssumeRolePolicyDocument'] = changes['NewAssumeRolePolicyDocument']
        if 'NewDescription' in changes:
            after_role['Description'] = changes['NewDescription']
        if 'NewMaxSessionDuration' in changes:
            after_role['MaxSessionDuration'] = changes['NewMaxSessionDuration']
        if not self.check_mode:
            if changes:
                params = dict(changes, RoleName=role.get('RoleName') or self.name)
                body = self._api('update role %s' % self.name, self.client.call, 'UpdateRole', params)
                answered = (body or {}).get('Role') or {}
                for key in ('UpdateDate', 'CreateDate', 'Arn', 'RoleId'):
                    if answered.get(key):
                        after_role[key] = answered[key]
            resource = {'ResourceType': TAG_RESOURCE_TYPE, 'ResourceNames': [role.get('RoleName') or self.name]}
            if to_remove:
                self._api('remove tags %s from role %s' % (', '.join(to_remove), self.name), self.client.call,
                          'UntagResources', dict(resource, TagKeys=to_remove))
            if to_set:
                self._api('tag role %s' % self.name, self.client.call, 'TagResources', dict(resource, Tag=tags_to_ram(to_set)))
        return before, role_to_result(after_role, policies, final_tags)

    # -- absent ----------------------------------------------------------------------------

    def attached_instances(self):
        """Ids of the instances holding this role in the module's region (None: no region configured)."""
        try:
            region = endpoints.resolve_region('ecs', self.module.options)
        except endpoints.EndpointError:
            self.module.warn('no region is configured, so role %s was not checked for ECS instances that still hold it; '
                             'set region to check (and, with force, detach) them' % self.name)
            return None
        ecs = self.module.client('ecs')
        try:
            found = describe_instance_ram_roles(ecs, region, role_name=self.name)
        except AlicloudApiError as err:
            if err.code == 'InvalidRamRole.NotFound':
                return []
            self.module.fail_api(err, 'list the instances holding role %s in %s' % (self.name, region))
        self.extra['region'] = region
        return sorted(i for i, r in found.items() if (r or '').lower() == self.name.lower())

    def ensure_absent(self):
        current = self.read_current()
        if current is None:
            return {}, {}
        role, policies, tags = current
        before = role_to_result(role, policies, tags)
        instances = self.attached_instances()
        blockers = []
        if policies:
            blockers.append('attached policies: %s' % ', '.join(_policy_label(p) for p in policies))
        if instances:
            blockers.append('attached to instances in %s: %s' % (self.extra.get('region'), ', '.join(instances)))
        if blockers and not self.params.get('force'):
            self.module.fail_json(msg='role %s was not deleted: it still has %s; detach them first or set force: true'
                                  % (self.name, ' and '.join(blockers)),
                                  attached_policies=before['attached_policies'], instance_ids=instances or [])
        self.changed = True
        self.extra['detached_policies'] = before['attached_policies']
        self.extra['detached_instance_ids'] = instances or []
        if not self.check_mode:
            if instances:
                self.detach_from_instances(instances)
            self.detach_policies(policies)
            self.delete_role()
        return before, {}

    def detach_from_instances(self, instance_ids):
        region = self.extra['region']
        ecs = self.module.client('ecs')
        failed = []
        for batch in chunks(instance_ids, MAX_IDS_PER_WRITE):
            params = {'RegionId': region, 'RamRoleName': self.name, 'InstanceIds': instance_ids_param(batch)}
            body = self._api('detach role %s from %d instance(s) in %s' % (self.name, len(batch), region),
                             ecs.call, 'DetachInstanceRamRole', params)
            for instance_id, success, code, message in parse_instance_results(body, 'DetachInstanceRamRoleResults'):
                if not success and not detach_already_done(code):
                    failed.append('%s (%s: %s)' % (instance_id, code, message))
        if failed:
            self.module.fail_json(msg='detaching role %s failed for instance(s): %s' % (self.name, '; '.join(failed)))

    def detach_policies(self, policies):
        for policy in policies:
            params = {'RoleName': self.name, 'PolicyName': policy.get('PolicyName'), 'PolicyType': policy.get('PolicyType')}
            try:
                self.client.call('DetachPolicyFromRole', params)
            except AlicloudApiError as err:
                if not is_not_found(err):
                    self.module.fail_api(err, 'detach policy %s from role %s' % (_policy_label(policy), self.name))

    def delete_role(self):
        for attempt in range(1, DELETE_ATTEMPTS + 1):
            try:
                self.client.call('DeleteRole', {'RoleName': self.name})
                return
            except AlicloudApiError as err:
                if is_not_found(err):
                    return
                if err.code != 'DeleteConflict.Role.Policy' or not self.params.get('force') or attempt == DELETE_ATTEMPTS:
                    self.module.fail_api(err, 'delete role %s' % self.name)
                # a policy was attached after we listed them: detach again and retry
                self.detach_policies(self._api('list policies of role %s' % self.name, self.reader.policies, self.name))


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------- info

class InstanceRoleInfo(object):
    """Reads roles for ram_instance_role_info (never writes)."""

    def __init__(self, module, max_items=MAX_ITEMS):
        self.module = module
        self.params = module.params
        self.max_items = max_items
        self._reader = None

    @property
    def reader(self):
        if self._reader is None:
            self._reader = RoleReader(self.module.client('ram'))
        return self._reader

    def run(self):
        name = self.params.get('name')
        if name is not None:
            message = validate_role_name(name)
            if message:
                self.module.fail_json(msg=message)
        try:
            roles = self.by_name(name) if name is not None else self.by_prefix(self.params.get('name_prefix'))
        except AlicloudApiError as err:
            self.module.fail_api(err, 'read role %s' % name if name is not None else 'list roles')
        self.module.exit_json(changed=False, roles=roles)

    def _keep(self, role):
        return not self.params.get('instance_roles_only') or can_ecs_assume(role.get('AssumeRolePolicyDocument'))

    def _result(self, role, tags):
        result = role_to_result(role, self.reader.policies(role['RoleName']), tags)
        result['ecs_can_assume'] = can_ecs_assume(role.get('AssumeRolePolicyDocument'))
        return result

    def by_name(self, name):
        role = self.reader.role(name)
        if role is None or not self._keep(role):
            return []
        return [self._result(role, self.reader.tags(role.get('RoleName') or name))]

    def by_prefix(self, prefix):
        prefix = (prefix or '').lower()
        results = []
        for listed in self.reader.list_roles(max_items=self.max_items):
            listed_name = listed.get('RoleName') or ''
            if not listed_name.lower().startswith(prefix):
                continue
            role = self.reader.role(listed_name)  # ListRoles has no trust policy
            if role is None or not self._keep(role):
                continue  # deleted since it was listed, or not an instance role
            if 'Tags' in listed:
                tags = tags_from_ram(dig(listed, ('Tags',)))
            else:  # this listing carries no tags: ask the tag API
                tags = self.reader.tags(listed_name)
            results.append(self._result(role, tags))
        return results
