# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The floor of the per-task overhead benchmark: the least a module on the official SDKs does to
read a RAM role as a no-change ram_instance_role task reads it.

Module base (AnsibleModule), the SDK's unused imports deferred (alicloud.ram's sdk_loader, as a
module of that collection does), one RAM client, the same three reads (GetRole,
ListPoliciesForRole, ListTagResources) through the SDK's own HTTP exit, the answers returned.
Credentials and endpoint from the environment the benchmark sets. Benchmark only, not shipped.
"""

from __future__ import annotations

DOCUMENTATION = r'''
module: ram_role_floor
short_description: Read a RAM role with the official SDK, and nothing else (benchmark floor)
options:
  name:
    description: The role.
    type: str
    required: true
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.alicloud.ram.plugins.module_utils import sdk_loader


def main():
    module = AnsibleModule(argument_spec=dict(name=dict(type='str', required=True)), supports_check_mode=True)
    sdk_loader.lazy_models()
    sdk_loader.defer()
    from alibabacloud_ram20150501 import models  # pylint: disable=import-outside-toplevel
    from alibabacloud_ram20150501.client import Client  # pylint: disable=import-outside-toplevel
    from alibabacloud_tea_openapi.models import Config  # pylint: disable=import-outside-toplevel
    from darabonba.runtime import RuntimeOptions  # pylint: disable=import-outside-toplevel

    protocol, endpoint = os.environ['ALIBABA_CLOUD_RAM_ENDPOINT'].split('://', 1)
    client = Client(Config(access_key_id=os.environ['ALIBABA_CLOUD_ACCESS_KEY_ID'],
                           access_key_secret=os.environ['ALIBABA_CLOUD_ACCESS_KEY_SECRET'],
                           endpoint=endpoint, protocol=protocol, region_id='cn-hangzhou'))
    runtime = RuntimeOptions(autoretry=False)
    name = module.params['name']
    role = client.get_role_with_options(models.GetRoleRequest(role_name=name), runtime).body.to_map()
    policies = client.list_policies_for_role_with_options(models.ListPoliciesForRoleRequest(role_name=name), runtime).body.to_map()
    tags = client.list_tag_resources_with_options(models.ListTagResourcesRequest(
        resource_type='role', resource_names=[name]), runtime).body.to_map()
    module.exit_json(changed=False, role=role.get('Role'), policies=policies.get('Policies'), tags=tags.get('TagResources'))


if __name__ == '__main__':
    main()
