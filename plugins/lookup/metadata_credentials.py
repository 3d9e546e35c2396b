# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: metadata_credentials
author:
  - alicloud.ram maintainers (@alicloud-ram)
version_added: 0.1.0
short_description: Read the temporary credentials of an instance RAM role from the ECS metadata service
description:
  - Returns the temporary credentials (STS AccessKey pair and security token) of the RAM role attached
    to the ECS instance, read from the instance metadata service.
  - Give one or more role names as terms, or no term to discover the role attached to the instance.
  - B(Lookups run on the Ansible controller, never on the managed hosts.) This lookup therefore only works
    when the controller itself is an ECS instance holding the role (for example AWX or Ansible Automation
    Platform running on ECS, or a bastion host). To read a managed host's own role credentials, query the
    metadata service from that host, for example with M(ansible.builtin.uri).
  - Credentials are cached in memory until 5 minutes before their expiration, so templating the lookup many
    times in one task (a loop over 100 items, repeated references) asks the metadata service once.
    Ansible runs each task in a forked worker process, so this cache lives for one task only; credentials are
    never written to disk. See the examples for reusing them across tasks.
  - Without a term the role's name is asked each time; its credentials come from the cache when a lookup of that
    role by name fetched them already.
  - The returned values are marked unsafe, so template markers inside them are never rendered.
options:
  _terms:
    description:
      - Names of the RAM roles whose credentials to read. One result is returned per name.
      - Without a term (or with an empty one) the role attached to the instance is discovered first.
    required: false
    type: list
    elements: str
  metadata_endpoint:
    description:
      - Base URL of the metadata service, V(http://host[:port]) or V(https://host[:port]), without a path.
      - Set it to the URL of an emulator to use the lookup outside an ECS instance.
    type: str
    default: http://100.100.100.200
    env:
      - name: ALIBABA_CLOUD_METADATA_ENDPOINT
    vars:
      - name: alicloud_metadata_endpoint
  imds_mode:
    description:
      - How to access the metadata service.
      - V(hardened) always requests a session token (C(PUT /latest/api/token)) and sends it with every request;
        this is required on instances that enforce hardened mode and fails where tokens are not offered.
      - V(auto) uses a session token when the service offers one and falls back to plain requests only when the
        token endpoint is not offered (HTTP 404, 405 or 501); a refused token is an error, never a silent downgrade.
        With E(ALIBABA_CLOUD_IMDSV1_DISABLED=true), V(auto) behaves as V(hardened).
      - V(plain) never uses a token; it fails on instances that enforce hardened mode.
    type: str
    choices: [auto, hardened, plain]
    default: auto
    env:
      - name: ALIBABA_CLOUD_IMDS_MODE
    vars:
      - name: alicloud_imds_mode
  token_ttl:
    description:
      - Lifetime of the session token requested in V(hardened) and V(auto) mode, in seconds, from 1 to 21600.
    type: int
    default: 21600
  timeout:
    description:
      - Time allowed for each request to the metadata service as a whole (connecting, sending, and reading the
        complete answer), in seconds; a service that answers slowly, even byte by byte, is cut off after it.
      - Outside an ECS instance the default endpoint does not answer at all, so every attempt waits this long.
    type: float
    default: 2.0
  retries:
    description:
      - How many times a request is retried after a connection error or an HTTP 5xx answer, with exponential
        backoff. Client errors (HTTP 4xx) are never retried. V(0) disables retries.
    type: int
    default: 3
notes:
  - "Use C(no_log: true) on every task that handles these credentials (the task calling the lookup, a C(set_fact)
    storing them, tasks passing them on), otherwise they can appear in the output with C(-v) or in callbacks."
  - "To reuse the credentials across tasks, store them once with M(ansible.builtin.set_fact), C(run_once: true)
    and C(no_log: true), then refer to the fact; the fact lives in memory for the rest of the play.
    Refetch them when a play may run longer than their lifetime (see RV(_raw[].expiration))."
  - Ansible's own debug mode (E(ANSIBLE_DEBUG=1)) logs module arguments despite C(no_log); do not enable it where these
    credentials are passed to modules.
  - The metadata service throttles frequent access; let the cache and C(set_fact) keep requests low.
  - "Requests honour the proxy environment of the controller: E(http_proxy) / E(HTTP_PROXY) (and E(https_proxy) /
    E(HTTPS_PROXY) for an V(https://) endpoint), with the exemptions of E(no_proxy) / E(NO_PROXY). The real metadata
    service refuses requests relayed by a proxy, so on a controller with a proxy add C(100.100.100.200) to E(NO_PROXY).
    E(ALIBABA_CLOUD_CA_BUNDLE) names the CA bundle for an V(https://) endpoint. With C(-vvv) the lookup shows
    the endpoint and the proxy it uses."
  - Errors name the role and the HTTP status, never a credential, session token, or password in a URL, and say what
    the metadata service showed. No answer at all (or no metadata served) means the metadata endpoint of the
    instance is off (C(HttpEndpoint=disabled), see M(alicloud.ram.ecs_instance_metadata_options)) or the controller
    is not an ECS instance; an answer without the role means no RAM role (or another one) is attached to the
    instance; a refused session token points at O(imds_mode) or a proxy.
seealso:
  - name: Instance metadata (Alibaba Cloud)
    description: The ECS instance metadata service, including hardened mode.
    link: https://www.alibabacloud.com/help/en/ecs/user-guide/view-instance-metadata
  - ref: ansible_collections.alicloud.ram.docsite.hardened-metadata
    description: Hardened metadata mode, from attaching the role to reading its credentials with a token.
  - ref: ansible_collections.alicloud.ram.docsite.awx
    description: Running the collection from AWX or Ansible Automation Platform (execution environment, credential type, job templates).
extends_documentation_fragment:
  - alicloud.ram.requirements.lookup
'''

EXAMPLES = r'''
# The controller is an ECS instance holding the RAM role "AnsibleControllerRole".
- name: Read the role's credentials once for the whole play
  ansible.builtin.set_fact:
    controller_credentials: "{{ lookup('alicloud.ram.metadata_credentials', 'AnsibleControllerRole') }}"
  run_once: true
  no_log: true

- name: Use them with the modules of this collection
  alicloud.ram.ram_instance_role_info:
    access_key_id: "{{ controller_credentials.access_key_id }}"
    access_key_secret: "{{ controller_credentials.access_key_secret }}"
    security_token: "{{ controller_credentials.security_token }}"
    name_prefix: app-
  no_log: true

- name: Discover the role attached to the controller instead of naming it
  ansible.builtin.set_fact:
    controller_credentials: "{{ lookup('alicloud.ram.metadata_credentials') }}"
  run_once: true
  no_log: true

- name: Credentials of several roles (a list, one dict per role), token required
  ansible.builtin.set_fact:
    all_credentials: "{{ query('alicloud.ram.metadata_credentials', 'RoleA', 'RoleB', imds_mode='hardened') }}"
  run_once: true
  no_log: true

- name: Pass the credentials to a command through its environment (fetched once for the whole loop)
  ansible.builtin.command: aliyun sts GetCallerIdentity
  environment:
    ALIBABA_CLOUD_ACCESS_KEY_ID: "{{ creds.access_key_id }}"
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: "{{ creds.access_key_secret }}"
    ALIBABA_CLOUD_SECURITY_TOKEN: "{{ creds.security_token }}"
  vars:
    creds: "{{ lookup('alicloud.ram.metadata_credentials', 'AnsibleControllerRole') }}"
  loop: "{{ range(3) | list }}"
  changed_when: false
  no_log: true

- name: Against a local emulator instead of a real instance
  ansible.builtin.debug:
    msg: "{{ lookup('alicloud.ram.metadata_credentials', metadata_endpoint='http://127.0.0.1:8555').expiration }}"
'''

RETURN = r'''
_raw:
  description:
    - One dict per term (one dict when no term is given), in the order of the terms.
    - With C(lookup) and a single result the dict itself is returned; use C(query) to always get a list.
  type: list
  elements: dict
  contains:
    access_key_id:
      description: Temporary AccessKey ID (starts with C(STS.)).
      type: str
      sample: STS.NUxxxxxxxxxxxxxxx
    access_key_secret:
      description: Temporary AccessKey secret. Handle it with C(no_log).
      type: str
    security_token:
      description: Security token that goes with the temporary AccessKey. Handle it with C(no_log).
      type: str
    expiration:
      description: When the credentials expire (UTC, ISO 8601).
      type: str
      sample: '2024-11-08T09:44:50Z'
    last_updated:
      description: When the metadata service last refreshed the credentials (UTC, ISO 8601).
      type: str
      sample: '2024-11-08T03:44:50Z'
'''

import threading
import time

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.alicloud.ram.plugins.module_utils.errors import redact
from ansible_collections.alicloud.ram.plugins.module_utils.metadata import ROLE_MISSING, MetadataError
from ansible_collections.alicloud.ram.plugins.module_utils.metadata import metadata_client_for, parse_expiration
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter

display = Display()

PLUGIN = 'alicloud.ram.metadata_credentials'
# Cache key of the credentials found by discovery (no role name given); role names are never empty.
DISCOVERED = ''
RESULT_KEYS = ('access_key_id', 'access_key_secret', 'security_token', 'expiration', 'last_updated')
CACHE_MARGIN = 300


class CredentialCache(object):
    """Role credentials of this process, keyed by endpoint and role, each served until ``expiration - margin``."""

    def __init__(self, margin=CACHE_MARGIN, clock=time.time):
        self.margin = margin
        self._clock = clock
        self._entries = {}
        self._lock = threading.Lock()

    def get(self, endpoint, role_name):
        key = (endpoint, role_name)
        with self._lock:
            valid_until, credentials = self._entries.get(key, (None, None))
            if valid_until is None:
                return None
            if self._clock() >= valid_until:
                del self._entries[key]
                return None
            return dict(credentials)

    def put(self, endpoint, role_name, credentials):
        expires = parse_expiration(credentials.get('expiration'))
        if expires is not None:
            with self._lock:
                self._entries[(endpoint, role_name)] = (expires - self.margin, dict(credentials))

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        return len(self._entries)


_PROCESS_CACHE = CredentialCache()


def _client_factory(options, **settings):
    """Build the metadata client (replaced in unit tests to stub the network and the clock)."""
    return metadata_client_for(options, **settings)


def _credential_cache():
    """The controller process' credential cache (replaced in unit tests)."""
    return _PROCESS_CACHE


def _fail(message):
    """The lookup's errors, through the collection's one redaction path."""
    return AnsibleLookupError(redact('%s: %s' % (PLUGIN, message)))


def _log(message):
    display.vvvv(redact('%s: %s' % (PLUGIN, message)))


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        client = self._client()
        cache = _credential_cache()
        results = []
        for term in terms or [None]:
            role_name = self._role_name_of(term)
            credentials = self._credentials(client, cache, role_name)
            results.append(wrap_var(dict((key, credentials.get(key)) for key in RESULT_KEYS)))
        return results

    # -- options -----------------------------------------------------------------------------

    def _client(self):
        # the defaults of token_ttl, timeout and retries are those of DOCUMENTATION
        options = OptionAdapter.from_plugin(self)
        settings = dict((name, options.get(name)) for name in ('token_ttl', 'timeout', 'retries') if options.get(name) is not None)
        retries = settings.get('retries', 0)
        if not isinstance(retries, int) or retries < 0:
            raise _fail('retries must be 0 or a positive number, got %s' % retries)
        if 'timeout' in settings and not settings['timeout'] > 0:
            raise _fail('timeout must be a positive number of seconds, got %s' % settings['timeout'])
        try:
            client = _client_factory(options, **settings)
        except MetadataError as err:
            raise _fail(err.msg) from None
        display.vvv(redact('%s: metadata service %s' % (PLUGIN, client.describe())))
        return client

    @staticmethod
    def _role_name_of(term):
        if term is None:
            return None
        if not isinstance(term, str):
            raise _fail('a term must be a RAM role name (a string), got %s' % type(term).__name__)
        name = to_text(term).strip()
        return name or None

    # -- credentials -------------------------------------------------------------------------

    def _credentials(self, client, cache, role_name):
        discovering = not role_name
        credentials = cache.get(client.endpoint, role_name or DISCOVERED)
        if credentials is None and discovering:
            # the role's name is asked each time; a named lookup may have fetched its credentials already
            role_name = self._discover(client)
            credentials = cache.get(client.endpoint, role_name)
        if credentials is not None:
            _log('credentials of %s from the in-memory cache (expire at %s)' % (
                "RAM role '%s'" % role_name if role_name else 'the discovered RAM role', credentials.get('expiration')))
        else:
            try:
                credentials = client.role_credentials(role_name)
            except MetadataError as err:
                raise _fail(self._explain(client, role_name, err)) from None
            _log("fetched credentials of RAM role '%s' from %s (imds_mode %s, expire at %s)" % (
                role_name, client.endpoint, client.mode, credentials.get('expiration')))
            cache.put(client.endpoint, role_name, credentials)
        if discovering:
            cache.put(client.endpoint, DISCOVERED, credentials)
        return credentials

    @staticmethod
    def _discover(client):
        try:
            role_name = client.role_name()
        except MetadataError as err:
            raise _fail(err.msg) from None
        _log("the instance holds RAM role '%s'" % role_name)
        return role_name

    @staticmethod
    def _explain(client, role_name, err):
        """The error message, plus which role the instance does hold when the named one is missing."""
        if err.cause != ROLE_MISSING:
            return err.msg
        try:
            attached = client.role_name()
        except MetadataError as discovery_error:
            return err.msg + ('; no RAM role is attached to this instance' if discovery_error.cause == ROLE_MISSING else '')
        if attached != role_name:
            return err.msg + "; the instance holds RAM role '%s'" % attached
        return err.msg
