# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Retry classification and the one backoff loop behind every retry and polling wait."""

import random
import time

from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, TIMEOUT_ERROR_CODE, TRANSPORT_ERROR_CODE

RETRYABLE_CODE_PARTS = ('Throttling', 'ServiceUnavailable', 'InternalError', 'ServiceBusy')


def is_retryable(err, extra_codes=()):
    """Whether a failed call is worth another attempt."""
    if getattr(err, 'final', False):
        return False
    code = getattr(err, 'code', None) or ''
    if code in (TRANSPORT_ERROR_CODE, TIMEOUT_ERROR_CODE):
        return True
    if any(part in code for part in RETRYABLE_CODE_PARTS):
        return True
    if code and code in (extra_codes or ()):
        return True
    status = getattr(err, 'status', None)
    return isinstance(status, int) and status >= 500


def backoff_delay(attempt, base=1.0, cap=20.0, rand=random.random):
    """Full jitter: a random delay between 0 and min(cap, base * 2 ** attempt)."""
    return rand() * min(cap, base * (2 ** attempt))


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


def _call_retrying(fn, should_wait, sleep):
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


def call_with_retries(fn, retries, extra_codes=(), base=1.0, cap=20.0, sleep=time.sleep, rand=random.random, on_retry=None):
    """Call ``fn()``; retry retryable :class:`AlicloudApiError` failures.

    At most ``retries + 1`` attempts are made. ``on_retry(err, attempt, delay)`` is called
    before each sleep (for logging).
    """
    retries = max(0, int(retries or 0))

    def should_wait(attempt, err):
        if attempt >= retries or not is_retryable(err, extra_codes):
            return None
        delay = backoff_delay(attempt, base, cap, rand)
        if err.retry_after:
            # the server told us how long to wait (milliseconds)
            delay = max(delay, min(cap, err.retry_after / 1000.0))
        if on_retry is not None:
            on_retry(err, attempt + 1, delay)
        return delay

    return _call_retrying(fn, should_wait, sleep)


def call_until_visible(fn, codes, timeout, sleep=time.sleep, clock=time.monotonic, rand=random.random, cap=8.0):
    """Call ``fn()``; while it fails with one of ``codes``, wait and try again for up to ``timeout`` seconds.

    For eventual consistency: an entity created moments ago (a new RAM role) that another
    service (ECS, STS) does not see yet. Each wait is 1, 2, 4... seconds (at most ``cap``),
    jittered between half and the whole of it, never past the deadline.
    """
    deadline = clock() + timeout

    def should_wait(attempt, err):
        remaining = deadline - clock()
        if err.code not in codes or remaining <= 0:
            return None
        return min(min(cap, 2.0 ** attempt) * (0.5 + rand() / 2.0), remaining)

    return _call_retrying(fn, should_wait, sleep)


def wait_until(check, timeout, sleep=time.sleep, clock=time.monotonic, first_delay=1.0, cap=5.0):
    """Call ``check()`` until it returns a true value or ``timeout`` seconds have passed.

    Returns the last value ``check()`` returned. Waits ``first_delay``, doubling up to ``cap``,
    never past the deadline; ``check()`` runs once more at the deadline.
    """
    deadline = clock() + timeout

    def next_delay(attempt, value):
        remaining = deadline - clock()
        if value or remaining <= 0:
            return None
        return min(first_delay * (2 ** attempt), cap, remaining)

    return backoff_loop(check, next_delay, sleep)
