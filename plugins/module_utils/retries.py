# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Retry classification and full-jitter exponential backoff."""

import random
import time

from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, TRANSPORT_ERROR_CODE

RETRYABLE_CODE_PARTS = ('Throttling', 'ServiceUnavailable', 'InternalError', 'ServiceBusy')


def is_retryable(err, extra_codes=()):
    """Whether a failed call is worth another attempt."""
    code = getattr(err, 'code', None) or ''
    if code == TRANSPORT_ERROR_CODE:
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


def call_with_retries(fn, retries, extra_codes=(), base=1.0, cap=20.0, sleep=time.sleep, rand=random.random, on_retry=None):
    """Call ``fn()``; retry retryable :class:`AlicloudApiError` failures.

    At most ``retries + 1`` attempts are made. ``on_retry(err, attempt, delay)`` is called
    before each sleep (for logging).
    """
    retries = max(0, int(retries or 0))
    attempt = 0
    while True:
        try:
            return fn()
        except AlicloudApiError as err:
            if attempt >= retries or not is_retryable(err, extra_codes):
                raise
            delay = backoff_delay(attempt, base, cap, rand)
            if err.retry_after:
                # the server told us how long to wait (milliseconds)
                delay = max(delay, min(cap, err.retry_after / 1000.0))
            attempt += 1
            if on_retry is not None:
                on_retry(err, attempt, delay)
            sleep(delay)


def call_until_visible(fn, codes, timeout, sleep=time.sleep, clock=time.monotonic, rand=random.random, cap=8.0):
    """Call ``fn()``; while it fails with one of ``codes``, wait and try again for up to ``timeout`` seconds.

    For eventual consistency: an entity created moments ago (a new RAM role) that another
    service (ECS, STS) does not see yet. Each wait is 1, 2, 4... seconds (at most ``cap``),
    jittered between half and the whole of it, never past the deadline.
    """
    deadline = clock() + timeout
    attempt = 0
    while True:
        try:
            return fn()
        except AlicloudApiError as err:
            remaining = deadline - clock()
            if err.code not in codes or remaining <= 0:
                raise
            delay = min(cap, 2.0 ** attempt) * (0.5 + rand() / 2.0)
            attempt += 1
            sleep(max(0.0, min(delay, remaining)))
