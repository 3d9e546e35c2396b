# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ram_instance_role_info against the emulator: by name, by prefix, instance_roles_only, > 1000 roles."""

from __future__ import annotations

import copy
import json

from harness import PlaybookRunner

from tests.emulator.process import start_emulator

INFO = 'alicloud.ram.ram_instance_role_info'
ROLE = 'alicloud.ram.ram_instance_role'
USER_TRUST = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole',
                                             'Principal': {'RAM': ['acs:ram::1234567890123456:root']}}]}


def sdk_ram(emu):
    from alibabacloud_ram20150501.client import Client  # pylint: disable=import-outside-toplevel
    from alibabacloud_tea_openapi.models import Config  # pylint: disable=import-outside-toplevel
    return Client(Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret,
                         endpoint=emu.endpoint, protocol='http', region_id='cn-hangzhou'))


def create_roles(emu, names, trust=None):
    from alibabacloud_ram20150501 import models  # pylint: disable=import-outside-toplevel
    client = sdk_ram(emu)
    doc = json.dumps(trust or {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole',
                                                              'Principal': {'Service': ['ecs.aliyuncs.com']}}]})
    for name in names:
        client.create_role(models.CreateRoleRequest(role_name=name, assume_role_policy_document=doc))


def test_by_name_prefix_and_instance_roles_only(runner, emu):
    runner.run_tasks([
        {'name': 'web', ROLE: {'name': 'web-a', 'description': 'web', 'tags': {'tier': 'web'}}},
        {'name': 'web b', ROLE: {'name': 'web-b'}},
        {'name': 'user role', ROLE: {'name': 'web-admin', 'assume_role_policy_document': USER_TRUST}},
        {'name': 'other', ROLE: {'name': 'db-a'}},
    ])
    from alibabacloud_ram20150501 import models  # pylint: disable=import-outside-toplevel
    sdk_ram(emu).attach_policy_to_role(models.AttachPolicyToRoleRequest(policy_name='AliyunOSSReadOnlyAccess', policy_type='System',
                                                                        role_name='web-a'))
    emu.clear_calls()
    res = runner.run_tasks([
        {'name': 'by name', INFO: {'name': 'web-a'}},
        {'name': 'missing', INFO: {'name': 'nope'}},
        {'name': 'user role filtered', INFO: {'name': 'web-admin'}},
        {'name': 'user role kept', INFO: {'name': 'web-admin', 'instance_roles_only': False}},
        {'name': 'prefix', INFO: {'name_prefix': 'WEB-'}},
        {'name': 'prefix all', INFO: {'name_prefix': 'web-', 'instance_roles_only': False}},
        {'name': 'everything', INFO: {}},
    ], check=True)
    assert all(r['status'] == 'ok' for r in res.results)
    assert emu.write_calls() == []

    role = res.module_result('by name')['roles']
    assert len(role) == 1
    role = role[0]
    assert role['role_name'] == 'web-a' and role['description'] == 'web' and role['tags'] == {'tier': 'web'}
    assert role['attached_policies'] == [
        {'name': 'AliyunOSSReadOnlyAccess', 'type': 'System', 'policy_name': 'AliyunOSSReadOnlyAccess', 'policy_type': 'System'}]
    assert role['ecs_can_assume'] is True and role['max_session_duration'] == 3600
    assert role['assume_role_policy_document']['Statement'][0]['Principal']['Service'] == ['ecs.aliyuncs.com']
    assert role['arn'] == 'acs:ram::%s:role/web-a' % emu.account_id and role['role_id'] and role['create_date']

    assert res.module_result('missing')['roles'] == []
    assert res.module_result('user role filtered')['roles'] == []
    kept = res.module_result('user role kept')['roles']
    assert [r['role_name'] for r in kept] == ['web-admin'] and kept[0]['ecs_can_assume'] is False

    assert [r['role_name'] for r in res.module_result('prefix')['roles']] == ['web-a', 'web-b']
    assert res.module_result('prefix')['roles'][0] == role
    assert [r['role_name'] for r in res.module_result('prefix all')['roles']] == ['web-a', 'web-b', 'web-admin']
    assert [r['role_name'] for r in res.module_result('everything')['roles']] == ['web-a', 'web-b', 'db-a']
    # by name: no listing at all
    by_name_calls = [c['action'] for c in emu.calls() if c['params'].get('RoleName') == 'web-a' or c['action'] == 'ListRoles']
    assert by_name_calls[:3] == ['GetRole', 'ListPoliciesForRole', 'ListRoles'] or by_name_calls[:2] == ['GetRole', 'ListPoliciesForRole']


def test_info_pages_past_1000_roles(collection_path, tmp_path):
    """More roles than one ListRoles page holds (the emulator caps creation at 1000, so they are seeded in its state file)."""
    state_file = tmp_path / 'state.json'
    with start_emulator('--state-file', str(state_file)) as seed:
        create_roles(seed, ['template'])
    data = json.loads(state_file.read_text())
    template = data['roles'].pop('template')
    base = max([template['seq']] + [0]) + 10
    for index in range(1105):
        name = 'bulk-%04d' % index
        role = copy.deepcopy(template)
        role.update(RoleName=name, RoleId='4%018d' % index, Arn=template['Arn'].replace('template', name), seq=base + index)
        data['roles'][name] = role
    state_file.write_text(json.dumps(data))

    with start_emulator('--state-file', str(state_file)) as big:
        runner = PlaybookRunner(collection_path, big, workdir=tmp_path / 'runs')
        res = runner.run_tasks([{'name': 'tail of the list', INFO: {'name_prefix': 'bulk-110'}}])
        roles = res.module_result(0)['roles']
        assert [r['role_name'] for r in roles] == ['bulk-%04d' % i for i in range(1100, 1105)]
        counts = big.call_counts()
        assert counts['ListRoles'] == 2, counts
        assert counts['GetRole'] == 5 and counts['ListPoliciesForRole'] == 5, counts
        assert big.write_calls() == []
        markers = [c['params'].get('Marker') for c in big.calls() if c['action'] == 'ListRoles']
        assert markers[0] is None and markers[1]
