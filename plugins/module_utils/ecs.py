# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""ECS helpers: batching, PageNumber pagination, per-instance results, role attachments."""

import json

from ansible_collections.alicloud.ram.plugins.module_utils.ram import as_list, dig

MAX_IDS_PER_WRITE = 100      # AttachInstanceRamRole / DetachInstanceRamRole
MAX_IDS_PER_DESCRIBE = 50    # DescribeInstanceRamRole
MAX_PAGE_SIZE = 50


def chunks(seq, size):
    """Consecutive slices of ``seq`` of at most ``size`` items."""
    if size < 1:
        raise ValueError('chunk size must be positive')
    seq = list(seq)
    for start in range(0, len(seq), size):
        yield seq[start:start + size]


def instance_ids_param(ids):
    """The JSON array string ECS expects for ``InstanceIds``."""
    return json.dumps(list(ids), separators=(',', ':'))


def paginate_pages(client, action, params, list_path, page_size=MAX_PAGE_SIZE):
    """Yield every item of an ECS list action that pages with PageNumber / PageSize / TotalCount."""
    page = 1
    seen = 0
    while True:
        page_params = dict(params or {})
        page_params.update(PageNumber=page, PageSize=page_size)
        body = client.call(action, page_params)
        items = as_list(dig(body, list_path))
        yield from items
        seen += len(items)
        total = body.get('TotalCount')
        try:
            total = int(total) if total is not None else None
        except (TypeError, ValueError):
            total = None
        if not items or len(items) < page_size or (total is not None and seen >= total):
            return
        page += 1


def _truthy(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == 'true'


def parse_instance_results(body, result_key):
    """Per-instance ``(instance_id, success, code, message)`` from an Attach/Detach answer.

    ``result_key`` is the wrapper, e.g. ``AttachInstanceRamRoleResults``; missing keys are tolerated.
    """
    wrapper = (body or {}).get(result_key)
    item_key = result_key[:-1] if result_key.endswith('s') else result_key
    items = wrapper.get(item_key) if isinstance(wrapper, dict) else wrapper
    results = []
    for item in as_list(items):
        if not isinstance(item, dict):
            continue
        results.append((item.get('InstanceId'), _truthy(item.get('Success', False)),
                        None if item.get('Code') is None else str(item.get('Code')), item.get('Message') or ''))
    return results


def describe_instance_ram_roles(client, region, instance_ids=None, role_name=None):
    """``{instance_id: role name or None}`` from DescribeInstanceRamRole, batched and paged.

    Instances reported with an empty role name map to None; instances the API does not
    list are absent from the result.
    """
    result = {}
    batches = list(chunks(instance_ids, MAX_IDS_PER_DESCRIBE)) if instance_ids else [None]
    for batch in batches:
        params = {'RegionId': region}
        if batch is not None:
            params['InstanceIds'] = instance_ids_param(batch)
        if role_name:
            params['RamRoleName'] = role_name
        for item in paginate_pages(client, 'DescribeInstanceRamRole', params, ('InstanceRamRoleSets', 'InstanceRamRoleSet')):
            if isinstance(item, dict) and item.get('InstanceId'):
                result[item['InstanceId']] = item.get('RamRoleName') or None
    return result


# Per-instance detach answers meaning the instance no longer holds the role: another run, or
# the instance's or role's deletion, got there first.
_ALREADY_DETACHED_MARKERS = ('notattached', 'notfound', 'mismatch')


def detach_already_done(code):
    """Whether a failed per-instance DetachInstanceRamRole result leaves the instance without the role."""
    code = (code or '').lower()
    return any(marker in code for marker in _ALREADY_DETACHED_MARKERS)
