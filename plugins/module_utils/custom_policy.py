# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Converge one custom RAM policy to a wanted document, respecting the 5-version limit.

Shared by ram_role_policy and ram_user_role_grant. The plan is computed from reads only, so
check mode reports exactly what a real run would do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, is_not_found
from ansible_collections.alicloud.ram.plugins.module_utils.policy import (
    DEFAULT_VERSION,
    normalize_policy,
    policies_equal,
    to_json,
)

MAX_POLICY_VERSIONS = 5
VERSION_LIMIT_CODE = 'LimitExceeded.Policy.Version'


def _version_number(version_id):
    match = re.match(r'^v(\d+)$', version_id or '')
    return int(match.group(1)) if match else 0


def _oldest_first(versions):
    return sorted(versions, key=lambda v: (v.get('CreateDate') or '', _version_number(v.get('VersionId'))))


def _stored_document(text):
    """A document as stored by RAM -> dict, or None when absent or not a JSON object.

    Stored documents are compared, never validated: a document the service accepted but our
    stricter checks would refuse must not break a run, it simply differs from the wanted one.
    """
    if isinstance(text, dict):
        return text
    if not text:
        return None
    try:
        doc = json.loads(text)
    except (TypeError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _same_document(stored, wanted):
    if stored is None:
        return False
    try:
        return policies_equal(stored, wanted)
    except (TypeError, ValueError):
        return False


def _normalized_or_none(doc):
    if doc is None:
        return None
    try:
        return normalize_policy(doc)
    except (TypeError, ValueError):
        return None


def read_custom_policy(client, name):
    """GetPolicy for a custom policy: (policy dict, default document dict) or (None, None).

    The default document is None when the answer carries none (or an unreadable one).
    """
    body = client.call_or_none('GetPolicy', {'PolicyName': name, 'PolicyType': 'Custom'})
    if body is None:
        return None, None
    document = (body.get('DefaultPolicyVersion') or {}).get('PolicyDocument') or (body.get('Policy') or {}).get('PolicyDocument')
    return body.get('Policy') or {}, _stored_document(document)


def document_to_send(document):
    """The JSON text sent for a wanted document: as the user wrote it (compacted), ``Version`` defaulted."""
    doc = dict(json.loads(document) if isinstance(document, str) else document)
    doc.setdefault('Version', DEFAULT_VERSION)
    return to_json(doc)


def plan_custom_policy(client, name, document):
    """Decide what it takes for `name` to have `document` as its default version.

    Returns a dict: action (none|create|set_default|create_version), before (normalised default
    document or None), after (normalised wanted document), version_id (for set_default),
    delete_version_id (the oldest non-default version removed to stay within the limit),
    exists (whether the policy exists), policy (the GetPolicy ``Policy`` dict or None),
    document (the JSON text a write sends).
    """
    wanted = normalize_policy(document)
    policy, current = read_custom_policy(client, name)
    plan = {'action': 'none', 'before': _normalized_or_none(current), 'after': wanted,
            'version_id': None, 'delete_version_id': None, 'exists': policy is not None, 'policy': policy,
            'document': document_to_send(document)}
    if policy is None:
        plan['action'] = 'create'
        return plan
    if _same_document(current, wanted):
        return plan

    body = client.call('ListPolicyVersions', {'PolicyName': name, 'PolicyType': 'Custom'})
    versions = [v for v in ((body.get('PolicyVersions') or {}).get('PolicyVersion')) or [] if isinstance(v, dict)]
    default = [v for v in versions if v.get('IsDefaultVersion')]
    non_default = [v for v in versions if not v.get('IsDefaultVersion')]
    if current is None and default:
        # GetPolicy answered without the default document: the version list has it.
        current = _stored_document(default[0].get('PolicyDocument'))
        plan['before'] = _normalized_or_none(current)
        if _same_document(current, wanted):
            return plan
    for version in _oldest_first(non_default)[::-1]:
        if _same_document(_stored_document(version.get('PolicyDocument')), wanted):
            plan['action'] = 'set_default'
            plan['version_id'] = version.get('VersionId')
            return plan

    plan['action'] = 'create_version'
    if len(versions) >= MAX_POLICY_VERSIONS and non_default:
        plan['delete_version_id'] = _oldest_first(non_default)[0].get('VersionId')
    return plan


def apply_custom_policy_plan(client, name, plan, description=None, _replanned=False):
    """Carry out a plan from plan_custom_policy. Returns True when something was written."""
    action = plan['action']
    document = plan.get('document') or to_json(plan['after'])
    if action == 'none':
        return False
    if action == 'create':
        params = {'PolicyName': name, 'PolicyDocument': document}
        if description:
            params['Description'] = description
        try:
            client.call('CreatePolicy', params)
        except AlicloudApiError as err:
            if err.code != 'EntityAlreadyExists.Policy':
                raise
            # Created by a concurrent run between our read and this write: converge it instead.
            replan = plan_custom_policy(client, name, json.loads(document))
            if replan['action'] == 'create':
                raise
            return apply_custom_policy_plan(client, name, replan, description)
        return True
    if action == 'set_default':
        client.call('SetDefaultPolicyVersion', {'PolicyName': name, 'VersionId': plan['version_id']})
        return True
    if plan.get('delete_version_id'):
        try:
            client.call('DeletePolicyVersion', {'PolicyName': name, 'VersionId': plan['delete_version_id']})
        except AlicloudApiError as err:
            if not is_not_found(err):
                raise
    try:
        client.call('CreatePolicyVersion', {'PolicyName': name, 'PolicyDocument': document, 'SetAsDefault': True})
    except AlicloudApiError as err:
        if err.code != VERSION_LIMIT_CODE or _replanned:
            raise
        # A concurrent run added a version after our read: plan again once from fresh reads.
        replan = plan_custom_policy(client, name, json.loads(document))
        return apply_custom_policy_plan(client, name, replan, description, _replanned=True)
    return True


def delete_custom_policy(client, name):
    """Delete a custom policy and every non-default version. Missing means done. Returns True if deleted."""
    body = client.call_or_none('ListPolicyVersions', {'PolicyName': name, 'PolicyType': 'Custom'})
    if body is None:
        return False
    for version in ((body.get('PolicyVersions') or {}).get('PolicyVersion')) or []:
        if not version.get('IsDefaultVersion'):
            client.call_or_none('DeletePolicyVersion', {'PolicyName': name, 'VersionId': version.get('VersionId')})
    return client.call_or_none('DeletePolicy', {'PolicyName': name}) is not None
