#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ram_instance_role
short_description: Manage a RAM role that ECS instances can assume
version_added: 0.1.0
description:
  - Create, update or delete an Alibaba Cloud RAM role meant to be attached to ECS instances
    (an I(instance RAM role)).
  - Drift in the trust policy, description or maximum session duration is fixed in place with one
    C(UpdateRole) call carrying only the changed fields; the role is never deleted and re-created,
    so its role ID stays the same.
  - Trust policies are compared after normalisation (key order, whitespace, a string versus a
    one-element list, statement order), so an equivalent document never reports a change.
  - A run that changes nothing makes no write call. It reads the role (C(GetRole)), its attached
    policies (C(ListPoliciesForRole)) and its tags (C(ListTagResources)).
  - Use M(alicloud.ram.ram_role_policy) to attach policies to the role and
    M(alicloud.ram.ecs_instance_role_attachment) to attach it to instances.
author:
  - alicloud.ram maintainers (@alicloud-ram)
options:
  name:
    description:
      - Name of the role, 1 to 64 characters; letters, digits, periods (C(.)) and hyphens (C(-)).
      - RAM role names are case-insensitive.
    type: str
    required: true
    aliases: [role_name]
  state:
    description:
      - V(present) creates or updates the role, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - Description of the role, 1 to 1024 characters.
      - When omitted, the description of an existing role is left as it is.
    type: str
  trusted_services:
    description:
      - Cloud services allowed to assume the role; the module builds the trust policy
        (C(sts:AssumeRole) allowed for these C(Service) principals).
      - When the role is created and neither this option nor O(assume_role_policy_document) is set,
        the role trusts V(ecs.aliyuncs.com).
      - When the role exists and neither option is set, its trust policy is left as it is.
        When this option is set and the role's trust policy differs, the trust policy is replaced.
      - Mutually exclusive with O(assume_role_policy_document).
    type: list
    elements: str
  assume_role_policy_document:
    description:
      - The whole trust policy, as a dictionary or a JSON string, for trust that O(trusted_services)
        cannot express (other principals, conditions).
      - At most 6144 characters once compacted. Each statement needs C(Effect), C(Action) and C(Principal).
      - Mutually exclusive with O(trusted_services).
    type: json
  max_session_duration:
    description:
      - Maximum session duration of the role's temporary credentials, from 3600 to 43200 seconds.
      - When omitted, an existing role keeps its value and a new role gets 3600.
    type: int
  tags:
    description:
      - Tags of the role as a dictionary. Keys are 1 to 128 characters and must not start with
        C(acs:) or C(aliyun); values are up to 128 characters; at most 20 tags.
      - When omitted, the role's tags are left as they are.
    type: dict
  purge_tags:
    description:
      - With O(tags), remove the tags the role has that O(tags) does not list.
      - V(tags={}) with V(purge_tags=true) removes every tag.
    type: bool
    default: true
  force:
    description:
      - Only with O(state=absent). A role that still has attached policies, or is held by ECS instances in any
        region of the account, is not deleted unless O(force=true); the task fails naming the policies, and each
        instance with its region.
      - With O(force=true) the role is first detached from those instances, each in its own region (in batches of
        100, several batches at a time), then its policies are detached, then it is deleted. A policy attached by
        someone else meanwhile is detached too (the deletion is tried at most three times).
    type: bool
    default: false
notes:
  - Tags are read with C(ListTagResources); where the service does not offer that API, they are read from the
    C(ListRoles) pages instead.
  - A RAM role is global. With O(state=absent), the instances holding the role are looked up in every region ECS
    offers the account (DescribeRegions, then DescribeInstanceRamRole by role name per region, several regions at a
    time), whatever O(region) says; the credentials need C(ecs:DescribeRegions) and C(ecs:DescribeInstanceRamRole).
  - In check mode, creating a role returns the role as it would be created, without the fields only the
    service can assign (C(role_id), C(arn), C(create_date), C(update_date)). Updating a role in check mode
    returns the role with its changes applied and its current C(update_date).
  - If another run creates the same role between this module's read and its create, the module converges
    the existing role instead of failing, and reports only its own changes.
  - A write whose answer was lost (the connection dropped after the service carried it out) is recognised when
    the retry meets "already exists" (C(CreateRole)) or "does not exist" (C(DeleteRole)), and counts as done.
  - A task that fails after a write reports C(changed=true), what it detached, and RV(role) as the writes left it.
extends_documentation_fragment:
  - alicloud.ram.common
  - alicloud.ram.attributes
  - alicloud.ram.requirements
seealso:
  - module: alicloud.ram.ram_instance_role_info
  - module: alicloud.ram.ram_role_policy
  - module: alicloud.ram.ecs_instance_role_attachment
  - ref: ansible_collections.alicloud.ram.docsite.awx
    description: Running the collection from AWX or Ansible Automation Platform (execution environment, credential type, job templates).
'''

EXAMPLES = r'''
- name: Create a role that ECS instances can assume
  alicloud.ram.ram_instance_role:
    name: app-server
    description: Role of the application servers
    max_session_duration: 7200
    tags:
      team: payments
      env: prod

- name: Let ECS and Function Compute assume the role
  alicloud.ram.ram_instance_role:
    name: app-server
    trusted_services:
      - ecs.aliyuncs.com
      - fc.aliyuncs.com

- name: Set the whole trust policy
  alicloud.ram.ram_instance_role:
    name: app-server
    assume_role_policy_document:
      Version: "1"
      Statement:
        - Effect: Allow
          Action: sts:AssumeRole
          Principal:
            Service: [ecs.aliyuncs.com]

- name: Add a tag without removing the others
  alicloud.ram.ram_instance_role:
    name: app-server
    tags:
      cost-center: "42"
    purge_tags: false

- name: Delete the role, detaching its policies and instances first
  alicloud.ram.ram_instance_role:
    name: app-server
    state: absent
    force: true
    region: cn-hangzhou
'''

RETURN = r'''
role:
  description:
    - The role after the task. An empty dictionary when the role is absent.
    - In check mode, a role that would be created has no C(role_id), C(arn), C(create_date) or C(update_date).
  returned: always
  type: dict
  contains:
    role_name:
      description: Name of the role.
      type: str
      returned: when the role exists
      sample: app-server
    role_id:
      description: ID of the role.
      type: str
      returned: when the role exists, except in check mode when it would be created
      sample: "300000000000000001"
    arn:
      description: ARN of the role.
      type: str
      returned: when the role exists, except in check mode when it would be created
      sample: acs:ram::1234567890123456:role/app-server
    description:
      description: Description of the role (empty when none).
      type: str
      returned: when the role exists
      sample: Role of the application servers
    assume_role_policy_document:
      description: The trust policy, parsed.
      type: dict
      returned: when the role exists
      sample: {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["ecs.aliyuncs.com"]}}],
               "Version": "1"}
    max_session_duration:
      description: Maximum session duration in seconds.
      type: int
      returned: when the role exists
      sample: 3600
    create_date:
      description: When the role was created (UTC).
      type: str
      returned: when the role exists, except in check mode when it would be created
      sample: "2024-05-01T08:00:00Z"
    update_date:
      description: When the role was last updated (UTC).
      type: str
      returned: when the role exists, except in check mode when it would be created
      sample: "2024-05-02T08:00:00Z"
    tags:
      description: Tags of the role.
      type: dict
      returned: when the role exists
      sample: {"team": "payments"}
    attached_policies:
      description:
        - Policies attached to the role, sorted by type then name.
        - Each item carries the name and type twice, as C(name)/C(type) and as C(policy_name)/C(policy_type).
      type: list
      elements: dict
      returned: when the role exists
      contains:
        name:
          description: Policy name, as RAM spells it.
          type: str
        type:
          description: V(System) or V(Custom).
          type: str
        policy_name:
          description: Same as C(name).
          type: str
        policy_type:
          description: Same as C(type).
          type: str
      sample: [{"name": "AliyunOSSReadOnlyAccess", "type": "System", "policy_name": "AliyunOSSReadOnlyAccess", "policy_type": "System"}]
detached_policies:
  description:
    - With O(state=absent), the policies this task detached before deletion (predicted in check mode).
      Empty otherwise.
    - Each item carries the name and type twice, as C(name)/C(type) and as C(policy_name)/C(policy_type).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "AliyunOSSReadOnlyAccess", "type": "System", "policy_name": "AliyunOSSReadOnlyAccess", "policy_type": "System"}]
  contains:
    name:
      description: Policy name.
      type: str
    type:
      description: V(System) or V(Custom).
      type: str
    policy_name:
      description: Same as C(name).
      type: str
    policy_type:
      description: Same as C(type).
      type: str
detached_instance_ids:
  description:
    - With O(state=absent), the instances this task detached the role from before deletion (predicted in check mode).
      Empty otherwise.
  returned: always
  type: list
  elements: str
  sample: [i-bp1abcdefghijklmnopq]
instance_ids:
  description: The instances holding the role, in any region, when its deletion was refused because O(force) is not set.
  returned: when the deletion was refused
  type: list
  elements: str
  sample: [i-bp1abcdefghijklmnopq]
holders:
  description: The instances holding the role, by region, when its deletion was refused because O(force) is not set.
  returned: when the deletion was refused
  type: dict
  sample: {"cn-beijing": ["i-2ze1abcdefghijklmnop"], "cn-hangzhou": ["i-bp1abcdefghijklmnopq"]}
  version_added: 0.2.0
attached_policies:
  description: The policies attached to the role, when its deletion was refused because O(force) is not set.
  returned: when the deletion was refused
  type: list
  elements: dict
  sample: [{"name": "AliyunOSSReadOnlyAccess", "type": "System", "policy_name": "AliyunOSSReadOnlyAccess", "policy_type": "System"}]
failed_instances:
  description: With O(force=true), the instances the role could not be detached from (the role is then not deleted).
  returned: when detaching the role from instances failed
  type: list
  elements: dict
  contains:
    instance_id:
      description: ID of the instance.
      type: str
    code:
      description: Error code of the service.
      type: str
    message:
      description: Error message of the service.
      type: str
    request_id:
      description: ID of the request that failed.
      type: str
regions_checked:
  description: The regions searched for instances holding the role before its deletion.
  returned: when O(state=absent) and the role existed
  type: list
  elements: str
  sample: [cn-hangzhou, cn-beijing]
  version_added: 0.2.0
'''

from ansible_collections.alicloud.ram.plugins.module_utils.instance_role import InstanceRole
from ansible_collections.alicloud.ram.plugins.module_utils.module import AlicloudModule

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True, aliases=['role_name']),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    description=dict(type='str'),
    trusted_services=dict(type='list', elements='str'),
    assume_role_policy_document=dict(type='json'),
    max_session_duration=dict(type='int'),
    tags=dict(type='dict'),
    purge_tags=dict(type='bool', default=True),
    force=dict(type='bool', default=False),
)


def main():
    module = AlicloudModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[('trusted_services', 'assume_role_policy_document')],
        supports_check_mode=True,
    )
    InstanceRole(module).run()


if __name__ == '__main__':
    main()
