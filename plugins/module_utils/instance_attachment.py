# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Instance RAM roles on ECS instances: the resources of ecs_instance_role_attachment
(:class:`InstanceRoleAttachment`) and ecs_instance_role_info (:class:`InstanceRoleInfo`).

Reads, batches and fallbacks live in the instance toolkit (``instances.py``); every batch runs on
one adaptive :class:`concurrency.WorkerPool`. What is checked before the first write: the input,
that every selected instance exists (the role read and, for the ids it does not list,
DescribeInstances), that no instance holds another role (without ``force``), and that the role
exists and ECS may assume it (one GetRole). A classic-network instance is found before the
writes when the reads show it, else by the attach call's own per-instance result.
"""

import collections
import time

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api, instances, ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import WorkerPool
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, format_error
from ansible_collections.alicloud.ram.plugins.module_utils.instances import CODE_CLASSIC, CODE_NOT_FOUND, failure, same_role, short_list
from ansible_collections.alicloud.ram.plugins.module_utils.policy import PolicyDocumentError, can_ecs_assume, parse_policy_document, to_json
from ansible_collections.alicloud.ram.plugins.module_utils.ram import validate_role_name
from ansible_collections.alicloud.ram.plugins.module_utils.resource import InputError, Resource, ResourceFailure
from ansible_collections.alicloud.ram.plugins.module_utils.retries import wait_until

MAX_POLICY_CHARS = 1024

CODE_OTHER_ROLE = 'InstanceHasOtherRole'
MSG_NOT_FOUND = 'The instance does not exist in region %s.'
MSG_CLASSIC = 'The instance is in the classic network; RAM roles can only be attached to VPC instances.'
MSG_OTHER_ROLE = 'The instance holds the RAM role %s; set force=true to replace it.'
# Per-instance attach failures that cannot mean "the instance holds the role already".
DEFINITE_ATTACH_FAILURES = (CODE_NOT_FOUND, CODE_CLASSIC)

# ``roles``: id -> role held (None: none) for the selected ids that exist as VPC instances (or
# that the role read listed); ``role``: the RAM role (None when missing; not read when no
# instance needs it); ``classic_at_attach``: in check mode, role-less ids DescribeInstances
# shows in the classic network (a real run learns it from the attach answer).
Current = collections.namedtuple('Current', ['ids', 'roles', 'unknown', 'classic', 'role', 'role_read', 'classic_at_attach'])


# ---------------------------------------------------------------------------------- input

def extra_policy_json(value):
    """``(json_text, error)`` for the ``policy`` option (dict or JSON string, 1-1024 characters as sent)."""
    if value is None:
        return None, None
    try:
        text = to_json(parse_policy_document(value, 'policy'))
    except PolicyDocumentError as err:
        return None, str(err)
    if len(text) > MAX_POLICY_CHARS:
        return None, 'policy is %d characters long once compacted; the limit is %d' % (len(text), MAX_POLICY_CHARS)
    return text, None


def raise_input_errors(errors):
    errors = [e for e in errors if e]
    if errors:
        raise InputError('invalid input: ' + '; '.join(errors))


def group_by_role(pairs):
    """``[(role, [ids])]`` in first-seen order, roles compared case-insensitively."""
    groups = collections.OrderedDict()
    for iid, role in pairs:
        groups.setdefault(role.lower(), (role, []))[1].append(iid)
    return list(groups.values())


# ---------------------------------------------------------------------------------- plan

class Plan(object):
    """What a run does to each selected instance, and what blocks every write."""

    def __init__(self, role_name):
        self.role_name = role_name  # as RAM spells it, once GetRole was read
        self.attach = []            # no role -> attach
        self.replace = []           # (id, current role): detach, then attach (force)
        self.detach = []            # (id, current role): state absent
        self.conflicts = []         # (id, current role): another role, no force
        self.unknown = []
        self.classic = []
        self.classic_at_attach = []  # check mode: the attach answer will refuse these
        self.role_problem = None    # (code, message) when the role cannot be attached

    @property
    def write_ids(self):
        return self.attach + [i for i, _r in self.replace] + [i for i, _r in self.detach]


def plan_changes(current, role_name, state, force):
    """Decide per instance from the reads only."""
    plan = Plan(role_name)
    unknown, classic = set(current.unknown), set(current.classic)
    for iid in current.ids:
        held = current.roles.get(iid)
        if iid in unknown or iid in classic:
            (plan.unknown if iid in unknown else plan.classic).append(iid)
        elif state == 'absent':
            if held and same_role(held, role_name):
                plan.detach.append((iid, held))
        elif not held:
            plan.attach.append(iid)
        elif not same_role(held, role_name):
            (plan.replace if force else plan.conflicts).append((iid, held))
    plan.classic_at_attach = [i for i in plan.attach if i in set(current.classic_at_attach)]
    if current.role_read:
        role = current.role
        if role is None:
            plan.role_problem = ('EntityNotExist.Role', 'role %s does not exist' % role_name)
        elif not can_ecs_assume(role.get('AssumeRolePolicyDocument')):
            plan.role_problem = ('InvalidRamRole.NotEcsRole',
                                 'role %s cannot be assumed by ECS (its trust policy does not name ecs.aliyuncs.com)' % role_name)
        else:
            plan.role_name = role.get('RoleName') or role_name
    return plan


# ---------------------------------------------------------------------------------- the resources

class _InstanceReader(Resource):
    """The selection and role reads both modules share."""

    def __init__(self, module):
        super(_InstanceReader, self).__init__(module)
        self.region = None
        self.pool = None
        self.instance_ids = []
        self.tags = {}

    def _start(self, concurrency):
        self.region = self.module.region('ecs')
        self.pool = WorkerPool(lambda n: self.module.clients('ecs', n), start=concurrency)

    def _select_and_read(self):
        """``(selected ids, RoleReading)``; nothing is read for an empty selection."""
        selection = instances.select_instances(self.module.client('ecs'), self.region, self.instance_ids, self.tags)
        if not selection.ids:
            return [], instances.RoleReading({}, [], [], {})
        return selection.ids, instances.read_roles(self.pool, self.region, selection.ids, selection.described)


class InstanceRoleAttachment(_InstanceReader):
    """ecs_instance_role_attachment: ensure ``role_name`` is (or is not) attached to the selected instances."""

    def __init__(self, module):
        super(InstanceRoleAttachment, self).__init__(module)
        self.role_name = None
        self.state = None
        self.policy = None
        self.before = {}
        self.after = None
        self.changed_ids = []
        self.failed = []

    # -- validate / read / plan --------------------------------------------------------------

    def validate(self):
        params = self.params
        errors = []
        self.instance_ids, self.tags, concurrency = instances.validate_selection(params, errors)
        errors.append(validate_role_name(params.get('role_name')))
        self.policy, error = extra_policy_json(params.get('policy'))
        errors.append(error)
        wait_timeout = params.get('wait_timeout')
        if wait_timeout is None or wait_timeout <= 0:
            errors.append('wait_timeout must be a positive number of seconds, got %s' % wait_timeout)
        raise_input_errors(errors)
        self.role_name, self.state = params['role_name'], params['state']
        if self.state == 'absent' and self.policy:
            self.warn('policy is only used when attaching a role; it is ignored with state=absent')
        self._start(concurrency)

    def read(self):
        ids, reading = self._select_and_read()
        roles = reading.roles
        needs_role = self.state == 'present' and any(not same_role(held, self.role_name) for held in roles.values())
        role = ram_api.get_role(self.module.client('ram'), self.role_name) if needs_role else None
        classic_at_attach = []
        if self.check_mode and self.state == 'present':
            # a real run learns of these from the attach answer; check mode asks DescribeInstances
            probe = [i for i in ids if i in roles and roles[i] is None and i not in reading.described]
            found = instances.describe_by_ids(self.pool, self.region, probe)
            classic_at_attach = [i for i in probe if i in found and ecs_api.network_type(found[i]) == 'classic']
        self.before = collections.OrderedDict((i, roles.get(i)) for i in ids)
        return Current(ids, roles, reading.unknown, reading.classic, role, needs_role, classic_at_attach)

    def plan(self, current):
        return plan_changes(current, self.role_name, self.state, bool(self.params.get('force')))

    # -- apply -------------------------------------------------------------------------------

    def apply(self, plan):
        self._check_blocking(plan)
        if not plan.write_ids:
            return
        if self.check_mode:
            self._predict(plan)
        else:
            self._write(plan)
        if self.failed:
            self._fail_instances(plan)
        if self.params.get('wait') and not self.check_mode and self.changed_ids:
            self._wait()

    def _operation(self, count):
        verb = 'attach role %s to' if self.state == 'present' else 'detach role %s from'
        return (verb + ' %d instance(s)') % (self.role_name, count)

    def _check_blocking(self, plan):
        """Fail before any write on what the reads already show."""
        if self.state == 'absent':
            if plan.unknown:
                self.warn('%d instance(s) do not exist in %s and cannot hold role %s: %s' % (
                    len(plan.unknown), self.region, self.role_name, short_list(plan.unknown)))
            return
        failed = [failure(i, CODE_NOT_FOUND, MSG_NOT_FOUND % self.region) for i in plan.unknown]
        failed += [failure(i, CODE_CLASSIC, MSG_CLASSIC) for i in plan.classic]
        failed += [failure(i, CODE_OTHER_ROLE, MSG_OTHER_ROLE % r) for i, r in plan.conflicts]
        problems = []
        if plan.unknown:
            problems.append('%d instance(s) not found in %s: %s' % (len(plan.unknown), self.region, short_list(plan.unknown)))
        if plan.classic:
            problems.append('%d classic-network instance(s), RAM roles need VPC instances: %s' % (
                len(plan.classic), short_list(plan.classic)))
        if plan.conflicts:
            problems.append('%d instance(s) hold another role (set force=true to replace it): %s' % (
                len(plan.conflicts), short_list('%s (%s)' % pair for pair in plan.conflicts)))
        code = failed[0]['code'] if failed else None
        if plan.role_problem is not None and self.check_mode and plan.role_problem[0] == 'EntityNotExist.Role':
            # a check-mode run of a play: an earlier task would create the role, so predict the attach
            self.warn('role %s does not exist yet; predicting as if an earlier task creates it' % self.role_name)
        elif plan.role_problem is not None:
            code = plan.role_problem[0]
            problems.insert(0, plan.role_problem[1])
        if problems:
            self.failed = failed
            err = AlicloudApiError(code, '; '.join(problems))
            raise ResourceFailure(format_error(err, self._operation(len(self.before))), error=err.to_dict(),
                                  **self._values())

    def _predict(self, plan):
        after = dict(self.before)
        for iid in plan.write_ids:
            after[iid] = plan.role_name if self.state == 'present' else None
        refused = set(plan.classic_at_attach)
        for iid in plan.classic_at_attach:
            after[iid] = self.before[iid]
        self.failed = [failure(i, CODE_CLASSIC, MSG_CLASSIC) for i in plan.classic_at_attach]
        self.changed_ids = [i for i in plan.write_ids if i not in refused]
        self.after = after
        if self.changed_ids:
            self.record()

    def _write(self, plan):
        after = dict(self.before)
        secrets = self.module.secrets()
        failed, ours = {}, set()
        for held, ids in group_by_role(plan.replace + plan.detach):
            outcome = instances.detach_role(self.pool, self.region, held, ids, secrets)
            failed.update((f['instance_id'], f) for f in outcome.failures)
            ours.update(outcome.done)
            # the rest were detached by someone else first: the wanted state, not our change
            after.update((i, None) for i in ids if i not in failed)
            if outcome.done:
                self.record()
        to_attach = plan.attach + [i for i, _r in plan.replace if i not in failed]
        if to_attach:
            outcome = instances.attach_role(self.pool, self.region, plan.role_name, to_attach, self.policy, secrets,
                                            instances.ROLE_VISIBILITY_TIMEOUT)
            attached = set(outcome.done)
            failures = dict((f['instance_id'], f) for f in outcome.failures)
            for iid in self._holding_already(plan.role_name, failures):
                # the attach met "already holds this role": our own earlier attempt whose answer
                # was lost, or another run that got there first
                del failures[iid]
                if iid in set(outcome.uncertain):
                    attached.add(iid)
                else:
                    after[iid] = plan.role_name
            failed.update(failures)
            after.update((i, plan.role_name) for i in attached)
            ours.update(attached)
            if attached:
                self.record()
        self.after = after
        self.changed_ids = [i for i in plan.write_ids if i in ours and i not in failed]
        self.failed = [failed[i] for i in plan.write_ids if i in failed]

    def _holding_already(self, role_name, failures):
        """The ids among failed attaches that hold ``role_name`` now (DescribeInstanceRamRole)."""
        suspects = [i for i, f in failures.items() if f['code'] not in DEFINITE_ATTACH_FAILURES]
        if not suspects:
            return []
        try:
            roles = instances.read_roles(self.pool, self.region, suspects).roles
        except AlicloudApiError:
            # the failures stand as the attach reported them
            return []
        return [i for i in suspects if same_role(roles.get(i), role_name)]

    def _fail_instances(self, plan):
        first = self.failed[0]
        err = AlicloudApiError(first['code'], '%d of %d instance(s) failed, first %s: %s' % (
            len(self.failed), len(plan.write_ids), first['instance_id'], first['message']), request_id=first['request_id'])
        raise ResourceFailure(format_error(err, self._operation(len(plan.write_ids))), error=err.to_dict(), **self._values())

    def _wait(self):
        expected = dict((i, self.after[i]) for i in self.changed_ids)
        pending = [list(expected)]

        def settled():
            roles = instances.read_roles(self.pool, self.region, pending[0]).roles
            pending[0] = [i for i in pending[0] if not same_role(roles.get(i), expected[i])]
            return not pending[0]

        timeout = self.params['wait_timeout']
        if not wait_until(settled, timeout, sleep=time.sleep, clock=time.monotonic):
            err = AlicloudApiError('WaitTimeout', '%d instance(s) do not show the expected role yet: %s' % (
                len(pending[0]), short_list(pending[0])))
            raise ResourceFailure(format_error(err, 'wait %ss for the role change' % timeout), error=err.to_dict(), **self._values())

    # -- results -----------------------------------------------------------------------------

    def _values(self):
        return {'attachments': dict(self.after if self.after is not None else self.before),
                'changed_instance_ids': list(self.changed_ids), 'failed_instances': list(self.failed),
                'concurrency': self.pool.peak}

    def result(self, current, plan):
        return self._values()

    def diff(self, current, plan):
        after = self.after if self.after is not None else self.before
        changing = plan.write_ids
        return {'before': dict((i, self.before.get(i)) for i in changing), 'after': dict((i, after.get(i)) for i in changing)}


class InstanceRoleInfo(_InstanceReader):
    """ecs_instance_role_info: which selected instances hold which role (read only)."""

    def __init__(self, module):
        super(InstanceRoleInfo, self).__init__(module)
        self.role_name = None

    def validate(self):
        errors = []
        self.instance_ids, self.tags, concurrency = instances.validate_selection(self.params, errors)
        self.role_name = self.params.get('role_name')
        if self.role_name is not None:
            errors.append(validate_role_name(self.role_name))
        raise_input_errors(errors)
        self._start(concurrency)

    def read(self):
        if self.params.get('instance_ids') is None and not self.tags and self.role_name:
            holders = instances.role_holders(self.module.client('ecs'), self.region, self.role_name)
            return [{'instance_id': i, 'role_name': r} for i, r in holders.items()], []
        ids, reading = self._select_and_read()
        attachments = [{'instance_id': i, 'role_name': reading.roles[i]} for i in ids
                       if reading.roles.get(i) and (not self.role_name or same_role(reading.roles[i], self.role_name))]
        if reading.unknown:
            self.warn('%d instance(s) do not exist in %s: %s' % (len(reading.unknown), self.region, short_list(reading.unknown)))
        return attachments, reading.unknown

    def result(self, current, plan):
        attachments, unknown = current
        return {'attachments': attachments, 'unknown_instance_ids': unknown, 'concurrency': self.pool.peak}
