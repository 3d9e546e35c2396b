# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Let a RAM user, group or role pass an instance RAM role: the resource of ``ram_user_role_grant``.

The grant is one custom policy (``ram:PassRole`` on the role's ARN, plus optional ECS actions)
attached to the grantee. Every decision is made from reads first, so check mode predicts exactly
what a real run writes, and a second run makes no write call.

A grant touches only what is its own. A policy is this grant's when its document is a PassRole
grant of exactly this role (:func:`grant_role_of`: one ``Allow`` statement of ``ram:PassRole`` on
the role's ARN, optionally one ``Allow`` statement of the instance management actions on ``*``,
nothing else). Rewriting a policy that is not (another role's grant, or any other policy), or
detaching or deleting it, is refused before any write, naming the policy, the role it grants and
its holders; so is rewriting this role's grant under other holders.

The view: ``attached`` (the policy is attached to the grantee) and ``policy_document`` (its
normalised default document; None when there is no policy).
"""

from ansible_collections.alicloud.ram.plugins.module_utils import ram as ram_utils
from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.custom_policy import (
    converge_custom_policy,
    delete_custom_policy,
    normalized_or_none,
    plan_custom_policy,
    read_custom_policy,
)
from ansible_collections.alicloud.ram.plugins.module_utils.data import as_list
from ansible_collections.alicloud.ram.plugins.module_utils.failures import InputError, refuse
from ansible_collections.alicloud.ram.plugins.module_utils.policy import (
    PolicyDocumentError,
    normalize_policy,
    validate_policy_document,
)
from ansible_collections.alicloud.ram.plugins.module_utils.resource import Change, Plan, Resource

PASS_ROLE_ACTION = 'ram:PassRole'
INSTANCE_MANAGEMENT_ACTIONS = (
    'ecs:AttachInstanceRamRole',
    'ecs:DetachInstanceRamRole',
    'ecs:DescribeInstanceRamRole',
    'ecs:DescribeInstances',
)
POLICY_NAME_PREFIX = 'PassRole-'
DOTTED_POLICY_NAME_PREFIX = 'PassRoleDot-'
POLICY_TYPE = 'Custom'
# Stands for the account id in the ARN predicted, in check mode, for a role that does not exist yet.
ACCOUNT_ID_PLACEHOLDER = '<account-id>'
# Right after CreatePolicy the new policy may not be visible to the attach call yet.
_NEW_POLICY_RETRY_CODES = ('EntityNotExist.Policy',)

# grantee kind -> (option naming it, name validator)
GRANTEE_OPTIONS = (
    ('user', 'user_name', ram_utils.validate_user_name),
    ('group', 'group_name', ram_utils.validate_group_name),
    ('role', 'grantee_role_name', ram_utils.validate_role_name),
)


def default_policy_name(role_name):
    """The default policy name of a role: injective in the (case-folded) role name, at most 93 characters.

    * a role name without a period: ``PassRole-<role name in lower case>`` (``web-app`` -> ``PassRole-web-app``);
    * a role name with periods: ``PassRoleDot-<lower case, periods as hyphens>-<hex>``, where ``<hex>`` is the
      hexadecimal number whose binary digits, one per period or hyphen of the role name from left to right,
      are 1 for a period and 0 for a hyphen (``web.app`` -> ``PassRoleDot-web-app-1``,
      ``a.b-c`` -> ``PassRoleDot-a-b-c-2``).

    Two different roles never share a name: the two forms differ at their 9th character, the first form
    is the role name itself, and in the second the last hyphen splits off the number (hex digits hold no
    hyphen), which says which of the name's separators were periods.
    """
    name = role_name.lower()
    if '.' not in name:
        return POLICY_NAME_PREFIX + name
    periods = ''.join('1' if char == '.' else '0' for char in name if char in '.-')
    return '%s%s-%x' % (DOTTED_POLICY_NAME_PREFIX, name.replace('.', '-'), int(periods, 2))


def predicted_role_arn(role_name):
    """The ARN a role that does not exist yet would get, with the account id left as a marked placeholder.

    RAM ARNs carry the role name in lower case. The account id is not known from the reads this module makes
    (GetUser and GetRole answers do not carry it), so it is shown as ``<account-id>``.
    """
    return 'acs:ram::%s:role/%s' % (ACCOUNT_ID_PLACEHOLDER, role_name.lower())


def pass_role_policy(role_arn, allow_instance_management=True):
    """The normalised policy document that lets its holder pass exactly ``role_arn``."""
    statements = [{'Effect': 'Allow', 'Action': PASS_ROLE_ACTION, 'Resource': role_arn}]
    if allow_instance_management:
        statements.append({'Effect': 'Allow', 'Action': list(INSTANCE_MANAGEMENT_ACTIONS), 'Resource': '*'})
    return normalize_policy({'Version': '1', 'Statement': statements})


def principal_label(kind, name):
    return '%s %s' % (kind, name)


def grant_role_of(document):
    """The role (lower case) a PassRole grant document passes, or None when the document is not one
    (see the module docstring for the recognised shape)."""
    doc = normalized_or_none(document)
    if not isinstance(doc, dict) or set(doc) - {'Version', 'Statement'}:
        return None
    statements = as_list(doc.get('Statement'))
    role, management = None, 0
    for statement in statements:
        if not isinstance(statement, dict) or statement.get('Effect') != 'Allow' or set(statement) - {'Effect', 'Action', 'Resource'}:
            return None
        actions, resources = as_list(statement.get('Action')), as_list(statement.get('Resource'))
        if [a.lower() for a in actions] == [PASS_ROLE_ACTION.lower()] and len(resources) == 1 and role is None:
            arn = str(resources[0])
            prefix, _sep, name = arn.rpartition(':role/')
            if not prefix.startswith('acs:ram:') or not name or '/' in name:
                return None
            role = name.lower()
        elif sorted(a.lower() for a in actions) == sorted(a.lower() for a in INSTANCE_MANAGEMENT_ACTIONS) and resources == ['*']:
            management += 1
        else:
            return None
    return role if management <= 1 else None


def _attach_change(label):
    return Change({('attached',): True}, 'attached_to', label)


def _detach_change(label):
    return Change({('attached',): False}, 'detached_from', label)


def _policy_change(name, document):
    def change_for(kind, effect=True):
        return Change({('policy_document',): document} if effect else {}, 'created_policies' if kind == 'created' else 'updated_policies', name)
    return change_for


def _delete_change(name):
    return Change({('policy_document',): None}, 'deleted_policies', name)


class RoleGrant(Resource):
    """Ensure (or remove) the PassRole policy of one role on one RAM user, group or role."""

    DONE_LISTS = ('created_policies', 'updated_policies', 'attached_to', 'detached_from', 'deleted_policies')

    def __init__(self, module):
        super(RoleGrant, self).__init__(module)
        given = [entry for entry in GRANTEE_OPTIONS if self.params.get(entry[1]) is not None]
        # the argument spec asks for exactly one; an explicit null still passes it, and is refused in validate()
        self.kind, self.grantee_option, self.validate_grantee = given[0] if given else GRANTEE_OPTIONS[0]
        self.grantee = self.params.get(self.grantee_option)
        self.role_name = self.params['role_name']
        self.present = self.params['state'] == 'present'
        self.policy_name = None

    @property
    def grantee_label(self):
        return principal_label(self.kind, self.grantee)

    # -- validate ----------------------------------------------------------------------------

    def validate(self):
        if self.grantee is None:
            raise InputError('one of user_name, group_name or grantee_role_name is required')
        refuse([self.validate_grantee(self.grantee), ram_utils.validate_role_name(self.role_name),
                ram_utils.validate_policy_name(self.params['policy_name']) if self.params.get('policy_name') is not None else None])
        self.policy_name = self.params.get('policy_name') or default_policy_name(self.role_name)

    # -- read --------------------------------------------------------------------------------

    def read(self):
        return self._read_present() if self.present else self._read_absent()

    def _read_present(self):
        if ram_api.get_principal(self.ram, self.kind, self.grantee) is None:
            self.missing_dependency(InputError('RAM %s %s does not exist; create it before granting it role %s'
                                               % (self.kind, self.grantee, self.role_name), **self._identity()),
                                    '%s %s does not exist yet' % (self.kind, self.grantee))
        role = ram_api.get_role(self.ram, self.role_name)
        if role is None:
            self.missing_dependency(InputError('RAM role %s does not exist; create it before granting it to %s'
                                               % (self.role_name, self.grantee_label), **self._identity()),
                                    'role %s does not exist yet' % self.role_name)
            role_arn, resource_arn = None, predicted_role_arn(self.role_name)
        else:
            role_arn = resource_arn = role.get('Arn')
            if not role_arn:
                raise InputError('GetRole returned no ARN for RAM role %s' % self.role_name)
        wanted = pass_role_policy(resource_arn, self.params['allow_instance_management'])
        try:
            validate_policy_document(wanted)
        except PolicyDocumentError as err:
            raise InputError('policy %s: %s' % (self.policy_name, err))
        facts = read_custom_policy(self.ram, self.policy_name, wanted)
        current = dict(role_arn=role_arn, wanted=wanted, facts=facts, document=normalized_or_none(facts['document']))
        current.update(self._holders(facts['policy'] is not None))
        return current

    def _read_absent(self):
        # Neither the grantee nor the role has to exist: what is left of the grant is removed.
        role = ram_api.get_role(self.ram, self.role_name)
        facts = read_custom_policy(self.ram, self.policy_name)
        current = dict(role_arn=role.get('Arn') if role else None, document=normalized_or_none(facts['document']))
        current.update(self._holders(facts['policy'] is not None))
        return current

    def _holders(self, exists):
        """Whether the policy exists, is attached to the grantee, and which other principals hold it."""
        entities = ram_api.list_entities_for_policy(self.ram, self.policy_name, POLICY_TYPE) if exists else None
        attached, others = False, []
        for kind, _option, _validate in GRANTEE_OPTIONS:
            for name in (entities or {}).get(kind, []):
                if kind == self.kind and name.lower() == self.grantee.lower():
                    attached = True
                else:
                    others.append(principal_label(kind, name))
        return dict(exists=entities is not None, attached=attached, others=others)

    # -- plan --------------------------------------------------------------------------------

    def _not_ours(self, current, action):
        """The refusal of ``action`` on an existing policy that is not this role's grant, or None when it is."""
        granted = grant_role_of(current['document'])
        if granted == self.role_name.lower():
            return None
        what = 'the grant of role %s' % granted if granted else 'not a PassRole grant'
        holders = sorted(current['others'] + ([self.grantee_label] if current['attached'] else []))
        return InputError('policy %s is %s (held by %s), not a grant of role %s: it is not %s; choose another policy_name'
                          % (self.policy_name, what, ', '.join(holders) or 'nobody', self.role_name, action),
                          **self._identity(role_arn=current['role_arn'], policy_role=granted, policy_used_by=holders,
                                           attached=current['attached'], policy_document=current['document']))

    def plan(self, current):
        before = {'attached': current['attached'], 'policy_document': current['document']}
        if not self.present:
            delete = current['exists'] and not current['others']
            if current['attached'] or delete:
                refusal = self._not_ours(current, 'detached or deleted')
                if refusal is not None:
                    raise refusal
            changes = ([_detach_change(self.grantee_label)] if current['attached'] else []) + (
                [_delete_change(self.policy_name)] if delete else [])
            return Plan(before, changes, detach=current['attached'], delete=delete)
        policy_plan = plan_custom_policy(current['facts'], current['wanted'])
        action = policy_plan['action']
        if action != 'none' and current['exists']:
            refusal = self._not_ours(current, 'rewritten')
            if refusal is not None:
                raise refusal
            if current['others']:
                raise InputError('policy %s already exists with another document and is attached to %s: it is not rewritten '
                                 'under them; choose another policy_name' % (self.policy_name, ', '.join(current['others'])),
                                 **self._identity(role_arn=current['role_arn'], policy_used_by=sorted(current['others'])))
        kind = 'created' if action == 'create' else 'updated'
        changes = ([_policy_change(self.policy_name, policy_plan['after'])(kind)] if action != 'none' else []) + (
            [_attach_change(self.grantee_label)] if not current['attached'] else [])
        return Plan(before, changes, policy_plan=policy_plan, attach=not current['attached'])

    # -- apply -------------------------------------------------------------------------------

    def _attached_now(self):
        policies = ram_api.list_policies_for(self.ram, self.kind, self.grantee) or []
        return any(p.get('PolicyName', '').lower() == self.policy_name.lower() and p.get('PolicyType') == POLICY_TYPE for p in policies)

    def apply(self, plan):
        if self.present:
            policy_plan = plan.policy_plan
            converge_custom_policy(self.writer, self.ram, self.policy_name, policy_plan, _policy_change(self.policy_name, policy_plan['after']),
                                   description='Lets its holders pass RAM role %s to ECS instances.' % self.role_name)
            if plan.attach:
                retry_codes = _NEW_POLICY_RETRY_CODES if policy_plan['action'] == 'create' else ()
                self.writer.write(_attach_change(self.grantee_label), ram_api.attach_policy, self.ram, self.kind, self.grantee,
                                  self.policy_name, POLICY_TYPE, retry_codes=retry_codes, settle=self._attached_now)
            return
        if plan.detach:
            self.writer.write(_detach_change(self.grantee_label), ram_api.detach_policy, self.ram, self.kind, self.grantee,
                              self.policy_name, POLICY_TYPE, settle=lambda: not self._attached_now())
        if plan.delete:
            self.writer.write(_delete_change(self.policy_name), delete_custom_policy, self.ram, self.policy_name,
                              settle=lambda: ram_api.get_policy(self.ram, self.policy_name, POLICY_TYPE) is None)

    # -- result and diff ---------------------------------------------------------------------

    def result(self, current, plan):
        view = self.view
        values = self._identity(role_arn=current['role_arn'], attached=view.get('attached', False),
                                policy_document=view.get('policy_document'))
        if self.present:
            values['policy_action'] = plan.policy_plan['action']
        else:
            values['policy_deleted'] = bool(plan.delete) and view.get('policy_document') is None
            values['policy_used_by'] = sorted(current['others'])
        return values

    def diff_view(self, view, plan):
        return self._identity(attached=view.get('attached', False), policy_document=view.get('policy_document'))

    def _identity(self, **values):
        """``values`` plus the grantee option given and the policy name."""
        values[self.grantee_option] = self.grantee
        values['policy_name'] = self.policy_name
        return values
