# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The instance RAM role: the resources of ram_instance_role (:class:`InstanceRole`) and
ram_instance_role_info (:class:`InstanceRoleInfo`).

Decisions are taken from reads only (``plan`` is pure) and every write goes through
``Resource.write``, so check mode predicts exactly what a real run does, and a run that fails
after a write reports ``changed`` and the role as the writes left it.
"""

import time

from ansible_collections.alicloud.ram.plugins.module_utils import instances, ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import WorkerPool
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
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
    parse_trust_policy,
    policy_item,
    role_to_result,
    tags_from_ram,
    validate_description,
    validate_max_session_duration,
    validate_role_name,
)
from ansible_collections.alicloud.ram.plugins.module_utils.resource import InputError, Resource, ResourceFailure
from ansible_collections.alicloud.ram.plugins.module_utils.retries import call_with_retries

DEFAULT_TRUSTED_SERVICES = [ECS_SERVICE]
DEFAULT_SESSION_DURATION = 3600
MAX_TAGS = 20
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 128
RESERVED_TAG_KEY_PREFIXES = ('acs:', 'aliyun')
DETACH_WORKERS = 4
# DeleteRole answers this when a policy was attached after we listed them: detach it and try again
DELETE_CONFLICT = 'DeleteConflict.Role.Policy'
DELETE_RETRIES = 2
# role fields only the service assigns: absent from a role predicted in check mode
SERVICE_FIELDS = ('role_id', 'arn', 'create_date', 'update_date')
# ram_api.update_role argument -> the Role key it changes
UPDATABLE = (('trust_policy', 'AssumeRolePolicyDocument'), ('description', 'Description'),
             ('max_session_duration', 'MaxSessionDuration'))

# Error codes (substrings) meaning "this API or resource type is not offered here".
_UNSUPPORTED_MARKERS = ('invalidaction', 'invalidapi', 'unsupported', 'notsupport', 'invalidparameter.resourcetype',
                        'invalidresourcetype')


# ---------------------------------------------------------------------------------- validation

def validate_tags(tags):
    """``tags`` as a ``{str: str}`` dict (None when not given); raise InputError on a rule the service would reject."""
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


def validate_trust(params):
    """The trust policy the options ask for, as ``(document, JSON text to send)``; ``(None, None)`` when not given."""
    document = params.get('assume_role_policy_document')
    services = params.get('trusted_services')
    if document is not None:
        try:
            text = validate_policy_document(document, kind='trust policy')
        except PolicyDocumentError as err:
            raise InputError('assume_role_policy_document: %s' % err) from None
        return parse_policy_document(text, kind='trust policy'), text
    if services is not None:
        if not services or not all(isinstance(s, str) and s.strip() for s in services):
            raise InputError('trusted_services must be a non-empty list of service names, for example [%s]' % ECS_SERVICE)
        doc = trust_policy_for_services([s.strip() for s in services])
        return doc, validate_policy_document(doc, kind='trust policy')
    return None, None


def _description_error(description):
    if description == '':
        return 'description must be 1 to 1024 characters; omit it to keep the current description'
    return validate_description(description)


# ---------------------------------------------------------------------------------- reads

def _tag_api_unsupported(err):
    code = (err.code or '').lower()
    return any(marker in code for marker in _UNSUPPORTED_MARKERS)


class RoleTags(object):
    """Tags of roles: ListTagResources, or the ListRoles listing where the tag API is not offered (remembered)."""

    def __init__(self, ram):
        self.ram = ram
        self.tag_api = True

    def of(self, name):
        if self.tag_api:
            try:
                return ram_api.list_role_tags(self.ram, name)
            except AlicloudApiError as err:
                if not _tag_api_unsupported(err):
                    raise
                self.tag_api = False
        for listed in ram_api.list_roles(self.ram):
            if (listed.get('RoleName') or '').lower() == name.lower():
                return tags_from_ram(listed.get('Tags'))
        return {}


# ---------------------------------------------------------------------------------- results

def _trust_for_diff(doc):
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
    view = dict((key, result.get(key)) for key in ('role_name', 'description', 'max_session_duration', 'tags', 'attached_policies'))
    view['assume_role_policy_document'] = _trust_for_diff(result.get('assume_role_policy_document'))
    return view


def _policy_label(policy):
    return '%s (%s)' % (policy.get('PolicyName'), policy.get('PolicyType'))


class RoleState(object):
    """The role as the last read, or the writes since, left it: ``role`` (API keys; None when absent), ``policies``, ``tags``."""

    def __init__(self, role=None, policies=None, tags=None):
        self.role = dict(role) if role else None
        self.policies = list(policies or [])
        self.tags = dict(tags or {})

    def as_result(self):
        if self.role is None:
            return {}
        result = role_to_result(self.role, self.policies, self.tags)
        for key in SERVICE_FIELDS:
            if result[key] is None:
                del result[key]
        return result


# ---------------------------------------------------------------------------------- ram_instance_role

class InstanceRole(Resource):
    """One RAM role converged to the module's options (``state: present``) or deleted (``absent``)."""

    DONE_LISTS = ('detached_policies', 'detached_instance_ids')

    def __init__(self, module):
        super(InstanceRole, self).__init__(module)
        self.name = self.params['name']
        self.tags = None
        self.trust = self.trust_text = None
        self.before = self.now = RoleState()

    # -- validate / read ---------------------------------------------------------------------

    def validate(self):
        for message in (validate_role_name(self.name), _description_error(self.params.get('description')),
                        validate_max_session_duration(self.params.get('max_session_duration'))):
            if message:
                raise InputError(message)
        self.tags = validate_tags(self.params.get('tags'))
        self.trust, self.trust_text = validate_trust(self.params)

    def read(self):
        """``None`` when the role does not exist, else a dict: ``role``, ``policies``, ``tags``
        (with ``state: absent`` also ``region`` and ``instance_ids``, None when no region is configured)."""
        role = ram_api.get_role(self.ram, self.name)
        current = None
        if role is not None:
            current = {'role': role, 'policies': ram_api.list_policies_for(self.ram, 'role', self.name) or [],
                       'tags': RoleTags(self.ram).of(self.name), 'region': None, 'instance_ids': None}
            if self.params['state'] == 'absent':
                current['region'], current['instance_ids'] = self._holders()
        self.before = RoleState(current['role'], current['policies'], current['tags']) if current else RoleState()
        self.now = RoleState(self.before.role, self.before.policies, self.before.tags)
        return current

    def _holders(self):
        region = self.module.region('ecs', required=False)
        if region is None:
            self.warn('no region is configured, so role %s was not checked for ECS instances that still hold it; '
                      'set region to check (and, with force, detach) them' % self.name)
            return None, None
        return region, instances.holders_of_role(self.module.client('ecs'), region, self.name)

    # -- plan --------------------------------------------------------------------------------

    def plan(self, current):
        if self.params['state'] == 'absent':
            return self.plan_delete(current)
        if current is None:
            return self.plan_create()
        return self.plan_update(current)

    def plan_create(self):
        trust, text = self.trust, self.trust_text
        if trust is None:
            trust = trust_policy_for_services(DEFAULT_TRUSTED_SERVICES)
            text = validate_policy_document(trust, kind='trust policy')
        return {'create': {'trust_policy': text, 'description': self.params.get('description'),
                           'max_session_duration': self.params.get('max_session_duration') or DEFAULT_SESSION_DURATION,
                           'tags': self.tags or {}}}

    def plan_update(self, current):
        role = current['role']
        changes = {}
        if self.trust is not None:
            stored = parse_trust_policy(role.get('AssumeRolePolicyDocument'))
            if not (isinstance(stored, dict) and policies_equal(stored, self.trust)):
                changes['trust_policy'] = self.trust_text
        description = self.params.get('description')
        if description is not None and description != (role.get('Description') or ''):
            changes['description'] = description
        duration = self.params.get('max_session_duration')
        if duration is not None and str(duration) != str(role.get('MaxSessionDuration')):
            changes['max_session_duration'] = duration
        tag, untag = {}, []
        if self.tags is not None:
            have = current['tags']
            tag = dict((k, v) for k, v in self.tags.items() if have.get(k) != v)
            untag = sorted(k for k in have if k not in self.tags) if self.params.get('purge_tags') else []
            count = len(set(have) - set(untag) | set(self.tags))
            if count > MAX_TAGS:
                raise InputError('role %s would have %d tags; the limit is %d (set purge_tags: true to remove the others)'
                                 % (self.name, count, MAX_TAGS))
        return {'update': changes, 'untag': untag, 'tag': tag}

    def plan_delete(self, current):
        if current is None:
            return {}
        policies, holders = current['policies'], current['instance_ids'] or []
        blockers = []
        if policies:
            blockers.append('attached policies: %s' % ', '.join(_policy_label(p) for p in policies))
        if holders:
            blockers.append('attached to instances in %s: %s' % (current['region'], instances.short_list(holders)))
        if blockers and not self.params.get('force'):
            role = RoleState(current['role'], policies, current['tags']).as_result()
            raise InputError('role %s was not deleted: it still has %s; detach them first or set force: true'
                             % (self.name, ' and '.join(blockers)),
                             role=role, attached_policies=role['attached_policies'], instance_ids=holders)
        return {'delete': True, 'region': current['region'], 'instance_ids': holders, 'policies': policies}

    # -- apply -------------------------------------------------------------------------------

    def apply(self, plan):
        if 'create' in plan:
            self.create(plan['create'])
        elif 'update' in plan:
            self.update(plan)
        elif plan.get('delete'):
            self.delete(plan)

    def create(self, wanted):
        outcome = self.write(None, None, ram_api.create_role, self.ram, self.name, **wanted)
        if outcome is False:
            # created by someone else since our read: converge that role, reporting only our own writes
            current = self.read()
            if current is None:
                raise ResourceFailure('role %s was created and deleted again by someone else while this task ran' % self.name)
            self.apply(self.plan_update(current))
            return
        if outcome is True:
            # our CreateRole took effect but its answer was lost: read the role back
            outcome = ram_api.get_role(self.ram, self.name)
        role = {'RoleName': self.name, 'AssumeRolePolicyDocument': wanted['trust_policy'],
                'Description': wanted['description'] or '', 'MaxSessionDuration': wanted['max_session_duration']}
        role.update(outcome or {})
        role.setdefault('UpdateDate', role.get('CreateDate'))
        self.now = RoleState(role, [], wanted['tags'])

    def update(self, plan):
        changes = plan['update']
        if changes:
            answer = self.write(None, None, ram_api.update_role, self.ram, self.name, **changes)
            role = dict(self.now.role)
            role.update((key, changes[arg]) for arg, key in UPDATABLE if arg in changes)
            if answer and answer.get('UpdateDate'):
                role['UpdateDate'] = answer['UpdateDate']
            self.now.role = role
        if plan['untag']:
            self.write(None, None, ram_api.untag_role, self.ram, self.name, plan['untag'])
            self.now.tags = dict((k, v) for k, v in self.now.tags.items() if k not in plan['untag'])
        if plan['tag']:
            self.write(None, None, ram_api.tag_role, self.ram, self.name, plan['tag'])
            self.now.tags.update(plan['tag'])

    def delete(self, plan):
        if plan['instance_ids']:
            self.detach_from_instances(plan)
        for policy in plan['policies']:
            self.detach_policy(policy)
        if self.params.get('force'):
            call_with_retries(self.delete_role, DELETE_RETRIES, extra_codes=(DELETE_CONFLICT,), sleep=time.sleep,
                              on_retry=self.detach_late_policies)
        else:
            self.delete_role()

    def detach_from_instances(self, plan):
        region, ids = plan['region'], plan['instance_ids']
        if self.check_mode:
            done, failures = ids, []
        else:
            pool = WorkerPool(lambda n: self.module.clients('ecs', n), start=DETACH_WORKERS)
            done, failures = instances.detach_role(pool, region, self.name, ids, self.module.secrets())
        for instance_id in done:
            self.record('detached_instance_ids', instance_id)
        if failures:
            first = failures[0]
            raise ResourceFailure('role %s was not deleted: detaching it failed for %d instance(s) in %s: %s (%s: %s)'
                                  % (self.name, len(failures), region, instances.short_list(f['instance_id'] for f in failures),
                                     first['code'], first['message']),
                                  error={'code': first['code'], 'message': first['message'], 'request_id': first['request_id']},
                                  failed_instances=failures, **self.result(None, plan))

    def detach_policy(self, policy):
        name, policy_type = policy.get('PolicyName'), policy.get('PolicyType')
        self.write('detached_policies', policy_item(name, policy_type), ram_api.detach_policy, self.ram, 'role', self.name, name,
                   policy_type)
        self.now.policies = [p for p in self.now.policies if p.get('PolicyName') != name or p.get('PolicyType') != policy_type]

    def detach_late_policies(self, err, _attempt, _delay):
        if err.code == DELETE_CONFLICT:
            for policy in ram_api.list_policies_for(self.ram, 'role', self.name) or []:
                self.detach_policy(policy)

    def delete_role(self):
        self.write(None, None, ram_api.delete_role, self.ram, self.name)
        self.now = RoleState()

    # -- results -----------------------------------------------------------------------------

    def result(self, current, plan):
        result = {'role': self.now.as_result()}
        if plan and plan.get('region'):
            result['region'] = plan['region']
        return result

    def diff(self, current, plan):
        return {'before': diff_view(self.before.as_result()), 'after': diff_view(self.now.as_result())}


# ---------------------------------------------------------------------------------- ram_instance_role_info

class InstanceRoleInfo(Resource):
    """Roles for ram_instance_role_info: one by name, or every role whose name starts with a prefix (never writes)."""

    PAGE_SIZE = ram_api.MAX_ITEMS

    def __init__(self, module):
        super(InstanceRoleInfo, self).__init__(module)
        self.tags = None

    def validate(self):
        name = self.params.get('name')
        message = validate_role_name(name) if name is not None else None
        if message:
            raise InputError(message)

    def read(self):
        self.tags = RoleTags(self.ram)
        name = self.params.get('name')
        return self.by_name(name) if name is not None else self.by_prefix((self.params.get('name_prefix') or '').lower())

    def result(self, current, plan):
        return {'roles': current}

    def by_name(self, name):
        role = ram_api.get_role(self.ram, name)
        if role is None or not self.wanted(role):
            return []
        return self.described(role, self.tags.of(role['RoleName']))

    def by_prefix(self, prefix):
        roles = []
        for listed in ram_api.list_roles(self.ram, self.PAGE_SIZE):
            name = listed.get('RoleName') or ''
            if not name.lower().startswith(prefix):
                continue
            # the listing has no trust policy; a role deleted since it was listed is skipped
            role = ram_api.get_role(self.ram, name)
            if role is None or not self.wanted(role):
                continue
            roles.extend(self.described(role, tags_from_ram(listed['Tags']) if 'Tags' in listed else self.tags.of(name)))
        return roles

    def wanted(self, role):
        return not self.params.get('instance_roles_only') or can_ecs_assume(role.get('AssumeRolePolicyDocument'))

    def described(self, role, tags):
        """``[the roles item of role]``, or ``[]`` when the role is gone."""
        policies = ram_api.list_policies_for(self.ram, 'role', role['RoleName'])
        if policies is None:
            return []
        result = role_to_result(role, policies, tags)
        result['ecs_can_assume'] = can_ecs_assume(role.get('AssumeRolePolicyDocument'))
        return [result]
