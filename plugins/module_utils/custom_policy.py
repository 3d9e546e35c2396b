# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Converge one custom RAM policy to a wanted document, within the limit of 5 versions.

Shared by ram_role_policy and ram_user_role_grant: :func:`read_custom_policy` reads (the policy,
its default document, its versions when the document differs), :func:`plan_custom_policy` decides
from those facts only, and :func:`converge_custom_policy` carries the plan out through the run's
writer, so check mode predicts exactly what a real run does. Under contention (another writer
adds a sixth version, deletes or promotes a version meanwhile) the converge reads again and plans
again, with backoff, until a deadline. A new version whose answer was lost is never sent twice:
the writer settles it by reading the default document back.
"""

import re
import time

from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.policy import normalize_policy, policy_text
from ansible_collections.alicloud.ram.plugins.module_utils.ram_api import stored_document
from ansible_collections.alicloud.ram.plugins.module_utils.retries import call_until_visible

MAX_POLICY_VERSIONS = 5
CREATED_ELSEWHERE = 'EntityAlreadyExists.Policy'
# seconds a write keeps re-planning while other writers change the same policy
CONTENTION_TIMEOUT = 60
# answers meaning the policy changed between our read and our write: read again, plan again
REPLAN_CODES = (
    'LimitExceeded.Policy.Version',            # another writer took the last free version
    'EntityNotExist.Policy.Version',           # the version to make the default was deleted meanwhile
    'DeleteConflict.Policy.Version.Default',   # the version to delete became the default meanwhile
    'EntityNotExist.Policy',                   # the policy was deleted meanwhile
    CREATED_ELSEWHERE,                         # created by another writer meanwhile
)
DELETE_REPLAN_CODES = ('DeleteConflict.Policy.Version', 'DeleteConflict.Policy.Version.Default')


def _version_number(version_id):
    match = re.match(r'^v(\d+)$', version_id or '')
    return int(match.group(1)) if match else 0


def _oldest_first(versions):
    return sorted(versions, key=lambda v: (v.get('CreateDate') or '', _version_number(v.get('VersionId'))))


def normalized_or_none(doc):
    """Stored documents are compared, never validated: one the service accepted must not break a run."""
    if doc is None:
        return None
    try:
        return normalize_policy(doc)
    except (TypeError, ValueError):
        return None


def same_document(stored, wanted):
    normalized = normalized_or_none(stored)
    return normalized is not None and normalized == normalize_policy(wanted)


def _default_document(found):
    document = found['DefaultPolicyVersion'].get('PolicyDocument') or found['Policy'].get('PolicyDocument')
    return stored_document(document)


def read_custom_policy(ram, name, wanted=None):
    """The facts :func:`plan_custom_policy` decides from: ``{'policy': Policy dict or None, 'document': default
    document dict or None, 'versions': PolicyVersion dicts, read only when the default differs from ``wanted``}``."""
    found = ram_api.get_policy(ram, name, 'Custom')
    if found is None:
        return {'policy': None, 'document': None, 'versions': None}
    facts = {'policy': found['Policy'], 'document': _default_document(found), 'versions': None}
    if wanted is not None and not same_document(facts['document'], wanted):
        facts['versions'] = ram_api.list_policy_versions(ram, name)
        if facts['versions'] is None:
            # deleted between the two reads
            return {'policy': None, 'document': None, 'versions': None}
    return facts


def plan_custom_policy(facts, document):
    """What it takes for the custom policy the ``facts`` describe to have ``document`` as its default version (pure).

    Returns a dict: ``action`` (none | create | set_default | create_version), ``before`` (the
    normalised default document, or None), ``after`` (the normalised wanted document), ``exists``,
    ``policy`` (the Policy dict or None), ``document`` (the JSON text a write sends),
    ``version_id`` (for set_default) and ``delete_version_id`` (the oldest non-default version,
    deleted first when all versions are taken).
    """
    wanted = normalize_policy(document)
    plan = {'action': 'none', 'before': None, 'after': wanted, 'exists': facts['policy'] is not None, 'policy': facts['policy'],
            'document': policy_text(document), 'version_id': None, 'delete_version_id': None}
    if facts['policy'] is None:
        plan['action'] = 'create'
        return plan
    current = facts['document']
    plan['before'] = normalized_or_none(current)
    if same_document(current, wanted):
        return plan
    versions = facts['versions'] or []
    default = [v for v in versions if v.get('IsDefaultVersion')]
    non_default = _oldest_first([v for v in versions if not v.get('IsDefaultVersion')])
    if plan['before'] is None and default:
        # GetPolicy answered without the default document: the version list has it
        current = stored_document(default[0].get('PolicyDocument'))
        plan['before'] = normalized_or_none(current)
        if same_document(current, wanted):
            return plan
    for version in reversed(non_default):
        if same_document(stored_document(version.get('PolicyDocument')), wanted):
            plan.update(action='set_default', version_id=version.get('VersionId'))
            return plan
    plan['action'] = 'create_version'
    if len(versions) >= MAX_POLICY_VERSIONS and non_default:
        plan['delete_version_id'] = non_default[0].get('VersionId')
    return plan


def _carry_out(writer, ram, name, plan, description, change_for):
    wanted = plan['after']

    def holds_wanted():
        return same_document(read_custom_policy(ram, name)['document'], wanted)

    if plan['action'] == 'create':
        if writer.write(change_for('created'), ram_api.create_policy, ram, name, plan['document'], description,
                        settle=holds_wanted) is False:
            # another writer created it first: its document is converged on the next attempt
            raise AlicloudApiError(CREATED_ELSEWHERE, 'policy %s was created by another writer meanwhile' % name, action='CreatePolicy')
    elif plan['action'] == 'set_default':
        writer.write(change_for('updated'), ram_api.set_default_policy_version, ram, name, plan['version_id'], settle=holds_wanted)
    elif plan['action'] == 'create_version':
        if plan['delete_version_id']:
            writer.write(change_for('updated', effect=False), ram_api.delete_policy_version, ram, name, plan['delete_version_id'],
                         settle=lambda: not any(v.get('VersionId') == plan['delete_version_id'] for v in ram_api.list_policy_versions(ram, name) or []))
        writer.write(change_for('updated'), ram_api.create_policy_version, ram, name, plan['document'], settle=holds_wanted)


def converge_custom_policy(writer, ram, name, plan, change_for, description=None, timeout=CONTENTION_TIMEOUT):
    """Carry out a plan of :func:`plan_custom_policy` through ``writer``.

    ``change_for(kind, effect=True)`` gives the :class:`resource.Change` a write records: ``kind``
    ``'created'`` (the policy) or ``'updated'`` (a version added, made the default, or deleted to make
    room; ``effect=False`` for that last one, which leaves the document as it was). When another
    writer changes the policy meanwhile, the plan is made again from fresh reads until ``timeout``
    seconds have passed; the last refusal is raised then.
    """
    if plan['action'] == 'none':
        return
    current = [plan]

    def attempt():
        if current[0] is None:
            current[0] = plan_custom_policy(read_custom_policy(ram, name, plan['after']), plan['after'])
        try:
            _carry_out(writer, ram, name, current[0], description, change_for)
        except Exception:
            current[0] = None
            raise

    call_until_visible(attempt, REPLAN_CODES, timeout, sleep=time.sleep, clock=time.monotonic)


def delete_custom_policy(ram, name, timeout=CONTENTION_TIMEOUT):
    """Delete a custom policy, its non-default versions first; True when this call deleted something.

    A policy that is missing (or deleted by someone else meanwhile) is no error. A version added
    by another writer meanwhile is deleted on the next attempt.
    """
    written = []

    def attempt():
        versions = ram_api.list_policy_versions(ram, name)
        if versions is None:
            return
        for version in _oldest_first(v for v in versions if not v.get('IsDefaultVersion')):
            if ram_api.delete_policy_version(ram, name, version.get('VersionId')):
                written.append(version.get('VersionId'))
        if ram_api.delete_policy(ram, name):
            written.append(name)

    call_until_visible(attempt, DELETE_REPLAN_CODES, timeout, sleep=time.sleep, clock=time.monotonic)
    return bool(written)
