#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ram_role_policy
short_description: Attach system and custom policies to a RAM role, and manage custom policy documents
version_added: 0.1.0
description:
  - Attaches system and custom policies to a RAM role (for example an instance RAM role) or detaches them.
  - Creates a custom policy that does not exist yet from its C(document) in O(policies), and brings the default
    version of an existing custom policy to that document. A changed document becomes a new default
    policy version; a document equal to an existing non-default version makes that version the default
    instead. RAM keeps at most 5 versions per policy, so at the limit the oldest non-default version is deleted
    first. The default version is never deleted.
  - Documents are compared after normalisation (key order, whitespace, a string versus a one-element list
    for C(Action) and C(Resource), statement order), so an equal document never causes a change.
  - Documents are checked as RAM checks them before anything is written, see O(policies).
  - Every input and existence check runs before the first change, so a task that fails on bad input
    changes nothing, and check mode fails the same way.
  - A run reads the role's attached policies once (C(ListPoliciesForRole)), and reads a policy only when it
    carries a document or is not attached yet. A run with nothing to change makes no write call.
author:
  - alicloud.ram maintainers (@alicloud-ram)
options:
  role_name:
    description:
      - Name of the RAM role, 1 to 64 characters (letters, digits, periods and hyphens).
      - With O(state=present) the role must exist; a missing role fails the task before any change.
        In check mode only, a missing role is predicted as an empty role that an earlier task of the play
        creates (every listed policy is reported as attached, with a warning).
      - With O(state=absent) a missing role is not an error; nothing can be attached to it, so no policy is
        detached (custom policies listed for O(delete_unused_custom_policies) are still deleted when unused).
    type: str
    required: true
  policies:
    description:
      - The policies to attach (O(state=present)) or detach (O(state=absent)).
      - Each item is a policy name, or a dict with the keys C(name), C(type), C(document) and C(description).
      - C(name) (alias C(policy_name)), required in a dict, is the policy name, 1 to 128 characters
        (letters, digits and hyphens).
      - C(type) (alias C(policy_type)) is V(System) or V(Custom) (case-insensitive). A plain name, or a dict
        with neither C(type) nor C(document), means the system policy of that name, or, when no system policy
        has that name, the existing custom policy of that name. A name that is neither fails the task.
      - C(document) (aliases C(policy_document), C(policy)) is the document of a custom policy, a dict or a JSON
        string of at most 6144 characters once compacted; it implies C(type=Custom). The policy is created when
        it does not exist; otherwise this document becomes its default version. With O(state=absent) it is
        validated but not used.
      - A document follows the RAM policy grammar. At the top level only C(Version) (V("1"), added when missing)
        and C(Statement) (a non-empty list of statements, or one statement). Each statement has C(Effect)
        (V(Allow) or V(Deny)), exactly one of C(Action) or C(NotAction), exactly one of C(Resource) or
        C(NotResource), and optionally C(Condition) (operator to condition key to a value or a list of values);
        action and resource names are a string or a list of non-empty strings. C(Principal) belongs in trust
        policies only (see M(alicloud.ram.ram_instance_role)). Any other key is refused, and so is a JSON string
        that names a key twice in one object (for example two C(Effect) keys in one statement).
      - C(description), only valid together with C(document), is the description of a custom policy the module
        creates, 1 to 1024 characters. RAM sets a description only at creation; a different description on an
        existing policy gives a warning and changes nothing.
      - Names compare case-insensitively with the policies already attached; results use the names as RAM
        spells them. Listing the same policy twice is an error.
    type: list
    elements: raw
    default: []
  state:
    description:
      - V(present) attaches every listed policy (creating or updating custom policies that carry a document).
      - V(absent) detaches the listed policies; a policy that is not attached is not an error. Custom
        policies are deleted only with O(delete_unused_custom_policies).
    type: str
    choices: [present, absent]
    default: present
  purge_policies:
    description:
      - With O(state=present), detach every attached policy that is not listed in O(policies).
      - O(policies) must then list at least one policy; V(true) with no policies listed is refused, because it
        would detach every policy of the role (a templated list that came out empty must not strip a role).
        To detach policies, list them with O(state=absent); M(alicloud.ram.ram_instance_role) with
        C(state=absent) and C(force=true) detaches everything before deleting the role.
      - Ignored with O(state=absent).
    type: bool
    default: false
  delete_unused_custom_policies:
    description:
      - With O(state=absent), also delete each listed custom policy that carries a C(document) once no user,
        group or other role uses it (its non-default versions first). A policy still in use is kept, with a
        warning naming its users, groups and roles.
      - Policies listed without a C(document) are only detached.
      - Ignored with O(state=present).
    type: bool
    default: false
notes:
  - Results tell what was done, also when the task fails. A custom policy created before an attach is
    refused is reported in RV(created_policies) with C(changed=true). A write whose reply was lost and whose
    retry is answered "already exists" (C(EntityAlreadyExists.Policy), after the document is read back and
    found to be ours) or "already attached" (C(EntityAlreadyExists.Role.Policy)) counts as done and changed.
  - Attachments made or removed by someone else meanwhile are not reported as done by this run.
  - Several runs updating the same custom policy at once all succeed (the last write wins). When another
    run takes the last free version, deletes a version, or makes it the default between this run's read and
    its write, the policy is read again and the update planned again, with jittered backoff, for up to 60
    seconds. RAM never holds more than 5 versions.
  - In check mode the module reads but never writes, and returns exactly the result a real run would.
    The one exception is a role that does not exist yet, see O(role_name).
  - With C(--diff), the attachments before and after are shown, and the normalised documents of custom
    policies whose default document changes.
seealso:
  - module: alicloud.ram.ram_instance_role
  - name: RAM policy versions
    description: How RAM keeps up to five versions of a custom policy.
    link: https://www.alibabacloud.com/help/en/ram/user-guide/manage-custom-policies
  - ref: ansible_collections.alicloud.ram.docsite.awx
    description: Running the collection from AWX or Ansible Automation Platform (execution environment, credential type, job templates).
extends_documentation_fragment:
  - alicloud.ram.common
  - alicloud.ram.attributes
  - alicloud.ram.requirements
'''

EXAMPLES = r'''
- name: Give the instance role read access to OSS and let it send logs
  alicloud.ram.ram_role_policy:
    role_name: web-oss-reader
    policies:
      - AliyunOSSReadOnlyAccess
      - name: web-log-writer
        description: Lets the web servers write to their log project
        document:
          Version: "1"
          Statement:
            - Effect: Allow
              Action:
                - log:PostLogStoreLogs
              Resource: acs:log:*:*:project/web-logs/*

- name: Attach exactly these policies, detaching any other
  alicloud.ram.ram_role_policy:
    role_name: web-oss-reader
    purge_policies: true
    policies:
      - AliyunOSSReadOnlyAccess
      - name: web-log-writer
        type: Custom

- name: Detach a policy
  alicloud.ram.ram_role_policy:
    role_name: web-oss-reader
    state: absent
    policies:
      - AliyunOSSReadOnlyAccess

- name: Tear down, deleting the custom policy once nothing else uses it
  alicloud.ram.ram_role_policy:
    role_name: web-oss-reader
    state: absent
    delete_unused_custom_policies: true
    policies:
      - AliyunOSSReadOnlyAccess
      - name: web-log-writer
        document:
          Version: "1"
          Statement:
            - Effect: Allow
              Action:
                - log:PostLogStoreLogs
              Resource: acs:log:*:*:project/web-logs/*
'''

RETURN = r'''
role_name:
  description: Name of the role.
  returned: always
  type: str
  sample: web-oss-reader
attached_policies:
  description:
    - The policies attached to the role after the run (predicted in check mode), sorted by type and name.
    - Each item carries the name and type twice, as C(name)/C(type) and as C(policy_name)/C(policy_type),
      so either spelling works.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Policy name, as RAM spells it.
      type: str
      sample: AliyunOSSReadOnlyAccess
    type:
      description: V(System) or V(Custom).
      type: str
      sample: System
    policy_name:
      description: Same as C(name).
      type: str
      sample: AliyunOSSReadOnlyAccess
    policy_type:
      description: Same as C(type).
      type: str
      sample: System
attached:
  description:
    - The policies this run attached (or would attach in check mode).
    - Each item carries the name and type twice, as C(name)/C(type) and as C(policy_name)/C(policy_type),
      so either spelling works.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "web-log-writer", "type": "Custom", "policy_name": "web-log-writer", "policy_type": "Custom"}]
  contains:
    name:
      description: Policy name, as RAM spells it.
      type: str
      sample: AliyunOSSReadOnlyAccess
    type:
      description: V(System) or V(Custom).
      type: str
      sample: System
    policy_name:
      description: Same as C(name).
      type: str
      sample: AliyunOSSReadOnlyAccess
    policy_type:
      description: Same as C(type).
      type: str
      sample: System
detached:
  description:
    - The policies this run detached (or would detach in check mode).
    - Each item carries the name and type twice, as C(name)/C(type) and as C(policy_name)/C(policy_type),
      so either spelling works.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "AliyunECSReadOnlyAccess", "type": "System", "policy_name": "AliyunECSReadOnlyAccess", "policy_type": "System"}]
  contains:
    name:
      description: Policy name, as RAM spells it.
      type: str
      sample: AliyunOSSReadOnlyAccess
    type:
      description: V(System) or V(Custom).
      type: str
      sample: System
    policy_name:
      description: Same as C(name).
      type: str
      sample: AliyunOSSReadOnlyAccess
    policy_type:
      description: Same as C(type).
      type: str
      sample: System
created_policies:
  description: Names of the custom policies this run created (or would create), also when the task then fails.
  returned: always
  type: list
  elements: str
  sample: [web-log-writer]
updated_policies:
  description:
    - Names of the existing custom policies whose default version this run changed (or would change),
      by creating a new version or by making an existing version the default.
  returned: always
  type: list
  elements: str
  sample: []
deleted_policies:
  description: Names of the custom policies this run deleted (or would delete), see O(delete_unused_custom_policies).
  returned: always
  type: list
  elements: str
  sample: [web-log-writer]
'''

from ansible_collections.alicloud.ram.plugins.module_utils.module import AlicloudModule
from ansible_collections.alicloud.ram.plugins.module_utils.role_policies import RolePolicies

ARGUMENT_SPEC = dict(
    role_name=dict(type='str', required=True),
    policies=dict(type='list', elements='raw', default=[]),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    purge_policies=dict(type='bool', default=False),
    delete_unused_custom_policies=dict(type='bool', default=False),
)


def main():
    module = AlicloudModule(argument_spec=ARGUMENT_SPEC, services=('ram',), supports_check_mode=True)
    RolePolicies(module).run()


if __name__ == '__main__':
    main()
