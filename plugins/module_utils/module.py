# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""``AlicloudModule``: the AnsibleModule every module of the collection is built on."""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

import math

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import endpoints, network
from ansible_collections.alicloud.ram.plugins.module_utils.common_args import MAX_RETRIES, MAX_TIMEOUT, merged_argument_spec
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import CredentialsError, resolve_credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, MetadataError, format_error, redact, remember_secrets
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter

SECRET_OPTIONS = ('access_key_secret', 'security_token')
TIMEOUT_OPTIONS = ('connect_timeout', 'read_timeout', 'retry_timeout')
# a list argument longer than this is shown in ``invocation`` as its length and first items
INVOCATION_LIST_LIMIT = 100
INVOCATION_LIST_SHOWN = 5
# options holding URLs, which may carry a password (user information) or a token (query)
URL_OPTIONS = ('ram_endpoint', 'ecs_endpoint', 'sts_endpoint', 'metadata_endpoint', 'http_proxy', 'https_proxy')


def missing_sdk_message(pip_names):
    """Ansible's missing-library message plus the pip line that installs what is missing."""
    return '%s Install it into the Python that runs this module: python3 -m pip install %s (or -r requirements.txt of the ' \
           'collection).' % (missing_required_lib(' and '.join(pip_names)), ' '.join(pip_names))


class AlicloudModule(AnsibleModule):
    """AnsibleModule with the common options, credentials, clients and error reporting.

    ``services``: the SDKs this module needs (``ram``, ``ecs``, ``sts``); their import is
    checked up front so a missing package fails cleanly, naming the pip package.
    """

    def __init__(self, argument_spec=None, services=('ram',), **kwargs):
        super(AlicloudModule, self).__init__(argument_spec=merged_argument_spec(argument_spec), **kwargs)
        self.services = tuple(services)
        self._clients = {}
        self._pools = {}
        self._credentials = None
        self.options = OptionAdapter.from_module(self)
        remember_secrets(*[self.params.get(name) for name in SECRET_OPTIONS])
        missing, tb = client_utils.missing_sdks(self.services)
        if missing:
            self.fail_json(msg=missing_sdk_message(missing), exception=tb)
        self._check_connection_options()

    def _check_connection_options(self):
        """Refuse unusable timeouts, retries, region, endpoints, proxies and CA bundle before any call."""
        for name in TIMEOUT_OPTIONS:
            value = self.params.get(name)
            if value is not None and not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
                self.fail_json(msg='%s must be a number of seconds greater than 0 and at most %d, got %s' % (name, MAX_TIMEOUT, value))
        retries = self.params.get('retries')
        if retries is not None and not 0 <= retries <= MAX_RETRIES:
            self.fail_json(msg='retries must be between 0 and %d, got %s' % (MAX_RETRIES, retries))
        try:
            endpoints.find_region(self.options)
            for service in client_utils.SERVICES:
                endpoints.resolve_endpoint(service, self.options)
            if self.params.get('metadata_endpoint'):
                endpoints.resolve_metadata_endpoint(self.options)
            network.resolve_network(self.options)
        except (endpoints.EndpointError, network.NetworkError) as err:
            self.fail_config(err)

    # -- credentials and clients -----------------------------------------------------------

    def secrets(self):
        """Every secret value known to this run (options and resolved credentials)."""
        # fail_json may run inside AnsibleModule.__init__, before this class set anything up
        params = getattr(self, 'params', None) or {}
        values = [params.get(name) for name in SECRET_OPTIONS]
        credentials = getattr(self, '_credentials', None)
        if credentials is not None:
            values.extend(credentials.secrets())
        return [v for v in values if v]

    def credentials(self):
        """Resolve the credentials once per run; fail cleanly when none are usable."""
        if self._credentials is None:
            try:
                self._credentials = resolve_credentials(self.options, sts_client_factory=self._sts_client_factory)
            except CredentialsError as err:
                self.fail_config(err)
            self.debug('alicloud.ram: using credentials from %s' % self._credentials.source)
        return self._credentials

    def _sts_client_factory(self, credentials, options, region=None):
        return self._build_client('sts', credentials, options, region)

    def _build_client(self, service, credentials, options, region=None):
        try:
            client = client_utils.service_client_for(service, credentials, options, region=region, log=self.debug)
            self.debug('alicloud.ram: %(service)s calls go to %(endpoint)s, proxy: %(proxy)s' % dict(client.describe(), service=service))
            return client
        except client_utils.MissingSdkError as err:
            self.fail_json(msg=missing_sdk_message(err.pip_names), exception=err.traceback)
        except (endpoints.EndpointError, network.NetworkError) as err:
            self.fail_config(err)
        return None  # not reached

    def region(self, service='ecs', required=True):
        """The region for ``service``: option, environment, then the credentials' profile or metadata service.

        RAM/STS default to cn-hangzhou; ECS requires one (``required=False``: None instead of failing).
        """
        try:
            region, source = endpoints.find_region(self.options)
            if region is None:
                region, source = endpoints.find_region(self.options, inferred=self.credentials().region_hint)
            if region is not None:
                self.debug('alicloud.ram: region %s from %s' % (region, source))
                return region
            if not required:
                return None
            return endpoints.resolve_region(service, self.options)
        except endpoints.EndpointError as err:
            self.fail_config(err)
        return None  # not reached

    def client(self, service):
        """A cached :class:`ServiceClient` for ``ram``, ``ecs`` or ``sts``."""
        if service not in self._clients:
            self._clients[service] = self._build_client(service, self.credentials(), self.options)
        return self._clients[service]

    def regional_client(self, service, region):
        """A cached client for ``service`` in ``region`` (None: the task's region, else the default one)."""
        if region is None:
            region = self.region(service, required=False) or endpoints.DEFAULT_REGION
        return self.clients(service, 1, region=region)[0]

    def clients(self, service, count, region=None):
        """``count`` clients for ``service`` (in ``region``, default the task's), one per worker thread, kept for the run."""
        if region is None:
            pool = self._pools.setdefault(service, [])
            while len(pool) < count - 1:
                pool.append(self._build_client(service, self.credentials(), self.options))
            return [self.client(service)] + pool[:max(0, count - 1)]
        pool = self._pools.setdefault((service, region), [])
        while len(pool) < count:
            pool.append(self._build_client(service, self.credentials(), self.options, region=region))
        return pool[:count]

    # -- results ---------------------------------------------------------------------------

    def _invocation(self):
        """The module arguments shown at -vvv: URL options through the one redaction path, long lists summarised."""
        params = dict(getattr(self, 'params', None) or {})
        for name in URL_OPTIONS:
            if isinstance(params.get(name), str):
                params[name] = redact(params[name], self.secrets())
        for name, value in params.items():
            if isinstance(value, list) and len(value) > INVOCATION_LIST_LIMIT:
                params[name] = {'count': len(value), 'first': value[:INVOCATION_LIST_SHOWN]}
        return {'module_args': params}

    def _with_connection_details(self, kwargs):
        # module.debug() reaches only the target's log with ANSIBLE_DEBUG; at -vvv the result is
        # printed, so where credentials and region came from and where the calls went (never a key
        # or secret) go there for troubleshooting.
        credentials = getattr(self, '_credentials', None)  # fail_json may run inside AnsibleModule.__init__
        if credentials is None or getattr(self, '_verbosity', 0) < 3:
            return kwargs
        kwargs.setdefault('credentials_source', credentials.source)
        try:
            kwargs.setdefault('region_source', endpoints.find_region(self.options, inferred=credentials.region_hint)[1] or
                              'default (%s)' % endpoints.DEFAULT_REGION)
        except endpoints.EndpointError:
            pass
        kwargs.setdefault('connections', dict((name, client.describe()) for name, client in self._clients.items()))
        return kwargs

    def exit_json(self, **kwargs):
        kwargs.setdefault('invocation', self._invocation())
        super(AlicloudModule, self).exit_json(**self._with_connection_details(kwargs))

    def fail_json(self, msg, **kwargs):
        """Fail; the message and ``error.message`` go through the one redaction path."""
        error = kwargs.get('error')
        if isinstance(error, dict) and error.get('message'):
            kwargs['error'] = dict(error, message=redact(error['message'], self.secrets()))
        kwargs.setdefault('invocation', self._invocation())
        super(AlicloudModule, self).fail_json(redact(msg, self.secrets()), **self._with_connection_details(kwargs))

    def warn(self, warning, **kwargs):
        super(AlicloudModule, self).warn(redact(warning, self.secrets()), **kwargs)

    def log(self, msg, log_args=None):
        # debug() logs through here too
        super(AlicloudModule, self).log(redact(msg, self.secrets()), log_args=log_args)

    # -- failures --------------------------------------------------------------------------

    def fail_api(self, err, operation, **extra):
        """Fail with one line naming the operation, plus ``error`` = code/message/request_id/status."""
        if not isinstance(err, AlicloudApiError):
            err = AlicloudApiError(None, '%s: %s' % (type(err).__name__, err))
        self.fail_json(msg=format_error(err, operation), error=err.to_dict(), **extra)

    def fail_config(self, err, **extra):
        """Fail cleanly for a credentials, endpoint, region or metadata problem."""
        message = getattr(err, 'msg', None) or str(err)
        api_error = getattr(err, 'api_error', None)
        if api_error is not None:
            extra.setdefault('error', api_error.to_dict())
        elif isinstance(err, MetadataError) and err.status is not None:
            extra.setdefault('error', {'code': 'MetadataError', 'message': message, 'request_id': None, 'status': err.status})
        self.fail_json(msg=message, **extra)
