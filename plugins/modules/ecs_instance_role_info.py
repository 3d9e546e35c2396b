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
  - Lists which ECS instances of a region hold which RAM role, by instance IDs, by role name, or both.
  - Reads every page of DescribeInstanceRamRole (50 instances a call). Never changes anything.
author:
  - alicloud.ram maintainers (@alicloud-ram)
options:
  instance_ids:
    description:
      - Only these instances. Instances that do not exist are reported in RV(unknown_instance_ids).
      - At least one of O(instance_ids) and O(role_name) is required.
    type: list
    elements: str
  role_name:
    description:
      - Only instances holding this role (compared case-insensitively). A role that does not exist has no instances.
    type: str
extends_documentation_fragment:
  - alicloud.ram.common
  - alicloud.ram.attributes.info_module
seealso:
  - module: alicloud.ram.ecs_instance_role_attachment
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
'''

RETURN = r'''
attachments:
  description:
    - One item per instance holding a role (and, with O(role_name), holding that role). Instances without a role are
      not listed. With O(instance_ids), items follow the order of O(instance_ids).
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
'''

from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.instance_attachment import read_attachments, unique_instance_ids
from ansible_collections.alicloud.ram.plugins.module_utils.module import AlicloudModule
from ansible_collections.alicloud.ram.plugins.module_utils.ram import validate_role_name


ARGUMENT_SPEC = dict(
    instance_ids=dict(type='list', elements='str'),
    role_name=dict(type='str'),
)


class InstanceRoleInfo(object):
    """Read-only listing of instance RAM role attachments."""

    def __init__(self, module):
        self.module = module

    def run(self):
        module = self.module
        ids, role_name = module.params.get('instance_ids'), module.params.get('role_name')
        errors = []
        if ids is not None:
            ids, error = unique_instance_ids(ids)
            if error:
                errors.append(error)
        if role_name is not None:
            error = validate_role_name(role_name)
            if error:
                errors.append(error)
        if errors:
            module.fail_json(msg='invalid input: ' + '; '.join(errors))
        region = module.region('ecs')
        try:
            attachments, unknown = read_attachments(module.client('ecs'), region, ids, role_name)
        except AlicloudApiError as err:
            module.fail_api(err, 'read instance RAM roles in %s' % region)
        if unknown:
            module.warn('%d instance(s) do not exist in %s: %s' % (len(unknown), region, ', '.join(unknown[:10])))
        module.exit_json(changed=False, attachments=attachments, unknown_instance_ids=unknown)


def main():
    module = AlicloudModule(argument_spec=ARGUMENT_SPEC, services=('ecs',), supports_check_mode=True,
                            required_one_of=[('instance_ids', 'role_name')])
    InstanceRoleInfo(module).run()


if __name__ == '__main__':
    main()
