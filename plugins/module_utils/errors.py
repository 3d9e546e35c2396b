# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Conversion of SDK exceptions into one error type, and the one redaction path for every message."""

import re
import threading

from ansible_collections.alicloud.ram.plugins.module_utils.data import to_int

REDACTED = '********'
# error bodies and other foreign text quoted in messages are cut to this many characters
MESSAGE_LIMIT = 1000


TRANSPORT_ERROR_CODE = 'ConnectionError'
TIMEOUT_ERROR_CODE = 'Timeout'
# certificate verification failed: not retried, a repeat cannot succeed
TLS_ERROR_CODE = 'TLSError'
# HTTP 200 without a body: documented for the instance RAM role APIs (the write may have taken effect)
EMPTY_ANSWER_CODE = 'EmptyAnswer'
# the endpoint answered with something that is not the API's JSON (an HTML error page, plain text, nothing)
UNEXPECTED_ANSWER_CODE = 'UnexpectedAnswer'
UNKNOWN_ERROR_CODE = 'UnknownError'

# What the service showed, carried by MetadataError.cause
ENDPOINT_OFF = 'endpoint_off'      # no answer at all, or no metadata served: endpoint disabled or not an ECS instance
ROLE_MISSING = 'role_missing'      # the service answers, and holds no such role
TOKEN_REFUSED = 'token_refused'    # the session token (or its absence) was refused
SERVICE_ERROR = 'service_error'    # any other answer: 5xx after retries, malformed or expired credentials
SETTINGS = 'settings'              # unusable endpoint, mode or token TTL: nothing was asked

# tea_openapi formats messages as "code: <status>, <server message> request id: <id>"
_SDK_MESSAGE_RE = re.compile(r'^code:\s*\d+,\s*(?P<msg>.*?)(?:\s*request id:\s*\S*)?\s*$', re.S)
# darabonba's message for a body that is not JSON
_NOT_JSON_RE = re.compile(r'^Failed to parse the value as json format, Value: "(?P<body>.*)"\.?$', re.S)

# a URL: scheme, then everything up to whitespace or a quote (user information, host, path, query, fragment)
_URL_RE = re.compile(r'(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<rest>[^\s\'"<>]*)')
# where the host and port of a URL end (after any user information)
_HOST_END_RE = re.compile(r'[/?#;]')
# TOKEN@host or user:password@host without a scheme
_BARE_USERINFO_RE = re.compile(r'(?<![\w.:/@*-])[^\s/@\'"<>]+@(?=[\w\[])')
_METADATA_TOKEN_RE = re.compile(r'(?P<name>x-aliyun-ecs-metadata-token\s*[:=]\s*)[^\s,;]+', re.I)

_known_secrets = set()
_known_lock = threading.Lock()


# shorter values are not remembered: real secrets and tokens are far longer, and a short one
# would mangle unrelated words of every later message
_REMEMBERED_MIN_LENGTH = 8


def remember_secrets(*values):
    """Add values every later :func:`redact` call removes (credentials, session tokens), for this process."""
    with _known_lock:
        _known_secrets.update(v for v in values if isinstance(v, str) and len(v) >= _REMEMBERED_MIN_LENGTH)


def redact(text, secrets=()):
    """The one redaction path: every message, warning and log line of the collection goes through it.

    Removes every known secret (:func:`remember_secrets`) and every value of ``secrets``, all of a
    URL but its scheme, host and port (:func:`_redacted_url`), ``TOKEN@`` before a host, and
    metadata session tokens.
    Values shorter than 3 characters are ignored: they cannot be real secrets and replacing
    them would mangle the message.
    """
    if text is None:
        return text
    if not isinstance(text, str):
        text = str(text)
    with _known_lock:
        values = set(_known_secrets)
    values.update(s for s in (secrets or ()) if isinstance(s, str) and len(s) >= 3)
    for secret in sorted(values, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _BARE_USERINFO_RE.sub(REDACTED + '@', _URL_RE.sub(_redacted_url, text))
    return _METADATA_TOKEN_RE.sub(lambda m: m.group('name') + REDACTED, text)


def _redacted_url(match):
    """A URL with only its scheme, host and port left: user information up to the *last* ``@`` (a password may hold
    a raw ``@``), path, parameters, query and fragment are masked."""
    rest = match.group('rest')
    userinfo, at, address = rest.rpartition('@')
    end = _HOST_END_RE.search(address)
    host, tail = (address[:end.start()], address[end.start():]) if end else (address, '')
    return match.group('scheme') + (REDACTED + '@' if at else '') + host + ('/' + REDACTED if tail.strip('/') else tail)


def trim(text, limit=MESSAGE_LIMIT):
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    text = '' if text is None else str(text)
    if len(text) <= limit:
        return text
    return '%s... (%d more characters)' % (text[:limit], len(text) - limit)


class TransportFailure(Exception):
    """Raised by the collection's HTTP transport: a whole-call timeout, or an answer that is not the API's.

    ``message`` names the endpoint (redacted by whoever shows it); ``status`` is the HTTP status
    of an unexpected answer.
    """

    def __init__(self, code, message, status=None):
        super(TransportFailure, self).__init__(message)
        self.code = code
        self.message = message
        self.status = status


class MetadataError(Exception):
    """The metadata service could not provide what was asked. Never carries a secret.

    ``cause`` is one of ENDPOINT_OFF, ROLE_MISSING, TOKEN_REFUSED, SERVICE_ERROR, SETTINGS.
    """

    def __init__(self, msg, status=None, cause=SERVICE_ERROR):
        super(MetadataError, self).__init__(msg)
        self.msg = msg
        self.status = status
        self.cause = cause


def describe_answer(status, reason, content_type, body):
    """One line for an answer that is not the API's JSON: status, content type, size and a trimmed excerpt."""
    if isinstance(body, bytes):
        size = len(body)
        body = body[:MESSAGE_LIMIT * 4].decode('utf-8', 'replace')
    else:
        body = body or ''
        size = len(body)
    label = 'HTTP %s%s' % (status, ' %s' % reason if reason else '')
    kind = content_type or 'no content type'
    if not size:
        return '%s (%s, empty body) instead of the API\'s JSON answer' % (label, kind)
    return '%s (%s, %d bytes) instead of the API\'s JSON answer: %s' % (label, kind, size, trim(_one_line(body)))


class AlicloudApiError(Exception):
    """An Alibaba Cloud API call failed (server answer or transport error)."""

    def __init__(self, code, message, request_id=None, status=None, action=None, retry_after=None, uncertain=False):
        self.code = code or UNKNOWN_ERROR_CODE
        self.message = message or ''
        self.request_id = request_id
        self.status = status
        self.action = action
        # milliseconds, only when the server asked for it (ThrottlingException)
        self.retry_after = retry_after
        # this call (this attempt or an earlier one of the same call) may have taken effect although it
        # failed: an answer lost, a 5xx, a timeout or an empty body after sending. Writes settle it by a read.
        self.uncertain = uncertain
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
            return to_int(value)
    if isinstance(data, dict) and data.get('statusCode') is not None:
        return to_int(data.get('statusCode'))
    return None


def _is_transport_wrapper(exc):
    # darabonba.exceptions.UnretryableException and Tea.exceptions.UnretryableException
    # both carry the underlying requests/aiohttp error in ``inner_exception``.
    return hasattr(exc, 'inner_exception') and any(
        cls.__name__ == 'UnretryableException' for cls in type(exc).__mro__)


def _is_tea_exception(exc):
    return any(cls.__name__ in ('TeaException', 'DaraException') for cls in type(exc).__mro__)


def _transport_error(inner, action, secrets):
    """The error for a failure below the API: our transport's, a body that is not JSON, or the network's."""
    if isinstance(inner, TransportFailure):
        return AlicloudApiError(inner.code, redact(trim(_one_line(inner.message)), secrets), status=inner.status, action=action)
    detail = _one_line(getattr(inner, 'message', None) or inner)
    not_json = _NOT_JSON_RE.match(detail)
    if not_json:
        message = 'the answer is not the API\'s JSON: %s' % trim(not_json.group('body'))
        return AlicloudApiError(UNEXPECTED_ANSWER_CODE, redact(message, secrets), action=action)
    code = getattr(inner, 'code', None) if _is_tea_exception(inner) else None
    if type(inner).__name__ == 'RetryError':
        message = 'cannot reach the API endpoint: %s' % detail
    else:
        message = '%s: %s' % (type(inner).__name__, detail)
    return AlicloudApiError(code or TRANSPORT_ERROR_CODE, redact(trim(message), secrets), action=action)


def from_sdk_exception(exc, action=None, secrets=()):
    """Convert any exception raised by an SDK call into an :class:`AlicloudApiError`."""
    if isinstance(exc, AlicloudApiError):
        if action and not exc.action:
            exc.action = action
        return exc

    if isinstance(exc, TransportFailure) or _is_transport_wrapper(exc):
        return _transport_error(getattr(exc, 'inner_exception', None) or exc, action, secrets)

    if _is_tea_exception(exc) or hasattr(exc, 'request_id'):
        data = getattr(exc, 'data', None)
        status = _status_of(exc, data)
        request_id = getattr(exc, 'request_id', None)
        if not request_id and isinstance(data, dict):
            request_id = data.get('RequestId') or data.get('requestId')
        code = getattr(exc, 'code', None)
        if code in (None, '', 'None'):
            # JSON, but not an API error (a gateway's or proxy's own answer): show what it said
            body = dict((k, v) for k, v in (data or {}).items() if k != 'statusCode') if isinstance(data, dict) else data
            return AlicloudApiError(UNEXPECTED_ANSWER_CODE, redact(trim('HTTP %s answer without an API error code: %s' % (
                status, _one_line(body))), secrets), status=status, action=action)
        message = _clean_sdk_message(getattr(exc, 'message', None), data)
        retry_after = to_int(getattr(exc, 'retry_after', None))
        return AlicloudApiError(code, redact(trim(_one_line(message)), secrets), request_id=None if request_id == 'None' else request_id,
                                status=status, action=action, retry_after=retry_after)

    message = '%s: %s' % (type(exc).__name__, _one_line(exc))
    return AlicloudApiError(UNKNOWN_ERROR_CODE, redact(trim(message), secrets), action=action)


# Error codes (substrings, lower case) meaning "this API or resource type is not offered here".
_NOT_OFFERED_MARKERS = ('invalidaction', 'invalidapi', 'unsupported', 'notsupport', 'invalidparameter.resourcetype',
                        'invalidresourcetype')


def not_offered(err):
    """Whether a failed call says the API (or its resource type) is not offered by this endpoint."""
    code = (getattr(err, 'code', None) or '').lower()
    return any(marker in code for marker in _NOT_OFFERED_MARKERS)


def may_have_taken_effect(err):
    """Whether a failed attempt may still have been carried out by the server (its answer was lost or empty)."""
    status = getattr(err, 'status', None)
    return getattr(err, 'code', None) in (TRANSPORT_ERROR_CODE, TIMEOUT_ERROR_CODE, EMPTY_ANSWER_CODE) or (
        isinstance(status, int) and status >= 500)


def format_error(err, operation):
    """One line: ``<operation> failed: <code>: <message> (request id <id>)``."""
    code = getattr(err, 'code', None) or UNKNOWN_ERROR_CODE
    message = _one_line(getattr(err, 'message', None) or '')
    text = '%s failed: %s: %s' % (operation, code, message) if message else '%s failed: %s' % (operation, code)
    request_id = getattr(err, 'request_id', None)
    if request_id:
        text += ' (request id %s)' % request_id
    return text
