# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The roles of ram_instance_role_info: one by name, or every role whose name starts with a prefix (never writes)."""

from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.failures import refuse
from ansible_collections.alicloud.ram.plugins.module_utils.policy import can_ecs_assume
from ansible_collections.alicloud.ram.plugins.module_utils.ram import RoleTags, role_to_result, tags_from_ram, validate_role_name
from ansible_collections.alicloud.ram.plugins.module_utils.resource import Resource


class InstanceRoleInfo(Resource):
    """Roles for ram_instance_role_info: one by name, or every role whose name starts with a prefix (never writes)."""

    PAGE_SIZE = ram_api.MAX_ITEMS

    def validate(self):
        name = self.params.get('name')
        refuse([validate_role_name(name) if name is not None else None])

    def read(self):
        tags = RoleTags(self.ram)
        name = self.params.get('name')
        return self.by_name(name, tags) if name is not None else self.by_prefix((self.params.get('name_prefix') or '').lower(), tags)

    def result(self, current, plan):
        return {'roles': current}

    def by_name(self, name, tags):
        role = ram_api.get_role(self.ram, name)
        if role is None or not self.wanted(role):
            return []
        return self.described(role, tags.of(role['RoleName']))

    def by_prefix(self, prefix, tags):
        roles = []
        for listed in ram_api.list_roles(self.ram, self.PAGE_SIZE):
            name = listed.get('RoleName') or ''
            if not name.lower().startswith(prefix):
                continue
            # the listing has no trust policy; a role deleted since it was listed is skipped
            role = ram_api.get_role(self.ram, name)
            if role is None or not self.wanted(role):
                continue
            roles.extend(self.described(role, tags_from_ram(listed['Tags']) if 'Tags' in listed else tags.of(name)))
        return roles

    def wanted(self, role):
        return not self.params.get('instance_roles_only') or can_ecs_assume(role.get('AssumeRolePolicyDocument'))

    def described(self, role, tags):
        """``[the roles item of role]``, or ``[]`` when the role is gone."""
        policies = ram_api.list_policies_for(self.ram, 'role', role['RoleName'])
        if policies is None:
            return []
        result = role_to_result(role, policies, tags)
        result['ecs_can_assume'] = can_ecs_assume(role.get('AssumeRolePolicyDocument'))
        return [result]
