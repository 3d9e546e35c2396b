# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The metadata_credentials lookup with the metadata service stubbed (no network)."""

import json
from urllib.error import URLError

import pytest
import yaml

from ansible import constants as C
from ansible.errors import AnsibleError

from ansible_collections.alicloud.ram.plugins.lookup import metadata_credentials as plugin
from ansible_collections.alicloud.ram.plugins.lookup.metadata_credentials import CredentialCache
from ansible_collections.alicloud.ram.plugins.module_utils import metadata
from ansible_collections.alicloud.ram.plugins.module_utils.metadata import metadata_client_for

NOW = 1700000000  # 2023-11-14T22:13:20Z
EXPIRES = NOW + 6 * 3600
SECRET = 'very-secret-value-0123'
STS_TOKEN = 'security-token-value-4567'
CREDS = {'AccessKeyId': 'STS.abc', 'AccessKeySecret': SECRET, 'SecurityToken': STS_TOKEN,
         'Expiration': '2023-11-15T04:13:20Z', 'LastUpdated': '2023-11-14T22:13:20Z', 'Code': 'Success'}
ROLE_PATH = metadata.CREDENTIALS_PATH
PLUGIN_NAME = 'alicloud.ram.metadata_credentials'


def new_lookup():
    """A LookupModule with its option definitions registered, as the plugin loader would do."""
    if not C.config.has_configuration_definition('lookup', PLUGIN_NAME):
        definitions = yaml.safe_load(plugin.DOCUMENTATION)['options']
        C.config.initialize_plugin_configuration_definitions('lookup', PLUGIN_NAME, definitions)
    lookup = plugin.LookupModule()
    lookup._load_name = PLUGIN_NAME  # pylint: disable=protected-access
    return lookup


class FakeMetadataService(object):
    """Stand-in for the metadata service, plugged in as the MetadataClient opener."""

    def __init__(self, tokens_offered=True, token_status=200, enforce_token=False, role='web', creds=None,
                 fail_first=0, fail_status=500, serves_metadata=True):
        self.serves_metadata = serves_metadata
        self.tokens_offered = tokens_offered
        self.token_status = token_status
        self.enforce_token = enforce_token
        self.role = role
        self.creds = dict(CREDS) if creds is None else creds
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.log = []
        self.issued = []

    def __call__(self, method, url, headers, timeout):
        path = '/' + url.split('://', 1)[1].split('/', 1)[1]
        self.log.append((method, path, dict(headers)))
        if self.fail_first:
            self.fail_first -= 1
            if self.fail_status is None:
                raise URLError(ConnectionRefusedError(111, 'Connection refused'))
            return self.fail_status, b'Service Unavailable'
        if path == metadata.TOKEN_PATH:
            if method != 'PUT' or not self.tokens_offered:
                return 404, b'Not Found'
            if self.token_status != 200:
                return self.token_status, b'Forbidden'
            token = 'imds-token-%d' % (len(self.issued) + 1)
            self.issued.append(token)
            return 200, token.encode()
        token = headers.get(metadata.TOKEN_HEADER)
        if token is not None and token not in self.issued:
            return 401, b'Unauthorized'
        if token is None and self.enforce_token:
            return 403, b'Forbidden'
        if not self.serves_metadata:
            return 404, b'Not Found'
        if path == metadata.INSTANCE_ID_PATH:
            return 200, b'i-emulated'
        if path == ROLE_PATH:
            return (200, self.role.encode()) if self.role else (404, b'Not Found')
        if self.role and path == ROLE_PATH + self.role:
            return 200, json.dumps(self.creds).encode()
        return 404, b'Not Found'

    def requests(self, method=None, path=None):
        return [entry for entry in self.log if (method is None or entry[0] == method) and (path is None or entry[1] == path)]

    def credential_gets(self):
        return [entry for entry in self.log if entry[0] == 'GET' and entry[1].startswith(ROLE_PATH) and entry[1] != ROLE_PATH]


class Clock(object):
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def env(monkeypatch):
    for name in ('ALIBABA_CLOUD_METADATA_ENDPOINT', 'ALIBABA_CLOUD_IMDS_MODE', 'ALIBABA_CLOUD_IMDSV1_DISABLED', 'ALIBABA_CLOUD_CA_BUNDLE',
                 'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def setup(env):
    """Returns ``make(service) -> run(terms, **options)``; network, clock, sleep and cache are stubbed."""
    lookup = new_lookup()
    clock = Clock()
    cache = CredentialCache(clock=clock)
    sleeps = []
    built = []

    def make(service):
        def factory(options, **settings):
            client = metadata_client_for(options, opener=service, clock=clock, sleep=sleeps.append, **settings)
            built.append(client)
            return client

        env.setattr(plugin, '_client_factory', factory)
        env.setattr(plugin, '_credential_cache', lambda: cache)

        def run(terms=None, variables=None, **options):
            options.setdefault('metadata_endpoint', 'http://md.example')
            return lookup.run(list(terms or []), variables or {}, **options)
        return run

    make.clock = clock
    make.cache = cache
    make.sleeps = sleeps
    make.built = built
    return make


def assert_clean(message):
    assert SECRET not in message and STS_TOKEN not in message and 'imds-token' not in message, message
    assert '\n' not in message.strip(), message


def expected(creds=None):
    creds = creds or CREDS
    return {'access_key_id': creds['AccessKeyId'], 'access_key_secret': creds['AccessKeySecret'],
            'security_token': creds['SecurityToken'], 'expiration': creds['Expiration'], 'last_updated': creds['LastUpdated']}


def is_unsafe(value):
    try:
        from ansible.template import is_trusted_as_template  # pylint: disable=import-outside-toplevel
    except ImportError:  # ansible-core < 2.19
        from ansible.utils.unsafe_proxy import AnsibleUnsafe  # pylint: disable=import-outside-toplevel
        return isinstance(value, AnsibleUnsafe)
    return not is_trusted_as_template(value)


# -- token flow -----------------------------------------------------------------------------

def test_hardened_mode_gets_a_token_and_sends_it(setup):
    service = FakeMetadataService()
    run = setup(service)
    assert run(['web'], imds_mode='hardened', token_ttl=600) == [expected()]
    assert [(m, p) for m, p, _h in service.log] == [('PUT', metadata.TOKEN_PATH), ('GET', ROLE_PATH + 'web')]
    assert service.log[0][2] == {metadata.TOKEN_TTL_HEADER: '600'}
    assert service.log[1][2] == {metadata.TOKEN_HEADER: 'imds-token-1'}


def test_hardened_mode_fails_where_tokens_are_not_offered(setup):
    service = FakeMetadataService(tokens_offered=False)
    with pytest.raises(AnsibleError) as err:
        setup(service)(['web'], imds_mode='hardened')
    assert 'does not offer session tokens' in str(err.value)
    assert service.credential_gets() == []


def test_auto_mode_uses_the_token_when_offered(setup):
    service = FakeMetadataService(enforce_token=True)
    assert setup(service)(['web']) == [expected()]
    assert service.requests('PUT')
    assert service.credential_gets()[0][2] == {metadata.TOKEN_HEADER: 'imds-token-1'}


def test_auto_mode_falls_back_to_plain_when_tokens_are_not_offered(setup):
    service = FakeMetadataService(tokens_offered=False)
    assert setup(service)(['web'], imds_mode='auto') == [expected()]
    assert service.credential_gets()[0][2] == {}


def test_auto_mode_does_not_fall_back_when_the_token_is_refused(setup):
    service = FakeMetadataService(token_status=403)
    with pytest.raises(AnsibleError) as err:
        setup(service)(['web'], imds_mode='auto')
    assert 'refused a session token (HTTP 403)' in str(err.value)
    assert service.credential_gets() == []


def test_ipv1_disabled_environment_turns_auto_into_hardened(setup, env):
    env.setenv('ALIBABA_CLOUD_IMDSV1_DISABLED', 'true')
    service = FakeMetadataService(tokens_offered=False)
    with pytest.raises(AnsibleError) as err:
        setup(service)(['web'])
    assert 'imds_mode is hardened' in str(err.value)


def test_plain_mode_never_asks_for_a_token(setup):
    service = FakeMetadataService()
    assert setup(service)(['web'], imds_mode='plain') == [expected()]
    assert service.requests('PUT') == []
    assert service.log[0][2] == {}


def test_plain_mode_on_a_hardened_only_instance_fails_clearly(setup):
    service = FakeMetadataService(enforce_token=True)
    with pytest.raises(AnsibleError) as err:
        setup(service)(['web'], imds_mode='plain')
    message = str(err.value)
    assert 'HTTP 403' in message and 'hardened' in message
    assert_clean(message)


def test_imds_mode_from_the_environment(setup, env):
    env.setenv('ALIBABA_CLOUD_IMDS_MODE', 'plain')
    service = FakeMetadataService()
    setup(service)(['web'])
    assert service.requests('PUT') == []


def test_endpoint_from_the_environment(setup, env):
    env.setenv('ALIBABA_CLOUD_METADATA_ENDPOINT', 'http://127.0.0.1:8555/')
    service = FakeMetadataService()
    lookup_run = setup(service)
    lookup_run(['web'], metadata_endpoint=None)
    assert setup.built[-1].endpoint == 'http://127.0.0.1:8555'


# -- discovery and terms --------------------------------------------------------------------

def test_no_term_discovers_the_attached_role(setup):
    service = FakeMetadataService(role='AppRole')
    assert setup(service)([]) == [expected()]
    assert [p for _m, p, _h in service.requests('GET')] == [ROLE_PATH, ROLE_PATH + 'AppRole']


def test_several_terms_give_one_result_each_in_order(setup):
    service = FakeMetadataService(role='web')
    run = setup(service)
    result = run(['web', ' web '])
    assert result == [expected(), expected()]
    assert len(service.credential_gets()) == 1


def test_results_are_marked_unsafe(setup):
    creds = dict(CREDS, AccessKeySecret='{{ 7 * 6 }}')
    service = FakeMetadataService(creds=creds)
    result = setup(service)(['web'])[0]
    assert result['access_key_secret'] == '{{ 7 * 6 }}'
    assert all(is_unsafe(value) for value in result.values())


def test_a_term_that_is_not_a_string_is_refused(setup):
    with pytest.raises(AnsibleError) as err:
        setup(FakeMetadataService())([['web']])
    assert 'must be a RAM role name' in str(err.value)


# -- errors ---------------------------------------------------------------------------------

def test_no_role_attached(setup):
    service = FakeMetadataService(role='')
    with pytest.raises(AnsibleError) as err:
        setup(service)([])
    assert 'no RAM role is attached to this instance' in str(err.value)


def test_unknown_role_names_the_attached_one(setup):
    service = FakeMetadataService(role='web')
    with pytest.raises(AnsibleError) as err:
        setup(service)(['db'])
    message = str(err.value)
    assert "RAM role 'db' is not attached" in message and "holds RAM role 'web'" in message
    assert_clean(message)


def test_unknown_role_when_no_role_is_attached(setup):
    with pytest.raises(AnsibleError) as err:
        setup(FakeMetadataService(role=''))(['db'])
    assert "RAM role 'db' is not attached" in str(err.value) and 'no RAM role is attached' in str(err.value)


def test_code_other_than_success_is_an_error_without_secrets(setup):
    service = FakeMetadataService(creds=dict(CREDS, Code='Failed'))
    with pytest.raises(AnsibleError) as err:
        setup(service)(['web'])
    message = str(err.value)
    assert "Code 'Failed'" in message
    assert_clean(message)


def test_already_expired_credentials_are_an_error(setup):
    setup.clock.now = EXPIRES + 1
    with pytest.raises(AnsibleError) as err:
        setup(FakeMetadataService())(['web'])
    message = str(err.value)
    assert 'already expired' in message
    assert_clean(message)
    assert len(setup.cache) == 0


def test_unreachable_endpoint_gives_the_hint(setup):
    service = FakeMetadataService(fail_first=10, fail_status=None)
    with pytest.raises(AnsibleError) as err:
        setup(service)(['web'], retries=1)
    message = str(err.value)
    assert 'cannot reach the metadata service at http://md.example' in message
    assert 'ECS instance' in message and 'metadata_endpoint' in message
    assert_clean(message)


@pytest.mark.parametrize('terms', [['web'], []], ids=['named', 'discovered'])
@pytest.mark.parametrize('service', [
    lambda: FakeMetadataService(fail_first=100, fail_status=None),
    lambda: FakeMetadataService(serves_metadata=False),
], ids=['no answer', 'no metadata served'])
def test_an_instance_whose_metadata_endpoint_is_off_is_told_so_not_blamed_on_the_role(setup, service, terms):
    with pytest.raises(AnsibleError) as err:
        setup(service())(terms, retries=0, imds_mode='plain')
    message = str(err.value)
    assert 'HttpEndpoint=disabled' in message and 'ecs_instance_metadata_options' in message, message
    assert 'not attached' not in message and 'no RAM role' not in message and 'holds RAM role' not in message, message
    assert_clean(message)


def test_role_missing_endpoint_off_and_token_refused_read_differently(setup):
    messages = {}
    for name, service, options in (
            ('role missing', FakeMetadataService(role=''), {}),
            ('endpoint off', FakeMetadataService(fail_first=100, fail_status=None), {'retries': 0}),
            ('token refused', FakeMetadataService(token_status=403), {'imds_mode': 'hardened'})):
        with pytest.raises(AnsibleError) as err:
            setup(service)(['web'], **options)
        messages[name] = str(err.value)
    assert "RAM role 'web' is not attached to this instance" in messages['role missing']
    assert 'HttpEndpoint=disabled' not in messages['role missing']
    assert 'cannot reach the metadata service' in messages['endpoint off']
    assert 'refused a session token (HTTP 403)' in messages['token refused']
    assert 'HttpEndpoint=disabled' not in messages['token refused'] and 'not attached' not in messages['token refused']


@pytest.mark.parametrize('options, text', [
    ({'token_ttl': 0}, 'token_ttl must be between 1 and 21600'),
    ({'token_ttl': 21601}, 'token_ttl must be between 1 and 21600'),
    ({'imds_mode': 'v2'}, 'imds_mode'),
    ({'retries': -1}, 'retries'),
    ({'timeout': 0}, 'timeout'),
    ({'metadata_endpoint': 'ftp://md'}, 'metadata_endpoint'),
])
def test_invalid_options_fail_before_any_request(setup, options, text):
    service = FakeMetadataService()
    with pytest.raises(AnsibleError) as err:
        setup(service)(['web'], **options)
    assert text in str(err.value)
    assert service.log == []


# -- retries --------------------------------------------------------------------------------

@pytest.mark.parametrize('fail_status', [500, 503, None])
def test_5xx_and_connection_errors_are_retried(setup, fail_status):
    service = FakeMetadataService(fail_first=2, fail_status=fail_status)
    assert setup(service)(['web'], retries=3) == [expected()]
    assert len(setup.sleeps) == 2
    assert setup.sleeps[1] > setup.sleeps[0]


def test_retries_are_bounded(setup):
    service = FakeMetadataService(fail_first=10, fail_status=503)
    with pytest.raises(AnsibleError) as err:
        setup(service)(['web'], retries=2, imds_mode='plain')
    assert 'HTTP 503' in str(err.value)
    assert len(service.log) == 3


def test_4xx_is_not_retried(setup):
    service = FakeMetadataService(role='web')
    with pytest.raises(AnsibleError):
        setup(service)(['db'], imds_mode='plain')
    # one GET for the role, one to tell a missing role from an endpoint that is off, one to name the attached
    # role in the message; no retry of any
    assert [p for _m, p, _h in service.log] == [ROLE_PATH + 'db', metadata.INSTANCE_ID_PATH, ROLE_PATH]
    assert setup.sleeps == []


def test_token_refusal_is_not_retried(setup):
    service = FakeMetadataService(token_status=403)
    with pytest.raises(AnsibleError):
        setup(service)(['web'], imds_mode='hardened', retries=5)
    assert len(service.requests('PUT')) == 1
    assert setup.sleeps == []


# -- cache ----------------------------------------------------------------------------------

def test_one_hundred_lookups_fetch_once(setup):
    service = FakeMetadataService()
    run = setup(service)
    for _item in range(100):
        assert run(['web']) == [expected()]
    assert len(service.credential_gets()) == 1
    assert len(service.requests('PUT')) == 1


def test_discovery_is_cached_too(setup):
    service = FakeMetadataService()
    run = setup(service)
    for _item in range(10):
        run([])
    assert len(service.log) == 3  # token, role name, credentials
    run(['web'])
    assert len(service.log) == 3


def test_discovering_a_role_a_named_lookup_fetched_serves_the_cached_credentials(setup):
    service = FakeMetadataService(role='web')
    run = setup(service)
    first = run(['web'])
    assert run([]) == first
    assert len(service.credential_gets()) == 1
    # the discovery asked only the role's name; later discoveries ask nothing at all
    assert [p for _m, p, _h in service.requests('GET')] == [ROLE_PATH + 'web', ROLE_PATH]
    asked = len(service.log)
    run([])
    assert len(service.log) == asked


def test_a_named_and_a_discovered_term_in_one_lookup_fetch_once(setup):
    service = FakeMetadataService(role='web')
    assert setup(service)(['web', '']) == [expected(), expected()]
    assert len(service.credential_gets()) == 1


def test_cache_is_per_endpoint(setup):
    service = FakeMetadataService()
    run = setup(service)
    run(['web'], metadata_endpoint='http://one.example')
    run(['web'], metadata_endpoint='http://two.example')
    assert len(service.credential_gets()) == 2


def test_cache_expires_shortly_before_the_credentials(setup):
    service = FakeMetadataService()
    run = setup(service)
    run(['web'])
    setup.clock.now = EXPIRES - 301
    run(['web'])
    assert len(service.credential_gets()) == 1
    # within the last 5 minutes the cached entry is no longer served: fetch again
    service.creds = dict(CREDS, AccessKeyId='STS.renewed', Expiration='2023-11-15T10:13:20Z')
    setup.clock.now = EXPIRES - 299
    assert run(['web'])[0]['access_key_id'] == 'STS.renewed'
    assert len(service.credential_gets()) == 2
    assert run(['web'])[0]['access_key_id'] == 'STS.renewed'
    assert len(service.credential_gets()) == 2


def test_credentials_close_to_expiry_are_returned_but_not_cached(setup):
    service = FakeMetadataService()
    run = setup(service)
    setup.clock.now = EXPIRES - 60
    run(['web'])
    run(['web'])
    assert len(service.credential_gets()) == 2


def test_failures_are_not_cached(setup):
    service = FakeMetadataService(fail_first=1, fail_status=503)
    run = setup(service)
    with pytest.raises(AnsibleError):
        run(['web'], retries=0, imds_mode='plain')
    assert run(['web'], retries=0, imds_mode='plain') == [expected()]


def test_the_process_cache_is_the_default():
    assert plugin._credential_cache() is plugin._credential_cache() is plugin._PROCESS_CACHE  # pylint: disable=protected-access


def test_credential_cache_expires_with_margin():
    now = [NOW]
    cache = CredentialCache(margin=300, clock=lambda: now[0])
    creds = {'access_key_id': 'a', 'expiration': '2023-11-14T23:13:20Z'}  # NOW + 3600
    cache.put('http://md', 'web', creds)
    assert cache.get('http://md', 'web') == creds
    assert cache.get('http://other', 'web') is None
    assert cache.get('http://md', 'db') is None
    now[0] += 3600 - 301
    assert cache.get('http://md', 'web') == creds
    now[0] += 1
    assert cache.get('http://md', 'web') is None
    assert len(cache) == 0


def test_the_proxy_environment_reaches_the_metadata_client(setup, env):
    env.setenv('HTTP_PROXY', 'http://user:Pr0xyPw@proxy.example:3128')
    env.setenv('no_proxy', 'md.example')
    run = setup(FakeMetadataService())
    run(['web'])
    client = setup.built[-1]
    assert (client.network.http_proxy, client.network.no_proxy) == ('http://user:Pr0xyPw@proxy.example:3128', 'md.example')
    assert client.describe() == 'http://md.example, direct (exempted by env no_proxy)'
    env.delenv('no_proxy')
    run(['web'], metadata_endpoint='http://md2.example')
    assert setup.built[-1].describe() == 'http://md2.example, through proxy http://********@proxy.example:3128 (env HTTP_PROXY)'


@pytest.mark.parametrize('endpoint', ['http://admin:Secr3tPw@md.example', 'http://md.example/?token=Secr3tPw'])
def test_endpoint_passwords_and_tokens_never_reach_the_error(setup, endpoint):
    run = setup(FakeMetadataService())
    with pytest.raises(AnsibleError) as exc:
        run(['web'], metadata_endpoint=endpoint)
    assert 'Secr3tPw' not in str(exc.value) and 'metadata_endpoint' in str(exc.value)
