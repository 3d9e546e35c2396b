# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decision logic of ram_instance_role / ram_instance_role_info with the API stubbed."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import instance_role
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.instance_role import (
    InputError,
    InstanceRoleInfo,
    InstanceRoleManager,
    RoleReader,
    validate_common,
    validate_tags,
)

ECS_TRUST = {'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Service': ['ecs.aliyuncs.com']}}],
             'Version': '1'}
OTHER_TRUST = {'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'RAM': ['acs:ram::1:root']}}],
               'Version': '1'}


class Exit(Exception):
    def __init__(self, result):
        super(Exit, self).__init__(result)
        self.result = result


class Fail(Exception):
    def __init__(self, result):
        super(Fail, self).__init__(result)
        self.result = result


def not_found():
    return AlicloudApiError('EntityNotExist.Role', 'The role does not exist.', 'RID', 404)


class FakeRam(object):
    """A tiny in-memory RAM answering the calls the module makes, recording them."""

    def __init__(self, roles=None, tag_api=True, page_size=None):
        self.roles = roles or {}
        self.log = []
        self.tag_api = tag_api
        self.page_size = page_size
        self.fail_next = {}

    def call(self, action, params=None, retry_codes=()):
        params = dict(params or {})
        self.log.append((action, params))
        if action in self.fail_next:
            err = self.fail_next.pop(action)
            if callable(err):
                err = err()
            if err is not None:
                raise err
        return getattr(self, 'do_' + action)(params)

    def call_or_none(self, action, params=None, missing_codes=None, retry_codes=()):
        try:
            return self.call(action, params)
        except AlicloudApiError as err:
            if err.status == 404:
                return None
            raise

    @property
    def actions(self):
        return [a for a, _p in self.log]

    @property
    def writes(self):
        return [a for a in self.actions if not a.startswith(('Get', 'List', 'Describe'))]

    def _role(self, name):
        role = self.roles.get(name.lower())
        if role is None:
            raise not_found()
        return role

    def do_GetRole(self, p):
        role = self._role(p['RoleName'])
        return {'Role': dict((k, v) for k, v in role.items() if k not in ('tags', 'policies'))}

    def do_ListPoliciesForRole(self, p):
        return {'Policies': {'Policy': list(self._role(p['RoleName']).get('policies', []))}}

    def do_ListTagResources(self, p):
        if not self.tag_api:
            raise AlicloudApiError('InvalidAction.NotFound', 'Specified api is not found.', 'RID', 404)
        rows = []
        for name in p['ResourceNames']:
            for k, v in sorted(self._role(name).get('tags', {}).items()):
                rows.append({'ResourceName': name, 'ResourceType': 'role', 'TagKey': k, 'TagValue': v})
        return {'TagResources': rows}

    def do_ListRoles(self, p):
        names = sorted(self.roles)
        size = self.page_size or p.get('MaxItems') or 100
        start = int(p.get('Marker') or 0)
        chunk = names[start:start + size]
        body = {'Roles': {'Role': [dict(RoleName=self.roles[n]['RoleName'], Tags={'Tag': [
            {'TagKey': k, 'TagValue': v} for k, v in self.roles[n].get('tags', {}).items()]}) for n in chunk]}}
        if start + size < len(names):
            body.update(IsTruncated=True, Marker=str(start + size))
        return body

    def do_CreateRole(self, p):
        if p['RoleName'].lower() in self.roles:
            raise AlicloudApiError('EntityAlreadyExists.Role', 'The role does already EXIST.', 'RID', 409)
        role = {'RoleName': p['RoleName'], 'RoleId': '3001', 'Arn': 'acs:ram::1:role/%s' % p['RoleName'].lower(),
                'Description': p.get('Description') or '', 'AssumeRolePolicyDocument': p['AssumeRolePolicyDocument'],
                'MaxSessionDuration': p.get('MaxSessionDuration', 3600), 'CreateDate': 'T0',
                'tags': dict((t['Key'], t['Value']) for t in p.get('Tag', [])), 'policies': []}
        self.roles[p['RoleName'].lower()] = role
        return {'Role': dict((k, v) for k, v in role.items() if k not in ('tags', 'policies'))}

    def do_UpdateRole(self, p):
        role = self._role(p['RoleName'])
        for key in ('AssumeRolePolicyDocument', 'Description', 'MaxSessionDuration'):
            if 'New' + key in p:
                role[key] = p['New' + key]
        role['UpdateDate'] = 'T9'
        return {'Role': dict((k, v) for k, v in role.items() if k not in ('tags', 'policies'))}

    def do_TagResources(self, p):
        for name in p['ResourceNames']:
            self._role(name).setdefault('tags', {}).update(dict((t['Key'], t['Value']) for t in p['Tag']))
        return {}

    def do_UntagResources(self, p):
        for name in p['ResourceNames']:
            tags = self._role(name).setdefault('tags', {})
            for key in p['TagKeys']:
                tags.pop(key, None)
        return {}

    def do_DetachPolicyFromRole(self, p):
        role = self._role(p['RoleName'])
        role['policies'] = [x for x in role['policies'] if x['PolicyName'] != p['PolicyName']]
        return {}

    def do_DeleteRole(self, p):
        role = self._role(p['RoleName'])
        if role.get('policies'):
            raise AlicloudApiError('DeleteConflict.Role.Policy', 'The role cannot have any attached policies.', 'RID', 409)
        del self.roles[p['RoleName'].lower()]
        return {}


class FakeEcs(object):
    def __init__(self, holders=None):
        self.holders = holders or {}
        self.log = []

    def call(self, action, params=None, retry_codes=()):
        self.log.append((action, dict(params or {})))
        if action == 'DescribeInstanceRamRole':
            items = [{'InstanceId': i, 'RamRoleName': r} for i, r in sorted(self.holders.items()) if r == params.get('RamRoleName')]
            start = (params['PageNumber'] - 1) * params['PageSize']
            return {'TotalCount': len(items), 'InstanceRamRoleSets': {'InstanceRamRoleSet': items[start:start + params['PageSize']]}}
        if action == 'DetachInstanceRamRole':
            ids = json.loads(params['InstanceIds'])
            for i in ids:
                self.holders.pop(i, None)
            return {'DetachInstanceRamRoleResults': {'DetachInstanceRamRoleResult': [
                {'InstanceId': i, 'Success': True, 'Code': '200'} for i in ids]}}
        raise AssertionError(action)


class FakeOptions(object):
    def __init__(self, params):
        self.params = params

    def get(self, key, default=None):
        value = self.params.get(key)
        return default if value is None else value


class FakeModule(object):
    def __init__(self, ram, params, check_mode=False, diff=False, ecs=None):
        base = dict(name='app', state='present', description=None, trusted_services=None, assume_role_policy_document=None,
                    max_session_duration=None, tags=None, purge_tags=True, force=False, region='cn-hangzhou',
                    name_prefix=None, instance_roles_only=True)
        base.update(params)
        self.params = base
        self.options = FakeOptions(base)
        self.check_mode = check_mode
        self._diff = diff
        self.ram = ram
        self.ecs = ecs or FakeEcs()
        self.warnings = []

    def client(self, service):
        return self.ram if service == 'ram' else self.ecs

    def warn(self, msg):
        self.warnings.append(msg)

    def exit_json(self, **kwargs):
        raise Exit(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs['msg'] = msg
        raise Fail(kwargs)

    def fail_api(self, err, operation, **extra):
        self.fail_json('%s failed: %s' % (operation, err), error=err.to_dict(), **extra)


def run(ram, check_mode=False, diff=False, ecs=None, **params):
    module = FakeModule(ram, params, check_mode=check_mode, diff=diff, ecs=ecs)
    with pytest.raises(Exit) as exc:
        InstanceRoleManager(module).run()
    return exc.value.result


def run_fail(ram, ecs=None, **params):
    module = FakeModule(ram, params, ecs=ecs)
    with pytest.raises(Fail) as exc:
        InstanceRoleManager(module).run()
    return exc.value.result


def existing(**extra):
    role = {'RoleName': 'app', 'RoleId': '3001', 'Arn': 'acs:ram::1:role/app', 'Description': 'd',
            'AssumeRolePolicyDocument': json.dumps(ECS_TRUST), 'MaxSessionDuration': 3600, 'CreateDate': 'T0',
            'UpdateDate': 'T1', 'tags': {}, 'policies': []}
    role.update(extra)
    return {'app': role}


# -- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize('params, fragment', [
    (dict(name='bad name'), 'role name'),
    (dict(name='x' * 65), 'role name'),
    (dict(name='app', description='x' * 1025), 'description'),
    (dict(name='app', description=''), 'description'),
    (dict(name='app', max_session_duration=100), 'max_session_duration'),
    (dict(name='app', max_session_duration=43201), 'max_session_duration'),
    (dict(name='app', assume_role_policy_document='{"Statement": ['), 'not valid JSON'),
    (dict(name='app', assume_role_policy_document='[]'), 'JSON object'),
    (dict(name='app', assume_role_policy_document={'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole'}]}), 'Principal'),
    (dict(name='app', assume_role_policy_document={'Statement': [
        {'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Principal': {'Service': ['x' * 7000]}}]}), 'limit is 6144'),
    (dict(name='app', trusted_services=[]), 'trusted_services'),
    (dict(name='app', tags={'acs:x': '1'}), "'acs:'"),
    (dict(name='app', tags={'Aliyun-x': '1'}), "'aliyun'"),
    (dict(name='app', tags={'': '1'}), 'tag key'),
    (dict(name='app', tags={'k' * 129: '1'}), 'tag key'),
    (dict(name='app', tags={'k': 'v' * 129}), 'value of tag'),
    (dict(name='app', tags=dict(('k%d' % i, 'v') for i in range(21))), 'at most 20'),
])
def test_invalid_input_fails_before_any_call(params, fragment):
    ram = FakeRam()
    result = run_fail(ram, **params)
    assert fragment in result['msg']
    assert ram.log == []


def test_validate_tags_stringifies_values():
    assert validate_tags({'a': 1, 'b': None, 'c': True}) == {'a': '1', 'b': '', 'c': 'true'}
    assert validate_tags(None) is None
    with pytest.raises(InputError):
        validate_tags({'a': [1]})


def test_validate_common_accepts_good_input():
    validate_common(dict(name='a.b-C1', description='x' * 1024, max_session_duration=43200, tags={'k': 'v'},
                         trusted_services=None, assume_role_policy_document=json.dumps(ECS_TRUST)))


# -- create --------------------------------------------------------------------------------------

def test_create_defaults_to_ecs_trust_and_3600_with_tags_in_create_role():
    ram = FakeRam()
    result = run(ram, tags={'b': '2', 'a': 1})
    assert ram.actions == ['GetRole', 'CreateRole']
    params = ram.log[1][1]
    assert json.loads(params['AssumeRolePolicyDocument'])['Statement'][0]['Principal'] == {'Service': ['ecs.aliyuncs.com']}
    assert params['MaxSessionDuration'] == 3600
    assert params['Tag'] == [{'Key': 'a', 'Value': '1'}, {'Key': 'b', 'Value': '2'}]
    assert result['changed'] is True
    assert result['role']['role_id'] == '3001' and result['role']['tags'] == {'a': '1', 'b': '2'}
    assert result['role']['update_date'] == 'T0'


def test_check_mode_create_predicts_without_service_fields():
    ram = FakeRam()
    result = run(ram, check_mode=True, diff=True, description='x', max_session_duration=7200)
    assert ram.writes == []
    assert result['changed'] is True
    assert set(result['role']) == {'role_name', 'description', 'assume_role_policy_document', 'max_session_duration', 'tags',
                                   'attached_policies'}
    assert result['role']['max_session_duration'] == 7200
    assert result['diff']['before'] == {}


def test_create_race_converges_the_existing_role():
    ram = FakeRam()
    racer = existing(Description='theirs')['app']

    def appear():
        ram.roles['app'] = racer  # created by someone else after our GetRole

    ram.fail_next['CreateRole'] = appear
    result = run(ram, description='mine')
    assert ram.actions == ['GetRole', 'CreateRole', 'GetRole', 'ListPoliciesForRole', 'ListTagResources', 'UpdateRole']
    assert result['changed'] is True
    assert result['role']['description'] == 'mine' and result['role']['role_id'] == '3001'


# -- update --------------------------------------------------------------------------------------

def test_no_change_makes_three_reads_and_no_write():
    ram = FakeRam(existing(tags={'a': '1'}))
    result = run(ram, description='d', max_session_duration=3600, trusted_services=['ecs.aliyuncs.com'], tags={'a': '1'})
    assert result['changed'] is False
    assert ram.actions == ['GetRole', 'ListPoliciesForRole', 'ListTagResources']


def test_existing_trust_is_kept_when_no_trust_option_is_given():
    ram = FakeRam(existing(AssumeRolePolicyDocument=json.dumps(OTHER_TRUST)))
    result = run(ram)
    assert result['changed'] is False and ram.writes == []
    assert result['role']['assume_role_policy_document'] == OTHER_TRUST


def test_equivalent_trust_in_another_form_is_no_change():
    text = '{"Version": "1", "Statement": {"Principal": {"Service": "ecs.aliyuncs.com"}, "Action": ["sts:AssumeRole"], "Effect": "Allow"}}'
    ram = FakeRam(existing(AssumeRolePolicyDocument=text))
    assert run(ram, trusted_services=['ecs.aliyuncs.com'])['changed'] is False
    assert run(ram, assume_role_policy_document=json.dumps(ECS_TRUST))['changed'] is False
    assert ram.writes == []


def test_drift_is_one_update_role_with_only_changed_fields():
    ram = FakeRam(existing())
    result = run(ram, description='new', max_session_duration=3600, trusted_services=['ecs.aliyuncs.com', 'fc.aliyuncs.com'],
                 diff=True)
    assert ram.writes == ['UpdateRole']
    params = ram.log[-1][1]
    assert set(params) == {'RoleName', 'NewDescription', 'NewAssumeRolePolicyDocument'}
    assert result['role']['role_id'] == '3001' and result['role']['update_date'] == 'T9'
    assert result['diff']['before']['description'] == 'd' and result['diff']['after']['description'] == 'new'
    services = result['diff']['after']['assume_role_policy_document']['Statement'][0]['Principal']['Service']
    assert services == ['ecs.aliyuncs.com', 'fc.aliyuncs.com']


def test_check_mode_update_predicts_the_real_run():
    params = dict(description='new', max_session_duration=9000, tags={'b': '2'})
    ram = FakeRam(existing(tags={'a': '1'}))
    predicted = run(ram, check_mode=True, diff=True, **params)
    assert ram.writes == []
    real = run(ram, diff=True, **params)
    assert predicted['changed'] is real['changed'] is True
    assert predicted['diff'] == real['diff']
    for key in ('role_id', 'arn', 'description', 'max_session_duration', 'tags', 'assume_role_policy_document'):
        assert predicted['role'][key] == real['role'][key]
    assert ram.writes == ['UpdateRole', 'UntagResources', 'TagResources']


@pytest.mark.parametrize('current, params, writes, final', [
    ({'a': '1'}, dict(tags={'a': '1'}), [], {'a': '1'}),
    ({'a': '1'}, dict(tags={'b': '2'}, purge_tags=False), ['TagResources'], {'a': '1', 'b': '2'}),
    ({'a': '1', 'b': '2'}, dict(tags={'a': 'x'}), ['UntagResources', 'TagResources'], {'a': 'x'}),
    ({'a': '1'}, dict(tags={}), ['UntagResources'], {}),
    ({'a': '1'}, dict(tags={}, purge_tags=False), [], {'a': '1'}),
    ({'a': '1'}, dict(), [], {'a': '1'}),
])
def test_tag_plans(current, params, writes, final):
    ram = FakeRam(existing(tags=dict(current)))
    result = run(ram, **params)
    assert ram.writes == writes
    assert result['changed'] is bool(writes)
    assert result['role']['tags'] == final == ram.roles['app']['tags']


def test_more_than_20_tags_after_merge_fails_before_writing():
    ram = FakeRam(existing(tags=dict(('k%d' % i, 'v') for i in range(15))))
    result = run_fail(ram, tags=dict(('n%d' % i, 'v') for i in range(10)), purge_tags=False)
    assert 'limit is 20' in result['msg'] and ram.writes == []


def test_tags_fall_back_to_list_roles_when_tag_api_is_missing():
    ram = FakeRam(existing(tags={'a': '1'}), tag_api=False)
    result = run(ram)
    assert result['role']['tags'] == {'a': '1'}
    assert ram.actions == ['GetRole', 'ListPoliciesForRole', 'ListTagResources', 'ListRoles']


def test_other_tag_api_errors_fail_cleanly():
    ram = FakeRam(existing())
    ram.fail_next['ListTagResources'] = AlicloudApiError('NoPermission', 'You are not authorized.', 'RID-9', 403)
    result = run_fail(ram)
    assert 'read tags of role app failed' in result['msg'] and result['error']['request_id'] == 'RID-9'


# -- absent --------------------------------------------------------------------------------------

def test_absent_role_is_no_change():
    ram = FakeRam()
    result = run(ram, state='absent')
    assert result == {'changed': False, 'role': {}}
    assert ram.actions == ['GetRole']


def test_delete_blocked_by_policies_and_instances_names_them():
    policies = [{'PolicyName': 'AliyunOSSReadOnlyAccess', 'PolicyType': 'System'}]
    ram = FakeRam(existing(policies=policies))
    ecs = FakeEcs({'i-1': 'app', 'i-2': 'other'})
    result = run_fail(ram, ecs=ecs, state='absent')
    assert 'AliyunOSSReadOnlyAccess' in result['msg'] and 'i-1' in result['msg'] and 'i-2' not in result['msg']
    assert result['instance_ids'] == ['i-1']
    assert ram.writes == [] and [a for a, _p in ecs.log] == ['DescribeInstanceRamRole']


def test_force_detaches_instances_in_batches_then_policies_then_deletes():
    policies = [{'PolicyName': 'P1', 'PolicyType': 'Custom'}, {'PolicyName': 'AliyunECSFullAccess', 'PolicyType': 'System'}]
    ram = FakeRam(existing(policies=policies))
    holders = dict(('i-%03d' % i, 'app') for i in range(150))
    ecs = FakeEcs(holders)
    result = run(ram, ecs=ecs, state='absent', force=True)
    detach_calls = [p for a, p in ecs.log if a == 'DetachInstanceRamRole']
    assert [len(json.loads(p['InstanceIds'])) for p in detach_calls] == [100, 50]
    assert ram.writes == ['DetachPolicyFromRole', 'DetachPolicyFromRole', 'DeleteRole']
    assert result['changed'] is True and result['role'] == {}
    assert len(result['detached_instance_ids']) == 150 and 'app' not in ram.roles


def test_delete_conflict_race_is_retried_after_re_detaching():
    ram = FakeRam(existing())

    def someone_attaches():
        ram.roles['app']['policies'] = [{'PolicyName': 'Late', 'PolicyType': 'Custom'}]

    ram.fail_next['DeleteRole'] = someone_attaches
    result = run(ram, state='absent', force=True)
    assert ram.writes == ['DeleteRole', 'DetachPolicyFromRole', 'DeleteRole']
    assert result['changed'] is True and 'app' not in ram.roles


def test_delete_conflict_without_force_fails_with_the_api_error():
    ram = FakeRam(existing())

    def someone_attaches():
        ram.roles['app']['policies'] = [{'PolicyName': 'Late', 'PolicyType': 'Custom'}]

    ram.fail_next['DeleteRole'] = someone_attaches
    result = run_fail(ram, state='absent')
    assert result['error']['code'] == 'DeleteConflict.Role.Policy'


def test_no_region_skips_instance_check_with_a_warning(monkeypatch):
    monkeypatch.delenv('ALIBABA_CLOUD_REGION_ID', raising=False)
    monkeypatch.delenv('ALICLOUD_REGION', raising=False)
    monkeypatch.delenv('ALICLOUD_REGION_ID', raising=False)
    ram = FakeRam(existing())
    module = FakeModule(ram, dict(state='absent', region=None))
    with pytest.raises(Exit) as exc:
        InstanceRoleManager(module).run()
    assert exc.value.result['changed'] is True
    assert module.warnings and 'no region' in module.warnings[0]
    assert module.ecs.log == []


def test_check_mode_delete_with_force_writes_nothing():
    ram = FakeRam(existing(policies=[{'PolicyName': 'P', 'PolicyType': 'Custom'}]))
    result = run(ram, check_mode=True, diff=True, state='absent', force=True)
    assert result['changed'] is True and ram.writes == [] and 'app' in ram.roles
    assert result['diff']['after'] == {} and result['detached_policies'] == [{'name': 'P', 'type': 'Custom', 'policy_name': 'P', 'policy_type': 'Custom'}]


# -- info ----------------------------------------------------------------------------------------

def run_info(ram, max_items=1000, **params):
    params.setdefault('name', None)
    module = FakeModule(ram, params)
    with pytest.raises(Exit) as exc:
        InstanceRoleInfo(module, max_items=max_items).run()
    return exc.value.result


def _many_roles(count):
    roles = {}
    for i in range(count):
        name = 'r%04d' % i
        trust = ECS_TRUST if i % 2 == 0 else OTHER_TRUST
        roles[name] = {'RoleName': name, 'RoleId': str(i), 'AssumeRolePolicyDocument': json.dumps(trust), 'tags': {'i': str(i)},
                       'policies': []}
    return roles


def test_info_pages_past_the_page_size_and_filters_instance_roles():
    ram = FakeRam(_many_roles(25))
    result = run_info(ram, max_items=10, name_prefix='R000')
    assert result['changed'] is False
    assert ram.actions.count('ListRoles') == 3
    assert [r['role_name'] for r in result['roles']] == ['r%04d' % i for i in range(0, 10, 2)]
    assert all(r['ecs_can_assume'] for r in result['roles'])
    assert result['roles'][1]['tags'] == {'i': '2'}
    # trust needs GetRole for every match; policies only for the kept ones; tags from the listing
    assert ram.actions.count('GetRole') == 10 and ram.actions.count('ListPoliciesForRole') == 5
    assert 'ListTagResources' not in ram.actions and ram.writes == []


def test_info_all_roles_past_1000():
    ram = FakeRam(_many_roles(1001))
    result = run_info(ram, instance_roles_only=False)
    assert ram.actions.count('ListRoles') == 2
    assert len(result['roles']) == 1001
    assert [r['ecs_can_assume'] for r in result['roles'][:2]] == [True, False]


def test_info_by_name_is_a_single_get_role_without_listing():
    ram = FakeRam(existing(tags={'a': '1'}))
    result = run_info(ram, name='APP')
    assert sorted(ram.actions) == ['GetRole', 'ListPoliciesForRole', 'ListTagResources']
    assert result['roles'][0]['role_name'] == 'app' and result['roles'][0]['tags'] == {'a': '1'}


def test_info_by_name_missing_or_not_an_instance_role():
    assert run_info(FakeRam(), name='nope')['roles'] == []
    ram = FakeRam(existing(AssumeRolePolicyDocument=json.dumps(OTHER_TRUST)))
    assert run_info(ram, name='app')['roles'] == []
    assert run_info(ram, name='app', instance_roles_only=False)['roles'][0]['ecs_can_assume'] is False


def test_info_skips_roles_deleted_between_list_and_get():
    ram = FakeRam(_many_roles(3))
    ram.fail_next['GetRole'] = not_found
    result = run_info(ram, instance_roles_only=False)
    assert [r['role_name'] for r in result['roles']] == ['r0001', 'r0002']


def test_reader_tag_fallback_is_remembered():
    ram = FakeRam(_many_roles(2), tag_api=False)
    reader = RoleReader(ram)
    assert reader.tags('r0000') == {'i': '0'}
    assert reader.tags('r0001') == {'i': '1'}
    assert ram.actions.count('ListTagResources') == 1


def test_unsupported_markers():
    assert instance_role._tag_api_unsupported(AlicloudApiError('InvalidAction.NotFound', ''))
    assert instance_role._tag_api_unsupported(AlicloudApiError('UnsupportedOperation', ''))
    assert not instance_role._tag_api_unsupported(AlicloudApiError('NoPermission', ''))
