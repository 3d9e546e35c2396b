# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The RAM operations the collection uses, one function each (see ``service.operation``).

Every function takes a ``ServiceClient`` for RAM first and returns plain data with the API's
own keys (``RoleName``, ``PolicyType``, ...): the object the answer wraps, a list, ``None`` for
"not there", or, for writes, a true value when this call changed something and ``False`` when
the service said it was already so. Principals are ``'user'``, ``'group'`` or ``'role'``.
"""

import json

from ansible_collections.alicloud.ram.plugins.module_utils.data import as_list, listed
from ansible_collections.alicloud.ram.plugins.module_utils.service import marker_pages, operation, token_pages

MAX_ITEMS = 1000
TAG_RESOURCE_TYPE = 'role'
PRINCIPALS = {
    'user': ('User', 'UserName'),
    'group': ('Group', 'GroupName'),
    'role': ('Role', 'RoleName'),
}


def _principal(kind):
    if kind not in PRINCIPALS:
        raise ValueError("unknown principal kind '%s'" % kind)
    return PRINCIPALS[kind]


def tags_param(tags):
    """dict -> the JSON list RAM expects for its ``Tag`` parameter."""
    return [{'Key': key, 'Value': '' if value is None else str(value)} for key, value in sorted((tags or {}).items())]


# ---------------------------------------------------------------------------------- roles

@operation('read role {name}', missing=('EntityNotExist.Role',))
def get_role(ram, name):
    return ram.call('GetRole', {'RoleName': name}).get('Role') or None


@operation('list roles')
def list_roles(ram, max_items=MAX_ITEMS):
    return [role for body in marker_pages(lambda params: ram.call('ListRoles', params), {}, max_items)
            for role in listed(body, ('Roles', 'Role'))]


@operation('create role {name}', done=('EntityAlreadyExists.Role',))
def create_role(ram, name, trust_policy, description=None, max_session_duration=None, tags=None):
    """The new ``Role``; ``trust_policy`` is the JSON text to send."""
    params = {'RoleName': name, 'AssumeRolePolicyDocument': trust_policy, 'Description': description,
              'MaxSessionDuration': max_session_duration}
    if tags:
        params['Tag'] = tags_param(tags)
    return ram.call('CreateRole', params).get('Role') or {'RoleName': name}


@operation('update role {name}')
def update_role(ram, name, trust_policy=None, description=None, max_session_duration=None):
    """The updated ``Role``; only the fields given (not None) are changed."""
    params = {'RoleName': name, 'NewAssumeRolePolicyDocument': trust_policy, 'NewDescription': description,
              'NewMaxSessionDuration': max_session_duration}
    return ram.call('UpdateRole', params).get('Role') or {'RoleName': name}


@operation('delete role {name}', done=('EntityNotExist.Role',))
def delete_role(ram, name):
    ram.call('DeleteRole', {'RoleName': name})
    return True


@operation('read the tags of role {name}')
def list_role_tags(ram, name):
    """``{key: value}`` of role ``name`` (ListTagResources, all pages)."""
    tags = {}
    params = {'ResourceType': TAG_RESOURCE_TYPE, 'ResourceNames': [name]}
    for body in token_pages(lambda page: ram.call('ListTagResources', page), params):
        rows = body.get('TagResources')
        if isinstance(rows, dict):
            rows = rows.get('TagResource')
        for row in as_list(rows):
            if isinstance(row, dict) and (row.get('ResourceName') or name).lower() == name.lower() and row.get('TagKey') is not None:
                tags[row['TagKey']] = row.get('TagValue') or ''
    return tags


@operation('tag role {name}')
def tag_role(ram, name, tags):
    ram.call('TagResources', {'ResourceType': TAG_RESOURCE_TYPE, 'ResourceNames': [name], 'Tag': tags_param(tags)})
    return True


@operation('remove tags {keys} from role {name}')
def untag_role(ram, name, keys):
    ram.call('UntagResources', {'ResourceType': TAG_RESOURCE_TYPE, 'ResourceNames': [name], 'TagKeys': list(keys)})
    return True


# ---------------------------------------------------------------------------------- principals

@operation('read {kind} {name}', missing=('EntityNotExist.User', 'EntityNotExist.Group', 'EntityNotExist.Role'))
def get_principal(ram, kind, name):
    """The ``User`` / ``Group`` / ``Role`` object, or None when it does not exist."""
    wrapper, key = _principal(kind)
    return ram.call('Get' + wrapper, {key: name}).get(wrapper) or None


@operation('list the policies of {kind} {name}', missing=('EntityNotExist.User', 'EntityNotExist.Group', 'EntityNotExist.Role'))
def list_policies_for(ram, kind, name):
    """The policies attached to a principal (``PolicyName``, ``PolicyType``, ...), or None when it does not exist."""
    wrapper, key = _principal(kind)
    return listed(ram.call('ListPoliciesFor' + wrapper, {key: name}), ('Policies', 'Policy'))


@operation('attach {policy_type} policy {policy_name} to {kind} {name}', done=('EntityAlreadyExists',))
def attach_policy(ram, kind, name, policy_name, policy_type, retry_codes=()):
    """``retry_codes``: answers retried at this call, e.g. a policy created moments ago that is not visible yet."""
    wrapper, key = _principal(kind)
    ram.call('AttachPolicyTo' + wrapper, {key: name, 'PolicyName': policy_name, 'PolicyType': policy_type},
             retry_codes=retry_codes)
    return True


@operation('detach {policy_type} policy {policy_name} from {kind} {name}', done=('EntityNotExist',))
def detach_policy(ram, kind, name, policy_name, policy_type):
    wrapper, key = _principal(kind)
    ram.call('DetachPolicyFrom' + wrapper, {key: name, 'PolicyName': policy_name, 'PolicyType': policy_type})
    return True


# ---------------------------------------------------------------------------------- policies

@operation('read {policy_type} policy {name}', missing=('EntityNotExist.Policy',))
def get_policy(ram, name, policy_type='Custom'):
    """``{'Policy': {...}, 'DefaultPolicyVersion': {...}}``, or None when the policy does not exist."""
    body = ram.call('GetPolicy', {'PolicyName': name, 'PolicyType': policy_type})
    return {'Policy': body.get('Policy') or {'PolicyName': name, 'PolicyType': policy_type},
            'DefaultPolicyVersion': body.get('DefaultPolicyVersion') or {}}


@operation('create custom policy {name}', done=('EntityAlreadyExists.Policy',))
def create_policy(ram, name, document, description=None):
    """The new ``Policy``; ``document`` is the JSON text to send."""
    body = ram.call('CreatePolicy', {'PolicyName': name, 'PolicyDocument': document, 'Description': description or None})
    return body.get('Policy') or {'PolicyName': name}


@operation('delete custom policy {name}', done=('EntityNotExist.Policy',))
def delete_policy(ram, name):
    ram.call('DeletePolicy', {'PolicyName': name})
    return True


@operation('list the versions of custom policy {name}', missing=('EntityNotExist.Policy',))
def list_policy_versions(ram, name):
    """``PolicyVersion`` dicts (``VersionId``, ``IsDefaultVersion``, ``PolicyDocument``, ``CreateDate``), or None."""
    body = ram.call('ListPolicyVersions', {'PolicyName': name, 'PolicyType': 'Custom'})
    return listed(body, ('PolicyVersions', 'PolicyVersion'))


@operation('create a new version of custom policy {name}')
def create_policy_version(ram, name, document, set_as_default=True):
    # a repeat after a lost answer would add the version twice: the caller reads back instead
    body = ram.call('CreatePolicyVersion', {'PolicyName': name, 'PolicyDocument': document, 'SetAsDefault': set_as_default},
                    idempotent=False)
    return body.get('PolicyVersion') or True


@operation('make version {version_id} the default of custom policy {name}')
def set_default_policy_version(ram, name, version_id):
    ram.call('SetDefaultPolicyVersion', {'PolicyName': name, 'VersionId': version_id})
    return True


@operation('delete version {version_id} of custom policy {name}', done=('EntityNotExist',))
def delete_policy_version(ram, name, version_id):
    ram.call('DeletePolicyVersion', {'PolicyName': name, 'VersionId': version_id})
    return True


@operation('list the users, groups and roles of {policy_type} policy {name}', missing=('EntityNotExist.Policy',))
def list_entities_for_policy(ram, name, policy_type='Custom'):
    """``{'user': [names], 'group': [names], 'role': [names]}`` holding the policy, or None when it does not exist."""
    body = ram.call('ListEntitiesForPolicy', {'PolicyName': name, 'PolicyType': policy_type})
    return dict((kind, [item.get(key) for item in listed(body, (wrapper + 's', wrapper)) if item.get(key)])
                for kind, (wrapper, key) in PRINCIPALS.items())


def stored_document(document):
    """A policy document as the API stores it (JSON text) -> dict, or None when absent or unreadable."""
    if isinstance(document, dict):
        return document
    if not document:
        return None
    try:
        parsed = json.loads(document)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None
