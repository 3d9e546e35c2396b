# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ServiceClient on the in-process emulator: actions by name, answers that carry the uncertain flag, the retry policy
(server errors up to ``retries``, throttling until ``retry_timeout``), per-action read timeouts, and the client factory."""

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import network
from ansible_collections.alicloud.ram.plugins.module_utils.client import Timeouts
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.plugins.module_utils.retries import Backoff
from ansible_collections.alicloud.ram.tests.emulator.sdkhelpers import ECS_TRUST, policy

darabonba_core = pytest.importorskip('darabonba.core')

CREATE_ROLE = {'RoleName': 'web', 'AssumeRolePolicyDocument': ECS_TRUST}


def full_waits(client):
    """Backoff without jitter: 1, 2, 4, 8, 16, 20, 20... seconds."""
    client.backoff = Backoff(rand=lambda: 1.0)
    return client


def test_call_maps_the_action_to_the_sdk_method_and_request_model(ram, emulated):
    ram.call('CreateRole', dict(CREATE_ROLE, Description=None, Tag=[{'Key': 'env', 'Value': 'dev'}]))
    answer = ram.call('GetRole', {'RoleName': 'web'})
    assert answer['Role']['RoleName'] == 'web' and answer['RequestId'] and answer.uncertain is False
    assert ram.calls == {'CreateRole': 1, 'GetRole': 1}
    assert emulated.actions() == ['CreateRole', 'GetRole']


def test_an_action_without_a_request_model(emulated):
    assert emulated.client('sts').call('GetCallerIdentity')['AccountId'] == emulated.config.account_id


def test_an_unknown_action_is_a_programming_error(ram):
    with pytest.raises(ValueError):
        ram.call('NoSuchAction', {})


# -- the uncertain flag --------------------------------------------------------------------------

def test_an_answer_after_a_lost_attempt_is_uncertain(ram, emulated):
    emulated.script('CreateRole', lose_reply=True)
    with pytest.raises(AlicloudApiError) as caught:
        ram.call('CreateRole', CREATE_ROLE)
    # the second attempt meets the role the first one created: the service cannot tell it was ours
    assert caught.value.code == 'EntityAlreadyExists.Role' and caught.value.uncertain is True
    emulated.script('GetRole', lose_reply=True)
    answer = ram.call('GetRole', {'RoleName': 'web'})
    assert answer['Role']['RoleName'] == 'web' and answer.uncertain is True
    assert ram.call('GetRole', {'RoleName': 'web'}).uncertain is False


def test_an_empty_answer_is_retried_and_makes_the_call_uncertain(ram, emulated):
    emulated.script('GetRole', empty_answer=True)
    with pytest.raises(AlicloudApiError) as caught:
        ram.call('GetRole', {'RoleName': 'web'})
    assert caught.value.code == 'EntityNotExist.Role' and caught.value.uncertain is True and ram.calls == {'GetRole': 2}
    emulated.script('CreateRole', empty_answer=True)
    with pytest.raises(AlicloudApiError) as caught:
        emulated.client('ram', retries=0).call('CreateRole', CREATE_ROLE)
    assert caught.value.code == 'EmptyAnswer' and caught.value.uncertain is True and caught.value.status == 200
    assert emulated.write_actions() == ['CreateRole']


def test_a_refusal_is_certain(ram, emulated):
    emulated.script('CreateRole', code='NoPermission', status=403)
    with pytest.raises(AlicloudApiError) as caught:
        ram.call('CreateRole', CREATE_ROLE)
    assert caught.value.uncertain is False and ram.calls == {'CreateRole': 1}


def test_a_write_that_is_not_idempotent_stops_after_an_uncertain_attempt(ram, emulated):
    emulated.script('CreatePolicy', lose_reply=True)
    with pytest.raises(AlicloudApiError) as caught:
        ram.call('CreatePolicy', {'PolicyName': 'p', 'PolicyDocument': policy()}, idempotent=False)
    assert caught.value.code == 'ConnectionError' and caught.value.uncertain is True
    assert ram.calls == {'CreatePolicy': 1} and emulated.write_actions() == ['CreatePolicy']


def test_a_write_that_is_not_idempotent_is_still_retried_when_throttled(ram, emulated):
    emulated.script('CreatePolicy', code='Throttling.User', status=400)
    ram.call('CreatePolicy', {'PolicyName': 'p', 'PolicyDocument': policy()}, idempotent=False)
    assert ram.calls == {'CreatePolicy': 2} and emulated.write_actions() == ['CreatePolicy']


# -- the retry policy ----------------------------------------------------------------------------

def test_server_errors_are_retried_up_to_retries_and_leave_the_call_uncertain(emulated, clock):
    ram = full_waits(emulated.client('ram', retries=2))
    for _attempt in range(4):
        emulated.script('CreateRole', code='ServiceUnavailable', status=503)
    with pytest.raises(AlicloudApiError) as caught:
        ram.call('CreateRole', CREATE_ROLE)
    assert caught.value.code == 'ServiceUnavailable' and caught.value.uncertain is True
    assert ram.calls == {'CreateRole': 3} and clock.sleeps == [1.0, 2.0]


def test_throttling_is_retried_past_retries_until_the_retry_timeout(emulated, clock):
    ram = full_waits(emulated.client('ram', retries=1, retry_timeout=30))
    throttled = []
    ram.on_throttle = lambda: throttled.append(1)
    for _attempt in range(10):
        emulated.script('GetRole', code='Throttling.User', status=400)
    with pytest.raises(AlicloudApiError) as caught:
        ram.call('GetRole', {'RoleName': 'web'})
    # waits of 1 + 2 + 4 + 8 = 15 s; the next one (16 s) would end past 30 s
    assert caught.value.code == 'Throttling.User' and caught.value.uncertain is False
    assert ram.calls == {'GetRole': 5} and clock.sleeps == [1.0, 2.0, 4.0, 8.0] and len(throttled) == 4


def test_throttling_that_ends_within_the_retry_timeout_is_ridden_out(emulated, clock):
    ram = full_waits(emulated.client('ram', retries=1))
    for _attempt in range(8):
        emulated.script('GetRole', code='Throttling.User', status=400)
    with pytest.raises(AlicloudApiError) as caught:
        ram.call('GetRole', {'RoleName': 'web'})
    assert caught.value.code == 'EntityNotExist.Role' and ram.calls == {'GetRole': 9}
    assert sum(clock.sleeps) < client_utils.RetryPolicy(1).timeout


@pytest.mark.parametrize('code, status', [('Throttling.User', 400), ('ServiceUnavailable', 503)])
def test_retries_0_means_one_attempt(emulated, clock, code, status):
    ram = emulated.client('ram', retries=0)
    emulated.script('GetRole', code=code, status=status)
    with pytest.raises(AlicloudApiError) as caught:
        ram.call('GetRole', {'RoleName': 'web'})
    assert caught.value.code == code and ram.calls == {'GetRole': 1} and clock.sleeps == []


def test_retry_codes_at_the_call_site_count_against_retries(emulated):
    ram = emulated.client('ram', retries=2)
    with pytest.raises(AlicloudApiError) as caught:
        ram.call('GetRole', {'RoleName': 'nobody'}, retry_codes=('EntityNotExist.Role',))
    assert caught.value.code == 'EntityNotExist.Role' and ram.calls == {'GetRole': 3}


def test_secrets_are_scrubbed_from_errors(ram, emulated):
    emulated.script('GetRole', code='InvalidParameter', status=400, message='echo %s' % emulated.config.access_key_secret)
    with pytest.raises(AlicloudApiError) as caught:
        ram.call('GetRole', {'RoleName': 'x'})
    assert emulated.config.access_key_secret not in str(caught.value) and '********' in caught.value.message


# -- runtime options -----------------------------------------------------------------------------

def runtime(client, action):
    return client._runtime(action)  # pylint: disable=protected-access


def test_runtime_options_carry_timeouts_proxies_and_tls_settings(ram):
    ram.timeouts = Timeouts(3, 7.5, True)
    ram.network = network.Network('http://p:1', 'http://p:2', '127.0.0.1', '/ca.pem', False, {})
    options = runtime(ram, 'GetRole')
    assert (options.connect_timeout, options.read_timeout, options.autoretry) == (3000, 7500, False)
    assert (options.http_proxy, options.https_proxy, options.no_proxy, options.ca, options.ignore_ssl) == (
        'http://p:1', 'http://p:2', '127.0.0.1', '/ca.pem', True)


def test_the_batch_apis_get_the_official_cores_read_timeout_unless_read_timeout_is_set(emulated):
    default = emulated.client('ecs')
    assert [runtime(default, a).read_timeout for a in ('AttachInstanceRamRole', 'DetachInstanceRamRole', 'DescribeInstanceRamRole',
                                                       'DescribeInstances')] == [11000, 10000, 11000, 10000]
    given = emulated.client('ecs', read_timeout=4)
    assert runtime(given, 'AttachInstanceRamRole').read_timeout == 4000
    longer = emulated.client('ecs', read_timeout=30)
    assert runtime(longer, 'AttachInstanceRamRole').read_timeout == 30000


# -- the factory ---------------------------------------------------------------------------------

def test_build_sdk_client_configures_endpoint_protocol_and_user_agent():
    sdk = client_utils.build_sdk_client('ram', Credentials('ak', 'sk', 'tok'), '127.0.0.1:8555', 'http', 'cn-hangzhou', Timeouts(2, 4))
    assert sdk._endpoint == '127.0.0.1:8555' and sdk._protocol == 'http'  # pylint: disable=protected-access
    assert sdk._user_agent == client_utils.USER_AGENT  # pylint: disable=protected-access
    assert (sdk._connect_timeout, sdk._read_timeout) == (2000, 4000)  # pylint: disable=protected-access


def test_the_factory_takes_endpoint_region_retries_and_network_from_the_options(emulated):
    ecs = emulated.client('ecs', region='me-central-1', retries=4, retry_timeout=60, https_proxy='http://proxy:3128')
    assert ecs.describe() == {'endpoint': 'http://127.0.0.1:9', 'proxy': 'direct (no proxy set)'}
    assert ecs.sdk_client._region_id == 'me-central-1'  # pylint: disable=protected-access
    assert (ecs.retries, ecs.retry_timeout, ecs.network.https_proxy) == (4, 60, 'http://proxy:3128')
    ram = client_utils.service_client_for('ram', Credentials('ak', 'sk'), OptionAdapter.from_dict({'region': 'na-south-1'}), env={})
    assert ram.describe() == {'endpoint': 'https://ram.aliyuncs.com', 'proxy': 'direct (no proxy set)'}


def test_unknown_service_and_missing_sdk(monkeypatch):
    with pytest.raises(ValueError):
        client_utils.import_sdk('oss')
    real_import = client_utils._import  # pylint: disable=protected-access

    def fake_import(name):
        if name.startswith('alibabacloud_ecs20140526'):
            raise ImportError('No module named %s' % name)
        return real_import(name)

    monkeypatch.setattr(client_utils, '_import', fake_import)
    missing, tb = client_utils.missing_sdks(('ram', 'ecs'))
    assert missing == ['alibabacloud-ecs20140526'] and 'ImportError' in tb
    with pytest.raises(client_utils.MissingSdkError) as caught:
        client_utils.import_sdk('ecs')
    assert caught.value.pip_names == ['alibabacloud-ecs20140526']
    assert client_utils.missing_sdks(('ram',)) == ([], None)


def test_the_transport_replaces_only_the_sdks_own_http_exit(emulated):
    # a stand-in installed by someone else (here the emulated cloud) stays in place
    stand_in = darabonba_core.DaraCore.do_action
    client_utils.import_sdk('ram')
    assert darabonba_core.DaraCore.do_action == stand_in
