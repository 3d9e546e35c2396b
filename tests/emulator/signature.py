"""Request authentication: ACS3-HMAC-SHA256 (signature V3) and the legacy HMAC-SHA1 V1 scheme."""

import base64
import calendar
import hashlib
import hmac
import threading
import time
from urllib.parse import quote, quote_plus

from .errors import ApiError

ALGORITHM = 'ACS3-HMAC-SHA256'
SKEW_SECONDS = 15 * 60
V1_PARAMS = ('Signature', 'SignatureMethod', 'SignatureVersion', 'SignatureNonce', 'SignatureType',
             'Timestamp', 'AccessKeyId', 'SecurityToken', 'Format', 'Action', 'Version')


def incomplete(detail=None):
    message = 'The request signature does not conform to Aliyun standards.'
    if detail:
        message += ' ' + detail
    return ApiError(400, 'IncompleteSignature', message)


def mismatch(string_to_sign=None, canonical=None):
    message = 'Specified signature does not match our calculation.'
    if string_to_sign is not None:
        message += ' server string to sign is:%s' % string_to_sign.replace('\n', '\\n')
    if canonical is not None:
        message += ' server canonical request is:%s' % canonical.replace('\n', '\\n')
    return ApiError(400, 'SignatureDoesNotMatch', message)


class NonceCache:
    """Remembers signature nonces for the allowed clock skew window."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen = {}

    def use(self, nonce, now=None):
        now = now or time.time()
        with self._lock:
            if len(self._seen) > 10000:
                self._seen = {k: v for k, v in self._seen.items() if now - v < SKEW_SECONDS}
            if nonce in self._seen and now - self._seen[nonce] < SKEW_SECONDS:
                raise ApiError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.')
            self._seen[nonce] = now

    def clear(self):
        with self._lock:
            self._seen.clear()


def parse_authorization(header):
    """Split ``ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`` into a dict."""
    try:
        algorithm, rest = header.strip().split(' ', 1)
        parts = dict(item.strip().split('=', 1) for item in rest.split(','))
    except ValueError:
        raise incomplete('The Authorization header is malformed.') from None
    if algorithm != ALGORITHM:
        raise incomplete('Unsupported signature algorithm %s.' % algorithm)
    for key in ('Credential', 'SignedHeaders', 'Signature'):
        if not parts.get(key):
            raise incomplete('The Authorization header lacks %s.' % key)
    return parts


def canonical_query(pairs):
    """Sorted ``key=value`` pairs, RFC 3986 encoded (space as %20, ``~`` kept)."""
    encoded = sorted((quote(k, safe='~'), quote(v, safe='~')) for k, v in pairs)
    return '&'.join('%s=%s' % kv for kv in encoded)


def v3_string_to_sign(method, path, pairs, headers, signed_headers, payload_hash):
    names = signed_headers.split(';')
    canonical_headers = ''.join('%s:%s\n' % (name, headers.get(name, '').strip()) for name in names)
    canonical = '\n'.join([method, path or '/', canonical_query(pairs), canonical_headers, signed_headers, payload_hash])
    return ALGORITHM + '\n' + hashlib.sha256(canonical.encode('utf-8')).hexdigest(), canonical


def parse_date(value, fmt='%Y-%m-%dT%H:%M:%SZ'):
    try:
        return calendar.timegm(time.strptime(value, fmt))
    except (TypeError, ValueError):
        return None


def check_skew(stamp, now):
    if stamp is None:
        raise ApiError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.')
    if abs(now - stamp) > SKEW_SECONDS:
        raise ApiError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.')


def verify_v3(method, path, pairs, headers, body, lookup, nonces, now=None):
    """Verify a V3 request. ``headers`` has lower-case names. Returns (access_key_id, token)."""
    now = now or time.time()
    parts = parse_authorization(headers.get('authorization', ''))
    access_key_id = parts['Credential']
    signed = parts['SignedHeaders']
    names = signed.split(';')
    for required in ('x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256'):
        if required not in names or not headers.get(required):
            raise incomplete('The header %s must be present and signed.' % required)
    secret = lookup(access_key_id)
    payload_hash = hashlib.sha256(body).hexdigest()
    if headers['x-acs-content-sha256'].strip().lower() != payload_hash:
        raise mismatch()
    string_to_sign, canonical = v3_string_to_sign(method, path, pairs, headers, signed, payload_hash)
    expected = hmac.new(secret.encode('utf-8'), string_to_sign.encode('utf-8'), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts['Signature'].strip().lower()):
        raise mismatch(string_to_sign, canonical)
    check_skew(parse_date(headers['x-acs-date'].strip()), now)
    nonces.use(headers['x-acs-signature-nonce'].strip(), now)
    header_ak = headers.get('x-acs-accesskey-id')
    if header_ak and header_ak != access_key_id:
        raise ApiError(400, 'InvalidAccessKeyId.Inconsistent', 'The x-acs-accesskey-id header differs from the signing AccessKeyId.')
    return access_key_id, headers.get('x-acs-security-token')


def _v1_string_to_sign(method, params, encoder):
    canonical = '&'.join('%s=%s' % (encoder(k), encoder(v)) for k, v in sorted(params.items()) if k != 'Signature')
    return method + '&' + encoder('/') + '&' + encoder(canonical)


def verify_v1(method, params, lookup, nonces, now=None):
    """Verify an HMAC-SHA1 request (both quote and quote_plus encodings). Returns (access_key_id, token)."""
    now = now or time.time()
    access_key_id = params.get('AccessKeyId')
    if not access_key_id:
        raise missing_v1('AccessKeyId')
    for name in ('SignatureNonce', 'Timestamp'):
        if not params.get(name):
            raise missing_v1(name)
    if params.get('SignatureMethod', 'HMAC-SHA1') != 'HMAC-SHA1':
        raise ApiError(400, 'InvalidSignatureMethod', 'Specified signature method is not supported.')
    secret = lookup(access_key_id)
    key = (secret + '&').encode('utf-8')
    given = params['Signature']
    ok = False
    for encoder in (lambda s: quote(s, safe='~'), lambda s: quote_plus(s, safe='~')):
        digest = hmac.new(key, _v1_string_to_sign(method, params, encoder).encode('utf-8'), hashlib.sha1).digest()
        if hmac.compare_digest(base64.b64encode(digest).decode('ascii'), given):
            ok = True
            break
    if not ok:
        raise mismatch()
    stamp = parse_date(params['Timestamp'])
    if stamp is None:
        stamp = parse_date(params['Timestamp'], '%Y-%m-%dT%H:%M:%S.%fZ')
    check_skew(stamp, now)
    nonces.use(params['SignatureNonce'], now)
    return access_key_id, params.get('SecurityToken')


def missing_v1(name):
    return ApiError(400, 'MissingParameter', 'The input parameter "%s" that is mandatory for processing this request is not supplied.' % name)
