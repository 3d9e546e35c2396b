# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Touch only what is ours, refuse what is malformed, predict what will fail: URL secrets, roles held in other
regions, grants of other roles, tag values of other types, malformed URLs and numbers, check mode's refusals."""

from __future__ import annotations

import json

from alibabacloud_ram20150501 import models as ram_models

from cloud import attach_directly, calls_of, create_role, ram, roles_of, task
from network_helpers import CountingProxy

ATTACH = 'alicloud.ram.ecs_instance_role_attachment'
INFO = 'alicloud.ram.ecs_instance_role_info'
METADATA = 'alicloud.ram.ecs_instance_metadata_options'
ROLE = 'alicloud.ram.ram_instance_role'
GRANT = 'alicloud.ram.ram_user_role_grant'
SECRETS = ('Pr0xy', 'S3cr3tTail', 'T0kenInPath', 'T0kenInFragment', 'T0kenParam', 'BareT0ken')


def no_secret_in(res):
    # at -vvv ansible itself prints a task's `environment:` on its EXEC line: not the collection's output
    lines = [line for line in (res.stdout + res.stderr).splitlines() if not line.startswith('<localhost> EXEC ')]
    text = '\n'.join(lines) + json.dumps(res.results)
    return [s for s in SECRETS if s in text]


def test_url_secrets_are_never_printed_whole_or_in_part(runner, emu):
    with CountingProxy() as proxy:
        raw_at = proxy.url.replace('http://', 'http://u:Pr0xy@S3cr3tTail@')
        tasks = [
            dict(task(INFO, 'raw @ option', https_proxy='http://u:Pr0xy@S3cr3tTail@127.0.0.1:9', http_proxy='http://u:Pr0xy@S3cr3tTail@127.0.0.1:9',
                      instance_ids=['i-x'], retries=0), ignore_errors=True),
            dict(task(INFO, 'raw @ env', instance_ids=['i-x'], retries=0), ignore_errors=True,
                 environment={'HTTP_PROXY': 'http://u:Pr0xy@S3cr3tTail@127.0.0.1:9'}),
            task(INFO, 'working proxy', http_proxy=raw_at, instance_ids=['i-doesnotexist0000001']),
            dict(task(ROLE, 'path token', name='x', ram_endpoint='http://127.0.0.1:9/T0kenInPath'), ignore_errors=True),
            dict(task(ROLE, 'fragment token', name='x', ram_endpoint='http://127.0.0.1:9/#T0kenInFragment'), ignore_errors=True),
            dict(task(ROLE, 'params token', name='x', ram_endpoint='http://127.0.0.1:9;T0kenParam'), ignore_errors=True),
            dict(task(ROLE, 'bare token', name='x', ram_endpoint='BareT0ken@127.0.0.1:9'), ignore_errors=True),
            {'name': 'lookup endpoint', 'ignore_errors': True, 'ansible.builtin.debug': {
                'msg': "{{ lookup('alicloud.ram.metadata_credentials', 'r', metadata_endpoint='http://127.0.0.1:9/#T0kenInFragment') }}"}},
        ]
        res = runner.run_tasks(tasks, verbosity=3)
    assert [r['status'] for r in res.results] == ['failed', 'failed', 'ok'] + ['failed'] * 5
    assert no_secret_in(res) == []
    assert res.module_result('working proxy')['connections']['ecs']['proxy'].startswith('http://********@127.0.0.1:')
    assert proxy.seen, 'the calls went through the proxy with the password holding a raw @'
    for name, option in (('path token', 'ram_endpoint'), ('fragment token', 'ram_endpoint'), ('params token', 'ram_endpoint'),
                         ('bare token', 'ram_endpoint')):
        assert res.module_result(name)['msg'].startswith(option), res.module_result(name)['msg']
    assert emu.write_calls() == []


def test_a_role_held_in_another_region_is_not_deleted_and_force_detaches_it_there(runner, emu):
    create_role(emu, 'global-role')
    here = emu.seed_instances(1)
    there = emu.seed_instances(2, region='cn-beijing')
    attach_directly(emu, 'global-role', here)
    attach_directly(emu, 'global-role', there, region='cn-beijing')
    res = runner.run_tasks([
        dict(task(ROLE, 'refused', name='global-role', state='absent'), check_mode=True, ignore_errors=True),
        dict(task(ROLE, 'refused', name='global-role', state='absent'), ignore_errors=True),
        dict(task(ROLE, 'forced', name='global-role', state='absent', force=True), check_mode=True),
        task(ROLE, 'forced', name='global-role', state='absent', force=True),
    ])
    assert [r['status'] for r in res.results] == ['failed', 'failed', 'changed', 'changed']
    predicted_refusal, refusal = res.results[0]['result'], res.results[1]['result']
    for out in (predicted_refusal, refusal):
        assert out['changed'] is False
        assert out['holders'] == {'cn-beijing': there, 'cn-hangzhou': here}
        assert '%s in cn-beijing' % ', '.join(there) in out['msg'] and '%s in cn-hangzhou' % here[0] in out['msg']
    predicted, forced = res.results[2]['result'], res.results[3]['result']
    assert sorted(forced['detached_instance_ids']) == sorted(here + there) == sorted(predicted['detached_instance_ids'])
    assert forced['changed'] is True and forced['role'] == {} and forced['regions_checked'] == ['cn-hangzhou', 'cn-beijing']
    assert roles_of(emu, there, region='cn-beijing') == dict((i, None) for i in there)
    assert [c['params']['RegionId'] for c in calls_of(emu, 'DetachInstanceRamRole')] == ['cn-hangzhou', 'cn-beijing'] or \
        sorted(c['params']['RegionId'] for c in calls_of(emu, 'DetachInstanceRamRole')) == ['cn-beijing', 'cn-hangzhou']


def _policy_document(emu, name):
    body = ram(emu).get_policy(ram_models.GetPolicyRequest(policy_name=name, policy_type='Custom')).body.to_map()
    return json.loads(body['DefaultPolicyVersion']['PolicyDocument'])


def test_grants_touch_only_their_own_policy_and_the_old_names_can_be_revoked(runner, emu):
    emu.create_user('bob')
    emu.create_user('carol')
    for name in ('db', 'web', 'app.web'):
        create_role(emu, name)
    admin = json.dumps({'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]})
    ram(emu).create_policy(ram_models.CreatePolicyRequest(policy_name='Admin', policy_document=admin))
    ram(emu).attach_policy_to_user(ram_models.AttachPolicyToUserRequest(policy_type='Custom', policy_name='Admin', user_name='bob'))
    # a grant as 0.1.x named it for role app.web: PassRole-app-web
    old = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'ram:PassRole',
                                          'Resource': 'acs:ram::%s:role/app.web' % emu.account_id}]}
    ram(emu).create_policy(ram_models.CreatePolicyRequest(policy_name='PassRole-app-web', policy_document=json.dumps(old)))
    ram(emu).attach_policy_to_user(ram_models.AttachPolicyToUserRequest(policy_type='Custom', policy_name='PassRole-app-web',
                                                                        user_name='carol'))
    res = runner.run_tasks([
        task(GRANT, 'db grant', user_name='bob', role_name='db'),
        dict(task(GRANT, 'repurpose', user_name='bob', role_name='web', policy_name='PassRole-db'), ignore_errors=True),
        dict(task(GRANT, 'delete admin', user_name='bob', role_name='web', policy_name='Admin', state='absent'), ignore_errors=True),
        dict(task(GRANT, 'delete admin', user_name='bob', role_name='web', policy_name='Admin', state='absent'), check_mode=True,
             ignore_errors=True),
        task(GRANT, 'new grant', user_name='carol', role_name='app.web'),
        task(GRANT, 'revoke old', user_name='carol', role_name='app.web', policy_name='PassRole-app-web', state='absent'),
    ])
    assert res.by_name('repurpose')['status'] == 'failed'
    repurpose = res.module_result('repurpose')
    assert repurpose['changed'] is False and repurpose['policy_role'] == 'db'
    assert 'policy PassRole-db is the grant of role db (held by user bob)' in repurpose['msg']
    assert _policy_document(emu, 'PassRole-db')['Statement'][-1]['Resource'] in (
        'acs:ram::%s:role/db' % emu.account_id, ['acs:ram::%s:role/db' % emu.account_id]) or 'role/db' in json.dumps(_policy_document(emu, 'PassRole-db'))
    for item in [r for r in res.results if r['task'] == 'delete admin']:
        result = item['result']
        assert item['status'] == 'failed' and result['changed'] is False and 'policy Admin is not a PassRole grant (held by user bob)' in result['msg']
    assert _policy_document(emu, 'Admin') == json.loads(admin)
    assert res.module_result('new grant')['policy_name'] == 'PassRoleDot-app-web-1'
    revoked = res.module_result('revoke old')
    assert revoked['detached_from'] == ['user carol'] and revoked['deleted_policies'] == ['PassRole-app-web']


def test_tag_values_are_sent_as_users_see_them_and_other_types_are_refused(runner, emu):
    create_role(emu, 'tagged')
    flagged = emu.seed_instances(1, tags={'managed': 'true', 'tier': '3'})
    emu.seed_instances(1, tags={'managed': 'false'})
    emu.clear_calls()
    res = runner.run_tasks([
        task(INFO, 'boolean and number', instance_tags={'managed': True, 'tier': 3}),
        dict(task(ATTACH, 'list', role_name='tagged', instance_tags={'managed': ['true']}), ignore_errors=True),
        dict(task(ATTACH, 'dict', role_name='tagged', instance_tags={'managed': {'a': 1}}), ignore_errors=True),
        dict(task(ATTACH, 'null', role_name='tagged', instance_tags={'managed': None}), ignore_errors=True),
    ])
    tags = [c['params'] for c in calls_of(emu, 'DescribeInstances')][0]
    assert (tags.get('Tag.1.Key'), tags.get('Tag.1.Value'), tags.get('Tag.2.Key'), tags.get('Tag.2.Value')) == ('managed', 'true', 'tier', '3')
    assert res.module_result('boolean and number')['attachments'] == [] and res.module_result('boolean and number')['unknown_instance_ids'] == []
    for name, kind in (('list', 'list'), ('dict', 'dict'), ('null', 'null')):
        assert "the value of 'managed' must be a string, number or boolean, not %s" % kind in res.module_result(name)['msg']
    assert len(calls_of(emu, 'DescribeInstances')) == 1 and flagged


def test_malformed_urls_and_numbers_are_refused_in_one_line(runner, emu):
    res = runner.run_tasks([
        dict(task(ROLE, 'bracket endpoint', name='x', ram_endpoint='http://[::1'), ignore_errors=True),
        dict(task(ROLE, 'bracket proxy', name='x', https_proxy='http://[::1'), ignore_errors=True),
        dict(task(ROLE, 'bracket env', name='x'), ignore_errors=True, environment={'HTTPS_PROXY': 'http://[::1'}),
        dict(task(ROLE, 'inf', name='x', read_timeout='inf'), ignore_errors=True),
        dict(task(ROLE, 'huge', name='x', read_timeout=1e308), ignore_errors=True),
        dict(task(ROLE, 'over an hour', name='x', connect_timeout=3601), ignore_errors=True),
    ])
    messages = dict((r['task'], r['result']['msg']) for r in res.results)
    assert all(r['status'] == 'failed' and 'Traceback' not in r['result']['msg'] and '\n' not in r['result']['msg'] for r in res.results)
    assert messages['bracket endpoint'].startswith('ram_endpoint')
    assert 'https_proxy' in messages['bracket proxy'] and 'HTTPS_PROXY' in messages['bracket env']
    assert 'read_timeout must be a number of seconds greater than 0 and at most 3600' in messages['inf']
    assert 'read_timeout' in messages['huge'] and 'connect_timeout' in messages['over an hour']
    assert emu.calls() == []


def test_check_mode_predicts_the_refusals_of_classic_and_busy_instances(runner, emu):
    create_role(emu, 'web')
    classic = emu.seed_instances(1, network_type='classic', tags={'app': 'web'})
    vpc = emu.seed_instances(2, tags={'app': 'web'})
    emu.set_instance_status([vpc[1]], 'Stopping')
    tasks = [
        dict(task(ATTACH, 'attach by tag', role_name='web', instance_tags={'app': 'web'}), ignore_errors=True),
        dict(task(METADATA, 'harden by tag', instance_tags={'app': 'web'}, http_tokens='required'), ignore_errors=True),
    ]
    check = runner.run_tasks(tasks, check=True)
    real = runner.run_tasks(tasks)
    for name in ('attach by tag', 'harden by tag'):
        predicted, done = check.module_result(name), real.module_result(name)
        assert check.by_name(name)['status'] == real.by_name(name)['status'] == 'failed', name
        assert [(f['instance_id'], f['code']) for f in predicted['failed_instances']] == \
            [(f['instance_id'], f['code']) for f in done['failed_instances']], name
        assert predicted['changed'] == done['changed'] and predicted['changed_instance_ids'] == done['changed_instance_ids'], name
    assert real.module_result('attach by tag')['failed_instances'][0]['instance_id'] == classic[0]
    assert real.module_result('harden by tag')['failed_instances'] == [{
        'instance_id': vpc[1], 'code': 'IncorrectInstanceStatus', 'request_id': None,
        'message': 'The instance is Stopping; its metadata options can be changed once it is Running or Stopped.'}]
    # metadata options apply to classic instances too
    assert sorted(real.module_result('harden by tag')['changed_instance_ids']) == sorted([classic[0], vpc[0]])
    assert roles_of(emu, vpc) == dict((i, None) for i in vpc)
