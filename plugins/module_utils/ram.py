# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""RAM helpers: name and value checks, and conversion of RAM data to module results."""

import json
import re

from ansible_collections.alicloud.ram.plugins.module_utils import ram_api
from ansible_collections.alicloud.ram.plugins.module_utils.data import as_list
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, not_offered

MIN_SESSION_DURATION = 3600
MAX_SESSION_DURATION = 43200
MAX_DESCRIPTION_LENGTH = 1024
# RAM tags (API_FACTS 4): at most 20 per resource, keys up to 128 characters, values up to 256
MAX_TAGS = 20
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
RESERVED_TAG_KEY_PREFIXES = ('acs:', 'aliyun')

_ROLE_NAME_RE = re.compile(r'[A-Za-z0-9.-]{1,64}')
_POLICY_NAME_RE = re.compile(r'[A-Za-z0-9-]{1,128}')
_USER_NAME_RE = re.compile(r'[A-Za-z0-9._-]{1,64}')
_GROUP_NAME_RE = re.compile(r'[A-Za-z0-9.-]{1,64}')


def _validate_name(value, regex, what, rule):
    if not isinstance(value, str) or not value:
        return '%s must be a non-empty string' % what
    if not regex.fullmatch(value):
        return '%s %r is invalid: %s' % (what, value, rule)
    return None


def validate_role_name(name):
    """Error message, or None when ``name`` is a valid RAM role name."""
    return _validate_name(name, _ROLE_NAME_RE, 'role name', '1 to 64 characters: letters, digits, periods (.) and hyphens (-)')


def validate_policy_name(name):
    return _validate_name(name, _POLICY_NAME_RE, 'policy name', '1 to 128 characters: letters, digits and hyphens (-)')


def validate_user_name(name):
    return _validate_name(name, _USER_NAME_RE, 'user name',
                          '1 to 64 characters: letters, digits, periods (.), underscores (_) and hyphens (-)')


def validate_group_name(name):
    return _validate_name(name, _GROUP_NAME_RE, 'group name', '1 to 64 characters: letters, digits, periods (.) and hyphens (-)')


def validate_description(description, max_length=MAX_DESCRIPTION_LENGTH):
    if description is None:
        return None
    if not isinstance(description, str):
        return 'description must be a string'
    if len(description) > max_length:
        return 'description is %d characters long; the limit is %d' % (len(description), max_length)
    return None


def validate_max_session_duration(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return 'max_session_duration must be an integer number of seconds'
    if not MIN_SESSION_DURATION <= value <= MAX_SESSION_DURATION:
        return 'max_session_duration must be between %d and %d seconds, got %d' % (MIN_SESSION_DURATION, MAX_SESSION_DURATION, value)
    return None


def tags_error(tags):
    """A message for a ``tags`` option the service would reject, or None."""
    if tags is None:
        return None
    if not isinstance(tags, dict):
        return 'tags must be a dictionary of key: value pairs'
    if len(tags) > MAX_TAGS:
        return 'a role can have at most %d tags, %d given' % (MAX_TAGS, len(tags))
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY_LENGTH:
            return 'tag key %r is invalid: a tag key is 1 to %d characters' % (key, MAX_TAG_KEY_LENGTH)
        if key.lower().startswith(RESERVED_TAG_KEY_PREFIXES):
            return "tag key '%s' is invalid: keys must not start with 'acs:' or 'aliyun'" % key
        if isinstance(value, (dict, list)):
            return "tag '%s' must have a string value" % key
        if len(tag_text(value)) > MAX_TAG_VALUE_LENGTH:
            return "the value of tag '%s' is %d characters long; the limit is %d" % (key, len(tag_text(value)), MAX_TAG_VALUE_LENGTH)
    return None


def tag_text(value):
    return '' if value is None else (str(value).lower() if isinstance(value, bool) else str(value))


def tags_from_ram(tags):
    """RAM ``Tags`` (``{"Tag": [{"TagKey", "TagValue"}]}`` or a list, Key/Value accepted) -> dict."""
    if isinstance(tags, dict):
        tags = tags.get('Tag')
    result = {}
    for tag in as_list(tags):
        if isinstance(tag, dict):
            key = tag.get('TagKey', tag.get('Key'))
            if key is not None:
                result[key] = tag.get('TagValue', tag.get('Value')) or ''
    return result


def policy_item(name, policy_type):
    """One policy in a module result: ``name``/``type`` and ``policy_name``/``policy_type`` (same values)."""
    return {'name': name, 'type': policy_type, 'policy_name': name, 'policy_type': policy_type}


def policies_to_result(policies):
    """RAM policy dicts -> :func:`policy_item` dicts sorted by type then name."""
    result = [policy_item(p.get('PolicyName'), p.get('PolicyType')) for p in as_list(policies) if isinstance(p, dict)]
    return sorted(result, key=lambda p: (p['type'] or '', (p['name'] or '').lower()))


def parse_trust_policy(text):
    """The role's AssumeRolePolicyDocument as a dict (the raw value when it is not JSON)."""
    if isinstance(text, dict) or text is None:
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def role_to_result(role, attached_policies=None, tags=None):
    """A GetRole/ListRoles ``Role`` dict -> the ``role`` result of the modules (snake_case)."""
    role = role or {}
    return {
        'role_name': role.get('RoleName'),
        'role_id': role.get('RoleId'),
        'arn': role.get('Arn'),
        'description': role.get('Description') or '',
        'assume_role_policy_document': parse_trust_policy(role.get('AssumeRolePolicyDocument')),
        'max_session_duration': role.get('MaxSessionDuration'),
        'create_date': role.get('CreateDate'),
        'update_date': role.get('UpdateDate'),
        'tags': dict(tags) if tags is not None else tags_from_ram(role.get('Tags')),
        'attached_policies': policies_to_result(attached_policies),
    }


class RoleTags(object):
    """Tags of roles: ListTagResources, or the ListRoles listing where the tag API is not offered (remembered)."""

    def __init__(self, ram):
        self.ram = ram
        self.tag_api = True

    def of(self, name):
        if self.tag_api:
            try:
                return ram_api.list_role_tags(self.ram, name)
            except AlicloudApiError as err:
                if not not_offered(err):
                    raise
                self.tag_api = False
        for listed in ram_api.list_roles(self.ram):
            if (listed.get('RoleName') or '').lower() == name.lower():
                return tags_from_ram(listed.get('Tags'))
        return {}
