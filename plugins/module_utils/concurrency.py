# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The one bounded worker pool of the collection: batches of calls, one client per worker.

``WorkerPool.map(func, items)`` runs ``func(client, item)`` for every item with at most
``limit`` calls in flight and returns one :class:`Outcome` per item, in item order. The limit
adapts: it is halved (not below ``minimum``) whenever a call reports throttling through
:meth:`WorkerPool.throttled`, and grows by one after ``limit`` calls in a row went through
without throttling, up to ``maximum``. ``peak`` is the most calls that were in flight at once.

Throttling is reported by the clients themselves: every client the pool hands to a worker gets
the pool's :meth:`WorkerPool.throttled` as its ``on_throttle`` callback, which the client calls
before it backs off from a throttled attempt. A call that still fails with a throttling code once
its retries are used up counts as throttled too.
"""

import collections
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError

Outcome = collections.namedtuple('Outcome', ['value', 'error'])

# The bounds of the modules' ``concurrency`` option (calls in flight at once).
MIN_CONCURRENCY = 1
MAX_CONCURRENCY = 16


def concurrency_error(value):
    """An error message when ``value`` is not a usable ``concurrency`` option, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and MIN_CONCURRENCY <= value <= MAX_CONCURRENCY:
        return None
    return 'concurrency must be between %d and %d, got %s' % (MIN_CONCURRENCY, MAX_CONCURRENCY, value)


class WorkerPool(object):
    """``clients(n)`` returns n service clients (SDK clients are not shared across threads)."""

    def __init__(self, clients, start, maximum=None, minimum=1):
        self._client_source = clients
        self.minimum = max(1, int(minimum))
        self.maximum = max(self.minimum, int(maximum or start))
        self.limit = min(self.maximum, max(self.minimum, int(start)))
        self.peak = 0
        self._active = 0
        self._streak = 0
        self._cond = threading.Condition()

    # -- adaptive limit ----------------------------------------------------------------------

    def throttled(self):
        """A call was throttled: halve the limit."""
        with self._cond:
            self.limit = max(self.minimum, self.limit // 2)
            self._streak = 0

    def _succeeded(self):
        with self._cond:
            self._streak += 1
            if self._streak >= self.limit and self.limit < self.maximum:
                self.limit += 1
                self._streak = 0
                self._cond.notify_all()

    def _enter(self):
        with self._cond:
            while self._active >= self.limit:
                self._cond.wait()
            self._active += 1
            self.peak = max(self.peak, self._active)

    def _leave(self):
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    # -- running -----------------------------------------------------------------------------

    def _clients(self, count):
        clients = queue.Queue()
        for client in self._client_source(count):
            if hasattr(client, 'on_throttle'):
                client.on_throttle = self.throttled
            clients.put(client)
        return clients

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
        clients = self._clients(threads)
        stop = threading.Event()

        def work(index):
            if stop.is_set():
                return
            self._enter()
            client = clients.get()
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
                clients.put(client)
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
