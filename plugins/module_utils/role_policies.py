# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""System and custom policies on a RAM role: the resource behind ``ram_role_policy``.

``read`` lists the role's policies once, then reads a policy only where a document is given
(the custom policy's versions) or a listed policy is not attached yet (which policy the name
means). ``plan`` (pure) refuses what cannot be done (a missing policy, a custom policy named like a
system one) before the first write. ``apply`` converges custom policies first (see
custom_policy.py), then detaches, attaches and deletes, every write through the run's writer.

The view: ``attached`` (``Type:Name`` -> policy item), ``documents`` (custom policy name -> its
normalised default document, for the policies the task gives a document) and ``custom_policies``
(names of the custom policies deleted with ``delete_unused_custom_policies``).
"""

import collections

from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.custom_policy import (
    converge_custom_policy,
    delete_custom_policy,
    plan_custom_policy,
    read_custom_policy,
)
from ansible_collections.alicloud.ram.plugins.module_utils.data import as_list
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.failures import InputError, ResourceFailure
from ansible_collections.alicloud.ram.plugins.module_utils.policy import PolicyDocumentError, validate_policy_document
from ansible_collections.alicloud.ram.plugins.module_utils.ram import (
    policy_item,
    validate_description,
    validate_policy_name,
    validate_role_name,
)
from ansible_collections.alicloud.ram.plugins.module_utils.resource import REMOVED, Change, Plan, Resource

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

# right after CreatePolicy the new policy may not be visible to AttachPolicyToRole yet
NEW_POLICY_RETRY_CODES = ('EntityNotExist.Policy',)
# what converge_custom_policy reports -> the list it goes to
_DONE_LIST_OF = {'created': 'created_policies', 'updated': 'updated_policies'}


class PolicyRequest(object):
    """One item of ``policies``, validated. ``type`` is None for a plain name (resolved by reading);
    ``document`` is the JSON text to send."""

    def __init__(self, name, policy_type=None, document=None, description=None):
        self.name = name
        self.type = policy_type
        self.document = document
        self.description = description

    @property
    def key(self):
        return self.name.lower()


def _type_of(value, where):
    if value is None:
        return None
    if isinstance(value, str):
        for known in POLICY_TYPES:
            if value.lower() == known.lower():
                return known
    raise InputError('%s: type must be System or Custom, got %r' % (where, value))


def _item_values(item, where):
    if isinstance(item, str):
        return {'name': item}
    if not isinstance(item, dict):
        raise InputError('%s must be a policy name or a dict with name, type, document and description, not %s'
                         % (where, type(item).__name__))
    values = {}
    for key, value in item.items():
        canonical = _ITEM_KEYS.get(key)
        if canonical is None:
            raise InputError('%s: unknown key %r; use name, type, document and description' % (where, key))
        if canonical in values:
            raise InputError('%s: %s is given twice (%s is an alias)' % (where, canonical, key))
        values[canonical] = value
    return values


def _parse_item(item, index):
    where = 'policies[%d]' % index
    values = _item_values(item, where)
    name = values.get('name')
    error = validate_policy_name(name)
    if error:
        raise InputError('%s: %s' % (where, error))
    policy_type = _type_of(values.get('type'), where)

    document = values.get('document')
    if document is not None:
        if policy_type == SYSTEM:
            raise InputError("%s: system policy '%s' cannot take a document; only Custom policies are created or updated" % (where, name))
        policy_type = CUSTOM
        try:
            document = validate_policy_document(document)
        except PolicyDocumentError as err:
            raise InputError('%s (%s): %s' % (where, name, err)) from None

    description = values.get('description')
    if description is not None:
        if document is None:
            raise InputError("%s: description of policy '%s' is used only together with a document" % (where, name))
        error = validate_description(description)
        if error:
            raise InputError('%s: %s' % (where, error))
    return PolicyRequest(name, policy_type, document, description or None)


def parse_policy_items(items):
    """Validate the ``policies`` option; return a list of :class:`PolicyRequest` (names unique, case-insensitively)."""
    requests, seen = [], {}
    for index, item in enumerate(as_list(items)):
        request = _parse_item(item, index)
        if request.key in seen:
            raise InputError("policy '%s' is listed twice (policies[%d] and policies[%d])" % (request.name, seen[request.key], index))
        seen[request.key] = index
        requests.append(request)
    return requests


def sort_attachments(items):
    return sorted(items, key=lambda p: (p['policy_type'], p['policy_name'].lower()))


def attachment_key(item):
    return '%s:%s' % (item['policy_type'], item['policy_name'].lower())


def _diff_names(items):
    return ['%s:%s' % (p['policy_type'], p['policy_name']) for p in sort_attachments(items)]


def _attached_match(attached, request):
    for item in attached:
        if item['policy_name'].lower() == request.key and request.type in (None, item['policy_type']):
            return item
    return None


def _custom_change(name, document):
    def change_for(kind, effect=True):
        return Change({('documents', name): document} if effect else {}, _DONE_LIST_OF[kind], name)
    return change_for


def _attach_change(item):
    return Change({('attached', attachment_key(item)): item}, 'attached', item)


def _detach_change(item):
    return Change({('attached', attachment_key(item)): REMOVED}, 'detached', item)


def _delete_change(name):
    return Change({('custom_policies', name): REMOVED}, 'deleted_policies', name)


class RolePolicies(Resource):
    """Converge the policies attached to one role (``ram_role_policy``)."""

    DONE_LISTS = ('attached', 'detached', 'created_policies', 'updated_policies', 'deleted_policies')

    def __init__(self, module):
        super(RolePolicies, self).__init__(module)
        self.role_name = self.params['role_name']
        self.present = self.params['state'] == 'present'
        self.requests = []

    def _refuse(self, message, **result):
        return InputError(message, role_name=self.role_name, **result)

    # -- validate ----------------------------------------------------------------------------

    def validate(self):
        try:
            error = validate_role_name(self.role_name)
            if error:
                raise InputError(error)
            self.requests = parse_policy_items(self.params.get('policies'))
        except InputError as err:
            raise self._refuse(str(err)) from None
        if self.present and self.params['purge_policies'] and not self.requests:
            raise self._refuse('purge_policies=true needs the policies to keep in policies; with none listed it would detach '
                               'every policy of the role, so it is refused. To detach policies, list them with state=absent.')

    # -- read --------------------------------------------------------------------------------

    def read(self):
        listed = ram_api.list_policies_for(self.ram, 'role', self.role_name)
        if listed is None and self.present:
            self.missing_dependency(
                ResourceFailure("role '%s' does not exist (EntityNotExist.Role); create it first, for example with "
                                "alicloud.ram.ram_instance_role" % self.role_name,
                                AlicloudApiError('EntityNotExist.Role', 'The role does not exist.', status=404), role_name=self.role_name),
                'role %s does not exist yet' % self.role_name)
        current = {'attached': [policy_item(p['PolicyName'], p.get('PolicyType')) for p in listed or () if p.get('PolicyName')],
                   'custom': {}, 'resolved': {}, 'entities': {}}
        for request in self.requests:
            if self.present and request.document is not None:
                current['custom'][request.key] = self._read_custom(request)
            elif self.present and _attached_match(current['attached'], request) is None:
                current['resolved'][request.key] = self._resolve(request)
            elif not self.present and request.document is not None and self.params['delete_unused_custom_policies']:
                current['entities'][request.key] = ram_api.list_entities_for_policy(self.ram, request.name, CUSTOM)
        return current

    def _read_custom(self, request):
        facts = read_custom_policy(self.ram, request.name, request.document)
        # a custom policy cannot take a system policy's name: found out before anything is written
        system = facts['policy'] is None and ram_api.get_policy(self.ram, request.name, SYSTEM) is not None
        return {'facts': facts, 'system_name': system}

    def _resolve(self, request):
        """``(name as RAM spells it, type)`` of a listed policy that is not attached yet, or None when there is none."""
        for policy_type in [request.type] if request.type else [SYSTEM, CUSTOM]:
            found = ram_api.get_policy(self.ram, request.name, policy_type)
            if found is not None:
                return found['Policy'].get('PolicyName') or request.name, policy_type
        return None

    # -- plan --------------------------------------------------------------------------------

    def plan(self, current):
        custom, attach, detach, delete = [], [], [], []
        try:
            if self.present:
                self._plan_present(current, custom, attach, detach)
            else:
                self._plan_absent(current, detach, delete)
        except InputError as err:
            err.result.update(self._view_result({'attached': dict((attachment_key(i), i) for i in current['attached'])}))
            raise
        attach.sort(key=lambda entry: (entry[0]['policy_type'], entry[0]['policy_name'].lower()))
        detach = sort_attachments(detach)
        delete.sort(key=str.lower)
        before = {'attached': collections.OrderedDict((attachment_key(i), i) for i in sort_attachments(current['attached'])),
                  'documents': dict((name, plan['before']) for name, plan, _d in custom if plan['action'] != 'none'),
                  'custom_policies': dict((name, True) for name in delete)}
        changes = [_custom_change(name, plan['after'])('created' if plan['action'] == 'create' else 'updated')
                   for name, plan, _d in custom if plan['action'] != 'none']
        changes += [_detach_change(item) for item in detach] + [_attach_change(item) for item, _new in attach]
        changes += [_delete_change(name) for name in delete]
        return Plan(before, changes, custom=custom, attach=attach, detach=detach, delete=delete)

    def _plan_present(self, current, custom, attach, detach):
        kept = []
        for request in self.requests:
            match = _attached_match(current['attached'], request)
            if request.document is not None:
                name, plan = self._plan_custom(request, current['custom'][request.key])
                custom.append((name, plan, request.description))
                if match is None:
                    attach.append((policy_item(name, CUSTOM), plan['action'] == 'create'))
            elif match is None:
                name, policy_type = self._existing(request, current['resolved'][request.key])
                attach.append((policy_item(name, policy_type), False))
            if match is not None:
                kept.append(match)
        if self.params['purge_policies']:
            detach.extend(item for item in current['attached'] if item not in kept)

    def _plan_custom(self, request, read):
        plan = plan_custom_policy(read['facts'], request.document)
        if plan['action'] == 'create':
            if read['system_name']:
                raise self._refuse("'%s' is the name of a system policy; a custom policy needs another name" % request.name)
            return request.name, plan
        policy = plan['policy'] or {}
        name = policy.get('PolicyName') or request.name
        if request.description and policy.get('Description') not in (None, request.description):
            self.warn("custom policy '%s' already exists with another description; a description is set only when "
                      "the policy is created" % name)
        return name, plan

    def _existing(self, request, resolved):
        if resolved is not None:
            return resolved
        if request.type == SYSTEM:
            raise self._refuse("system policy '%s' does not exist" % request.name)
        if request.type == CUSTOM:
            raise self._refuse("custom policy '%s' does not exist; give a document to create it" % request.name)
        raise self._refuse("policy '%s' does not exist (neither a system policy nor a custom policy of this account)" % request.name)

    def _plan_absent(self, current, detach, delete):
        for request in self.requests:
            match = _attached_match(current['attached'], request)
            if match is not None and match not in detach:
                detach.append(match)
            if request.key in current['entities']:
                self._plan_delete(request.name, current['entities'][request.key], delete)

    def _plan_delete(self, name, entities, delete):
        """Delete a listed custom policy once nothing but this role (being detached) holds it."""
        if entities is None:
            return
        others = ['%s %s' % (kind, holder) for kind in ('user', 'group', 'role') for holder in entities.get(kind, [])
                  if not (kind == 'role' and holder.lower() == self.role_name.lower())]
        if others:
            self.warn("custom policy '%s' is kept: it is still attached to %s" % (name, ', '.join(others)))
        else:
            delete.append(name)

    # -- apply -------------------------------------------------------------------------------

    def _attached_now(self):
        return set(attachment_key(policy_item(p['PolicyName'], p.get('PolicyType')))
                   for p in ram_api.list_policies_for(self.ram, 'role', self.role_name) or () if p.get('PolicyName'))

    def apply(self, plan):
        for name, custom, description in plan.custom:
            converge_custom_policy(self.writer, self.ram, name, custom, _custom_change(name, custom['after']), description)
        for item in plan.detach:
            self.writer.write(_detach_change(item), ram_api.detach_policy, self.ram, 'role', self.role_name, item['policy_name'],
                              item['policy_type'], settle=lambda item=item: attachment_key(item) not in self._attached_now())
        for item, new in plan.attach:
            self.writer.write(_attach_change(item), ram_api.attach_policy, self.ram, 'role', self.role_name, item['policy_name'],
                              item['policy_type'], retry_codes=NEW_POLICY_RETRY_CODES if new else (),
                              settle=lambda item=item: attachment_key(item) in self._attached_now())
        for name in plan.delete:
            self.writer.write(_delete_change(name), delete_custom_policy, self.ram, name,
                              settle=lambda name=name: ram_api.get_policy(self.ram, name, CUSTOM) is None)

    # -- result and diff ---------------------------------------------------------------------

    def _view_result(self, view):
        return {'role_name': self.role_name, 'attached_policies': sort_attachments(view.get('attached', {}).values())}

    def result(self, current, plan):
        return self._view_result(self.view)

    def _partial_result(self, current, plan):
        return self.result(current, plan) if plan is not None else {'role_name': self.role_name}

    def diff_view(self, view, plan):
        shown = {'role_name': self.role_name, 'attached_policies': _diff_names(view.get('attached', {}).values())}
        if plan.before.get('documents'):
            shown['policy_documents'] = dict((k, v) for k, v in view.get('documents', {}).items() if v is not None)
        if plan.delete:
            shown['custom_policies'] = sorted(view.get('custom_policies', {}))
        return shown
