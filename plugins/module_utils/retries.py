# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Retry classification, the one delay rule (:class:`Backoff`) and the one loop behind every retry and wait.

Who waits for what:

* ``ServiceClient.call`` retries one call (:class:`RetryPolicy`): server errors and connection
  failures up to ``retries`` times, throttling for as long as ``retry_timeout`` allows (flow control
  comes in storms: the default rides out two minutes of it), everything within ``retry_timeout``;
* :func:`call_until_visible` repeats a call while another service does not see a new entity yet;
* :func:`wait_until` polls a read until a condition holds.

Nothing retries around ``ServiceClient.call``: its callers get the final answer.
"""

import random
import time

from ansible_collections.alicloud.ram.plugins.module_utils.errors import (
    AlicloudApiError,
    EMPTY_ANSWER_CODE,
    TIMEOUT_ERROR_CODE,
    TRANSPORT_ERROR_CODE,
)

RETRYABLE_CODE_PARTS = ('Throttling', 'ServiceUnavailable', 'InternalError', 'ServiceBusy')
THROTTLING_CODE_PART = 'Throttling'
DEFAULT_RETRY_TIMEOUT = 120.0


def is_throttling(err):
    return THROTTLING_CODE_PART in (getattr(err, 'code', None) or '')


def is_retryable(err, extra_codes=()):
    """Whether a failed call is worth another attempt (a repeat could get another answer)."""
    code = getattr(err, 'code', None) or ''
    if code in (TRANSPORT_ERROR_CODE, TIMEOUT_ERROR_CODE, EMPTY_ANSWER_CODE):
        return True
    if any(part in code for part in RETRYABLE_CODE_PARTS):
        return True
    if code and code in (extra_codes or ()):
        return True
    status = getattr(err, 'status', None)
    return isinstance(status, int) and status >= 500


class Backoff(object):
    """The one delay rule: ``base * 2 ** attempt`` capped at ``cap``, jittered between half and the whole of it."""

    def __init__(self, base=1.0, cap=20.0, rand=random.random):
        self.base = base
        self.cap = cap
        self.rand = rand

    def delay(self, attempt):
        """Seconds to wait after ``attempt`` + 1 failed tries."""
        return min(self.cap, self.base * (2 ** attempt)) * (0.5 + self.rand() / 2.0)


def backoff_loop(step, next_delay, sleep):
    """Run ``step()``; while ``next_delay(attempt, outcome)`` gives a delay, sleep it and run again.

    ``attempt`` counts the waits already made (0 after the first step). Returns the outcome
    of the last step, the one for which ``next_delay`` returned None.
    """
    attempt = 0
    while True:
        outcome = step()
        delay = next_delay(attempt, outcome)
        if delay is None:
            return outcome
        attempt += 1
        sleep(max(0.0, delay))


def call_retrying(fn, should_wait, sleep):
    """``fn()`` through the backoff loop; ``should_wait(attempt, err)`` gives the delay before the next try, or None."""
    def step():
        try:
            return fn(), None
        except AlicloudApiError as err:
            return None, err

    def next_delay(attempt, outcome):
        err = outcome[1]
        return None if err is None else should_wait(attempt, err)

    value, err = backoff_loop(step, next_delay, sleep)
    if err is not None:
        raise err
    return value


class RetryPolicy(object):
    """When ``ServiceClient.call`` tries again: ``retries`` repeats of a failure, any number of throttled
    attempts, all within ``timeout`` seconds of the first attempt; none when ``retries`` is 0."""

    def __init__(self, retries, timeout=DEFAULT_RETRY_TIMEOUT, extra_codes=(), backoff=None, clock=time.monotonic):
        self.retries = max(0, int(retries or 0))
        self.timeout = DEFAULT_RETRY_TIMEOUT if timeout is None else float(timeout)
        self.extra_codes = tuple(extra_codes or ())
        self.backoff = backoff or Backoff()
        self.clock = clock

    def waiter(self):
        """``should_wait(attempt, err)`` for one call, its clock started now."""
        started = self.clock()
        repeats = [0]

        def should_wait(attempt, err):
            if not self.retries or not is_retryable(err, self.extra_codes):
                return None
            if not is_throttling(err):
                if repeats[0] >= self.retries:
                    return None
                repeats[0] += 1
            delay = self.backoff.delay(attempt)
            if err.retry_after:
                # the server said how long to wait (milliseconds)
                delay = max(delay, min(self.backoff.cap, err.retry_after / 1000.0))
            if self.clock() - started + delay > self.timeout:
                return None
            return delay

        return should_wait


def call_until_visible(fn, codes, timeout, sleep=time.sleep, clock=time.monotonic, backoff=None):
    """Call ``fn()``; while it fails with one of ``codes``, wait and try again for up to ``timeout`` seconds.

    For eventual consistency: an entity created moments ago (a new RAM role) that another
    service (ECS, STS) does not see yet, or a policy another writer changes meanwhile.
    """
    deadline = clock() + timeout
    backoff = backoff or Backoff(cap=8.0)

    def should_wait(attempt, err):
        remaining = deadline - clock()
        if err.code not in codes or remaining <= 0:
            return None
        return min(backoff.delay(attempt), remaining)

    return call_retrying(fn, should_wait, sleep)


def wait_until(check, timeout, sleep=time.sleep, clock=time.monotonic, backoff=None):
    """Call ``check()`` until it returns a true value or ``timeout`` seconds have passed.

    Returns the last value ``check()`` returned; ``check()`` runs once more at the deadline.
    """
    deadline = clock() + timeout
    backoff = backoff or Backoff(cap=5.0)

    def next_delay(attempt, value):
        remaining = deadline - clock()
        if value or remaining <= 0:
            return None
        return min(backoff.delay(attempt), remaining)

    return backoff_loop(check, next_delay, sleep)
