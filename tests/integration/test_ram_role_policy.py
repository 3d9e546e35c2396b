# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ram_role_policy against the emulator: attach, purge, detach, custom policy versions, errors, check and diff."""

from __future__ import annotations

import json
import sys

from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.models import Config

MODULE = 'alicloud.ram.ram_role_policy'
ROLE = 'app-role'
ECS_TRUST = {'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Service': ['ecs.aliyuncs.com']}}],
             'Version': '1'}
OSS = 'AliyunOSSReadOnlyAccess'
ECS = 'AliyunECSReadOnlyAccess'
VPC = 'AliyunVPCReadOnlyAccess'


def doc(*actions):
    return {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': list(actions), 'Resource': '*'}]}


def ram_client(emu):
    return RamClient(Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret,
                            endpoint=emu.endpoint, protocol='http', region_id='cn-hangzhou'))


def create_role(emu, name=ROLE, attached=()):
    client = ram_client(emu)
    client.create_role(ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=json.dumps(ECS_TRUST)))
    for policy in attached:
        client.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_name=policy, policy_type='System', role_name=name))
    emu.clear_calls()


def task(name, ignore_errors=False, **args):
    item = {'name': name, MODULE: args}
    if ignore_errors:
        item['ignore_errors'] = True
    return item


def pol(name, policy_type):
    """A policy as every result lists it: both key pairs, same values."""
    return {'name': name, 'type': policy_type, 'policy_name': name, 'policy_type': policy_type}


def role_state(emu, name=ROLE):
    return [r for r in emu.state()['roles'] if r['RoleName'] == name][0]


def attached_in_state(emu, name=ROLE):
    return sorted((p['PolicyType'], p['PolicyName']) for p in role_state(emu, name)['policies'])


def custom_policy_state(emu, name):
    return [p for p in emu.state()['policies'] if p['PolicyName'] == name][0]


def versions(emu, name):
    """(version ids oldest first, default id, {id: parsed document}) read back through ListPolicyVersions."""
    body = ram_client(emu).list_policy_versions(ram_models.ListPolicyVersionsRequest(policy_name=name, policy_type='Custom'))
    items = body.body.policy_versions.policy_version
    ids = [v.version_id for v in items]
    default = [v.version_id for v in items if v.is_default_version]
    return ids, default[0], {v.version_id: json.loads(v.policy_document) for v in items}


def same_doc(a, b):
    def canon(d):
        return sorted((s['Effect'], tuple(sorted(s['Action'] if isinstance(s['Action'], list) else [s['Action']])))
                      for s in d['Statement'])
    return canon(a) == canon(b)


def actions(emu):
    return [c['action'] for c in emu.calls() if c['service'] == 'ram']


def test_attach_system_and_custom_then_second_run_makes_no_write_call(runner, emu):
    create_role(emu)
    wanted = [OSS.lower(), {'name': 'app-logs', 'description': 'write app logs', 'document': json.dumps(doc('log:PostLogStoreLogs'))}]
    res = runner.run_tasks([task('attach', role_name=ROLE, policies=wanted)])
    out = res.module_result(0)
    assert out['changed'] is True
    assert out['role_name'] == ROLE
    assert out['attached'] == [pol('app-logs', 'Custom'), pol(OSS, 'System')]
    assert out['attached_policies'] == [pol('app-logs', 'Custom'), pol(OSS, 'System')]
    assert out['created_policies'] == ['app-logs'] and out['updated_policies'] == [] and out['detached'] == []
    assert attached_in_state(emu) == [('Custom', 'app-logs'), ('System', OSS)]
    assert custom_policy_state(emu, 'app-logs')['Description'] == 'write app logs'

    emu.clear_calls()
    res = runner.run_tasks([task('again', role_name=ROLE, policies=wanted)])
    out = res.module_result(0)
    assert out['changed'] is False and out['attached'] == [] and out['created_policies'] == []
    assert out['attached_policies'] == [pol('app-logs', 'Custom'), pol(OSS, 'System')]
    assert emu.write_calls() == []
    assert emu.call_counts() == {'ListPoliciesForRole': 1, 'GetPolicy': 1}

    # plain names only, all attached (the custom one resolved from the listing): exactly one read
    emu.clear_calls()
    res = runner.run_tasks([task('plain names', role_name=ROLE, policies=['app-logs', OSS])])
    assert res.module_result(0)['changed'] is False
    assert emu.call_counts() == {'ListPoliciesForRole': 1}


def create_custom(emu, name, document, roles=()):
    client = ram_client(emu)
    client.create_policy(ram_models.CreatePolicyRequest(policy_name=name, policy_document=json.dumps(document)))
    for role in roles:
        client.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_name=name, policy_type='Custom', role_name=role))
    emu.clear_calls()


def test_purge_keeps_listed_and_absent_detaches_listed(runner, emu):
    create_role(emu, attached=(ECS, OSS, VPC))
    create_role(emu, name='other-role')
    create_custom(emu, 'app-extra', doc('oss:GetObject'), roles=(ROLE,))
    create_custom(emu, 'shared', doc('oss:ListObjects'), roles=(ROLE, 'other-role'))
    extra = {'name': 'app-extra', 'document': doc('oss:GetObject')}
    shared = {'name': 'shared', 'document': doc('oss:ListObjects')}
    res = runner.run_tasks([
        task('purge', role_name=ROLE, purge_policies=True, policies=[OSS, 'app-extra', 'shared']),
        task('absent', role_name=ROLE, state='absent', delete_unused_custom_policies=True,
             policies=[OSS, 'AliyunLogReadOnlyAccess', 'no-such-policy', extra, shared]),
        task('absent again', role_name=ROLE, state='absent', delete_unused_custom_policies=True, policies=[OSS, extra, shared]),
    ])
    purge = res.module_result('purge')
    assert purge['changed'] is True
    assert purge['detached'] == [pol(ECS, 'System'), pol(VPC, 'System')]
    assert purge['attached'] == []
    assert purge['attached_policies'] == [pol('app-extra', 'Custom'), pol('shared', 'Custom'), pol(OSS, 'System')]
    absent = res.module_result('absent')
    assert absent['changed'] is True and absent['attached_policies'] == []
    assert absent['detached'] == [pol('app-extra', 'Custom'), pol('shared', 'Custom'), pol(OSS, 'System')]
    assert absent['deleted_policies'] == ['app-extra']
    assert any("'shared' is kept" in w and 'other-role' in w for w in absent.get('warnings', []))
    again = res.module_result('absent again')
    assert again['changed'] is False and again['deleted_policies'] == []
    assert attached_in_state(emu) == [] and attached_in_state(emu, 'other-role') == [('Custom', 'shared')]
    assert [p['PolicyName'] for p in emu.state()['policies']] == ['shared']
    detaches = [c['params']['PolicyName'] for c in emu.calls() if c['action'] == 'DetachPolicyFromRole']
    assert sorted(detaches) == [ECS, OSS, VPC, 'app-extra', 'shared']
    assert emu.call_counts()['ListPoliciesForRole'] == 3
    assert 'GetPolicy' not in emu.call_counts()


def test_six_document_changes_keep_five_versions_and_reuse_an_existing_version(runner, emu):
    create_role(emu)
    docs = [doc('oss:GetObject%d' % i) for i in range(8)]
    tasks = [task('doc %d' % i, role_name=ROLE, policies=[{'name': 'app-data', 'document': docs[i]}]) for i in range(7)]
    res = runner.run_tasks(tasks)
    assert res.module_result('doc 0')['created_policies'] == ['app-data']
    for i in range(1, 7):
        out = res.module_result('doc %d' % i)
        assert out['changed'] is True and out['updated_policies'] == ['app-data'] and out['attached'] == []
    counts = emu.call_counts()
    assert counts['CreatePolicy'] == 1 and counts['CreatePolicyVersion'] == 6 and counts['DeletePolicyVersion'] == 2
    assert counts['AttachPolicyToRole'] == 1
    assert [c['params']['VersionId'] for c in emu.calls() if c['action'] == 'DeletePolicyVersion'] == ['v1', 'v2']
    assert all(c['code'] is None for c in emu.write_calls()), 'no write call may fail'
    ids, default, stored = versions(emu, 'app-data')
    assert ids == ['v3', 'v4', 'v5', 'v6', 'v7'] and default == 'v7' and same_doc(stored['v7'], docs[6])

    # an older document that is still a non-default version becomes the default again: no new version
    emu.clear_calls()
    res = runner.run_tasks([
        task('older', role_name=ROLE, policies=[{'name': 'app-data', 'document': json.dumps(docs[4], indent=4)}]),
        task('older again', role_name=ROLE, policies=[{'name': 'app-data', 'document': docs[4]}]),
        task('newest', role_name=ROLE, policies=[{'name': 'app-data', 'document': docs[7]}]),
    ])
    assert res.module_result('older')['updated_policies'] == ['app-data']
    assert res.module_result('older again')['changed'] is False
    writes = [(c['action'], c['params'].get('VersionId')) for c in emu.write_calls()]
    # the default (v5) is the oldest version now: the oldest non-default (v3) goes
    assert writes == [('SetDefaultPolicyVersion', 'v5'), ('DeletePolicyVersion', 'v3'), ('CreatePolicyVersion', None)]
    ids, default, stored = versions(emu, 'app-data')
    assert ids == ['v4', 'v5', 'v6', 'v7', 'v8'] and default == 'v8' and same_doc(stored['v8'], docs[7])


def test_bad_input_and_missing_things_fail_before_any_write(runner, emu):
    create_role(emu, attached=(ECS,))
    good_custom = {'name': 'new-custom', 'document': doc('oss:GetObject')}
    # (input shape errors without an API side are covered by the unit tests)
    cases = {
        'unknown system policy': dict(policies=[good_custom, {'name': 'AliyunNoSuchAccess', 'type': 'System'}]),
        'unknown plain name': dict(policies=[good_custom, 'NoSuchPolicyAnywhere']),
        'custom without document': dict(policies=[good_custom, {'name': 'missing-custom', 'type': 'Custom'}]),
        'missing role': dict(role_name='no-such-role', policies=[good_custom, OSS]),
        'duplicate names': dict(policies=[OSS, OSS.upper()]),
        'bad json': dict(policies=[good_custom, {'name': 'bad-json', 'document': '{"Statement": ['}]),
        'custom named like a system policy': dict(policies=[{'name': OSS, 'document': doc('oss:*')}]),
    }
    tasks = []
    for name, args in cases.items():
        args = dict(args)
        args.setdefault('role_name', ROLE)
        tasks.append(task(name, ignore_errors=True, purge_policies=True, **args))
    res = runner.run_tasks(tasks)
    messages = {}
    for name in cases:
        item = res.by_name(name)
        assert item['status'] == 'failed' and item['ignored'], (name, item)
        assert 'Traceback' not in json.dumps(item['result']), name
        messages[name] = item['result']['msg']
    assert emu.write_calls() == []
    assert attached_in_state(emu) == [('System', ECS)]
    assert emu.state()['policies'] == []
    assert "system policy 'AliyunNoSuchAccess' does not exist" in messages['unknown system policy']
    assert "'NoSuchPolicyAnywhere' does not exist" in messages['unknown plain name']
    assert "custom policy 'missing-custom' does not exist" in messages['custom without document']
    assert "role 'no-such-role' does not exist (EntityNotExist.Role" in messages['missing role']
    assert res.by_name('missing role')['result']['error']['code'] == 'EntityNotExist.Role'
    assert 'listed twice' in messages['duplicate names']
    assert 'not valid JSON' in messages['bad json']
    assert 'name of a system policy' in messages['custom named like a system policy']


def test_check_mode_predicts_the_real_run_and_diff_shows_documents(runner, emu):
    create_role(emu, attached=(ECS,))
    first = [task('converge', role_name=ROLE, purge_policies=True,
                  policies=[OSS, {'name': 'app-cfg', 'document': doc('oss:GetObject')}])]
    checked = runner.run_tasks(first, check=True, diff=True).module_result(0)
    assert emu.write_calls() == [] and attached_in_state(emu) == [('System', ECS)]
    real = runner.run_tasks(first, diff=True).module_result(0)
    keys = ('changed', 'attached', 'detached', 'created_policies', 'updated_policies', 'attached_policies', 'diff')
    assert {k: checked[k] for k in keys} == {k: real[k] for k in keys}
    assert real['detached'] == [pol(ECS, 'System')] and real['created_policies'] == ['app-cfg']
    assert real['diff']['before']['attached_policies'] == ['System:%s' % ECS]
    assert real['diff']['after']['attached_policies'] == ['Custom:app-cfg', 'System:%s' % OSS]
    assert real['diff']['before']['policy_documents'] == {}
    assert real['diff']['after']['policy_documents']['app-cfg']['Statement'][0]['Action'] == ['oss:GetObject']

    # a changed document: the diff shows both normalised documents; check mode again matches the run
    second = [task('update', role_name=ROLE, policies=[OSS, {'name': 'app-cfg', 'document': doc('oss:PutObject', 'oss:GetObject')}])]
    emu.clear_calls()
    checked = runner.run_tasks(second, check=True, diff=True).module_result(0)
    assert emu.write_calls() == []
    real = runner.run_tasks(second, diff=True).module_result(0)
    assert {k: checked[k] for k in keys} == {k: real[k] for k in keys}
    assert real['updated_policies'] == ['app-cfg'] and real['attached'] == [] and real['detached'] == []
    docs = real['diff']
    assert docs['before']['policy_documents']['app-cfg']['Statement'][0]['Action'] == ['oss:GetObject']
    assert docs['after']['policy_documents']['app-cfg']['Statement'][0]['Action'] == ['oss:GetObject', 'oss:PutObject']
    assert [c['action'] for c in emu.write_calls()] == ['CreatePolicyVersion']


def test_missing_role_check_mode_predicts_and_absent_is_ok(runner, emu):
    custom = {'name': 'left-over', 'document': doc('oss:GetObject')}
    ram_client(emu).create_policy(ram_models.CreatePolicyRequest(policy_name='left-over', policy_document=json.dumps(custom['document'])))
    emu.clear_calls()
    res = runner.run_tasks([
        dict(task('predict', role_name='future-role', policies=[OSS, {'name': 'brand-new', 'document': doc('log:*')}]), check_mode=True),
        task('real run fails', ignore_errors=True, role_name='future-role', policies=[OSS]),
        task('absent', role_name='future-role', state='absent', policies=[OSS]),
        task('absent deletes unused custom', role_name='future-role', state='absent', policies=[OSS, custom],
             delete_unused_custom_policies=True),
    ])
    predicted = res.module_result('predict')
    assert res.by_name('predict')['changed'] is True
    assert predicted['attached'] == [pol('brand-new', 'Custom'), pol(OSS, 'System')] == predicted['attached_policies']
    assert predicted['created_policies'] == ['brand-new']
    assert any('role future-role does not exist yet' in w for w in predicted['warnings'])
    assert res.by_name('real run fails')['status'] == 'failed'
    assert "role 'future-role' does not exist" in res.module_result('real run fails')['msg']
    assert res.by_name('absent')['status'] == 'ok' and res.by_name('absent')['changed'] is False
    assert res.module_result('absent')['detached'] == []
    cleaned = res.module_result('absent deletes unused custom')
    assert res.by_name('absent deletes unused custom')['changed'] is True and cleaned['deleted_policies'] == ['left-over']
    assert [c['action'] for c in emu.write_calls()] == ['DeletePolicy']
    assert emu.state()['policies'] == []


def test_attach_denied_after_create_fails_changed_with_created_policies(runner, emu):
    create_role(emu)
    emu.set_faults(deny_actions=['AttachPolicyToRole'])
    wanted = [{'name': 'app-denied', 'document': doc('oss:GetObject')}]
    res = runner.run_tasks([task('denied', ignore_errors=True, role_name=ROLE, policies=wanted)])
    item = res.by_name('denied')
    out = item['result']
    assert item['status'] == 'failed' and out['changed'] is True
    assert out['created_policies'] == ['app-denied'] and out['attached'] == [] and out['updated_policies'] == []
    assert out['role_name'] == ROLE and out['attached_policies'] == []
    assert out['error']['code'] == 'NoPermission' and 'attach Custom policy app-denied to role app-role failed: NoPermission' in out['msg']
    assert [c['action'] for c in emu.write_calls() if c['status'] == 200] == ['CreatePolicy']

    # allowed again: the next run attaches without creating the policy a second time
    emu.set_faults(deny_actions=[])
    emu.clear_calls()
    again = runner.run_tasks([task('again', role_name=ROLE, policies=wanted)]).module_result(0)
    assert again['changed'] is True and again['created_policies'] == [] and again['attached'] == [pol('app-denied', 'Custom')]
    assert [c['action'] for c in emu.write_calls()] == ['AttachPolicyToRole']


def test_lost_create_reply_is_ok_changed_and_a_rerun_makes_no_write(runner, emu):
    create_role(emu)
    emu.set_faults(lose_reply_actions=['CreatePolicy'])
    wanted = [{'name': 'app-lost', 'document': doc('oss:GetObject')}]
    out = runner.run_tasks([task('lost reply', role_name=ROLE, policies=wanted)]).module_result(0)
    assert out['changed'] is True and out['created_policies'] == ['app-lost'] and out['attached'] == [pol('app-lost', 'Custom')]
    creates = [c for c in emu.calls() if c['action'] == 'CreatePolicy']
    assert len(creates) == 2 and creates[1]['code'] == 'EntityAlreadyExists.Policy'
    assert versions(emu, 'app-lost')[0] == ['v1']
    emu.clear_calls()
    again = runner.run_tasks([task('again', role_name=ROLE, policies=wanted)]).module_result(0)
    assert again['changed'] is False and emu.write_calls() == []


# the whole grammar is covered by the unit tests; these go through a real playbook run
MALFORMED = {
    'duplicate Effect': '{"Version": "1", "Statement": [{"Effect": "Allow", "Effect": "Deny", "Action": "oss:*", "Resource": "*"}]}',
    'no Resource': {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'oss:*'}]},
    'unknown statement key': {'Version': '1', 'Statement': [{'Sid': 'x', 'Effect': 'Allow', 'Action': 'oss:*', 'Resource': '*'}]},
    'bad condition': {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'oss:*', 'Resource': '*', 'Condition': 'always'}]},
}
MALFORMED_MESSAGES = {
    'duplicate Effect': 'names the key "Effect" twice',
    'no Resource': 'Resource (or NotResource) is required',
    'unknown statement key': 'unknown key Sid',
    'bad condition': 'Condition must be an object',
}


def test_malformed_documents_are_refused_without_a_write_and_check_mode_fails_alike(runner, emu):
    create_role(emu, attached=(ECS,))
    tasks = [task(name, ignore_errors=True, role_name=ROLE, policies=[OSS, {'name': 'app-bad', 'document': document}])
             for name, document in MALFORMED.items()]
    checked = runner.run_tasks(tasks, check=True)
    real = runner.run_tasks(tasks)
    for name, fragment in MALFORMED_MESSAGES.items():
        for res in (checked, real):
            item = res.by_name(name)
            assert item['status'] == 'failed' and item['changed'] is False, (name, item)
            assert fragment in item['result']['msg'] and 'policies[1] (app-bad)' in item['result']['msg'], (name, item['result']['msg'])
        assert checked.by_name(name)['result']['msg'] == real.by_name(name)['result']['msg']
    assert emu.write_calls() == [] and attached_in_state(emu) == [('System', ECS)] and emu.state()['policies'] == []


def test_purge_without_policies_is_refused(runner, emu):
    create_role(emu, attached=(ECS, OSS))
    res = runner.run_tasks([task('purge all', ignore_errors=True, role_name=ROLE, purge_policies=True),
                            task('purge empty', ignore_errors=True, role_name=ROLE, purge_policies=True, policies=[])])
    for name in ('purge all', 'purge empty'):
        item = res.by_name(name)
        assert item['status'] == 'failed' and 'would detach every policy' in item['result']['msg'], item
    assert emu.write_calls() == [] and attached_in_state(emu) == [('System', ECS), ('System', OSS)]
    # what the message advises: list them with state=absent
    out = runner.run_tasks([task('detach', role_name=ROLE, state='absent', policies=[ECS, OSS])]).module_result(0)
    assert out['detached'] == [pol(ECS, 'System'), pol(OSS, 'System')] and attached_in_state(emu) == []


WRITERS = 3


def test_three_concurrent_runs_updating_one_custom_policy_all_succeed(runner, emu, tmp_path):
    create_role(emu)
    create_custom(emu, 'app-contended', doc('seed:1'), roles=(ROLE,))
    client = ram_client(emu)
    for n in range(2, 6):
        client.create_policy_version(ram_models.CreatePolicyVersionRequest(
            policy_name='app-contended', policy_document=json.dumps(doc('seed:%d' % n)), set_as_default=True))
    emu.clear_calls()
    inventory = tmp_path / 'writers.ini'
    hosts = ['writer%d ansible_connection=local ansible_python_interpreter=%s doc_index=%d' % (n, sys.executable, n) for n in range(WRITERS)]
    inventory.write_text('[writers]\n%s\n' % '\n'.join(hosts))
    documents = [json.dumps(doc('writer:%d' % n)) for n in range(WRITERS)]
    play = {'name': 'contention', 'hosts': 'writers', 'gather_facts': False, 'module_defaults': runner.module_defaults(),
            'vars': {'documents': documents},
            'tasks': [task('update', role_name=ROLE, policies=[{'name': 'app-contended', 'document': '{{ documents[doc_index | int] }}'}])]}
    playbook = tmp_path / 'contention.yml'
    playbook.write_text(json.dumps([play], indent=2))

    # the three writers read the policy before any of them writes: their plans all start from the same versions
    with emu.barrier(WRITERS, action='GetPolicy', timeout=600):
        res = runner.run_playbook(playbook, extra_args=('-i', str(inventory), '-f', str(WRITERS)))

    codes = sorted(c['code'] for c in emu.calls() if c['code'])
    print('\ncontention: refusals absorbed by re-planning: %s' % codes)
    outcomes = [r for r in res.results if r['task'] == 'update']
    assert len(outcomes) == WRITERS and all(r['status'] == 'changed' for r in outcomes), outcomes
    assert all(r['result']['updated_policies'] == ['app-contended'] for r in outcomes)
    ids, default, stored = versions(emu, 'app-contended')
    assert len(ids) <= 5, ids
    written = [n for n in range(WRITERS) if any(same_doc(d, doc('writer:%d' % n)) for d in stored.values())]
    assert written == list(range(WRITERS)), stored
    assert any(same_doc(stored[default], doc('writer:%d' % n)) for n in range(WRITERS))
    assert all(c['code'] in (None, 'LimitExceeded.Policy.Version', 'EntityNotExist.Policy.Version',
                             'DeleteConflict.Policy.Version.Default') for c in emu.calls()), codes
