#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ram_user_role_grant
short_description: Authorize a RAM user, group or role to pass an instance RAM role to ECS instances
version_added: 0.1.0
description:
  - Ensures that a grantee (a RAM user, a RAM group or a RAM role) holds a custom policy that allows
    C(ram:PassRole) on exactly one RAM role, identified by the ARN that C(GetRole) returns
    (C(acs:ram::<account>:role/<name>)), never on C(*).
  - Give exactly one grantee, O(user_name), O(group_name) or O(grantee_role_name).
  - With O(allow_instance_management=true) the same policy also allows C(ecs:AttachInstanceRamRole),
    C(ecs:DetachInstanceRamRole), C(ecs:DescribeInstanceRamRole) and C(ecs:DescribeInstances) on C(*),
    so that the grantee can attach the role to instances, detach it and look at the result.
  - The policy document is compared after normalisation (key order, a string versus a one-item list,
    whitespace), so an equal document is never rewritten. A changed document becomes a new default version
    of the policy; when the policy already has 5 versions, the oldest non-default version is deleted first.
    An older version equal to the wanted document is made the default instead of creating a new one.
  - Several grantees of the same role share one policy, attached to each of them.
  - A policy that already exists with another document is made to match the grant only when no principal
    other than this grantee holds it (it is attached to nobody, or only to this grantee). When another user,
    group or role holds it, the task fails before any change, naming the policy and where it is attached;
    such a policy is never rewritten under them.
  - With O(state=absent) the policy is detached from the grantee; it is then deleted, with all its versions,
    when no other user, group or role uses it.
  - All options are validated before the first API call; an unknown grantee or role is an error before anything
    is written (except, in check mode, one that does not exist yet, see O(role_name)).
author:
  - alicloud.ram maintainers (@alicloud-ram)
options:
  user_name:
    description:
      - Name of the RAM user to authorize.
      - 1 to 64 characters, letters, digits, periods (V(.)), underscores (V(_)) and hyphens (V(-)).
      - With O(state=present) the user must exist.
      - Exactly one of O(user_name), O(group_name) and O(grantee_role_name) is required.
    type: str
  group_name:
    description:
      - Name of the RAM group to authorize; every member of the group may then pass the role.
      - 1 to 64 characters, letters, digits, periods (V(.)) and hyphens (V(-)).
      - With O(state=present) the group must exist.
      - Exactly one of O(user_name), O(group_name) and O(grantee_role_name) is required.
    type: str
    version_added: 0.2.0
  grantee_role_name:
    description:
      - Name of a RAM role to authorize, for example the deployer role an AWX job template assumes; whoever
        assumes it may then pass O(role_name).
      - 1 to 64 characters, letters, digits, periods (V(.)) and hyphens (V(-)).
      - With O(state=present) the role must exist.
      - Exactly one of O(user_name), O(group_name) and O(grantee_role_name) is required.
    type: str
    version_added: 0.2.0
  role_name:
    description:
      - Name of the RAM role (normally an instance RAM role) the grantee may pass to ECS instances.
      - 1 to 64 characters, letters, digits, periods (V(.)) and hyphens (V(-)).
      - With O(state=present) the role must exist; a missing role fails the task before any change.
      - In check mode only, a role (or a grantee) that does not exist yet is treated as created by an earlier
        task of the play; the grant is predicted as created, with a warning. RV(role_arn) is then V(null), and
        RV(policy_document) names the ARN the role would get, C(acs:ram::<account-id>:role/<role name in lower case>),
        with the literal placeholder C(<account-id>) because the account id is not known from the module's reads.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the policy and attaches it to the grantee.
      - V(absent) detaches the policy from the grantee, then deletes the policy when no other user, group or role
        uses it (even when it was not attached to this grantee, so a policy left unused by an interrupted run is
        cleaned up).
      - V(absent) succeeds when the grantee or the role no longer exists; it then removes what is left of the
        grant (for example a policy nobody uses any more) and reports no change when nothing is left.
    type: str
    choices: [present, absent]
    default: present
  policy_name:
    description:
      - Name of the custom policy that holds the grant (1 to 128 characters, letters, digits and hyphens).
      - The default is derived from the role name so that two different roles never get the same policy name.
        Role names are case-insensitive, so the role name is taken in lower case. A role name without a period
        gives V(PassRole-<role name>), for example V(web-app) gives V(PassRole-web-app). A role name with
        periods gives V(PassRoleDot-<role name with periods as hyphens>-<hex>), where C(<hex>) is the hexadecimal
        number whose binary digits, one per period or hyphen of the role name from left to right, are 1 for a
        period and 0 for a hyphen; for example V(web.app) gives V(PassRoleDot-web-app-1) and V(web.app-v2) gives
        V(PassRoleDot-web-app-v2-2). The two forms never meet (the ninth character differs), and the number
        tells which separators were periods, so the default name is at most 93 characters and never shared
        by two roles.
      - When a custom policy of this name already exists with another document, it is made to match the grant
        only when nothing but this grantee holds it; see the description.
    type: str
  allow_instance_management:
    description:
      - Also allow the ECS actions needed to attach the role to instances, detach it and describe the result
        (C(ecs:AttachInstanceRamRole), C(ecs:DetachInstanceRamRole), C(ecs:DescribeInstanceRamRole),
        C(ecs:DescribeInstances) on C(*)).
      - V(false) grants only C(ram:PassRole) on the role, for grantees that get ECS permissions elsewhere.
    type: bool
    default: true
extends_documentation_fragment:
  - alicloud.ram.common
  - alicloud.ram.attributes
  - alicloud.ram.requirements
notes:
  - RAM user, group, role and policy names are case-insensitive; the role ARN is used exactly as C(GetRole) returns it.
  - Only custom policies are managed; the policy description is set when the policy is created.
  - Before 0.2.0 the default policy name of a role with periods replaced them by hyphens, so roles V(app.web) and
    V(app-web) shared V(PassRole-app-web). Grants of such roles now use the V(PassRoleDot-) name; revoke the old
    policy with O(state=absent) and O(policy_name=PassRole-app-web) once the new grant is in place.
seealso:
  - name: Authorize a RAM user to manage an instance RAM role
    description: The Alibaba Cloud procedure this module automates.
    link: https://www.alibabacloud.com/help/en/ecs/user-guide/authorize-a-ram-user-to-manage-an-instance-ram-role
  - ref: ansible_collections.alicloud.ram.docsite.awx
    description: Running the collection from AWX or Ansible Automation Platform (execution environment, credential type, job templates).
'''

EXAMPLES = r'''
- name: Let alice attach the web role to instances
  alicloud.ram.ram_user_role_grant:
    user_name: alice
    role_name: web-instance-role

- name: Let every member of the operators group pass the role
  alicloud.ram.ram_user_role_grant:
    group_name: operators
    role_name: web-instance-role

- name: Let the role an AWX job assumes pass the role
  alicloud.ram.ram_user_role_grant:
    grantee_role_name: awx-deployer
    role_name: web-instance-role

- name: Only allow passing the role (ECS permissions come from elsewhere)
  alicloud.ram.ram_user_role_grant:
    user_name: deployer
    role_name: web-instance-role
    allow_instance_management: false

- name: Use a policy name of your own
  alicloud.ram.ram_user_role_grant:
    user_name: alice
    role_name: web-instance-role
    policy_name: AllowPassWebRole

- name: Revoke the group's grant (the policy is deleted once nobody uses it)
  alicloud.ram.ram_user_role_grant:
    group_name: operators
    role_name: web-instance-role
    state: absent
'''

RETURN = r'''
user_name:
  description: The RAM user.
  returned: when O(user_name) is given
  type: str
  sample: alice
group_name:
  description: The RAM group.
  returned: when O(group_name) is given
  type: str
  sample: operators
  version_added: 0.2.0
grantee_role_name:
  description: The RAM role granted the right to pass O(role_name).
  returned: when O(grantee_role_name) is given
  type: str
  sample: awx-deployer
  version_added: 0.2.0
role_arn:
  description:
    - ARN of the role, as C(GetRole) returns it.
    - V(null) with O(state=absent) when the role does not exist, and in check mode when the role does not exist yet
      (see O(role_name)).
  returned: always
  type: str
  sample: acs:ram::1234567890123456:role/web-instance-role
policy_name:
  description: Name of the custom policy holding the grant.
  returned: always
  type: str
  sample: PassRole-web-instance-role
policy_document:
  description:
    - The policy's default document, normalised (sorted keys, lists for C(Action) and C(Resource)).
    - With O(state=present), the document the policy has after the run (predicted in check mode; for a role that
      does not exist yet its C(ram:PassRole) resource carries the placeholder C(<account-id>), see O(role_name)).
    - With O(state=absent), the document of the policy that remains, or V(null) when it is deleted or did not exist.
  returned: always
  type: dict
  sample:
    Version: '1'
    Statement:
      - Effect: Allow
        Action: [ecs:AttachInstanceRamRole, ecs:DescribeInstanceRamRole, ecs:DescribeInstances, ecs:DetachInstanceRamRole]
        Resource: ['*']
      - Effect: Allow
        Action: [ram:PassRole]
        Resource: ['acs:ram::1234567890123456:role/web-instance-role']
attached:
  description:
    - Whether the policy is attached to the grantee after the run.
    - In a failed result, as far as the run got.
  returned: always
  type: bool
  sample: true
policy_action:
  description:
    - What the run does (or, in check mode, would do) to the policy itself.
    - V(none) nothing, V(create) new policy, V(create_version) new default version,
      V(set_default) an existing version equal to the wanted document became the default.
  returned: when O(state=present)
  type: str
  sample: create
policy_deleted:
  description: Whether the policy was (or, in check mode, would be) deleted.
  returned: when O(state=absent)
  type: bool
  sample: true
policy_used_by:
  description:
    - The other users, groups and roles holding the policy (C(user <name>), C(group <name>), C(role <name>)).
    - With O(state=absent), why the policy was kept; in a failed result of O(state=present), why it was not rewritten.
  returned: when O(state=absent), and when an existing policy is refused
  type: list
  elements: str
  sample: ['user bob']
created_policies:
  description: The policy, when this run created it (check mode - would create it). Also in a failed result.
  returned: always
  type: list
  elements: str
  sample: [PassRole-web-instance-role]
  version_added: 0.2.0
updated_policies:
  description:
    - The policy, when this run gave it a new default version (check mode - would). Also in a failed result.
  returned: always
  type: list
  elements: str
  sample: []
  version_added: 0.2.0
attached_to:
  description:
    - The grantee (C(user <name>), C(group <name>) or C(role <name>)) when this run attached the policy to it
      (check mode - would attach). Also in a failed result.
  returned: always
  type: list
  elements: str
  sample: [user alice]
  version_added: 0.2.0
detached_from:
  description: The grantee when this run detached the policy from it (check mode - would detach). Also in a failed result.
  returned: always
  type: list
  elements: str
  sample: []
  version_added: 0.2.0
deleted_policies:
  description: The policy, when this run deleted it (check mode - would delete it). Also in a failed result.
  returned: always
  type: list
  elements: str
  sample: []
  version_added: 0.2.0
'''

from ansible_collections.alicloud.ram.plugins.module_utils.module import AlicloudModule
from ansible_collections.alicloud.ram.plugins.module_utils.user_grant import RoleGrant

GRANTEE_OPTIONS = ('user_name', 'group_name', 'grantee_role_name')


def argument_spec():
    return dict(
        user_name=dict(type='str'),
        group_name=dict(type='str'),
        grantee_role_name=dict(type='str'),
        role_name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        policy_name=dict(type='str'),
        allow_instance_management=dict(type='bool', default=True),
    )


def main():
    module = AlicloudModule(argument_spec=argument_spec(), services=('ram',), supports_check_mode=True,
                            mutually_exclusive=[GRANTEE_OPTIONS], required_one_of=[GRANTEE_OPTIONS])
    RoleGrant(module).run()


if __name__ == '__main__':
    main()
