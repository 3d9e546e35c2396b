# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import errors, retries
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError

tea_exceptions = pytest.importorskip('alibabacloud_tea_openapi.exceptions')
darabonba_exceptions = pytest.importorskip('darabonba.exceptions')
from darabonba.policy.retry import RetryPolicyContext  # noqa: E402 pylint: disable=wrong-import-position


def sdk_client_exception(status=404, code='EntityNotExist.Role', message='The role does not exist: nope.', request_id='RID-1'):
    # built the way tea_openapi's do_request builds it
    data = {'RequestId': request_id, 'Code': code, 'Message': message}
    return tea_exceptions.ClientException(
        status_code=status, code=code, message='code: %s, %s request id: %s' % (status, message, request_id),
        request_id=request_id, data=data, description='None', detail='None', access_denied_detail=None)


def test_client_exception_is_converted_with_server_message():
    err = errors.from_sdk_exception(sdk_client_exception(), 'GetRole')
    assert (err.code, err.status, err.request_id, err.action) == ('EntityNotExist.Role', 404, 'RID-1', 'GetRole')
    assert err.message == 'The role does not exist: nope.'


def test_server_exception_keeps_status_and_is_retryable():
    exc = tea_exceptions.ServerException(status_code=503, code='ServiceUnavailable', request_id='R2',
                                         message='code: 503, The request has failed due to a temporary failure of the server. request id: R2',
                                         data={'RequestId': 'R2'})
    err = errors.from_sdk_exception(exc, 'ListRoles')
    assert err.status == 503
    assert err.message == 'The request has failed due to a temporary failure of the server.'
    assert retries.is_retryable(err)


def test_throttling_exception_carries_retry_after():
    exc = tea_exceptions.ThrottlingException(status_code=400, code='Throttling.User', retry_after=1500,
                                             message='code: 400, Request was denied due to user flow control. request id: R3',
                                             request_id='R3', data={})
    err = errors.from_sdk_exception(exc, 'AttachPolicyToRole')
    assert err.code == 'Throttling.User' and err.retry_after == 1500
    assert retries.is_retryable(err)


def test_transport_error_becomes_connection_error():
    context = RetryPolicyContext(retries_attempted=0, http_request=None, http_response=None,
                                 exception=ConnectionRefusedError('[Errno 111] Connection refused'))
    exc = darabonba_exceptions.UnretryableException(context)
    err = errors.from_sdk_exception(exc, 'GetRole')
    assert err.code == errors.TRANSPORT_ERROR_CODE
    assert 'Connection refused' in err.message
    assert retries.is_retryable(err)


def test_unknown_exception_names_its_class_and_is_redacted():
    err = errors.from_sdk_exception(KeyError('secret-value-xyz'), 'GetRole', secrets=['secret-value-xyz'])
    assert err.code == 'UnknownError'
    assert 'KeyError' in err.message
    assert 'secret-value-xyz' not in err.message and errors.REDACTED in err.message


def test_sdk_message_secrets_are_scrubbed():
    exc = sdk_client_exception(status=400, code='InvalidParameter', message='bad value TOPSECRETTOKEN')
    err = errors.from_sdk_exception(exc, 'AssumeRole', secrets=['TOPSECRETTOKEN'])
    assert 'TOPSECRETTOKEN' not in err.message


def test_redact_ignores_tiny_and_empty_values():
    assert errors.redact('abc secretvalue def', ['secretvalue', '', None, 'ab']) == 'abc ******** def'
    assert errors.redact(None, ['x']) is None


def test_format_error_is_one_line():
    err = AlicloudApiError('EntityNotExist.Role', 'The role\ndoes not exist.', request_id='R9', status=404)
    assert errors.format_error(err, 'get role web') == 'get role web failed: EntityNotExist.Role: The role does not exist. (request id R9)'
    err = AlicloudApiError('X', 'm')
    assert errors.format_error(err, 'op') == 'op failed: X: m'


@pytest.mark.parametrize('code,status,expected', [
    ('Throttling', 400, True),
    ('Throttling.User', 400, True),
    ('Rejected.Throttling', 400, True),
    ('ServiceUnavailable', 503, True),
    ('InternalError', 500, True),
    ('SomethingNew', 502, True),
    ('ConnectionError', None, True),
    ('EntityNotExist.Role', 404, False),
    ('InvalidParameter', 400, False),
    ('NoPermission', 403, False),
])
def test_is_retryable(code, status, expected):
    assert retries.is_retryable(AlicloudApiError(code, 'm', status=status)) is expected


def test_extra_codes_are_retryable():
    err = AlicloudApiError('InvalidRamRole.NotFound', 'm', status=404)
    assert not retries.is_retryable(err)
    assert retries.is_retryable(err, extra_codes=('InvalidRamRole.NotFound',))


def test_is_retryable_for_answers_that_may_differ_on_a_repeat():
    assert retries.is_retryable(AlicloudApiError(errors.EMPTY_ANSWER_CODE, 'm', status=200))
    assert retries.is_retryable(AlicloudApiError(errors.TIMEOUT_ERROR_CODE, 'm'))
    # a certificate that does not verify now will not verify on a repeat
    assert not retries.is_retryable(AlicloudApiError(errors.TLS_ERROR_CODE, 'm'))
    assert not retries.is_retryable(AlicloudApiError(errors.UNEXPECTED_ANSWER_CODE, 'm', status=404))


@pytest.mark.parametrize('code, status, uncertain', [
    ('ConnectionError', None, True), ('Timeout', None, True), ('EmptyAnswer', 200, True), ('InternalError', 500, True),
    ('UnexpectedAnswer', 502, True), ('Throttling.User', 400, False), ('TLSError', None, False), ('NoPermission', 403, False),
])
def test_may_have_taken_effect(code, status, uncertain):
    assert errors.may_have_taken_effect(AlicloudApiError(code, 'm', status=status)) is uncertain


def test_backoff_doubles_up_to_the_cap_with_jitter_between_half_and_all():
    full = retries.Backoff(rand=lambda: 1.0)
    assert [full.delay(n) for n in range(7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    assert retries.Backoff(rand=lambda: 0.0).delay(3) == 4.0
    assert retries.Backoff(base=0.5, cap=3.0, rand=lambda: 1.0).delay(10) == 3.0


class FakeClock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def failing(*errors_):
    """A call failing with ``errors_`` in turn, then answering 'ok'; ``attempts`` counts the calls."""
    queue = list(errors_)

    def call():
        call.attempts += 1
        if queue:
            raise queue.pop(0)
        return 'ok'

    call.attempts = 0
    return call


def policy_call(policy, call, clock):
    return retries.call_retrying(call, policy.waiter(), clock.sleep)


def busy():
    return AlicloudApiError('ServiceUnavailable', 'busy', status=503)


def throttled(retry_after=None):
    return AlicloudApiError('Throttling.User', 'slow down', status=400, retry_after=retry_after)


def test_server_errors_are_repeated_up_to_retries():
    clock = FakeClock()
    policy = retries.RetryPolicy(2, backoff=retries.Backoff(rand=lambda: 1.0), clock=clock)
    call = failing(busy(), busy(), busy())
    with pytest.raises(AlicloudApiError):
        policy_call(policy, call, clock)
    assert call.attempts == 3 and clock.sleeps == [1.0, 2.0]
    call = failing(busy(), AlicloudApiError('ConnectionError', 'reset'))
    assert policy_call(policy, call, clock) == 'ok' and call.attempts == 3


def test_throttling_is_repeated_past_retries_until_the_timeout():
    clock = FakeClock()
    policy = retries.RetryPolicy(1, timeout=60, backoff=retries.Backoff(rand=lambda: 1.0), clock=clock)
    call = failing(*[throttled() for _n in range(20)])
    with pytest.raises(AlicloudApiError):
        policy_call(policy, call, clock)
    # 1 + 2 + 4 + 8 + 16 + 20 = 51 s of waits; the next 20 s would end past 60 s
    assert call.attempts == 7 and clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0]
    # throttling does not use up the repeats a server error has
    call = failing(throttled(), throttled(), throttled(), busy())
    assert policy_call(policy, call, clock) == 'ok' and call.attempts == 5


def test_the_default_retry_timeout_rides_out_a_minute_of_throttling():
    assert retries.RetryPolicy(5).timeout >= 60
    clock = FakeClock()
    policy = retries.RetryPolicy(5, backoff=retries.Backoff(rand=lambda: 1.0), clock=clock)
    call = failing(*[throttled() for _n in range(7)])
    assert policy_call(policy, call, clock) == 'ok' and sum(clock.sleeps) > 60


@pytest.mark.parametrize('error', [throttled(), busy()])
def test_retries_0_means_one_attempt(error):
    clock = FakeClock()
    call = failing(error)
    with pytest.raises(AlicloudApiError):
        policy_call(retries.RetryPolicy(0, clock=clock), call, clock)
    assert call.attempts == 1 and clock.sleeps == []


def test_client_errors_are_not_repeated_unless_the_call_site_names_them():
    clock = FakeClock()
    call = failing(AlicloudApiError('InvalidParameter', 'no', status=400))
    with pytest.raises(AlicloudApiError):
        policy_call(retries.RetryPolicy(5, clock=clock), call, clock)
    assert call.attempts == 1
    call = failing(AlicloudApiError('EntityNotExist.Policy', 'not yet', status=404))
    assert policy_call(retries.RetryPolicy(5, extra_codes=('EntityNotExist.Policy',), clock=clock), call, clock) == 'ok'


def test_retry_after_raises_the_delay_within_the_cap():
    clock = FakeClock()
    policy = retries.RetryPolicy(2, backoff=retries.Backoff(rand=lambda: 0.0), clock=clock)
    assert policy_call(policy, failing(throttled(retry_after=3000), throttled(retry_after=90000)), clock) == 'ok'
    assert clock.sleeps == [3.0, 20.0]


def test_call_until_visible_waits_out_a_listed_code_then_succeeds():
    clock = FakeClock()
    call = failing(AlicloudApiError('EntityNotExist.Role', 'not yet'), AlicloudApiError('EntityNotExist.Role', 'not yet'))
    assert retries.call_until_visible(call, ('EntityNotExist.Role',), 30.0, sleep=clock.sleep, clock=clock,
                                      backoff=retries.Backoff(rand=lambda: 1.0)) == 'ok'
    assert clock.sleeps == [1.0, 2.0]


def test_call_until_visible_gives_up_at_the_deadline_and_ignores_other_codes():
    clock = FakeClock()

    def never_visible():
        raise AlicloudApiError('EntityNotExist.Role', 'missing')

    with pytest.raises(AlicloudApiError):
        retries.call_until_visible(never_visible, ('EntityNotExist.Role',), 10.0, sleep=clock.sleep, clock=clock)
    assert clock.now == pytest.approx(10.0)
    call = failing(AlicloudApiError('NoPermission', 'denied'))
    with pytest.raises(AlicloudApiError):
        retries.call_until_visible(call, ('EntityNotExist.Role',), 10.0, sleep=clock.sleep, clock=clock)
    assert call.attempts == 1


def test_wait_until_polls_with_growing_capped_waits_until_true():
    clock = FakeClock()
    answers = [None, False, 0, {}, [], 'done']
    assert retries.wait_until(lambda: answers.pop(0), 60, sleep=clock.sleep, clock=clock, backoff=retries.Backoff(cap=5.0, rand=lambda: 1.0)) == 'done'
    assert clock.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_wait_until_returns_the_last_value_at_the_deadline_without_sleeping_past_it():
    clock = FakeClock()
    calls = []

    def check():
        calls.append(clock.now)
        return {}

    assert retries.wait_until(check, 10, sleep=clock.sleep, clock=clock, backoff=retries.Backoff(base=2.0, cap=3.0, rand=lambda: 1.0)) == {}
    assert clock.sleeps == [2.0, 3.0, 3.0, 2.0]
    assert calls[-1] == pytest.approx(10.0)


def test_wait_until_true_at_once_never_sleeps():
    assert retries.wait_until(lambda: 7, 5, sleep=lambda s: pytest.fail('must not sleep')) == 7


@pytest.mark.parametrize('text, expected', [
    # user information up to the last @ before the host: a password may hold a raw @
    ('http://u:Pr0xy@S3cr3tTail@host:3128', 'http://********@host:3128'),
    ('cannot reach the API endpoint through the proxy http://u:Pr0xy@S3cr3tTail@host:3128: refused',
     'cannot reach the API endpoint through the proxy http://********@host:3128: refused'),
    ('cannot reach http://user@proxy:3128 now', 'cannot reach http://********@proxy:3128 now'),
    # everything after the host and port: path, parameters, query and fragment
    ('ftp://admin:PASSWORD@host/path', 'ftp://********@host/********'),
    ("endpoint 'http://host/?token=T0k3n&x=1' bad", "endpoint 'http://host/********' bad"),
    ('https://h:8443/a/b?sig=abc#frag', 'https://h:8443/********'),
    ('http://h:1/#T0k3n', 'http://h:1/********'),
    ('http://h:1/T0k3n/latest', 'http://h:1/********'),
    ('http://h:1;token=T0k3n', 'http://h:1/********'),
    ('http://h:1/path;token=T0k3n', 'http://h:1/********'),
    ('http://[::1]:80/T0k3n', 'http://[::1]:80/********'),
    # TOKEN@host without a scheme
    ('TOKEN123@host:9 refused', '********@host:9 refused'),
    ('proxy admin:S3cret@proxy.example.com:3128', 'proxy ********@proxy.example.com:3128'),
    ('X-aliyun-ecs-metadata-token: AAAA-bbbb, next', 'X-aliyun-ecs-metadata-token: ********, next'),
    ('X-aliyun-ecs-metadata-token-ttl-seconds: 21600', 'X-aliyun-ecs-metadata-token-ttl-seconds: 21600'),
    # what is left: scheme, host and port, and text that is no URL
    ('http://127.0.0.1:8555 answered HTTP 502', 'http://127.0.0.1:8555 answered HTTP 502'),
    ('https://ram.aliyuncs.com/ refused', 'https://ram.aliyuncs.com/ refused'),
    ('acs:ram::123456:role/web', 'acs:ram::123456:role/web'),
])
def test_redact_leaves_only_scheme_host_and_port_of_a_url(text, expected):
    assert errors.redact(text) == expected


def test_remembered_secrets_are_redacted_everywhere_afterwards():
    errors.remember_secrets('a-remembered-secret-value', None, 'short')
    assert errors.redact('x a-remembered-secret-value y short') == 'x ******** y short'


def test_trim_says_how_much_was_left_out():
    assert errors.trim('abc', 5) == 'abc'
    assert errors.trim('x' * 1500) == 'x' * 1000 + '... (500 more characters)'


def test_transport_failures_keep_their_code_and_status_and_are_redacted():
    exc = errors.TransportFailure('UnexpectedAnswer', 'http://u:pw@h answered HTTP 502 ' + 'y' * 3000, status=502)
    wrapped = darabonba_exceptions.UnretryableException(RetryPolicyContext(retries_attempted=1, exception=exc))
    err = errors.from_sdk_exception(wrapped, 'GetRole')
    assert (err.code, err.status, err.action) == ('UnexpectedAnswer', 502, 'GetRole')
    assert err.message.startswith('http://********@h answered HTTP 502 yyy') and err.message.endswith('more characters)')
    assert retries.is_retryable(err)
    timeout = errors.from_sdk_exception(errors.TransportFailure('Timeout', 'no complete answer'), 'GetRole')
    assert retries.is_retryable(timeout) and errors.may_have_taken_effect(timeout)


def test_a_body_the_sdk_could_not_parse_is_labelled_not_a_connection_error():
    inner = RuntimeError('Failed to parse the value as json format, Value: "<html>%s</html>".' % ('z' * 5000))
    err = errors.from_sdk_exception(darabonba_exceptions.UnretryableException(RetryPolicyContext(retries_attempted=1, exception=inner)))
    assert err.code == 'UnexpectedAnswer' and err.message.startswith("the answer is not the API's JSON: <html>zzz")
    assert len(err.message) < 1100


def test_json_error_without_a_code_is_labelled_with_its_status():
    exc = tea_exceptions.ServerException(status_code=502, code='None', request_id='None', data={'error': 'bad gateway'},
                                         message='code: 502, None request id: None')
    err = errors.from_sdk_exception(exc, 'GetRole')
    assert (err.code, err.status, err.request_id) == ('UnexpectedAnswer', 502, None)
    assert err.message == "HTTP 502 answer without an API error code: {'error': 'bad gateway'}"


def test_describe_answer():
    assert errors.describe_answer(403, 'Forbidden', '', b'') == "HTTP 403 Forbidden (no content type, empty body) instead of the API's JSON answer"
    text = errors.describe_answer(502, 'Bad Gateway', 'text/html', b'<h1>\n  down </h1>' + b'x' * 2000)
    assert text.startswith("HTTP 502 Bad Gateway (text/html, 2017 bytes) instead of the API's JSON answer: <h1> down </h1>xxx")
    assert text.endswith('(1015 more characters)')
