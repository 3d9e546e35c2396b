# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Conversion of SDK exceptions into one error type, and secret redaction."""

import re

REDACTED = '********'

# Codes (prefixes) that mean "the thing you asked about does not exist".
NOT_FOUND_PREFIXES = (
    'EntityNotExist',
    'InvalidRamRole.NotFound',
    'InvalidInstanceId.NotFound',
)
# 404 answers that are not about a missing entity: never treat them as "absent".
NOT_FOUND_EXCLUDED = (
    'InvalidAccessKeyId.NotFound',
    'InvalidRamRole.NotEcsRole',
)
ALREADY_EXISTS_PREFIXES = ('EntityAlreadyExists',)

TRANSPORT_ERROR_CODE = 'ConnectionError'
UNKNOWN_ERROR_CODE = 'UnknownError'

# tea_openapi formats messages as "code: <status>, <server message> request id: <id>"
_SDK_MESSAGE_RE = re.compile(r'^code:\s*\d+,\s*(?P<msg>.*?)(?:\s*request id:\s*\S*)?\s*$', re.S)


class AlicloudApiError(Exception):
    """An Alibaba Cloud API call failed (server answer or transport error)."""

    def __init__(self, code, message, request_id=None, status=None, action=None, retry_after=None):
        self.code = code or UNKNOWN_ERROR_CODE
        self.message = message or ''
        self.request_id = request_id
        self.status = status
        self.action = action
        # milliseconds, only when the server asked for it (ThrottlingException)
        self.retry_after = retry_after
        # set by ServiceClient.call: an earlier attempt of the same call may have taken effect
        self.after_lost_reply = False
        # set by the service layer: the text naming the operation in messages
        self.operation = None
        super(AlicloudApiError, self).__init__(self.__str__())

    def to_dict(self):
        return {
            'code': self.code,
            'message': self.message,
            'request_id': self.request_id,
            'status': self.status,
        }

    def __str__(self):
        text = '%s: %s' % (self.code, self.message)
        if self.request_id:
            text += ' (request id %s)' % self.request_id
        return text

    def __repr__(self):
        return 'AlicloudApiError(action=%r, code=%r, status=%r, request_id=%r)' % (
            self.action, self.code, self.status, self.request_id)


def redact(text, secrets):
    """Replace every secret value found in ``text`` by a placeholder.

    Values shorter than 3 characters are ignored: they cannot be real secrets and
    replacing them would mangle the message.
    """
    if text is None:
        return text
    if not isinstance(text, str):
        text = str(text)
    for secret in sorted((s for s in (secrets or ()) if isinstance(s, str) and len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _one_line(text):
    return ' '.join(str(text).split())


def _clean_sdk_message(message, data):
    if message:
        match = _SDK_MESSAGE_RE.match(str(message))
        if match:
            message = match.group('msg').strip()
    if not message and isinstance(data, dict):
        message = data.get('Message') or data.get('message')
    return message or ''


def _status_of(exc, data):
    for attr in ('status_code', 'statusCode'):
        value = getattr(exc, attr, None)
        if value is not None:
            return _to_int(value)
    if isinstance(data, dict) and data.get('statusCode') is not None:
        return _to_int(data.get('statusCode'))
    return None


def _to_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _is_transport_wrapper(exc):
    # darabonba.exceptions.UnretryableException and Tea.exceptions.UnretryableException
    # both carry the underlying requests/aiohttp error in ``inner_exception``.
    return hasattr(exc, 'inner_exception') and any(
        cls.__name__ == 'UnretryableException' for cls in type(exc).__mro__)


def _is_tea_exception(exc):
    return any(cls.__name__ in ('TeaException', 'DaraException') for cls in type(exc).__mro__)


def from_sdk_exception(exc, action=None, secrets=()):
    """Convert any exception raised by an SDK call into an :class:`AlicloudApiError`."""
    if isinstance(exc, AlicloudApiError):
        if action and not exc.action:
            exc.action = action
        return exc

    if _is_transport_wrapper(exc):
        inner = getattr(exc, 'inner_exception', None) or exc
        code = getattr(inner, 'code', None) if _is_tea_exception(inner) else None
        detail = getattr(inner, 'message', None) or inner
        message = 'cannot reach the API endpoint: %s' % _one_line(detail) if type(inner).__name__ == 'RetryError' else \
            '%s: %s' % (type(inner).__name__, _one_line(detail))
        return AlicloudApiError(code or TRANSPORT_ERROR_CODE, redact(message, secrets), action=action)

    if _is_tea_exception(exc) or hasattr(exc, 'request_id'):
        data = getattr(exc, 'data', None)
        status = _status_of(exc, data)
        request_id = getattr(exc, 'request_id', None)
        if not request_id and isinstance(data, dict):
            request_id = data.get('RequestId') or data.get('requestId')
        message = _clean_sdk_message(getattr(exc, 'message', None), data)
        code = getattr(exc, 'code', None) or UNKNOWN_ERROR_CODE
        retry_after = _to_int(getattr(exc, 'retry_after', None))
        return AlicloudApiError(code, redact(_one_line(message), secrets), request_id=request_id,
                                status=status, action=action, retry_after=retry_after)

    message = '%s: %s' % (type(exc).__name__, _one_line(exc))
    return AlicloudApiError(UNKNOWN_ERROR_CODE, redact(message, secrets), action=action)


def _code_startswith(code, prefixes):
    code = code or ''
    return any(code.startswith(p) for p in prefixes)


def is_not_found(err):
    """True when the API says the entity does not exist (HTTP 404 or a not-found code)."""
    code = getattr(err, 'code', None) or ''
    if code in NOT_FOUND_EXCLUDED:
        return False
    if _code_startswith(code, NOT_FOUND_PREFIXES):
        return True
    return getattr(err, 'status', None) == 404


def is_already_exists(err):
    """True when the API says the entity (or attachment) already exists."""
    return _code_startswith(getattr(err, 'code', None), ALREADY_EXISTS_PREFIXES)


def may_have_taken_effect(err):
    """Whether a failed attempt may still have been carried out by the server (its answer was lost)."""
    status = getattr(err, 'status', None)
    return getattr(err, 'code', None) == TRANSPORT_ERROR_CODE or (isinstance(status, int) and status >= 500)


def format_error(err, operation):
    """One line: ``<operation> failed: <code>: <message> (request id <id>)``."""
    code = getattr(err, 'code', None) or UNKNOWN_ERROR_CODE
    message = _one_line(getattr(err, 'message', None) or '')
    text = '%s failed: %s: %s' % (operation, code, message) if message else '%s failed: %s' % (operation, code)
    request_id = getattr(err, 'request_id', None)
    if request_id:
        text += ' (request id %s)' % request_id
    return text
