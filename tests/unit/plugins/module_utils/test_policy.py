# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import policy
from ansible_collections.alicloud.ram.plugins.module_utils.policy import PolicyDocumentError

ECS_TRUST = {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["ecs.aliyuncs.com"]}}], "Version": "1"}


def test_documents_differing_only_in_form_are_equal():
    pretty = '''
    {
      "Version": "1",
      "Statement": [
        {"Principal": {"Service": "ecs.aliyuncs.com"}, "Effect": "Allow", "Action": ["sts:AssumeRole"]}
      ]
    }'''
    assert policy.policies_equal(ECS_TRUST, pretty)
    assert policy.policies_equal(json.dumps(ECS_TRUST), ECS_TRUST)


def test_list_order_duplicates_and_statement_order_do_not_matter():
    a = {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:B", "ecs:A", "ecs:A"], "Resource": "*"},
        {"Effect": "Deny", "Action": "ram:*", "Resource": ["*"]}]}
    b = {"Statement": [
        {"Effect": "Deny", "Action": ["ram:*"], "Resource": "*"},
        {"Resource": ["*"], "Action": ["ecs:A", "ecs:B"], "Effect": "Allow"}]}
    assert policy.policies_equal(a, b)
    assert policy.policy_diff_repr(a) == policy.policy_diff_repr(b)


def test_missing_version_defaults_to_1():
    doc = {"Statement": ECS_TRUST["Statement"]}
    assert policy.normalize_policy(doc)["Version"] == "1"
    assert policy.policies_equal(doc, ECS_TRUST)


def test_condition_values_string_vs_list_are_equal():
    a = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}}]}
    b = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}}}]}
    assert policy.policies_equal(a, b)


@pytest.mark.parametrize('change', [
    lambda d: d["Statement"][0].update(Effect="Deny"),
    lambda d: d["Statement"][0]["Principal"]["Service"].append("fc.aliyuncs.com"),
    lambda d: d["Statement"][0].update(Action="sts:AssumeRoleX"),
    lambda d: d.update(Version="2"),
    lambda d: d["Statement"][0].update(Condition={"StringEquals": {"a": "b"}}),
])
def test_real_changes_are_not_equal(change):
    changed = json.loads(json.dumps(ECS_TRUST))
    change(changed)
    assert not policy.policies_equal(ECS_TRUST, changed)


def test_effect_and_version_are_compared_as_given():
    lower = json.loads(json.dumps(ECS_TRUST))
    lower["Version"] = 1
    assert not policy.policies_equal(ECS_TRUST, lower)


def test_to_json_is_compact_and_stable():
    text = policy.to_json({"b": 1, "a": [1, 2]})
    assert text == '{"a":[1,2],"b":1}'


@pytest.mark.parametrize('value,fragment', [
    ('{not json', 'not valid JSON'),
    ('[1, 2]', 'must be a JSON object'),
    ({"Version": "1"}, 'non-empty Statement list'),
    ({"Statement": []}, 'non-empty Statement list'),
    ({"Statement": ["x"]}, 'not an object'),
    ({"Statement": [{"Effect": "allow", "Action": "*"}]}, 'Effect Allow or Deny'),
    ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, 'needs Action'),
    ({"Statement": [{"Effect": "Allow", "Action": []}]}, 'needs Action'),
    (42, 'dict or a JSON string'),
])
def test_parse_rejects_bad_documents(value, fragment):
    with pytest.raises(PolicyDocumentError) as exc:
        policy.parse_policy_document(value)
    assert fragment in str(exc.value)


def test_parse_accepts_notaction_and_single_statement_object():
    doc = policy.parse_policy_document('{"Statement": {"Effect": "Deny", "NotAction": "ecs:*", "Resource": "*"}}')
    assert doc["Statement"]["Effect"] == "Deny"


def test_validate_measures_the_compact_json():
    doc = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "x" * 100}]}
    text = policy.validate_policy_document(doc)
    assert text == policy.to_json(doc)
    assert policy.validate_policy_document(json.dumps(doc, indent=8), max_length=len(text)) == text
    with pytest.raises(PolicyDocumentError) as exc:
        policy.validate_policy_document(doc, max_length=len(text) - 1, kind='trust policy')
    assert 'trust policy' in str(exc.value) and str(len(text)) in str(exc.value)


def test_trust_policy_for_services():
    doc = policy.trust_policy_for_services(['ecs.aliyuncs.com', 'ecs.aliyuncs.com'])
    assert doc == ECS_TRUST
    assert policy.trusted_services(doc) == ['ecs.aliyuncs.com']
    assert policy.can_ecs_assume(json.dumps(doc))


def test_trusted_services_ignores_deny_other_actions_and_garbage():
    doc = {"Statement": [
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"Service": "fc.aliyuncs.com"}},
        {"Effect": "Allow", "Action": "ecs:*", "Principal": {"Service": "oss.aliyuncs.com"}},
        {"Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": {"RAM": ["acs:ram::1:root"]}}]}
    assert policy.trusted_services(doc) == []
    assert not policy.can_ecs_assume(doc)
    assert policy.trusted_services('not json') == []


def test_diff_repr_is_pretty_and_sorted():
    text = policy.policy_diff_repr(ECS_TRUST)
    assert text.endswith('\n') and '\n  "Statement"' in text
    assert policy.policy_diff_repr(None) == ''
