#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ecs_instance_metadata_options
short_description: Enforce hardened metadata mode and other metadata access settings on ECS instances
version_added: 0.2.0
description:
  - Enforces the instance metadata access settings that protect an instance RAM role's credentials on any number of
    ECS instances of one region, selected by ID (O(instance_ids)), by tags (O(instance_tags)) or both.
  - With O(http_tokens=required) (hardened mode) the instance metadata service only answers requests that carry a
    session token (C(PUT /latest/api/token), then C(X-aliyun-ecs-metadata-token) on every GET); a token-less read
    of the role's credentials is refused with HTTP 403.
  - Only the settings given are enforced; the others are left as they are. At least one of O(http_tokens),
    O(http_endpoint) and O(instance_metadata_tags) is required.
  - Every call sends the whole wanted state, as the API requires (C(HttpEndpoint) is mandatory, and an omitted
    C(HttpTokens) may fall back to C(optional)). C(HttpEndpoint) and C(HttpTokens) are the instance's current values
    with the task's settings on top, C(InstanceMetadataTags) only when O(instance_metadata_tags) is set. Changing
    O(http_endpoint) therefore never drops an instance out of hardened mode.
  - Instances in transition (C(Pending), C(Starting), C(Stopping)), which ECS refuses to change, are reported in
    RV(failed_instances) without a call, in check mode too; the other instances are still changed.
  - Reads the current settings first (DescribeInstances, 100 instances a call; the tag selection's pages already
    carry them) and calls ModifyInstanceMetadataOptions, one instance a call, several calls in parallel, only for
    the instances whose settings differ. A second identical run makes no write call.
  - Instance IDs that do not exist in the region fail the task before anything is changed.
author:
  - alicloud.ram maintainers (@alicloud-ram)
options:
  http_tokens:
    description:
      - V(required) enforces hardened mode, where the metadata service only serves requests with a session token.
      - V(optional) also allows token-less requests (normal mode).
      - Unset leaves the setting as it is.
    type: str
    choices: [optional, required]
  http_endpoint:
    description:
      - V(enabled) or V(disabled) turns the instance metadata service on or off for the instance. With V(disabled)
        the instance cannot read its RAM role's credentials at all.
      - Unset leaves the setting as it is.
    type: str
    choices: [enabled, disabled]
  instance_metadata_tags:
    description:
      - V(enabled) or V(disabled) makes the instance's tags readable from the metadata service.
      - Unset leaves the setting as it is.
    type: str
    choices: [enabled, disabled]
  return_all:
    description:
      - By default RV(instances) lists only the instances this task changed, was to change or failed, and RV(summary)
        counts the rest, so that the result of a fleet task stays small (Ansible keeps and scans every result).
      - V(true) lists every selected instance in RV(instances).
    type: bool
    default: false
    version_added: 0.2.0
extends_documentation_fragment:
  - alicloud.ram.common
  - alicloud.ram.attributes
  - alicloud.ram.instances
  - alicloud.ram.requirements
notes:
  - Diff mode shows only the instances that change, with their settings before and after.
  - When some instances fail (for example C(IncorrectInstanceStatus) for an instance in transition), the other
    instances are still changed; the task then fails, listing the failures in RV(failed_instances) and the
    instances that did change in RV(changed_instance_ids).
  - A setting that DescribeInstances leaves out is taken to have its ECS default (C(http_tokens=optional),
    C(http_endpoint=enabled), C(instance_metadata_tags=disabled)).
  - Applications on a hardened instance must use the token flow; the P(alicloud.ram.metadata_credentials#lookup)
    lookup does with O(alicloud.ram.metadata_credentials#lookup:imds_mode=hardened) (or V(auto)). See
    C(docs/hardened-metadata.md) for the whole path.
seealso:
  - module: alicloud.ram.ecs_instance_role_attachment
  - plugin: alicloud.ram.metadata_credentials
    plugin_type: lookup
  - ref: ansible_collections.alicloud.ram.docsite.hardened-metadata
    description: Hardened metadata mode, from attaching the role to reading its credentials with a token.
  - ref: ansible_collections.alicloud.ram.docsite.fleets
    description: Fleet tasks on thousands of instances (batching, selecting instances by tags, async and poll).
  - ref: ansible_collections.alicloud.ram.docsite.awx
    description: Running the collection from AWX or Ansible Automation Platform (execution environment, credential type, job templates).
'''

EXAMPLES = r'''
- name: Harden the metadata service of three instances (credentials only with a session token)
  alicloud.ram.ecs_instance_metadata_options:
    region: cn-hangzhou
    instance_ids:
      - i-bp1aaaaaaaaaaaaaaaaa
      - i-bp1bbbbbbbbbbbbbbbbb
      - i-bp1ccccccccccccccccc
    http_tokens: required

- name: Harden every instance tagged app=web, 8 calls in flight
  alicloud.ram.ecs_instance_metadata_options:
    region: cn-hangzhou
    instance_tags:
      app: web
    http_tokens: required
    concurrency: 8
  register: hardened

- name: Show the instances that were changed
  ansible.builtin.debug:
    var: hardened.changed_instance_ids

- name: Make sure the metadata service is on and the tags are readable from it
  alicloud.ram.ecs_instance_metadata_options:
    region: cn-hangzhou
    instance_ids: [i-bp1aaaaaaaaaaaaaaaaa]
    http_endpoint: enabled
    instance_metadata_tags: enabled
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
  description: One line saying what the task did, for example C(enforced http_tokens=required on 95 of 100 instance(s); 5 had it already).
  returned: always
  type: str
  version_added: 0.2.0
instances:
  description:
    - The instances this task changed, was to change or failed, mapped to their metadata settings after the run
      (predicted in check mode); RV(summary) counts the others. With O(return_all=true), every selected instance
      that exists.
  returned: always
  type: dict
  sample: {"i-bp1aaaaaaaaaaaaaaaaa": {"http_tokens": "required", "http_endpoint": "enabled", "instance_metadata_tags": "disabled"}}
  contains:
    http_tokens:
      description: V(required) (hardened mode) or V(optional).
      type: str
      sample: required
    http_endpoint:
      description: V(enabled) or V(disabled).
      type: str
      sample: enabled
    instance_metadata_tags:
      description: V(enabled) or V(disabled).
      type: str
      sample: disabled
changed_instance_ids:
  description: IDs of the instances whose settings were changed (would be changed in check mode) successfully.
  returned: always
  type: list
  elements: str
  sample: ["i-bp1aaaaaaaaaaaaaaaaa"]
failed_instances:
  description:
    - Instances that could not be changed, or that do not exist. Empty on success; when not empty the task fails.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: Instance ID.
      type: str
      sample: i-bp1ccccccccccccccccc
    code:
      description: Error code, from the API (for example C(IncorrectInstanceStatus)) or C(InvalidInstanceId.NotFound).
      type: str
      sample: IncorrectInstanceStatus
    message:
      description: What went wrong.
      type: str
      sample: The current status of the resource does not support this operation.
    request_id:
      description: Request ID of the API call that reported the failure, when there was one.
      type: str
      sample: 473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E
concurrency:
  description: The most API calls that were in flight at once on the worker pool (reads and writes).
  returned: always
  type: int
  sample: 4
error:
  description: Code, message, request ID and HTTP status of the (first) failure.
  returned: on failure
  type: dict
  sample: {"code": "IncorrectInstanceStatus", "message": "...", "request_id": "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E", "status": 403}
'''

from ansible_collections.alicloud.ram.plugins.module_utils.metadata_options import MetadataOptions
from ansible_collections.alicloud.ram.plugins.module_utils.module import AlicloudModule


ARGUMENT_SPEC = dict(
    instance_ids=dict(type='list', elements='str'),
    instance_tags=dict(type='dict'),
    http_tokens=dict(type='str', choices=['optional', 'required']),
    http_endpoint=dict(type='str', choices=['enabled', 'disabled']),
    instance_metadata_tags=dict(type='str', choices=['enabled', 'disabled']),
    concurrency=dict(type='int', default=16),
    return_all=dict(type='bool', default=False),
)


def main():
    module = AlicloudModule(argument_spec=ARGUMENT_SPEC, services=('ecs',), supports_check_mode=True)
    MetadataOptions(module).run()


if __name__ == '__main__':
    main()
