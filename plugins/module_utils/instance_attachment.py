# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Instance RAM roles on ECS instances: the resources of ecs_instance_role_attachment
(:class:`InstanceRoleAttachment`) and ecs_instance_role_info (:class:`InstanceRoleInfo`).

Reads and batch senders live in the instance toolkit (``instances.py``); every batch runs on one
adaptive :class:`concurrency.WorkerPool` and every write through ``Writer.write_batches``. What
is refused before the first write, alike in check mode, naming every problem at once: the input,
instances that do not exist or are classic-network (the reads show them), instances holding
another role (without ``force``), and a role that does not exist or ECS may not assume (one
GetRole). ``force`` detaches first, waits (up to ``wait_timeout``) until the detach shows, then
attaches, trying again while the old role still shows (API_FACTS 5.2).
"""

import collections
import time

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api, instances, ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import WorkerPool
from ansible_collections.alicloud.ram.plugins.module_utils.data import short_list
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, format_error
from ansible_collections.alicloud.ram.plugins.module_utils.failures import InstanceFailures, ResourceFailure, instance_failure, refuse
from ansible_collections.alicloud.ram.plugins.module_utils.instances import CODE_CLASSIC, MSG_CLASSIC, same_role
from ansible_collections.alicloud.ram.plugins.module_utils.policy import PolicyDocumentError, can_ecs_assume, parse_policy_document, to_json
from ansible_collections.alicloud.ram.plugins.module_utils.ram import validate_role_name
from ansible_collections.alicloud.ram.plugins.module_utils.resource import Change, Plan, Resource
from ansible_collections.alicloud.ram.plugins.module_utils.results import fleet_counts, fleet_msg, lean_map

MAX_POLICY_CHARS = 1024
CODE_OTHER_ROLE = 'InstanceHasOtherRole'
MSG_OTHER_ROLE = 'The instance holds the RAM role %s; set force=true to replace it.'

# ``roles``: id -> role held (None: none) for the selected ids that exist as VPC instances;
# ``role``: the RAM role (None when missing; not read when no instance needs it).
Current = collections.namedtuple('Current', ['ids', 'roles', 'unknown', 'classic', 'role', 'role_read'])


# ---------------------------------------------------------------------------------- input

def extra_policy_error(value):
    """A message for an unusable ``policy`` option (dict or JSON string, 1-1024 characters as sent), or None."""
    if value is None:
        return None
    try:
        text = to_json(parse_policy_document(value, 'policy'))
    except PolicyDocumentError as err:
        return str(err)
    if len(text) > MAX_POLICY_CHARS:
        return 'policy is %d characters long once compacted; the limit is %d' % (len(text), MAX_POLICY_CHARS)
    return None


def wait_timeout_error(value):
    if value is None or value <= 0 or value > 86400:
        return 'wait_timeout must be between 1 and 86400 seconds, got %s' % value
    return None


# ---------------------------------------------------------------------------------- plan

def _role_problem(current, role_name):
    """``(code, message)`` when the role cannot be attached, else None."""
    if not current.role_read:
        return None
    if current.role is None:
        return 'EntityNotExist.Role', 'role %s does not exist' % role_name
    if not can_ecs_assume(current.role.get('AssumeRolePolicyDocument')):
        return 'InvalidRamRole.NotEcsRole', 'role %s cannot be assumed by ECS (its trust policy does not name ecs.aliyuncs.com)' % role_name
    return None


def _attach_change(iid, role):
    return Change({('attachments', iid): role}, 'changed_instance_ids', iid, key=iid, target=role)


def _detach_change(iid, listed):
    return Change({('attachments', iid): None}, 'changed_instance_ids' if listed else None, iid, key=iid, target=None)


def refusals(current, role_name, region, force):
    """``(failed_instances, problems)`` that block every write of ``state: present``."""
    conflicts = [(i, current.roles[i]) for i in current.ids if current.roles.get(i) and not same_role(current.roles[i], role_name)]
    failed = instances.not_found_failures(region, current.unknown)
    failed += [instance_failure(i, CODE_CLASSIC, MSG_CLASSIC) for i in current.classic]
    problems = []
    if current.unknown:
        problems.append('%d instance(s) not found in %s: %s' % (len(current.unknown), region, short_list(current.unknown)))
    if current.classic:
        problems.append('%d classic-network instance(s), RAM roles need VPC instances: %s' % (len(current.classic), short_list(current.classic)))
    if conflicts and not force:
        failed += [instance_failure(i, CODE_OTHER_ROLE, MSG_OTHER_ROLE % r) for i, r in conflicts]
        problems.append('%d instance(s) hold another role (set force=true to replace it): %s' % (
            len(conflicts), short_list('%s (%s)' % pair for pair in conflicts)))
    return failed, problems


def plan_changes(current, role_name, state, force):
    """The per-instance changes (detaches first, then attaches), from the reads only."""
    before = {'attachments': collections.OrderedDict((i, current.roles.get(i)) for i in current.ids)}
    changes, replace = [], []
    for iid in current.ids:
        held = current.roles.get(iid)
        if iid not in current.roles:
            continue
        if state == 'absent':
            if held and same_role(held, role_name):
                changes.append(_detach_change(iid, True))
        elif not held:
            changes.append(_attach_change(iid, role_name))
        elif not same_role(held, role_name) and force:
            replace.append((iid, held))
    detaches = [_detach_change(iid, False) for iid, _held in replace]
    attaches = [_attach_change(iid, role_name) for iid, _held in replace]
    return Plan(before, detaches + changes + attaches, replace=dict(replace))


# ---------------------------------------------------------------------------------- the resources

class _InstanceReader(Resource):
    """The selection and role reads both modules share."""

    def __init__(self, module):
        super(_InstanceReader, self).__init__(module)
        self.region = self.pool = None
        self.instance_ids, self.tags = [], {}

    def _start(self):
        self.instance_ids, self.tags = instances.selection_input(self.params)
        self.region = self.module.region('ecs')
        self.pool = WorkerPool(lambda n: self.module.clients('ecs', n), maximum=self.params['concurrency'])

    def _select_and_read(self):
        """``(selected ids, RoleReading)``; nothing is read for an empty selection."""
        selection = instances.select_instances(self.module.client('ecs'), self.region, self.instance_ids, self.tags)
        if not selection.ids:
            return [], instances.RoleReading({}, [], [], {})
        return selection.ids, instances.read_roles(self.pool, self.region, selection.ids, selection.described)


class InstanceRoleAttachment(_InstanceReader):
    """ecs_instance_role_attachment: ensure ``role_name`` is (or is not) attached to the selected instances."""

    DONE_LISTS = ('changed_instance_ids',)

    def validate(self):
        params = self.params
        refuse(instances.selection_errors(params) + [validate_role_name(params.get('role_name')), extra_policy_error(params.get('policy')),
                                                     wait_timeout_error(params.get('wait_timeout'))], prefix='invalid input: ')
        if params['state'] == 'absent' and params.get('policy'):
            self.warn('policy is only used when attaching a role; it is ignored with state=absent')
        self._start()

    def read(self):
        ids, reading = self._select_and_read()
        role_name = self.params['role_name']
        needs_role = self.params['state'] == 'present' and any(not same_role(held, role_name) for held in reading.roles.values())
        role = ram_api.get_role(self.ram, role_name) if needs_role else None
        return Current(ids, reading.roles, reading.unknown, reading.classic, role, needs_role)

    def plan(self, current):
        role_name, state, force = self.params['role_name'], self.params['state'], bool(self.params.get('force'))
        if state == 'absent':
            if current.unknown:
                self.warn('%d instance(s) do not exist in %s and cannot hold role %s: %s' % (
                    len(current.unknown), self.region, role_name, short_list(current.unknown)))
            return plan_changes(current, role_name, state, force)
        failed, problems = refusals(current, role_name, self.region, force)
        problem = _role_problem(current, role_name)
        code = failed[0]['code'] if failed else None
        if problem is not None and problem[0] == 'EntityNotExist.Role' and not problems:
            self.missing_dependency(self._refused(current, problem[0], [problem[1]], failed), 'role %s does not exist yet' % role_name)
        elif problem is not None:
            code = problem[0]
            problems.insert(0, problem[1])
        if problems:
            raise self._refused(current, code, problems, failed)
        # attach with the name as RAM spells it
        spelled = (current.role or {}).get('RoleName') or role_name
        return plan_changes(current, spelled, state, force)

    def _refused(self, current, code, problems, failed):
        err = AlicloudApiError(code, '; '.join(problems))
        keys = [f['instance_id'] for f in failed]
        roles = collections.OrderedDict((i, current.roles.get(i)) for i in current.ids)
        return ResourceFailure(format_error(err, self._operation(len(current.ids))), err, failed_instances=failed,
                               attachments=lean_map(roles, keys, self.params.get('return_all')),
                               summary=fleet_counts(len(current.ids), 0, len(keys)), concurrency=self.pool.peak)

    # -- apply -------------------------------------------------------------------------------

    def _operation(self, count):
        verb = 'attach role %s to' if self.params['state'] == 'present' else 'detach role %s from'
        return (verb + ' %d instance(s)') % (self.params['role_name'], count)

    def _observe(self, ids):
        return instances.observe_roles(self.pool, self.region, ids)

    def apply(self, plan):
        failures = collections.OrderedDict()
        detaches = [c for c in plan.changes if c.target is None]
        attaches = [c for c in plan.changes if c.target is not None]
        by_role = collections.OrderedDict()
        for change in detaches:
            held = plan.before['attachments'][change.key]
            by_role.setdefault(held.lower(), (held, []))[1].append(change)
        for held, changes in by_role.values():
            failures.update(instances.write_detaches(self.writer, self.pool, self.region, held, changes))
        if attaches:
            failures.update(self._attach(plan, [c for c in attaches if c.key not in failures]))
        if failures:
            raise InstanceFailures(self._operation(len(plan.changes) - len(plan.replace)), [f for f, _now in failures.values()],
                                   len(plan.changes) - len(plan.replace))
        done = set(self.recorder.done('changed_instance_ids'))
        changed = [c for c in plan.changes if c.done_list and c.key in done]
        if self.params.get('wait') and changed:
            self._wait(changed)

    def _attach(self, plan, changes):
        """Attach; replaced instances first wait until their detach shows, then the attach is sent again for those
        still showing their old role (the detach lags), until ``wait_timeout``. Returns the failures."""
        if not changes:
            return collections.OrderedDict()
        role_name, policy = changes[0].target, self._policy()
        replaced = [c.key for c in changes if c.key in plan.replace]
        timeout = float(self.params['wait_timeout'])
        deadline = time.monotonic() + timeout
        if replaced:
            self.writer.wait(lambda: not any(self._observe(replaced).values()), timeout)
        failures, pending, last = collections.OrderedDict(), [changes], {}

        def attempt():
            failed = instances.write_attaches(self.writer, self.pool, self.region, role_name, pending[0], policy)
            # a replaced instance the settle read still shows holding a role: its detach has not shown yet
            lagging = [c for c in pending[0] if c.key in plan.replace and failed.get(c.key, (None, None))[1] is not None]
            lagging_ids = set(c.key for c in lagging)
            failures.update((k, v) for k, v in failed.items() if k not in lagging_ids)
            last.clear()
            last.update((k, v) for k, v in failed.items() if k in lagging_ids)
            pending[0] = lagging
            return not lagging or time.monotonic() >= deadline

        if not attempt():
            self.writer.wait(attempt, max(0.0, deadline - time.monotonic()))
        failures.update(last)
        return failures

    def _policy(self):
        policy = self.params.get('policy')
        return None if policy is None else to_json(parse_policy_document(policy, 'policy'))

    def _wait(self, changed):
        expected = dict((c.key, c.target) for c in changed)
        pending = [list(expected)]

        def settled():
            roles = self._observe(pending[0])
            pending[0] = [i for i in pending[0] if not same_role(roles.get(i), expected[i])]
            return not pending[0]

        timeout = self.params['wait_timeout']
        if not self.writer.wait(settled, timeout):
            raise ResourceFailure.api(AlicloudApiError('WaitTimeout', '%d instance(s) do not show the expected role yet: %s' % (
                len(pending[0]), short_list(pending[0]))), 'wait %ss for the role change' % timeout)

    # -- result and diff ---------------------------------------------------------------------

    def _counts(self, current, plan):
        wanted = [c for c in plan.changes if c.done_list] if plan is not None else []
        attachments = self.view.get('attachments', {})
        refused = len(current.unknown) + len(current.classic) if self.params['state'] == 'present' else 0
        failed = refused + sum(1 for c in wanted if not same_role(attachments.get(c.key), c.target))
        return fleet_counts(len(current.ids), len(self.recorder.done('changed_instance_ids')), failed)

    def result(self, current, plan):
        attachments = self.view.get('attachments', {})
        keys = [c.key for c in plan.changes]
        if self.params['state'] == 'present':
            keys += list(current.unknown) + list(current.classic)
        counts = self._counts(current, plan)
        if self.params['state'] == 'present':
            msg = fleet_msg('attached %s to' % self.params['role_name'], counts, 'held it already')
        else:
            msg = fleet_msg('detached %s from' % self.params['role_name'], counts, 'did not hold it')
        return {'attachments': lean_map(attachments, keys, self.params.get('return_all')), 'summary': counts, 'msg': msg,
                'failed_instances': [], 'concurrency': self.pool.peak}

    def diff_view(self, view, plan):
        return lean_map(view.get('attachments', {}), [c.key for c in plan.changes])

    def diff_headers(self, plan, result):
        return 'roles of %d instance(s)' % len(plan.before.get('attachments', {})), result.get('msg')


class InstanceRoleInfo(_InstanceReader):
    """ecs_instance_role_info: which selected instances hold which role (read only)."""

    def validate(self):
        role_name = self.params.get('role_name')
        refuse(instances.selection_errors(self.params) + [validate_role_name(role_name) if role_name is not None else None],
               prefix='invalid input: ')
        self._start()

    def read(self):
        role_name = self.params.get('role_name')
        if self.params.get('instance_ids') is None and not self.tags and role_name:
            holders = ecs_api.role_holders(self.module.client('ecs'), self.region, role_name) or {}
            return [{'instance_id': i, 'role_name': r} for i, r in holders.items() if same_role(r, role_name)], []
        ids, reading = self._select_and_read()
        attachments = [{'instance_id': i, 'role_name': reading.roles[i]} for i in ids
                       if reading.roles.get(i) and (not role_name or same_role(reading.roles[i], role_name))]
        if reading.unknown:
            self.warn('%d instance(s) do not exist in %s: %s' % (len(reading.unknown), self.region, short_list(reading.unknown)))
        return attachments, reading.unknown

    def result(self, current, plan):
        attachments, unknown = current
        return {'attachments': attachments, 'unknown_instance_ids': unknown, 'concurrency': self.pool.peak}
