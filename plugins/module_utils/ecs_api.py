# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The ECS operations the collection uses, one function each (see ``service.operation``).

Functions take a ``ServiceClient`` for ECS and the region first and return plain data with the
API's own keys. Each call reads or writes one page or one batch; the instance toolkit
(``instances.py``) spreads batches over workers and follows pages.
"""

import collections
import json

from ansible_collections.alicloud.ram.plugins.module_utils.ram_api import as_list, listed
from ansible_collections.alicloud.ram.plugins.module_utils.service import operation

MAX_IDS_PER_WRITE = 100            # AttachInstanceRamRole / DetachInstanceRamRole
MAX_IDS_PER_ROLE_READ = 50         # DescribeInstanceRamRole (InstanceIds and PageSize)
MAX_IDS_PER_DESCRIBE = 100         # DescribeInstances (InstanceIds and MaxResults)
MAX_TAG_FILTERS = 20               # DescribeInstances Tag.N

# One instance's outcome in an Attach/Detach answer.
InstanceResult = collections.namedtuple('InstanceResult', ['instance_id', 'success', 'code', 'message'])
# One page of DescribeInstanceRamRole: ``roles`` maps instance id -> role name ('' or None: no role).
RolePage = collections.namedtuple('RolePage', ['roles', 'total'])
# One page of DescribeInstances: ``instances`` are the API's Instance dicts.
InstancePage = collections.namedtuple('InstancePage', ['instances', 'next_token'])
# Answer of an Attach/Detach call: per-instance results plus the summary the API gives.
BatchAnswer = collections.namedtuple('BatchAnswer', ['results', 'fail_count', 'request_id'])


def chunks(seq, size):
    """Consecutive slices of ``seq`` of at most ``size`` items."""
    if size < 1:
        raise ValueError('chunk size must be positive')
    seq = list(seq)
    return [seq[start:start + size] for start in range(0, len(seq), size)]


def instance_ids_param(ids):
    """The JSON array string ECS expects for ``InstanceIds``."""
    return json.dumps(list(ids), separators=(',', ':'))


def _to_int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _truthy(value):
    return value if isinstance(value, bool) else str(value).strip().lower() == 'true'


def _batch_answer(body, result_key):
    wrapper = (body or {}).get(result_key)
    items = wrapper.get(result_key[:-1]) if isinstance(wrapper, dict) else wrapper
    results = [InstanceResult(item.get('InstanceId'), _truthy(item.get('Success', False)),
                              None if item.get('Code') is None else str(item.get('Code')), item.get('Message') or '')
               for item in as_list(items) if isinstance(item, dict)]
    return BatchAnswer(results, _to_int(body.get('FailCount'), 0), body.get('RequestId'))


def tag_filter_params(tags):
    """The ``Tag`` list for a ``{key: value}`` selection (the SDK model sends it as ``Tag.N.Key`` / ``Tag.N.Value``).

    An empty value matches any value of the key.
    """
    if not tags:
        return {}
    return {'Tag': [dict([('Key', key)] + ([('Value', str(value))] if value not in (None, '') else []))
                    for key, value in sorted(tags.items())]}


@operation('read the RAM roles of instances in {region}')
def describe_instance_ram_roles(ecs, region, instance_ids=None, role_name=None, page=1):
    """One page (up to 50 instances) of DescribeInstanceRamRole, filtered by ids and/or role."""
    params = {'RegionId': region, 'RamRoleName': role_name or None, 'PageNumber': page, 'PageSize': MAX_IDS_PER_ROLE_READ}
    if instance_ids:
        params['InstanceIds'] = instance_ids_param(instance_ids)
    body = ecs.call('DescribeInstanceRamRole', params)
    roles = collections.OrderedDict((item['InstanceId'], item.get('RamRoleName') or None)
                                    for item in listed(body, ('InstanceRamRoleSets', 'InstanceRamRoleSet')) if item.get('InstanceId'))
    return RolePage(roles, _to_int(body.get('TotalCount')))


@operation('describe instances in {region}')
def describe_instances(ecs, region, instance_ids=None, tags=None, next_token=None):
    """One page (up to 100 instances) of DescribeInstances, filtered by ids and/or tags."""
    params = {'RegionId': region, 'MaxResults': MAX_IDS_PER_DESCRIBE, 'NextToken': next_token or None}
    if instance_ids:
        params['InstanceIds'] = instance_ids_param(instance_ids)
    params.update(tag_filter_params(tags))
    body = ecs.call('DescribeInstances', params)
    return InstancePage(listed(body, ('Instances', 'Instance')), body.get('NextToken') or None)


@operation('attach role {role_name} to instances in {region}')
def attach_instance_ram_role(ecs, region, role_name, instance_ids, policy=None, retry_codes=()):
    params = {'RegionId': region, 'RamRoleName': role_name, 'InstanceIds': instance_ids_param(instance_ids), 'Policy': policy}
    return _batch_answer(ecs.call('AttachInstanceRamRole', params, retry_codes=retry_codes), 'AttachInstanceRamRoleResults')


@operation('detach role {role_name} from instances in {region}')
def detach_instance_ram_role(ecs, region, role_name, instance_ids):
    params = {'RegionId': region, 'RamRoleName': role_name, 'InstanceIds': instance_ids_param(instance_ids)}
    return _batch_answer(ecs.call('DetachInstanceRamRole', params), 'DetachInstanceRamRoleResults')


@operation('change the metadata options of instance {instance_id} in {region}')
def modify_instance_metadata_options(ecs, region, instance_id, http_tokens=None, http_endpoint=None, instance_metadata_tags=None):
    ecs.call('ModifyInstanceMetadataOptions', {'RegionId': region, 'InstanceId': instance_id, 'HttpTokens': http_tokens,
                                               'HttpEndpoint': http_endpoint, 'InstanceMetadataTags': instance_metadata_tags})
    return True


def metadata_options(instance):
    """An Instance dict's ``MetadataOptions`` in the modules' snake_case result form."""
    options = instance.get('MetadataOptions') or {}
    return {'http_tokens': options.get('HttpTokens') or None,
            'http_endpoint': options.get('HttpEndpoint') or None,
            'instance_metadata_tags': options.get('InstanceMetadataTags') or None}


def network_type(instance):
    """``'vpc'`` or ``'classic'`` for an Instance dict."""
    return 'classic' if str(instance.get('InstanceNetworkType') or 'vpc').lower() == 'classic' else 'vpc'
