# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Converge one custom RAM policy to a wanted document, within the limit of 5 versions.

Shared by ram_role_policy and ram_user_role_grant. ``plan_custom_policy`` decides from reads
only, so check mode reports exactly what a real run does. ``apply_custom_policy_plan`` holds
under contention: when another writer changes the policy between our read and our write (a
sixth version refused, a version deleted or made the default meanwhile), it reads again and
plans again, with jittered backoff, until a deadline. RAM itself never keeps more than 5
versions; the plan deletes the oldest non-default version first when all 5 are taken.
"""

import re
import time

from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.policy import normalize_policy, policy_text
from ansible_collections.alicloud.ram.plugins.module_utils.ram_api import (
    create_policy,
    create_policy_version,
    delete_policy,
    delete_policy_version,
    get_policy,
    list_policy_versions,
    set_default_policy_version,
    stored_document,
)
from ansible_collections.alicloud.ram.plugins.module_utils.retries import call_until_visible

MAX_POLICY_VERSIONS = 5
# seconds a write keeps re-planning while other writers change the same policy
CONTENTION_TIMEOUT = 60
CREATE_CONFLICT_CODE = 'EntityAlreadyExists.Policy'
LOST_ANSWER_CODE = 'LostAnswer'
# answers meaning the policy changed between our read and our write: read again, plan again
REPLAN_CODES = (
    'LimitExceeded.Policy.Version',            # another writer took the last free version
    'EntityNotExist.Policy.Version',           # the version to make the default was deleted meanwhile
    'DeleteConflict.Policy.Version.Default',   # the version to delete became the default meanwhile
    'EntityNotExist.Policy',                   # the policy was deleted meanwhile
    CREATE_CONFLICT_CODE,                      # created (and deleted again) by another writer meanwhile
    LOST_ANSWER_CODE,                          # our new version may exist: its answer was lost
)
DELETE_REPLAN_CODES = ('DeleteConflict.Policy.Version', 'DeleteConflict.Policy.Version.Default')


def _version_number(version_id):
    match = re.match(r'^v(\d+)$', version_id or '')
    return int(match.group(1)) if match else 0


def _oldest_first(versions):
    return sorted(versions, key=lambda v: (v.get('CreateDate') or '', _version_number(v.get('VersionId'))))


def _normalized_or_none(doc):
    """Stored documents are compared, never validated: one the service accepted must not break a run."""
    if doc is None:
        return None
    try:
        return normalize_policy(doc)
    except (TypeError, ValueError):
        return None


def _same_document(stored, wanted):
    normalized = _normalized_or_none(stored)
    return normalized is not None and normalized == normalize_policy(wanted)


def _default_document(found):
    document = found['DefaultPolicyVersion'].get('PolicyDocument') or found['Policy'].get('PolicyDocument')
    return stored_document(document)


def read_custom_policy(ram, name):
    """``(Policy dict, default document dict)``, or ``(None, None)`` when the custom policy does not exist.

    The document is None when the answer carries none (or an unreadable one).
    """
    found = get_policy(ram, name, 'Custom')
    if found is None:
        return None, None
    return found['Policy'], _default_document(found)


def plan_custom_policy(ram, name, document):
    """What it takes for custom policy ``name`` to have ``document`` (dict or JSON text) as its default version.

    Returns a dict: ``action`` (none | create | set_default | create_version), ``before`` (the
    normalised default document, or None), ``after`` (the normalised wanted document), ``exists``,
    ``policy`` (the GetPolicy ``Policy`` dict or None), ``document`` (the JSON text a write sends),
    ``version_id`` (for set_default) and ``delete_version_id`` (the oldest non-default version,
    deleted first when all versions are taken).
    """
    wanted = normalize_policy(document)
    plan = {'action': 'none', 'before': None, 'after': wanted, 'exists': False, 'policy': None,
            'document': policy_text(document), 'version_id': None, 'delete_version_id': None}
    found = get_policy(ram, name, 'Custom')
    versions = None
    if found is not None:
        current = _default_document(found)
        plan.update(exists=True, policy=found['Policy'], before=_normalized_or_none(current))
        if _same_document(current, wanted):
            return plan
        versions = list_policy_versions(ram, name)
    if versions is None:
        # missing (or deleted between the two reads)
        plan.update(action='create', exists=False, policy=None, before=None)
        return plan

    default = [v for v in versions if v.get('IsDefaultVersion')]
    non_default = _oldest_first([v for v in versions if not v.get('IsDefaultVersion')])
    if plan['before'] is None and default:
        # GetPolicy answered without the default document: the version list has it
        current = stored_document(default[0].get('PolicyDocument'))
        plan['before'] = _normalized_or_none(current)
        if _same_document(current, wanted):
            return plan
    for version in reversed(non_default):
        if _same_document(stored_document(version.get('PolicyDocument')), wanted):
            plan.update(action='set_default', version_id=version.get('VersionId'))
            return plan
    plan['action'] = 'create_version'
    if len(versions) >= MAX_POLICY_VERSIONS and non_default:
        plan['delete_version_id'] = non_default[0].get('VersionId')
    return plan


def _create(ram, name, plan, description, wrote):
    """CreatePolicy; False when another writer created the policy first (its document is converged next)."""
    outcome = create_policy(ram, name, plan['document'], description)
    if outcome is False:
        return False
    if outcome is True:
        # our reply was lost and the retry met "already exists": ours only if it holds our document
        _policy, current = read_custom_policy(ram, name)
        if not _same_document(current, plan['after']):
            return False
    wrote('created')
    return True


def _update(ram, name, plan, wrote):
    if plan['action'] == 'set_default':
        set_default_policy_version(ram, name, plan['version_id'])
        wrote('updated')
    elif plan['action'] == 'create_version':
        if plan['delete_version_id'] and delete_policy_version(ram, name, plan['delete_version_id']):
            wrote('updated')
        create_policy_version(ram, name, plan['document'], set_as_default=True)
        wrote('updated')


def apply_custom_policy_plan(ram, name, plan, description=None, on_write=None, timeout=CONTENTION_TIMEOUT):
    """Carry out a plan of :func:`plan_custom_policy`; True when something was written.

    ``on_write(kind)`` is called right after each write that took effect, ``kind`` being
    ``'created'`` (the policy was created) or ``'updated'`` (a version was added, made the
    default or deleted to make room). When another writer changes the policy meanwhile the
    plan is made again from fresh reads, until ``timeout`` seconds have passed; the last
    refusal is raised then (an ``AlicloudApiError`` naming the operation).
    """
    written = []

    def wrote(kind):
        written.append(kind)
        if on_write is not None:
            on_write(kind)

    pending = {'plan': plan, 'uncertain': False}

    def attempt():
        current = pending.pop('plan', None)
        if current is None:
            current = plan_custom_policy(ram, name, plan['document'])
            if current['action'] == 'none' and pending['uncertain']:
                # a write whose reply was lost took effect before the refusal of its retry
                wrote('updated')
        try:
            if current['action'] == 'create':
                if _create(ram, name, current, description, wrote):
                    return
                current = plan_custom_policy(ram, name, plan['document'])
                if current['action'] == 'create':
                    error = AlicloudApiError(CREATE_CONFLICT_CODE, 'the policy was created and deleted by another writer meanwhile',
                                             action='CreatePolicy')
                    error.operation = 'create custom policy %s' % name
                    raise error
            _update(ram, name, current, wrote)
        except AlicloudApiError as err:
            pending['uncertain'] = pending['uncertain'] or bool(err.after_lost_reply) or err.final
            if err.final:
                # a new version whose answer was lost: the next plan, from fresh reads, finds out
                err.code = LOST_ANSWER_CODE
            raise

    if plan['action'] != 'none':
        call_until_visible(attempt, REPLAN_CODES, timeout, sleep=time.sleep, clock=time.monotonic)
    return bool(written)


def delete_custom_policy(ram, name, timeout=CONTENTION_TIMEOUT):
    """Delete a custom policy, its non-default versions first; True when this call deleted something.

    A policy that is missing (or deleted by someone else meanwhile) is no error. A version added
    by another writer meanwhile is deleted on the next attempt.
    """
    written = []

    def attempt():
        versions = list_policy_versions(ram, name)
        if versions is None:
            return
        for version in _oldest_first(v for v in versions if not v.get('IsDefaultVersion')):
            if delete_policy_version(ram, name, version.get('VersionId')):
                written.append(version.get('VersionId'))
        if delete_policy(ram, name):
            written.append(name)

    call_until_visible(attempt, DELETE_REPLAN_CODES, timeout, sleep=time.sleep, clock=time.monotonic)
    return bool(written)
