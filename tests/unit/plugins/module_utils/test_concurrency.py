# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The worker pool: order, errors, the bound on calls in flight, the adaptive limit and the throttling hook."""

import threading

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import Outcome, WorkerPool, first_error
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError


# a bound on how long a barrier waits: only reached when the pool deadlocks
GUARD = 10


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
    together = threading.Barrier(3, timeout=GUARD)
    flight = InFlight()

    def call(client, item):
        with flight:
            together.wait()  # three calls must be in flight at once, or this times out
            return client.number

    outcomes = pool.map(call, range(9))
    assert flight.most == 3 and pool.peak == 3
    assert {o.value for o in outcomes} <= {0, 1, 2}


def test_each_client_serves_one_call_at_a_time():
    pool = WorkerPool(clients, start=4)
    busy, lock, clash = set(), threading.Lock(), []
    together = threading.Barrier(4, timeout=GUARD)

    def call(client, item):
        with lock:
            clash.extend([client.number] if client.number in busy else [])
            busy.add(client.number)
        together.wait()  # four calls in flight at once, each holding its client
        with lock:
            busy.discard(client.number)

    pool.map(call, range(20))
    assert clash == [] and pool.peak == 4


def test_throttling_halves_the_limit_down_to_the_minimum():
    pool = WorkerPool(clients, start=8, maximum=16)
    assert pool.limit == 8
    for expected in (4, 2, 1, 1):
        pool.throttled()
        assert pool.limit == expected
    assert WorkerPool(clients, start=8, minimum=3).limit == 8


def test_limit_grows_by_one_after_as_many_successes_in_a_row_up_to_the_maximum():
    pool = WorkerPool(clients, start=4)
    pool.throttled()
    pool.throttled()
    assert pool.limit == 1
    pool.map(lambda client, item: item, range(1))
    assert pool.limit == 2
    pool.map(lambda client, item: item, range(2))
    assert pool.limit == 3
    pool.map(lambda client, item: item, range(100))
    assert pool.limit == 4  # the start value is the maximum unless one is given
    grower = WorkerPool(clients, start=2, maximum=3)
    grower.map(lambda client, item: item, range(2))
    grower.map(lambda client, item: item, range(50))
    assert grower.limit == 3


def test_a_throttle_resets_the_run_of_successes():
    pool = WorkerPool(clients, start=8)
    pool.throttled()
    pool.map(lambda client, item: item, range(3))
    assert pool.limit == 4
    pool.throttled()
    pool.map(lambda client, item: item, range(1))
    assert pool.limit == 2  # the three successes before the throttle do not count


def test_a_throttled_pool_lets_fewer_calls_in():
    pool = WorkerPool(clients, start=4)
    pool.throttled()
    pool.throttled()
    flight = InFlight()
    seen_alone = []
    arrived = threading.Semaphore(0)
    enter = pool._enter  # pylint: disable=protected-access

    def counted_enter():
        arrived.release()
        enter()

    pool._enter = counted_enter  # pylint: disable=protected-access
    started, looked = [], threading.Event()

    def call(client, item):
        with flight:
            with flight.lock:
                first = not started
                started.append(item)
            if first:
                # every worker is at the pool's door before the first call looks around
                assert all(arrived.acquire(timeout=GUARD) for _n in range(3))
                seen_alone.append(flight.now == 1)
                looked.set()
            else:
                # a call let in too early would still be in flight when the first one looks
                assert looked.wait(GUARD)

    pool.map(call, range(3))
    # limit 1 for the first call, 2 after it went through; growing to 3 needs two more successes
    assert seen_alone == [True] and flight.most <= 2


def test_clients_report_throttling_to_the_pool_that_uses_them():
    handed = clients(2)
    pool = WorkerPool(lambda count: handed[:count], start=2)
    pool.map(lambda client, item: item, range(2))
    assert all(c.on_throttle == pool.throttled for c in handed)
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


@pytest.mark.parametrize('start, maximum, limit', [(0, None, 1), (20, 16, 16), (5, None, 5)])
def test_limits_are_kept_in_range(start, maximum, limit):
    assert WorkerPool(clients, start=start, maximum=maximum).limit == limit
