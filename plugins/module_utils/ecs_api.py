# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The ECS operations the collection uses, one function each (see ``service.operation``).

Functions take a ``ServiceClient`` for ECS and the region first and return plain data with the
API's own keys. Each call reads or writes one page or one batch, except the readers that follow
every page of one selection; the instance toolkit (``instances.py``) spreads batches over workers.
"""

import collections
import json

from ansible_collections.alicloud.ram.plugins.module_utils.data import listed, to_int, truthy
from ansible_collections.alicloud.ram.plugins.module_utils.service import numbered_pages, operation, token_pages

MAX_IDS_PER_WRITE = 100            # AttachInstanceRamRole / DetachInstanceRamRole
MAX_IDS_PER_ROLE_READ = 50         # DescribeInstanceRamRole (InstanceIds and PageSize)
MAX_IDS_PER_DESCRIBE = 100         # DescribeInstances (InstanceIds and MaxResults)
MAX_TAG_FILTERS = 20               # DescribeInstances Tag.N
SUCCESS_CODE = '200'               # a per-instance result's Code when it worked

# One instance's outcome in an Attach/Detach answer: ``success`` is True, False, or None when the
# result says neither (no ``Success`` and no ``Code``).
InstanceResult = collections.namedtuple('InstanceResult', ['instance_id', 'success', 'code', 'message'])
# Answer of an Attach/Detach call: per-instance results plus the summary the API gives;
# ``uncertain``: an earlier attempt of the call may have taken effect unseen.
BatchAnswer = collections.namedtuple('BatchAnswer', ['results', 'fail_count', 'request_id', 'uncertain'])


def instance_ids_param(ids):
    """The JSON array string ECS expects for ``InstanceIds``."""
    return json.dumps(list(ids), separators=(',', ':'))


def result_success(item):
    """Whether one per-instance result says the write worked: ``Success`` when the answer has it, else
    ``Code == "200"`` (every documented sample carries only ``Code`` and ``Message``); None when it says neither."""
    if item.get('Success') is not None:
        return truthy(item['Success'])
    if item.get('Code') not in (None, ''):
        return str(item['Code']) == SUCCESS_CODE
    return None


def _batch_answer(body, result_key):
    results = [InstanceResult(item.get('InstanceId'), result_success(item),
                              None if item.get('Code') is None else str(item.get('Code')), item.get('Message') or '')
               for item in listed(body, (result_key, result_key[:-1]))]
    return BatchAnswer(results, to_int(body.get('FailCount'), 0), body.get('RequestId'), getattr(body, 'uncertain', False))


def tag_filter_params(tags):
    """The ``Tag`` list for a ``{key: text}`` selection (the SDK model sends it as ``Tag.N.Key`` / ``Tag.N.Value``).

    An empty value matches any value of the key.
    """
    if not tags:
        return {}
    return {'Tag': [dict([('Key', key)] + ([('Value', value)] if value not in (None, '') else []))
                    for key, value in sorted(tags.items())]}


def _roles_of(body):
    return collections.OrderedDict((item['InstanceId'], item.get('RamRoleName') or None)
                                   for item in listed(body, ('InstanceRamRoleSets', 'InstanceRamRoleSet')) if item.get('InstanceId'))


@operation('read the RAM roles of instances in {region}')
def instance_ram_roles(ecs, region, instance_ids):
    """``{instance id: role or None}`` of the (up to 50) ``instance_ids`` DescribeInstanceRamRole lists (one call)."""
    body = ecs.call('DescribeInstanceRamRole', {'RegionId': region, 'InstanceIds': instance_ids_param(instance_ids),
                                                'PageNumber': 1, 'PageSize': MAX_IDS_PER_ROLE_READ})
    return _roles_of(body)


@operation('read the instances holding role {role_name} in {region}', missing=('InvalidRamRole.NotFound',))
def role_holders(ecs, region, role_name):
    """``{instance id: role name as ECS spells it}`` of every instance of ``region`` DescribeInstanceRamRole lists for
    ``role_name`` (all pages); None when ECS does not know the role."""
    holders = collections.OrderedDict()
    pages = numbered_pages(lambda params: ecs.call('DescribeInstanceRamRole', params), {'RegionId': region, 'RamRoleName': role_name},
                           MAX_IDS_PER_ROLE_READ, lambda body: len(_roles_of(body)))
    for body in pages:
        for iid, held in _roles_of(body).items():
            holders.setdefault(iid, held)
    return holders


def _instances_param(instance_ids, tags):
    params = {'MaxResults': MAX_IDS_PER_DESCRIBE}
    if instance_ids:
        params['InstanceIds'] = instance_ids_param(instance_ids)
    params.update(tag_filter_params(tags))
    return params


@operation('describe instances in {region}')
def describe_instances(ecs, region, instance_ids=None, tags=None):
    """The ``Instance`` dicts of every instance matching ``instance_ids`` (up to 100) and/or ``tags`` (all pages)."""
    found, wanted = [], len(instance_ids or ())

    def ends(body):
        # an empty page, or every id asked for found: no need to follow a token
        return not listed(body, ('Instances', 'Instance')) or bool(wanted and len(found) >= wanted)

    params = dict(_instances_param(instance_ids, tags), RegionId=region)
    for body in token_pages(lambda page: ecs.call('DescribeInstances', page), params, ends=ends):
        found.extend(listed(body, ('Instances', 'Instance')))
    return found


@operation('list the regions')
def describe_regions(ecs):
    """The ids of the regions ECS offers this account."""
    body = ecs.call('DescribeRegions', {})
    return [item['RegionId'] for item in listed(body, ('Regions', 'Region')) if item.get('RegionId')]


@operation('attach role {role_name} to instances in {region}')
def attach_instance_ram_role(ecs, region, role_name, instance_ids, policy=None, retry_codes=()):
    params = {'RegionId': region, 'RamRoleName': role_name, 'InstanceIds': instance_ids_param(instance_ids), 'Policy': policy}
    return _batch_answer(ecs.call('AttachInstanceRamRole', params, retry_codes=retry_codes), 'AttachInstanceRamRoleResults')


@operation('detach role {role_name} from instances in {region}')
def detach_instance_ram_role(ecs, region, role_name, instance_ids):
    params = {'RegionId': region, 'RamRoleName': role_name, 'InstanceIds': instance_ids_param(instance_ids)}
    return _batch_answer(ecs.call('DetachInstanceRamRole', params), 'DetachInstanceRamRoleResults')


@operation('change the metadata options of instance {instance_id} in {region}')
def modify_instance_metadata_options(ecs, region, instance_id, http_endpoint, http_tokens, instance_metadata_tags=None):
    """The whole wanted state: ``HttpEndpoint`` (required by the API) and ``HttpTokens`` always (an omitted
    one may fall back to its default), ``InstanceMetadataTags`` only when given."""
    ecs.call('ModifyInstanceMetadataOptions', {'RegionId': region, 'InstanceId': instance_id, 'HttpEndpoint': http_endpoint,
                                               'HttpTokens': http_tokens, 'InstanceMetadataTags': instance_metadata_tags})
    return True
