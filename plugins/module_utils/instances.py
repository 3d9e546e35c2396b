# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The ECS instance toolkit: select instances (ids and/or tags), read what they hold, write in batches.

Every module that touches instances goes through here, with a :class:`concurrency.WorkerPool`
for the batches; nothing else reads DescribeInstances / DescribeInstanceRamRole or writes
Attach/DetachInstanceRamRole.

Reading the roles of a list of ids costs one DescribeInstanceRamRole call per 50 ids. Only the
ids that answer does not list (the service may leave out instances without a role, and refuses a
whole page that names an unknown or classic-network instance) are described with
DescribeInstances, to tell unknown instances from classic ones and from VPC instances without a
role.
"""

import collections
import time

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api
from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import concurrency_error, first_error
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, redact
from ansible_collections.alicloud.ram.plugins.module_utils.retries import call_until_visible

CODE_NOT_FOUND = 'InvalidInstanceId.NotFound'
CODE_CLASSIC = 'InvalidNetworkType.MismatchRamRole'
# A DescribeInstanceRamRole page fails as a whole for these; find out instance by instance.
READ_FALLBACK_CODES = (CODE_NOT_FOUND, CODE_CLASSIC)
# How long a role that RAM already knows may stay invisible to ECS after its creation.
ROLE_VISIBILITY_TIMEOUT = 60.0
ROLE_VISIBILITY_CODES = ('InvalidRamRole.NotFound', 'InvalidRamRole.NotEcsRole')
LISTED_IDS = 10

# Per-instance detach answers meaning the instance no longer holds the role: another run, or
# the instance's or role's deletion, got there first.
_ALREADY_DETACHED_MARKERS = ('notattached', 'notfound', 'mismatch')

# The outcome of a batched write: ids whose write took effect, and one failure dict per failed id.
WriteOutcome = collections.namedtuple('WriteOutcome', ['done', 'failures'])
# The outcome of a batched attach: as WriteOutcome, plus the ids of the batches whose call was
# retried after an attempt that may have taken effect (its answer was lost).
AttachOutcome = collections.namedtuple('AttachOutcome', ['done', 'failures', 'uncertain'])
# The selected ids (in order) and the Instance dicts the tag pages already gave for some of them.
Selection = collections.namedtuple('Selection', ['ids', 'described'])
# What the instances hold: ``roles`` maps every id the role read listed, or DescribeInstances
# showed as a VPC instance, to its role (or None); ``unknown`` and ``classic`` list the ids found
# to be so; ``described`` holds the Instance dicts read on the way.
RoleReading = collections.namedtuple('RoleReading', ['roles', 'unknown', 'classic', 'described'])


def failure(instance_id, code, message, request_id=None):
    return {'instance_id': instance_id, 'code': code, 'message': message, 'request_id': request_id}


def same_role(a, b):
    """RAM role names are case-insensitive."""
    return (a or '').lower() == (b or '').lower() and bool(a) == bool(b)


def detach_already_done(code):
    """Whether a failed per-instance DetachInstanceRamRole result leaves the instance without the role."""
    code = (code or '').lower()
    return any(marker in code for marker in _ALREADY_DETACHED_MARKERS)


def short_list(items, limit=LISTED_IDS):
    """``a, b, c and 7 more``: keeps one-line messages short for fleet-size runs."""
    items = list(items)
    text = ', '.join(str(i) for i in items[:limit])
    return text + (' and %d more' % (len(items) - limit) if len(items) > limit else '')


# ---------------------------------------------------------------------------------- input

def validate_instance_ids(values):
    """``(ids, error)``: the ids without duplicates (first occurrence order), or an error message."""
    ids, seen = [], set()
    for value in values or ():
        if not isinstance(value, str) or not value.strip():
            return None, 'each instance id must be a non-empty string, got %r' % (value,)
        if any(ch.isspace() for ch in value):
            return None, 'instance id %r contains whitespace' % value
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids, None


def validate_instance_tags(tags):
    """An error message for an unusable ``instance_tags`` dict, or None."""
    if not tags:
        return None
    if len(tags) > ecs_api.MAX_TAG_FILTERS:
        return 'instance_tags may hold at most %d tags, got %d' % (ecs_api.MAX_TAG_FILTERS, len(tags))
    for key in tags:
        if not isinstance(key, str) or not key.strip():
            return 'instance_tags keys must be non-empty strings, got %r' % (key,)
    return None


# ---------------------------------------------------------------------------------- selection

def instances_by_tags(ecs, region, tags):
    """Every Instance dict of ``region`` carrying all of ``tags`` (all pages)."""
    found, token, seen = [], None, set()
    while True:
        page = ecs_api.describe_instances(ecs, region, tags=tags, next_token=token)
        found.extend(page.instances)
        token = page.next_token
        if not token or token in seen or not page.instances:
            return found
        seen.add(token)


def select_instances(ecs, region, instance_ids=None, tags=None):
    """``instance_ids`` (in order, without duplicates) followed by the ids of every instance carrying all ``tags``."""
    selected = list(collections.OrderedDict.fromkeys(instance_ids or ()))
    described = {}
    if tags:
        known = set(selected)
        for instance in instances_by_tags(ecs, region, tags):
            iid = instance.get('InstanceId')
            if iid:
                described[iid] = instance
                if iid not in known:
                    known.add(iid)
                    selected.append(iid)
    return Selection(selected, described)


def describe_by_ids(pool, region, instance_ids):
    """``{instance_id: Instance dict}`` of the ids that exist (100 ids a call, on ``pool``)."""
    def read(ecs, batch):
        found, token = {}, None
        while True:
            page = ecs_api.describe_instances(ecs, region, instance_ids=batch, next_token=token)
            found.update((i['InstanceId'], i) for i in page.instances if i.get('InstanceId'))
            token = page.next_token
            if not token or len(found) >= len(batch) or not page.instances:
                return found

    return _merged(pool.map(read, ecs_api.chunks(instance_ids, ecs_api.MAX_IDS_PER_DESCRIBE), stop_on_error=True))


def _merged(outcomes):
    """One dict of the dicts ``outcomes`` hold; the first error is raised."""
    error = first_error(outcomes)
    if error is not None:
        raise error
    result = {}
    for outcome in outcomes:
        result.update(outcome.value or {})
    return result


# ---------------------------------------------------------------------------------- role reads

def _role_pages(pool, region, instance_ids, tolerate_refusal):
    """``(roles, refused_ids)``: ``{id: role or None}`` of the ids DescribeInstanceRamRole lists, 50 ids a call.

    With ``tolerate_refusal``, a page refused because it names an unknown or classic instance is
    returned in ``refused_ids`` instead of failing the read.
    """
    def read(ecs, batch):
        try:
            page = ecs_api.describe_instance_ram_roles(ecs, region, instance_ids=batch)
        except AlicloudApiError as err:
            if tolerate_refusal and err.code in READ_FALLBACK_CODES:
                return None
            raise
        wanted = set(batch)
        return dict((iid, role) for iid, role in page.roles.items() if iid in wanted)

    batches = ecs_api.chunks(instance_ids, ecs_api.MAX_IDS_PER_ROLE_READ)
    outcomes = pool.map(read, batches, stop_on_error=True)
    error = first_error(outcomes)
    if error is not None:
        raise error
    roles, refused = {}, []
    for batch, outcome in zip(batches, outcomes):
        if outcome.value is None:
            refused.extend(batch)
        else:
            roles.update(outcome.value)
    return roles, refused


def read_roles(pool, region, instance_ids, described=None):
    """The roles ``instance_ids`` hold (:class:`RoleReading`), at the fewest calls.

    ``described``: Instance dicts already at hand (from a tag selection); they spare the
    DescribeInstances call for their ids.
    """
    roles, refused = _role_pages(pool, region, instance_ids, tolerate_refusal=True)
    unlisted = [i for i in instance_ids if i not in roles]
    described = dict(described or {})
    described.update(describe_by_ids(pool, region, [i for i in unlisted if i not in described]))
    unknown = [i for i in unlisted if i not in described]
    classic = [i for i in unlisted if i in described and ecs_api.network_type(described[i]) == 'classic']
    bad = set(unknown) | set(classic)
    # a refused page says nothing of its good ids: read them again; ids a page left out hold no role
    again = [i for i in refused if i not in bad]
    if again:
        roles.update(_role_pages(pool, region, again, tolerate_refusal=False)[0])
    roles.update((i, None) for i in unlisted if i not in bad and i not in roles)
    return RoleReading(roles, unknown, classic, described)


def role_holders(ecs, region, role_name):
    """``{instance_id: role name as ECS reports it}`` of the instances of ``region`` holding ``role_name`` (all pages).

    A role ECS does not know is held by no instance.
    """
    holders, page_number = collections.OrderedDict(), 1
    while True:
        try:
            page = ecs_api.describe_instance_ram_roles(ecs, region, role_name=role_name, page=page_number)
        except AlicloudApiError as err:
            if err.code == 'InvalidRamRole.NotFound':
                return holders
            raise
        holders.update((iid, held) for iid, held in page.roles.items() if same_role(held, role_name) and iid not in holders)
        last = page.total is not None and page_number * ecs_api.MAX_IDS_PER_ROLE_READ >= page.total
        if last or len(page.roles) < ecs_api.MAX_IDS_PER_ROLE_READ:
            return holders
        page_number += 1


def holders_of_role(ecs, region, role_name):
    """Ids of the instances of ``region`` holding ``role_name`` (all pages; a role ECS does not know: none)."""
    return list(role_holders(ecs, region, role_name))


# ---------------------------------------------------------------------------------- writes

def _batch_outcome(answer, ids, secrets, already_done=None, ours=False):
    """``(done, failures)`` of one batch answer. ``already_done(code)``: a failure meaning the wanted state
    holds already; such an instance is done by this call when ``ours`` (an attempt whose answer was lost)."""
    per_instance = dict((r.instance_id, r) for r in answer.results if r.instance_id)
    done, failures = [], []
    for iid in ids:
        item = per_instance.get(iid)
        if item is None:
            if answer.fail_count == 0:
                done.append(iid)
            else:
                failures.append(failure(iid, 'UnknownResult', 'the answer has no result for this instance', answer.request_id))
        elif item.success:
            done.append(iid)
        elif already_done is not None and already_done(item.code):
            if ours:
                done.append(iid)
        else:
            failures.append(failure(iid, item.code or 'UnknownError', redact(item.message, secrets) or 'failed', answer.request_id))
    return done, failures


def _run_batches(pool, write, instance_ids, secrets):
    """``(batches, done, failures, values)`` of ``write(ecs, batch)`` -> ``(done, failures, value)`` over batches of 100."""
    batches = ecs_api.chunks(instance_ids, ecs_api.MAX_IDS_PER_WRITE)
    done, failures, values = [], [], []
    for batch, outcome in zip(batches, pool.map(write, batches)):
        if outcome.error is not None:
            err = outcome.error
            failures.extend(failure(iid, err.code, redact(err.message, secrets), err.request_id) for iid in batch)
            values.append(err.after_lost_reply)
        else:
            done.extend(outcome.value[0])
            failures.extend(outcome.value[1])
            values.append(outcome.value[2])
    return batches, done, failures, values


def detach_role(pool, region, role_name, instance_ids, secrets=()):
    """Detach ``role_name`` from ``instance_ids`` in batches of 100 on ``pool``.

    Instances that no longer hold the role are neither done nor failed, unless an attempt of the same
    call whose answer was lost detached them (then they are done).
    """
    def write(ecs, batch):
        answer = ecs_api.detach_instance_ram_role(ecs, region, role_name, batch)
        return _batch_outcome(answer, batch, secrets, detach_already_done, ours=ecs.last_call_uncertain) + (None,)

    _batches, done, failures, _values = _run_batches(pool, write, instance_ids, secrets)
    return WriteOutcome(done, failures)


def attach_role(pool, region, role_name, instance_ids, policy=None, secrets=(), visibility_timeout=ROLE_VISIBILITY_TIMEOUT):
    """Attach ``role_name`` to ``instance_ids`` in batches of 100 on ``pool`` (:class:`AttachOutcome`).

    A role created moments ago may not be visible to ECS yet: each batch is tried again for up
    to ``visibility_timeout`` seconds while ECS answers that it does not know the role.
    """
    def attempt(ecs, batch):
        answer = ecs_api.attach_instance_ram_role(ecs, region, role_name, batch, policy)
        return answer, ecs.last_call_uncertain

    def write(ecs, batch):
        answer, retried = call_until_visible(lambda: attempt(ecs, batch), ROLE_VISIBILITY_CODES, visibility_timeout,
                                             sleep=time.sleep, clock=time.monotonic)
        return _batch_outcome(answer, batch, secrets) + (retried,)

    batches, done, failures, retried = _run_batches(pool, write, instance_ids, secrets)
    uncertain = [iid for batch, flag in zip(batches, retried) if flag for iid in batch]
    return AttachOutcome(done, failures, uncertain)


def validate_selection(params, errors):
    """The ids, tags and concurrency shared by the instance modules; problems go to ``errors``."""
    ids, error = validate_instance_ids(params.get('instance_ids'))
    errors.append(error)
    tags = dict(params.get('instance_tags') or {})
    errors.append(validate_instance_tags(tags))
    concurrency = params.get('concurrency')
    errors.append(concurrency_error(concurrency))
    return ids or [], tags, concurrency
