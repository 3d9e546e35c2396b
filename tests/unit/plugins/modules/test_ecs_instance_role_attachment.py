# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decision logic of ecs_instance_role_attachment / ecs_instance_role_info with the network stubbed."""

import json
import threading

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import instance_attachment as ia
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError

ECS_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Service': ['ecs.aliyuncs.com']}}],
                        'Version': '1'})


class FakeEcs(object):
    """A tiny ECS: instances with a network type and a role; both DescribeInstanceRamRole behaviours."""

    def __init__(self, instances, omit_roleless=False, strict_unknown=True, strict_classic=False, fail_attach=None,
                 attach_error=None, invisible_attempts=0):
        self.instances = instances            # id -> {'net': 'vpc'|'classic', 'role': str|None}
        self.omit_roleless = omit_roleless      # role-less instances left out of DescribeInstanceRamRole
        self.strict_unknown = strict_unknown    # an unknown id fails the whole page
        self.strict_classic = strict_classic    # a classic id fails the whole page
        self.fail_attach = fail_attach or {}    # id -> (code, message) per-instance failure
        self.attach_error = attach_error        # request-level error for every attach
        self.invisible_attempts = invisible_attempts
        self.log = []
        self.lock = threading.Lock()

    def call(self, action, params=None, retry_codes=()):
        with self.lock:
            self.log.append((action, dict(params)))
            return getattr(self, action)(params)

    def _ids(self, params):
        return json.loads(params['InstanceIds'])

    def DescribeInstanceRamRole(self, params):
        ids = self._ids(params)
        assert len(ids) <= 50 and params['PageSize'] == 50
        sets = []
        for iid in ids:
            inst = self.instances.get(iid)
            if inst is None:
                if self.strict_unknown:
                    raise AlicloudApiError('InvalidInstanceId.NotFound', 'The specified InstanceId does not exist.', 'RID-R', 404)
                continue
            if inst['net'] == 'classic' and self.strict_classic:
                raise AlicloudApiError('InvalidNetworkType.MismatchRamRole', 'classic', 'RID-C', 403)
            if inst['role'] and params.get('RamRoleName') and inst['role'].lower() != params['RamRoleName'].lower():
                continue
            if inst['role'] or not self.omit_roleless:
                sets.append({'InstanceId': iid, 'RamRoleName': inst['role'] or ''})
        return {'TotalCount': len(sets), 'InstanceRamRoleSets': {'InstanceRamRoleSet': sets}}

    def DescribeInstances(self, params):
        ids = self._ids(params)
        assert len(ids) <= 100
        found = [{'InstanceId': i, 'InstanceNetworkType': self.instances[i]['net']} for i in ids if i in self.instances]
        return {'TotalCount': len(found), 'Instances': {'Instance': found}, 'NextToken': ''}

    def AttachInstanceRamRole(self, params):
        ids = self._ids(params)
        assert len(ids) <= 100
        if self.invisible_attempts:
            self.invisible_attempts -= 1
            raise AlicloudApiError('InvalidRamRole.NotFound', 'The specified RamRoleName does not exist.', 'RID-V', 404)
        if self.attach_error:
            raise self.attach_error
        results = []
        for iid in ids:
            if iid in self.fail_attach:
                code, message = self.fail_attach[iid]
                results.append({'InstanceId': iid, 'Success': False, 'Code': code, 'Message': message})
            else:
                self.instances[iid]['role'] = params['RamRoleName']
                results.append({'InstanceId': iid, 'Success': True, 'Code': '200', 'Message': 'success'})
        return {'RequestId': 'RID-A', 'FailCount': sum(1 for r in results if not r['Success']),
                'AttachInstanceRamRoleResults': {'AttachInstanceRamRoleResult': results}}

    def DetachInstanceRamRole(self, params):
        ids = self._ids(params)
        assert len(ids) <= 100
        for iid in ids:
            assert self.instances[iid]['role'].lower() == params['RamRoleName'].lower()
            self.instances[iid]['role'] = None
        results = [{'InstanceId': i, 'Success': True, 'Code': '200', 'Message': 'Success'} for i in ids]
        return {'RequestId': 'RID-D', 'FailCount': 0, 'DetachInstanceRamRoleResults': {'DetachInstanceRamRoleResult': results}}

    def actions(self):
        return [a for a, _p in self.log]

    def writes(self):
        return [(a, p) for a, p in self.log if a in ('AttachInstanceRamRole', 'DetachInstanceRamRole')]


class FakeRam(object):
    def __init__(self, roles):
        self.roles = roles
        self.log = []

    def call_or_none(self, action, params=None, **kwargs):
        self.log.append(action)
        role = self.roles.get(params['RoleName'].lower())
        return None if role is None else {'Role': role}


class Done(Exception):
    def __init__(self, failed, result):
        super(Done, self).__init__(result)
        self.failed = failed
        self.result = result


class FakeModule(object):
    def __init__(self, params, ecs, ram, check_mode=False, diff=False):
        base = dict(state='present', policy=None, force=False, concurrency=4, wait=False, wait_timeout=300)
        base.update(params)
        self.params = base
        self.check_mode = check_mode
        self._diff = diff
        self.ecs, self.ram = ecs, ram
        self.warnings = []

    def region(self, service='ecs'):
        return 'cn-hangzhou'

    def client(self, service):
        return self.ecs if service == 'ecs' else self.ram

    def secrets(self):
        return ['SuperSecretValue']

    def warn(self, message):
        self.warnings.append(message)

    def exit_json(self, **result):
        raise Done(False, result)

    def fail_json(self, **result):
        raise Done(True, result)

    def fail_api(self, err, operation, **extra):
        raise Done(True, dict(extra, msg='%s failed: %s' % (operation, err), error=err.to_dict()))


def vpc(*ids, **roles):
    return dict((i, {'net': 'vpc', 'role': roles.get(i.replace('-', '_'))}) for i in ids)


def run(module, ecs):
    attachment = ia.InstanceRoleAttachment(module, sleep=lambda s: None, client_factory=lambda: ecs)
    with pytest.raises(Done) as exc:
        attachment.run()
    return exc.value


def roles():
    return FakeRam({'app': {'RoleName': 'app', 'AssumeRolePolicyDocument': ECS_TRUST},
                    'old': {'RoleName': 'old', 'AssumeRolePolicyDocument': ECS_TRUST},
                    'ramonly': {'RoleName': 'ramonly', 'AssumeRolePolicyDocument': '{"Statement":[{"Action":"sts:AssumeRole",'
                                '"Effect":"Allow","Principal":{"RAM":["acs:ram::1:root"]}}],"Version":"1"}'}})


# -- input validation -------------------------------------------------------------------------


def test_validation_dedupes_ids_and_collects_every_error():
    values, errors = ia.validate_attachment_params(dict(instance_ids=['i-1', 'i-2', 'i-1'], role_name='app', policy=None,
                                                        concurrency=4, wait_timeout=300, state='present'))
    assert errors == [] and values['instance_ids'] == ['i-1', 'i-2']
    _values, errors = ia.validate_attachment_params(dict(instance_ids=[], role_name='bad/name', policy='{"x"',
                                                         concurrency=17, wait_timeout=0))
    assert len(errors) == 5


@pytest.mark.parametrize('ids', [[''], [' i-1'], ['i 1'], [None]])
def test_blank_or_spaced_ids_are_rejected(ids):
    assert ia.unique_instance_ids(ids)[1]


def test_policy_is_compacted_and_limited_to_1024_characters():
    doc = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'oss:GetObject', 'Resource': '*'}]}
    text, error = ia.extra_policy_json(json.dumps(doc, indent=4))
    assert error is None and json.loads(text) == doc and ' ' not in text
    doc['Statement'][0]['Resource'] = ['acs:oss:*:*:bucket-%04d/*' % n for n in range(60)]
    assert 'limit is 1024' in ia.extra_policy_json(doc)[1]


def test_invalid_input_makes_no_call():
    ecs = FakeEcs(vpc('i-1'))
    done = run(FakeModule(dict(instance_ids=['i-1'], role_name='app', concurrency=0), ecs, roles()), ecs)
    assert done.failed and 'concurrency' in done.result['msg'] and ecs.log == []


# -- planning -------------------------------------------------------------------------------------


def test_plan_present_absent_and_force():
    current = {'a': 'APP', 'b': None, 'c': 'old'}
    plan = ia.plan_changes(['a', 'b', 'c', 'd'], current, 'app', 'present', False)
    assert plan.ok == ['a'] and plan.attach == ['b', 'd'] and plan.conflicts == [('c', 'old')] and not plan.replace
    plan = ia.plan_changes(['a', 'b', 'c'], current, 'app', 'present', True)
    assert plan.replace == [('c', 'old')] and plan.write_ids == ['b', 'c']
    plan = ia.plan_changes(['a', 'b', 'c', 'x'], current, 'app', 'absent', False, unknown=['x'])
    assert plan.detach == [('a', 'APP')] and plan.ok == ['b', 'c', 'x']


def test_group_by_role_is_case_insensitive():
    assert ia.group_by_role([('a', 'Old'), ('b', 'x'), ('c', 'old')]) == [('Old', ['a', 'c']), ('x', ['b'])]


# -- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize('omit', [False, True])
def test_reader_handles_omitted_and_empty_role_names(omit):
    ecs = FakeEcs(vpc('i-1', 'i-2', i_1='app'), omit_roleless=omit)
    reader = ia.InstanceRoleReader(ecs, 'cn-hangzhou')
    found = reader.read_roles(['i-1', 'i-2'])
    assert found.get('i-1') == 'app' and found.get('i-2') is None
    assert ecs.actions() == ['DescribeInstanceRamRole']


def test_reader_falls_back_to_describe_instances_for_unknown_and_classic_pages():
    instances = vpc(*['i-%03d' % n for n in range(120)])
    instances['i-classic'] = {'net': 'classic', 'role': None}
    ecs = FakeEcs(instances, strict_classic=True)
    reader = ia.InstanceRoleReader(ecs, 'cn-hangzhou')
    ids = sorted(instances) + ['i-unknown']
    found = reader.read_roles(ids)
    assert set(found) == set(instances) - {'i-classic'}
    assert reader.unknown(ids) == ['i-unknown'] and reader.classic(ids) == ['i-classic']
    # 3 pages, of which the failing one(s) are re-read after one DescribeInstances call
    assert ecs.actions().count('DescribeInstances') == 1


# -- the module's run ---------------------------------------------------------------------------


def test_attach_then_idempotent_second_run():
    ecs = FakeEcs(vpc('i-1', 'i-2', 'i-3', i_3='APP'))
    params = dict(instance_ids=['i-1', 'i-2', 'i-3'], role_name='app')
    done = run(FakeModule(params, ecs, roles()), ecs)
    assert not done.failed and done.result['changed'] and done.result['changed_instance_ids'] == ['i-1', 'i-2']
    assert done.result['attachments'] == {'i-1': 'app', 'i-2': 'app', 'i-3': 'APP'}
    ecs.log = []
    done = run(FakeModule(params, ecs, roles()), ecs)
    assert done.result['changed'] is False and ecs.actions() == ['DescribeInstanceRamRole']


def test_check_mode_predicts_without_writing_and_diff_shows_only_changes():
    ecs = FakeEcs(vpc('i-1', 'i-2', 'i-3', i_2='old', i_3='app'))
    params = dict(instance_ids=['i-1', 'i-2', 'i-3'], role_name='app', force=True)
    check = run(FakeModule(params, ecs, roles(), check_mode=True, diff=True), ecs)
    assert ecs.writes() == []
    real = run(FakeModule(params, ecs, roles(), diff=True), ecs)
    for key in ('changed', 'attachments', 'changed_instance_ids', 'failed_instances', 'diff'):
        assert check.result[key] == real.result[key], key
    assert real.result['diff'] == {'before': {'i-1': None, 'i-2': 'old'}, 'after': {'i-1': 'app', 'i-2': 'app'}}
    assert [a for a, _p in ecs.writes()] == ['DetachInstanceRamRole', 'AttachInstanceRamRole']


def test_other_role_without_force_fails_before_any_write():
    ecs = FakeEcs(vpc('i-1', 'i-2', i_2='old'))
    done = run(FakeModule(dict(instance_ids=['i-1', 'i-2'], role_name='app'), ecs, roles()), ecs)
    assert done.failed and 'i-2 (old)' in done.result['msg'] and 'force=true' in done.result['msg']
    assert done.result['failed_instances'][0]['code'] == 'InstanceHasOtherRole' and ecs.writes() == []


@pytest.mark.parametrize('role, code', [('missing', 'EntityNotExist.Role'), ('ramonly', 'InvalidRamRole.NotEcsRole')])
def test_role_problems_fail_before_any_write(role, code):
    ecs = FakeEcs(vpc('i-1'))
    done = run(FakeModule(dict(instance_ids=['i-1'], role_name=role), ecs, roles()), ecs)
    assert done.failed and done.result['error']['code'] == code and ecs.writes() == []


def test_check_mode_on_a_role_that_does_not_exist_yet_predicts_the_attach():
    ecs = FakeEcs(vpc('i-1', 'i-2', 'i-3', i_3='old'))
    params = dict(instance_ids=['i-1', 'i-2', 'i-3'], role_name='new-role', force=True)
    module = FakeModule(params, ecs, roles(), check_mode=True, diff=True)
    done = run(module, ecs)
    assert not done.failed and done.result['changed'] is True
    assert done.result['attachments'] == {'i-1': 'new-role', 'i-2': 'new-role', 'i-3': 'new-role'}
    assert done.result['changed_instance_ids'] == ['i-1', 'i-2', 'i-3'] and done.result['failed_instances'] == []
    assert module.warnings == ['role new-role does not exist yet; predicting as if an earlier task creates it']
    assert ecs.writes() == []
    # instance problems are still reported in check mode
    params = dict(instance_ids=['i-1', 'i-3'], role_name='new-role')
    done = run(FakeModule(params, ecs, roles(), check_mode=True), ecs)
    assert done.failed and done.result['failed_instances'][0]['code'] == 'InstanceHasOtherRole'


@pytest.mark.parametrize('omit', [False, True])
def test_unknown_instances_fail_present_and_warn_absent(omit):
    # with omit_roleless and no strict errors, the unknown id looks role-less: the pre-write check still finds it
    ecs = FakeEcs(vpc('i-1'), omit_roleless=omit, strict_unknown=not omit)
    done = run(FakeModule(dict(instance_ids=['i-1', 'i-nope'], role_name='app'), ecs, roles()), ecs)
    assert done.failed and done.result['failed_instances'] == [
        {'instance_id': 'i-nope', 'code': 'InvalidInstanceId.NotFound', 'message': 'The instance does not exist in region cn-hangzhou.',
         'request_id': None}]
    assert ecs.writes() == []
    module = FakeModule(dict(instance_ids=['i-1', 'i-nope'], role_name='app', state='absent'), ecs, roles())
    done = run(module, ecs)
    assert not done.failed and done.result['changed'] is False
    assert done.result['attachments'] == {'i-1': None, 'i-nope': None}
    assert bool(module.warnings) is (not omit)


def test_partial_failure_reports_each_instance_and_fails_with_the_successes():
    ids = ['i-%03d' % n for n in range(250)]
    ecs = FakeEcs(vpc(*ids), fail_attach={'i-007': ('Some.Code', 'no luck SuperSecretValue'), 'i-201': ('Other.Code', 'nope')})
    done = run(FakeModule(dict(instance_ids=ids, role_name='app', concurrency=3), ecs, roles()), ecs)
    assert done.failed and done.result['changed'] is True
    assert [(f['instance_id'], f['code']) for f in done.result['failed_instances']] == [('i-007', 'Some.Code'), ('i-201', 'Other.Code')]
    assert 'SuperSecretValue' not in json.dumps(done.result)
    assert len(done.result['changed_instance_ids']) == 248 and 'i-007' not in done.result['changed_instance_ids']
    assert done.result['attachments']['i-007'] is None and done.result['attachments']['i-008'] == 'app'
    attach = [json.loads(p['InstanceIds']) for a, p in ecs.writes()]
    assert len(attach) == 3 and all(len(b) <= 100 for b in attach)
    assert '2 of 250' in done.result['msg']


def test_request_level_error_marks_the_whole_batch_failed():
    ecs = FakeEcs(vpc('i-1', 'i-2'), attach_error=AlicloudApiError('InvalidUser.PassRoleForbidden', 'no pass role', 'RID-X', 403))
    done = run(FakeModule(dict(instance_ids=['i-1', 'i-2'], role_name='app'), ecs, roles()), ecs)
    assert done.failed and done.result['changed'] is False
    assert {f['code'] for f in done.result['failed_instances']} == {'InvalidUser.PassRoleForbidden'}
    assert {f['request_id'] for f in done.result['failed_instances']} == {'RID-X'}


def test_role_not_yet_visible_is_retried_within_the_window():
    ecs = FakeEcs(vpc('i-1'), invisible_attempts=3)
    sleeps = []
    attachment = ia.InstanceRoleAttachment(FakeModule(dict(instance_ids=['i-1'], role_name='app'), ecs, roles()),
                                           sleep=sleeps.append, rand=lambda: 1.0, client_factory=lambda: ecs)
    with pytest.raises(Done) as exc:
        attachment.run()
    assert not exc.value.failed and exc.value.result['attachments'] == {'i-1': 'app'}
    assert ecs.actions().count('AttachInstanceRamRole') == 4 and sleeps == [1.0, 2.0, 4.0]


def test_role_visibility_window_is_bounded():
    ecs = FakeEcs(vpc('i-1'), invisible_attempts=1000)
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    attachment = ia.InstanceRoleAttachment(FakeModule(dict(instance_ids=['i-1'], role_name='app'), ecs, roles()),
                                           sleep=sleep, clock=lambda: now[0], rand=lambda: 1.0, client_factory=lambda: ecs)
    with pytest.raises(Done) as exc:
        attachment.run()
    assert exc.value.failed and exc.value.result['failed_instances'][0]['code'] == 'InvalidRamRole.NotFound'
    assert 60.0 <= now[0] <= 61.0


def test_wait_polls_until_the_roles_show():
    ecs = FakeEcs(vpc('i-1'))
    done = run(FakeModule(dict(instance_ids=['i-1'], role_name='app', wait=True), ecs, roles()), ecs)
    assert not done.failed and ecs.actions()[-1] == 'DescribeInstanceRamRole'


def test_info_reader_unknown_role_and_filters():
    ecs = FakeEcs(vpc('i-1', 'i-2', i_1='app', i_2='old'))

    class NoRole(FakeEcs):
        def DescribeInstanceRamRole(self, params):
            raise AlicloudApiError('InvalidRamRole.NotFound', 'no role', 'RID', 404)

    assert ia.read_attachments(NoRole({}), 'cn-hangzhou', role_name='ghost') == ([], [])
    attachments, unknown = ia.read_attachments(ecs, 'cn-hangzhou', instance_ids=['i-2', 'i-1', 'i-x'])
    assert attachments == [{'instance_id': 'i-2', 'role_name': 'old'}, {'instance_id': 'i-1', 'role_name': 'app'}]
    assert unknown == ['i-x']
