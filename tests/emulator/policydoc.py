"""Policy document checks shared by RAM (trust and permission policies) and STS (session policies)."""

import json

from .errors import ApiError

MAX_DOCUMENT = 6144


def malformed(detail):
    return ApiError(400, 'MalformedPolicyDocument', 'The policy document is malformed: %s' % detail)


def parse(text, length_field, max_length=MAX_DOCUMENT):
    """Parse and check a policy document (at most ``max_length`` UTF-8 bytes); raise the RAM error codes on failure."""
    if len(text.encode('utf-8')) > max_length:   # documented in bytes: non-ASCII text reaches it sooner
        raise ApiError(400, 'InvalidParameter.%s.Length' % length_field, 'The parameter - "%s" beyond the length limit.' % length_field)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise malformed('invalid JSON (%s).' % exc) from None
    if not isinstance(document, dict):
        raise malformed('the document must be a JSON object.')
    version = document.get('Version', '1')
    if str(version) != '1':
        raise malformed('Version must be "1".')
    statements = document.get('Statement')
    if not isinstance(statements, list) or not statements:
        raise malformed('Statement must be a non-empty list.')
    for statement in statements:
        if not isinstance(statement, dict):
            raise malformed('every Statement item must be an object.')
        if statement.get('Effect') not in ('Allow', 'Deny'):
            raise malformed('Effect must be Allow or Deny.')
        action = statement.get('Action')
        if isinstance(action, str):
            action = [action]
        if not isinstance(action, list) or not action or not all(isinstance(a, str) and a for a in action):
            raise malformed('Action must be a string or a list of strings.')
    return document


def as_list(value):
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def action_matches(patterns, action):
    action = action.lower()
    for pattern in as_list(patterns):
        pattern = str(pattern).lower()
        if pattern == action or pattern in ('*', action.split(':')[0] + ':*'):
            return True
    return False


def trusts_service(document, service):
    """True when an Allow statement lets ``service`` (e.g. ecs.aliyuncs.com) call sts:AssumeRole."""
    for statement in document.get('Statement', []):
        if statement.get('Effect') != 'Allow' or not action_matches(statement.get('Action'), 'sts:AssumeRole'):
            continue
        principal = statement.get('Principal') or {}
        if isinstance(principal, dict) and service in [str(s).lower() for s in as_list(principal.get('Service'))]:
            return True
    return False


def trusts_ram(document, arns):
    """Decision for RAM principals: 'deny', 'allow' or None (no statement matched)."""
    wanted = {a.lower() for a in arns}
    decision = None
    for statement in document.get('Statement', []):
        if not action_matches(statement.get('Action'), 'sts:AssumeRole'):
            continue
        principal = statement.get('Principal') or {}
        if not isinstance(principal, dict):
            continue
        listed = {str(p).lower() for p in as_list(principal.get('RAM'))}
        if '*' in listed or listed & wanted:
            if statement.get('Effect') == 'Deny':
                return 'deny'
            decision = 'allow'
    return decision
