#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ecs_instance_role_info
short_description: List the instance RAM roles attached to ECS instances
version_added: 0.1.0
description:
  - Lists which ECS instances of a region hold which RAM role, selected by instance IDs, by tags, by role name,
    or any of these together.
  - Reads every page of DescribeInstanceRamRole (50 instances a call); DescribeInstances is called only for tags
    (all pages) and for instance IDs the role read does not list (to find the ones that do not exist). Never
    changes anything.
author:
  - alicloud.ram maintainers (@alicloud-ram)
options:
  instance_ids:
    description:
      - Only these instances. Instances that do not exist are reported in RV(unknown_instance_ids).
      - At least one of O(instance_ids), O(instance_tags) and O(role_name) is required. An empty list selects nothing.
    type: list
    elements: str
  role_name:
    description:
      - Only instances holding this role (compared case-insensitively). A role that does not exist has no instances.
      - Alone, lists every instance of the region holding the role.
    type: str
extends_documentation_fragment:
  - alicloud.ram.common
  - alicloud.ram.attributes.info_module
  - alicloud.ram.instances
  - alicloud.ram.requirements
seealso:
  - module: alicloud.ram.ecs_instance_role_attachment
  - ref: ansible_collections.alicloud.ram.docsite.fleets
    description: Fleet tasks on thousands of instances (batching, selecting instances by tags, async and poll).
  - ref: ansible_collections.alicloud.ram.docsite.awx
    description: Running the collection from AWX or Ansible Automation Platform (execution environment, credential type, job templates).
'''

EXAMPLES = r'''
- name: Which instances hold the application role?
  alicloud.ram.ecs_instance_role_info:
    region: cn-hangzhou
    role_name: app-instance-role
  register: holders

- name: Roles of two instances
  alicloud.ram.ecs_instance_role_info:
    region: cn-hangzhou
    instance_ids:
      - i-bp1aaaaaaaaaaaaaaaaa
      - i-bp1bbbbbbbbbbbbbbbbb
  register: roles

- name: Show them
  ansible.builtin.debug:
    msg: "{{ roles.attachments | items2dict(key_name='instance_id', value_name='role_name') }}"

- name: Roles of every instance tagged app=web
  alicloud.ram.ecs_instance_role_info:
    region: cn-hangzhou
    instance_tags:
      app: web
  register: web_roles
'''

RETURN = r'''
attachments:
  description:
    - One item per selected instance holding a role (and, with O(role_name), holding that role). Instances without a
      role are not listed. Items follow the order of O(instance_ids), then of the tag selection.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: Instance ID.
      type: str
      sample: i-bp1aaaaaaaaaaaaaaaaa
    role_name:
      description: Name of the RAM role the instance holds.
      type: str
      sample: app-instance-role
unknown_instance_ids:
  description: IDs from O(instance_ids) that do not exist in the region.
  returned: always
  type: list
  elements: str
  sample: []
concurrency:
  description: The most API calls that were in flight at once on the worker pool.
  returned: always
  type: int
  sample: 4
'''

from ansible_collections.alicloud.ram.plugins.module_utils.instance_attachment import InstanceRoleInfo
from ansible_collections.alicloud.ram.plugins.module_utils.module import AlicloudModule


ARGUMENT_SPEC = dict(
    instance_ids=dict(type='list', elements='str'),
    instance_tags=dict(type='dict'),
    role_name=dict(type='str'),
    concurrency=dict(type='int', default=16),
)


def main():
    module = AlicloudModule(argument_spec=ARGUMENT_SPEC, services=('ecs',), supports_check_mode=True,
                            required_one_of=[('instance_ids', 'instance_tags', 'role_name')])
    InstanceRoleInfo(module).run()


if __name__ == '__main__':
    main()
