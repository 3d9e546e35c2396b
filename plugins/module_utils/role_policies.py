# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""System and custom policies on a RAM role: the resource class behind ``ram_role_policy``.

A run reads first (one ListPoliciesForRole, then GetPolicy only where a document is given or a
listed policy is not attached yet), builds a complete plan, and only then writes. Every input
or existence error is therefore raised before the first write, and check mode reports the plan.
"""

from ansible_collections.alicloud.ram.plugins.module_utils.custom_policy import (
    apply_custom_policy_plan,
    delete_custom_policy,
    document_to_send,
    plan_custom_policy,
)
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.policy import (
    MAX_POLICY_LENGTH,
    PolicyDocumentError,
    normalize_policy,
    parse_policy_document,
)
from ansible_collections.alicloud.ram.plugins.module_utils.ram import (
    as_list,
    dig,
    policy_item,
    validate_description,
    validate_policy_name,
    validate_role_name,
)

SYSTEM = 'System'
CUSTOM = 'Custom'
POLICY_TYPES = (SYSTEM, CUSTOM)

# keys of a dict item of ``policies``, with the aliases users of other modules reach for
_ITEM_KEYS = {
    'name': 'name', 'policy_name': 'name',
    'type': 'type', 'policy_type': 'type',
    'document': 'document', 'policy_document': 'document', 'policy': 'document',
    'description': 'description',
}

# codes that mean "already done" for a single attach / detach (a concurrent run won the race)
ATTACH_DONE_CODES = ('EntityAlreadyExists.Role.Policy',)
DETACH_DONE_CODES = ('EntityNotExist.Role.Policy', 'EntityNotExist.Policy')
# right after CreatePolicy the new policy may not be visible to AttachPolicyToRole yet
NEW_POLICY_RETRY_CODES = ('EntityNotExist.Policy',)


class PolicyInputError(ValueError):
    """The module's input is unusable; nothing was changed."""


class PolicyRequest(object):
    """One item of ``policies``, validated. ``type`` is None for a plain name (resolved later)."""

    def __init__(self, name, policy_type=None, document=None, description=None, index=0):
        self.name = name
        self.type = policy_type
        self.document = document
        self.description = description
        self.index = index

    @property
    def key(self):
        return self.name.lower()


def _type_of(value, index):
    if value is None:
        return None
    if isinstance(value, str):
        for known in POLICY_TYPES:
            if value.lower() == known.lower():
                return known
    raise PolicyInputError("policies[%d]: type must be System or Custom, got %r" % (index, value))


def _parse_item(item, index):
    if isinstance(item, str):
        item = {'name': item}
    if not isinstance(item, dict):
        raise PolicyInputError('policies[%d] must be a policy name or a dict with name, type, document and description, not %s'
                               % (index, type(item).__name__))
    values = {}
    for key, value in item.items():
        canonical = _ITEM_KEYS.get(key)
        if canonical is None:
            raise PolicyInputError('policies[%d]: unknown key %r; use name, type, document and description' % (index, key))
        if canonical in values:
            raise PolicyInputError('policies[%d]: %s is given twice (%s is an alias)' % (index, canonical, key))
        values[canonical] = value

    name = values.get('name')
    if isinstance(name, str):
        name = name.strip()
    error = validate_policy_name(name)
    if error:
        raise PolicyInputError('policies[%d]: %s' % (index, error))
    policy_type = _type_of(values.get('type'), index)

    document = values.get('document')
    if document is not None:
        if policy_type == SYSTEM:
            raise PolicyInputError("policies[%d]: system policy '%s' cannot take a document; only Custom policies are created or updated"
                                   % (index, name))
        policy_type = CUSTOM
        document = validated_document(document, 'policies[%d] (%s)' % (index, name))

    description = values.get('description')
    if description is not None:
        if not isinstance(description, str):
            raise PolicyInputError('policies[%d]: description must be a string' % index)
        if document is None:
            raise PolicyInputError("policies[%d]: description of policy '%s' is used only together with a document" % (index, name))
        error = validate_description(description)
        if error:
            raise PolicyInputError('policies[%d]: %s' % (index, error))
        description = description or None
    return PolicyRequest(name, policy_type, document, description, index)


def validated_document(document, where):
    """Parse and check a wanted policy document; return it as a dict."""
    try:
        parsed = parse_policy_document(document)
        normalize_policy(parsed)
    except PolicyDocumentError as err:
        raise PolicyInputError('%s: %s' % (where, err))
    length = len(document_to_send(parsed))
    if length > MAX_POLICY_LENGTH:
        raise PolicyInputError('%s: the policy document is %d characters long once compacted; the limit is %d'
                               % (where, length, MAX_POLICY_LENGTH))
    return parsed


def parse_policy_items(items):
    """Validate the ``policies`` option; return a list of :class:`PolicyRequest`."""
    requests = []
    seen = {}
    for index, item in enumerate(as_list(items)):
        request = _parse_item(item, index)
        if request.key in seen:
            raise PolicyInputError("policy '%s' is listed twice (policies[%d] and policies[%d])" % (request.name, seen[request.key], index))
        seen[request.key] = index
        requests.append(request)
    return requests


def attachment(name, policy_type):
    return policy_item(name, policy_type)


def sort_attachments(items):
    return sorted(items, key=lambda p: (p['policy_type'], p['policy_name'].lower()))


def _diff_names(items):
    return ['%s:%s' % (p['policy_type'], p['policy_name']) for p in sort_attachments(items)]


class RolePolicyManager(object):
    """Converge the policies attached to one role. ``module`` is an ``AlicloudModule``."""

    def __init__(self, module, client=None):
        self.module = module
        self.params = module.params
        self.role_name = self.params['role_name']
        self.state = self.params['state']
        self.purge = bool(self.params.get('purge_policies'))
        self.delete_unused = bool(self.params.get('delete_unused_custom_policies'))
        self._client = client
        self.attached_now = []      # [{'policy_name', 'policy_type'}] as listed by RAM
        self.to_attach = []         # [(attachment dict, freshly created?)]
        self.to_detach = []         # [attachment dict]
        self.custom_plans = []      # [(PolicyRequest, canonical name, plan)]
        self.to_delete = []         # names of custom policies to delete (state=absent)
        self.warnings = []
        self.missing_role_error = None

    @property
    def client(self):
        if self._client is None:
            self._client = self.module.client('ram')
        return self._client

    # -- entry point -------------------------------------------------------------------------

    def run(self):
        try:
            requests = self.validate()
        except PolicyInputError as err:
            self.module.fail_json(msg=str(err))
            return None
        try:
            if not self.read_attached():
                self.role_missing()
            self.plan(requests)
        except PolicyInputError as err:
            self.module.fail_json(msg=str(err), role_name=self.role_name)
            return None
        except AlicloudApiError as err:
            if err.code == 'EntityNotExist.Role':
                self.fail_missing_role(err)
            self.module.fail_api(err, getattr(err, 'operation', None) or "read the policies of role '%s'" % self.role_name)
            return None
        result = self.result()
        if not self.module.check_mode:
            self.apply()
        for warning in self.warnings:
            self.module.warn(warning)
        self.module.exit_json(**result)
        return result

    # -- validation and reads ----------------------------------------------------------------

    def validate(self):
        error = validate_role_name(self.role_name)
        if error:
            raise PolicyInputError(error)
        return parse_policy_items(self.params.get('policies'))

    def fail_missing_role(self, err):
        detail = err.code + (', request id %s' % err.request_id if err.request_id else '')
        self.module.fail_json(msg="role '%s' does not exist (%s); create it first, for example with alicloud.ram.ram_instance_role"
                              % (self.role_name, detail), error=err.to_dict(), role_name=self.role_name)

    def read_attached(self):
        """Read the role's attached policies; False when the role does not exist."""
        try:
            body = self.client.call('ListPoliciesForRole', {'RoleName': self.role_name})
        except AlicloudApiError as err:
            if err.code != 'EntityNotExist.Role':
                raise
            self.missing_role_error = err
            return False
        self.attached_now = [attachment(p.get('PolicyName'), p.get('PolicyType'))
                             for p in as_list(dig(body, ('Policies', 'Policy'))) if isinstance(p, dict) and p.get('PolicyName')]
        return True

    def role_missing(self):
        """A missing role has nothing attached. Only a present run outside check mode fails (before any write);
        in check mode an earlier task of the play may create the role, so the run is predicted for an empty role."""
        if self.state == 'absent':
            return
        if not self.module.check_mode:
            self.fail_missing_role(self.missing_role_error)
        self.warnings.append('role %s does not exist yet; predicting as if an earlier task creates it' % self.role_name)

    def _attached_match(self, request):
        for item in self.attached_now:
            if item['policy_name'].lower() == request.key and (request.type is None or item['policy_type'] == request.type):
                return item
        return None

    def _get_policy(self, name, policy_type):
        try:
            body = self.client.call_or_none('GetPolicy', {'PolicyName': name, 'PolicyType': policy_type})
        except AlicloudApiError as err:
            err.operation = "read %s policy '%s'" % (policy_type.lower(), name)
            raise
        return None if body is None else (body.get('Policy') or {'PolicyName': name})

    def _resolve_existing(self, request):
        """(canonical name, type) of a listed policy that is not attached yet; fail if missing."""
        types = [request.type] if request.type else [SYSTEM, CUSTOM]
        for policy_type in types:
            policy = self._get_policy(request.name, policy_type)
            if policy is not None:
                return policy.get('PolicyName') or request.name, policy_type
        if request.type == SYSTEM:
            raise PolicyInputError("system policy '%s' does not exist" % request.name)
        if request.type == CUSTOM:
            raise PolicyInputError("custom policy '%s' does not exist; give a document to create it" % request.name)
        raise PolicyInputError("policy '%s' does not exist (neither a system policy nor a custom policy of this account)" % request.name)

    def _plan_custom(self, request):
        try:
            plan = plan_custom_policy(self.client, request.name, request.document)
        except AlicloudApiError as err:
            err.operation = "read custom policy '%s'" % request.name
            raise
        if plan['action'] == 'create':
            # A custom policy cannot take a system policy's name: say so before anything is written.
            if self._get_policy(request.name, SYSTEM) is not None:
                raise PolicyInputError("'%s' is the name of a system policy; a custom policy needs another name" % request.name)
            name = request.name
        else:
            policy = plan.get('policy') or {}
            name = policy.get('PolicyName') or request.name
            current_description = policy.get('Description')
            if request.description and current_description is not None and current_description != request.description:
                self.warnings.append("custom policy '%s' already exists with another description; a description is set only when "
                                     "the policy is created" % name)
        self.custom_plans.append((request, name, plan))
        return name

    def plan(self, requests):
        if self.state == 'absent':
            self._plan_absent(requests)
        else:
            self._plan_present(requests)

    def _plan_absent(self, requests):
        for request in requests:
            match = self._attached_match(request)
            if match is not None and match not in self.to_detach:
                self.to_detach.append(match)
        if self.delete_unused:
            for request in requests:
                if request.document is not None:
                    self._plan_delete(request)

    def _plan_delete(self, request):
        """Delete a listed custom policy once nothing but this role (being detached) uses it."""
        try:
            body = self.client.call_or_none('ListEntitiesForPolicy', {'PolicyName': request.name, 'PolicyType': CUSTOM})
        except AlicloudApiError as err:
            err.operation = "list the users, groups and roles of custom policy '%s'" % request.name
            raise
        if body is None:
            return
        users = [u.get('UserName') for u in as_list(dig(body, ('Users', 'User'))) if isinstance(u, dict)]
        groups = [g.get('GroupName') for g in as_list(dig(body, ('Groups', 'Group'))) if isinstance(g, dict)]
        roles = [r.get('RoleName') for r in as_list(dig(body, ('Roles', 'Role')))
                 if isinstance(r, dict) and (r.get('RoleName') or '').lower() != self.role_name.lower()]
        if users or groups or roles:
            users_groups_roles = ', '.join('%s %s' % (kind, name) for kind, names in (('user', users), ('group', groups), ('role', roles))
                                           for name in names)
            self.warnings.append("custom policy '%s' is kept: it is still attached to %s" % (request.name, users_groups_roles))
            return
        self.to_delete.append(request.name)

    def _plan_present(self, requests):
        kept = []
        for request in requests:
            match = self._attached_match(request)
            if request.document is not None:
                name = self._plan_custom(request)
                if match is None:
                    self.to_attach.append((attachment(name, CUSTOM), self.custom_plans[-1][2]['action'] == 'create'))
            elif match is None:
                name, policy_type = self._resolve_existing(request)
                self.to_attach.append((attachment(name, policy_type), False))
            if match is not None:
                kept.append(match)
        if self.purge:
            self.to_detach = [item for item in self.attached_now if item not in kept]

    # -- result, diff and writes -------------------------------------------------------------

    def attached_after(self):
        after = [item for item in self.attached_now if item not in self.to_detach]
        after.extend(item for item, _new in self.to_attach)
        return sort_attachments(after)

    def changed_custom(self, actions):
        return [name for _request, name, plan in self.custom_plans if plan['action'] in actions]

    def result(self):
        created = self.changed_custom(('create',))
        updated = self.changed_custom(('set_default', 'create_version'))
        attached = sort_attachments([item for item, _new in self.to_attach])
        detached = sort_attachments(self.to_detach)
        deleted = sorted(self.to_delete, key=str.lower)
        result = {
            'changed': bool(created or updated or attached or detached or deleted),
            'role_name': self.role_name,
            'attached_policies': self.attached_after(),
            'attached': attached,
            'detached': detached,
            'created_policies': created,
            'updated_policies': updated,
            'deleted_policies': deleted,
        }
        if self.module._diff:
            result['diff'] = self.diff()
        return result

    def diff(self):
        before = {'role_name': self.role_name, 'attached_policies': _diff_names(self.attached_now)}
        after = {'role_name': self.role_name, 'attached_policies': _diff_names(self.attached_after())}
        before_docs, after_docs = {}, {}
        for _request, name, plan in self.custom_plans:
            if plan['action'] != 'none':
                if plan['before'] is not None:
                    before_docs[name] = plan['before']
                after_docs[name] = plan['after']
        if before_docs or after_docs:
            before['policy_documents'] = before_docs
            after['policy_documents'] = after_docs
        if self.to_delete:
            before['custom_policies'] = sorted(self.to_delete, key=str.lower)
            after['custom_policies'] = []
        return {'before': before, 'after': after}

    def apply(self):
        for request, name, plan in self.custom_plans:
            try:
                apply_custom_policy_plan(self.client, name, plan, request.description)
            except AlicloudApiError as err:
                what = 'create' if plan['action'] == 'create' else 'update'
                self.module.fail_api(err, "%s custom policy '%s'" % (what, name), role_name=self.role_name)
        for item in self.to_detach:
            self._write('DetachPolicyFromRole', item, DETACH_DONE_CODES, "detach %s policy '%s' from role '%s'")
        for item, new in self.to_attach:
            self._write('AttachPolicyToRole', item, ATTACH_DONE_CODES, "attach %s policy '%s' to role '%s'",
                        retry_codes=NEW_POLICY_RETRY_CODES if new else ())
        for name in self.to_delete:
            try:
                delete_custom_policy(self.client, name)
            except AlicloudApiError as err:
                self.module.fail_api(err, "delete custom policy '%s'" % name, role_name=self.role_name)

    def _write(self, action, item, done_codes, operation, retry_codes=()):
        params = {'PolicyType': item['policy_type'], 'PolicyName': item['policy_name'], 'RoleName': self.role_name}
        try:
            self.client.call(action, params, retry_codes=retry_codes)
        except AlicloudApiError as err:
            if err.code in done_codes:
                return
            self.module.fail_api(err, operation % (item['policy_type'].lower(), item['policy_name'], self.role_name),
                                 role_name=self.role_name)
