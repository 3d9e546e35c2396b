# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The instance RAM role: the resources of ram_instance_role (:class:`InstanceRole`) and
ram_instance_role_info (:class:`InstanceRoleInfo`).

Decisions are taken from reads only (``plan`` is pure) and every write goes through the run's
writer, so check mode predicts exactly what a real run does, and a run that fails after a write
reports ``changed`` and the role as the writes left it.

A RAM role is global: before it is deleted, every region the account has (ECS DescribeRegions)
is searched for instances holding it, on the worker pool; without ``force`` any holder (or an
attached policy) refuses the deletion, naming instance and region; with ``force`` the role is
detached from each holder in its region first.

The view: ``role`` (the Role dict, API keys; None when absent), ``policies`` (``Type:Name`` ->
RAM policy dict), ``tags`` and ``holders`` (region -> instance id -> role held).
"""

import collections

from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.data import short_list
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, not_offered
from ansible_collections.alicloud.ram.plugins.module_utils.failures import InputError, InstanceFailures, refuse
from ansible_collections.alicloud.ram.plugins.module_utils.policy import (
    ECS_SERVICE,
    PolicyDocumentError,
    normalize_policy,
    parse_policy_document,
    policies_equal,
    trust_policy_for_services,
    validate_policy_document,
)
from ansible_collections.alicloud.ram.plugins.module_utils.ram import (
    MAX_TAGS,
    RoleTags,
    parse_trust_policy,
    policy_item,
    role_to_result,
    tag_text,
    tags_error,
    validate_description,
    validate_max_session_duration,
    validate_role_name,
)
from ansible_collections.alicloud.ram.plugins.module_utils.resource import REMOVED, SETTLED, Change, Conflict, Plan, Resource

DEFAULT_TRUSTED_SERVICES = [ECS_SERVICE]
DEFAULT_SESSION_DURATION = 3600
REGION_WORKERS = 4
# DeleteRole answers this when a policy was attached after we listed them: detach it and try again
DELETE_CONFLICT = 'DeleteConflict.Role.Policy'
DELETE_ATTEMPTS = 3
# role fields only the service assigns: absent from a role predicted in check mode
SERVICE_FIELDS = ('role_id', 'arn', 'create_date', 'update_date')
# ram_api.update_role argument -> the Role key it changes
UPDATABLE = (('trust_policy', 'AssumeRolePolicyDocument'), ('description', 'Description'),
             ('max_session_duration', 'MaxSessionDuration'))


# ---------------------------------------------------------------------------------- validation

def trust_error(params):
    """A message for an unusable ``assume_role_policy_document`` / ``trusted_services``, or None."""
    document, services = params.get('assume_role_policy_document'), params.get('trusted_services')
    if document is not None:
        try:
            validate_policy_document(document, kind='trust policy')
        except PolicyDocumentError as err:
            return 'assume_role_policy_document: %s' % err
    elif services is not None and (not services or not all(isinstance(s, str) and s.strip() for s in services)):
        return 'trusted_services must be a non-empty list of service names, for example [%s]' % ECS_SERVICE
    return None


def wanted_trust(params):
    """The trust policy the (valid) options ask for, as ``(document, JSON text to send)``; ``(None, None)`` when not given."""
    document, services = params.get('assume_role_policy_document'), params.get('trusted_services')
    if document is not None:
        text = validate_policy_document(document, kind='trust policy')
        return parse_policy_document(text, kind='trust policy'), text
    if services is not None:
        doc = trust_policy_for_services([s.strip() for s in services])
        return doc, validate_policy_document(doc, kind='trust policy')
    return None, None


def _description_error(description):
    if description == '':
        return 'description must be 1 to 1024 characters; omit it to keep the current description'
    return validate_description(description)


# ---------------------------------------------------------------------------------- results

def _trust_for_diff(doc):
    parsed = parse_trust_policy(doc)
    if not isinstance(parsed, dict):
        return parsed
    try:
        return normalize_policy(parsed)
    except (PolicyDocumentError, TypeError, ValueError):
        return parsed


def diff_view(result):
    """The fields of a ``role`` result shown by --diff (trust policy normalised)."""
    if not result:
        return {}
    view = dict((key, result.get(key)) for key in ('role_name', 'description', 'max_session_duration', 'tags', 'attached_policies'))
    view['assume_role_policy_document'] = _trust_for_diff(result.get('assume_role_policy_document'))
    return view


def _policy_label(policy):
    return '%s (%s)' % (policy.get('PolicyName'), policy.get('PolicyType'))


def policy_key(policy):
    return '%s:%s' % (policy.get('PolicyType'), (policy.get('PolicyName') or '').lower())


def role_result(view):
    """The ``role`` result of a view: {} when there is no role; fields only the service assigns are left out when unknown."""
    if not view.get('role'):
        return {}
    result = role_to_result(view['role'], list(view.get('policies', {}).values()), view.get('tags', {}))
    for key in SERVICE_FIELDS:
        if result[key] is None:
            del result[key]
    return result


def holder_ids(holders):
    return [iid for region in sorted(holders) for iid in holders[region]]


def _create_change(wanted):
    role = {'RoleName': wanted['name'], 'AssumeRolePolicyDocument': wanted['trust_policy'], 'Description': wanted['description'] or '',
            'MaxSessionDuration': wanted['max_session_duration']}
    return Change({('role',): role, ('tags',): dict(wanted['tags']), ('policies',): {}}, action='create', args=wanted)


def _detach_policy_change(policy):
    item = policy_item(policy.get('PolicyName'), policy.get('PolicyType'))
    return Change({('policies', policy_key(policy)): REMOVED}, 'detached_policies', item, action='detach_policy', args=item)


class InstanceRole(Resource):
    """One RAM role converged to the module's options (``state: present``) or deleted (``absent``)."""

    DONE_LISTS = ('detached_policies', 'detached_instance_ids')

    def __init__(self, module):
        super(InstanceRole, self).__init__(module)
        self.name = self.params['name']
        self.tags = None
        self.trust = self.trust_text = None

    # -- validate / read ---------------------------------------------------------------------

    def validate(self):
        refuse([validate_role_name(self.name), _description_error(self.params.get('description')),
                validate_max_session_duration(self.params.get('max_session_duration')), tags_error(self.params.get('tags')),
                trust_error(self.params)])
        tags = self.params.get('tags')
        self.tags = None if tags is None else dict((key, tag_text(value)) for key, value in tags.items())
        self.trust, self.trust_text = wanted_trust(self.params)

    def read(self):
        """``None`` when the role does not exist, else a dict: ``role``, ``policies``, ``tags``
        (with ``state: absent`` also ``holders``: region -> {instance id: role})."""
        role = ram_api.get_role(self.ram, self.name)
        if role is None:
            return None
        current = {'role': role, 'policies': ram_api.list_policies_for(self.ram, 'role', self.name) or [],
                   'tags': RoleTags(self.ram).of(self.name), 'holders': {}, 'regions': None}
        if self.params['state'] == 'absent':
            current['regions'] = self._regions()
            current['holders'] = self._holders(current['regions'])
        return current

    def _regions(self):
        """Every region ECS offers the account; where DescribeRegions is not offered, the task's region (with a warning)."""
        from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api  # pylint: disable=import-outside-toplevel

        try:
            return ecs_api.describe_regions(self._regional_client(None))
        except AlicloudApiError as err:
            if not not_offered(err):
                raise
            code = err.code
        region = self.module.region('ecs', required=False)
        self.warn('this endpoint does not offer DescribeRegions (%s): instances holding role %s were looked for in %s only'
                  % (code, self.name, region or 'no region (none is configured)'))
        return [region] if region else []

    def _holders(self, regions):
        """Instances holding the role in ``regions`` (the regions read on the pool, each with a client of its own)."""
        # the instance toolkit only for a deletion: a run that keeps the role never loads it
        from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api, instances  # pylint: disable=import-outside-toplevel
        from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import WorkerPool, first_error  # pylint: disable=import-outside-toplevel

        pool = WorkerPool(lambda n: [None] * n, start=REGION_WORKERS)
        outcomes = pool.map(lambda _client, region: ecs_api.role_holders(self._regional_client(region), region, self.name), regions)
        error = first_error(outcomes)
        if error is not None:
            raise error
        return collections.OrderedDict((region, collections.OrderedDict(
            (iid, held) for iid, held in (outcome.value or {}).items() if instances.same_role(held, self.name)))
            for region, outcome in zip(regions, outcomes) if outcome.value)

    def _regional_client(self, region):
        return self.module.regional_client('ecs', region)

    # -- plan --------------------------------------------------------------------------------

    def plan(self, current):
        before = self._view(current)
        if self.params['state'] == 'absent':
            return Plan(before, self.plan_delete(current), holders=before['holders'])
        if current is None:
            return Plan(before, [_create_change(self.wanted_role())], holders={})
        return Plan(before, self.plan_update(current), holders={})

    @staticmethod
    def _view(current):
        if current is None:
            return {'role': None, 'policies': {}, 'tags': {}, 'holders': {}}
        return {'role': dict(current['role']), 'policies': collections.OrderedDict((policy_key(p), p) for p in current['policies']),
                'tags': dict(current['tags']), 'holders': current['holders']}

    def wanted_role(self):
        trust, text = self.trust, self.trust_text
        if trust is None:
            text = validate_policy_document(trust_policy_for_services(DEFAULT_TRUSTED_SERVICES), kind='trust policy')
        return {'name': self.name, 'trust_policy': text, 'description': self.params.get('description'),
                'max_session_duration': self.params.get('max_session_duration') or DEFAULT_SESSION_DURATION, 'tags': self.tags or {}}

    def plan_update(self, current):
        role, changes = current['role'], {}
        if self.trust is not None:
            stored = parse_trust_policy(role.get('AssumeRolePolicyDocument'))
            if not (isinstance(stored, dict) and policies_equal(stored, self.trust)):
                changes['trust_policy'] = self.trust_text
        description = self.params.get('description')
        if description is not None and description != (role.get('Description') or ''):
            changes['description'] = description
        duration = self.params.get('max_session_duration')
        if duration is not None and str(duration) != str(role.get('MaxSessionDuration')):
            changes['max_session_duration'] = duration
        result = []
        if changes:
            result.append(Change(dict((('role', key), changes[arg]) for arg, key in UPDATABLE if arg in changes), action='update', args=changes))
        if self.tags is not None:
            have = current['tags']
            tag = dict((k, v) for k, v in self.tags.items() if have.get(k) != v)
            untag = sorted(k for k in have if k not in self.tags) if self.params.get('purge_tags') else []
            count = len(set(have) - set(untag) | set(self.tags))
            if count > MAX_TAGS:
                raise InputError('role %s would have %d tags; the limit is %d (set purge_tags: true to remove the others)'
                                 % (self.name, count, MAX_TAGS))
            if untag:
                result.append(Change(dict((('tags', k), REMOVED) for k in untag), action='untag', args=untag))
            if tag:
                result.append(Change(dict((('tags', k), v) for k, v in tag.items()), action='tag', args=tag))
        return result

    def plan_delete(self, current):
        if current is None:
            return []
        policies, holders = current['policies'], current['holders']
        blockers = []
        if policies:
            blockers.append('attached policies: %s' % ', '.join(_policy_label(p) for p in policies))
        if holders:
            blockers.append('holders: %s' % '; '.join('%s in %s' % (short_list(ids), region) for region, ids in holders.items()))
        if blockers and not self.params.get('force'):
            role = role_result(self._view(current))
            raise InputError('role %s was not deleted: it still has %s; detach them first or set force: true'
                             % (self.name, ' and '.join(blockers)),
                             role=role, attached_policies=role['attached_policies'], instance_ids=holder_ids(holders),
                             holders=dict((region, list(ids)) for region, ids in holders.items()))
        changes = [Change({('holders', region, iid): REMOVED}, 'detached_instance_ids', iid, key=iid, target=None, action='detach_instance',
                          args=region) for region, ids in holders.items() for iid in ids]
        changes += [_detach_policy_change(p) for p in policies]
        return changes + [Change({('role',): None, ('tags',): {}, ('policies',): {}}, action='delete')]

    # -- apply -------------------------------------------------------------------------------

    def apply(self, plan):
        """The instances first (batched, region by region), then every other change in plan order."""
        if plan.holders:
            self.detach_from_instances(plan)
        for change in plan.changes:
            if change.action == 'create':
                self.create(change)
            elif change.action == 'update':
                answer = self.writer.write(change, ram_api.update_role, self.ram, self.name, settle=lambda change=change: self._shows(change),
                                           **change.args)
                if isinstance(answer, dict) and answer.get('UpdateDate'):
                    self.writer.learn({('role', 'UpdateDate'): answer['UpdateDate']})
            elif change.action == 'untag':
                self.writer.write(change, ram_api.untag_role, self.ram, self.name, change.args,
                                  settle=lambda change=change: not set(change.args) & set(RoleTags(self.ram).of(self.name)))
            elif change.action == 'tag':
                self.writer.write(change, ram_api.tag_role, self.ram, self.name, change.args,
                                  settle=lambda change=change: self._has_tags(change.args))
            elif change.action == 'detach_policy':
                self.detach_policy(change)
            elif change.action == 'delete':
                self.delete_role(change)

    def create(self, change):
        wanted = change.args
        outcome = self.writer.write(change, ram_api.create_role, self.ram, self.name, wanted['trust_policy'], wanted['description'],
                                    wanted['max_session_duration'], wanted['tags'], settle=lambda: ram_api.get_role(self.ram, self.name) is not None)
        if outcome is False:
            # created by someone else since our read: read again and converge that role
            raise Conflict('role %s was created by someone else while this task ran' % self.name)
        if outcome is True or outcome is SETTLED:
            # our CreateRole took effect but its answer was lost: read the role back
            outcome = ram_api.get_role(self.ram, self.name)
        if isinstance(outcome, dict):
            self.writer.learn(dict((('role', key), value) for key, value in outcome.items()))
            if not outcome.get('UpdateDate') and outcome.get('CreateDate'):
                self.writer.learn({('role', 'UpdateDate'): outcome['CreateDate']})

    def detach_from_instances(self, plan):
        from ansible_collections.alicloud.ram.plugins.module_utils import instances  # pylint: disable=import-outside-toplevel
        from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import WorkerPool  # pylint: disable=import-outside-toplevel

        failures = []
        for region, ids in plan.holders.items():
            pool = WorkerPool(lambda n, region=region: self.module.clients('ecs', n, region=region), start=REGION_WORKERS)
            changes = [c for c in plan.changes if c.action == 'detach_instance' and c.args == region]
            failed = instances.write_detaches(self.writer, pool, region, self.name, changes)
            failures.extend(f for f, _now in failed.values())
        if failures:
            raise InstanceFailures('role %s was not deleted: detach it from %d instance(s)' % (self.name, len(holder_ids(plan.holders))),
                                   failures, len(holder_ids(plan.holders)))

    def delete_role(self, change):
        for attempt in range(DELETE_ATTEMPTS):
            try:
                self.writer.write(change, ram_api.delete_role, self.ram, self.name, settle=lambda: ram_api.get_role(self.ram, self.name) is None)
                return
            except AlicloudApiError as err:
                if err.code != DELETE_CONFLICT or not self.params.get('force') or attempt == DELETE_ATTEMPTS - 1:
                    raise
            # a policy was attached after we listed them: detach it and try again
            for policy in ram_api.list_policies_for(self.ram, 'role', self.name) or []:
                self.detach_policy(_detach_policy_change(policy))

    def detach_policy(self, change):
        name, policy_type = change.args['policy_name'], change.args['policy_type']
        self.writer.write(change, ram_api.detach_policy, self.ram, 'role', self.name, name, policy_type,
                          settle=lambda: not any(policy_key(p) == policy_key({'PolicyName': name, 'PolicyType': policy_type})
                                                 for p in ram_api.list_policies_for(self.ram, 'role', self.name) or []))

    def _has_tags(self, tags):
        have = RoleTags(self.ram).of(self.name)
        return all(have.get(key) == value for key, value in tags.items())

    def _shows(self, change):
        """Whether the role now has the values an UpdateRole meant to set (the read that settles a lost answer)."""
        role = ram_api.get_role(self.ram, self.name) or {}
        wanted = dict((key, value) for (_role, key), value in change.effect.items())
        stored = parse_trust_policy(role.get('AssumeRolePolicyDocument'))
        for key, value in wanted.items():
            if key == 'AssumeRolePolicyDocument':
                if not (isinstance(stored, dict) and policies_equal(stored, parse_trust_policy(value))):
                    return False
            elif str(role.get(key)) != str(value):
                return False
        return True

    # -- results -----------------------------------------------------------------------------

    def result(self, current, plan):
        result = {'role': role_result(self.view)}
        if current is not None and current.get('regions') is not None:
            result['regions_checked'] = current['regions']
        return result

    def diff_view(self, view, plan):
        return diff_view(role_result(view))
