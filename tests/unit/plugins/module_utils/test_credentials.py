# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import os
from urllib.parse import urlsplit

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import endpoints
from ansible_collections.alicloud.ram.plugins.module_utils import credentials as credentials_module
from ansible_collections.alicloud.ram.plugins.module_utils.client import service_client_for
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials, CredentialsError, resolve_credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import redact
from ansible_collections.alicloud.ram.plugins.module_utils.metadata import metadata_client_for
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.tests.emulator import control
from ansible_collections.alicloud.ram.tests.unit.emulated import ENDPOINT

ACCOUNT = '1234567890123456'
DEPLOYER = 'acs:ram::%s:role/deployer' % ACCOUNT


def trust(principal):
    return json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': principal}], 'Version': '1'})


class Cloud(object):
    """The in-process emulator as STS and metadata service: role ``deployer`` (assumable by the account),
    role ``web`` held by the metadata service's instance; records what the resolver asked for."""

    def __init__(self, emulated):
        self.emulated = emulated
        self.key, self.secret = emulated.config.access_key_id, emulated.config.access_key_secret
        admin = Credentials(self.key, self.secret, None, 'test')
        ram = service_client_for('ram', admin, OptionAdapter.from_dict({'ram_endpoint': ENDPOINT}), env={})
        ram.call('CreateRole', {'RoleName': 'deployer', 'AssumeRolePolicyDocument': trust({'RAM': ['acs:ram::%s:root' % ACCOUNT]})})
        ram.call('CreateRole', {'RoleName': 'web', 'AssumeRolePolicyDocument': trust({'Service': ['ecs.aliyuncs.com']})})
        control.handle(emulated.app, 'POST', 'metadata', {}, {'role_name': 'web'})
        with emulated.state.lock:
            self.instance_region = emulated.state.current_instance()['RegionId']
        emulated.state.calls[:] = []
        self.metadata_clients = []
        self.metadata_paths = []

    def metadata_factory(self, options, env):
        """The collection's own factory, with the network replaced by the in-process emulator."""
        client = metadata_client_for(options, env, opener=self._metadata, sleep=lambda s: None)
        self.metadata_clients.append((client.endpoint, client.mode))
        return client

    def _metadata(self, method, url, headers, timeout):
        path = urlsplit(url).path
        self.metadata_paths.append(path)
        reply = self.emulated.app.metadata(method, path, dict((k.lower(), v) for k, v in headers.items()))
        if reply.lost:
            raise ConnectionResetError('closed without an answer')
        return reply.status, reply.data

    def assume_role_calls(self):
        return [entry['params'] for entry in self.emulated.state.calls if entry['action'] == 'AssumeRole']

    def keys(self):
        return {'access_key_id': self.key, 'access_key_secret': self.secret}


@pytest.fixture
def cloud(emulated):
    return Cloud(emulated)


def resolve(cloud, options=None, env=None, home='/nonexistent'):
    values = {'sts_endpoint': ENDPOINT}
    values.update(options or {})
    return resolve_credentials(OptionAdapter.from_dict(values), metadata_client_factory=cloud.metadata_factory,
                               env=env or {}, home=str(home))


def write_cli(home, profiles, current='default'):
    os.makedirs(os.path.join(str(home), '.aliyun'), exist_ok=True)
    with open(os.path.join(str(home), '.aliyun', 'config.json'), 'w') as handle:
        json.dump({'current': current, 'profiles': profiles}, handle)


def write_ini(home, text, path=None):
    path = path or os.path.join(str(home), '.alibabacloud', 'credentials.ini')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write(text)
    return path


FULL_ENV = {'ALIBABA_CLOUD_ACCESS_KEY_ID': 'envid', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 'envsecret',
            'ALICLOUD_ACCESS_KEY': 'legacyid', 'ALICLOUD_SECRET_KEY': 'legacysecret', 'ALIBABA_CLOUD_ECS_METADATA': 'web'}
ENV_KEYS_ONLY = {'ALIBABA_CLOUD_ACCESS_KEY_ID': 'envid', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 'envsecret'}


def test_options_win_over_everything(cloud):
    creds = resolve(cloud, {'access_key_id': 'optid', 'access_key_secret': 'optsecret', 'security_token': 'opttoken'}, env=FULL_ENV)
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token, creds.source) == ('optid', 'optsecret', 'opttoken', 'options')
    assert cloud.metadata_clients == []


def test_env_then_legacy_env(cloud):
    assert resolve(cloud, env=FULL_ENV).source == 'env'
    legacy = dict((k, v) for k, v in FULL_ENV.items() if k.startswith('ALICLOUD_'))
    legacy['ALICLOUD_SECURITY_TOKEN'] = 'legacytoken'
    creds = resolve(cloud, env=legacy)
    assert (creds.access_key_id, creds.security_token, creds.source) == ('legacyid', 'legacytoken', 'env (legacy ALICLOUD_*)')


def test_env_token_is_used_with_env_keys(cloud):
    env = {'ALIBABA_CLOUD_ACCESS_KEY_ID': 'STS.x', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 's3cret', 'ALIBABA_CLOUD_SECURITY_TOKEN': 'tok'}
    assert resolve(cloud, env=env).security_token == 'tok'


@pytest.mark.parametrize('options,env,fragment', [
    ({'access_key_id': 'a'}, {}, 'access_key_id is set but access_key_secret is not'),
    ({'access_key_secret': 'secretvalue'}, {}, 'access_key_secret is set but access_key_id is not'),
    ({'security_token': 'tokenvalue'}, {}, 'security_token is set without'),
    ({}, {'ALIBABA_CLOUD_ACCESS_KEY_ID': 'a'}, 'ALIBABA_CLOUD_ACCESS_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not'),
])
def test_incomplete_pairs_are_errors_without_values(cloud, options, env, fragment):
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, options, env=env)
    assert fragment in exc.value.msg
    assert 'secretvalue' not in exc.value.msg and 'tokenvalue' not in exc.value.msg


def test_nothing_found_names_options_and_env_vars(cloud):
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud)
    for name in ('access_key_id', 'ALIBABA_CLOUD_ACCESS_KEY_ID', 'profile', 'ALIBABA_CLOUD_PROFILE', 'ecs_role_name', 'ALIBABA_CLOUD_ECS_METADATA'):
        assert name in exc.value.msg


# -- precedence: the task's own source before the environment --------------------------------

def test_an_explicit_profile_wins_over_key_variables_in_the_environment(cloud, tmp_path):
    write_cli(tmp_path, [{'name': 'named', 'mode': 'AK', 'access_key_id': 'named', 'access_key_secret': 'x2x'}])
    creds = resolve(cloud, {'profile': 'named'}, env=FULL_ENV, home=tmp_path)
    assert (creds.access_key_id, creds.source) == ('named', 'profile named (%s)' % os.path.join(str(tmp_path), '.aliyun', 'config.json'))


def test_an_explicit_ecs_role_name_wins_over_key_variables_in_the_environment(cloud):
    creds = resolve(cloud, {'ecs_role_name': 'web'}, env=FULL_ENV)
    assert creds.source == 'ecs_role_name web' and creds.access_key_id.startswith('STS.')
    assert cloud.metadata_clients == [('http://100.100.100.200', 'auto')]


@pytest.mark.parametrize('options,named', [
    ({'access_key_id': 'a', 'access_key_secret': 'b', 'profile': 'p'}, 'access_key_id and profile'),
    ({'profile': 'p', 'ecs_role_name': 'web'}, 'profile and ecs_role_name'),
    ({'access_key_id': 'a', 'access_key_secret': 'b', 'ecs_role_name': 'web'}, 'access_key_id and ecs_role_name'),
    ({'security_token': 'tok', 'profile': 'p'}, 'access_key_id and profile'),
    ({'access_key_id': 'a', 'access_key_secret': 'b', 'profile': 'p', 'ecs_role_name': 'web'}, 'access_key_id, profile and ecs_role_name'),
])
def test_two_explicit_sources_on_one_task_fail_naming_both(cloud, options, named):
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, options, env=FULL_ENV)
    assert 'this task sets %s (options or module_defaults), which name different credential sources' % named in exc.value.msg
    assert cloud.metadata_clients == [] and 'b' not in exc.value.msg.split()


def test_environment_sources_in_order(cloud, tmp_path):
    write_cli(tmp_path, [{'name': 'default', 'mode': 'AK', 'access_key_id': 'dflt', 'access_key_secret': 'x1x'},
                         {'name': 'ci', 'mode': 'AK', 'access_key_id': 'ci', 'access_key_secret': 'x2x'}])
    env = dict(ENV_KEYS_ONLY, ALIBABA_CLOUD_PROFILE='ci', ALIBABA_CLOUD_ECS_METADATA='web')
    assert resolve(cloud, env=env, home=tmp_path).source == 'env'
    del env['ALIBABA_CLOUD_ACCESS_KEY_ID'], env['ALIBABA_CLOUD_ACCESS_KEY_SECRET']
    assert resolve(cloud, env=env, home=tmp_path).access_key_id == 'ci'
    del env['ALIBABA_CLOUD_PROFILE']
    assert resolve(cloud, env=env, home=tmp_path).source == 'ecs_role_name web'
    assert resolve(cloud, home=tmp_path).access_key_id == 'dflt'


# -- profiles ------------------------------------------------------------------------------------

def test_cli_profile_modes(cloud, tmp_path):
    write_cli(tmp_path, [
        dict(cloud.keys(), name='default', mode='AK'),
        {'name': 'sts', 'mode': 'StsToken', 'access_key_id': 'STS.ak2', 'access_key_secret': 'sk2', 'sts_token': 'tok2'},
        dict(cloud.keys(), name='arn', mode='RamRoleArn', ram_role_arn=DEPLOYER, ram_session_name='sess', expired_seconds=900,
             sts_region='cn-beijing'),
        {'name': 'ecs', 'mode': 'EcsRamRole', 'ram_role_name': 'web'},
        {'name': 'chain', 'mode': 'ChainableRamRoleArn', 'source_profile': 'default', 'ram_role_arn': DEPLOYER},
    ])
    creds = resolve(cloud, {'profile': 'default'}, home=tmp_path)
    assert (creds.access_key_id, creds.security_token) == (cloud.key, None)
    assert creds.source == 'profile default (%s)' % os.path.join(str(tmp_path), '.aliyun', 'config.json')

    creds = resolve(cloud, {'profile': 'sts'}, home=tmp_path)
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == ('STS.ak2', 'sk2', 'tok2')

    creds = resolve(cloud, {'profile': 'arn'}, home=tmp_path)
    assert creds.access_key_id.startswith('STS.') and creds.security_token and creds.source.startswith('assume_role %s' % DEPLOYER)
    assert cloud.assume_role_calls()[-1] == {'RoleArn': DEPLOYER, 'RoleSessionName': 'sess', 'DurationSeconds': '900'}

    creds = resolve(cloud, {'profile': 'ecs'}, home=tmp_path)
    assert creds.access_key_id.startswith('STS.') and cloud.metadata_clients == [('http://100.100.100.200', 'auto')]

    creds = resolve(cloud, {'profile': 'chain'}, home=tmp_path)
    assert creds.source == 'assume_role %s (via profile default (%s))' % (DEPLOYER, os.path.join(str(tmp_path), '.aliyun', 'config.json'))


def test_profile_from_env_and_unknown_profile(cloud, tmp_path):
    write_cli(tmp_path, [{'name': 'ci', 'mode': 'AK', 'access_key_id': 'ci-ak', 'access_key_secret': 'ci-sk'}])
    assert resolve(cloud, env={'ALIBABA_CLOUD_PROFILE': 'ci'}, home=tmp_path).access_key_id == 'ci-ak'
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, {'profile': 'missing'}, home=tmp_path)
    assert "profile 'missing' was found neither" in exc.value.msg


def test_unsupported_mode_and_missing_keys(cloud, tmp_path):
    write_cli(tmp_path, [{'name': 'sso', 'mode': 'CloudSSO'}, {'name': 'half', 'mode': 'StsToken', 'access_key_id': 'a', 'access_key_secret': 'b'}])
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, {'profile': 'sso'}, home=tmp_path)
    assert 'CloudSSO' in exc.value.msg and 'not supported' in exc.value.msg
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, {'profile': 'half'}, home=tmp_path)
    assert 'lacks sts_token' in exc.value.msg


def test_malformed_cli_file(cloud, tmp_path):
    os.makedirs(str(tmp_path / '.aliyun'))
    (tmp_path / '.aliyun' / 'config.json').write_text('{"profiles": [ {"name": "x", "access_key_secret": "leak"')
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, {'profile': 'x'}, home=tmp_path)
    assert 'not valid JSON' in exc.value.msg and 'leak' not in exc.value.msg


def test_ini_profiles(cloud, tmp_path):
    write_ini(tmp_path, """
[default]
type = access_key   # the usual kind
access_key_id = ini-ak
access_key_secret = ini-sk%%with-percent

[tmp]
type = sts
access_key_id = STS.ini
access_key_secret = ini-sk2
security_token = ini-tok

[arn]
type = ram_role_arn
access_key_id = %s
access_key_secret = %s
role_arn = %s
role_session_name = s1

[inst]
type = ecs_ram_role
role_name = web

[odd]
type = rsa_key_pair
""" % (cloud.key, cloud.secret, DEPLOYER))
    creds = resolve(cloud, {'profile': 'default'}, home=tmp_path)
    assert (creds.access_key_id, creds.access_key_secret) == ('ini-ak', 'ini-sk%with-percent')
    assert resolve(cloud, {'profile': 'tmp'}, home=tmp_path).security_token == 'ini-tok'
    assert resolve(cloud, {'profile': 'arn'}, home=tmp_path).access_key_id.startswith('STS.')
    assert cloud.assume_role_calls()[-1]['RoleSessionName'] == 's1'
    assert resolve(cloud, {'profile': 'inst'}, home=tmp_path).access_key_id.startswith('STS.')
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, {'profile': 'odd'}, home=tmp_path)
    assert 'rsa_key_pair' in exc.value.msg


def test_cli_profile_beats_ini_profile_of_the_same_name(cloud, tmp_path):
    write_cli(tmp_path, [{'name': 'both', 'mode': 'AK', 'access_key_id': 'cli', 'access_key_secret': 'x1x'}])
    write_ini(tmp_path, '[both]\ntype = access_key\naccess_key_id = ini\naccess_key_secret = x2x\n')
    assert resolve(cloud, {'profile': 'both'}, home=tmp_path).access_key_id == 'cli'
    env = {'ALIBABA_CLOUD_CLI_PROFILE_DISABLED': 'true'}
    assert resolve(cloud, {'profile': 'both'}, env=env, home=tmp_path).access_key_id == 'ini'


def test_credentials_file_env_and_malformed_ini(cloud, tmp_path):
    path = write_ini(tmp_path, '[p]\ntype = access_key\naccess_key_id = custom\naccess_key_secret = s3c\n', path=str(tmp_path / 'c.ini'))
    assert resolve(cloud, {'profile': 'p'}, env={'ALIBABA_CLOUD_CREDENTIALS_FILE': path}, home=tmp_path).access_key_id == 'custom'
    bad = write_ini(tmp_path, 'access_key_secret = leaked-value\n', path=str(tmp_path / 'bad.ini'))
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, {'profile': 'p'}, env={'ALIBABA_CLOUD_CREDENTIALS_FILE': bad}, home=tmp_path)
    assert 'cannot parse' in exc.value.msg and 'leaked-value' not in exc.value.msg
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, {'profile': 'p'}, env={'ALIBABA_CLOUD_CREDENTIALS_FILE': str(tmp_path / 'nope.ini')}, home=tmp_path)
    assert 'does not exist' in exc.value.msg


def test_default_ini_section_is_the_last_resort(cloud, tmp_path):
    write_ini(tmp_path, '[default]\ntype = access_key\naccess_key_id = d\naccess_key_secret = s3c\n')
    assert resolve(cloud, home=tmp_path).access_key_id == 'd'


# -- region hints ----------------------------------------------------------------------------------

def test_the_chosen_profile_gives_its_region(cloud, tmp_path):
    write_cli(tmp_path, [{'name': 'default', 'mode': 'AK', 'access_key_id': 'a', 'access_key_secret': 'x1x', 'region_id': 'cn-beijing'},
                         {'name': 'chain', 'mode': 'ChainableRamRoleArn', 'source_profile': 'default', 'ram_role_arn': DEPLOYER}])
    path = os.path.join(str(tmp_path), '.aliyun', 'config.json')
    assert resolve(cloud, {'profile': 'default'}, home=tmp_path).region_hint == ('cn-beijing', 'profile default (%s) region_id' % path)
    assert resolve(cloud, home=tmp_path).region_hint == ('cn-beijing', 'profile default (%s) region_id' % path)
    # keys from the environment: the profile files are not the source, so they give no region
    assert resolve(cloud, env=ENV_KEYS_ONLY, home=tmp_path).region_hint is None


def test_an_instance_role_takes_the_region_of_the_instance_only_when_none_is_set(cloud):
    creds = resolve(cloud, {'ecs_role_name': 'web'})
    assert creds.region_hint == (cloud.instance_region, 'metadata service http://100.100.100.200 (region-id)')
    assert '/latest/meta-data/region-id' in cloud.metadata_paths
    cloud.metadata_paths[:] = []
    assert resolve(cloud, {'ecs_role_name': 'web', 'region': 'cn-shanghai'}).region_hint is None
    assert resolve(cloud, {'ecs_role_name': 'web'}, env={'ALIBABA_CLOUD_REGION_ID': 'cn-shanghai'}).region_hint is None
    assert '/latest/meta-data/region-id' not in cloud.metadata_paths


def test_region_precedence_option_env_profile_metadata():
    hint = ('cn-beijing', 'profile p')
    options = OptionAdapter.from_dict({'region': 'eu-central-1'})
    env = {'ALIBABA_CLOUD_REGION_ID': 'cn-shanghai'}
    assert endpoints.find_region(options, env, hint) == ('eu-central-1', 'option region')
    assert endpoints.find_region(OptionAdapter.from_dict({}), env, hint) == ('cn-shanghai', 'env ALIBABA_CLOUD_REGION_ID')
    assert endpoints.find_region(OptionAdapter.from_dict({}), {}, hint) == ('cn-beijing', 'profile p')
    with pytest.raises(endpoints.EndpointError) as exc:
        endpoints.find_region(OptionAdapter.from_dict({}), {}, ('cn beijing', 'profile p region_id'))
    assert "profile p region_id 'cn beijing' is not a valid region id" in str(exc.value)


# -- instance RAM role -----------------------------------------------------------------------------

def test_ecs_role_name_option_env_and_endpoint(cloud):
    creds = resolve(cloud, {'ecs_role_name': 'web', 'metadata_endpoint': 'http://127.0.0.1:9'})
    assert creds.source == 'ecs_role_name web' and cloud.metadata_clients == [('http://127.0.0.1:9', 'auto')]
    env = {'ALIBABA_CLOUD_ECS_METADATA': 'web', 'ALIBABA_CLOUD_METADATA_ENDPOINT': '127.0.0.1:7', 'ALIBABA_CLOUD_IMDSV1_DISABLED': 'true'}
    resolve(cloud, env=env)
    assert cloud.metadata_clients[-1] == ('http://127.0.0.1:7', 'hardened')
    with pytest.raises(CredentialsError):
        resolve(cloud, env=dict(env, ALIBABA_CLOUD_ECS_METADATA_DISABLED='true'))


def test_metadata_errors_become_credentials_errors(cloud):
    control.handle(cloud.emulated.app, 'POST', 'metadata', {}, {'role_name': ''})
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, {'ecs_role_name': 'web'})
    assert 'instance RAM role web' in exc.value.msg and 'not attached to this instance' in exc.value.msg


# -- assume_role ----------------------------------------------------------------------------------

def test_assume_role_on_top_of_base_credentials(cloud):
    options = dict(cloud.keys(), assume_role={'role_arn': DEPLOYER, 'session_name': None, 'duration_seconds': 1800,
                                              'policy': {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'ram:Get*', 'Resource': '*'}]},
                                              'external_id': 'ext-1'})
    creds = resolve(cloud, options)
    assert creds.access_key_id.startswith('STS.') and creds.expiration
    assert creds.source == 'assume_role %s (via options)' % DEPLOYER
    call = cloud.assume_role_calls()[0]
    assert (call['RoleSessionName'], call['DurationSeconds'], call['ExternalId']) == ('ansible-alicloud-ram', '1800', 'ext-1')
    assert cloud.emulated.state.calls[0]['access_key_id'] == cloud.key


def test_assume_role_failure_is_a_clean_error(cloud):
    cloud.emulated.script('AssumeRole', code='NoPermission', status=403, message='You are not authorized')
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, dict(cloud.keys(), assume_role={'role_arn': DEPLOYER}))
    assert exc.value.msg.startswith('assume_role %s (with credentials from options) failed: NoPermission' % DEPLOYER)
    assert exc.value.api_error.request_id == 'SCRIPTED-REQUEST'
    assert cloud.secret not in exc.value.msg


def test_credentials_never_show_their_secret():
    creds = Credentials('LTAIid', 'the-secret', 'the-token', 'options')
    for text in (repr(creds), str(creds), '%s' % creds):
        assert 'the-secret' not in text and 'the-token' not in text and 'LTAIid' in text
    assert sorted(creds.secrets()) == ['the-secret', 'the-token']
    assert creds == Credentials('LTAIid', 'the-secret', 'the-token', 'other source')


def env_keys(cloud, **extra):
    return dict({'ALIBABA_CLOUD_ACCESS_KEY_ID': cloud.key, 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': cloud.secret}, **extra)


def test_assume_role_env_fallback_when_option_not_given(cloud):
    env = env_keys(cloud, ALICLOUD_ASSUME_ROLE_ARN=DEPLOYER, ALICLOUD_ASSUME_ROLE_SESSION_NAME='awx-job-42',
                   ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION='1200')
    creds = resolve(cloud, env=env)
    assert creds.access_key_id.startswith('STS.') and creds.source == 'assume_role %s (via env)' % DEPLOYER
    assert cloud.assume_role_calls() == [{'RoleArn': DEPLOYER, 'RoleSessionName': 'awx-job-42', 'DurationSeconds': '1200'}]


def test_assume_role_env_arn_alone_uses_the_default_session_name(cloud):
    resolve(cloud, env=env_keys(cloud, ALICLOUD_ASSUME_ROLE_ARN=DEPLOYER))
    assert cloud.assume_role_calls() == [{'RoleArn': DEPLOYER, 'RoleSessionName': 'ansible-alicloud-ram'}]


def test_assume_role_option_wins_over_env(cloud):
    env = env_keys(cloud, ALICLOUD_ASSUME_ROLE_ARN='acs:ram::%s:role/from-env' % ACCOUNT, ALICLOUD_ASSUME_ROLE_SESSION_NAME='env-session',
                   ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION='1200')
    resolve(cloud, {'assume_role': {'role_arn': DEPLOYER}}, env=env)
    # the option is taken as a whole: no session name or duration is borrowed from the environment
    assert cloud.assume_role_calls() == [{'RoleArn': DEPLOYER, 'RoleSessionName': 'ansible-alicloud-ram'}]


def test_empty_assume_role_env_is_unset(cloud):
    env = dict(ENV_KEYS_ONLY, ALICLOUD_ASSUME_ROLE_ARN='', ALICLOUD_ASSUME_ROLE_SESSION_NAME='', ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION='')
    creds = resolve(cloud, env=env)
    assert (creds.access_key_id, creds.source) == ('envid', 'env')
    env['ALICLOUD_ASSUME_ROLE_ARN'] = '  '
    assert resolve(cloud, env=env).source == 'env' and cloud.assume_role_calls() == []


def test_empty_optional_env_of_a_credential_type_count_as_unset(cloud):
    # What an AWX credential type injects when only the key pair was filled in.
    env = {'ALIBABA_CLOUD_ACCESS_KEY_ID': 'awxid', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 'awxsecret', 'ALIBABA_CLOUD_SECURITY_TOKEN': '',
           'ALIBABA_CLOUD_REGION_ID': '', 'ALICLOUD_ASSUME_ROLE_ARN': '', 'ALICLOUD_ASSUME_ROLE_SESSION_NAME': ''}
    creds = resolve(cloud, env=env)
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token, creds.source) == ('awxid', 'awxsecret', None, 'env')
    assert cloud.assume_role_calls() == []


def test_empty_env_key_pair_falls_through_to_the_next_source(cloud):
    env = {'ALIBABA_CLOUD_ACCESS_KEY_ID': '', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': '', 'ALIBABA_CLOUD_SECURITY_TOKEN': '',
           'ALICLOUD_ACCESS_KEY': 'legacyid', 'ALICLOUD_SECRET_KEY': 'legacysecret'}
    assert resolve(cloud, env=env).source == 'env (legacy ALICLOUD_*)'


def test_bad_assume_role_session_expiration_env_is_a_clean_error(cloud):
    env = dict(ENV_KEYS_ONLY, ALICLOUD_ASSUME_ROLE_ARN=DEPLOYER, ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION='1h')
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, env=env)
    assert exc.value.msg == 'ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION must be an integer number of seconds'
    assert cloud.assume_role_calls() == []


def test_empty_region_env_of_a_credential_type_counts_as_unset():
    assert endpoints.resolve_region('ram', OptionAdapter.from_dict({}), env={'ALIBABA_CLOUD_REGION_ID': ''}) == 'cn-hangzhou'
    env = {'ALIBABA_CLOUD_REGION_ID': '', 'ALICLOUD_REGION': 'cn-beijing'}
    assert endpoints.resolve_region('ecs', OptionAdapter.from_dict({}), env=env) == 'cn-beijing'


def test_assume_role_waits_for_a_role_sts_does_not_see_yet(cloud, monkeypatch):
    slept = []
    monkeypatch.setattr(credentials_module.time, 'sleep', slept.append)
    cloud.emulated.script('AssumeRole', code='EntityNotExist.Role', status=404, message='The role not exists')
    cloud.emulated.script('AssumeRole', code='EntityNotExist.Role', status=404, message='The role not exists')
    creds = resolve(cloud, dict(cloud.keys(), assume_role={'role_arn': DEPLOYER}))
    assert creds.access_key_id.startswith('STS.')
    assert len(slept) == 2 and all(0 < s <= 8 for s in slept)


# -- pod identity (RRSA): OIDC token file + anonymous STS AssumeRoleWithOIDC -----------------------

PROVIDER = 'acs:ram::%s:oidc-provider/ack-rrsa-c1' % ACCOUNT
POD_ROLE = 'acs:ram::%s:role/pod-role' % ACCOUNT
SERVICE_ACCOUNT = 'system:serviceaccount:awx:awx-ee'


class Pod(object):
    """An ACK-like pod identity in the in-process emulator: provider ``ack-rrsa-c1`` and ``pod-role`` trusting it."""

    def __init__(self, cloud, tmp_path):
        self.cloud = cloud
        self.token_file = str(tmp_path / 'rrsa-token')
        app = cloud.emulated.app
        control.handle(app, 'POST', 'oidc_providers', {}, {'name': 'ack-rrsa-c1'})
        control.handle(app, 'POST', 'oidc_providers', {}, {'name': 'other-cluster'})
        admin = Credentials(cloud.key, cloud.secret, None, 'test')
        ram = service_client_for('ram', admin, OptionAdapter.from_dict({'ram_endpoint': ENDPOINT}), env={})
        statement = {'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Federated': [PROVIDER]},
                     'Condition': {'StringEquals': {'oidc:aud': 'sts.aliyuncs.com', 'oidc:sub': SERVICE_ACCOUNT}}}
        ram.call('CreateRole', {'RoleName': 'pod-role', 'AssumeRolePolicyDocument': json.dumps({'Version': '1', 'Statement': [statement]})})
        self.write_token()
        cloud.emulated.state.calls[:] = []

    def token(self, provider='ack-rrsa-c1', **claims):
        body = dict({'provider': provider, 'subject': SERVICE_ACCOUNT}, **claims)
        return control.handle(self.cloud.emulated.app, 'POST', 'oidc_tokens', {}, body)[1]['token']

    def write_token(self, provider='ack-rrsa-c1', **claims):
        self.current_token = self.token(provider, **claims)
        with open(self.token_file, 'w') as handle:
            handle.write(self.current_token + '\n')

    def env(self, **extra):
        return dict({'ALIBABA_CLOUD_ROLE_ARN': POD_ROLE, 'ALIBABA_CLOUD_OIDC_PROVIDER_ARN': PROVIDER,
                     'ALIBABA_CLOUD_OIDC_TOKEN_FILE': self.token_file}, **extra)

    def options(self, **assume_role):
        return {'oidc_provider_arn': PROVIDER, 'oidc_token_file': self.token_file, 'assume_role': dict({'role_arn': POD_ROLE}, **assume_role)}

    def oidc_calls(self):
        return [entry for entry in self.cloud.emulated.state.calls if entry['action'] == 'AssumeRoleWithOIDC']


@pytest.fixture
def pod(cloud, tmp_path):
    return Pod(cloud, tmp_path)


def test_the_three_rrsa_variables_give_the_pods_role_through_an_anonymous_call(cloud, pod):
    creds = resolve(cloud, env=pod.env())
    assert creds.access_key_id.startswith('STS.') and creds.security_token and creds.expiration
    assert creds.source == 'OIDC role %s (provider %s, token file %s)' % (POD_ROLE, PROVIDER, pod.token_file)
    [call] = pod.oidc_calls()
    assert call['status'] == 200 and call['access_key_id'] is None  # nothing signed it
    assert call['params'] == {'RoleArn': POD_ROLE, 'OIDCProviderArn': PROVIDER, 'RoleSessionName': 'ansible-alicloud-ram'}
    # the issued key signs later calls as the pod's role
    sts = service_client_for('sts', creds, OptionAdapter.from_dict({'sts_endpoint': ENDPOINT}), env={})
    assert sts.call('GetCallerIdentity')['Arn'] == 'acs:ram::%s:assumed-role/pod-role/ansible-alicloud-ram' % ACCOUNT
    assert cloud.emulated.state.calls[-1]['access_key_id'] == creds.access_key_id


def test_the_rrsa_session_name_variable_names_the_session(cloud, pod):
    resolve(cloud, env=pod.env(ALIBABA_CLOUD_ROLE_SESSION_NAME='awx-job-7'))
    assert pod.oidc_calls()[0]['params']['RoleSessionName'] == 'awx-job-7'


def test_rrsa_comes_after_the_key_variables_and_before_profiles_and_instance_roles(cloud, pod, tmp_path):
    write_cli(tmp_path, [{'name': 'default', 'mode': 'AK', 'access_key_id': 'dflt', 'access_key_secret': 'x1x'},
                         {'name': 'ci', 'mode': 'AK', 'access_key_id': 'ci', 'access_key_secret': 'x2x'}])
    env = pod.env(ALIBABA_CLOUD_PROFILE='ci', ALIBABA_CLOUD_ECS_METADATA='web', **ENV_KEYS_ONLY)
    assert resolve(cloud, env=env, home=tmp_path).source == 'env'
    assert pod.oidc_calls() == []
    for name in ENV_KEYS_ONLY:
        del env[name]
    assert resolve(cloud, env=env, home=tmp_path).source.startswith('OIDC role %s' % POD_ROLE)
    assert cloud.metadata_clients == []


@pytest.mark.parametrize('unset', ['ALIBABA_CLOUD_ROLE_ARN', 'ALIBABA_CLOUD_OIDC_PROVIDER_ARN', 'ALIBABA_CLOUD_OIDC_TOKEN_FILE'])
def test_rrsa_needs_all_three_variables(cloud, pod, tmp_path, unset):
    env = pod.env(**{unset: ''})
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, env=env, home=tmp_path)
    assert exc.value.msg.endswith('(pod identity needs %s set as well)' % unset)
    write_cli(tmp_path, [{'name': 'default', 'mode': 'AK', 'access_key_id': 'dflt', 'access_key_secret': 'x1x'}])
    assert resolve(cloud, env=env, home=tmp_path).access_key_id == 'dflt'
    assert pod.oidc_calls() == []


def test_the_task_options_name_the_oidc_source_with_assume_role(cloud, pod):
    policy = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'ram:Get*', 'Resource': '*'}]}
    creds = resolve(cloud, pod.options(session_name='job-1', duration_seconds=1800, policy=policy),
                    env=dict(ENV_KEYS_ONLY, ALICLOUD_ASSUME_ROLE_ARN=DEPLOYER))
    assert creds.source.startswith('OIDC role %s' % POD_ROLE)
    [call] = pod.oidc_calls()
    assert (call['params']['RoleSessionName'], call['params']['DurationSeconds']) == ('job-1', '1800')
    assert json.loads(call['params']['Policy']) == policy
    # the task's assume_role is the OIDC role itself: nothing is assumed on top, whatever the environment says
    assert cloud.assume_role_calls() == []


def test_options_come_before_the_rrsa_variables(cloud, pod):
    env = pod.env(ALIBABA_CLOUD_ROLE_ARN='acs:ram::%s:role/not-this-one' % ACCOUNT, ALIBABA_CLOUD_OIDC_TOKEN_FILE='/nonexistent')
    resolve(cloud, pod.options(), env=env)
    assert [c['params']['RoleArn'] for c in pod.oidc_calls()] == [POD_ROLE]


@pytest.mark.parametrize('drop, named', [
    ('oidc_token_file', 'oidc_token_file is not set'),
    ('oidc_provider_arn', 'oidc_provider_arn is not set'),
    ('assume_role', 'assume_role.role_arn is not set'),
])
def test_oidc_options_go_together(cloud, pod, drop, named):
    options = pod.options()
    del options[drop]
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, options, env=pod.env())
    assert exc.value.msg == 'oidc_provider_arn, oidc_token_file and assume_role.role_arn go together; %s' % named
    assert pod.oidc_calls() == []


def test_oidc_options_and_another_task_source_fail_naming_both(cloud, pod):
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, dict(pod.options(), **cloud.keys()))
    assert 'this task sets access_key_id and oidc_provider_arn' in exc.value.msg


def test_assume_role_applies_on_top_of_the_pods_role_from_the_environment(cloud, pod):
    creds = resolve(cloud, {'assume_role': {'role_arn': DEPLOYER}}, env=pod.env())
    assert creds.source == 'assume_role %s (via OIDC role %s (provider %s, token file %s))' % (DEPLOYER, POD_ROLE, PROVIDER, pod.token_file)
    oidc_key = [c for c in cloud.emulated.state.calls if c['action'] == 'AssumeRoleWithOIDC']
    assume = [c for c in cloud.emulated.state.calls if c['action'] == 'AssumeRole']
    assert len(oidc_key) == 1 and assume[0]['access_key_id'].startswith('STS.')


@pytest.mark.parametrize('use_options', [False, True], ids=['env', 'options'])
def test_a_missing_or_empty_token_file_fails_before_any_call_naming_the_file(cloud, pod, use_options):
    source = 'option oidc_token_file' if use_options else 'ALIBABA_CLOUD_OIDC_TOKEN_FILE'
    os.remove(pod.token_file)
    run = (lambda: resolve(cloud, pod.options())) if use_options else (lambda: resolve(cloud, env=pod.env()))
    with pytest.raises(CredentialsError) as exc:
        run()
    assert exc.value.msg == 'cannot read the OIDC token file %s (%s): No such file or directory' % (pod.token_file, source)
    open(pod.token_file, 'w').close()
    with pytest.raises(CredentialsError) as exc:
        run()
    assert exc.value.msg == 'the OIDC token file %s (%s) is empty' % (pod.token_file, source)
    assert cloud.emulated.state.calls == []


def refusal(cloud, pod, **claims):
    pod.write_token(**claims)
    with pytest.raises(CredentialsError) as exc:
        resolve(cloud, env=pod.env())
    message = exc.value.msg
    assert pod.current_token not in message and '\n' not in message
    assert message.startswith('AssumeRoleWithOIDC of %s with the OIDC token file %s (ALIBABA_CLOUD_OIDC_TOKEN_FILE) failed: '
                              % (POD_ROLE, pod.token_file)), message
    return exc.value


def test_an_expired_token_fails_naming_the_file_and_the_cause(cloud, pod):
    err = refusal(cloud, pod, expires_in=-60)
    assert err.api_error.code == 'AuthenticationFail.OIDCToken.Expired'
    assert err.msg.endswith('This JsonWebToken is expired. (request id %s); the token has expired: the file must hold a fresh '
                            'token (on ACK the platform rewrites it before it expires)' % err.api_error.request_id)
    assert cloud.emulated.write_actions() == []


@pytest.mark.parametrize('claims, code, hint', [
    ({'forged': True}, 'AuthenticationFail.OIDCToken.InvalidSignature', 'does not accept this token from the OIDC provider'),
    ({'issuer': 'https://elsewhere.example'}, 'AuthenticationFail.OIDCToken.IssuerNotMatch', 'does not accept this token from the OIDC provider'),
    ({'audience': 'not-sts'}, 'AuthenticationFail.OIDCToken.AudienceNotMatch', 'does not accept this token from the OIDC provider'),
    ({'provider': 'other-cluster'}, 'AuthenticationFail.OIDCToken.IssuerNotMatch', 'does not accept this token from the OIDC provider'),
    ({'subject': 'system:serviceaccount:default:intruder'}, 'AuthenticationFail.NoPermission', "role's trust policy does not trust it"),
])
def test_an_untrusted_token_fails_naming_the_file_and_the_cause(cloud, pod, claims, code, hint):
    err = refusal(cloud, pod, **claims)
    assert err.api_error.code == code and hint in err.msg
    assert cloud.emulated.write_actions() == []


def test_the_token_file_is_read_on_every_run(cloud, pod):
    resolve(cloud, env=pod.env())
    pod.write_token(expires_in=-60)
    with pytest.raises(CredentialsError):
        resolve(cloud, env=pod.env())
    pod.write_token()
    assert resolve(cloud, env=pod.env()).access_key_id.startswith('STS.')


def test_the_token_and_the_issued_secrets_are_never_shown(cloud, pod):
    creds = resolve(cloud, env=pod.env())
    text = 'token %s, secret %s, security token %s' % (pod.current_token, creds.access_key_secret, creds.security_token)
    assert redact(text) == 'token ********, secret ********, security token ********'
