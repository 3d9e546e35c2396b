# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The ECS instance toolkit: select instances (ids and/or tags), read what they hold, send batched writes.

Every module that touches instances goes through here, with a :class:`concurrency.WorkerPool`
for the batches; nothing else reads DescribeInstances / DescribeInstanceRamRole or sends
Attach/DetachInstanceRamRole.

Reading the roles of a list of ids costs one DescribeInstanceRamRole call per 50 ids. The service
refuses a whole page that names an unknown or a classic-network instance (API_FACTS 5.3) and may
leave out instances without a role: only the ids of such pages, and the unlisted ids, are
described with DescribeInstances, to tell unknown instances from classic ones and from VPC
instances without a role. The write senders answer ``resource.BatchResult``: a per-instance result
is decided by ``Success``, else ``Code == "200"`` (API_FACTS 5.1), never by the text of a failure
code; a batch refused as a whole because one id is gone or classic is re-read and sent again
without those ids.
"""

import collections
import time

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api
from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import concurrency_error, first_error
from ansible_collections.alicloud.ram.plugins.module_utils.data import short_list
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.failures import instance_failure
from ansible_collections.alicloud.ram.plugins.module_utils.resource import DONE, FAILED, UNKNOWN, BatchResult, ItemResult
from ansible_collections.alicloud.ram.plugins.module_utils.retries import call_until_visible

CODE_NOT_FOUND = 'InvalidInstanceId.NotFound'
CODE_CLASSIC = 'InvalidNetworkType.MismatchRamRole'
CODE_STATUS = 'IncorrectInstanceStatus'
MSG_NOT_FOUND = 'The instance does not exist in region %s.'
MSG_CLASSIC = 'The instance is in the classic network; RAM roles can only be attached to VPC instances.'
MSG_STATUS = 'The instance is %s; its metadata options can be changed once it is Running or Stopped.'
# A batch fails as a whole for these: find out instance by instance.
REFUSED_BATCH_CODES = (CODE_NOT_FOUND, CODE_CLASSIC)
# Instance states in which ECS refuses to change an instance's settings.
TRANSITIONAL_STATES = ('Pending', 'Starting', 'Stopping')
# How long a role that RAM already knows may stay invisible to ECS after its creation.
ROLE_VISIBILITY_TIMEOUT = 60.0
ROLE_VISIBILITY_CODES = ('InvalidRamRole.NotFound', 'InvalidRamRole.NotEcsRole')

# The selected ids (in order) and the Instance dicts the tag pages already gave for some of them.
Selection = collections.namedtuple('Selection', ['ids', 'described'])
# What the instances hold: ``roles`` maps every id the role read listed, or DescribeInstances
# showed as a VPC instance, to its role (or None); ``unknown`` and ``classic`` list the ids found
# to be so; ``described`` holds the Instance dicts read on the way.
RoleReading = collections.namedtuple('RoleReading', ['roles', 'unknown', 'classic', 'described'])


def same_role(a, b):
    """RAM role names are case-insensitive; no role (None or '') only matches no role."""
    return (a or '').lower() == (b or '').lower()


# ---------------------------------------------------------------------------------- input

def instance_ids_error(values):
    """A message for an unusable ``instance_ids`` list, or None."""
    for value in values or ():
        if not isinstance(value, str) or not value.strip():
            return 'each instance id must be a non-empty string, got %r' % (value,)
        if any(ch.isspace() for ch in value):
            return 'instance id %r contains whitespace' % value
    return None


def tag_value_text(value):
    """The text of a tag selector value as users see it: ``true`` for True, ``3`` for 3, strings as they are."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return value if isinstance(value, str) else str(value)


def instance_tags_error(tags):
    """A message for an unusable ``instance_tags`` dict, or None."""
    if not tags:
        return None
    if len(tags) > ecs_api.MAX_TAG_FILTERS:
        return 'instance_tags may hold at most %d tags, got %d' % (ecs_api.MAX_TAG_FILTERS, len(tags))
    for key, value in tags.items():
        if not isinstance(key, str) or not key.strip():
            return 'instance_tags keys must be non-empty strings, got %r' % (key,)
        if value is None or isinstance(value, (dict, list, tuple, set)) or not isinstance(value, (str, int, float)):
            return ('instance_tags: the value of %r must be a string, number or boolean, not %s (quote it, or use "" to '
                    'match any value)' % (key, 'null' if value is None else type(value).__name__))
    return None


def selection_errors(params):
    """The messages about ``instance_ids``, ``instance_tags`` and ``concurrency`` (None for each that is fine)."""
    return [instance_ids_error(params.get('instance_ids')), instance_tags_error(params.get('instance_tags')),
            concurrency_error(params.get('concurrency'))]


def selection_input(params):
    """``(ids without duplicates in first-seen order, {tag key: text})`` of validated options."""
    ids = list(collections.OrderedDict.fromkeys(params.get('instance_ids') or ()))
    tags = dict((key, tag_value_text(value)) for key, value in (params.get('instance_tags') or {}).items())
    return ids, tags


# ---------------------------------------------------------------------------------- Instance dicts

def network_type(instance):
    """``'vpc'`` or ``'classic'`` for an Instance dict."""
    return 'classic' if str(instance.get('InstanceNetworkType') or 'vpc').lower() == 'classic' else 'vpc'


def in_transition(instance):
    """The state (Pending, Starting, Stopping) of an instance ECS refuses to change now, or None."""
    status = instance.get('Status')
    return status if status in TRANSITIONAL_STATES else None


def metadata_options(instance):
    """An Instance dict's ``MetadataOptions`` in the modules' snake_case result form (None when not given)."""
    options = instance.get('MetadataOptions') or {}
    return {'http_tokens': options.get('HttpTokens') or None,
            'http_endpoint': options.get('HttpEndpoint') or None,
            'instance_metadata_tags': options.get('InstanceMetadataTags') or None}


# ---------------------------------------------------------------------------------- selection and reads

def select_instances(ecs, region, instance_ids=None, tags=None):
    """``instance_ids`` (in order) followed by the ids of every instance carrying all ``tags``."""
    selected = list(instance_ids or ())
    described = {}
    if tags:
        known = set(selected)
        for instance in ecs_api.describe_instances(ecs, region, tags=tags):
            iid = instance.get('InstanceId')
            if iid:
                described[iid] = instance
                if iid not in known:
                    known.add(iid)
                    selected.append(iid)
    return Selection(selected, described)


def _merged(outcomes):
    """One dict of the dicts ``outcomes`` hold; the first error is raised."""
    error = first_error(outcomes)
    if error is not None:
        raise error
    result = {}
    for outcome in outcomes:
        result.update(outcome.value or {})
    return result


def _chunks(seq, size):
    seq = list(seq)
    return [seq[start:start + size] for start in range(0, len(seq), size)]


def describe_by_ids(pool, region, instance_ids):
    """``{instance_id: Instance dict}`` of the ids that exist (100 ids a call, on ``pool``)."""
    def read(ecs, batch):
        return dict((i['InstanceId'], i) for i in ecs_api.describe_instances(ecs, region, instance_ids=batch) if i.get('InstanceId'))

    return _merged(pool.map(read, _chunks(instance_ids, ecs_api.MAX_IDS_PER_DESCRIBE), stop_on_error=True))


def _role_pages(pool, region, instance_ids, tolerate_refusal):
    """``(roles, refused_ids)``: the roles of the ids DescribeInstanceRamRole lists, 50 ids a call.

    With ``tolerate_refusal``, the ids of a page refused because it names an unknown or classic
    instance are returned in ``refused_ids`` instead of failing the read.
    """
    def read(ecs, batch):
        try:
            page = ecs_api.instance_ram_roles(ecs, region, batch)
        except AlicloudApiError as err:
            if tolerate_refusal and err.code in REFUSED_BATCH_CODES:
                return None
            raise
        wanted = set(batch)
        return dict((iid, role) for iid, role in page.items() if iid in wanted)

    batches = _chunks(instance_ids, ecs_api.MAX_IDS_PER_ROLE_READ)
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
    DescribeInstances call for their ids, and tell classic instances apart before any write.
    """
    described = dict(described or {})
    classic = [i for i in instance_ids if i in described and network_type(described[i]) == 'classic']
    vpc = [i for i in instance_ids if i not in set(classic)]
    roles, refused = _role_pages(pool, region, vpc, tolerate_refusal=True)
    unlisted = [i for i in vpc if i not in roles]
    described.update(describe_by_ids(pool, region, [i for i in unlisted if i not in described]))
    unknown = [i for i in unlisted if i not in described]
    classic += [i for i in unlisted if i in described and network_type(described[i]) == 'classic']
    bad = set(unknown) | set(classic)
    # a refused page says nothing of its good ids: read them again; ids a page left out hold no role
    again = [i for i in refused if i not in bad]
    if again:
        roles.update(_role_pages(pool, region, again, tolerate_refusal=False)[0])
    roles.update((i, None) for i in unlisted if i not in bad and i not in roles)
    classic = [i for i in instance_ids if i in set(classic)]
    return RoleReading(roles, unknown, classic, described)


def observe_roles(pool, region, instance_ids):
    """``{instance_id: role or None}`` now, for the ids that exist as VPC instances (the read that settles writes)."""
    return read_roles(pool, region, instance_ids).roles


def _holding_nothing(pool, region, instance_ids):
    """As :func:`observe_roles`, with gone and classic instances as holding no role."""
    reading = read_roles(pool, region, instance_ids)
    roles = dict(reading.roles)
    roles.update((i, None) for i in reading.unknown + reading.classic)
    return roles


# ---------------------------------------------------------------------------------- batched writes

def _item_results(answer, ids):
    """``{id: ItemResult}`` of one Attach/Detach answer."""
    per_instance = dict((r.instance_id, r) for r in answer.results if r.instance_id)
    items = {}
    for iid in ids:
        result = per_instance.get(iid)
        if result is None:
            # an answer without this instance: done only when it says nothing failed
            items[iid] = ItemResult(DONE if answer.fail_count == 0 and answer.results else UNKNOWN, None)
        elif result.success is None:
            items[iid] = ItemResult(UNKNOWN, None)
        elif result.success:
            items[iid] = ItemResult(DONE, None)
        else:
            items[iid] = ItemResult(FAILED, instance_failure(iid, result.code or 'UnknownError', result.message or 'failed',
                                                             answer.request_id))
    return items


def _refused_ids(ecs, region, ids):
    """``{id: failure}`` of the ids of a refused batch that are gone or classic (one DescribeInstances)."""
    found = dict((i['InstanceId'], i) for i in ecs_api.describe_instances(ecs, region, instance_ids=ids) if i.get('InstanceId'))
    refused = {}
    for iid in ids:
        if iid not in found:
            refused[iid] = instance_failure(iid, CODE_NOT_FOUND, MSG_NOT_FOUND % region)
        elif network_type(found[iid]) == 'classic':
            refused[iid] = instance_failure(iid, CODE_CLASSIC, MSG_CLASSIC)
    return refused


def batch_sender(region, write):
    """``send(client, ids)`` for ``Writer.write_batches``: ``write(client, ids)`` -> ``BatchAnswer``.

    A batch refused as a whole (an id unknown or classic, API_FACTS 5.1) is described, the
    refused ids fail on their own, and the rest is sent again.
    """
    def send(ecs, ids):
        try:
            answer = write(ecs, ids)
        except AlicloudApiError as err:
            if err.code not in REFUSED_BATCH_CODES or err.uncertain:
                raise
            refused = _refused_ids(ecs, region, ids)
            if not refused:
                raise
            items = dict((iid, ItemResult(FAILED, failure)) for iid, failure in refused.items())
            rest = [i for i in ids if i not in refused]
            if not rest:
                return BatchResult(items, False)
            answer = write(ecs, rest)
            items.update(_item_results(answer, rest))
            return BatchResult(items, answer.uncertain)
        return BatchResult(_item_results(answer, ids), answer.uncertain)

    return send


def attach_sender(region, role_name, policy=None, visibility_timeout=ROLE_VISIBILITY_TIMEOUT):
    """Sends AttachInstanceRamRole; a role created moments ago may not be visible to ECS yet, so each batch is
    tried again for up to ``visibility_timeout`` seconds while ECS answers that it does not know the role."""
    def write(ecs, ids):
        return call_until_visible(lambda: ecs_api.attach_instance_ram_role(ecs, region, role_name, ids, policy),
                                  ROLE_VISIBILITY_CODES, visibility_timeout, sleep=time.sleep, clock=time.monotonic)

    return batch_sender(region, write)


def detach_sender(region, role_name):
    return batch_sender(region, lambda ecs, ids: ecs_api.detach_instance_ram_role(ecs, region, role_name, ids))


def write_attaches(writer, pool, region, role_name, changes, policy=None):
    """Attach ``role_name`` to the instances of ``changes`` through ``writer``, 100 a call; ``{id: (failure, role now)}``
    of those that failed. An instance a read then shows holding the role is done (API_FACTS 5.1)."""
    return writer.write_batches(pool, changes, ecs_api.MAX_IDS_PER_WRITE, attach_sender(region, role_name, policy),
                                lambda ids: observe_roles(pool, region, ids), same_role)


def write_detaches(writer, pool, region, role_name, changes):
    """Detach ``role_name`` from the instances of ``changes``; an instance a read then shows without it (another role, none,
    or released) is done, whatever the per-instance code said (API_FACTS 5.2)."""
    return writer.write_batches(pool, changes, ecs_api.MAX_IDS_PER_WRITE, detach_sender(region, role_name),
                                lambda ids: _holding_nothing(pool, region, ids), lambda now, _target: not same_role(now, role_name))


def not_found_failures(region, ids):
    return [instance_failure(i, CODE_NOT_FOUND, MSG_NOT_FOUND % region) for i in ids]


def describe_failures(failures):
    """``id (code), ...`` for a one-line message."""
    return short_list('%s (%s)' % (f['instance_id'], f['code']) for f in failures)
