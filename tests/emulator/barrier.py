"""A one-shot barrier for race tests: hold the next N API requests until all N have arrived, then let them go together.

A barrier that does not fill within its timeout (counted from the first held request) answers every held
request ``500 Emulator.BarrierTimeout`` and stays ``timed_out`` in its status, so a test fails loudly
instead of hanging.
"""

import threading
import time

from .errors import ApiError

DEFAULT_TIMEOUT = 60.0


class Barrier:
    def __init__(self):
        self._cond = threading.Condition()
        self._current = None

    def arm(self, count, action=None, timeout=DEFAULT_TIMEOUT):
        """Arm a barrier for ``count`` requests (of ``action`` only, if given); raises ValueError."""
        count, timeout = int(count), float(timeout)
        if count < 1 or timeout <= 0:
            raise ValueError('count must be >= 1 and timeout > 0')
        if action is not None and (not isinstance(action, str) or not action):
            raise ValueError('action must be an action name or null')
        with self._cond:
            if self._current is not None and self._current['state'] == 'waiting':
                raise ValueError('a barrier is already armed (%d of %d arrived)' % (self._current['arrived'], self._current['count']))
            self._current = {'count': count, 'action': action, 'timeout': timeout, 'arrived': 0, 'state': 'waiting'}
            return dict(self._current)

    def status(self):
        with self._cond:
            return dict(self._current) if self._current else {'state': None}

    def cancel(self):
        """Release held requests (each answered ``Emulator.BarrierCancelled``) and disarm."""
        with self._cond:
            if self._current is not None and self._current['state'] == 'waiting':
                self._current['state'] = 'cancelled'
                self._cond.notify_all()
            return dict(self._current) if self._current else {'state': None}

    def clear(self):
        """Cancel any armed barrier and forget it (emulator reset)."""
        with self._cond:
            if self._current is not None and self._current['state'] == 'waiting':
                self._current['state'] = 'cancelled'
                self._cond.notify_all()
            self._current = None

    def hold(self, action):
        """Called for every API request; returns at once unless an armed barrier takes this request."""
        with self._cond:
            barrier = self._current
            if barrier is None or barrier['state'] != 'waiting' or barrier['action'] not in (None, action):
                return
            barrier['arrived'] += 1
            if barrier['arrived'] >= barrier['count']:
                barrier['state'] = 'released'
                self._cond.notify_all()
                return
            deadline = time.monotonic() + barrier['timeout']
            while barrier['state'] == 'waiting':
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    barrier['state'] = 'timed_out'
                    self._cond.notify_all()
                    break
                self._cond.wait(remaining)
            if barrier['state'] == 'timed_out':
                raise ApiError(500, 'Emulator.BarrierTimeout', 'Only %d of the %d requests the barrier waits for arrived within %g s.'
                               % (barrier['arrived'], barrier['count'], barrier['timeout']))
            if barrier['state'] == 'cancelled':
                raise ApiError(500, 'Emulator.BarrierCancelled', 'The barrier holding this request was cancelled.')
