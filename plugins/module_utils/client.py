# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""One factory for the RAM, ECS and STS SDK clients, and ``ServiceClient.call``.

SDK packages are imported only when a client for their service is built, so a module that
talks only to RAM never imports the ECS SDK, and importing this file needs no SDK at all.
"""

import collections
import importlib
import inspect
import random
import time
import traceback

from ansible_collections.alicloud.ram.plugins.module_utils import endpoints
from ansible_collections.alicloud.ram.plugins.module_utils.common_args import DEFAULT_RETRIES
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, from_sdk_exception, is_not_found
from ansible_collections.alicloud.ram.plugins.module_utils.errors import may_have_taken_effect
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
    return SdkModules(client_module.Client, models, openapi_models.Config, runtime.RuntimeOptions)


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
    """Call API actions by name with the API's own parameters; get the JSON body as a dict."""

    def __init__(self, service, sdk_client, retries=DEFAULT_RETRIES, timeouts=None, log=None, models=None,
                 runtime_class=None, secrets=(), sleep=None, rand=random.random):
        self.service = service
        self.sdk_client = sdk_client
        self.retries = DEFAULT_RETRIES if retries is None else retries
        self.timeouts = timeouts or Timeouts(None, None)
        self.log = log
        self.secrets = list(secrets or ())
        self.calls = {}
        self._models = models
        self._runtime_class = runtime_class
        # looked up at each call, so tests can skip the backoff waits
        self._sleep = sleep or (lambda seconds: time.sleep(seconds))
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
        return runtime_class(connect_timeout=_millis(self.timeouts.connect), read_timeout=_millis(self.timeouts.read),
                             autoretry=False)

    def _log(self, message):
        if self.log is not None:
            self.log(message)

    # -- public API ------------------------------------------------------------------------

    def call(self, action, params=None, retry_codes=()):
        """Call ``action`` with ``params`` (PascalCase); return the body dict (PascalCase).

        Raises :class:`AlicloudApiError` after the retries are used up.
        """
        method, request_class = self._resolve(action)
        params = dict((k, v) for k, v in (params or {}).items() if v is not None)

        uncertain = []  # set once an attempt may have reached the server without us seeing its answer

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
                raise err from None
            return _response_body(response)

        def on_retry(err, attempt_number, delay):
            self._log('%s %s: %s, retry %d of %d in %.1fs' % (self.service, action, err.code, attempt_number, self.retries, delay))

        return call_with_retries(attempt, self.retries, extra_codes=retry_codes, sleep=self._sleep, rand=self._rand,
                                 on_retry=on_retry)

    def call_or_none(self, action, params=None, missing_codes=None, retry_codes=()):
        """Like :meth:`call`, but ``None`` when the API answers "not found".

        ``missing_codes``: the codes meaning "not found" for this call (exact or as a dotted
        prefix); by default :func:`errors.is_not_found` decides.
        """
        try:
            return self.call(action, params, retry_codes=retry_codes)
        except AlicloudApiError as err:
            if missing_codes is not None:
                if any(err.code == code or err.code.startswith(code + '.') for code in missing_codes):
                    return None
            elif is_not_found(err):
                return None
            raise

    @property
    def total_calls(self):
        return sum(self.calls.values())


def timeouts_from_options(options):
    return Timeouts(options.get('connect_timeout'), options.get('read_timeout'))


def service_client_for(service, credentials, options, region=None, env=None, log=None):
    """Build a :class:`ServiceClient` from options (endpoint, region, retries, timeouts)."""
    region = region or endpoints.resolve_region(service, options, env)
    endpoint, protocol = endpoints.resolve_endpoint(service, options, region, env)
    timeouts = timeouts_from_options(options)
    sdk_client = build_sdk_client(service, credentials, endpoint, protocol, region, timeouts)
    return ServiceClient(service, sdk_client, retries=options.get('retries', DEFAULT_RETRIES), timeouts=timeouts,
                         log=log, secrets=credentials.secrets())
