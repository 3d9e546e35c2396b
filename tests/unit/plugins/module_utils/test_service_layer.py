# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The service layer: the ``operation`` decorator, the pagers, and the RAM and ECS operations on the in-process emulator."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api, ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.service import marker_pages, numbered_pages, operation, token_pages
from ansible_collections.alicloud.ram.tests.emulator.sdkhelpers import ECS_TRUST, policy
from ansible_collections.alicloud.ram.tests.unit.emulated import REGION


# -- operation -----------------------------------------------------------------------------------

@operation('change thing {name} in {region}', missing=('EntityNotExist',), done=('EntityAlreadyExists',))
def change_thing(error, name, region='r-1'):
    if error is not None:
        raise error
    return 'changed'


def test_an_operation_maps_missing_to_none_and_already_so_to_false_or_true_when_uncertain():
    assert change_thing(None, 'a') == 'changed'
    assert change_thing(AlicloudApiError('EntityNotExist.Thing', 'gone'), 'a') is None
    assert change_thing(AlicloudApiError('EntityAlreadyExists.Thing', 'there'), 'a') is False
    # an earlier attempt of this very call may have made it: ours
    assert change_thing(AlicloudApiError('EntityAlreadyExists.Thing', 'there', uncertain=True), 'a') is True


def test_other_errors_are_named_by_the_operation_with_its_arguments():
    with pytest.raises(AlicloudApiError) as caught:
        change_thing(AlicloudApiError('NoPermission', 'denied'), 'a')
    assert caught.value.operation == 'change thing a in r-1'
    # a prefix only matches whole dotted parts
    with pytest.raises(AlicloudApiError) as caught:
        change_thing(AlicloudApiError('EntityNotExistence', 'x'), name='b', region='r-2')
    assert caught.value.operation == 'change thing b in r-2'
    named = AlicloudApiError('NoPermission', 'denied')
    named.operation = 'an inner operation'
    with pytest.raises(AlicloudApiError) as caught:
        change_thing(named, 'a')
    assert caught.value.operation == 'an inner operation'


# -- pagers --------------------------------------------------------------------------------------

class Pages(object):
    """A list call answering ``pages`` in turn; ``sent`` holds the parameters of each call."""

    def __init__(self, *pages):
        self.pages = list(pages)
        self.sent = []

    def __call__(self, params):
        self.sent.append(dict(params))
        return self.pages.pop(0)


def test_marker_pages_follow_the_marker_until_the_listing_is_complete():
    call = Pages({'IsTruncated': True, 'Marker': 'm1', 'n': 1}, {'IsTruncated': True, 'Marker': 'm2', 'n': 2}, {'IsTruncated': False, 'n': 3})
    assert [p['n'] for p in marker_pages(call, {'X': 1}, 2)] == [1, 2, 3]
    assert call.sent == [{'X': 1, 'MaxItems': 2, 'Marker': None}, {'X': 1, 'MaxItems': 2, 'Marker': 'm1'}, {'X': 1, 'MaxItems': 2, 'Marker': 'm2'}]
    # a marker seen before ends the listing instead of looping
    assert len(list(marker_pages(Pages({'IsTruncated': True, 'Marker': 'm'}, {'IsTruncated': True, 'Marker': 'm'}), {}, 2))) == 2


def test_token_pages_follow_the_token_and_may_end_early():
    call = Pages({'NextToken': 't1', 'n': 1}, {'NextToken': '', 'n': 2})
    assert [p['n'] for p in token_pages(call, {})] == [1, 2] and [s['NextToken'] for s in call.sent] == [None, 't1']
    assert len(list(token_pages(Pages({'NextToken': 't', 'n': 1}, {'NextToken': 't', 'n': 2}), {}))) == 2
    assert len(list(token_pages(Pages({'NextToken': 't1', 'n': 1}), {}, ends=lambda body: body['n'] == 1))) == 1


def test_numbered_pages_stop_at_the_total_or_a_short_page():
    call = Pages({'TotalCount': 5, 'items': [1, 2]}, {'TotalCount': 5, 'items': [3, 4]}, {'TotalCount': 5, 'items': [5]})
    assert [p['items'] for p in numbered_pages(call, {}, 2, lambda body: len(body['items']))] == [[1, 2], [3, 4], [5]]
    assert [s['PageNumber'] for s in call.sent] == [1, 2, 3]
    short = Pages({'TotalCount': 'unknown', 'items': [1, 2]}, {'items': [3]})
    assert len(list(numbered_pages(short, {}, 2, lambda body: len(body['items'])))) == 2


# -- RAM -----------------------------------------------------------------------------------------

def test_a_missing_read_is_none_and_names_are_case_insensitive(ram):
    assert ram_api.get_role(ram, 'nobody') is None
    assert ram_api.create_role(ram, 'App', ECS_TRUST, description='d', tags={'b': 2, 'a': None})['RoleName'] == 'App'
    assert ram_api.get_role(ram, 'APP')['RoleName'] == 'App'
    assert ram_api.list_role_tags(ram, 'app') == {'a': '', 'b': '2'}


def test_already_done_by_someone_else_is_false(ram):
    ram_api.create_role(ram, 'app', ECS_TRUST)
    assert ram_api.create_role(ram, 'app', ECS_TRUST) is False
    assert ram_api.delete_role(ram, 'app') is True and ram_api.delete_role(ram, 'app') is False


def test_a_lost_reply_then_already_done_counts_as_ours(ram, emulated):
    emulated.script('CreateRole', lose_reply=True)
    assert ram_api.create_role(ram, 'app', ECS_TRUST) is True
    assert emulated.actions().count('CreateRole') == 2 and ram_api.get_role(ram, 'app') is not None


def test_other_errors_name_the_operation(ram, emulated):
    emulated.script('CreateRole', code='NoPermission', status=403)
    with pytest.raises(AlicloudApiError) as caught:
        ram_api.create_role(ram, 'app', ECS_TRUST)
    assert caught.value.code == 'NoPermission' and caught.value.operation == 'create role app'


def test_list_roles_follows_every_page(ram, emulated):
    for n in range(5):
        ram_api.create_role(ram, 'paged-%d' % n, ECS_TRUST)
    emulated.forget()
    assert [r['RoleName'] for r in ram_api.list_roles(ram, max_items=2)] == ['paged-%d' % n for n in range(5)]
    assert emulated.action_counts() == {'ListRoles': 3}


def test_policies_and_their_holders(ram):
    ram_api.create_role(ram, 'app', ECS_TRUST)
    ram_api.attach_policy(ram, 'role', 'app', 'AliyunOSSReadOnlyAccess', 'System')
    assert ram_api.attach_policy(ram, 'role', 'app', 'AliyunOSSReadOnlyAccess', 'System') is False
    assert ram_api.list_entities_for_policy(ram, 'AliyunOSSReadOnlyAccess', 'System') == {'user': [], 'group': [], 'role': ['app']}
    assert [p['PolicyName'] for p in ram_api.list_policies_for(ram, 'role', 'app')] == ['AliyunOSSReadOnlyAccess']
    assert ram_api.list_policies_for(ram, 'role', 'nobody') is None
    assert ram_api.detach_policy(ram, 'role', 'app', 'AliyunOSSReadOnlyAccess', 'System') is True
    assert ram_api.detach_policy(ram, 'role', 'app', 'AliyunOSSReadOnlyAccess', 'System') is False
    assert ram_api.list_entities_for_policy(ram, 'nothing') is None


def test_custom_policy_versions(ram, emulated):
    assert ram_api.create_policy(ram, 'p', policy('a:1'), 'words')['PolicyName'] == 'p'
    assert ram_api.create_policy_version(ram, 'p', policy('a:2'))['VersionId'] == 'v2'
    assert [(v['VersionId'], v['IsDefaultVersion']) for v in ram_api.list_policy_versions(ram, 'p')] == [('v1', False), ('v2', True)]
    assert ram_api.stored_document(ram_api.get_policy(ram, 'p')['DefaultPolicyVersion']['PolicyDocument']) == json.loads(policy('a:2'))
    assert ram_api.set_default_policy_version(ram, 'p', 'v1') is True
    assert ram_api.delete_policy_version(ram, 'p', 'v2') is True and ram_api.delete_policy_version(ram, 'p', 'v2') is False
    assert ram_api.delete_policy(ram, 'p') is True and ram_api.get_policy(ram, 'p') is None
    assert ram_api.list_policy_versions(ram, 'p') is None
    # a new version is never sent twice: a lost answer is the caller's to settle
    ram_api.create_policy(ram, 'q', policy('a:1'))
    emulated.forget().script('CreatePolicyVersion', lose_reply=True)
    with pytest.raises(AlicloudApiError) as caught:
        ram_api.create_policy_version(ram, 'q', policy('a:2'))
    assert caught.value.uncertain and emulated.actions().count('CreatePolicyVersion') == 1


@pytest.mark.parametrize('text, parsed', [('{"a": 1}', {'a': 1}), ({'a': 1}, {'a': 1}), ('', None), (None, None), ('[1]', None), ('{', None)])
def test_stored_document(text, parsed):
    assert ram_api.stored_document(text) == parsed


# -- ECS -----------------------------------------------------------------------------------------

def test_a_role_page_lists_instances_without_a_role_as_none(ecs, ram, emulated):
    ram_api.create_role(ram, 'web', ECS_TRUST)
    ids = emulated.add_instances(3)
    emulated.hold('web', ids[:1])
    assert ecs_api.instance_ram_roles(ecs, REGION, ids) == {ids[0]: 'web', ids[1]: None, ids[2]: None}


def test_a_role_page_naming_an_unknown_instance_is_refused(ecs, emulated):
    with pytest.raises(AlicloudApiError) as caught:
        ecs_api.instance_ram_roles(ecs, REGION, emulated.add_instances(1) + ['i-nope'])
    assert caught.value.code == 'InvalidInstanceId.NotFound' and caught.value.operation == 'read the RAM roles of instances in %s' % REGION


def test_role_holders_follow_every_page_and_a_role_ecs_does_not_know_is_none(ecs, ram, emulated):
    ram_api.create_role(ram, 'Fleet', ECS_TRUST)
    ids = emulated.add_instances(120)
    emulated.hold('fleet', ids)
    emulated.forget()
    holders = ecs_api.role_holders(ecs, REGION, 'FLEET')
    assert list(holders) == ids and set(holders.values()) == {'Fleet'} and emulated.action_counts() == {'DescribeInstanceRamRole': 3}
    assert ecs_api.role_holders(ecs, REGION, 'no-such-role') is None


def test_describe_instances_follows_the_tag_pages_and_stops_once_every_id_is_found(ecs, emulated):
    web = emulated.add_instances(130, tags={'app': 'web'})
    emulated.add_instances(2, tags={'app': 'api'})
    emulated.forget()
    assert [i['InstanceId'] for i in ecs_api.describe_instances(ecs, REGION, tags={'app': 'web'})] == web
    assert emulated.action_counts() == {'DescribeInstances': 2}
    emulated.forget()
    assert [i['InstanceId'] for i in ecs_api.describe_instances(ecs, REGION, instance_ids=web[:3] + ['i-nope'])] == web[:3]
    assert [i['InstanceId'] for i in ecs_api.describe_instances(ecs, REGION, instance_ids=web[:2])] == web[:2]
    assert emulated.action_counts() == {'DescribeInstances': 2}


def test_describe_regions(emulated, monkeypatch):
    emulated.offer_describe_regions(monkeypatch)
    emulated.add_instances(1, region='me-central-1')
    assert ecs_api.describe_regions(emulated.client('ecs')) == [REGION, 'me-central-1']


@pytest.mark.parametrize('item, success', [
    ({'Success': True, 'Code': '200'}, True),
    ({'Success': 'false', 'Code': '200'}, False),
    # every documented sample of Attach/DetachInstanceRamRole carries only Code and Message
    ({'Code': '200', 'Message': 'success'}, True),
    ({'Code': 200}, True),
    ({'Code': 'InvalidInstanceId.NotFound', 'Message': 'gone'}, False),
    ({'Message': 'what happened?'}, None),
    ({'Code': ''}, None),
])
def test_a_per_instance_result_says_success_by_success_else_by_code_200(item, success):
    assert ecs_api.result_success(item) is success


def test_batch_answers_tolerate_missing_keys():
    body = {'RequestId': 'R', 'FailCount': '1', 'AttachInstanceRamRoleResults': {'AttachInstanceRamRoleResult': [
        {'InstanceId': 'i-1', 'Code': 200, 'Message': 'ok'}, {'InstanceId': 'i-2'}, 'junk']}}
    answer = ecs_api._batch_answer(body, 'AttachInstanceRamRoleResults')  # pylint: disable=protected-access
    assert answer == ecs_api.BatchAnswer([ecs_api.InstanceResult('i-1', True, '200', 'ok'), ecs_api.InstanceResult('i-2', None, None, '')],
                                         1, 'R', False)
    assert ecs_api._batch_answer({}, 'DetachInstanceRamRoleResults').results == []  # pylint: disable=protected-access


def test_an_attach_answer_reports_each_instance(ecs, ram, emulated):
    ram_api.create_role(ram, 'app', ECS_TRUST)
    ram_api.create_role(ram, 'old', ECS_TRUST)
    free = emulated.add_instances(2)
    taken = emulated.add_instances(1)
    emulated.hold('old', taken)
    answer = ecs_api.attach_instance_ram_role(ecs, REGION, 'app', free + taken)
    assert answer.fail_count == 1 and answer.request_id and answer.uncertain is False
    assert [(r.instance_id, r.success) for r in answer.results] == [(free[0], True), (free[1], True), (taken[0], False)]
    assert [r.code for r in answer.results][:2] == ['200', '200']
    detached = ecs_api.detach_instance_ram_role(ecs, REGION, 'app', free)
    assert detached.fail_count == 0 and all(r.success for r in detached.results)


def test_an_attach_answer_after_a_lost_attempt_is_uncertain(ecs, ram, emulated):
    ram_api.create_role(ram, 'app', ECS_TRUST)
    emulated.script('AttachInstanceRamRole', lose_reply=True)
    assert ecs_api.attach_instance_ram_role(ecs, REGION, 'app', emulated.add_instances(1)).uncertain is True


def test_metadata_options_are_sent_as_the_whole_state(ecs, emulated):
    iid = emulated.instance_ids()[0]
    assert ecs_api.modify_instance_metadata_options(ecs, REGION, iid, 'enabled', 'required') is True
    ecs_api.modify_instance_metadata_options(ecs, REGION, iid, 'enabled', 'required', 'enabled')
    sent = [dict((k, p.get(k)) for k in ('HttpEndpoint', 'HttpTokens', 'InstanceMetadataTags')) for p in emulated.params_of('ModifyInstanceMetadataOptions')]
    assert sent == [{'HttpEndpoint': 'enabled', 'HttpTokens': 'required', 'InstanceMetadataTags': None},
                    {'HttpEndpoint': 'enabled', 'HttpTokens': 'required', 'InstanceMetadataTags': 'enabled'}]


def test_tag_filters():
    assert ecs_api.tag_filter_params({'b': 'x', 'a': ''}) == {'Tag': [{'Key': 'a'}, {'Key': 'b', 'Value': 'x'}]}
    assert ecs_api.tag_filter_params({}) == {}
    assert ecs_api.instance_ids_param(['i-1', 'i-2']) == '["i-1","i-2"]'
