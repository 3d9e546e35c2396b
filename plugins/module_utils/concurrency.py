# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The one bounded worker pool of the collection: batches of calls, one client per worker.

``WorkerPool.map(func, items)`` runs ``func(client, item)`` for every item with at most
``limit`` calls in flight and returns one :class:`Outcome` per item, in item order. ``peak`` is
the most calls that were in flight at once.

The limit adapts to the service, as a TCP sender adapts to the network:

- it starts at ``start`` (default :data:`START_CONCURRENCY`) and grows by one after each window
  of successful calls (as many in a row as the limit: about one round trip of every worker),
  up to ``maximum`` (the modules' ``concurrency`` option);
- a throttled call halves it (not below ``minimum``), and the level that was throttled is
  remembered: growth stops one below it (the ``ceiling``), so the pool settles just under a
  rate limit instead of running into it again and again. After :data:`CALM_WINDOWS` windows at
  the ceiling without a throttle it is raised by one, so a limit that was lifted is found again;
- the calls already in flight when the limit was halved were started at the old level: their
  throttles do not halve it again (one cut per burst of throttles, not one per call).

Throttling is reported by the clients themselves: every client the pool hands to a worker gets
the pool's :meth:`WorkerPool.throttled` as its ``on_throttle`` callback, which the client calls
before it backs off from a throttled attempt. A call that still fails with a throttling code once
its retries are used up counts as throttled too. Clients are asked for one at a time, when a
worker first needs one, so a pool that never grows builds only the clients it uses.
"""

import collections
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError

Outcome = collections.namedtuple('Outcome', ['value', 'error'])

# The bounds of the modules' ``concurrency`` option (the most calls in flight at once).
MIN_CONCURRENCY = 1
MAX_CONCURRENCY = 16
# Where a pool whose maximum is the option starts: low enough for a throttled account, grown in a few round trips.
START_CONCURRENCY = 4
# Windows of successful calls at the ceiling before it is raised by one.
CALM_WINDOWS = 8


def concurrency_error(value):
    """An error message when ``value`` is not a usable ``concurrency`` option, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and MIN_CONCURRENCY <= value <= MAX_CONCURRENCY:
        return None
    return 'concurrency must be between %d and %d, got %s' % (MIN_CONCURRENCY, MAX_CONCURRENCY, value)


class WorkerPool(object):
    """``clients(n)`` returns n service clients (SDK clients are not shared across threads).

    ``maximum``: the most calls in flight; ``start``: the limit at first (default: the smaller of
    :data:`START_CONCURRENCY` and ``maximum``). Given ``start`` alone, the pool never grows past it.
    """

    def __init__(self, clients, maximum=None, start=None, minimum=1):
        self._client_source = clients
        self.minimum = max(1, int(minimum))
        if maximum is None:
            maximum = START_CONCURRENCY if start is None else start
        self.maximum = max(self.minimum, int(maximum))
        if start is None:
            start = min(START_CONCURRENCY, self.maximum)
        self.limit = min(self.maximum, max(self.minimum, int(start)))
        self.ceiling = self.maximum
        self.peak = 0
        self.cuts = 0
        self._active = 0
        self._streak = 0
        self._calm = 0
        self._cond = threading.Condition()
        self._call = threading.local()   # ``cuts`` when the worker's current attempt started
        self._idle = []
        self._built = 0
        self._build_lock = threading.Lock()

    # -- adaptive limit ----------------------------------------------------------------------

    def throttled(self):
        """A call was throttled: halve the limit, and stop growth below the level that was throttled.

        A call that started before the last cut reports what that cut answered already: ignored.
        The reporting call's next attempt counts as started now.
        """
        with self._cond:
            started = getattr(self._call, 'cuts', None)
            if started is None or started == self.cuts:
                self.ceiling = max(self.minimum, self.limit - 1)
                self.limit = max(self.minimum, self.limit // 2)
                self.cuts += 1
                self._streak = self._calm = 0
            self._call.cuts = self.cuts

    def _succeeded(self):
        with self._cond:
            self._streak += 1
            if self._streak < self.limit:
                return
            self._streak = 0
            if self.limit < self.ceiling:
                self.limit += 1
                self._cond.notify_all()
            elif self.ceiling < self.maximum:
                self._calm += 1
                if self._calm >= CALM_WINDOWS:
                    self.ceiling += 1
                    self._calm = 0

    def _enter(self):
        with self._cond:
            while self._active >= self.limit:
                self._cond.wait()
            self._active += 1
            self.peak = max(self.peak, self._active)
            self._call.cuts = self.cuts

    def _leave(self):
        with self._cond:
            self._active -= 1
            self._call.cuts = None
            self._cond.notify_all()

    # -- clients -----------------------------------------------------------------------------

    def _take_client(self):
        with self._build_lock:
            if self._idle:
                return self._idle.pop()
            # sources hand out the same first clients on every call (module.clients keeps them)
            self._built += 1
            client = self._client_source(self._built)[-1]
        if hasattr(client, 'on_throttle'):
            client.on_throttle = self.throttled
        return client

    def _give_back(self, client):
        with self._build_lock:
            self._idle.append(client)

    # -- running -----------------------------------------------------------------------------

    def map(self, func, items, stop_on_error=False):
        """``[Outcome(value, error)]`` of ``func(client, item)``, in item order.

        ``AlicloudApiError`` is caught per item. With ``stop_on_error`` the items not started
        after an error stay ``Outcome(None, None)``.
        """
        items = list(items)
        outcomes = [Outcome(None, None)] * len(items)
        if not items:
            return outcomes
        threads = min(self.maximum, len(items))
        stop = threading.Event()

        def work(index):
            if stop.is_set():
                return
            self._enter()
            client = self._take_client()
            try:
                if stop.is_set():
                    return
                outcomes[index] = Outcome(func(client, items[index]), None)
                self._succeeded()
            except AlicloudApiError as err:
                outcomes[index] = Outcome(None, err)
                if 'Throttling' in (err.code or ''):
                    self.throttled()
                if stop_on_error:
                    stop.set()
            finally:
                self._give_back(client)
                self._leave()

        if threads == 1:
            for index in range(len(items)):
                work(index)
        else:
            with ThreadPoolExecutor(max_workers=threads) as executor:
                list(executor.map(work, range(len(items))))
        return outcomes


def first_error(outcomes):
    """The first error among ``outcomes`` (or None)."""
    for outcome in outcomes:
        if outcome.error is not None:
            return outcome.error
    return None
