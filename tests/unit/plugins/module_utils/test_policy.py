# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""policy.py: the RAM grammar (accepted and refused documents), normalisation and comparison."""

import json

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import policy
from ansible_collections.alicloud.ram.plugins.module_utils.policy import PolicyDocumentError
from ansible_collections.alicloud.ram.tests.emulator import sdkhelpers

ECS_TRUST = json.loads(sdkhelpers.ECS_TRUST)


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
    assert policy.normalize_policy(a) == policy.normalize_policy(b)


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


def test_version_1_as_a_number_means_the_string_and_effect_is_compared_as_given():
    number = json.loads(json.dumps(ECS_TRUST))
    number["Version"] = 1
    assert policy.policies_equal(ECS_TRUST, number)
    lower = json.loads(json.dumps(ECS_TRUST))
    lower["Statement"][0]["Effect"] = "allow"
    assert not policy.policies_equal(ECS_TRUST, lower)


def test_to_json_is_compact_and_stable():
    text = policy.to_json({"b": 1, "a": [1, 2]})
    assert text == '{"a":[1,2],"b":1}'


def allow(**statement):
    return {"Version": "1", "Statement": [dict({"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}, **statement)]}


def without(key):
    doc = allow()
    del doc["Statement"][0][key]
    return doc


# documents RAM accepts as permission policies
ACCEPTED = [
    allow(),
    {"Statement": [{"Effect": "Deny", "NotAction": ["ram:*"], "NotResource": "acs:ram:*:*:role/keep"}]},
    {"Version": 1, "Statement": {"Effect": "Allow", "Action": "*", "Resource": ["*"]}},
    allow(Condition={"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
                     "Bool": {"acs:SecureTransport": True}, "NumericLessThan": {"oss:MaxKeys": 100}}),
    allow(Condition={"StringEquals": {"acs:ResourceTag/team": "dev"}}),
    allow(Condition={}),
    '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "acs:oss:*:*:b/*"}]}',
]

REJECTED = [
    ('{not json', 'not valid JSON'),
    ('{"Version": "1", "Statement": [{"Effect": "Allow", "Effect": "Deny", "Action": "x:y", "Resource": "*"}]}',
     'names the key "Effect" twice'),
    ('{"Version": "1", "Version": "1", "Statement": []}', 'names the key "Version" twice'),
    ('{"Statement": [{"Effect": "Allow", "Action": "x:y", "Resource": "*", '
     '"Condition": {"IpAddress": {"acs:SourceIp": "1.1.1.1", "acs:SourceIp": "2.2.2.2"}}}]}', 'names the key "acs:SourceIp" twice'),
    ('{"Statement": [{"Effect": "Allow", "Action": "x:y", "Resource": "*", "Condition": {"NumericEquals": {"k": NaN}}}]}',
     'NaN is not a JSON value'),
    ('[1, 2]', 'must be a JSON object'),
    (42, 'dict or a JSON string'),
    ({"Version": "1"}, 'non-empty Statement list'),
    ({"Statement": []}, 'non-empty Statement list'),
    ({"Statement": "Allow everything"}, 'non-empty Statement list'),
    ({"Statement": ["x"]}, 'statement 1 of the policy document is not an object'),
    ({"Version": "2", "Statement": allow()["Statement"]}, 'RAM accepts only "1"'),
    ({"Version": True, "Statement": allow()["Statement"]}, 'RAM accepts only "1"'),
    ({"Version": "1", "Statement": allow()["Statement"], "Id": "x"}, 'unknown key Id'),
    (allow(Effect="allow"), 'Effect must be Allow or Deny'),
    (without("Effect"), 'Effect must be Allow or Deny'),
    (without("Action"), 'Action (or NotAction) is required'),
    (allow(NotAction="ecs:Delete*"), 'either Action or NotAction, not both'),
    (allow(Action=[]), 'non-empty list of strings'),
    (allow(Action=""), 'must not be an empty string'),
    (allow(Action=["ecs:A", ""]), 'every item of Action'),
    (allow(Action=["ecs:A", 7]), 'every item of Action'),
    (allow(Action={"ecs": "*"}), 'Action must be a string'),
    (without("Resource"), 'Resource (or NotResource) is required'),
    (allow(NotResource="x"), 'either Resource or NotResource, not both'),
    (allow(Resource=None), 'Resource must be a string'),
    (allow(Sid="one"), 'unknown key Sid'),
    (allow(Principal={"Service": ["ecs.aliyuncs.com"]}), 'Principal is used only in trust policies'),
    (allow(Condition="ip is 10/8"), 'Condition must be an object of operators'),
    (allow(Condition={"StringEquals": "dev"}), 'Condition operator StringEquals must map condition keys to values'),
    (allow(Condition={"StringEquals": {"k": {"nested": 1}}}), 'takes a string, number or boolean'),
    (allow(Condition={"StringEquals": {"k": [None]}}), 'takes a string, number or boolean'),
]


@pytest.mark.parametrize('value', ACCEPTED)
def test_grammar_accepts(value):
    text = policy.validate_policy_document(value)
    sent = json.loads(text)
    assert sent["Version"] == "1" and isinstance(sent["Statement"], list)
    assert policy.policies_equal(sent, value)


@pytest.mark.parametrize('value,fragment', REJECTED)
def test_grammar_rejects(value, fragment):
    with pytest.raises(PolicyDocumentError) as exc:
        policy.validate_policy_document(value)
    assert fragment in str(exc.value)


TRUST_ACCEPTED = [
    ECS_TRUST,
    {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "acs:ram::123:root"},
                    "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}}]},
    {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                    "Principal": {"Federated": ["acs:ram::123:saml-provider/idp"]}}]},
]

TRUST_REJECTED = [
    ({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}, 'Principal is required'),
    ({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {}}]}, 'Principal must be an object'),
    ({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "x"}}]}, 'unknown principal type AWS'),
    ({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": []}}]}, 'Principal Service'),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.aliyuncs.com"}}]}, 'Action (or NotAction) is required'),
]


@pytest.mark.parametrize('value', TRUST_ACCEPTED)
def test_trust_grammar_accepts_principals_without_resource(value):
    assert json.loads(policy.validate_policy_document(value, kind='trust policy'))["Version"] == "1"


@pytest.mark.parametrize('value,fragment', TRUST_REJECTED)
def test_trust_grammar_rejects(value, fragment):
    with pytest.raises(PolicyDocumentError) as exc:
        policy.validate_policy_document(value, kind='trust policy')
    assert fragment in str(exc.value) and 'trust policy' in str(exc.value)


def test_a_single_statement_object_is_sent_as_a_list_of_one():
    doc = policy.parse_policy_document('{"Statement": {"Effect": "Deny", "NotAction": "ecs:*", "Resource": "*"}}')
    assert doc == {"Version": "1", "Statement": [{"Effect": "Deny", "NotAction": "ecs:*", "Resource": "*"}]}
    assert policy.policy_text({"Statement": {"Effect": "Deny", "Action": "a:b", "Resource": "*"}}) == \
        '{"Statement":[{"Action":"a:b","Effect":"Deny","Resource":"*"}],"Version":"1"}'


def test_validate_measures_the_compact_json():
    doc = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "x" * 100}]}
    text = policy.validate_policy_document(doc)
    assert text == policy.to_json(doc)
    assert policy.validate_policy_document(json.dumps(doc, indent=8), max_length=len(text)) == text
    with pytest.raises(PolicyDocumentError) as exc:
        policy.validate_policy_document(doc, max_length=len(text) - 1)
    assert 'policy document is %d bytes long once compacted (UTF-8); the limit is %d bytes' % (len(text), len(text) - 1) in str(exc.value)


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
