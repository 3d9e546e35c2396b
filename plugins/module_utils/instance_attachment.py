# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Instance RAM roles on ECS instances: read (with fallbacks), plan, write in batches, wait.

Used by the ``ecs_instance_role_attachment`` and ``ecs_instance_role_info`` modules.
"""

import queue
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils.ecs import (
    MAX_IDS_PER_DESCRIBE,
    MAX_IDS_PER_WRITE,
    chunks,
    detach_already_done,
    instance_ids_param,
    paginate_pages,
    parse_instance_results,
)
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, redact
from ansible_collections.alicloud.ram.plugins.module_utils.policy import PolicyDocumentError, can_ecs_assume, parse_policy_document, to_json
from ansible_collections.alicloud.ram.plugins.module_utils.retries import call_until_visible
from ansible_collections.alicloud.ram.plugins.module_utils.ram import as_list, dig, get_role, validate_role_name

MAX_IDS_PER_DESCRIBE_INSTANCES = 100
MAX_POLICY_CHARS = 1024
MIN_CONCURRENCY = 1
MAX_CONCURRENCY = 16
# How long a role that RAM already knows may stay invisible to ECS after its creation.
ROLE_VISIBILITY_TIMEOUT = 60.0
ROLE_VISIBILITY_CODES = ('InvalidRamRole.NotFound', 'InvalidRamRole.NotEcsRole')
# A DescribeInstanceRamRole page fails as a whole for these; find out instance by instance.
READ_FALLBACK_CODES = ('InvalidInstanceId.NotFound', 'InvalidNetworkType.MismatchRamRole')

CODE_NOT_FOUND = 'InvalidInstanceId.NotFound'
CODE_CLASSIC = 'InvalidNetworkType.MismatchRamRole'
CODE_OTHER_ROLE = 'InstanceHasOtherRole'
MSG_NOT_FOUND = 'The instance does not exist in region %s.'
MSG_CLASSIC = 'The instance is in the classic network; RAM roles can only be attached to VPC instances.'
MSG_OTHER_ROLE = 'The instance holds the RAM role %s; set force=true to replace it.'
LISTED_IDS = 10

ATTACH = 'AttachInstanceRamRole'
DETACH = 'DetachInstanceRamRole'


def same_role(a, b):
    """RAM role names are case-insensitive."""
    return (a or '').lower() == (b or '').lower() and bool(a) == bool(b)


def short_list(items, limit=LISTED_IDS):
    """``a, b, c and 7 more``: keeps one-line messages short for fleet-size runs."""
    items = list(items)
    text = ', '.join(str(i) for i in items[:limit])
    if len(items) > limit:
        text += ' and %d more' % (len(items) - limit)
    return text


def failure(instance_id, code, message, request_id=None):
    return {'instance_id': instance_id, 'code': code, 'message': message, 'request_id': request_id}


# ---------------------------------------------------------------------------------- input


def unique_instance_ids(values):
    """``(ids, error)``: the ids without duplicates (first occurrence order), or an error message."""
    if not values:
        return None, 'instance_ids must list at least one instance id'
    ids, seen = [], set()
    for value in values:
        if not isinstance(value, str) or not value.strip():
            return None, 'instance_ids must be non-empty strings, got %r' % (value,)
        if value != value.strip() or any(ch.isspace() for ch in value):
            return None, "instance id '%s' contains whitespace" % value
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids, None


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


def validate_attachment_params(params):
    """``(values, errors)``: normalised input of ecs_instance_role_attachment and every problem found."""
    errors = []
    ids, error = unique_instance_ids(params.get('instance_ids'))
    if error:
        errors.append(error)
    error = validate_role_name(params.get('role_name'))
    if error:
        errors.append(error)
    policy, error = extra_policy_json(params.get('policy'))
    if error:
        errors.append(error)
    concurrency = params.get('concurrency')
    if concurrency is None or not MIN_CONCURRENCY <= concurrency <= MAX_CONCURRENCY:
        errors.append('concurrency must be between %d and %d, got %s' % (MIN_CONCURRENCY, MAX_CONCURRENCY, concurrency))
    wait_timeout = params.get('wait_timeout')
    if wait_timeout is None or wait_timeout <= 0:
        errors.append('wait_timeout must be a positive number of seconds, got %s' % wait_timeout)
    values = {
        'instance_ids': ids,
        'role_name': params.get('role_name'),
        'state': params.get('state'),
        'policy': policy,
        'force': bool(params.get('force')),
        'concurrency': concurrency,
        'wait': bool(params.get('wait')),
        'wait_timeout': wait_timeout,
    }
    return values, errors


# ---------------------------------------------------------------------------------- reads


class InstanceRoleReader(object):
    """Reads the roles instances hold, finding out which ids are unknown or classic when a page fails.

    ``network`` remembers what DescribeInstances said: instance id -> ``'vpc'``, ``'classic'``
    or None (unknown in the region), so an instance is never described twice.
    """

    def __init__(self, client, region, clients=None, concurrency=1):
        self.client = client
        self.region = region
        self.network = {}
        # Bounded parallel reads, like the writes: ``clients(n)`` gives n clients (one per worker
        # thread, the first being ``client``); without it every read uses ``client`` in turn.
        self._client_source = clients
        self.concurrency = max(1, int(concurrency or 1))

    def _map(self, read, batches, tolerated=()):
        """``[(result, error)]`` of ``read(client, batch)`` per batch, in batch order.

        At most :attr:`concurrency` reads are in flight. An :class:`AlicloudApiError` whose code
        is not in ``tolerated`` stops the batches that have not started yet (their entries are
        ``(None, None)``); tolerated errors are returned for the caller to handle.
        """
        batches = list(batches)
        outcome = [(None, None)] * len(batches)
        stop = threading.Event()

        def guarded(client, index):
            if stop.is_set():
                return
            try:
                outcome[index] = (read(client, batches[index]), None)
            except AlicloudApiError as err:
                outcome[index] = (None, err)
                if err.code not in tolerated:
                    stop.set()

        workers = min(self.concurrency, len(batches)) if self._client_source is not None else 1
        if workers <= 1:
            for index in range(len(batches)):
                guarded(self.client, index)
            return outcome
        pool = queue.Queue()
        for client in self._client_source(workers):
            pool.put(client)

        def work(index):
            client = pool.get()
            try:
                guarded(client, index)
            finally:
                pool.put(client)

        with ThreadPoolExecutor(max_workers=workers) as executor:
            list(executor.map(work, range(len(batches))))
        return outcome

    @staticmethod
    def _raise_first(outcome, tolerated=()):
        for _result, err in outcome:
            if err is not None and err.code not in tolerated:
                raise err

    def _describe_batch(self, client, batch):
        found = {}
        token = None
        while True:
            params = {'RegionId': self.region, 'InstanceIds': instance_ids_param(batch),
                      'MaxResults': MAX_IDS_PER_DESCRIBE_INSTANCES}
            if token:
                params['NextToken'] = token
            body = client.call('DescribeInstances', params)
            for item in as_list(dig(body, ('Instances', 'Instance'))):
                if isinstance(item, dict) and item.get('InstanceId'):
                    kind = str(item.get('InstanceNetworkType') or 'vpc').lower()
                    found[item['InstanceId']] = 'classic' if kind == 'classic' else 'vpc'
            token = body.get('NextToken')
            if not token or len(found) >= len(batch):
                return found

    def describe_instances(self, ids):
        """Fill :attr:`network` for the ids not described yet (100 ids a call)."""
        todo = [i for i in ids if i not in self.network]
        batches = list(chunks(todo, MAX_IDS_PER_DESCRIBE_INSTANCES))
        outcome = self._map(self._describe_batch, batches)
        for batch, (found, _err) in zip(batches, outcome):
            if found is not None:
                for iid in batch:
                    self.network[iid] = found.get(iid)
        self._raise_first(outcome)
        return dict((i, self.network.get(i)) for i in ids)

    def unknown(self, ids):
        return [i for i in ids if i in self.network and self.network[i] is None]

    def classic(self, ids):
        return [i for i in ids if self.network.get(i) == 'classic']

    def _read_batch(self, batch, role_name=None, client=None):
        params = {'RegionId': self.region, 'InstanceIds': instance_ids_param(batch)}
        if role_name:
            params['RamRoleName'] = role_name
        roles = {}
        for item in paginate_pages(client or self.client, 'DescribeInstanceRamRole', params,
                                   ('InstanceRamRoleSets', 'InstanceRamRoleSet'), page_size=MAX_IDS_PER_DESCRIBE):
            if isinstance(item, dict) and item.get('InstanceId'):
                roles[item['InstanceId']] = item.get('RamRoleName') or None
        return roles

    def read_roles(self, ids, role_name=None):
        """``{instance_id: role name}`` for the instances DescribeInstanceRamRole lists.

        Instances it omits, and unknown or classic instances (see :attr:`network`), are absent.
        Pages (50 ids each) are read :attr:`concurrency` at a time.
        """
        def read(client, batch):
            return self._read_batch(batch, role_name, client)

        roles, suspects = {}, []
        batches = list(chunks(ids, MAX_IDS_PER_DESCRIBE))
        outcome = self._map(read, batches, tolerated=READ_FALLBACK_CODES)
        self._raise_first(outcome, tolerated=READ_FALLBACK_CODES)
        for batch, (found, err) in zip(batches, outcome):
            if err is not None:
                suspects.extend(batch)
            else:
                roles.update(found)
        if suspects:
            self.describe_instances(suspects)
            usable = [i for i in suspects if self.network.get(i) == 'vpc']
            outcome = self._map(read, chunks(usable, MAX_IDS_PER_DESCRIBE))
            self._raise_first(outcome)
            for found, _err in outcome:
                roles.update(found)
        return roles


def read_attachments(client, region, instance_ids=None, role_name=None):
    """``(attachments, unknown_ids)`` for ecs_instance_role_info: ``[{instance_id, role_name}]`` of instances holding a role."""
    reader = InstanceRoleReader(client, region)
    try:
        if instance_ids:
            roles = reader.read_roles(instance_ids, role_name)
            order = instance_ids
        else:
            roles, order = {}, []
            params = {'RegionId': region, 'RamRoleName': role_name}
            for item in paginate_pages(client, 'DescribeInstanceRamRole', params, ('InstanceRamRoleSets', 'InstanceRamRoleSet'),
                                       page_size=MAX_IDS_PER_DESCRIBE):
                if isinstance(item, dict) and item.get('InstanceId') and item['InstanceId'] not in roles:
                    roles[item['InstanceId']] = item.get('RamRoleName') or None
                    order.append(item['InstanceId'])
    except AlicloudApiError as err:
        if role_name and err.code == 'InvalidRamRole.NotFound':
            # no such role: nothing can hold it
            return [], []
        raise
    attachments = []
    for iid in order:
        held = roles.get(iid)
        if held and (not role_name or same_role(held, role_name)):
            attachments.append({'instance_id': iid, 'role_name': held})
    return attachments, reader.unknown(instance_ids or [])


# ---------------------------------------------------------------------------------- plan


class Plan(object):
    """What a run does to each instance."""

    def __init__(self):
        self.ok = []          # nothing to do
        self.attach = []      # no role -> attach
        self.replace = []     # (id, current role): detach, then attach (force)
        self.detach = []      # (id, current role): state absent
        self.conflicts = []   # (id, current role): another role, no force
        self.unknown = []
        self.classic = []

    @property
    def write_ids(self):
        return self.attach + [i for i, _r in self.replace] + [i for i, _r in self.detach]

    @property
    def has_writes(self):
        return bool(self.attach or self.replace or self.detach)


def plan_changes(ids, current, role_name, state, force, unknown=(), classic=()):
    """Decide per instance; ``current`` maps id -> role held (None or missing: no role)."""
    plan = Plan()
    unknown, classic = set(unknown), set(classic)
    for iid in ids:
        held = current.get(iid)
        if iid in unknown or iid in classic:
            if state == 'present':
                (plan.unknown if iid in unknown else plan.classic).append(iid)
            else:
                plan.ok.append(iid)
        elif state == 'present':
            if held and same_role(held, role_name):
                plan.ok.append(iid)
            elif not held:
                plan.attach.append(iid)
            elif force:
                plan.replace.append((iid, held))
            else:
                plan.conflicts.append((iid, held))
        elif held and same_role(held, role_name):
            plan.detach.append((iid, held))
        else:
            plan.ok.append(iid)
    return plan


def group_by_role(pairs):
    """``[(role, [ids])]`` in first-seen order, roles compared case-insensitively."""
    groups, names = {}, []
    for iid, role in pairs:
        key = role.lower()
        if key not in groups:
            groups[key] = (role, [])
            names.append(key)
        groups[key][1].append(iid)
    return [groups[key] for key in names]


# ---------------------------------------------------------------------------------- writes


class BatchWriter(object):
    """Runs Attach/Detach batches on a bounded thread pool, one ECS client per worker."""

    def __init__(self, region, clients, concurrency, secrets=(), sleep=time.sleep, clock=time.monotonic, rand=random.random,
                 visibility_timeout=ROLE_VISIBILITY_TIMEOUT):
        self.region = region
        self._client_source = clients  # callable(n) -> list of n clients
        self.concurrency = concurrency
        self.secrets = list(secrets or ())
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self.visibility_timeout = visibility_timeout
        self.requests = []  # (action, number of ids), for reporting and tests

    def run(self, action, batches, policy=None):
        """``batches``: ``[(role name, [ids])]`` (ids <= 100). Returns ``{id: None on success | failure dict}``."""
        if not batches:
            return {}
        workers = max(1, min(self.concurrency, len(batches)))
        pool = queue.Queue()
        for client in self._client_source(workers):
            pool.put(client)

        def work(batch):
            client = pool.get()
            try:
                return self.write_batch(client, action, batch[0], batch[1], policy)
            finally:
                pool.put(client)

        outcome = {}
        with ThreadPoolExecutor(max_workers=workers) as executor:
            for result in executor.map(work, batches):
                outcome.update(result)
        return outcome

    def _call(self, client, action, params):
        if action != ATTACH:
            return client.call(action, params)
        # RAM confirmed the role before any write: ECS not seeing it yet is eventual consistency.
        return call_until_visible(lambda: client.call(action, params), ROLE_VISIBILITY_CODES, self.visibility_timeout,
                                  sleep=self._sleep, clock=self._clock, rand=self._rand)

    def write_batch(self, client, action, role_name, ids, policy=None):
        params = {'RegionId': self.region, 'RamRoleName': role_name, 'InstanceIds': instance_ids_param(ids)}
        if action == ATTACH and policy:
            params['Policy'] = policy
        self.requests.append((action, len(ids)))
        try:
            body = self._call(client, action, params)
        except AlicloudApiError as err:
            message = redact(err.message, self.secrets)
            return dict((iid, failure(iid, err.code, message, err.request_id)) for iid in ids)
        result_key = 'AttachInstanceRamRoleResults' if action == ATTACH else 'DetachInstanceRamRoleResults'
        per_instance = dict((r[0], r) for r in parse_instance_results(body, result_key) if r[0])
        try:
            fail_count = int(body.get('FailCount') or 0)
        except (TypeError, ValueError):
            fail_count = 0
        outcome = {}
        for iid in ids:
            item = per_instance.get(iid)
            if item is None:
                # no per-instance entry: trust the summary when it reports no failure
                outcome[iid] = None if fail_count == 0 else failure(
                    iid, 'UnknownResult', 'the answer has no result for this instance', body.get('RequestId'))
            elif item[1]:
                outcome[iid] = None
            else:
                outcome[iid] = failure(iid, item[2] or 'UnknownError', redact(item[3], self.secrets) or 'failed', body.get('RequestId'))
        return outcome


# ---------------------------------------------------------------------------------- module logic


class InstanceRoleAttachment(object):
    """ecs_instance_role_attachment: ensure ``role_name`` is (or is not) attached to instances."""

    def __init__(self, module, sleep=time.sleep, clock=time.monotonic, rand=random.random, client_factory=None,
                 visibility_timeout=ROLE_VISIBILITY_TIMEOUT):
        self.module = module
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._client_factory = client_factory
        self.visibility_timeout = visibility_timeout
        self.requests = []
        self._extra = []

    # -- helpers -----------------------------------------------------------------------------

    def _new_client(self):
        if self._client_factory is not None:
            return self._client_factory()
        module = self.module
        return client_utils.service_client_for('ecs', module.credentials(), module.options, log=module.debug)

    def _clients(self, count):
        """``count`` ECS clients, one per worker thread (SDK clients are not shared across threads)."""
        while len(self._extra) < count - 1:
            self._extra.append(self._new_client())
        return [self.module.client('ecs')] + self._extra[:count - 1]

    def _warn(self, message):
        self.module.warn(message)

    def _fail(self, code, message, operation, **extra):
        self.module.fail_api(AlicloudApiError(code, message), operation, **extra)

    # -- run ---------------------------------------------------------------------------------

    def run(self):
        module = self.module
        values, errors = validate_attachment_params(module.params)
        if errors:
            module.fail_json(msg='invalid input: ' + '; '.join(errors))
        if values['state'] == 'absent' and values['policy']:
            self._warn('policy is only used when attaching a role; it is ignored with state=absent')
        ids, role_name, state = values['instance_ids'], values['role_name'], values['state']
        region = module.region('ecs')
        ecs = module.client('ecs')
        reader = InstanceRoleReader(ecs, region, clients=self._clients, concurrency=values['concurrency'])
        try:
            current = reader.read_roles(ids)
        except AlicloudApiError as err:
            module.fail_api(err, 'read the RAM roles of %d instance(s) in %s' % (len(ids), region))
        before = dict((iid, current.get(iid)) for iid in ids)
        plan = plan_changes(ids, current, role_name, state, values['force'], reader.unknown(ids), reader.classic(ids))
        role_name = self._preflight(plan, reader, values, before, region)

        predicted = dict(before)
        for iid in plan.attach + [i for i, _r in plan.replace]:
            predicted[iid] = role_name
        for iid, _r in plan.detach:
            predicted[iid] = None
        changing = plan.write_ids

        if not changing or module.check_mode:
            self._exit(bool(changing), predicted, changing, [], before, changing)

        after, changed_ids, failed, touched = self._write(plan, values, role_name, region, before)
        if failed:
            first = failed[0]
            err = AlicloudApiError(first['code'], '%d of %d instance(s) failed, first %s: %s' % (
                len(failed), len(changing), first['instance_id'], first['message']), request_id=first['request_id'])
            module.fail_api(err, '%s role %s on %d instance(s)' % ('attach' if state == 'present' else 'detach', role_name, len(changing)),
                            changed=bool(touched), attachments=after, changed_instance_ids=changed_ids, failed_instances=failed,
                            diff=self._diff(before, after, changing))
        if values['wait']:
            self._wait(reader, changed_ids, after, values['wait_timeout'], after, failed)
        self._exit(True, after, changed_ids, [], before, changing)

    def _exit(self, changed, attachments, changed_ids, failed, before, changing):
        result = dict(changed=changed, attachments=attachments, changed_instance_ids=list(changed_ids), failed_instances=failed)
        if self.module._diff:  # pylint: disable=protected-access
            result['diff'] = self._diff(before, attachments, changing)
        self.module.exit_json(**result)

    @staticmethod
    def _diff(before, after, changing):
        return {'before': dict((i, before.get(i)) for i in changing), 'after': dict((i, after.get(i)) for i in changing)}

    # -- checks before the first write -------------------------------------------------------

    def _preflight(self, plan, reader, values, before, region):
        """Confirm instances and role before writing; fail (no write) on any problem. Returns the role's canonical name."""
        role_name, state = values['role_name'], values['state']
        if state == 'absent':
            if plan.detach:
                ids = [i for i, _r in plan.detach]
                try:
                    reader.describe_instances(ids)
                except AlicloudApiError as err:
                    self.module.fail_api(err, 'describe %d instance(s) in %s' % (len(ids), region))
                gone = set(reader.unknown(ids)) | set(reader.classic(ids))
                plan.ok.extend(i for i, _r in plan.detach if i in gone)
                plan.detach = [(i, r) for i, r in plan.detach if i not in gone]
            missing = reader.unknown(values['instance_ids'])
            if missing:
                self._warn('%d instance(s) do not exist in %s and cannot hold role %s: %s' % (
                    len(missing), region, role_name, short_list(missing)))
            return role_name

        to_check = plan.write_ids + [i for i, _r in plan.conflicts]
        if to_check:
            try:
                reader.describe_instances(to_check)
            except AlicloudApiError as err:
                self.module.fail_api(err, 'describe %d instance(s) in %s' % (len(to_check), region))
            unknown, classic = set(reader.unknown(to_check)), set(reader.classic(to_check))
            plan.unknown.extend(i for i in to_check if i in unknown and i not in plan.unknown)
            plan.classic.extend(i for i in to_check if i in classic and i not in plan.classic)
            bad = unknown | classic
            plan.attach = [i for i in plan.attach if i not in bad]
            plan.replace = [(i, r) for i, r in plan.replace if i not in bad]
            plan.conflicts = [(i, r) for i, r in plan.conflicts if i not in bad]

        failed = [failure(i, CODE_NOT_FOUND, MSG_NOT_FOUND % region) for i in plan.unknown]
        failed += [failure(i, CODE_CLASSIC, MSG_CLASSIC) for i in plan.classic]
        failed += [failure(i, CODE_OTHER_ROLE, MSG_OTHER_ROLE % r) for i, r in plan.conflicts]
        problems = []
        if plan.unknown:
            problems.append('%d instance(s) not found in %s: %s' % (len(plan.unknown), region, short_list(plan.unknown)))
        if plan.classic:
            problems.append('%d classic-network instance(s), RAM roles need VPC instances: %s' % (len(plan.classic), short_list(plan.classic)))
        if plan.conflicts:
            problems.append('%d instance(s) hold another role (set force=true to replace it): %s' % (
                len(plan.conflicts), short_list('%s (%s)' % pair for pair in plan.conflicts)))

        canonical = role_name
        if plan.has_writes or plan.conflicts:
            try:
                role = get_role(self.module.client('ram'), role_name)
            except AlicloudApiError as err:
                self.module.fail_api(err, 'get role %s' % role_name)
            if role is None and self.module.check_mode:
                # a check-mode run of a play: an earlier task would create the role, so predict the attach
                self._warn('role %s does not exist yet; predicting as if an earlier task creates it' % role_name)
                code = failed[0]['code'] if failed else None
            elif role is None:
                problems.insert(0, 'role %s does not exist' % role_name)
                code = 'EntityNotExist.Role'
            elif not can_ecs_assume(role.get('AssumeRolePolicyDocument')):
                problems.insert(0, 'role %s cannot be assumed by ECS (its trust policy does not name ecs.aliyuncs.com)' % role_name)
                code = 'InvalidRamRole.NotEcsRole'
            else:
                canonical = role.get('RoleName') or role_name
                code = failed[0]['code'] if failed else None
        else:
            code = failed[0]['code'] if failed else None
        if problems:
            self._fail(code, '; '.join(problems), 'attach role %s to %d instance(s)' % (role_name, len(values['instance_ids'])),
                       changed=False, attachments=before, changed_instance_ids=[], failed_instances=failed)
        return canonical

    # -- writes ------------------------------------------------------------------------------

    def _write(self, plan, values, role_name, region, before):
        writer = BatchWriter(region, self._clients, values['concurrency'], secrets=self.module.secrets(), sleep=self._sleep,
                             clock=self._clock, rand=self._rand, visibility_timeout=self.visibility_timeout)
        after = dict(before)
        failed, touched = {}, set()

        detach_pairs = plan.replace + plan.detach
        detach_batches = []
        for held, ids in group_by_role(detach_pairs):
            detach_batches.extend((held, batch) for batch in chunks(ids, MAX_IDS_PER_WRITE))
        already_detached = set()
        for iid, error in writer.run(DETACH, detach_batches).items():
            if error is None:
                after[iid] = None
                touched.add(iid)
            elif detach_already_done(error.get('code')):
                # a concurrent run (or a deletion) detached it first: the wanted state, not our change
                after[iid] = None
                already_detached.add(iid)
            else:
                failed[iid] = error

        to_attach = plan.attach + [i for i, _r in plan.replace if i not in failed]
        if to_attach:
            attach_batches = [(role_name, batch) for batch in chunks(to_attach, MAX_IDS_PER_WRITE)]
            for iid, error in writer.run(ATTACH, attach_batches, policy=values['policy']).items():
                if error is None:
                    after[iid] = role_name
                    touched.add(iid)
                else:
                    failed[iid] = error
        self.requests = writer.requests
        changing = plan.write_ids
        changed_ids = [i for i in changing if i not in failed and (i in touched or i not in already_detached)]
        failed_list = [failed[i] for i in changing if i in failed]
        return after, changed_ids, failed_list, touched

    # -- wait --------------------------------------------------------------------------------

    def _wait(self, reader, changed_ids, expected, timeout, attachments, failed):
        deadline = self._clock() + timeout
        pending = list(changed_ids)
        delay = 1.0
        while pending:
            try:
                seen = reader.read_roles(pending)
            except AlicloudApiError as err:
                self.module.fail_api(err, 'confirm the RAM roles of %d instance(s)' % len(pending), changed=True,
                                     attachments=attachments, changed_instance_ids=changed_ids, failed_instances=failed)
            pending = [i for i in pending if not (same_role(seen.get(i), expected.get(i)) if expected.get(i) else not seen.get(i))]
            if not pending:
                return
            remaining = deadline - self._clock()
            if remaining <= 0:
                self._fail('WaitTimeout', '%d instance(s) do not show the expected role yet: %s' % (len(pending), short_list(pending)),
                           'wait %ss for the role change' % timeout, changed=True, attachments=attachments,
                           changed_instance_ids=changed_ids, failed_instances=failed)
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)
