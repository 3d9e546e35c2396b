"""RAM actions and their error paths, through the official RAM SDK client."""

import json

from alibabacloud_ram20150501 import models as m

from tests.emulator.sdkhelpers import ECS_TRUST, error_of, policy


def create_role(ram, name='app-role', doc=ECS_TRUST, **kwargs):
    return ram.create_role(m.CreateRoleRequest(role_name=name, assume_role_policy_document=doc, **kwargs)).body


def test_role_lifecycle(ram):
    role = create_role(ram, 'App.Role-1', description='web tier', max_session_duration=7200,
                       tag=[m.CreateRoleRequestTag(key='env', value='dev')]).role
    assert role.arn == 'acs:ram::1234567890123456:role/app.role-1'
    assert role.role_id.isdigit() and 16 <= len(role.role_id) <= 19
    assert role.create_date.endswith('Z') and len(role.create_date) == 20
    got = ram.get_role(m.GetRoleRequest(role_name='app.role-1')).body.role
    assert got.role_name == 'App.Role-1' and got.max_session_duration == 7200
    assert got.role_principal_name == 'App.Role-1@role.1234567890123456.onaliyunservice.com'
    updated = ram.update_role(m.UpdateRoleRequest(role_name='App.Role-1', new_description='changed', new_max_session_duration=3600)).body.role
    assert updated.description == 'changed' and updated.max_session_duration == 3600
    listed = ram.list_roles(m.ListRolesRequest()).body
    assert listed.is_truncated is False
    assert [(t.tag_key, t.tag_value) for t in listed.roles.role[0].tags.tag] == [('env', 'dev')]
    ram.delete_role(m.DeleteRoleRequest(role_name='APP.ROLE-1'))
    assert error_of(ram.get_role, m.GetRoleRequest(role_name='App.Role-1')).code == 'EntityNotExist.Role'


def test_role_validation_errors(ram):
    cases = [
        (dict(name='bad name'), 'InvalidParameter.RoleName.InvalidChars', 400),
        (dict(name='x' * 65), 'InvalidParameter.RoleName.Length', 400),
        (dict(doc='{not json'), 'MalformedPolicyDocument', 400),
        (dict(doc='{"Version": "1"}'), 'MalformedPolicyDocument', 400),
        (dict(doc=json.dumps({'Statement': [{'Effect': 'Allow', 'Action': 'x:' + 'y' * 6200}]})), 'InvalidParameter.AssumeRolePolicyDocument.Length', 400),
        (dict(max_session_duration=100), 'InvalidParameter.MaxSessionDuration', 400),
        (dict(description='d' * 1025), 'InvalidParameter.Description.Length', 400),
    ]
    for kwargs, code, status in cases:
        exc = error_of(lambda kw=kwargs: create_role(ram, **kw))
        assert (exc.code, exc.status_code) == (code, status), kwargs
    create_role(ram, 'dup')
    exc = error_of(lambda: create_role(ram, 'DUP'))
    assert (exc.code, exc.status_code) == ('EntityAlreadyExists.Role', 409)
    exc = error_of(ram.update_role, m.UpdateRoleRequest(role_name='dup', new_assume_role_policy_document='[]'))
    assert exc.code == 'MalformedPolicyDocument'
    exc = error_of(ram.get_role, m.GetRoleRequest())
    assert exc.code == 'MissingParameter' and exc.data['HostId'] == 'ram.aliyuncs.com' and 'Recommend' in exc.data


def test_list_roles_paging(ram):
    for number in range(7):
        create_role(ram, 'role-%d' % number)
    names, marker = [], None
    while True:
        body = ram.list_roles(m.ListRolesRequest(max_items=3, marker=marker)).body
        names += [r.role_name for r in body.roles.role]
        if not body.is_truncated:
            break
        marker = body.marker
    assert names == ['role-%d' % n for n in range(7)]
    assert error_of(ram.list_roles, m.ListRolesRequest(max_items=1001)).code == 'InvalidParameter.MaxItems'


def test_role_policies_attach_detach_and_delete_conflict(ram):
    create_role(ram)
    ram.attach_policy_to_role(m.AttachPolicyToRoleRequest(policy_type='System', policy_name='aliyunossreadonlyaccess', role_name='app-role'))
    exc = error_of(ram.attach_policy_to_role, m.AttachPolicyToRoleRequest(policy_type='System', policy_name='AliyunOSSReadOnlyAccess', role_name='app-role'))
    assert (exc.code, exc.status_code) == ('EntityAlreadyExists.Role.Policy', 409)
    listed = ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name='app-role')).body.policies.policy
    assert [(p.policy_name, p.policy_type, p.default_version) for p in listed] == [('AliyunOSSReadOnlyAccess', 'System', 'v1')]
    exc = error_of(ram.delete_role, m.DeleteRoleRequest(role_name='app-role'))
    assert (exc.code, exc.status_code) == ('DeleteConflict.Role.Policy', 409)
    exc = error_of(ram.attach_policy_to_role, m.AttachPolicyToRoleRequest(policy_type='Custom', policy_name='nope', role_name='app-role'))
    assert (exc.code, exc.status_code) == ('EntityNotExist.Policy', 404)
    exc = error_of(ram.attach_policy_to_role, m.AttachPolicyToRoleRequest(policy_type='Other', policy_name='nope', role_name='app-role'))
    assert exc.code == 'InvalidParameter.PolicyType'
    exc = error_of(ram.attach_policy_to_role, m.AttachPolicyToRoleRequest(policy_type='System', policy_name='AdministratorAccess', role_name='ghost'))
    assert (exc.code, exc.status_code) == ('EntityNotExist.Role', 404)
    ram.detach_policy_from_role(m.DetachPolicyFromRoleRequest(policy_type='System', policy_name='AliyunOSSReadOnlyAccess', role_name='app-role'))
    detach = m.DetachPolicyFromRoleRequest(policy_type='System', policy_name='AliyunOSSReadOnlyAccess', role_name='app-role')
    exc = error_of(ram.detach_policy_from_role, detach)
    assert (exc.code, exc.status_code) == ('EntityNotExist.Role.Policy', 404)
    ram.delete_role(m.DeleteRoleRequest(role_name='app-role'))


def test_custom_policy_versions_limit_and_rotation(ram):
    created = ram.create_policy(m.CreatePolicyRequest(policy_name='app-policy', policy_document=policy(), description='d')).body.policy
    assert (created.policy_type, created.default_version) == ('Custom', 'v1')
    for number in range(2, 6):
        version = ram.create_policy_version(m.CreatePolicyVersionRequest(policy_name='app-policy', policy_document=policy('oss:Get%d' % number),
                                                                         set_as_default=number == 5)).body.policy_version
        assert version.version_id == 'v%d' % number
    exc = error_of(ram.create_policy_version, m.CreatePolicyVersionRequest(policy_name='app-policy', policy_document=policy()))
    assert (exc.code, exc.status_code) == ('LimitExceeded.Policy.Version', 409)
    rotated = ram.create_policy_version(m.CreatePolicyVersionRequest(
        policy_name='app-policy', policy_document=policy('oss:PutObject'), set_as_default=True,
        rotate_strategy='DeleteOldestNonDefaultVersionWhenLimitExceeded')).body.policy_version
    assert rotated.version_id == 'v6' and rotated.is_default_version is True
    versions = ram.list_policy_versions(m.ListPolicyVersionsRequest(policy_name='app-policy', policy_type='Custom')).body
    assert [v.version_id for v in versions.policy_versions.policy_version] == ['v2', 'v3', 'v4', 'v5', 'v6']
    got = ram.get_policy(m.GetPolicyRequest(policy_name='app-policy', policy_type='Custom')).body
    assert got.default_policy_version.version_id == 'v6' and 'oss:PutObject' in got.default_policy_version.policy_document
    exc = error_of(ram.delete_policy_version, m.DeletePolicyVersionRequest(policy_name='app-policy', version_id='v6'))
    assert (exc.code, exc.status_code) == ('DeleteConflict.Policy.Version.Default', 409)
    assert error_of(ram.get_policy_version, m.GetPolicyVersionRequest(policy_name='app-policy', policy_type='Custom', version_id='x1')).code == \
        'InvalidParameter.VersionId.Format'
    assert error_of(ram.get_policy_version, m.GetPolicyVersionRequest(policy_name='app-policy', policy_type='Custom', version_id='v1')).code == \
        'EntityNotExist.Policy.Version'
    ram.set_default_policy_version(m.SetDefaultPolicyVersionRequest(policy_name='app-policy', version_id='v2'))
    ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name='app-policy', version_id='v6'))
    version = ram.get_policy_version(m.GetPolicyVersionRequest(policy_name='app-policy', policy_type='Custom', version_id='v2')).body.policy_version
    assert version.is_default_version is True
    exc = error_of(ram.delete_policy, m.DeletePolicyRequest(policy_name='app-policy'))
    assert (exc.code, exc.status_code) == ('DeleteConflict.Policy.Version', 409)
    ram.delete_policy(m.DeletePolicyRequest(policy_name='app-policy', cascading_delete=True))
    assert error_of(ram.get_policy, m.GetPolicyRequest(policy_name='app-policy', policy_type='Custom')).code == 'EntityNotExist.Policy'


def test_policy_errors_entities_and_listing(ram):
    exc = error_of(ram.create_policy, m.CreatePolicyRequest(policy_name='bad.name', policy_document=policy()))
    assert exc.code == 'InvalidParameter.PolicyName.InvalidChars'
    exc = error_of(ram.create_policy, m.CreatePolicyRequest(policy_name='big', policy_document=policy('x:' + 'y' * 6200)))
    assert exc.code == 'InvalidParameter.PolicyDocument.Length'
    exc = error_of(ram.create_policy, m.CreatePolicyRequest(policy_name='big', policy_document='{"Statement": "no"}'))
    assert exc.code == 'MalformedPolicyDocument'
    ram.create_policy(m.CreatePolicyRequest(policy_name='shared', policy_document=policy()))
    exc = error_of(ram.create_policy, m.CreatePolicyRequest(policy_name='SHARED', policy_document=policy()))
    assert (exc.code, exc.status_code) == ('EntityAlreadyExists.Policy', 409)
    create_role(ram)
    ram.create_user(m.CreateUserRequest(user_name='alice'))
    ram.attach_policy_to_role(m.AttachPolicyToRoleRequest(policy_type='Custom', policy_name='shared', role_name='app-role'))
    exc = error_of(ram.delete_policy, m.DeletePolicyRequest(policy_name='shared'))
    assert (exc.code, exc.status_code) == ('DeleteConflict.Role.Policy', 409)
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(policy_type='Custom', policy_name='shared', user_name='alice'))
    exc = error_of(ram.delete_policy, m.DeletePolicyRequest(policy_name='shared'))
    assert (exc.code, exc.status_code) == ('DeleteConflict.Policy.User', 409)
    entities = ram.list_entities_for_policy(m.ListEntitiesForPolicyRequest(policy_name='shared', policy_type='Custom')).body
    assert [r.role_name for r in entities.roles.role] == ['app-role']
    assert [u.user_name for u in entities.users.user] == ['alice']
    assert ram.get_policy(m.GetPolicyRequest(policy_name='shared', policy_type='Custom')).body.policy.attachment_count == 2
    custom = ram.list_policies(m.ListPoliciesRequest(policy_type='Custom')).body.policies.policy
    assert [p.policy_name for p in custom] == ['shared']
    system, marker = [], None
    while True:
        body = ram.list_policies(m.ListPoliciesRequest(policy_type='System', max_items=10, marker=marker)).body
        system += [p.policy_name for p in body.policies.policy]
        if not body.is_truncated:
            break
        marker = body.marker
    assert len(system) >= 25 and 'AliyunECSFullAccess' in system and 'AliyunSTSAssumeRoleAccess' in system
    doc = ram.get_policy(m.GetPolicyRequest(policy_name='aliyunecsreadonlyaccess', policy_type='System')).body
    assert doc.policy.policy_name == 'AliyunECSReadOnlyAccess' and json.loads(doc.default_policy_version.policy_document)['Statement']


def test_users(ram):
    user = ram.create_user(m.CreateUserRequest(user_name='bob', display_name='Bob')).body.user
    assert user.user_name == 'bob' and user.user_id.isdigit()
    assert error_of(ram.create_user, m.CreateUserRequest(user_name='Bob')).code == 'EntityAlreadyExists.User'
    assert error_of(ram.create_user, m.CreateUserRequest(user_name='b b')).code == 'InvalidParameter.UserName.InvalidChars'
    assert ram.get_user(m.GetUserRequest(user_name='bob')).body.user.display_name == 'Bob'
    names = [u.user_name for u in ram.list_users(m.ListUsersRequest()).body.users.user]
    assert sorted(names) == ['bob', 'emulator-admin']
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(policy_type='System', policy_name='ReadOnlyAccess', user_name='bob'))
    exc = error_of(ram.attach_policy_to_user, m.AttachPolicyToUserRequest(policy_type='System', policy_name='ReadOnlyAccess', user_name='bob'))
    assert exc.code == 'EntityAlreadyExists.User.Policy'
    listed = ram.list_policies_for_user(m.ListPoliciesForUserRequest(user_name='bob')).body.policies.policy
    assert [p.policy_name for p in listed] == ['ReadOnlyAccess']
    assert error_of(ram.delete_user, m.DeleteUserRequest(user_name='bob')).code == 'DeleteConflict.User.Policy'
    ram.detach_policy_from_user(m.DetachPolicyFromUserRequest(policy_type='System', policy_name='ReadOnlyAccess', user_name='bob'))
    exc = error_of(ram.detach_policy_from_user, m.DetachPolicyFromUserRequest(policy_type='System', policy_name='ReadOnlyAccess', user_name='bob'))
    assert (exc.code, exc.status_code) == ('EntityNotExist.User.Policy', 404)
    ram.delete_user(m.DeleteUserRequest(user_name='bob'))
    assert error_of(ram.get_user, m.GetUserRequest(user_name='bob')).code == 'EntityNotExist.User'


def test_role_tags(ram):
    create_role(ram, 'tagged', tag=[m.CreateRoleRequestTag(key='a', value='1')])
    create_role(ram, 'other')
    ram.tag_resources(m.TagResourcesRequest(resource_type='role', resource_names=['tagged', 'other'],
                                            tag=[m.TagResourcesRequestTag(key='team', value='ops')]))
    rows = ram.list_tag_resources(m.ListTagResourcesRequest(resource_type='role', resource_names=['tagged'])).body.tag_resources
    assert sorted((r.tag_key, r.tag_value) for r in rows) == [('a', '1'), ('team', 'ops')]
    ram.untag_resources(m.UntagResourcesRequest(resource_type='role', resource_names=['tagged'], tag_keys=['a']))
    filtered = ram.list_roles(m.ListRolesRequest(tag=[m.ListRolesRequestTag(key='team', value='ops')])).body.roles.role
    assert sorted(r.role_name for r in filtered) == ['other', 'tagged']
    tags = [r for r in ram.list_roles(m.ListRolesRequest()).body.roles.role if r.role_name == 'tagged'][0].tags.tag
    assert [(t.tag_key, t.tag_value) for t in tags] == [('team', 'ops')]
    exc = error_of(ram.tag_resources, m.TagResourcesRequest(resource_type='role', resource_names=['ghost'], tag=[m.TagResourcesRequestTag(key='k', value='v')]))
    assert exc.code == 'EntityNotExist.Role'


def group_policies(ram, name='ops'):
    return [(p.policy_name, p.policy_type) for p in ram.list_policies_for_group(m.ListPoliciesForGroupRequest(group_name=name)).body.policies.policy]


def test_group_lifecycle_and_errors(emulator, ram):
    created = ram.create_group(m.CreateGroupRequest(group_name='ops', comments='operators')).body.group
    assert (created.group_name, created.comments) == ('ops', 'operators') and created.group_id.isdigit() and created.create_date.endswith('Z')
    emulator.create_group('dev.team-2')
    emulator.create_group('dev.team-2')
    got = ram.get_group(m.GetGroupRequest(group_name='OPS')).body.group
    assert (got.group_name, got.group_id, got.comments) == ('ops', created.group_id, 'operators') and got.update_date
    assert [g.group_name for g in ram.list_groups(m.ListGroupsRequest()).body.groups.group] == ['ops', 'dev.team-2']
    first = ram.list_groups(m.ListGroupsRequest(max_items=1)).body
    assert first.is_truncated and [g.group_name for g in ram.list_groups(m.ListGroupsRequest(marker=first.marker)).body.groups.group] == ['dev.team-2']
    cases = [
        (ram.create_group, m.CreateGroupRequest(group_name='OPS'), 'EntityAlreadyExists.Group', 409),
        (ram.create_group, m.CreateGroupRequest(group_name='bad_name'), 'InvalidParameter.GroupName.InvalidChars', 400),
        (ram.create_group, m.CreateGroupRequest(group_name='g' * 65), 'InvalidParameter.GroupName.Length', 400),
        (ram.create_group, m.CreateGroupRequest(group_name='long', comments='c' * 129), 'InvalidParameter.Comments.Length', 400),
        (ram.get_group, m.GetGroupRequest(group_name='ghost'), 'EntityNotExist.Group', 404),
        (ram.get_group, m.GetGroupRequest(), 'MissingParameter', 400),
        (ram.list_policies_for_group, m.ListPoliciesForGroupRequest(group_name='ghost'), 'EntityNotExist.Group', 404),
        (ram.delete_group, m.DeleteGroupRequest(group_name='ghost'), 'EntityNotExist.Group', 404),
    ]
    for call, request, code, status in cases:
        exc = error_of(call, request)
        assert (exc.code, exc.status_code) == (code, status), request
    ram.delete_group(m.DeleteGroupRequest(group_name='dev.team-2'))
    assert [g['GroupName'] for g in emulator.state()['groups']] == ['ops']


def test_group_policy_attachments(ram):
    ram.create_group(m.CreateGroupRequest(group_name='ops'))
    ram.create_policy(m.CreatePolicyRequest(policy_name='shared', policy_document=policy()))
    create_role(ram)

    def attach(name, kind='Custom', group='ops'):
        ram.attach_policy_to_group(m.AttachPolicyToGroupRequest(group_name=group, policy_name=name, policy_type=kind))
    attach('shared')
    attach('AliyunOSSReadOnlyAccess', 'System')
    ram.attach_policy_to_role(m.AttachPolicyToRoleRequest(policy_type='Custom', policy_name='shared', role_name='app-role'))
    assert group_policies(ram) == [('shared', 'Custom'), ('AliyunOSSReadOnlyAccess', 'System')]
    attached_to_role = ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name='app-role')).body.policies.policy
    assert [(p.policy_name, p.policy_type) for p in attached_to_role] == [('shared', 'Custom')]
    entities = ram.list_entities_for_policy(m.ListEntitiesForPolicyRequest(policy_name='shared', policy_type='Custom')).body
    assert [(g.group_name, bool(g.attach_date)) for g in entities.groups.group] == [('ops', True)]
    assert [r.role_name for r in entities.roles.role] == ['app-role'] and entities.users.user == []
    assert ram.get_policy(m.GetPolicyRequest(policy_name='shared', policy_type='Custom')).body.policy.attachment_count == 2
    exc = error_of(attach, 'shared')
    assert (exc.code, exc.status_code) == ('EntityAlreadyExists.Group.Policy', 409)
    assert error_of(attach, 'ghost').code == 'EntityNotExist.Policy'
    assert error_of(attach, 'shared', 'Custom', 'ghost').code == 'EntityNotExist.Group'
    exc = error_of(ram.delete_policy, m.DeletePolicyRequest(policy_name='shared'))
    assert (exc.code, exc.status_code) == ('DeleteConflict.Policy.Group', 409)
    exc = error_of(ram.delete_group, m.DeleteGroupRequest(group_name='ops'))
    assert (exc.code, exc.status_code) == ('DeleteConflict.Group.Policy', 409)
    ram.detach_policy_from_group(m.DetachPolicyFromGroupRequest(group_name='ops', policy_name='shared', policy_type='Custom'))
    exc = error_of(ram.detach_policy_from_group, m.DetachPolicyFromGroupRequest(group_name='ops', policy_name='shared', policy_type='Custom'))
    assert (exc.code, exc.status_code) == ('EntityNotExist.Group.Policy', 404)
    assert group_policies(ram) == [('AliyunOSSReadOnlyAccess', 'System')]
    exc = error_of(ram.delete_policy, m.DeletePolicyRequest(policy_name='shared'))
    assert exc.code == 'DeleteConflict.Role.Policy', 'the role attachment still blocks it'
    for name in ('AdministratorAccess', 'ReadOnlyAccess', 'AliyunECSFullAccess', 'AliyunECSReadOnlyAccess', 'AliyunRAMFullAccess',
                 'AliyunRAMReadOnlyAccess', 'AliyunSTSAssumeRoleAccess', 'AliyunOSSFullAccess', 'AliyunVPCFullAccess',
                 'AliyunVPCReadOnlyAccess', 'AliyunLogFullAccess', 'AliyunLogReadOnlyAccess', 'AliyunRDSFullAccess',
                 'AliyunRDSReadOnlyAccess', 'AliyunSLBFullAccess', 'AliyunSLBReadOnlyAccess', 'AliyunCloudMonitorFullAccess',
                 'AliyunCloudMonitorReadOnlyAccess', 'AliyunKMSFullAccess'):   # 19 more System policies: 20 in all
        attach(name, 'System')
    exc = error_of(attach, 'AliyunKMSReadOnlyAccess', 'System')
    assert (exc.code, exc.status_code) == ('LimitExceeded.Group.Policy', 409)
