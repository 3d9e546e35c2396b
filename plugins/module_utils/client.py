# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""One factory for the RAM, ECS and STS SDK clients, ``ServiceClient.call``, and the HTTP transport under them.

SDK packages are imported only when a client for their service is built, so a module that
talks only to RAM never imports the ECS SDK, and importing this file needs no SDK at all.
"""

import collections
import importlib
import inspect
import json
import random
import re
import threading
import time
import traceback

from urllib.parse import urlsplit

from ansible_collections.alicloud.ram.plugins.module_utils import endpoints, sdk_loader
from ansible_collections.alicloud.ram.plugins.module_utils.common_args import DEFAULT_RETRIES
from ansible_collections.alicloud.ram.plugins.module_utils.errors import TransportFailure, describe_answer
from ansible_collections.alicloud.ram.plugins.module_utils.errors import TIMEOUT_ERROR_CODE, TRANSPORT_ERROR_CODE, UNEXPECTED_ANSWER_CODE
from ansible_collections.alicloud.ram.plugins.module_utils.errors import from_sdk_exception, may_have_taken_effect, redact
from ansible_collections.alicloud.ram.plugins.module_utils.retries import call_with_retries

COLLECTION_VERSION = '0.1.0'  # keep in step with galaxy.yml
USER_AGENT = 'alicloud.ram/%s' % COLLECTION_VERSION

SdkPackage = collections.namedtuple('SdkPackage', ['module', 'pip'])

SERVICES = {
    'ram': SdkPackage('alibabacloud_ram20150501', 'alibabacloud-ram20150501'),
    'ecs': SdkPackage('alibabacloud_ecs20140526', 'alibabacloud-ecs20140526'),
    'sts': SdkPackage('alibabacloud_sts20150401', 'alibabacloud-sts20150401'),
}
CORE_PACKAGES = (
    SdkPackage('alibabacloud_tea_openapi', 'alibabacloud-tea-openapi'),
    SdkPackage('darabonba.runtime', 'darabonba-core'),
)

SdkModules = collections.namedtuple('SdkModules', ['client_class', 'models', 'config_class', 'runtime_class'])
Timeouts = collections.namedtuple('Timeouts', ['connect', 'read'])


class MissingSdkError(ImportError):
    """An SDK package is not installed on the host that runs the code."""

    def __init__(self, pip_names, tb=None):
        self.pip_names = list(pip_names)
        self.traceback = tb
        super(MissingSdkError, self).__init__('missing Python package(s): %s' % ', '.join(self.pip_names))


def _import(name):
    return importlib.import_module(name)


def missing_sdks(services):
    """``(pip names, traceback)`` of the packages the given services need but cannot import."""
    sdk_loader.prepare()
    missing, tb = [], None
    for package in CORE_PACKAGES + tuple(SERVICES[s] for s in services if s in SERVICES):
        try:
            _import(package.module)
        except ImportError:
            missing.append(package.pip)
            tb = tb or traceback.format_exc()
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        raise ValueError('unknown service(s): %s' % ', '.join(unknown))
    return missing, tb


def import_sdk(service):
    """Import the SDK of ``service``; raise :class:`MissingSdkError` naming the pip package."""
    if service not in SERVICES:
        raise ValueError("unknown service '%s' (expected one of %s)" % (service, ', '.join(sorted(SERVICES))))
    missing, tb = missing_sdks((service,))
    if missing:
        raise MissingSdkError(missing, tb)
    package = SERVICES[service]
    client_module = _import(package.module + '.client')
    models = _import(package.module + '.models')
    openapi_models = _import('alibabacloud_tea_openapi.models')
    runtime = _import('darabonba.runtime')
    _use_collection_transport()
    return SdkModules(client_module.Client, models, openapi_models.Config, runtime.RuntimeOptions)


# -- the HTTP transport --------------------------------------------------------------------------
#
# The SDK sends every request through one function, darabonba's ``DaraCore.do_action(request,
# runtime) -> DaraResponse``, which falls short in three ways: its timeouts are requests' per-read
# socket timeouts (a server trickling one byte every 500 ms is never cut off), it never applies
# ``no_proxy`` (``Session.send`` does not consult it, and HTTP(S)_PROXY from the environment always
# wins), and when an answer is not JSON (a proxy's HTML 502) it raises a parse error that has lost
# the status and content type. ``send`` below keeps that function's contract and replaces it in the
# process that runs a module (only the SDK's own function is replaced, never a stand-in installed
# by someone else). It sends with a requests session of its own whose connections register with
# the call's :class:`endpoints.Deadline`: a watchdog timer that shuts the socket down when the
# whole exchange outlasts ``read_timeout``. A watchdog rather than streaming the body against a
# clock, because the status line and headers can trickle too, and a blocked read only ends when
# its socket does. The session is built on first use: importing this file imports no HTTP library.

DEFAULT_CONNECT_MS = 5000   # the SDK's defaults, for runtime options without timeouts
DEFAULT_READ_MS = 10000
_POOL_SIZE = 64             # connections kept per host: one per worker thread is plenty
_XML_ERROR_TYPE = 'text/xml;charset=utf-8'  # the one non-JSON error format the SDK parses itself

_transport = {}
_transport_lock = threading.Lock()
_current_call = threading.local()


def _use_collection_transport():
    core = _import('darabonba.core').DaraCore
    if getattr(core.do_action, '__module__', None) == core.__module__:
        core.do_action = staticmethod(send)


def _watch(connection):
    deadline = getattr(_current_call, 'deadline', None)
    if deadline is not None:
        deadline.watch(connection)


class _WatchedConnection(object):
    """Mixed into urllib3's connection classes: every connection a call uses is watched by its deadline."""

    def connect(self):
        _watch(self)
        super(_WatchedConnection, self).connect()
        _watch(self)  # the socket exists now: shut it at once if the deadline already passed

    def request(self, *args, **kwargs):
        _watch(self)
        return super(_WatchedConnection, self).request(*args, **kwargs)


def _session():
    with _transport_lock:
        if 'session' not in _transport:
            _transport['session'] = _build_session()
        return _transport['session']


def _build_session():
    requests = _import('requests')
    connection = _import('urllib3.connection')
    connectionpool = _import('urllib3.connectionpool')
    pools = {
        'http': type('WatchedHTTPConnectionPool', (connectionpool.HTTPConnectionPool,), {
            'ConnectionCls': type('WatchedHTTPConnection', (_WatchedConnection, connection.HTTPConnection), {})}),
        'https': type('WatchedHTTPSConnectionPool', (connectionpool.HTTPSConnectionPool,), {
            'ConnectionCls': type('WatchedHTTPSConnection', (_WatchedConnection, connection.HTTPSConnection), {})}),
    }

    class WatchedAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super(WatchedAdapter, self).init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            manager = super(WatchedAdapter, self).proxy_manager_for(proxy, **proxy_kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

    session = requests.Session()
    session.trust_env = False  # proxies and CA settings arrive resolved in the runtime options
    adapter = WatchedAdapter(pool_connections=10, pool_maxsize=_POOL_SIZE)
    session.mount('http://', adapter)
    session.mount('https://', adapter)
    return session


def _seconds(millis, default_millis):
    return float(millis or default_millis) / 1000.0


def _base_url(url):
    parts = urlsplit(url)
    return '%s://%s' % (parts.scheme, parts.netloc)


def _reason(exc):
    """The innermost cause of a requests / urllib3 error, without urllib3's connection-class prefix."""
    cause = exc
    while True:
        inner = getattr(cause, 'reason', None) or getattr(cause, 'original_error', None)
        if not isinstance(inner, BaseException) and cause.args and isinstance(cause.args[0], BaseException):
            inner = cause.args[0]
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    return re.sub(r'^\w*Connection(?:Pool)?\(host=[^)]*\): ', '', ' '.join(str(cause).split()))


def _transport_error(exc, url, proxy, requests):
    """The collection's error for a request that got no answer."""
    exceptions = requests.exceptions
    if isinstance(exc, exceptions.ProxyError):
        text = 'cannot reach the API endpoint %s through the proxy %s: %s' % (_base_url(url), proxy, _reason(exc))
    elif isinstance(exc, exceptions.SSLError):
        text = 'TLS with %s failed: %s' % (_base_url(url), _reason(exc))
    elif isinstance(exc, exceptions.ConnectTimeout):
        text = 'cannot reach the API endpoint %s: no connection within the connect_timeout' % _base_url(url)
    else:
        text = 'cannot reach the API endpoint %s: %s' % (_base_url(url), _reason(exc))
    return TransportFailure(TRANSPORT_ERROR_CODE, text)


def _is_api_answer(status, content_type, body):
    """Whether the SDK can read this answer: JSON (or, for errors, the XML it parses itself)."""
    if status >= 400 and content_type == _XML_ERROR_TYPE:
        return True
    text = (body or b'').lstrip()[:1]
    if status < 400:
        return text in (b'{', b'[')
    try:
        return isinstance(json.loads(body.decode('utf-8')), dict)
    except ValueError:
        return False


def send(request, runtime_option=None):
    """Send one SDK request (``DaraCore.do_action``'s contract); see the comment above."""
    requests = _import('requests')
    core = _import('darabonba.core')
    runtime = runtime_option or {}
    url = core.DaraCore.compose_url(request)
    prepared = requests.PreparedRequest()
    prepared.prepare(method=request.method.upper(), url=url, headers=request.headers,
                     data=request.body.encode('utf-8') if isinstance(request.body, str) else request.body)
    network = endpoints.Network(runtime.get('httpProxy'), runtime.get('httpsProxy'), runtime.get('noProxy'), runtime.get('ca'),
                                not runtime.get('ignoreSSL'), {})
    proxy = endpoints.proxy_for(url, network)[0]
    connect_timeout = _seconds(runtime.get('connectTimeout'), DEFAULT_CONNECT_MS)
    read_timeout = _seconds(runtime.get('readTimeout'), DEFAULT_READ_MS)
    deadline = endpoints.Deadline(read_timeout)
    _current_call.deadline = deadline
    try:
        answer = _session().send(prepared, proxies={urlsplit(url).scheme: proxy} if proxy else {}, allow_redirects=False,
                                 timeout=(connect_timeout, read_timeout), cert=runtime.get('cert'),
                                 verify=False if runtime.get('ignoreSSL') else (runtime.get('ca') or True))
    except Exception as exc:  # pylint: disable=broad-except
        # once the deadline shut the socket, whatever the reading thread ran into is the timeout
        if deadline.expired:
            raise TransportFailure(TIMEOUT_ERROR_CODE, 'no complete answer from %s within %gs (read_timeout)' % (
                _base_url(url), read_timeout)) from None
        if isinstance(exc, (IOError, requests.RequestException)):
            raise _transport_error(exc, url, proxy, requests) from None
        raise
    finally:
        _current_call.deadline = None
        deadline.cancel()
    content_type = answer.headers.get('content-type', '')
    if not _is_api_answer(answer.status_code, content_type, answer.content):
        raise TransportFailure(UNEXPECTED_ANSWER_CODE, '%s answered %s' % (_base_url(url), describe_answer(
            answer.status_code, answer.reason, content_type, answer.content)), status=answer.status_code)
    response = _import('darabonba.response').DaraResponse()
    response.status_code = answer.status_code
    response.status_message = answer.reason
    response.headers = dict((k.lower(), v) for k, v in answer.headers.items())
    response.body = answer.content
    response.response = answer
    return response


# -- clients -------------------------------------------------------------------------------------

def _millis(seconds):
    return None if seconds is None else int(float(seconds) * 1000)


def build_sdk_client(service, credentials, endpoint, protocol, region, timeouts=None):
    """Create the official SDK client for ``service``."""
    sdk = import_sdk(service)
    timeouts = timeouts or Timeouts(None, None)
    config = sdk.config_class(
        access_key_id=credentials.access_key_id,
        access_key_secret=credentials.access_key_secret,
        security_token=credentials.security_token,
        endpoint=endpoint,
        protocol=protocol or 'https',
        region_id=region,
        user_agent=USER_AGENT,
        connect_timeout=_millis(timeouts.connect),
        read_timeout=_millis(timeouts.read),
    )
    return sdk.client_class(config)


def _response_body(response):
    body = getattr(response, 'body', response)
    if hasattr(body, 'to_map'):
        body = body.to_map()
    return body if isinstance(body, dict) else {}


class ServiceClient(object):
    """Call API actions by name with the API's own parameters; get the JSON body as a dict.

    ``on_throttle``: called (no arguments) before backing off from a throttled attempt; the
    worker pool sets it to adapt its concurrency.
    """

    def __init__(self, service, sdk_client, retries=DEFAULT_RETRIES, timeouts=None, log=None, models=None,
                 runtime_class=None, secrets=(), sleep=None, rand=random.random, network=endpoints.NO_NETWORK_SETTINGS):
        self.service = service
        self.sdk_client = sdk_client
        self.retries = DEFAULT_RETRIES if retries is None else retries
        self.timeouts = timeouts or Timeouts(None, None)
        self.network = network
        self.log = log
        self.secrets = list(secrets or ())
        self.calls = {}
        self.last_call_uncertain = False
        self.on_throttle = None
        self._models = models
        self._runtime_class = runtime_class
        # looked up at each call, so tests can skip the backoff waits
        self._sleep = sleep or (lambda seconds: time.sleep(seconds))  # pylint: disable=unnecessary-lambda
        self._rand = rand
        self._methods = None

    # -- SDK plumbing ----------------------------------------------------------------------

    def _sdk(self):
        if self._models is None or self._runtime_class is None:
            sdk = import_sdk(self.service)
            self._models = self._models or sdk.models
            self._runtime_class = self._runtime_class or sdk.runtime_class
        return self._models, self._runtime_class

    def _method_index(self):
        if self._methods is None:
            suffix = '_with_options'
            self._methods = dict(
                (name[:-len(suffix)].replace('_', '').lower(), name)
                for name in dir(self.sdk_client)
                if name.endswith(suffix) and not name.startswith('_'))
        return self._methods

    def _resolve(self, action):
        name = self._method_index().get(action.lower())
        if name is None:
            raise ValueError('%s has no API action %s' % (self.service, action))
        method = getattr(self.sdk_client, name)
        models, _dummy = self._sdk()
        request_class = getattr(models, action + 'Request', None)
        takes_request = len(inspect.signature(method).parameters) >= 2
        if takes_request and request_class is None:
            raise ValueError('%s: no request model %sRequest in the SDK' % (self.service, action))
        return method, (request_class if takes_request else None)

    def _runtime(self):
        _dummy, runtime_class = self._sdk()
        network = self.network
        return runtime_class(connect_timeout=_millis(self.timeouts.connect), read_timeout=_millis(self.timeouts.read),
                             autoretry=False, http_proxy=network.http_proxy, https_proxy=network.https_proxy,
                             no_proxy=network.no_proxy, ca=network.ca_bundle, ignore_ssl=not network.validate_certs)

    def _log(self, message):
        if self.log is not None:
            self.log(message)

    def endpoint_url(self):
        """``protocol://host[:port]`` the SDK client sends to."""
        return '%s://%s' % (getattr(self.sdk_client, '_protocol', None) or 'https', getattr(self.sdk_client, '_endpoint', None) or '')

    def describe(self):
        """Where the calls go, for -vvv output: ``{'endpoint': URL, 'proxy': 'URL (env HTTPS_PROXY)' or 'direct (why)'}``."""
        url = self.endpoint_url()
        proxy, why = endpoints.proxy_for(url, self.network)
        return {'endpoint': url, 'proxy': redact('%s (%s)' % (proxy, why) if proxy else 'direct (%s)' % why)}

    # -- public API ------------------------------------------------------------------------

    def call(self, action, params=None, retry_codes=(), idempotent=True):
        """Call ``action`` with ``params`` (PascalCase); return the body dict (PascalCase).

        Raises :class:`AlicloudApiError` after the retries are used up. ``idempotent=False``: an
        attempt that may have taken effect (its answer was lost) is not repeated, since a repeat
        would do the write twice; the error is raised for the caller to read back instead.
        """
        method, request_class = self._resolve(action)
        params = dict((k, v) for k, v in (params or {}).items() if v is not None)

        uncertain = []  # set once an attempt may have reached the server without us seeing its answer
        self.last_call_uncertain = False

        def attempt():
            self.calls[action] = self.calls.get(action, 0) + 1
            try:
                if request_class is None:
                    response = method(self._runtime())
                else:
                    response = method(request_class().from_map(dict(params)), self._runtime())
            except Exception as exc:  # pylint: disable=broad-except
                # every SDK failure (server answer, transport, parsing) becomes one error type
                err = from_sdk_exception(exc, action, self.secrets)
                err.after_lost_reply = bool(uncertain)
                if may_have_taken_effect(err):
                    uncertain.append(err.code)
                    err.final = not idempotent
                raise err from None
            return _response_body(response)

        def on_retry(err, attempt_number, delay):
            if 'Throttling' in (err.code or '') and self.on_throttle is not None:
                self.on_throttle()
            self._log('%s %s: %s, retry %d of %d in %.1fs' % (self.service, action, err.code, attempt_number, self.retries, delay))

        try:
            return call_with_retries(attempt, self.retries, extra_codes=retry_codes, sleep=self._sleep, rand=self._rand,
                                     on_retry=on_retry)
        finally:
            # whether an attempt of this call may have taken effect unseen (one client per thread)
            self.last_call_uncertain = bool(uncertain)


def timeouts_from_options(options):
    return Timeouts(options.get('connect_timeout'), options.get('read_timeout'))


def service_client_for(service, credentials, options, region=None, env=None, log=None):
    """Build a :class:`ServiceClient` from options (endpoint, region, retries, timeouts, proxies, TLS).

    Without ``region``, the region comes from the options, the environment, then what the
    credentials inferred (their profile's ``region_id`` or the metadata service).
    """
    region = region or endpoints.resolve_region(service, options, env, inferred=getattr(credentials, 'region_hint', None))
    endpoint, protocol = endpoints.resolve_endpoint(service, options, region, env)
    network = endpoints.resolve_network(options, env)
    timeouts = timeouts_from_options(options)
    sdk_client = build_sdk_client(service, credentials, endpoint, protocol, region, timeouts)
    return ServiceClient(service, sdk_client, retries=options.get('retries', DEFAULT_RETRIES), timeouts=timeouts,
                         log=log, secrets=credentials.secrets(), network=network)
