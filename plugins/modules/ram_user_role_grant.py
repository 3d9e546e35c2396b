#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ram_user_role_grant
short_description: Authorize a RAM user to pass an instance RAM role to ECS instances
version_added: 0.1.0
description:
  - Ensures that a RAM user holds a custom policy that allows C(ram:PassRole) on exactly one RAM role,
    identified by the ARN that C(GetRole) returns (C(acs:ram::<account>:role/<name>)), never on C(*).
  - With O(allow_instance_management=true) the same policy also allows C(ecs:AttachInstanceRamRole),
    C(ecs:DetachInstanceRamRole), C(ecs:DescribeInstanceRamRole) and C(ecs:DescribeInstances) on C(*),
    so that the user can attach the role to instances, detach it and look at the result.
  - The policy document is compared after normalisation (key order, a string versus a one-item list,
    whitespace), so an equal document is never rewritten. A changed document becomes a new default version
    of the policy; when the policy already has 5 versions, the oldest non-default version is deleted first.
    An older version equal to the wanted document is made the default instead of creating a new one.
  - Several users granted the same role share one policy, attached to each of them.
  - With O(state=absent) the policy is detached from the user; it is then deleted, with all its versions,
    when no other user, group or role uses it.
  - All options are validated before the first API call; an unknown user or role is an error before anything
    is written (except a role that does not exist yet in check mode, see O(role_name)).
author:
  - alicloud.ram maintainers (@alicloud-ram)
options:
  user_name:
    description:
      - Name of the RAM user to authorize.
      - 1 to 64 characters, letters, digits, periods (V(.)), underscores (V(_)) and hyphens (V(-)).
      - With O(state=present) the user must exist.
    type: str
    required: true
  role_name:
    description:
      - Name of the RAM role (normally an instance RAM role) the user may pass to ECS instances.
      - 1 to 64 characters, letters, digits, periods (V(.)) and hyphens (V(-)).
      - With O(state=present) the role must exist; a missing role fails the task before any change.
      - In check mode only, a role that does not exist yet is treated as created by an earlier task of the play;
        the grant is predicted as created, with a warning. RV(role_arn) is then V(null), and RV(policy_document)
        names the ARN the role would get, C(acs:ram::<account-id>:role/<role name in lower case>), with the
        literal placeholder C(<account-id>) because the account id is not known from the module's reads.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the policy and attaches it to the user.
      - V(absent) detaches the policy from the user, then deletes the policy when no other user, group or role
        uses it (even when it was not attached to this user, so a policy left unused by an interrupted run is
        cleaned up).
      - V(absent) succeeds when the user or the role no longer exists; it then removes what is left of the
        grant (for example a policy nobody uses any more) and reports no change when nothing is left.
    type: str
    choices: [present, absent]
    default: present
  policy_name:
    description:
      - Name of the custom policy that holds the grant.
      - Defaults to V(PassRole-<role_name>) with every period in the role name replaced by a hyphen, because
        policy names allow only letters, digits and hyphens (1 to 128 characters). For example role
        V(web.app) gives V(PassRole-web-app).
      - When a custom policy of this name already exists, its default version is made to match the grant.
    type: str
  allow_instance_management:
    description:
      - Also allow the ECS actions needed to attach the role to instances, detach it and describe the result
        (C(ecs:AttachInstanceRamRole), C(ecs:DetachInstanceRamRole), C(ecs:DescribeInstanceRamRole),
        C(ecs:DescribeInstances) on C(*)).
      - V(false) grants only C(ram:PassRole) on the role, for users that get ECS permissions elsewhere.
    type: bool
    default: true
extends_documentation_fragment:
  - alicloud.ram.common
  - alicloud.ram.attributes
notes:
  - RAM user, role and policy names are case-insensitive; the role ARN is used exactly as C(GetRole) returns it.
  - Only custom policies are managed; the policy description is set when the policy is created.
seealso:
  - name: Authorize a RAM user to manage an instance RAM role
    description: The Alibaba Cloud procedure this module automates.
    link: https://www.alibabacloud.com/help/en/ecs/user-guide/authorize-a-ram-user-to-manage-an-instance-ram-role
'''

EXAMPLES = r'''
- name: Let alice attach the web role to instances
  alicloud.ram.ram_user_role_grant:
    user_name: alice
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

- name: Revoke the grant (the policy is deleted once nobody uses it)
  alicloud.ram.ram_user_role_grant:
    user_name: alice
    role_name: web-instance-role
    state: absent
'''

RETURN = r'''
user_name:
  description: The RAM user.
  returned: always
  type: str
  sample: alice
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
  description: Whether the policy is attached to the user after the run.
  returned: always
  type: bool
  sample: true
policy_action:
  description:
    - What was done (or, in check mode, would be done) to the policy itself.
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
  description: The other users, groups and roles still using the policy, which is why it was kept.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: ['user bob']
'''

from ansible_collections.alicloud.ram.plugins.module_utils.module import AlicloudModule
from ansible_collections.alicloud.ram.plugins.module_utils.user_grant import UserRoleGrant


def argument_spec():
    return dict(
        user_name=dict(type='str', required=True),
        role_name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        policy_name=dict(type='str'),
        allow_instance_management=dict(type='bool', default=True),
    )


def main():
    module = AlicloudModule(argument_spec=argument_spec(), services=('ram',), supports_check_mode=True)
    UserRoleGrant(module).run()


if __name__ == '__main__':
    main()
