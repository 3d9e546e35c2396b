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
from ansible_collections.alicloud.ram.plugins.module_utils.metadata import MetadataClient
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

    def metadata_factory(self, endpoint, mode, network):
        self.metadata_clients.append((endpoint, mode))
        return MetadataClient(endpoint=endpoint, mode=mode, network=network, opener=self._metadata, sleep=lambda s: None)

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
