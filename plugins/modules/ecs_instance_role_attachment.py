#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ecs_instance_role_attachment
short_description: Attach an instance RAM role to ECS instances, or detach it
version_added: 0.1.0
description:
  - Ensures that a RAM role is attached to (O(state=present)) or detached from (O(state=absent)) any number of ECS
    instances of one region, selected by ID (O(instance_ids)), by tags (O(instance_tags)) or both.
  - Reads the current roles first (DescribeInstanceRamRole, 50 instances a call) and writes only for the instances
    that need a change (AttachInstanceRamRole / DetachInstanceRamRole, 100 instances a call, several calls in parallel).
    A second identical run makes no write call and reads only the DescribeInstanceRamRole pages.
  - "Checked before the first write call, failing the task before anything is changed:
    the input; that every selected instance exists (instances the role read does not list are looked up with
    DescribeInstances, 100 a call); that no instance holds another role (unless O(force=true)); and, when attaching,
    that the role exists and ECS may assume it (one RAM GetRole call)."
  - Classic-network instances cannot hold a role. When the reads show one (DescribeInstanceRamRole refuses it, or
    DescribeInstances describes it), the task fails before any write; otherwise the attach call's per-instance result
    reports it, and the task fails listing it in RV(failed_instances) while the other instances are attached.
    Check mode looks such instances up with DescribeInstances, so that it predicts the same outcome.
  - A role created moments before may not be visible to ECS yet; attach calls are retried for up to 60 seconds
    in that case.
  - An attach whose answer was lost (the connection dropped after the service carried it out) or that meets an
    instance already holding the role (another run got there first) is confirmed with DescribeInstanceRamRole
    and counts as done, not as a failure.
  - Only VPC instances can hold a RAM role, and an instance holds at most one role.
author:
  - alicloud.ram maintainers (@alicloud-ram)
options:
  role_name:
    description:
      - Name of the RAM role (1 to 64 characters, letters, digits, C(.) and C(-)). Role names are compared
        case-insensitively.
      - The role must exist and trust C(ecs.aliyuncs.com) to be attached.
      - In check mode only, a role that does not exist yet is treated as created by an earlier task of the play;
        every selected instance that holds no role (or, with O(force), another role) is predicted as attached,
        with a warning. Outside check mode a missing role fails the task before any change.
    type: str
    required: true
  state:
    description:
      - V(present) attaches the role to every selected instance that does not hold it.
      - V(absent) detaches the role from every selected instance that holds it; instances holding another role or no
        role are left alone, and instances that do not exist produce a warning.
    type: str
    choices: [present, absent]
    default: present
  policy:
    description:
      - Extra access policy passed to AttachInstanceRamRole, further restricting what the role's credentials may do on
        these instances (a dict or a JSON string; at most 1024 characters once compacted).
      - Applied only when the role is attached by this run; the API does not return it, so it is not compared on
        instances that already hold the role. Ignored with O(state=absent).
    type: json
  force:
    description:
      - With O(state=present), an instance holding another role is detached from it and given O(role_name).
      - Without O(force), such instances fail the task before any change, listing their IDs and current roles.
    type: bool
    default: false
  wait:
    description:
      - After the changes, poll DescribeInstanceRamRole until every changed instance shows the expected role (or none).
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait with O(wait=true) before failing.
    type: int
    default: 300
  return_all:
    description:
      - By default RV(attachments) lists only the instances this task changed, was to change or failed, and RV(summary)
        counts the rest, so that the result of a fleet task stays small (Ansible keeps and scans every result).
      - V(true) lists every selected instance in RV(attachments).
    type: bool
    default: false
    version_added: 0.2.0
extends_documentation_fragment:
  - alicloud.ram.common
  - alicloud.ram.attributes
  - alicloud.ram.instances
  - alicloud.ram.requirements
notes:
  - Diff mode shows only the instances that change, as C(instance_id -> role), so a run over thousands of
    instances stays readable.
  - When some instances fail (per-instance result codes), the other batches still run; the task then fails,
    listing the failures in RV(failed_instances) and the instances that did change in RV(changed_instance_ids).
  - With O(force=true), an instance whose detach succeeded but whose attach failed is left without a role;
    RV(attachments) shows it as V(null).
  - "API calls for N instances that hold no role: ceil(N/50) DescribeInstanceRamRole, one GetRole and ceil(N/100)
    AttachInstanceRamRole (10,000 instances: 301 calls). DescribeInstances is called only for instances the role read
    does not list. A run with nothing to change makes only the ceil(N/50) DescribeInstanceRamRole calls."
seealso:
  - module: alicloud.ram.ecs_instance_role_info
  - module: alicloud.ram.ecs_instance_metadata_options
  - ref: ansible_collections.alicloud.ram.docsite.fleets
    description: Fleet tasks on thousands of instances (batching, selecting instances by tags, async and poll).
  - ref: ansible_collections.alicloud.ram.docsite.hardened-metadata
    description: Hardened metadata mode, from attaching the role to reading its credentials with a token.
  - ref: ansible_collections.alicloud.ram.docsite.awx
    description: Running the collection from AWX or Ansible Automation Platform (execution environment, credential type, job templates).
'''

EXAMPLES = r'''
- name: Attach the instance role to three instances
  alicloud.ram.ecs_instance_role_attachment:
    region: cn-hangzhou
    role_name: app-instance-role
    instance_ids:
      - i-bp1aaaaaaaaaaaaaaaaa
      - i-bp1bbbbbbbbbbbbbbbbb
      - i-bp1ccccccccccccccccc

- name: Attach the role to every instance tagged app=web (all pages), plus one more by ID
  alicloud.ram.ecs_instance_role_attachment:
    region: cn-hangzhou
    role_name: app-instance-role
    instance_tags:
      app: web
    instance_ids: [i-bp1ddddddddddddddddd]
  register: web_roles

- name: Give a whole fleet the role, replacing any other role, and wait until ECS reports it
  alicloud.ram.ecs_instance_role_attachment:
    region: cn-hangzhou
    role_name: app-instance-role
    instance_ids: "{{ fleet_instance_ids }}"
    force: true
    concurrency: 8
    wait: true
  register: attach_result

- name: Attach with an extra policy that only allows reading one bucket
  alicloud.ram.ecs_instance_role_attachment:
    region: cn-hangzhou
    role_name: app-instance-role
    instance_ids: [i-bp1aaaaaaaaaaaaaaaaa]
    policy:
      Version: "1"
      Statement:
        - Effect: Allow
          Action: ["oss:GetObject"]
          Resource: ["acs:oss:*:*:app-bucket/*"]

- name: Detach the role from the instances tagged env=retired
  alicloud.ram.ecs_instance_role_attachment:
    region: cn-hangzhou
    role_name: app-instance-role
    instance_tags:
      env: retired
    state: absent
'''

RETURN = r'''
summary:
  description:
    - How many instances the task selected, changed (would change in check mode), could not change, and left
      unchanged because they were as wanted already.
  returned: always
  type: dict
  sample: {"selected": 100, "changed": 95, "failed": 0, "unchanged": 5}
  version_added: 0.2.0
msg:
  description: One line saying what the task did, for example C(attached web to 95 of 100 instance(s); 5 held it already).
  returned: always
  type: str
  version_added: 0.2.0
attachments:
  description:
    - The instances this task changed, was to change or failed, mapped to the role each holds after the run
      (predicted in check mode), or V(null) when it holds none; RV(summary) counts the others.
      With O(return_all=true), every selected instance. Instances that do not exist map to V(null).
  returned: always
  type: dict
  sample: {"i-bp1aaaaaaaaaaaaaaaaa": "app-instance-role", "i-bp1bbbbbbbbbbbbbbbbb": null}
changed_instance_ids:
  description:
    - IDs of the instances whose role this run changed (would change in check mode) successfully.
    - An instance found already holding the role when its attach was confirmed is listed only when the attach of
      this run did it (its answer was lost); one that another run attached first is in RV(attachments) only.
  returned: always
  type: list
  elements: str
  sample: ["i-bp1aaaaaaaaaaaaaaaaa"]
failed_instances:
  description:
    - Instances that could not be changed. Empty on success; when not empty the task fails.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: Instance ID.
      type: str
      sample: i-bp1ccccccccccccccccc
    code:
      description:
        - Error code, from the API (for example C(InvalidInstanceId.NotFound), C(InvalidNetworkType.MismatchRamRole))
          or C(InstanceHasOtherRole) when the instance holds another role and O(force) is not set.
      type: str
      sample: InvalidNetworkType.MismatchRamRole
    message:
      description: What went wrong.
      type: str
      sample: The instance is in the classic network; RAM roles can only be attached to VPC instances.
    request_id:
      description: Request ID of the API call that reported the failure, when there was one.
      type: str
      sample: 473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E
concurrency:
  description: The most API calls that were in flight at once on the worker pool (reads and writes in batches).
  returned: always
  type: int
  sample: 4
error:
  description: Code, message, request ID and HTTP status of the failure.
  returned: on failure
  type: dict
  sample: {"code": "InvalidNetworkType.MismatchRamRole", "message": "...", "request_id": null, "status": null}
'''

from ansible_collections.alicloud.ram.plugins.module_utils.instance_attachment import InstanceRoleAttachment
from ansible_collections.alicloud.ram.plugins.module_utils.module import AlicloudModule


ARGUMENT_SPEC = dict(
    instance_ids=dict(type='list', elements='str'),
    instance_tags=dict(type='dict'),
    role_name=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    policy=dict(type='json'),
    force=dict(type='bool', default=False),
    concurrency=dict(type='int', default=16),
    return_all=dict(type='bool', default=False),
    wait=dict(type='bool', default=False),
    wait_timeout=dict(type='int', default=300),
)


def main():
    module = AlicloudModule(argument_spec=ARGUMENT_SPEC, services=('ram', 'ecs'), supports_check_mode=True,
                            required_one_of=[('instance_ids', 'instance_tags')])
    InstanceRoleAttachment(module).run()


if __name__ == '__main__':
    main()
