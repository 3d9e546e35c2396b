# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Let a RAM user pass an instance RAM role: the resource class of ``ram_user_role_grant``.

The grant is one custom policy (``ram:PassRole`` on the role's ARN, plus optional ECS actions)
attached to the user. Every decision is made from reads first, so check mode predicts exactly
what a real run writes, and a second run makes no write call.
"""

from ansible_collections.alicloud.ram.plugins.module_utils import ram as ram_utils
from ansible_collections.alicloud.ram.plugins.module_utils.custom_policy import (
    apply_custom_policy_plan,
    delete_custom_policy,
    plan_custom_policy,
    read_custom_policy,
)
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.policy import (
    PolicyDocumentError,
    normalize_policy,
    validate_policy_document,
)

PASS_ROLE_ACTION = 'ram:PassRole'
INSTANCE_MANAGEMENT_ACTIONS = (
    'ecs:AttachInstanceRamRole',
    'ecs:DetachInstanceRamRole',
    'ecs:DescribeInstanceRamRole',
    'ecs:DescribeInstances',
)
POLICY_NAME_PREFIX = 'PassRole-'
POLICY_TYPE = 'Custom'
# Stands for the account id in the ARN predicted, in check mode, for a role that does not exist yet.
ACCOUNT_ID_PLACEHOLDER = '<account-id>'

# Answers to DetachPolicyFromUser that mean "already detached".
_DETACHED_CODES = ('EntityNotExist.User.Policy', 'EntityNotExist.User', 'EntityNotExist.Policy')
# Answers to AttachPolicyToUser that mean "already attached".
_ATTACHED_CODES = ('EntityAlreadyExists.User.Policy',)
# Right after CreatePolicy the new policy may not be visible to the attach call yet.
_NEW_POLICY_RETRY_CODES = ('EntityNotExist.Policy',)


def default_policy_name(role_name):
    """``PassRole-<role name>``, periods replaced by hyphens (policy names allow no periods)."""
    return POLICY_NAME_PREFIX + role_name.replace('.', '-')


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


def validate_params(params):
    """Error message for the first invalid option, or None. Runs before any API call."""
    errors = [
        ram_utils.validate_user_name(params.get('user_name')),
        ram_utils.validate_role_name(params.get('role_name')),
    ]
    if params.get('policy_name') is not None:
        errors.append(ram_utils.validate_policy_name(params.get('policy_name')))
    for error in errors:
        if error:
            return error
    return None


def _same_name(a, b):
    # RAM user and policy names are case-insensitive.
    return (a or '').lower() == (b or '').lower()


class UserRoleGrant(object):
    """Ensure (or remove) the PassRole policy of one role on one RAM user."""

    def __init__(self, module, client=None):
        self.module = module
        self.params = module.params
        self._client = client
        self.user_name = self.params['user_name']
        self.role_name = self.params['role_name']
        self.policy_name = self.params.get('policy_name') or default_policy_name(self.role_name or '')

    @property
    def client(self):
        if self._client is None:
            self._client = self.module.client('ram')
        return self._client

    # -- entry point -------------------------------------------------------------------------

    def run(self):
        error = validate_params(dict(self.params, policy_name=self.policy_name))
        if error:
            self.module.fail_json(msg=error)
        try:
            if self.params.get('state') == 'absent':
                result = self.ensure_absent()
            else:
                result = self.ensure_present()
        except AlicloudApiError as err:
            self.module.fail_api(err, self._operation(err))
        self.module.exit_json(**result)

    def _operation(self, err):
        what = {
            'GetUser': 'read RAM user %s' % self.user_name,
            'GetRole': 'read RAM role %s' % self.role_name,
            'ListPoliciesForUser': 'list the policies of RAM user %s' % self.user_name,
            'AttachPolicyToUser': 'attach policy %s to RAM user %s' % (self.policy_name, self.user_name),
            'DetachPolicyFromUser': 'detach policy %s from RAM user %s' % (self.policy_name, self.user_name),
            'ListEntitiesForPolicy': 'list the users, groups and roles using policy %s' % self.policy_name,
            'CreatePolicy': 'create policy %s' % self.policy_name,
            'CreatePolicyVersion': 'create a new version of policy %s' % self.policy_name,
            'DeletePolicyVersion': 'delete a version of policy %s' % self.policy_name,
            'SetDefaultPolicyVersion': 'set the default version of policy %s' % self.policy_name,
            'DeletePolicy': 'delete policy %s' % self.policy_name,
        }
        return what.get(err.action, '%s for policy %s' % (err.action or 'API call', self.policy_name))

    # -- reads -------------------------------------------------------------------------------

    def _read_policy(self):
        """(exists, normalised default document or None) of the grant's custom policy."""
        # An unreadable stored document does not stop a revoke; it is only shown as unknown.
        try:
            policy, document = read_custom_policy(self.client, self.policy_name)
        except PolicyDocumentError:
            return True, None
        try:
            return policy is not None, (normalize_policy(document) if document else None)
        except (PolicyDocumentError, TypeError, ValueError):
            return policy is not None, None

    def _attached_to_user(self):
        policies = ram_utils.list_policies_for_user(self.client, self.user_name)
        return any(p.get('PolicyType') == POLICY_TYPE and _same_name(p.get('PolicyName'), self.policy_name) for p in policies)

    def _policy_users_elsewhere(self):
        """(this user holds the policy, names of the other users/groups/roles holding it)."""
        body = self.client.call_or_none('ListEntitiesForPolicy', {'PolicyName': self.policy_name, 'PolicyType': POLICY_TYPE})
        if body is None:
            return False, []
        holds, others = False, []
        for user in ram_utils.as_list(ram_utils.dig(body, ('Users', 'User'))):
            if _same_name(user.get('UserName'), self.user_name):
                holds = True
            else:
                others.append('user %s' % user.get('UserName'))
        others.extend('group %s' % g.get('GroupName') for g in ram_utils.as_list(ram_utils.dig(body, ('Groups', 'Group'))))
        others.extend('role %s' % r.get('RoleName') for r in ram_utils.as_list(ram_utils.dig(body, ('Roles', 'Role'))))
        return holds, others

    # -- present -----------------------------------------------------------------------------

    def ensure_present(self):
        user = ram_utils.get_user(self.client, self.user_name)
        if user is None:
            self.module.fail_json(msg='RAM user %s does not exist; create it before granting it role %s' % (self.user_name, self.role_name))
        role = ram_utils.get_role(self.client, self.role_name)
        if role is None and not self.module.check_mode:
            self.module.fail_json(msg='RAM role %s does not exist; create it before granting it to user %s' % (self.role_name, self.user_name))
        if role is None:
            # check mode: an earlier task of the play would create the role; predict the grant of its future ARN
            self.module.warn('role %s does not exist yet; predicting as if an earlier task creates it' % self.role_name)
            role_arn, resource_arn = None, predicted_role_arn(self.role_name)
        else:
            role_arn = resource_arn = role.get('Arn')
            if not role_arn:
                self.module.fail_json(msg='GetRole returned no ARN for RAM role %s' % self.role_name)

        wanted = pass_role_policy(resource_arn, self.params.get('allow_instance_management', True))
        try:
            validate_policy_document(wanted)
        except PolicyDocumentError as err:
            self.module.fail_json(msg='policy %s: %s' % (self.policy_name, err))

        try:
            plan = plan_custom_policy(self.client, self.policy_name, wanted)
        except PolicyDocumentError as err:
            self.module.fail_json(msg='policy %s has a version that cannot be read: %s' % (self.policy_name, err))
        # A policy that does not exist yet cannot be attached to anyone.
        attached = plan['action'] != 'create' and self._attached_to_user()
        changed = plan['action'] != 'none' or not attached

        if changed and not self.module.check_mode:
            apply_custom_policy_plan(self.client, self.policy_name, plan, description=self._description())
            if not attached:
                self._attach(just_created=plan['action'] == 'create')

        result = self._result(changed, role_arn, wanted, attached=True)
        result['policy_action'] = plan['action']
        if self.module._diff:
            result['diff'] = {
                'before': self._diff_state(attached, plan['before']),
                'after': self._diff_state(True, wanted),
            }
        return result

    def _description(self):
        return 'Lets its holders pass RAM role %s to ECS instances.' % self.role_name

    def _attach(self, just_created):
        params = {'PolicyType': POLICY_TYPE, 'PolicyName': self.policy_name, 'UserName': self.user_name}
        try:
            self.client.call('AttachPolicyToUser', params, retry_codes=_NEW_POLICY_RETRY_CODES if just_created else ())
        except AlicloudApiError as err:
            if err.code not in _ATTACHED_CODES:
                raise

    # -- absent ------------------------------------------------------------------------------

    def ensure_absent(self):
        # Neither the user nor the role has to exist: what is left of the grant is removed.
        role = ram_utils.get_role(self.client, self.role_name)
        role_arn = role.get('Arn') if role else None
        exists, document = self._read_policy()
        attached, others = (False, [])
        if exists:
            attached, others = self._policy_users_elsewhere()
        delete_policy = exists and not others
        changed = attached or delete_policy

        if changed and not self.module.check_mode:
            if attached:
                self.client.call_or_none('DetachPolicyFromUser',
                                         {'PolicyType': POLICY_TYPE, 'PolicyName': self.policy_name, 'UserName': self.user_name},
                                         missing_codes=_DETACHED_CODES)
            if delete_policy:
                delete_custom_policy(self.client, self.policy_name)

        after_document = None if delete_policy else document
        result = self._result(changed, role_arn, after_document, attached=False)
        result['policy_deleted'] = bool(delete_policy)
        result['policy_used_by'] = sorted(others)
        if self.module._diff:
            result['diff'] = {
                'before': self._diff_state(attached, document),
                'after': self._diff_state(False, after_document),
            }
        return result

    # -- results -----------------------------------------------------------------------------

    def _result(self, changed, role_arn, document, attached):
        return {
            'changed': changed,
            'user_name': self.user_name,
            'role_arn': role_arn,
            'policy_name': self.policy_name,
            'policy_document': document,
            'attached': attached,
        }

    def _diff_state(self, attached, document):
        return {
            'user_name': self.user_name,
            'policy_name': self.policy_name,
            'attached': attached,
            'policy_document': document,
        }
