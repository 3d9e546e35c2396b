# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The ECS instance toolkit: select instances (ids and/or tags), read what they hold, write in batches.

Every module that touches instances goes through here, with a :class:`concurrency.WorkerPool`
for the batches; nothing else reads DescribeInstances / DescribeInstanceRamRole or writes
Attach/DetachInstanceRamRole.
"""

import collections

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api
from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import first_error
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, redact

# Per-instance detach answers meaning the instance no longer holds the role: another run, or
# the instance's or role's deletion, got there first.
_ALREADY_DETACHED_MARKERS = ('notattached', 'notfound', 'mismatch')

# The outcome of a batched write: ids whose write took effect, and one failure dict per failed id.
WriteOutcome = collections.namedtuple('WriteOutcome', ['done', 'failures'])


def failure(instance_id, code, message, request_id=None):
    return {'instance_id': instance_id, 'code': code, 'message': message, 'request_id': request_id}


def same_role(a, b):
    """RAM role names are case-insensitive."""
    return (a or '').lower() == (b or '').lower() and bool(a) == bool(b)


def detach_already_done(code):
    """Whether a failed per-instance DetachInstanceRamRole result leaves the instance without the role."""
    code = (code or '').lower()
    return any(marker in code for marker in _ALREADY_DETACHED_MARKERS)


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


def select_instance_ids(ecs, region, instance_ids=None, tags=None):
    """``instance_ids`` (in order, without duplicates) followed by the ids of every instance carrying all ``tags``."""
    selected = list(collections.OrderedDict.fromkeys(instance_ids or ()))
    if tags:
        known = set(selected)
        for instance in instances_by_tags(ecs, region, tags):
            iid = instance.get('InstanceId')
            if iid and iid not in known:
                known.add(iid)
                selected.append(iid)
    return selected


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

    outcomes = pool.map(read, ecs_api.chunks(instance_ids, ecs_api.MAX_IDS_PER_DESCRIBE), stop_on_error=True)
    error = first_error(outcomes)
    if error is not None:
        raise error
    result = {}
    for outcome in outcomes:
        result.update(outcome.value or {})
    return result


# ---------------------------------------------------------------------------------- role reads

def holders_of_role(ecs, region, role_name):
    """Ids of the instances of ``region`` holding ``role_name`` (all pages; a role ECS does not know: none)."""
    holders, page_number = [], 1
    while True:
        try:
            page = ecs_api.describe_instance_ram_roles(ecs, region, role_name=role_name, page=page_number)
        except AlicloudApiError as err:
            if err.code == 'InvalidRamRole.NotFound':
                return []
            raise
        holders.extend(iid for iid, held in page.roles.items() if same_role(held, role_name) and iid not in holders)
        last = page.total is not None and page_number * ecs_api.MAX_IDS_PER_ROLE_READ >= page.total
        if last or len(page.roles) < ecs_api.MAX_IDS_PER_ROLE_READ:
            return holders
        page_number += 1


# ---------------------------------------------------------------------------------- writes

def _batch_outcome(answer, ids, secrets, already_done=None):
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
            continue
        else:
            failures.append(failure(iid, item.code or 'UnknownError', redact(item.message, secrets) or 'failed', answer.request_id))
    return done, failures


def detach_role(pool, region, role_name, instance_ids, secrets=()):
    """Detach ``role_name`` from ``instance_ids`` in batches of 100 on ``pool``.

    Instances that no longer hold the role (someone else detached it) are neither done nor failed.
    """
    def write(ecs, batch):
        return _batch_outcome(ecs_api.detach_instance_ram_role(ecs, region, role_name, batch), batch, secrets, detach_already_done)

    batches = ecs_api.chunks(instance_ids, ecs_api.MAX_IDS_PER_WRITE)
    done, failures = [], []
    for batch, outcome in zip(batches, pool.map(write, batches)):
        if outcome.error is not None:
            err = outcome.error
            failures.extend(failure(iid, err.code, redact(err.message, secrets), err.request_id) for iid in batch)
        else:
            done.extend(outcome.value[0])
            failures.extend(outcome.value[1])
    return WriteOutcome(done, failures)
