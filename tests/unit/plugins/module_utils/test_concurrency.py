# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The worker pool: order, errors, the bound on calls in flight, the adaptive limit (growth, halving,
the ceiling under a rate limit) and the throttling hook. Races are made with barriers; nothing sleeps."""

import threading

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import (
    CALM_WINDOWS,
    START_CONCURRENCY,
    Outcome,
    WorkerPool,
    first_error,
)
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError


class Client(object):
    """Stands for a ServiceClient: it accepts the pool's throttling callback."""

    def __init__(self, number):
        self.number = number
        self.on_throttle = None


def clients(count):
    return [Client(n) for n in range(count)]


class InFlight(object):
    """Counts the calls running at the same moment."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __enter__(self):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        return self

    def __exit__(self, *exc):
        with self.lock:
            self.now -= 1


def succeed(pool, count):
    pool.map(lambda client, item: item, range(count))


def test_outcomes_follow_the_items_and_api_errors_are_caught_per_item():
    pool = WorkerPool(clients, start=3)

    def call(client, item):
        if item == 2:
            raise AlicloudApiError('Some.Code', 'no')
        return item * 10

    outcomes = pool.map(call, range(5))
    assert [o.value for o in outcomes] == [0, 10, None, 30, 40]
    assert outcomes[2].error.code == 'Some.Code' and first_error(outcomes) is outcomes[2].error
    assert first_error([Outcome(1, None)]) is None and pool.map(call, []) == []


def test_stop_on_error_leaves_the_items_not_started():
    pool = WorkerPool(clients, start=1)

    def call(client, item):
        if item == 1:
            raise AlicloudApiError('Some.Code', 'no')
        return item

    assert pool.map(call, range(3), stop_on_error=True)[2] == Outcome(None, None)


def test_at_most_limit_calls_in_flight_and_peak_counts_them():
    pool = WorkerPool(clients, start=3)
    together = threading.Barrier(3, timeout=30)
    flight = InFlight()

    def call(client, item):
        with flight:
            together.wait()  # three calls must be in flight at once, or this times out
            return client.number

    outcomes = pool.map(call, range(9))
    assert flight.most == 3 and pool.peak == 3
    assert {o.value for o in outcomes} <= {0, 1, 2}


def test_each_client_serves_one_call_at_a_time_and_only_the_clients_used_are_built():
    asked = []

    def source(count):
        asked.append(count)
        return clients(count)

    pool = WorkerPool(source, maximum=16)
    together = threading.Barrier(4, timeout=30)
    busy, lock, clash = set(), threading.Lock(), []

    def call(client, item):
        with lock:
            clash.extend([client.number] if client.number in busy else [])
            busy.add(client.number)
        together.wait()  # four in flight: the pool starts at 4
        with lock:
            busy.discard(client.number)

    pool.map(call, range(4))
    assert clash == [] and asked == [1, 2, 3, 4]


@pytest.mark.parametrize('kwargs, limit, maximum', [
    ({'start': 0}, 1, 1),
    ({'start': 20, 'maximum': 16}, 16, 16),
    ({'start': 5}, 5, 5),                      # start alone: a fixed pool
    ({'maximum': 16}, START_CONCURRENCY, 16),  # the modules' pools: start at 4, grow to the option
    ({'maximum': 2}, 2, 2),
    ({}, START_CONCURRENCY, START_CONCURRENCY),
])
def test_limits_are_kept_in_range(kwargs, limit, maximum):
    pool = WorkerPool(clients, **kwargs)
    assert (pool.limit, pool.maximum) == (limit, maximum)


def test_the_limit_grows_by_one_per_window_of_successes_up_to_the_maximum():
    pool = WorkerPool(clients, maximum=16)
    for limit in range(START_CONCURRENCY, 16):
        assert pool.limit == limit
        succeed(pool, limit)   # one window: as many successes in a row as the limit
    assert pool.limit == 16
    succeed(pool, 100)
    assert pool.limit == 16 and pool.cuts == 0


def test_a_pool_given_only_a_start_never_grows():
    pool = WorkerPool(clients, start=4)
    succeed(pool, 100)
    assert pool.limit == 4


def test_throttling_halves_the_limit_down_to_the_minimum():
    pool = WorkerPool(clients, start=8, maximum=16)
    for expected in (4, 2, 1, 1):
        pool.throttled()
        assert pool.limit == expected
    assert WorkerPool(clients, start=8, minimum=3).limit == 8


def test_after_a_throttle_growth_stops_below_the_level_that_was_throttled():
    pool = WorkerPool(clients, start=8, maximum=16)
    pool.throttled()
    assert (pool.limit, pool.ceiling) == (4, 7)
    succeed(pool, 4 + 5 + 6 + 7 * 3)
    assert pool.limit == 7


def test_a_calm_at_the_ceiling_raises_it_by_one():
    pool = WorkerPool(clients, start=8, maximum=16)
    pool.throttled()
    succeed(pool, 4 + 5 + 6)
    assert pool.limit == 7
    succeed(pool, 7 * CALM_WINDOWS - 1)
    assert pool.ceiling == 7
    succeed(pool, 1)
    assert pool.ceiling == 8
    succeed(pool, 7)
    assert pool.limit == 8


def test_a_throttle_resets_the_run_of_successes():
    pool = WorkerPool(clients, start=8)
    pool.throttled()
    succeed(pool, 3)
    assert pool.limit == 4
    pool.throttled()
    succeed(pool, 1)
    assert pool.limit == 2  # the three successes before the throttle do not count


def test_a_burst_of_throttles_from_calls_in_flight_together_halves_once():
    pool = WorkerPool(clients, start=8, maximum=16)
    together = threading.Barrier(8, timeout=30)

    def call(client, item):
        together.wait()  # all eight in flight, started at limit 8
        client.on_throttle()

    pool.map(call, range(8))
    # halved once to 4; the eight retries then went through: one window of 4, and growth to 5
    assert (pool.cuts, pool.limit, pool.ceiling) == (1, 5, 7)


def test_a_retry_throttled_again_after_the_cut_halves_again():
    pool = WorkerPool(clients, start=8, maximum=16)

    def call(client, item):
        client.on_throttle()   # the first attempt
        client.on_throttle()   # the retry, started after the cut

    pool.map(call, range(1))
    assert (pool.cuts, pool.limit) == (2, 2)


def test_a_throttled_pool_lets_fewer_calls_in():
    pool = WorkerPool(clients, start=4)
    pool.throttled()
    pool.throttled()
    flight = InFlight()
    alone = []

    def call(client, item):
        with flight:
            if item == 0:
                alone.append(flight.now == 1)

    pool.map(call, range(3))
    # limit 1 for the first call, 2 after it went through; growing to 3 needs two more successes
    assert alone == [True] and flight.most <= 2


def test_clients_report_throttling_to_the_pool_that_uses_them():
    handed = clients(2)
    pool = WorkerPool(lambda count: handed[:count], start=2)
    pool.map(lambda client, item: item, range(2))
    assert all(c.on_throttle == pool.throttled for c in handed if c.on_throttle is not None)
    handed[0].on_throttle = pool.throttled
    handed[0].on_throttle()
    assert pool.limit == 1


def test_a_call_that_stays_throttled_halves_the_limit():
    pool = WorkerPool(clients, start=4)

    def call(client, item):
        raise AlicloudApiError('Throttling.User' if item == 0 else 'Other.Code', 'no')

    pool.map(call, range(1))
    assert pool.limit == 2
    pool.map(call, range(1, 3))
    assert pool.limit == 2


class RateLimitedService(object):
    """A service that takes ``rate`` calls per round (one round = one round trip of the pool's
    calls on a fake clock) and throttles the rest, as a per-action rate limit does."""

    def __init__(self, rate):
        self.rate = rate
        self.tokens = rate
        self.throttled = 0
        self.lock = threading.Lock()

    def next_round(self):
        self.tokens = self.rate

    def call(self, client, item):
        with self.lock:
            if self.tokens > 0:
                self.tokens -= 1
                return item
            self.throttled += 1
        raise AlicloudApiError('Throttling.User', 'Request was denied due to user flow control.')


@pytest.mark.parametrize('rate', [3, 6, 10])
def test_under_a_rate_limit_the_pool_settles_just_under_it_with_few_throttled_calls(rate):
    service = RateLimitedService(rate)
    pool = WorkerPool(clients, maximum=16)
    limits, cuts = [], []
    for _round in range(120):
        before = pool.cuts
        service.next_round()
        pool.map(service.call, range(pool.limit))   # one round: the pool's calls in flight together
        limits.append(pool.limit)
        cuts.append(pool.cuts - before)
    settled = limits[40:]
    assert max(cuts) <= 1                                 # one cut per round at most
    assert sum(cuts[40:]) <= len(settled) // CALM_WINDOWS + 1   # then only the calm probes get throttled
    assert max(settled) <= rate + 1 and sum(settled) / float(len(settled)) >= rate - 1.5
    assert service.throttled <= 4 * rate + len(settled) // CALM_WINDOWS * 2
