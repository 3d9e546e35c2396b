#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ram_instance_role_info
short_description: Read RAM roles that ECS instances can assume
version_added: 0.1.0
description:
  - Return RAM roles with their trust policy, attached policies and tags.
  - With O(name), reads that one role (C(GetRole)), with no listing.
  - Otherwise lists every role of the account (C(ListRoles), all pages, past 1000 roles), keeps those whose
    name starts with O(name_prefix), and reads each kept role (C(GetRole), for its trust policy, which the
    listing lacks) and its policies (C(ListPoliciesForRole)). Tags come from the listing.
  - Never changes anything.
author:
  - alicloud.ram maintainers (@alicloud-ram)
options:
  name:
    description:
      - Name of one role to read. No role is returned when it does not exist.
      - Mutually exclusive with O(name_prefix).
    type: str
    aliases: [role_name]
  name_prefix:
    description:
      - Only roles whose name starts with this prefix (compared case-insensitively, as RAM names are).
      - Mutually exclusive with O(name).
    type: str
  instance_roles_only:
    description:
      - Only roles whose trust policy lets ECS (V(ecs.aliyuncs.com)) assume them, that is roles that can be
        attached to instances. Also applies with O(name).
      - Set to V(false) to return every matching role; each carries RV(roles[].ecs_can_assume).
    type: bool
    default: true
extends_documentation_fragment:
  - alicloud.ram.common
  - alicloud.ram.attributes.INFO_MODULE
  - alicloud.ram.requirements
seealso:
  - module: alicloud.ram.ram_instance_role
  - ref: ansible_collections.alicloud.ram.docsite.awx
    description: Running the collection from AWX or Ansible Automation Platform (execution environment, credential type, job templates).
'''

EXAMPLES = r'''
- name: Read one role
  alicloud.ram.ram_instance_role_info:
    name: app-server
  register: app_role

- name: Every instance role whose name starts with app-
  alicloud.ram.ram_instance_role_info:
    name_prefix: app-
  register: app_roles

- name: Every role of the account, instance roles or not
  alicloud.ram.ram_instance_role_info:
    instance_roles_only: false
  register: all_roles

- name: Show the names of roles ECS cannot assume
  ansible.builtin.debug:
    msg: "{{ all_roles.roles | rejectattr('ecs_can_assume') | map(attribute='role_name') | list }}"
'''

RETURN = r'''
roles:
  description: The matching roles, in the order the service lists them.
  returned: always
  type: list
  elements: dict
  contains:
    role_name:
      description: Name of the role.
      type: str
      sample: app-server
    role_id:
      description: ID of the role.
      type: str
      sample: "300000000000000001"
    arn:
      description: ARN of the role.
      type: str
      sample: acs:ram::1234567890123456:role/app-server
    description:
      description: Description of the role (empty when none).
      type: str
    assume_role_policy_document:
      description: The trust policy, parsed.
      type: dict
    max_session_duration:
      description: Maximum session duration in seconds.
      type: int
      sample: 3600
    create_date:
      description: When the role was created (UTC).
      type: str
    update_date:
      description: When the role was last updated (UTC).
      type: str
    tags:
      description: Tags of the role.
      type: dict
      sample: {"team": "payments"}
    attached_policies:
      description:
        - Policies attached to the role, sorted by type then name.
        - Each item carries the name and type twice, as C(name)/C(type) and as C(policy_name)/C(policy_type).
      type: list
      elements: dict
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
    ecs_can_assume:
      description: Whether the trust policy lets ECS assume the role (needed to attach it to instances).
      type: bool
      sample: true
'''

from ansible_collections.alicloud.ram.plugins.module_utils.role_info import InstanceRoleInfo
from ansible_collections.alicloud.ram.plugins.module_utils.module import AlicloudModule

ARGUMENT_SPEC = dict(
    name=dict(type='str', aliases=['role_name']),
    name_prefix=dict(type='str'),
    instance_roles_only=dict(type='bool', default=True),
)


def main():
    module = AlicloudModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[('name', 'name_prefix')],
        supports_check_mode=True,
    )
    InstanceRoleInfo(module).run()


if __name__ == '__main__':
    main()
