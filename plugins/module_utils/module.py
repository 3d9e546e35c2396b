# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""``AlicloudModule``: the AnsibleModule every module of the collection is built on."""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import endpoints
from ansible_collections.alicloud.ram.plugins.module_utils.common_args import merged_argument_spec
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import CredentialsError, resolve_credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, format_error, redact
from ansible_collections.alicloud.ram.plugins.module_utils.metadata import MetadataError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter

SECRET_OPTIONS = ('access_key_secret', 'security_token')


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
        missing, tb = client_utils.missing_sdks(self.services)
        if missing:
            self.fail_json(msg=missing_required_lib(' and '.join(missing)), exception=tb)

    # -- credentials and clients -----------------------------------------------------------

    def secrets(self):
        """Every secret value known to this run (options and resolved credentials)."""
        values = [self.params.get(name) for name in SECRET_OPTIONS]
        if self._credentials is not None:
            values.extend(self._credentials.secrets())
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
            return client_utils.service_client_for(service, credentials, options, region=region, log=self.debug)
        except client_utils.MissingSdkError as err:
            self.fail_json(msg=missing_required_lib(' and '.join(err.pip_names)), exception=err.traceback)
        except endpoints.EndpointError as err:
            self.fail_config(err)
        return None  # not reached

    def region(self, service='ecs'):
        """The region for ``service`` (RAM/STS default to cn-hangzhou; ECS requires one)."""
        try:
            return endpoints.resolve_region(service, self.options)
        except endpoints.EndpointError as err:
            self.fail_config(err)
        return None  # not reached

    def client(self, service):
        """A cached :class:`ServiceClient` for ``ram``, ``ecs`` or ``sts``."""
        if service not in self._clients:
            self._clients[service] = self._build_client(service, self.credentials(), self.options)
        return self._clients[service]

    def clients(self, service, count):
        """``count`` clients for ``service``, one per worker thread: :meth:`client` and ``count - 1`` more, kept for the run."""
        pool = self._pools.setdefault(service, [])
        while len(pool) < count - 1:
            pool.append(self._build_client(service, self.credentials(), self.options))
        return [self.client(service)] + pool[:max(0, count - 1)]

    def api_calls(self):
        """``{service: {action: count}}`` of the calls made so far (over every client of the service)."""
        totals = {}
        for name, first in self._clients.items():
            counts = totals.setdefault(name, {})
            for client in [first] + self._pools.get(name, []):
                for action, count in client.calls.items():
                    counts[action] = counts.get(action, 0) + count
        return totals

    # -- results ---------------------------------------------------------------------------

    def _with_credentials_source(self, kwargs):
        # module.debug() reaches only the target's log with ANSIBLE_DEBUG; at -vvv the result is
        # printed, so the source name (never a key or secret) goes there for troubleshooting.
        credentials = getattr(self, '_credentials', None)  # fail_json may run inside AnsibleModule.__init__
        if credentials is not None and getattr(self, '_verbosity', 0) >= 3:
            kwargs.setdefault('credentials_source', credentials.source)
        return kwargs

    def exit_json(self, **kwargs):
        super(AlicloudModule, self).exit_json(**self._with_credentials_source(kwargs))

    def fail_json(self, msg, **kwargs):
        super(AlicloudModule, self).fail_json(msg, **self._with_credentials_source(kwargs))

    # -- failures --------------------------------------------------------------------------

    def fail_api(self, err, operation, **extra):
        """Fail with one line naming the operation, plus ``error`` = code/message/request_id/status."""
        if not isinstance(err, AlicloudApiError):
            err = AlicloudApiError(None, '%s: %s' % (type(err).__name__, err))
        secrets = self.secrets()
        error = err.to_dict()
        error['message'] = redact(error['message'], secrets)
        self.fail_json(msg=redact(format_error(err, operation), secrets), error=error, **extra)

    def fail_config(self, err, **extra):
        """Fail cleanly for a credentials, endpoint, region or metadata problem."""
        secrets = self.secrets()
        message = getattr(err, 'msg', None) or str(err)
        api_error = getattr(err, 'api_error', None)
        if api_error is not None:
            error = api_error.to_dict()
            error['message'] = redact(error['message'], secrets)
            extra.setdefault('error', error)
        elif isinstance(err, MetadataError) and err.status is not None:
            extra.setdefault('error', {'code': 'MetadataError', 'message': redact(message, secrets), 'request_id': None,
                                       'status': err.status})
        self.fail_json(msg=redact(message, secrets), **extra)
