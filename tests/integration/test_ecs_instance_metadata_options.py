# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ecs_instance_metadata_options against the emulator: check and diff mode, no-change runs, failures, tags, hardened reads."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from alibabacloud_ram20150501 import models as ram_models

from tests.emulator.sdkhelpers import ECS_TRUST, clients

MODULE = 'alicloud.ram.ecs_instance_metadata_options'
MODIFY = 'ModifyInstanceMetadataOptions'
HARDENED = {'http_tokens': 'required', 'http_endpoint': 'enabled', 'instance_metadata_tags': 'disabled'}
NORMAL = {'http_tokens': 'optional', 'http_endpoint': 'enabled', 'instance_metadata_tags': 'disabled'}
CREDENTIALS_PATH = '/latest/meta-data/ram/security-credentials/'


def task(name, **args):
    return {'name': name, MODULE: args}


def calls_of(emu, action):
    return [c for c in emu.calls() if c['action'] == action]


def http_tokens_of(emu, ids):
    found = dict((i['InstanceId'], (i.get('MetadataOptions') or {}).get('HttpTokens')) for i in emu.instances())
    return dict((i, found.get(i)) for i in ids)


def metadata_get(emu, path, token=None):
    """``(status, body)`` of a GET on the emulator's metadata service."""
    request = urllib.request.Request(emu.url + path, headers={'X-aliyun-ecs-metadata-token': token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode('utf-8')
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode('utf-8', 'replace')


def metadata_token(emu):
    request = urllib.request.Request(emu.url + '/latest/api/token', method='PUT',
                                     headers={'X-aliyun-ecs-metadata-token-ttl-seconds': '60'})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode('utf-8')


def test_check_mode_and_diff_predict_the_real_run_then_a_second_run_makes_no_write_call(runner, emu):
    ids = emu.seed_instances(3)
    emu.clear_calls()

    checked = runner.run_tasks([task('harden', instance_ids=ids, http_tokens='required')], check=True, diff=True)

    predicted = checked.module_result('harden')
    assert predicted['changed'] is True
    assert predicted['changed_instance_ids'] == ids
    assert predicted['instances'] == dict((i, HARDENED) for i in ids)
    assert (predicted['diff']['before'], predicted['diff']['after']) == (dict((i, NORMAL) for i in ids), dict((i, HARDENED) for i in ids))
    assert predicted['diff']['after_header'] == predicted['msg'] == 'enforced http_tokens=required on 3 of 3 instance(s)'
    assert emu.write_calls() == [], checked
    assert set(http_tokens_of(emu, ids).values()) == {'optional'}

    real = runner.run_tasks([task('harden', instance_ids=ids, http_tokens='required')], diff=True)

    done = real.module_result('harden')
    for key in ('changed', 'changed_instance_ids', 'instances', 'failed_instances', 'diff'):
        assert done[key] == predicted[key], key
    assert sorted(c['params']['InstanceId'] for c in calls_of(emu, MODIFY)) == sorted(ids)
    # the whole wanted state: HttpEndpoint (required by the API) and HttpTokens, never InstanceMetadataTags unless set
    assert all((c['params']['HttpTokens'], c['params']['HttpEndpoint']) == ('required', 'enabled') and
               'InstanceMetadataTags' not in c['params'] for c in calls_of(emu, MODIFY))
    assert http_tokens_of(emu, ids) == dict((i, 'required') for i in ids)
    emu.clear_calls()

    again = runner.run_tasks([task('harden', instance_ids=ids, http_tokens='required')], diff=True)

    assert again.module_result('harden')['changed'] is False
    # only what changed or failed is listed; the rest is counted
    assert again.module_result('harden')['instances'] == {}
    assert again.module_result('harden')['summary'] == {'selected': 3, 'changed': 0, 'failed': 0, 'unchanged': 3}
    assert emu.write_calls() == [], again
    assert [c['action'] for c in emu.calls()] == ['DescribeInstances']


def test_a_failing_instance_is_reported_and_fails_the_task(runner, emu):
    ids = emu.seed_instances(2)
    emu.set_faults(deny_actions=[MODIFY])

    res = runner.run_tasks([task('harden', instance_ids=ids, http_tokens='required')], expect_failure=True)

    result = res.module_result('harden')
    assert result['changed'] is False
    assert sorted(f['instance_id'] for f in result['failed_instances']) == sorted(ids)
    assert {f['code'] for f in result['failed_instances']} == {'NoPermission'}
    assert result['error']['code'] == 'NoPermission'
    assert '\n' not in result['msg'] and 'NoPermission' in result['msg']
    assert result['instances'] == dict((i, NORMAL) for i in ids)
    assert set(http_tokens_of(emu, ids).values()) == {'optional'}


def test_a_lost_reply_on_a_modify_is_retried_and_counts_as_done(runner, emu):
    ids = emu.seed_instances(1)
    emu.set_faults(lose_reply_actions=[MODIFY])
    emu.clear_calls()

    res = runner.run_tasks([task('harden', instance_ids=ids, http_tokens='required')])

    assert res.module_result('harden')['changed_instance_ids'] == ids
    assert len(calls_of(emu, MODIFY)) == 2, 'the first answer was lost, the retry went through'
    assert http_tokens_of(emu, ids) == {ids[0]: 'required'}


def test_unknown_instances_fail_before_any_write(runner, emu):
    ids = emu.seed_instances(2)
    unknown = 'i-doesnotexist000000'
    emu.clear_calls()

    res = runner.run_tasks([task('harden', instance_ids=ids + [unknown], http_tokens='required')], expect_failure=True)

    result = res.module_result('harden')
    assert result['changed'] is False
    assert [f['instance_id'] for f in result['failed_instances']] == [unknown]
    assert result['failed_instances'][0]['code'] == 'InvalidInstanceId.NotFound'
    assert emu.write_calls() == [], res


def test_tag_selection_follows_every_page(runner, emu):
    tagged = emu.seed_instances(130, tags={'fleet': 'web'})
    others = emu.seed_instances(5, tags={'fleet': 'db'})
    emu.clear_calls()

    res = runner.run_tasks([task('harden web', instance_tags={'fleet': 'web'}, http_tokens='required')])

    result = res.module_result('harden web')
    assert sorted(result['changed_instance_ids']) == sorted(tagged)
    assert sorted(result['instances']) == sorted(tagged)
    reads = calls_of(emu, 'DescribeInstances')
    assert len(reads) == 2, 'the 130 tagged instances take two pages of 100, and nothing is read twice'
    assert all(c['params'].get('Tag.1.Key') == 'fleet' and c['params'].get('Tag.1.Value') == 'web' for c in reads)
    assert len(calls_of(emu, MODIFY)) == 130
    assert set(http_tokens_of(emu, others).values()) == {'optional'}
    emu.clear_calls()

    again = runner.run_tasks([task('harden web', instance_tags={'fleet': 'web'}, http_tokens='required')])

    assert again.module_result('harden web')['changed'] is False
    assert emu.write_calls() == []


def test_tags_that_match_nothing_change_nothing(runner, emu):
    emu.seed_instances(2)
    emu.clear_calls()

    res = runner.run_tasks([task('harden', instance_tags={'fleet': 'none'}, http_tokens='required')])

    assert res.module_result('harden')['changed'] is False
    assert res.module_result('harden')['instances'] == {}
    assert emu.write_calls() == []


@pytest.fixture
def instance_with_role(emu):
    """The metadata service's instance, holding a new instance role; returns ``(instance id, role)``."""
    role = 'HardenedReaderRole'
    ram, _ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name=role, assume_role_policy_document=ECS_TRUST))
    emu.set_metadata(role_name=role)
    return emu.control('GET', 'metadata')['instance_id'], role


def test_hardened_instance_refuses_token_less_reads_and_the_hardened_lookup_still_works(runner, emu, instance_with_role):
    iid, role = instance_with_role
    assert metadata_get(emu, CREDENTIALS_PATH)[0] == 200

    lookup = "lookup('alicloud.ram.metadata_credentials', '%s', imds_mode='%s', metadata_endpoint='%s')"
    res = runner.run_tasks([
        task('harden', instance_ids=[iid], http_tokens='required'),
        {'name': 'hardened lookup', 'ansible.builtin.set_fact': {'creds': '{{ %s }}' % (lookup % (role, 'hardened', emu.url))},
         'no_log': True},
        {'name': 'access key id', 'ansible.builtin.debug': {'msg': '{{ creds.access_key_id }}'}},
        {'name': 'plain lookup', 'ansible.builtin.debug': {'msg': '{{ %s }}' % (lookup % (role, 'plain', emu.url))},
         'ignore_errors': True},
    ])

    assert res.module_result('harden')['changed_instance_ids'] == [iid]
    assert res.module_result('access key id')['msg'].startswith('STS.')
    plain = res.by_name('plain lookup')
    assert plain['status'] == 'failed' and 'HTTP 403' in plain['result']['msg'], plain
    status, _body = metadata_get(emu, CREDENTIALS_PATH)
    assert status == 403
    assert metadata_get(emu, CREDENTIALS_PATH, token=metadata_token(emu)) == (200, role)
