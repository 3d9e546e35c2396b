# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""RAM policy documents: parse, check against the RAM policy grammar, normalise, compare, show.

Documents are checked as RAM checks them (``MalformedPolicyDocument``), no stricter:

* top level: ``Version`` (``"1"``; added when missing) and ``Statement`` (a non-empty list of
  statements, or one statement), nothing else;
* a statement: ``Effect`` (``Allow`` | ``Deny``), exactly one of ``Action`` / ``NotAction``,
  ``Resource`` / ``NotResource`` (exactly one in a permission policy, at most one in a trust
  policy), optional ``Condition`` (``{operator: {key: value or [values]}}``) and, in trust
  policies only, ``Principal`` (``{"RAM" | "Service" | "Federated": name or [names]}``);
  ``Action``, ``Resource`` and principal names are a string or a list of non-empty strings;
* a JSON text may name a key only once per object (``json`` would silently keep the last one);
* the size limit applies to the compact JSON text that is sent.

Two documents that differ only in key order, whitespace, statement order, a single string
versus a one-element list, or duplicate list entries are equal. ``Effect`` values are compared
as given.
"""

import json

MAX_POLICY_LENGTH = 6144
DEFAULT_VERSION = '1'
ECS_SERVICE = 'ecs.aliyuncs.com'
ASSUME_ROLE_ACTION = 'sts:AssumeRole'

# statement keys whose value may be a string or a list of strings
_LIST_KEYS = ('Action', 'NotAction', 'Resource', 'NotResource')
_PRINCIPAL_KEYS = ('Principal', 'NotPrincipal')
_TOP_LEVEL_KEYS = ('Version', 'Statement')
_STATEMENT_KEYS = ('Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition')
_PRINCIPAL_TYPES = ('RAM', 'Service', 'Federated')
_EFFECTS = ('Allow', 'Deny')
_CONDITION_VALUE_TYPES = (str, int, float, bool)


class PolicyDocumentError(ValueError):
    """The document is not a usable RAM policy document."""


def _version(value):
    """``Version`` as RAM stores it: a missing one (or the number 1 of a YAML ``Version: 1``) is ``"1"``."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value == 1):
        return DEFAULT_VERSION
    return value


def _decode(value, kind, strict):
    if isinstance(value, (bytes, bytearray)):
        value = value.decode('utf-8')
    if not isinstance(value, str):
        raise PolicyDocumentError('the %s document must be a dict or a JSON string, not %s' % (kind, type(value).__name__))

    def unique_keys(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                raise PolicyDocumentError('the %s document names the key "%s" twice in one JSON object' % (kind, key))
            seen.add(key)
        return dict(pairs)

    def no_constant(name):
        raise PolicyDocumentError('the %s document is not valid JSON: %s is not a JSON value' % (kind, name))

    hooks = {'object_pairs_hook': unique_keys, 'parse_constant': no_constant} if strict else {}
    try:
        return json.loads(value, **hooks)
    except ValueError as err:
        if isinstance(err, PolicyDocumentError):
            raise
        raise PolicyDocumentError('the %s document is not valid JSON: %s' % (kind, getattr(err, 'msg', err))) from None


def _load(value, kind='policy', strict=False):
    doc = value if isinstance(value, dict) else _decode(value, kind, strict)
    if not isinstance(doc, dict):
        raise PolicyDocumentError('the %s document must be a JSON object, not %s' % (kind, type(doc).__name__))
    return doc


def _statements(doc):
    statements = doc.get('Statement')
    return [statements] if isinstance(statements, dict) else statements


def _check_strings(value, where, key):
    if isinstance(value, str):
        if not value:
            raise PolicyDocumentError('%s: %s must not be an empty string' % (where, key))
        return
    if not isinstance(value, list) or not value:
        raise PolicyDocumentError('%s: %s must be a string or a non-empty list of strings' % (where, key))
    if not all(isinstance(item, str) and item for item in value):
        raise PolicyDocumentError('%s: every item of %s must be a non-empty string' % (where, key))


def _check_one_of(statement, keys, where, required):
    given = [key for key in keys if key in statement]
    if len(given) > 1:
        raise PolicyDocumentError('%s: give either %s or %s, not both' % (where, keys[0], keys[1]))
    if required and not given:
        raise PolicyDocumentError('%s: %s (or %s) is required' % (where, keys[0], keys[1]))
    for key in given:
        _check_strings(statement[key], where, key)


def _check_condition(condition, where):
    example = '{"StringEquals": {"acs:SourceVpc": ["vpc-123"]}}'
    if not isinstance(condition, dict):
        raise PolicyDocumentError('%s: Condition must be an object of operators, for example %s' % (where, example))
    for operator, block in condition.items():
        if not operator:
            raise PolicyDocumentError('%s: a Condition operator must not be empty' % where)
        if not isinstance(block, dict):
            raise PolicyDocumentError('%s: Condition operator %s must map condition keys to values, for example %s'
                                      % (where, operator, example))
        for key, values in block.items():
            if not key:
                raise PolicyDocumentError('%s: a condition key of %s must not be empty' % (where, operator))
            if not all(isinstance(v, _CONDITION_VALUE_TYPES) for v in (values if isinstance(values, list) else [values])):
                raise PolicyDocumentError('%s: condition %s %s takes a string, number or boolean, or a list of them'
                                          % (where, operator, key))


def _check_principal(principal, where):
    if principal == '*':
        return
    if not isinstance(principal, dict) or not principal:
        raise PolicyDocumentError('%s: Principal must be an object such as {"Service": ["%s"]}' % (where, ECS_SERVICE))
    for principal_type, names in principal.items():
        if principal_type not in _PRINCIPAL_TYPES:
            raise PolicyDocumentError('%s: unknown principal type %s; use %s' % (where, principal_type, ', '.join(_PRINCIPAL_TYPES)))
        _check_strings(names, where, 'Principal %s' % principal_type)


def _check_statement(statement, where, trust):
    if not isinstance(statement, dict):
        raise PolicyDocumentError('%s is not an object' % where)
    allowed = _STATEMENT_KEYS + (('Principal',) if trust else ())
    unknown = sorted(key for key in statement if key not in allowed)
    if unknown:
        if unknown == ['Principal']:
            raise PolicyDocumentError('%s: Principal is used only in trust policies' % where)
        raise PolicyDocumentError('%s: unknown key %s; a statement takes %s' % (where, ', '.join(unknown), ', '.join(allowed)))
    if statement.get('Effect') not in _EFFECTS:
        raise PolicyDocumentError('%s: Effect must be Allow or Deny' % where)
    _check_one_of(statement, ('Action', 'NotAction'), where, required=True)
    _check_one_of(statement, ('Resource', 'NotResource'), where, required=not trust)
    if 'Condition' in statement:
        _check_condition(statement['Condition'], where)
    if trust:
        if 'Principal' not in statement:
            raise PolicyDocumentError('%s: Principal is required, for example {"Service": ["%s"]}' % (where, ECS_SERVICE))
        _check_principal(statement['Principal'], where)


def parse_policy_document(value, kind='policy'):
    """Parse a dict or JSON text and check it against the RAM grammar; return it as it is sent (see ``policy_text``).

    ``kind``: ``'policy'`` (a permission policy) or ``'trust policy'`` (a role's trust policy,
    which names a ``Principal`` and needs no ``Resource``).
    """
    doc = _load(value, kind, strict=True)
    unknown = sorted(key for key in doc if key not in _TOP_LEVEL_KEYS)
    if unknown:
        raise PolicyDocumentError('the %s document has the unknown key %s; it takes Version and Statement only' % (kind, ', '.join(unknown)))
    if _version(doc.get('Version')) != DEFAULT_VERSION:
        raise PolicyDocumentError('the %s document has Version %s; RAM accepts only "%s"' % (kind, json.dumps(doc['Version']), DEFAULT_VERSION))
    statements = _statements(doc)
    if not isinstance(statements, list) or not statements:
        raise PolicyDocumentError('the %s document needs a non-empty Statement list' % kind)
    for index, statement in enumerate(statements, 1):
        _check_statement(statement, 'statement %d of the %s document' % (index, kind), 'trust' in kind)
    return _sendable(doc)


def to_json(doc):
    """Compact, stable JSON text of ``doc`` (dict or JSON text)."""
    return json.dumps(_load(doc), sort_keys=True, separators=(',', ':'), ensure_ascii=False)


def _sendable(doc):
    """A copy of ``doc`` as it is sent: ``Version`` filled in, a single statement as a list of one."""
    doc = dict(doc)
    doc['Version'] = _version(doc.get('Version'))
    if isinstance(doc.get('Statement'), dict):
        doc['Statement'] = [doc['Statement']]
    return doc


def policy_text(doc):
    """The JSON text sent to the API for a wanted document (dict or JSON text)."""
    return to_json(_sendable(_load(doc)))


def validate_policy_document(doc, max_length=MAX_POLICY_LENGTH, kind='policy'):
    """Parse and check ``doc``, including its size as sent (UTF-8 bytes, as RAM counts it); return the JSON text to send."""
    text = to_json(parse_policy_document(doc, kind))
    size = len(text.encode('utf-8'))
    if size > max_length:
        raise PolicyDocumentError('the %s document is %d bytes long once compacted (UTF-8); the limit is %d bytes' % (kind, size, max_length))
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
    result['Version'] = _version(doc.get('Version'))
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
