# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way integration tests set up and inspect the emulator directly (through the official SDK clients):
shared trust policies, roles, attachments, the call log. Module runs go through ``harness.PlaybookRunner``."""

from __future__ import annotations

import json
import re

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ram20150501 import models as ram_models

from tests.emulator.sdkhelpers import ECS_TRUST, clients


def ram(emu):
    return clients(emu)[0]


def ecs(emu):
    return clients(emu)[1]


def create_role(emu, name, trust=ECS_TRUST):
    ram(emu).create_role(ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=trust))


def attach_directly(emu, role, ids, region='cn-hangzhou'):
    ecs(emu).attach_instance_ram_role(ecs_models.AttachInstanceRamRoleRequest(
        region_id=region, ram_role_name=role, instance_ids=json.dumps(list(ids))))


def roles_of(emu, ids, region='cn-hangzhou'):
    """``{instance id: role held or None}`` as the emulator stores it (no API call, no lag)."""
    held = dict((i['InstanceId'], i.get('RamRoleName') or None) for i in emu.instances(region))
    return dict((i, held.get(i)) for i in ids)


def calls_of(emu, action):
    return [c for c in emu.calls() if c['action'] == action]


def ids_in(call):
    return json.loads(call['params']['InstanceIds'])


def task(module, title, **args):
    """A task of ``module`` called ``title`` (registered under the title with underscores)."""
    return {'name': title, module: args, 'register': re.sub(r'\W', '_', title)}
