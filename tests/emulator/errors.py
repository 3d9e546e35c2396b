"""API errors and request parameter helpers shared by the service implementations."""

import json
import re


class ApiError(Exception):
    """An error answered to the caller as ``{RequestId, HostId, Code, Message, Recommend}``."""

    def __init__(self, status, code, message):
        super().__init__('%s %s: %s' % (status, code, message))
        self.status = status
        self.code = code
        self.message = message


def missing(name, dotted=False):
    """MissingParameter error; ECS uses the dotted ``MissingParameter.<Name>`` form."""
    if dotted:
        return ApiError(400, 'MissingParameter.%s' % name,
                        'The input parameter %s that is mandatory for processing this request is missing.' % name)
    return ApiError(400, 'MissingParameter',
                    'The input parameter "%s" that is mandatory for processing this request is not supplied.' % name)


def invalid(name, message=None, status=400):
    """``InvalidParameter.<Name>`` error."""
    return ApiError(status, 'InvalidParameter.%s' % name, message or 'The parameter - "%s" is incorrect.' % name)


class Params:
    """Decoded request parameters with typed accessors that raise the service's errors."""

    def __init__(self, values, dotted_missing=False):
        self.values = values
        self.dotted_missing = dotted_missing

    def __contains__(self, name):
        return self.values.get(name) not in (None, '')

    def text(self, name, required=False, default=None):
        value = self.values.get(name)
        if value is None or value == '':
            if required:
                raise missing(name, self.dotted_missing)
            return default
        return value

    def integer(self, name, default=None, low=None, high=None, code=None, message=None):
        value = self.values.get(name)
        if value is None or value == '':
            return default
        try:
            number = int(value)
        except ValueError:
            raise invalid(code or name, message) from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise invalid(code or name, message)
        return number

    def boolean(self, name, default=False):
        value = self.values.get(name)
        if value is None or value == '':
            return default
        lowered = str(value).strip().lower()
        if lowered in ('true', '1', 'yes'):
            return True
        if lowered in ('false', '0', 'no'):
            return False
        raise invalid(name, 'The parameter - "%s" must be a boolean.' % name)

    def json_list(self, name, default=None, error=None):
        value = self.values.get(name)
        if value is None or value == '':
            return default
        try:
            parsed = json.loads(value)
        except ValueError:
            raise (error or invalid(name, 'The parameter - "%s" is not a valid JSON array.' % name)) from None
        if not isinstance(parsed, list):
            raise error or invalid(name, 'The parameter - "%s" is not a valid JSON array.' % name)
        return parsed


def check_name(value, field, max_length, pattern):
    """RAM name rules: ``InvalidParameter.<Field>.Length`` / ``.InvalidChars``."""
    if len(value) > max_length:
        raise ApiError(400, 'InvalidParameter.%s.Length' % field, 'The parameter - "%s" beyond the length limit.' % field)
    if not re.fullmatch(pattern, value):
        raise ApiError(400, 'InvalidParameter.%s.InvalidChars' % field, 'The parameter - "%s" contains invalid chars.' % field)
    return value
