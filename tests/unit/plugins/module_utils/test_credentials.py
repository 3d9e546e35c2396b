# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import os

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import endpoints
from ansible_collections.alicloud.ram.plugins.module_utils import credentials as credentials_module
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials, CredentialsError, resolve_credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.metadata import MetadataError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter


class FakeSts(object):
    def __init__(self, fail=None):
        self.calls = []
        self.fail = fail

    def factory(self, credentials, options, region=None):
        self.calls.append({'base': credentials, 'region': region})
        return self

    def call(self, action, params):
        assert action == 'AssumeRole'
        self.calls[-1]['params'] = params
        if self.fail:
            raise self.fail
        return {'Credentials': {'AccessKeyId': 'STS.assumed', 'AccessKeySecret': 'assumed-secret', 'SecurityToken': 'assumed-token',
                                'Expiration': '2999-01-01T00:00:00Z'}}


class FakeMetadata(object):
    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def factory(self, endpoint, mode):
        self.calls.append((endpoint, mode))
        return self

    def role_credentials(self, role_name):
        self.calls.append(role_name)
        if self.error:
            raise self.error
        return {'access_key_id': 'STS.md', 'access_key_secret': 'md-secret', 'security_token': 'md-token',
                'expiration': '2999-01-01T00:00:00Z', 'last_updated': None}


def resolve(options=None, env=None, home='/nonexistent', sts=None, md=None):
    sts = sts or FakeSts()
    md = md or FakeMetadata()
    return resolve_credentials(OptionAdapter.from_dict(options or {}), sts_client_factory=sts.factory,
                               metadata_client_factory=md.factory, env=env or {}, home=str(home))


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


def test_options_win_over_everything():
    creds = resolve({'access_key_id': 'optid', 'access_key_secret': 'optsecret', 'security_token': 'opttoken'}, env=FULL_ENV)
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token, creds.source) == ('optid', 'optsecret', 'opttoken', 'options')


def test_env_then_legacy_env():
    assert resolve(env=FULL_ENV).source == 'env'
    legacy = dict((k, v) for k, v in FULL_ENV.items() if k.startswith('ALICLOUD_'))
    legacy['ALICLOUD_SECURITY_TOKEN'] = 'legacytoken'
    creds = resolve(env=legacy)
    assert (creds.access_key_id, creds.security_token, creds.source) == ('legacyid', 'legacytoken', 'env (legacy ALICLOUD_*)')


def test_env_token_is_used_with_env_keys():
    env = {'ALIBABA_CLOUD_ACCESS_KEY_ID': 'STS.x', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 's3cret', 'ALIBABA_CLOUD_SECURITY_TOKEN': 'tok'}
    assert resolve(env=env).security_token == 'tok'


@pytest.mark.parametrize('options,env,fragment', [
    ({'access_key_id': 'a'}, {}, 'access_key_id is set but access_key_secret is not'),
    ({'access_key_secret': 'secretvalue'}, {}, 'access_key_secret is set but access_key_id is not'),
    ({'security_token': 'tokenvalue'}, {}, 'security_token is set without'),
    ({}, {'ALIBABA_CLOUD_ACCESS_KEY_ID': 'a'}, 'ALIBABA_CLOUD_ACCESS_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not'),
])
def test_incomplete_pairs_are_errors_without_values(options, env, fragment):
    with pytest.raises(CredentialsError) as exc:
        resolve(options, env=env)
    assert fragment in exc.value.msg
    assert 'secretvalue' not in exc.value.msg and 'tokenvalue' not in exc.value.msg


def test_nothing_found_names_options_and_env_vars():
    with pytest.raises(CredentialsError) as exc:
        resolve()
    for name in ('access_key_id', 'ALIBABA_CLOUD_ACCESS_KEY_ID', 'profile', 'ALIBABA_CLOUD_PROFILE', 'ecs_role_name', 'ALIBABA_CLOUD_ECS_METADATA'):
        assert name in exc.value.msg


def test_cli_profile_modes(tmp_path):
    write_cli(tmp_path, [
        {'name': 'default', 'mode': 'AK', 'access_key_id': 'ak1', 'access_key_secret': 'sk1'},
        {'name': 'sts', 'mode': 'StsToken', 'access_key_id': 'STS.ak2', 'access_key_secret': 'sk2', 'sts_token': 'tok2'},
        {'name': 'arn', 'mode': 'RamRoleArn', 'access_key_id': 'ak3', 'access_key_secret': 'sk3', 'ram_role_arn': 'acs:ram::1:role/x',
         'ram_session_name': 'sess', 'expired_seconds': 900, 'sts_region': 'cn-beijing'},
        {'name': 'ecs', 'mode': 'EcsRamRole', 'ram_role_name': 'web'},
        {'name': 'chain', 'mode': 'ChainableRamRoleArn', 'source_profile': 'default', 'ram_role_arn': 'acs:ram::1:role/y'},
    ])
    creds = resolve({'profile': 'default'}, home=tmp_path)
    assert (creds.access_key_id, creds.security_token) == ('ak1', None)
    assert creds.source == 'profile default (%s)' % os.path.join(str(tmp_path), '.aliyun', 'config.json')

    creds = resolve({'profile': 'sts'}, home=tmp_path)
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == ('STS.ak2', 'sk2', 'tok2')

    sts = FakeSts()
    creds = resolve({'profile': 'arn'}, home=tmp_path, sts=sts)
    assert creds.access_key_id == 'STS.assumed' and creds.security_token == 'assumed-token'
    assert sts.calls[0]['base'].access_key_id == 'ak3' and sts.calls[0]['region'] == 'cn-beijing'
    assert sts.calls[0]['params'] == {'RoleArn': 'acs:ram::1:role/x', 'RoleSessionName': 'sess', 'DurationSeconds': 900}

    md = FakeMetadata()
    creds = resolve({'profile': 'ecs'}, home=tmp_path, md=md)
    assert creds.access_key_id == 'STS.md' and md.calls == [('http://100.100.100.200', 'auto'), 'web']

    sts = FakeSts()
    creds = resolve({'profile': 'chain'}, home=tmp_path, sts=sts)
    assert creds.access_key_id == 'STS.assumed' and sts.calls[0]['base'].access_key_id == 'ak1'


def test_profile_from_env_and_unknown_profile(tmp_path):
    write_cli(tmp_path, [{'name': 'ci', 'mode': 'AK', 'access_key_id': 'ci-ak', 'access_key_secret': 'ci-sk'}])
    assert resolve(env={'ALIBABA_CLOUD_PROFILE': 'ci'}, home=tmp_path).access_key_id == 'ci-ak'
    with pytest.raises(CredentialsError) as exc:
        resolve({'profile': 'missing'}, home=tmp_path)
    assert "profile 'missing' was found neither" in exc.value.msg


def test_unsupported_mode_and_missing_keys(tmp_path):
    write_cli(tmp_path, [{'name': 'sso', 'mode': 'CloudSSO'}, {'name': 'half', 'mode': 'StsToken', 'access_key_id': 'a', 'access_key_secret': 'b'}])
    with pytest.raises(CredentialsError) as exc:
        resolve({'profile': 'sso'}, home=tmp_path)
    assert 'CloudSSO' in exc.value.msg and 'not supported' in exc.value.msg
    with pytest.raises(CredentialsError) as exc:
        resolve({'profile': 'half'}, home=tmp_path)
    assert 'lacks sts_token' in exc.value.msg


def test_malformed_cli_file(tmp_path):
    os.makedirs(str(tmp_path / '.aliyun'))
    (tmp_path / '.aliyun' / 'config.json').write_text('{"profiles": [ {"name": "x", "access_key_secret": "leak"')
    with pytest.raises(CredentialsError) as exc:
        resolve({'profile': 'x'}, home=tmp_path)
    assert 'not valid JSON' in exc.value.msg and 'leak' not in exc.value.msg


def test_ini_profiles(tmp_path):
    write_ini(tmp_path, '''
[default]
type = access_key   # the usual kind
access_key_id = ini-ak
access_key_secret = ini-sk%with-percent

[tmp]
type = sts
access_key_id = STS.ini
access_key_secret = ini-sk2
security_token = ini-tok

[arn]
type = ram_role_arn
access_key_id = ini-ak3
access_key_secret = ini-sk3
role_arn = acs:ram::1:role/z
role_session_name = s1

[inst]
type = ecs_ram_role
role_name = web

[odd]
type = rsa_key_pair
''')
    creds = resolve({'profile': 'default'}, home=tmp_path)
    assert (creds.access_key_id, creds.access_key_secret) == ('ini-ak', 'ini-sk%with-percent')
    assert resolve({'profile': 'tmp'}, home=tmp_path).security_token == 'ini-tok'
    sts = FakeSts()
    assert resolve({'profile': 'arn'}, home=tmp_path, sts=sts).access_key_id == 'STS.assumed'
    assert sts.calls[0]['params']['RoleSessionName'] == 's1'
    assert resolve({'profile': 'inst'}, home=tmp_path).access_key_id == 'STS.md'
    with pytest.raises(CredentialsError) as exc:
        resolve({'profile': 'odd'}, home=tmp_path)
    assert 'rsa_key_pair' in exc.value.msg


def test_cli_profile_beats_ini_profile_of_the_same_name(tmp_path):
    write_cli(tmp_path, [{'name': 'both', 'mode': 'AK', 'access_key_id': 'cli', 'access_key_secret': 'x1x'}])
    write_ini(tmp_path, '[both]\ntype = access_key\naccess_key_id = ini\naccess_key_secret = x2x\n')
    assert resolve({'profile': 'both'}, home=tmp_path).access_key_id == 'cli'
    env = {'ALIBABA_CLOUD_CLI_PROFILE_DISABLED': 'true'}
    assert resolve({'profile': 'both'}, env=env, home=tmp_path).access_key_id == 'ini'


def test_credentials_file_env_and_malformed_ini(tmp_path):
    path = write_ini(tmp_path, '[p]\ntype = access_key\naccess_key_id = custom\naccess_key_secret = s3c\n', path=str(tmp_path / 'c.ini'))
    assert resolve({'profile': 'p'}, env={'ALIBABA_CLOUD_CREDENTIALS_FILE': path}, home=tmp_path).access_key_id == 'custom'
    bad = write_ini(tmp_path, 'access_key_secret = leaked-value\n', path=str(tmp_path / 'bad.ini'))
    with pytest.raises(CredentialsError) as exc:
        resolve({'profile': 'p'}, env={'ALIBABA_CLOUD_CREDENTIALS_FILE': bad}, home=tmp_path)
    assert 'cannot parse' in exc.value.msg and 'leaked-value' not in exc.value.msg
    with pytest.raises(CredentialsError) as exc:
        resolve({'profile': 'p'}, env={'ALIBABA_CLOUD_CREDENTIALS_FILE': str(tmp_path / 'nope.ini')}, home=tmp_path)
    assert 'does not exist' in exc.value.msg


def test_ecs_role_name_option_env_and_endpoint():
    md = FakeMetadata()
    creds = resolve({'ecs_role_name': 'web', 'metadata_endpoint': 'http://127.0.0.1:9'}, md=md)
    assert creds.source == 'ecs_role_name web' and md.calls == [('http://127.0.0.1:9', 'auto'), 'web']
    md = FakeMetadata()
    env = {'ALIBABA_CLOUD_ECS_METADATA': 'db', 'ALIBABA_CLOUD_METADATA_ENDPOINT': '127.0.0.1:7', 'ALIBABA_CLOUD_IMDSV1_DISABLED': 'true'}
    resolve(env=env, md=md)
    assert md.calls == [('http://127.0.0.1:7', 'hardened'), 'db']
    with pytest.raises(CredentialsError):
        resolve(env=dict(env, ALIBABA_CLOUD_ECS_METADATA_DISABLED='true'))


def test_metadata_errors_become_credentials_errors():
    md = FakeMetadata(error=MetadataError('no RAM role is attached to this instance', status=404))
    with pytest.raises(CredentialsError) as exc:
        resolve({'ecs_role_name': 'web'}, md=md)
    assert 'instance RAM role web' in exc.value.msg and 'no RAM role' in exc.value.msg


def test_named_profile_beats_ecs_role_name_which_beats_default_profile(tmp_path):
    write_cli(tmp_path, [{'name': 'default', 'mode': 'AK', 'access_key_id': 'dflt', 'access_key_secret': 'x1x'},
                         {'name': 'named', 'mode': 'AK', 'access_key_id': 'named', 'access_key_secret': 'x2x'}])
    assert resolve({'profile': 'named', 'ecs_role_name': 'web'}, home=tmp_path).access_key_id == 'named'
    assert resolve({'ecs_role_name': 'web'}, home=tmp_path).access_key_id == 'STS.md'
    assert resolve({}, home=tmp_path).access_key_id == 'dflt'


def test_default_ini_section_is_the_last_resort(tmp_path):
    write_ini(tmp_path, '[default]\ntype = access_key\naccess_key_id = d\naccess_key_secret = s3c\n')
    assert resolve(home=tmp_path).access_key_id == 'd'


def test_assume_role_on_top_of_base_credentials():
    sts = FakeSts()
    options = {'access_key_id': 'base', 'access_key_secret': 'basesecret',
               'assume_role': {'role_arn': 'acs:ram::1:role/deploy', 'session_name': None, 'duration_seconds': 1800,
                               'policy': '{"Statement":[]}', 'external_id': 'ext-1'}}
    creds = resolve(options, sts=sts)
    assert creds.access_key_id == 'STS.assumed' and creds.expiration == '2999-01-01T00:00:00Z'
    assert creds.source == 'assume_role acs:ram::1:role/deploy (via options)'
    assert sts.calls[0]['base'].access_key_id == 'base'
    assert sts.calls[0]['params'] == {'RoleArn': 'acs:ram::1:role/deploy', 'RoleSessionName': 'ansible-alicloud-ram',
                                      'DurationSeconds': 1800, 'Policy': '{"Statement":[]}', 'ExternalId': 'ext-1'}


def test_assume_role_failure_is_a_clean_error():
    sts = FakeSts(fail=AlicloudApiError('NoPermission', 'You are not authorized', request_id='R1', status=403))
    with pytest.raises(CredentialsError) as exc:
        resolve({'access_key_id': 'b', 'access_key_secret': 'basesecret', 'assume_role': {'role_arn': 'acs:ram::1:role/x'}}, sts=sts)
    assert exc.value.msg.startswith('assume_role acs:ram::1:role/x (with credentials from options) failed: NoPermission')
    assert exc.value.api_error.request_id == 'R1'
    assert 'basesecret' not in exc.value.msg


def test_credentials_never_show_their_secret():
    creds = Credentials('LTAIid', 'the-secret', 'the-token', 'options')
    for text in (repr(creds), str(creds), '%s' % creds):
        assert 'the-secret' not in text and 'the-token' not in text and 'LTAIid' in text
    assert sorted(creds.secrets()) == ['the-secret', 'the-token']
    assert creds == Credentials('LTAIid', 'the-secret', 'the-token', 'other source')


ENV_KEYS_ONLY = {'ALIBABA_CLOUD_ACCESS_KEY_ID': 'envid', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 'envsecret'}


def test_assume_role_env_fallback_when_option_not_given():
    sts = FakeSts()
    env = dict(ENV_KEYS_ONLY, ALICLOUD_ASSUME_ROLE_ARN='acs:ram::1:role/from-env', ALICLOUD_ASSUME_ROLE_SESSION_NAME='awx-job-42',
               ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION='1200')
    creds = resolve(env=env, sts=sts)
    assert (creds.access_key_id, creds.security_token) == ('STS.assumed', 'assumed-token')
    assert creds.source == 'assume_role acs:ram::1:role/from-env (via env)'
    assert sts.calls[0]['base'].access_key_id == 'envid'
    assert sts.calls[0]['params'] == {'RoleArn': 'acs:ram::1:role/from-env', 'RoleSessionName': 'awx-job-42', 'DurationSeconds': 1200}


def test_assume_role_env_arn_alone_uses_the_default_session_name():
    sts = FakeSts()
    resolve(env=dict(ENV_KEYS_ONLY, ALICLOUD_ASSUME_ROLE_ARN='acs:ram::1:role/r'), sts=sts)
    assert sts.calls[0]['params'] == {'RoleArn': 'acs:ram::1:role/r', 'RoleSessionName': 'ansible-alicloud-ram'}


def test_assume_role_option_wins_over_env():
    sts = FakeSts()
    env = dict(ENV_KEYS_ONLY, ALICLOUD_ASSUME_ROLE_ARN='acs:ram::1:role/from-env', ALICLOUD_ASSUME_ROLE_SESSION_NAME='env-session',
               ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION='1200')
    resolve({'assume_role': {'role_arn': 'acs:ram::1:role/from-option'}}, env=env, sts=sts)
    assert len(sts.calls) == 1
    # the option is taken as a whole: no session name or duration is borrowed from the environment
    assert sts.calls[0]['params'] == {'RoleArn': 'acs:ram::1:role/from-option', 'RoleSessionName': 'ansible-alicloud-ram'}


def test_empty_assume_role_env_is_unset():
    sts = FakeSts()
    env = dict(ENV_KEYS_ONLY, ALICLOUD_ASSUME_ROLE_ARN='', ALICLOUD_ASSUME_ROLE_SESSION_NAME='', ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION='')
    creds = resolve(env=env, sts=sts)
    assert (creds.access_key_id, creds.source) == ('envid', 'env')
    assert sts.calls == []
    env['ALICLOUD_ASSUME_ROLE_ARN'] = '  '
    assert resolve(env=env, sts=sts).source == 'env' and sts.calls == []


def test_empty_optional_env_of_a_credential_type_count_as_unset():
    # What an AWX credential type injects when only the key pair was filled in.
    env = {'ALIBABA_CLOUD_ACCESS_KEY_ID': 'awxid', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 'awxsecret', 'ALIBABA_CLOUD_SECURITY_TOKEN': '',
           'ALIBABA_CLOUD_REGION_ID': '', 'ALICLOUD_ASSUME_ROLE_ARN': '', 'ALICLOUD_ASSUME_ROLE_SESSION_NAME': ''}
    sts = FakeSts()
    creds = resolve(env=env, sts=sts)
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token, creds.source) == ('awxid', 'awxsecret', None, 'env')
    assert sts.calls == []


def test_empty_env_key_pair_falls_through_to_the_next_source():
    env = {'ALIBABA_CLOUD_ACCESS_KEY_ID': '', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': '', 'ALIBABA_CLOUD_SECURITY_TOKEN': '',
           'ALICLOUD_ACCESS_KEY': 'legacyid', 'ALICLOUD_SECRET_KEY': 'legacysecret'}
    assert resolve(env=env).source == 'env (legacy ALICLOUD_*)'


def test_bad_assume_role_session_expiration_env_is_a_clean_error():
    sts = FakeSts()
    env = dict(ENV_KEYS_ONLY, ALICLOUD_ASSUME_ROLE_ARN='acs:ram::1:role/r', ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION='1h')
    with pytest.raises(CredentialsError) as exc:
        resolve(env=env, sts=sts)
    assert exc.value.msg == 'ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION must be an integer number of seconds'
    assert sts.calls == []


def test_empty_region_env_of_a_credential_type_counts_as_unset():
    assert endpoints.resolve_region('ram', OptionAdapter.from_dict({}), env={'ALIBABA_CLOUD_REGION_ID': ''}) == 'cn-hangzhou'
    env = {'ALIBABA_CLOUD_REGION_ID': '', 'ALICLOUD_REGION': 'cn-beijing'}
    assert endpoints.resolve_region('ecs', OptionAdapter.from_dict({}), env=env) == 'cn-beijing'


class SlowlyVisibleSts(FakeSts):
    """STS that does not see the role for the first ``hidden`` calls."""

    def __init__(self, hidden):
        super(SlowlyVisibleSts, self).__init__()
        self.hidden = hidden

    def call(self, action, params):
        if self.hidden > 0:
            self.hidden -= 1
            raise AlicloudApiError('EntityNotExist.Role', 'The role not exists', request_id='R2', status=404)
        return super(SlowlyVisibleSts, self).call(action, params)


def test_assume_role_waits_for_a_role_sts_does_not_see_yet(monkeypatch):
    slept = []
    monkeypatch.setattr(credentials_module.time, 'sleep', slept.append)
    sts = SlowlyVisibleSts(hidden=2)
    creds = resolve({'access_key_id': 'b', 'access_key_secret': 'basesecret', 'assume_role': {'role_arn': 'acs:ram::1:role/new'}}, sts=sts)
    assert creds.access_key_id == 'STS.assumed'
    assert len(slept) == 2 and all(0 < s <= 8 for s in slept)
