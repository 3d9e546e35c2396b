# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""One factory for the RAM, ECS and STS SDK clients, and ``ServiceClient.call``, the one way an API is called.

SDK packages are imported only when a client for their service is built, so a module that
talks only to RAM never imports the ECS SDK, and importing this file needs no SDK at all. The
HTTP exchange under the SDK is ``transport.py``'s.
"""

import collections
import importlib
import inspect
import time
import traceback

from ansible_collections.alicloud.ram.plugins.module_utils import endpoints, network, sdk_loader, transport
from ansible_collections.alicloud.ram.plugins.module_utils.common_args import DEFAULT_READ_TIMEOUT, DEFAULT_RETRIES
from ansible_collections.alicloud.ram.plugins.module_utils.errors import from_sdk_exception, may_have_taken_effect, redact
from ansible_collections.alicloud.ram.plugins.module_utils.retries import RetryPolicy, call_retrying
from ansible_collections.alicloud.ram.plugins.module_utils.version import COLLECTION_VERSION

USER_AGENT = 'alicloud.ram/%s' % COLLECTION_VERSION
# read timeouts the official SDK core gives the batch instance RAM role APIs (seconds), kept as a floor
BATCH_READ_TIMEOUTS = {'AttachInstanceRamRole': 11.0, 'DescribeInstanceRamRole': 11.0, 'DetachInstanceRamRole': 10.0}

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
# ``read_given``: the user set read_timeout (else the batch APIs get the official core's longer one)
Timeouts = collections.namedtuple('Timeouts', ['connect', 'read', 'read_given'])
Timeouts.__new__.__defaults__ = (False,)


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
    transport.install()
    return SdkModules(client_module.Client, models, openapi_models.Config, runtime.RuntimeOptions)


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


class Answer(dict):
    """An API answer's JSON body. ``uncertain``: an earlier attempt of the same call may have taken effect
    (its answer was lost), so what this answer says may be the service seeing our own write again."""

    def __init__(self, body, uncertain=False):
        super(Answer, self).__init__(body)
        self.uncertain = uncertain


class ServiceClient(object):
    """Call API actions by name with the API's own parameters; get the JSON body as an :class:`Answer`.

    ``on_throttle``: called (no arguments) before backing off from a throttled attempt; the
    worker pool sets it to adapt its concurrency.
    """

    def __init__(self, service, sdk_client, retries=DEFAULT_RETRIES, timeouts=None, log=None, models=None,
                 runtime_class=None, secrets=(), sleep=None, retry_timeout=None, backoff=None, network_settings=None):
        self.service = service
        self.sdk_client = sdk_client
        self.retries = DEFAULT_RETRIES if retries is None else retries
        self.retry_timeout = retry_timeout
        self.backoff = backoff
        self.timeouts = timeouts or Timeouts(None, None)
        self.network = network_settings or network.NO_NETWORK_SETTINGS
        self.log = log
        self.secrets = list(secrets or ())
        self.calls = {}
        self.on_throttle = None
        self._models = models
        self._runtime_class = runtime_class
        # looked up at each call, so tests can skip the backoff waits
        self._sleep = sleep or (lambda seconds: time.sleep(seconds))  # pylint: disable=unnecessary-lambda
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
            # 'get_role_with_options' -> 'getrole'; the STS SDK spells one 'assume_role_with_oidcwith_options'
            suffix = 'with_options'
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

    def _runtime(self, action):
        _dummy, runtime_class = self._sdk()
        settings = self.network
        read = self.timeouts.read
        if action in BATCH_READ_TIMEOUTS and (read is None or read < BATCH_READ_TIMEOUTS[action]) and not self.timeouts.read_given:
            read = BATCH_READ_TIMEOUTS[action]
        return runtime_class(connect_timeout=_millis(self.timeouts.connect), read_timeout=_millis(read),
                             autoretry=False, http_proxy=settings.http_proxy, https_proxy=settings.https_proxy,
                             no_proxy=settings.no_proxy, ca=settings.ca_bundle, ignore_ssl=not settings.validate_certs)

    def _log(self, message):
        if self.log is not None:
            self.log(message)

    def endpoint_url(self):
        """``protocol://host[:port]`` the SDK client sends to."""
        return '%s://%s' % (getattr(self.sdk_client, '_protocol', None) or 'https', getattr(self.sdk_client, '_endpoint', None) or '')

    def describe(self):
        """Where the calls go, for -vvv output: ``{'endpoint': URL, 'proxy': 'URL (env HTTPS_PROXY)' or 'direct (why)'}``."""
        url = self.endpoint_url()
        proxy, why = network.proxy_for(url, self.network)
        return {'endpoint': url, 'proxy': redact('%s (%s)' % (proxy, why) if proxy else 'direct (%s)' % why)}

    # -- public API ------------------------------------------------------------------------

    def call(self, action, params=None, retry_codes=(), idempotent=True):
        """Call ``action`` with ``params`` (PascalCase); return the body (PascalCase) as an :class:`Answer`.

        Raises :class:`AlicloudApiError` after the retries are used up; its ``uncertain`` says
        whether the call may have taken effect all the same. ``idempotent=False``: an attempt that
        may have taken effect is not repeated, since a repeat would do the write twice; the error
        goes to the caller, who settles it by a read.
        """
        method, request_class = self._resolve(action)
        params = dict((k, v) for k, v in (params or {}).items() if v is not None)
        runtime = self._runtime(action)
        uncertain = []  # set once an attempt may have reached the server without us seeing its answer

        def attempt():
            self.calls[action] = self.calls.get(action, 0) + 1
            try:
                if request_class is None:
                    response = method(runtime)
                else:
                    response = method(request_class().from_map(dict(params)), runtime)
            except Exception as exc:  # pylint: disable=broad-except
                # every SDK failure (server answer, transport, parsing) becomes one error type
                err = from_sdk_exception(exc, action, self.secrets)
                if may_have_taken_effect(err):
                    uncertain.append(err.code)
                err.uncertain = bool(uncertain)
                raise err from None
            return Answer(_response_body(response), uncertain=bool(uncertain))

        policy = RetryPolicy(self.retries, self.retry_timeout, extra_codes=retry_codes, backoff=self.backoff)
        waiter = policy.waiter()

        def should_wait(attempt_number, err):
            if err.uncertain and not idempotent:
                return None
            delay = waiter(attempt_number, err)
            if delay is not None:
                if 'Throttling' in (err.code or '') and self.on_throttle is not None:
                    self.on_throttle()
                self._log('%s %s: %s, retry %d in %.1fs' % (self.service, action, err.code, attempt_number + 1, delay))
            return delay

        return call_retrying(attempt, should_wait, self._sleep)


def timeouts_from_options(options):
    read = options.get('read_timeout')
    return Timeouts(options.get('connect_timeout'), DEFAULT_READ_TIMEOUT if read is None else read, read is not None)


def service_client_for(service, credentials, options, region=None, env=None, log=None):
    """Build a :class:`ServiceClient` from options (endpoint, region, retries, timeouts, proxies, TLS).

    Without ``region``, the region comes from the options, the environment, then what the
    credentials inferred (their profile's ``region_id`` or the metadata service).
    """
    region = region or endpoints.resolve_region(service, options, env, inferred=getattr(credentials, 'region_hint', None))
    endpoint, protocol = endpoints.resolve_endpoint(service, options, region, env)
    settings = network.resolve_network(options, env)
    timeouts = timeouts_from_options(options)
    sdk_client = build_sdk_client(service, credentials, endpoint, protocol, region, timeouts)
    return ServiceClient(service, sdk_client, retries=options.get('retries', DEFAULT_RETRIES), timeouts=timeouts,
                         retry_timeout=options.get('retry_timeout'), log=log, secrets=credentials.secrets(),
                         network_settings=settings)
