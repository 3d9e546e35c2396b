"""ECS (2014-05-26): instance RAM role attachment, metadata options, DescribeRegions and the DescribeInstances subset the collection needs."""

import json
import re

from . import policydoc, regions
from .errors import ApiError, invalid

MAX_IDS = 100
MAX_DESCRIBE_ROLE_IDS = 50
MAX_TAG_FILTERS = 20
TAG_PARAM = re.compile(r'Tag\.(\d+)\.(Key|Value)')
METADATA_CHOICES = {'HttpTokens': ('optional', 'required'), 'HttpEndpoint': ('enabled', 'disabled'),
                    'InstanceMetadataTags': ('enabled', 'disabled')}
TRANSITIONS = ('Pending', 'Starting', 'Stopping')

# Codes marked "Emulator." are invented: the real service's codes for these cases are unknown.
ALREADY_ATTACHED = 'Emulator.RamRoleAlreadyAttached'
SAME_ROLE_ATTACHED = 'Emulator.SameRamRoleAlreadyAttached'
NOT_ATTACHED = 'Emulator.RamRoleNotAttached'
OTHER_ROLE = 'Emulator.RamRoleMismatch'

NOT_FOUND = ('InvalidInstanceId.NotFound', 404, 'The specified InstanceId does not exist.')
CLASSIC = ('InvalidNetworkType.MismatchRamRole', 403, 'Ram role cannot be attached to instances of Classic network type.')


def region(params):
    return params.text('RegionId', required=True)


def instance_ids(params, required=True, limit=MAX_IDS):
    malformed = ApiError(400, 'InvalidInstanceIds.Malformed', 'The specified InstanceIds is not valid.')
    raw = params.text('InstanceIds', required=required)
    if raw is None:
        return None
    ids = params.json_list('InstanceIds', error=malformed)
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise malformed
    if len(ids) > limit:
        raise ApiError(400, 'InvalidParameter.TooManyInstanceIds', 'Instance ids cannot be more than %d.' % limit)
    seen = []
    for iid in ids:
        if iid not in seen:
            seen.append(iid)
    return seen


def lookup_role(state, name):
    role = state.data['roles'].get(name.lower())
    if role is None or not state.role_visible(role):
        raise ApiError(404, 'InvalidRamRole.NotFound', 'The specified RamRoleName does not exist.')
    return role


def refused(problem):
    code, status, message = problem
    return ApiError(status, code, message)


def classify(state, region_id, ids):
    """Map each id to its instance, or to the (code, status, message) of its problem.

    By default (the documented behaviour) any unknown id refuses the whole call with 404, else any classic
    id with 403; the ``unknown_ids`` / ``classic_ids`` switches set to ``per_instance`` refuse the call only
    when every id has that problem and report the others per instance.
    """
    out = []
    for iid in ids:
        inst = state.data['instances'].get(iid)
        if inst is None or inst['RegionId'] != region_id:
            out.append((iid, None, NOT_FOUND))
        elif inst['InstanceNetworkType'] != 'vpc':
            out.append((iid, inst, CLASSIC))
        else:
            out.append((iid, inst, None))
    for problem, switch in ((NOT_FOUND, 'unknown_ids'), (CLASSIC, 'classic_ids')):
        hit = sum(1 for _iid, _inst, p in out if p is problem)
        if hit and (hit == len(out) or state.faults.get(switch) == 'request'):
            raise refused(problem)
    return out


def result(iid, code=None, message=None, extra=None):
    item = {'InstanceId': iid, 'Success': code is None, 'Code': '200' if code is None else code,
            'Message': 'success' if code is None else message}
    if extra:
        item.update(extra)
    return item


# ``instance_codes: http``: per-instance failure codes as the real service may give them, HTTP-like (its success
# code is "200"; its failure codes are undocumented), instead of the invented names
HTTP_LIKE_CODES = {ALREADY_ATTACHED: '403', SAME_ROLE_ATTACHED: '403', NOT_ATTACHED: '404', OTHER_ROLE: '403'}


def batch_answer(state, results, name, key):
    """The Attach/Detach answer; ``results_without_success`` drops ``Success`` as every documented sample does."""
    fail_count = sum(1 for r in results if r['Code'] != '200')
    if state.faults.get('instance_codes') == 'http':
        for item in results:
            item['Code'] = HTTP_LIKE_CODES.get(item['Code'], item['Code'])
    if state.faults.get('results_without_success'):
        for item in results:
            del item['Success']
    return {'RamRoleName': name, 'TotalCount': len(results), 'FailCount': fail_count,
            '%sResults' % key: {'%sResult' % key: results}}


def role_name_for(state, key):
    role = state.data['roles'].get(key) if key else None
    return role['RoleName'] if role else ''


def shown_role(state, inst):
    """The role key DescribeInstanceRamRole shows: the held one, or one whose detach is not visible yet."""
    return inst['role'] or state.detach_lag.role(inst['InstanceId'])


def attach_instance_ram_role(ctx):
    params, state = ctx.params, ctx.state
    region_id = region(params)
    name = params.text('RamRoleName', required=True)
    ids = instance_ids(params)
    policy = params.text('Policy')
    if policy is not None:
        if len(policy) > 1024:
            raise invalid('Policy', 'The parameter Policy must not be longer than 1024 characters.')
        try:
            policydoc.parse(policy, 'Policy')
        except ApiError as exc:
            raise invalid('Policy', exc.message) from None
    role = lookup_role(state, name)
    if not policydoc.trusts_service(json.loads(role['AssumeRolePolicyDocument']), 'ecs.aliyuncs.com'):
        raise ApiError(404, 'InvalidRamRole.NotEcsRole', 'The specified ram role is not authorized for ecs, please check your role policy.')
    key = role['RoleName'].lower()
    results = []
    for iid, inst, problem in classify(state, region_id, ids):
        held = None if problem else shown_role(state, inst)
        if problem:
            results.append(result(iid, problem[0], problem[2]))
        elif held and held != key:
            results.append(result(iid, ALREADY_ATTACHED, 'The instance already has the RAM role %s attached; detach it first.'
                                  % role_name_for(state, held)))
        elif held == key and state.faults.get('attach_same_role') == 'failure':
            results.append(result(iid, SAME_ROLE_ATTACHED, 'The instance already has this RAM role (%s) attached.' % role['RoleName']))
        else:
            inst['role'] = key
            inst['role_policy'] = policy
            state.detach_lag.forget(instance_id=iid)
            results.append(result(iid))
    return batch_answer(state, results, role['RoleName'], 'AttachInstanceRamRole')


def detach_instance_ram_role(ctx):
    params, state = ctx.params, ctx.state
    region_id = region(params)
    ids = instance_ids(params)
    name = params.text('RamRoleName')
    key = None
    if name is not None:
        role = state.data['roles'].get(name.lower())
        if role is None:
            raise ApiError(404, 'InvalidRamRole.NotFound', 'The specified RamRoleName does not exist.')
        key = role['RoleName'].lower()
    results = []
    faults = state.faults
    for iid, inst, problem in classify(state, region_id, ids):
        shown = None if problem else shown_role(state, inst)
        if problem:
            results.append(result(iid, problem[0], problem[2]))
        elif not shown:
            results.append(result(iid, NOT_ATTACHED, 'The instance has no RAM role attached.'))
        elif key and shown != key:
            results.append(result(iid, OTHER_ROLE, 'The instance holds the RAM role %s, not %s.' % (role_name_for(state, shown), name)))
        else:
            detached = role_name_for(state, shown)
            if inst['role']:
                inst['role'] = None
                inst.pop('role_policy', None)
                state.detach_lag.start(iid, shown, faults.get('detach_visibility_delay'), faults.get('detach_visibility_reads'))
            results.append(result(iid, extra={'InstanceRamRoleSets': {'InstanceRamRoleSet': [{'InstanceId': iid, 'RamRoleName': detached}]}}))
            name = name or detached
    return batch_answer(state, results, name or '', 'DetachInstanceRamRole')


def describe_instance_ram_role(ctx):
    params, state = ctx.params, ctx.state
    region_id = region(params)
    ids = instance_ids(params, required=False, limit=MAX_DESCRIBE_ROLE_IDS)
    name = params.text('RamRoleName')
    number = params.integer('PageNumber', default=1, low=1, code='PageNumber')
    size = params.integer('PageSize', default=10, low=1, high=50, code='PageSize')
    if ids is None and name is None:
        raise ApiError(403, 'InvalidParameter.AllEmpty', 'InstanceIds and RamRoleName cannot both be empty.')
    key = None
    if name is not None:
        role = state.data['roles'].get(name.lower())
        if role is None:
            raise ApiError(404, 'InvalidRamRole.NotFound', 'The specified RamRoleName does not exist.')
        key = role['RoleName'].lower()
    if ids is not None:
        found = []
        for iid in ids:
            inst = state.data['instances'].get(iid)
            if inst is None or inst['RegionId'] != region_id:
                raise refused(NOT_FOUND)
            found.append(inst)
        if state.faults.get('classic_ids') == 'request' and any(i['InstanceNetworkType'] != 'vpc' for i in found):
            raise refused(CLASSIC)
    else:
        found = state.instances_in(region_id)
    shown = dict((i['InstanceId'], shown_role(state, i)) for i in found)
    if key is not None:
        found = [i for i in found if shown[i['InstanceId']] == key]
    chunk = found[(number - 1) * size:number * size]
    sets = [{'InstanceId': i['InstanceId'], 'RamRoleName': role_name_for(state, shown[i['InstanceId']])} for i in chunk]
    for inst in chunk:
        if not inst['role'] and shown[inst['InstanceId']]:
            state.detach_lag.read(inst['InstanceId'])
    return {'RegionId': region_id, 'TotalCount': len(found), 'InstanceRamRoleSets': {'InstanceRamRoleSet': sets}}


def tag_filters(params):
    """``Tag.N.Key`` / ``Tag.N.Value`` (N 1..20) as [(key, value or None)]; a value needs its key."""
    numbered = {}
    for name, value in params.values.items():
        match = TAG_PARAM.fullmatch(name)
        if match is None or value == '':
            continue
        number = int(match.group(1))
        if not 1 <= number <= MAX_TAG_FILTERS:
            raise invalid('Tag', 'The parameter Tag.N must have N between 1 and %d.' % MAX_TAG_FILTERS)
        numbered.setdefault(number, {})[match.group(2)] = value
    filters = []
    for number in sorted(numbered):
        if 'Key' not in numbered[number]:
            raise ApiError(400, 'InvalidTag.Mismatch', 'The specified Tag.n.Key and Tag.n.Value are not match.')
        filters.append((numbered[number]['Key'], numbered[number].get('Value')))
    return filters


def has_tags(inst, filters):
    tags = dict((k, v) for k, v in inst['tags'])
    return all(key in tags and (value is None or tags[key] == value) for key, value in filters)


def describe_instances(ctx):
    params, state = ctx.params, ctx.state
    region_id = region(params)
    ids = instance_ids(params, required=False)
    filters = tag_filters(params)
    found = state.instances_in(region_id)
    if ids is not None:
        found = [i for i in found if i['InstanceId'] in ids]
    if filters:
        found = [i for i in found if has_tags(i, filters)]
    for field in ('InstanceName', 'Status', 'VpcId', 'InstanceNetworkType', 'ZoneId'):
        wanted = params.text(field)
        if wanted is not None:
            found = [i for i in found if (i['VpcAttributes']['VpcId'] if field == 'VpcId' else i[field]) == wanted]
    max_results = params.integer('MaxResults', low=1, high=100, code='MaxResults')
    token = params.text('NextToken')
    body = {'TotalCount': len(found)}
    if max_results is not None or token is not None:
        try:
            start = int(token or 0)
        except ValueError:
            raise invalid('NextToken', 'The specified NextToken is not valid.') from None
        size = max_results or 10
        chunk = found[start:start + size]
        body['NextToken'] = str(start + size) if start + size < len(found) else ''
    else:
        number = params.integer('PageNumber', default=1, low=1, code='PageNumber')
        size = params.integer('PageSize', default=10, low=1, high=100, code='PageSize')
        chunk = found[(number - 1) * size:number * size]
        body.update(PageNumber=number, PageSize=size, NextToken='')
    body['Instances'] = {'Instance': [state.public_instance(i) for i in chunk]}
    return body


def modify_instance_metadata_options(ctx):
    """``HttpEndpoint`` is required (documented; the ``http_endpoint_required`` switch relaxes it). With
    ``strict_metadata_options`` an omitted ``HttpTokens`` falls back to its documented default ``optional``;
    an omitted ``InstanceMetadataTags`` is always left as it is."""
    params, state = ctx.params, ctx.state
    faults = state.faults
    strict = faults.get('strict_metadata_options')
    region_id = region(params)
    iid = params.text('InstanceId', required=True)
    params.text('HttpEndpoint', required=strict or faults.get('http_endpoint_required'))
    changes = {}
    for name, choices in METADATA_CHOICES.items():
        value = params.text(name)
        if value is not None and value not in choices:
            raise invalid(name, 'The parameter %s must be one of: %s.' % (name, ', '.join(choices)))
        if value is not None:
            changes[name] = value
    if strict:
        changes.setdefault('HttpTokens', 'optional')
    inst = state.data['instances'].get(iid)
    if inst is None or inst['RegionId'] != region_id:
        raise refused(NOT_FOUND)
    if inst['Status'] in TRANSITIONS:
        raise ApiError(403, 'IncorrectInstanceStatus', 'The current status of the resource does not support this operation.')
    inst['MetadataOptions'].update(changes)
    return {}


def describe_regions(ctx):
    params, state = ctx.params, ctx.state
    language = params.text('AcceptLanguage', default='zh-CN')
    known = list(state.config.regions)
    for inst in sorted(state.data['instances'].values(), key=lambda i: i['seq']):
        if inst['RegionId'] not in known:
            known.append(inst['RegionId'])
    return {'Regions': {'Region': [regions.describe(r, language) for r in known]}}


ACTIONS = {
    'AttachInstanceRamRole': attach_instance_ram_role,
    'DetachInstanceRamRole': detach_instance_ram_role,
    'DescribeInstanceRamRole': describe_instance_ram_role,
    'DescribeInstances': describe_instances,
    'ModifyInstanceMetadataOptions': modify_instance_metadata_options,
    'DescribeRegions': describe_regions,
}
