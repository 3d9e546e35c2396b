# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every credential source of the module_utils chain, through a real module run against the emulator.

Each source reads a role of its own (``probe-<source>``), so the emulator's call log tells which
access key id each source signed with. Every run is made at -vvv: the output names the source
(``credentials_source``) and never shows a secret or a security token.
"""

from __future__ import annotations

import json

INFO = 'alicloud.ram.ram_instance_role_info'
KEY_ENV = ('ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALIBABA_CLOUD_SECURITY_TOKEN')
NO_KEYS_IN_ENV = dict((name, None) for name in KEY_ENV)


def _config(emu):
    from alibabacloud_tea_openapi.models import Config  # pylint: disable=import-outside-toplevel
    return Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret, endpoint=emu.endpoint,
                  protocol='http', region_id='cn-hangzhou')


def _create_role(emu, name, trust):
    from alibabacloud_ram20150501.client import Client  # pylint: disable=import-outside-toplevel
    from alibabacloud_ram20150501 import models  # pylint: disable=import-outside-toplevel
    body = Client(_config(emu)).create_role(models.CreateRoleRequest(role_name=name, assume_role_policy_document=json.dumps(trust)))
    return body.body.role.arn


def _assume(emu, role_arn):
    from alibabacloud_sts20150401.client import Client  # pylint: disable=import-outside-toplevel
    from alibabacloud_sts20150401 import models  # pylint: disable=import-outside-toplevel
    creds = Client(_config(emu)).assume_role(models.AssumeRoleRequest(role_arn=role_arn, role_session_name='cred-test')).body.credentials
    return creds.access_key_id, creds.access_key_secret, creds.security_token


def _trust(principal):
    return {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Principal': principal}]}


def _probe(source, **args):
    args['name'] = 'probe-%s' % source
    return {'name': source, INFO: args}


def _connection_defaults(runner):
    defaults = runner.module_defaults()
    group = defaults['group/alicloud.ram.alicloud']
    group.pop('access_key_id')
    group.pop('access_key_secret')
    return defaults


def _signers(emu, source):
    """Access key ids of the RAM calls the ``source`` probe made, with their statuses."""
    return [(c['access_key_id'], c['status']) for c in emu.calls()
            if c['service'] == 'ram' and c['params'].get('RoleName') == 'probe-%s' % source]


def _assert_quiet(res, *secrets):
    text = res.stdout + res.stderr
    for secret in secrets:
        assert secret not in text, 'a secret or token is shown in the output'


def test_every_credential_source_signs_its_calls(runner, emu, tmp_path):
    ecs_trust = _trust({'Service': ['ecs.aliyuncs.com']})
    sources = ('options', 'env', 'legacy-env', 'cli-ak', 'cli-sts', 'ini', 'sts-token', 'assume-role', 'ecs-role')
    for source in sources:
        _create_role(emu, 'probe-%s' % source, ecs_trust)
    deployer_arn = _create_role(emu, 'deployer', _trust({'RAM': ['acs:ram::%s:root' % emu.account_id]}))
    _create_role(emu, 'instance-probe', ecs_trust)
    emu.set_metadata(role_name='instance-probe')
    sts_id, sts_secret, sts_token = _assume(emu, deployer_arn)
    assert sts_id.startswith('STS.')
    ak, secret = emu.access_key_id, emu.access_key_secret

    home = tmp_path / 'home'
    (home / '.aliyun').mkdir(parents=True)
    (home / '.alibabacloud').mkdir()
    (home / '.aliyun' / 'config.json').write_text(json.dumps({'profiles': [
        {'name': 'cli-ak', 'mode': 'AK', 'access_key_id': ak, 'access_key_secret': secret},
        {'name': 'cli-sts', 'mode': 'StsToken', 'access_key_id': sts_id, 'access_key_secret': sts_secret, 'sts_token': sts_token},
    ]}))
    (home / '.alibabacloud' / 'credentials.ini').write_text(
        '[ini-ak]\ntype = access_key\naccess_key_id = %s\naccess_key_secret = %s\n' % (ak, secret))

    emu.clear_calls()
    defaults = _connection_defaults(runner)
    res = runner.run_tasks([
        _probe('options', access_key_id=ak, access_key_secret=secret),
        _probe('cli-ak', profile='cli-ak'),
        _probe('cli-sts', profile='cli-sts'),
        _probe('ini', profile='ini-ak'),
        _probe('sts-token', access_key_id=sts_id, access_key_secret=sts_secret, security_token=sts_token),
        _probe('assume-role', access_key_id=ak, access_key_secret=secret,
               assume_role={'role_arn': deployer_arn, 'session_name': 'ansible-test'}),
        _probe('ecs-role', ecs_role_name='instance-probe'),
    ], module_defaults=defaults, env=dict(NO_KEYS_IN_ENV, HOME=str(home)), verbosity=3)
    env_run = runner.run_tasks([_probe('env')], module_defaults=defaults, verbosity=3)
    legacy_run = runner.run_tasks([_probe('legacy-env')], module_defaults=defaults, verbosity=3,
                                  env=dict(NO_KEYS_IN_ENV, ALICLOUD_ACCESS_KEY=ak, ALICLOUD_SECRET_KEY=secret))

    results = dict((r['task'], r) for run in (res, env_run, legacy_run) for r in run.results)
    expected_source = {
        'options': 'options',
        'env': 'env',
        'legacy-env': 'env (legacy ALICLOUD_*)',
        'cli-ak': 'profile cli-ak (%s)' % (home / '.aliyun' / 'config.json'),
        'cli-sts': 'profile cli-sts (%s)' % (home / '.aliyun' / 'config.json'),
        'ini': 'profile ini-ak (%s)' % (home / '.alibabacloud' / 'credentials.ini'),
        'sts-token': 'options',
        'assume-role': 'assume_role %s (via options)' % deployer_arn,
        'ecs-role': 'ecs_role_name instance-probe',
    }
    token_based = ('cli-sts', 'sts-token', 'assume-role', 'ecs-role')
    for source in sources:
        result = results[source]
        assert result['status'] == 'ok', result
        assert [r['role_name'] for r in result['result']['roles']] == ['probe-%s' % source]
        assert result['result']['credentials_source'] == expected_source[source]
        signers = _signers(emu, source)
        assert signers and all(status == 200 for _key, status in signers), (source, signers)
        if source in token_based:
            assert all(key.startswith('STS.') for key, _status in signers), (source, signers)
        else:
            assert all(key == ak for key, _status in signers), (source, signers)
    # the explicit STS token signs with exactly the key it came with; assume_role and the instance role get fresh ones
    assert set(k for k, _s in _signers(emu, 'sts-token')) == {sts_id}
    assert sts_id not in set(k for k, _s in _signers(emu, 'assume-role'))
    assume_calls = [c for c in emu.calls() if c['service'] == 'sts' and c['action'] == 'AssumeRole']
    assert [c['access_key_id'] for c in assume_calls] == [ak]
    assert any(c['service'] == 'metadata' for c in emu.calls())

    for run in (res, env_run, legacy_run):
        assert 'credentials_source' in run.stdout
        _assert_quiet(run, secret, sts_secret, sts_token)
    for source in ('cli-ak', 'ecs_role_name instance-probe', 'env (legacy ALICLOUD_*)'):
        assert source in res.stdout + env_run.stdout + legacy_run.stdout


def test_task_sources_come_before_the_environment_and_give_the_region(runner, emu, tmp_path):
    """Key variables in the environment (as an AWX credential injects them) do not override a task's profile or
    ecs_role_name; a task naming two sources fails naming both; the region comes from the chosen profile or,
    for an instance role, from the metadata service."""
    ecs_trust = _trust({'Service': ['ecs.aliyuncs.com']})
    for source in ('profile-over-env', 'role-over-env', 'two-sources'):
        _create_role(emu, 'probe-%s' % source, ecs_trust)
    deployer_arn = _create_role(emu, 'deployer', _trust({'RAM': ['acs:ram::%s:root' % emu.account_id]}))
    _create_role(emu, 'instance-probe', ecs_trust)
    beijing = emu.seed_instances(2, region='cn-beijing')
    emu.set_metadata(instance_id=beijing[0], role_name='instance-probe')
    sts_id, sts_secret, sts_token = _assume(emu, deployer_arn)
    home = tmp_path / 'home'
    (home / '.aliyun').mkdir(parents=True)
    config = home / '.aliyun' / 'config.json'
    config.write_text(json.dumps({'profiles': [
        {'name': 'cli-sts', 'mode': 'StsToken', 'access_key_id': sts_id, 'access_key_secret': sts_secret, 'sts_token': sts_token},
        {'name': 'regional', 'mode': 'AK', 'access_key_id': emu.access_key_id, 'access_key_secret': emu.access_key_secret,
         'region_id': 'cn-beijing'},
    ]}))
    emu.clear_calls()
    defaults = _connection_defaults(runner)
    del defaults['group/alicloud.ram.alicloud']['region']
    two_sources = _probe('two-sources', profile='cli-sts', access_key_id=emu.access_key_id,
                         access_key_secret=emu.access_key_secret)
    res = runner.run_tasks([
        _probe('profile-over-env', profile='cli-sts'),
        _probe('role-over-env', ecs_role_name='instance-probe'),
        dict(two_sources, ignore_errors=True),
        {'name': 'region-from-profile', 'alicloud.ram.ecs_instance_role_info': {'instance_ids': beijing, 'profile': 'regional'}},
        {'name': 'region-from-metadata',
         'alicloud.ram.ecs_instance_role_info': {'instance_ids': beijing, 'ecs_role_name': 'instance-probe'}},
    ], module_defaults=defaults, env={'HOME': str(home), 'ALIBABA_CLOUD_REGION_ID': None}, verbosity=3)

    assert set(k for k, _s in _signers(emu, 'profile-over-env')) == {sts_id}
    role_signers = set(k for k, _s in _signers(emu, 'role-over-env'))
    assert role_signers and all(k.startswith('STS.') and k != sts_id for k in role_signers)
    assert res.by_name('profile-over-env')['result']['credentials_source'] == 'profile cli-sts (%s)' % config
    assert res.by_name('role-over-env')['result']['credentials_source'] == 'ecs_role_name instance-probe'

    failed = res.by_name('two-sources')
    assert failed['status'] == 'failed' and _signers(emu, 'two-sources') == []
    assert 'this task sets access_key_id and profile' in failed['result']['msg']

    regional = res.by_name('region-from-profile')['result']
    assert regional['region_source'] == 'profile regional (%s) region_id' % config
    held = [{'instance_id': beijing[0], 'role_name': 'instance-probe'}]
    assert regional['attachments'] == held
    from_metadata = res.by_name('region-from-metadata')['result']
    assert from_metadata['region_source'] == 'metadata service %s (region-id)' % emu.url
    assert from_metadata['attachments'] == held
    regions = set(c['params'].get('RegionId') for c in emu.calls() if c['service'] == 'ecs')
    assert regions == {'cn-beijing'}, regions
    _assert_quiet(res, emu.access_key_secret, sts_secret, sts_token)


SERVICE_ACCOUNT = 'system:serviceaccount:awx:awx-ee'


def _pod_identity(emu, tmp_path):
    """An ACK-like pod identity: OIDC provider, a role trusting it for one service account, the token file."""
    provider = emu.add_oidc_provider('ack-rrsa-c1')
    trust = {'Version': '1', 'Statement': [{
        'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Principal': {'Federated': [provider['arn']]},
        'Condition': {'StringEquals': {'oidc:aud': 'sts.aliyuncs.com', 'oidc:sub': SERVICE_ACCOUNT}}}]}
    role_arn = _create_role(emu, 'awx-pod-role', trust)
    token_file = emu.write_oidc_token(tmp_path / 'rrsa-token', 'ack-rrsa-c1', subject=SERVICE_ACCOUNT)
    return provider['arn'], role_arn, str(token_file)


def _oidc_calls(emu):
    return [c for c in emu.calls() if c['service'] == 'sts' and c['action'] == 'AssumeRoleWithOIDC']


def test_a_pod_with_only_the_three_rrsa_variables_and_no_access_key(runner, emu, tmp_path):
    provider_arn, role_arn, token_file = _pod_identity(emu, tmp_path)
    _create_role(emu, 'probe-rrsa-env', _trust({'Service': ['ecs.aliyuncs.com']}))
    _create_role(emu, 'probe-rrsa-options', _trust({'Service': ['ecs.aliyuncs.com']}))
    empty_home = tmp_path / 'home'
    empty_home.mkdir()
    # no AccessKey anywhere: not in module_defaults, not in the environment, no profile files
    pod_env = dict(NO_KEYS_IN_ENV, HOME=str(empty_home), ALIBABA_CLOUD_ROLE_ARN=role_arn,
                   ALIBABA_CLOUD_OIDC_PROVIDER_ARN=provider_arn, ALIBABA_CLOUD_OIDC_TOKEN_FILE=token_file,
                   ALIBABA_CLOUD_ROLE_SESSION_NAME='awx-job-1')
    emu.clear_calls()
    res = runner.run_tasks([
        _probe('rrsa-env'),
        {'name': 'a write', 'alicloud.ram.ram_instance_role': {'name': 'made-by-the-pod'}},
    ], module_defaults=False, env=pod_env, verbosity=3)

    oidc_calls = _oidc_calls(emu)  # one per task: each module run resolves its credentials
    assert len(oidc_calls) == 2
    for call in oidc_calls:
        assert call['status'] == 200 and call['access_key_id'] is None  # anonymous: nothing signed it
        assert call['params'] == {'RoleArn': role_arn, 'OIDCProviderArn': provider_arn, 'RoleSessionName': 'awx-job-1'}
    info_key, write_key = [call['issued_access_key_id'] for call in oidc_calls]
    assert info_key.startswith('STS.') and write_key.startswith('STS.')
    assert res.by_name('rrsa-env')['result']['credentials_source'] == 'OIDC role %s (provider %s, token file %s)' % (
        role_arn, provider_arn, token_file)
    assert set(k for k, _s in _signers(emu, 'rrsa-env')) == {info_key}
    writes = [c for c in emu.calls() if c['write']]
    assert [(c['action'], c['access_key_id'], c['status']) for c in writes] == [('CreateRole', write_key, 200)]
    assert res.by_name('a write')['result']['changed'] is True
    api_signers = set(c['access_key_id'] for c in emu.calls() if c['service'] in ('ram', 'ecs', 'sts'))
    assert api_signers == {None, info_key, write_key}
    _assert_quiet(res, open(token_file).read().strip())

    # the same through the task's options, the environment holding no RRSA variable
    emu.clear_calls()
    options = {'oidc_provider_arn': provider_arn, 'oidc_token_file': token_file,
               'assume_role': {'role_arn': role_arn, 'session_name': 'from-options', 'duration_seconds': 1800}}
    res = runner.run_tasks([_probe('rrsa-options', **options)], module_defaults=False,
                           env=dict(NO_KEYS_IN_ENV, HOME=str(empty_home)), verbosity=3)
    [oidc_call] = _oidc_calls(emu)
    assert (oidc_call['params']['RoleSessionName'], oidc_call['params']['DurationSeconds']) == ('from-options', '1800')
    assert set(k for k, _s in _signers(emu, 'rrsa-options')) == {oidc_call['issued_access_key_id']}
    assert res.by_name('rrsa-options')['status'] == 'ok'


def test_an_expired_or_untrusted_pod_token_fails_before_any_write_naming_the_file(runner, emu, tmp_path):
    provider_arn, role_arn, token_file = _pod_identity(emu, tmp_path)
    pod_env = dict(NO_KEYS_IN_ENV, HOME=str(tmp_path), ALIBABA_CLOUD_ROLE_ARN=role_arn,
                   ALIBABA_CLOUD_OIDC_PROVIDER_ARN=provider_arn, ALIBABA_CLOUD_OIDC_TOKEN_FILE=token_file)
    task = {'name': 'a write', 'alicloud.ram.ram_instance_role': {'name': 'never-made'}, 'ignore_errors': True}
    outcomes = {}
    for case, claims in (('expired', {'expires_in': -60, 'subject': SERVICE_ACCOUNT}),
                         ('untrusted', {'subject': 'system:serviceaccount:default:someone-else'})):
        emu.write_oidc_token(token_file, 'ack-rrsa-c1', **claims)
        emu.clear_calls()
        res = runner.run_tasks([task], module_defaults=False, env=pod_env, verbosity=3)
        failed = res.by_name('a write')
        assert failed['status'] == 'failed', failed
        outcomes[case] = failed['result']['msg']
        assert [c['action'] for c in emu.calls() if c['service'] != 'metadata'] == ['AssumeRoleWithOIDC']
        _assert_quiet(res, open(token_file).read().strip())
    for message in outcomes.values():
        assert message.startswith('AssumeRoleWithOIDC of %s with the OIDC token file %s (ALIBABA_CLOUD_OIDC_TOKEN_FILE) failed: '
                                  % (role_arn, token_file)), message
        assert '\n' not in message
    assert 'AuthenticationFail.OIDCToken.Expired' in outcomes['expired'] and 'the token has expired' in outcomes['expired']
    assert 'AuthenticationFail.NoPermission' in outcomes['untrusted'] and 'trust policy' in outcomes['untrusted']
    assert [r['RoleName'] for r in emu.state()['roles']] == ['awx-pod-role']
