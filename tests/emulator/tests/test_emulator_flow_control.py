"""Throttling storms, per-action rate limits, the emulator clock and the request barrier."""

import threading

import pytest
from alibabacloud_ram20150501 import models as m

from tests.emulator.clock import Clock
from tests.emulator.flowcontrol import TokenBucket
from tests.emulator.process import EmulatorError
from tests.emulator.sdkhelpers import clients, error_of


def outcome(call, *args):
    """'ok' or the error code of one SDK call."""
    try:
        call(*args)
        return 'ok'
    except Exception as exc:  # pylint: disable=broad-except
        return getattr(exc, 'code', repr(exc))


def list_roles(ram):
    return outcome(ram.list_roles, m.ListRolesRequest())


def get_user(ram):
    return outcome(ram.get_user, m.GetUserRequest(user_name='emulator-admin'))


# ---------------------------------------------------------------- storms
def test_storm_of_a_number_of_calls(emulator, ram):
    settings = emulator.set_faults(throttle_storm={'calls': 2, 'actions': ['ListRoles']})
    assert settings['throttle_storm'] == {'calls': 2, 'actions': ['ListRoles']}
    assert [get_user(ram), list_roles(ram), get_user(ram), list_roles(ram), list_roles(ram)] == [
        'ok', 'Throttling.User', 'ok', 'Throttling.User', 'ok']
    assert emulator.control('GET', 'faults')['throttle_storm'] is None
    assert [c['injected'] for c in emulator.calls() if c['action'] == 'ListRoles'] == [True, True, False]


def test_storm_of_every_call_for_a_duration(emulator, ram):
    emulator.freeze_clock()
    emulator.set_faults(throttle_storm={'seconds': 60})
    exc = error_of(ram.get_user, m.GetUserRequest(user_name='emulator-admin'))
    assert (exc.code, exc.status_code) == ('Throttling.User', 400) and 'user flow control' in exc.message
    emulator.advance_clock(59.5)
    assert [list_roles(ram), get_user(ram)] == ['Throttling.User', 'Throttling.User']
    assert emulator.control('GET', 'faults')['throttle_storm'] == {'seconds': 0.5, 'actions': None}
    emulator.advance_clock(0.5)
    assert [list_roles(ram), get_user(ram)] == ['ok', 'ok']
    emulator.set_faults(throttle_storm={'seconds': 10, 'actions': ['GetUser']})
    assert [list_roles(ram), get_user(ram)] == ['ok', 'Throttling.User'], 'switching on again starts a new storm now'
    emulator.set_faults(throttle_storm=None)
    assert get_user(ram) == 'ok'


@pytest.mark.parametrize('bad', [{'seconds': 1, 'calls': 2}, {}, {'calls': 0}, {'seconds': -1}, {'calls': 1, 'actions': 'ListRoles'}, 5])
def test_storm_settings_are_checked(emulator, bad):
    with pytest.raises(EmulatorError) as info:
        emulator.set_faults(throttle_storm=bad)
    assert info.value.status == 400


# ---------------------------------------------------------------- rate limits
def test_rate_limit_per_action_on_a_frozen_clock(emulator, ram):
    emulator.freeze_clock()
    assert emulator.set_faults(qps={'ListRoles': 2})['qps'] == {'ListRoles': 2.0}
    assert [list_roles(ram) for _unused in range(3)] == ['ok', 'ok', 'Throttling.User']
    assert [get_user(ram) for _unused in range(5)] == ['ok'] * 5, 'other actions are not limited'
    emulator.advance_clock(0.5)
    assert [list_roles(ram), list_roles(ram)] == ['ok', 'Throttling.User']
    emulator.advance_clock(60)
    assert [list_roles(ram) for _unused in range(3)] == ['ok', 'ok', 'Throttling.User'], 'a burst never exceeds one second of calls'
    emulator.set_faults(qps={})
    assert list_roles(ram) == 'ok'
    emulator.reset()
    assert emulator.control('GET', 'faults')['qps'] == {} and emulator.control('GET', 'clock')['frozen'] is False


def test_token_bucket_with_an_injected_clock():
    bucket = TokenBucket(0.5, now=100.0)
    assert [bucket.take(100.0), bucket.take(100.0)] == [True, False], 'at least one token even below one call per second'
    assert [bucket.take(101.9), bucket.take(102.0), bucket.take(102.0)] == [False, True, False]
    fast = TokenBucket(10, now=0.0)
    assert sum(fast.take(0.0) for _unused in range(15)) == 10
    assert sum(fast.take(0.35) for _unused in range(15)) == 3


def test_clock_freezes_and_only_moves_forward():
    ticks = [10.0]
    clock = Clock(source=lambda: ticks[0])
    clock.freeze()
    ticks[0] = 50.0
    assert clock.now() == 10.0
    clock.advance(5)
    clock.unfreeze()
    assert clock.now() == 15.0
    ticks[0] = 51.0
    assert clock.now() == 16.0
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.reset()
    assert clock.now() == 51.0 and clock.view()['frozen'] is False, 'reset returns to real time'
    clock.advance(100)
    clock.reset()
    assert clock.now() == 151.0, 'but never moves backwards'


# ---------------------------------------------------------------- barrier
def test_barrier_holds_requests_until_all_have_arrived(emulator):
    barrier = emulator.barrier(2, action='ListRoles')
    first_client, second_client = clients(emulator)[0], clients(emulator)[0]
    answers = []
    first = threading.Thread(target=lambda: answers.append(list_roles(first_client)))
    first.start()
    while barrier.status()['arrived'] < 1:
        assert first.is_alive()
    assert get_user(second_client) == 'ok', 'other actions pass'
    assert first.is_alive() and answers == [], 'held until the second one arrives'
    assert list_roles(second_client) == 'ok'
    first.join()
    assert answers == ['ok']
    assert barrier.status() == {'count': 2, 'action': 'ListRoles', 'timeout': 60.0, 'arrived': 2, 'state': 'released'}
    assert list_roles(second_client) == 'ok', 'a released barrier holds nothing'


def test_barrier_as_context_manager_for_any_action(emulator):
    ram_clients = [clients(emulator)[0] for _unused in range(3)]
    answers = []
    with emulator.barrier(3):
        threads = [threading.Thread(target=lambda c=c: answers.append(list_roles(c))) for c in ram_clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == ['ok'] * 3


def test_barrier_that_does_not_fill_fails_loudly(emulator, ram):
    with pytest.raises(AssertionError) as info:
        with emulator.barrier(2, action='ListRoles', timeout=0.2):
            assert list_roles(ram) == 'Emulator.BarrierTimeout'
    assert "'state': 'timed_out'" in str(info.value) and "'arrived': 1" in str(info.value)
    assert [(c['status'], c['code']) for c in emulator.calls()] == [(500, 'Emulator.BarrierTimeout')]
    with pytest.raises(AssertionError) as info:
        with emulator.barrier(2):
            pass
    assert emulator.control('GET', 'barrier')['state'] == 'cancelled', 'left unfilled: cancelled so nothing stays held'
    assert list_roles(ram) == 'ok'


def test_barrier_control_errors_and_reset(emulator):
    emulator.barrier(5)
    with pytest.raises(EmulatorError) as info:
        emulator.barrier(1)
    assert info.value.status == 400 and 'already armed' in info.value.body
    emulator.reset()
    assert emulator.control('GET', 'barrier') == {'state': None}
    for body in ({'count': 0}, {'count': 1, 'timeout': 0}, {'count': 'x'}):
        with pytest.raises(EmulatorError) as info:
            emulator.control('POST', 'barrier', body)
        assert info.value.status == 400
