# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""RAM policy documents: parse, validate, normalise, compare, show.

Two documents that differ only in key order, whitespace, statement order, a single string
versus a one-element list, or duplicate list entries are equal. ``Effect`` and ``Version``
values are compared as given.
"""

import json

MAX_POLICY_LENGTH = 6144
DEFAULT_VERSION = '1'
ECS_SERVICE = 'ecs.aliyuncs.com'
ASSUME_ROLE_ACTION = 'sts:AssumeRole'

# statement keys whose value may be a string or a list of strings
_LIST_KEYS = ('Action', 'NotAction', 'Resource', 'NotResource')
_PRINCIPAL_KEYS = ('Principal', 'NotPrincipal')


class PolicyDocumentError(ValueError):
    """The document is not a usable RAM policy document."""


def _load(value, kind='policy'):
    if isinstance(value, dict):
        return value
    if isinstance(value, (bytes, bytearray)):
        value = value.decode('utf-8')
    if not isinstance(value, str):
        raise PolicyDocumentError('the %s document must be a dict or a JSON string, not %s' % (kind, type(value).__name__))
    try:
        doc = json.loads(value)
    except ValueError as err:
        raise PolicyDocumentError('the %s document is not valid JSON: %s' % (kind, getattr(err, 'msg', err))) from None
    if not isinstance(doc, dict):
        raise PolicyDocumentError('the %s document must be a JSON object, not %s' % (kind, type(doc).__name__))
    return doc


def _is_string_or_strings(value):
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


def parse_policy_document(value, kind='policy'):
    """Parse a dict or JSON string and check its structure; return the dict."""
    doc = _load(value, kind)
    statements = doc.get('Statement')
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyDocumentError('the %s document needs a non-empty Statement list' % kind)
    for index, statement in enumerate(statements, 1):
        if not isinstance(statement, dict):
            raise PolicyDocumentError('statement %d of the %s document is not an object' % (index, kind))
        if statement.get('Effect') not in ('Allow', 'Deny'):
            raise PolicyDocumentError('statement %d of the %s document needs Effect Allow or Deny' % (index, kind))
        if not (_is_string_or_strings(statement.get('Action')) or _is_string_or_strings(statement.get('NotAction'))):
            raise PolicyDocumentError('statement %d of the %s document needs Action (a string or a list of strings)' % (index, kind))
    return doc


def to_json(doc):
    """Compact, stable JSON string: what is sent to the API."""
    return json.dumps(_load(doc), sort_keys=True, separators=(',', ':'), ensure_ascii=False)


def validate_policy_document(doc, max_length=MAX_POLICY_LENGTH, kind='policy'):
    """Parse and check ``doc``, including its size as sent; return the JSON string to send."""
    parsed = parse_policy_document(doc, kind)
    text = to_json(parsed)
    if len(text) > max_length:
        raise PolicyDocumentError('the %s document is %d characters long once compacted; the limit is %d' % (kind, len(text), max_length))
    return text


def _as_sorted_list(value):
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = [value]
    unique = []
    for item in items:
        canonical = _normalize_value(item)
        if canonical not in unique:
            unique.append(canonical)
    return sorted(unique, key=_sort_key)


def _sort_key(value):
    return json.dumps(value, sort_keys=True)


def _normalize_value(value):
    if isinstance(value, dict):
        return dict((k, _normalize_value(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_normalize_value(v) for v in value]
    return value


def _normalize_statement(statement):
    if not isinstance(statement, dict):
        return statement
    result = {}
    for key, value in statement.items():
        if key in _LIST_KEYS:
            result[key] = _as_sorted_list(value)
        elif key in _PRINCIPAL_KEYS and isinstance(value, dict):
            result[key] = dict((ptype, _as_sorted_list(pvalue)) for ptype, pvalue in value.items())
        elif key == 'Condition' and isinstance(value, dict):
            result[key] = dict(
                (operator, dict((ckey, _as_sorted_list(cvalue)) for ckey, cvalue in block.items()) if isinstance(block, dict) else block)
                for operator, block in value.items())
        else:
            result[key] = _normalize_value(value)
    return result


def normalize_policy(doc):
    """A canonical form of ``doc`` (dict or JSON string) for comparison and display."""
    doc = _load(doc)
    result = dict((k, _normalize_value(v)) for k, v in doc.items() if k != 'Statement')
    result.setdefault('Version', DEFAULT_VERSION)
    if 'Statement' in doc:
        statements = doc['Statement']
        if isinstance(statements, dict):
            statements = [statements]
        if isinstance(statements, list):
            result['Statement'] = _as_sorted_list([_normalize_statement(s) for s in statements])
        else:
            result['Statement'] = statements
    return result


def policies_equal(a, b):
    """Whether two documents (dicts or JSON strings) mean the same after normalisation."""
    if a is None or b is None:
        return a is b
    return normalize_policy(a) == normalize_policy(b)


def policy_diff_repr(doc):
    """Pretty, sorted, normalised JSON for ``--diff`` output (empty string for no document)."""
    if doc is None:
        return ''
    return json.dumps(normalize_policy(doc), sort_keys=True, indent=2, ensure_ascii=False) + '\n'


def trust_policy_for_services(services):
    """Trust policy letting the given cloud services (e.g. ``ecs.aliyuncs.com``) assume the role."""
    unique = []
    for service in services or ():
        if service not in unique:
            unique.append(service)
    return {
        'Statement': [{'Action': ASSUME_ROLE_ACTION, 'Effect': 'Allow', 'Principal': {'Service': unique}}],
        'Version': DEFAULT_VERSION,
    }


def _strings(value):
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _allows_assume_role(statement):
    if statement.get('Effect') != 'Allow':
        return False
    actions = [a.lower() for a in _strings(statement.get('Action'))]
    return any(a in ('sts:assumerole', 'sts:*', '*') for a in actions)


def trusted_services(doc):
    """Services named by an ``Allow sts:AssumeRole`` statement of a trust policy (sorted)."""
    try:
        doc = _load(doc, 'trust policy')
    except PolicyDocumentError:
        return []
    statements = doc.get('Statement')
    if isinstance(statements, dict):
        statements = [statements]
    found = set()
    for statement in statements if isinstance(statements, list) else ():
        if isinstance(statement, dict) and _allows_assume_role(statement):
            principal = statement.get('Principal')
            if isinstance(principal, dict):
                found.update(_strings(principal.get('Service')))
    return sorted(found)


def can_ecs_assume(doc):
    """Whether ECS may assume a role with this trust policy (needed to attach it to instances)."""
    return ECS_SERVICE in trusted_services(doc)
