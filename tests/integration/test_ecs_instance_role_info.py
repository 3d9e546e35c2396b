# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ecs_instance_role_info against the emulator: by ids, by tags and by role name across pages, unknown ids, call counts."""

from __future__ import annotations

import json
import math

from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.models import Config

INFO = 'alicloud.ram.ecs_instance_role_info'
ATTACH = 'alicloud.ram.ecs_instance_role_attachment'
ECS_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow',
                                       'Principal': {'Service': ['ecs.aliyuncs.com']}}], 'Version': '1'})


def create_role(emu, name):
    config = Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret, endpoint=emu.endpoint,
                    protocol='http', region_id='cn-hangzhou')
    RamClient(config).create_role(ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=ECS_TRUST))


def describe_calls(emu):
    return [c for c in emu.calls() if c['action'] == 'DescribeInstanceRamRole']


def test_info_by_ids_by_tags_by_role_across_pages_and_unknown_ids(runner, emu):
    create_role(emu, 'fleet-role')
    create_role(emu, 'other-role')
    create_role(emu, 'unused-role')
    fleet = emu.seed_instances(120, tags={'app': 'web'})
    others = emu.seed_instances(2)
    bare = emu.seed_instances(1)
    runner.run_tasks([
        {'name': 'fleet', ATTACH: {'role_name': 'fleet-role', 'instance_ids': fleet}},
        {'name': 'others', ATTACH: {'role_name': 'other-role', 'instance_ids': others}},
    ])
    emu.clear_calls()
    unknown = 'i-doesnotexist0000002'
    res = runner.run_tasks([
        {'name': 'by role', INFO: {'role_name': 'FLEET-ROLE'}, 'register': 'by_role'},
        {'name': 'by ids', INFO: {'instance_ids': [others[0], bare[0], fleet[0], others[0], unknown]}},
        {'name': 'ids and role', INFO: {'instance_ids': others + [fleet[1]], 'role_name': 'other-role'}},
        {'name': 'no such role', INFO: {'role_name': 'no-such-role'}},
        {'name': 'unused role', INFO: {'role_name': 'unused-role'}},
        {'name': 'neither', INFO: {}, 'ignore_errors': True},
        {'name': 'by tags', INFO: {'instance_tags': {'app': 'web'}, 'instance_ids': bare}},
        {'name': 'tags match nothing', INFO: {'instance_tags': {'app': 'nothing-has-this'}}},
    ], check=True)
    by_role = res.module_result('by role')
    assert by_role['changed'] is False
    assert sorted(a['instance_id'] for a in by_role['attachments']) == sorted(fleet)
    assert {a['role_name'] for a in by_role['attachments']} == {'fleet-role'}

    by_ids = res.module_result('by ids')
    assert by_ids['attachments'] == [{'instance_id': others[0], 'role_name': 'other-role'},
                                     {'instance_id': fleet[0], 'role_name': 'fleet-role'}]
    assert by_ids['unknown_instance_ids'] == [unknown]
    assert any(unknown in w for w in by_ids.get('warnings', []))

    assert res.module_result('ids and role')['attachments'] == [{'instance_id': i, 'role_name': 'other-role'} for i in others]
    assert res.module_result('no such role')['attachments'] == []
    assert res.module_result('unused role')['attachments'] == []
    assert res.by_name('neither')['status'] == 'failed'
    assert 'instance_ids' in res.module_result('neither')['msg'] and 'instance_tags' in res.module_result('neither')['msg']
    by_tags = res.module_result('by tags')
    assert [a['instance_id'] for a in by_tags['attachments']] == fleet and by_tags['unknown_instance_ids'] == []
    assert res.module_result('tags match nothing')['attachments'] == []

    assert emu.write_calls() == []
    calls = describe_calls(emu)
    assert all(int(c['params'].get('PageSize', 10)) == 50 for c in calls)
    assert all(len(json.loads(c['params']['InstanceIds'])) <= 50 for c in calls if 'InstanceIds' in c['params'])
    by_role_calls = [c for c in calls if 'InstanceIds' not in c['params'] and c['params'].get('RamRoleName') == 'FLEET-ROLE']
    assert len(by_role_calls) == math.ceil(120 / 50)
    assert [int(c['params']['PageNumber']) for c in by_role_calls] == [1, 2, 3]
    # by role 3 pages; by ids: the page naming the unknown id is refused (1 DescribeInstances, 1 more read); ids and
    # role 1; the two roles without holders 1 each; by tags 2 DescribeInstances pages and 3 role pages; no match 1
    assert emu.call_counts() == {'DescribeInstanceRamRole': 11, 'DescribeInstances': 4}
