# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Let a RAM user, group or role pass an instance RAM role: the resource of ``ram_user_role_grant``.

The grant is one custom policy (``ram:PassRole`` on the role's ARN, plus optional ECS actions)
attached to the grantee. Every decision is made from reads first, so check mode predicts exactly
what a real run writes, and a second run makes no write call.
"""

from ansible_collections.alicloud.ram.plugins.module_utils import ram as ram_utils
from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.custom_policy import (
    apply_custom_policy_plan,
    delete_custom_policy,
    plan_custom_policy,
    read_custom_policy,
)
from ansible_collections.alicloud.ram.plugins.module_utils.policy import (
    PolicyDocumentError,
    normalize_policy,
    validate_policy_document,
)
from ansible_collections.alicloud.ram.plugins.module_utils.resource import InputError, Resource

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


def _normalized_or_none(document):
    try:
        return normalize_policy(document) if document else None
    except (TypeError, ValueError):
        return None


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
        self.progress = set()

    @property
    def grantee_label(self):
        return principal_label(self.kind, self.grantee)

    # -- validate ----------------------------------------------------------------------------

    def validate(self):
        if self.grantee is None:
            raise InputError('one of user_name, group_name or grantee_role_name is required')
        error = self.validate_grantee(self.grantee) or ram_utils.validate_role_name(self.role_name)
        if not error and self.params.get('policy_name') is not None:
            error = ram_utils.validate_policy_name(self.params['policy_name'])
        if error:
            raise InputError(error)
        self.policy_name = self.params.get('policy_name') or default_policy_name(self.role_name)

    # -- read --------------------------------------------------------------------------------

    def read(self):
        return self._read_present() if self.present else self._read_absent()

    def _read_present(self):
        if ram_api.get_principal(self.ram, self.kind, self.grantee) is None:
            self._missing_in_check_mode('RAM %s %s does not exist; create it before granting it role %s'
                                        % (self.kind, self.grantee, self.role_name),
                                        '%s %s does not exist yet' % (self.kind, self.grantee))
        role = ram_api.get_role(self.ram, self.role_name)
        if role is None:
            self._missing_in_check_mode('RAM role %s does not exist; create it before granting it to %s'
                                        % (self.role_name, self.grantee_label),
                                        'role %s does not exist yet' % self.role_name)
            role_arn, resource_arn = None, predicted_role_arn(self.role_name)
        else:
            role_arn = resource_arn = role.get('Arn')
            if not role_arn:
                raise InputError('GetRole returned no ARN for RAM role %s' % self.role_name)
        wanted = pass_role_policy(resource_arn, self.params['allow_instance_management'])
        try:
            validate_policy_document(wanted)
            policy_plan = plan_custom_policy(self.ram, self.policy_name, wanted)
        except PolicyDocumentError as err:
            raise InputError('policy %s: %s' % (self.policy_name, err))
        current = dict(role_arn=role_arn, wanted=wanted, policy_plan=policy_plan, document=policy_plan['before'])
        current.update(self._holders(policy_plan['exists']))
        return current

    def _missing_in_check_mode(self, message, warning):
        """A missing grantee or role fails a real run; check mode predicts as if an earlier task creates it."""
        if not self.check_mode:
            raise InputError(message, **self._identity())
        self.warn('%s; predicting as if an earlier task creates it' % warning)

    def _read_absent(self):
        # Neither the grantee nor the role has to exist: what is left of the grant is removed.
        role = ram_api.get_role(self.ram, self.role_name)
        # an unreadable stored document does not stop a revoke; it is only shown as unknown (None)
        policy, document = read_custom_policy(self.ram, self.policy_name)
        current = dict(role_arn=role.get('Arn') if role else None, document=_normalized_or_none(document))
        current.update(self._holders(policy is not None))
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

    def plan(self, current):
        if not self.present:
            return dict(detach=current['attached'], delete=current['exists'] and not current['others'])
        action = current['policy_plan']['action']
        if action != 'none' and current['exists'] and current['others']:
            raise InputError('policy %s already exists with another document and is attached to %s: it is not rewritten '
                             'under them; choose another policy_name' % (self.policy_name, ', '.join(current['others'])),
                             **self._identity(role_arn=current['role_arn'], policy_used_by=sorted(current['others'])))
        return dict(policy_action=action, policy_plan=current['policy_plan'], attach=not current['attached'])

    # -- apply -------------------------------------------------------------------------------

    def apply(self, plan):
        if self.present:
            self._apply_present(plan)
        else:
            self._apply_absent(plan)

    def _apply_present(self, plan):
        if plan['policy_action'] != 'none':
            if self.check_mode:
                self._record_policy_write('created' if plan['policy_action'] == 'create' else 'updated')
            else:
                # each write inside (create, or delete an old version then add one) is recorded as it happens
                apply_custom_policy_plan(self.ram, self.policy_name, plan['policy_plan'], on_write=self._record_policy_write,
                                         description='Lets its holders pass RAM role %s to ECS instances.' % self.role_name)
        self.progress.add('policy')
        if plan['attach']:
            retry_codes = _NEW_POLICY_RETRY_CODES if plan['policy_action'] == 'create' else ()
            self.write('attached_to', self.grantee_label, ram_api.attach_policy, self.ram, self.kind, self.grantee,
                       self.policy_name, POLICY_TYPE, retry_codes=retry_codes)
        self.progress.add('attach')

    def _record_policy_write(self, kind):
        self.record('created_policies' if kind == 'created' else 'updated_policies', self.policy_name)

    def _apply_absent(self, plan):
        if plan['detach']:
            self.write('detached_from', self.grantee_label, ram_api.detach_policy, self.ram, self.kind, self.grantee,
                       self.policy_name, POLICY_TYPE)
        self.progress.add('detach')
        if plan['delete']:
            self.write('deleted_policies', self.policy_name, delete_custom_policy, self.ram, self.policy_name)
            self.progress.add('delete')

    # -- result and diff ---------------------------------------------------------------------

    def result(self, current, plan):
        values = self._identity(role_arn=current['role_arn'], **self._state_after(current))
        if self.present:
            values['policy_action'] = current['policy_plan']['action']
        else:
            values['policy_deleted'] = 'delete' in self.progress
            values['policy_used_by'] = sorted(current['others'])
        return values

    def _state_after(self, current):
        """``attached`` and ``policy_document`` as far as the run got (all of it on success)."""
        if self.present:
            return dict(attached=current['attached'] or 'attach' in self.progress,
                        policy_document=current['wanted'] if 'policy' in self.progress else current['document'])
        return dict(attached=current['attached'] and 'detach' not in self.progress,
                    policy_document=None if 'delete' in self.progress else current['document'])

    def diff(self, current, plan):
        before = dict(attached=current['attached'], policy_document=current['document'])
        return {'before': self._identity(**before), 'after': self._identity(**self._state_after(current))}

    def _identity(self, **values):
        """``values`` plus the grantee option given and the policy name."""
        values[self.grantee_option] = self.grantee
        values['policy_name'] = self.policy_name
        return values
