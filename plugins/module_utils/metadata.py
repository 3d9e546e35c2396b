# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Client for the ECS instance metadata service (RAM role credentials).

Used by the ``ecs_role_name`` credential source and by the ``metadata_credentials`` lookup, which
both build their client with :func:`metadata_client_for`.
"""

import calendar
import json
import os
import time

from http.client import HTTPException, RemoteDisconnected
from urllib.parse import quote

from ansible_collections.alicloud.ram.plugins.module_utils import endpoints, transport
from ansible_collections.alicloud.ram.plugins.module_utils import network as netconf
from ansible_collections.alicloud.ram.plugins.module_utils.data import truthy
from ansible_collections.alicloud.ram.plugins.module_utils.errors import (  # noqa: F401 pylint: disable=unused-import
    ENDPOINT_OFF,
    ROLE_MISSING,
    SERVICE_ERROR,
    SETTINGS,
    TOKEN_REFUSED,
    MetadataError,
    redact,
    remember_secrets,
)
from ansible_collections.alicloud.ram.plugins.module_utils.retries import backoff_loop

DEFAULT_ENDPOINT = endpoints.DEFAULT_METADATA_ENDPOINT
MODES = ('auto', 'hardened', 'plain')
IMDSV1_DISABLED_ENV = 'ALIBABA_CLOUD_IMDSV1_DISABLED'
DEFAULT_TIMEOUT = 1.0
DEFAULT_RETRIES = 3
TOKEN_PATH = '/latest/api/token'
CREDENTIALS_PATH = '/latest/meta-data/ram/security-credentials/'
REGION_PATH = '/latest/meta-data/region-id'
# served by every instance whose metadata endpoint is on: tells "role missing" from "endpoint off"
INSTANCE_ID_PATH = '/latest/meta-data/instance-id'
TOKEN_TTL_HEADER = 'X-aliyun-ecs-metadata-token-ttl-seconds'
TOKEN_HEADER = 'X-aliyun-ecs-metadata-token'
MAX_TOKEN_TTL = 21600
EXPIRATION_FORMAT = '%Y-%m-%dT%H:%M:%SZ'

_ENDPOINT_OFF_HINT = ('the metadata endpoint of this instance is disabled (HttpEndpoint=disabled, see '
                      'alicloud.ram.ecs_instance_metadata_options) or this host is not an ECS instance (elsewhere point '
                      'metadata_endpoint or ALIBABA_CLOUD_METADATA_ENDPOINT at an emulator)')


def metadata_client_for(options, env=None, **settings):
    """The one way to build a :class:`MetadataClient`: the credential chain and the lookup both use it.

    From ``options``: ``metadata_endpoint`` (else ``ALIBABA_CLOUD_METADATA_ENDPOINT``, else the
    real address), the proxy and TLS options, and ``imds_mode`` (``auto`` when unset, which
    ``ALIBABA_CLOUD_IMDSV1_DISABLED=true`` turns into ``hardened``). ``settings`` go to the
    client as they are (``token_ttl``, ``timeout``, ``retries``; tests add ``opener``, ``clock``).
    Raises :class:`MetadataError` (cause SETTINGS) for unusable settings.
    """
    environ = os.environ if env is None else env
    try:
        endpoint = endpoints.resolve_metadata_endpoint(options, environ)
        network = netconf.resolve_network(options, environ)
    except (endpoints.EndpointError, netconf.NetworkError) as err:
        raise MetadataError(str(err), cause=SETTINGS) from None
    mode = options.get('imds_mode') or 'auto'
    if mode == 'auto' and truthy(environ.get(IMDSV1_DISABLED_ENV)):
        mode = 'hardened'
    return MetadataClient(endpoint=endpoint, mode=mode, network=network, **settings)


def parse_expiration(value):
    """``2024-11-08T09:44:50Z`` -> seconds since the epoch (UTC); None when unparsable."""
    try:
        return calendar.timegm(time.strptime(value, EXPIRATION_FORMAT))
    except (TypeError, ValueError):
        return None


class MetadataClient(object):
    """Read RAM role credentials from the metadata service.

    ``mode``: ``hardened`` always uses a session token; ``plain`` never does; ``auto`` uses a
    token when the service offers one (PUT answered 200) and falls back to plain requests only
    when the token endpoint is not offered (404, 405, 501), never after 401/403.
    """

    def __init__(self, endpoint=DEFAULT_ENDPOINT, mode='auto', token_ttl=MAX_TOKEN_TTL, timeout=DEFAULT_TIMEOUT,
                 retries=DEFAULT_RETRIES, sleep=time.sleep, opener=None, clock=time.time, backoff=0.2, network=None):
        if mode not in MODES:
            raise MetadataError("imds_mode must be one of %s, got '%s'" % (', '.join(MODES), mode), cause=SETTINGS)
        try:
            token_ttl = int(token_ttl)
        except (TypeError, ValueError):
            token_ttl = 0
        if not 1 <= token_ttl <= MAX_TOKEN_TTL:
            raise MetadataError('token_ttl must be between 1 and %d seconds' % MAX_TOKEN_TTL, cause=SETTINGS)
        self.endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip('/')
        self.mode = mode
        self.token_ttl = token_ttl
        self.timeout = timeout
        self.retries = max(0, int(retries or 0))
        self._sleep = sleep
        self.network = network or netconf.NO_NETWORK_SETTINGS
        self._opener = opener or (lambda method, url, headers, timeout: transport.http_request(method, url, headers, timeout, self.network))
        self._clock = clock
        self._backoff = backoff
        self._token = None
        self._token_valid_until = 0
        self._token_unsupported = False
        self.requests = 0

    # -- transport -------------------------------------------------------------------------

    def describe(self):
        """Where the requests go, for -vvv output: the endpoint and the proxy used (or why none)."""
        proxy, why = netconf.proxy_for(self.endpoint, self.network)
        return redact('%s, %s' % (self.endpoint, 'through proxy %s (%s)' % (proxy, why) if proxy else 'direct (%s)' % why))

    def _request(self, method, path, headers=None):
        """One logical request with retries on connection errors, timeouts and 5xx (501 excepted)."""
        url = self.endpoint + path

        def step():
            self.requests += 1
            try:
                return self._opener(method, url, dict(headers or {}), self.timeout), None
            except (HTTPException, OSError, ValueError) as err:
                return None, err

        def next_delay(attempt, outcome):
            answer, err = outcome
            if attempt >= self.retries or (err is None and not (answer[0] >= 500 and answer[0] != 501)):
                return None
            return min(5.0, self._backoff * (2 ** attempt))

        answer, err = backoff_loop(step, next_delay, self._sleep)
        if err is not None:
            raise MetadataError('%s: %s' % (self._no_answer(err), _ENDPOINT_OFF_HINT), cause=ENDPOINT_OFF) from None
        status, body = answer
        if isinstance(body, bytes):
            body = body.decode('utf-8', 'replace')
        return status, body or ''

    def _no_answer(self, err):
        """What became of a request that got no answer (never the URL: it may carry a password)."""
        reason = getattr(err, 'reason', None)
        cause = reason if isinstance(reason, BaseException) else err
        if isinstance(cause, TimeoutError):
            return 'the metadata service at %s sent no complete answer within %gs (timeout)' % (self.endpoint, self.timeout)
        if isinstance(cause, ConnectionRefusedError):
            how = 'connection refused'
        elif isinstance(cause, (RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
            how = 'connection closed without an answer'
        else:
            how = '%s: %s' % (type(cause).__name__, reason or err)
        return 'cannot reach the metadata service at %s (%s)' % (self.endpoint, how)

    def _fetch_token(self):
        status, body = self._request('PUT', TOKEN_PATH, {TOKEN_TTL_HEADER: str(self.token_ttl)})
        if status == 200 and body.strip():
            self._token = body.strip()
            remember_secrets(self._token)
            margin = min(60, self.token_ttl // 10)
            self._token_valid_until = self._clock() + self.token_ttl - margin
            return self._token
        if status in (404, 405, 501):
            if self.mode == 'auto':
                self._token_unsupported = True
                return None
            raise MetadataError('the metadata service at %s does not offer session tokens (HTTP %d), '
                                'but imds_mode is hardened' % (self.endpoint, status), status=status, cause=TOKEN_REFUSED)
        if status in (401, 403):
            raise MetadataError('the metadata service refused a session token (HTTP %d); requests through a proxy '
                                '(X-Forwarded-For) are rejected' % status, status=status, cause=TOKEN_REFUSED)
        if status == 400:
            raise MetadataError('the metadata service refused a session token (HTTP 400): token_ttl %d is not '
                                'accepted' % self.token_ttl, status=status, cause=TOKEN_REFUSED)
        raise MetadataError('the metadata service answered HTTP %d to the session token request' % status, status=status)

    def _current_token(self):
        if self.mode == 'plain' or self._token_unsupported:
            return None
        if self._token and self._clock() < self._token_valid_until:
            return self._token
        self._token = None
        return self._fetch_token()

    def get(self, path):
        """GET ``path``; return ``(status, text)``; handles the token (and one 401 refresh)."""
        for attempt in range(2):
            token = self._current_token()
            headers = {TOKEN_HEADER: token} if token else {}
            status, body = self._request('GET', path, headers)
            if status == 401 and token and attempt == 0:
                # token expired or revoked early: get a fresh one once
                self._token = None
                continue
            if status == 401:
                raise MetadataError('the metadata service rejected the session token (HTTP 401)', status=status, cause=TOKEN_REFUSED)
            if status == 403 and not token:
                raise MetadataError('the metadata service refused a request without a session token (HTTP 403); '
                                    'the instance enforces hardened mode: use imds_mode auto or hardened', status=status,
                                    cause=TOKEN_REFUSED)
            return status, body
        raise MetadataError('the metadata service rejected the session token (HTTP 401)', status=401,
                            cause=TOKEN_REFUSED)  # pragma: no cover

    # -- RAM role credentials --------------------------------------------------------------

    def role_name(self):
        """Name of the RAM role attached to this instance."""
        status, body = self.get(CREDENTIALS_PATH)
        if status == 404:
            raise self._not_found('no RAM role is attached to this instance (the metadata service answered 404)')
        if status != 200:
            raise MetadataError('the metadata service answered HTTP %d while discovering the instance RAM role' % status,
                                status=status)
        names = [line.strip() for line in body.splitlines() if line.strip()]
        if not names:
            raise MetadataError('no RAM role is attached to this instance (empty answer from the metadata service)',
                                status=status, cause=ROLE_MISSING)
        return names[0]

    def _not_found(self, msg):
        """The error for a 404 on a RAM role path, after asking for instance-id to tell why.

        A service that serves instance-id lacks only the role; one that serves nothing at all
        does not serve this host (its metadata endpoint is off).
        """
        try:
            status = self.get(INSTANCE_ID_PATH)[0]
        except MetadataError as err:
            if err.cause != ENDPOINT_OFF:
                raise
            status = None
        if status == 200:
            return MetadataError(msg, status=404, cause=ROLE_MISSING)
        return MetadataError('the metadata service at %s serves no metadata to this host (HTTP 404 for the RAM role, %s for '
                             'instance-id): %s' % (self.endpoint, 'HTTP %d' % status if status else 'no answer', _ENDPOINT_OFF_HINT),
                             status=404, cause=ENDPOINT_OFF)

    def region_id(self):
        """The region of this instance (``/latest/meta-data/region-id``)."""
        status, body = self.get(REGION_PATH)
        if status != 200 or not body.strip():
            raise MetadataError('the metadata service answered HTTP %d for the region id' % status, status=status)
        return body.strip()

    def role_credentials(self, role_name):
        """Temporary credentials of ``role_name``: dict with snake_case keys."""
        role_name = (role_name or '').strip()
        if not role_name or '/' in role_name:
            raise MetadataError("invalid RAM role name '%s'" % role_name)
        status, body = self.get(CREDENTIALS_PATH + quote(role_name, safe=''))
        if status == 404:
            raise self._not_found("RAM role '%s' is not attached to this instance (the metadata service answered 404)" % role_name)
        if status != 200:
            raise MetadataError("the metadata service answered HTTP %d for the credentials of RAM role '%s'" % (status, role_name),
                                status=status)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise MetadataError("the metadata service returned an answer that is not a JSON object for RAM role '%s'" % role_name)
        code = data.get('Code')
        if code != 'Success':
            raise MetadataError("the metadata service returned Code '%s' (expected 'Success') for RAM role '%s'" % (code, role_name))
        missing = [key for key in ('AccessKeyId', 'AccessKeySecret', 'SecurityToken', 'Expiration') if not data.get(key)]
        if missing:
            raise MetadataError("the credentials of RAM role '%s' lack %s" % (role_name, ', '.join(missing)))
        remember_secrets(data['AccessKeySecret'], data['SecurityToken'])
        expires = parse_expiration(data['Expiration'])
        if expires is None:
            raise MetadataError("the credentials of RAM role '%s' have an unparsable Expiration '%s'" % (role_name, data['Expiration']))
        if expires <= self._clock():
            raise MetadataError("the credentials of RAM role '%s' already expired at %s" % (role_name, data['Expiration']))
        return {
            'access_key_id': data['AccessKeyId'],
            'access_key_secret': data['AccessKeySecret'],
            'security_token': data['SecurityToken'],
            'expiration': data['Expiration'],
            'last_updated': data.get('LastUpdated'),
        }
