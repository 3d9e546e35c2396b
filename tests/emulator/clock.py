"""The emulator's clock for time-based behaviours (throttling storms, rate limits, detach visibility delays).

Tests freeze and advance it through the control API instead of sleeping, so a loaded machine gives the
same answers as a quiet one.
"""

import threading
import time


class Clock:
    """Monotonic seconds, shifted by ``advance`` and optionally frozen."""

    def __init__(self, source=time.monotonic):
        self._source = source
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen = None

    def now(self):
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return self._source() + self._offset

    def freeze(self):
        with self._lock:
            if self._frozen is None:
                self._frozen = self._source() + self._offset

    def unfreeze(self):
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - self._source()
                self._frozen = None

    def advance(self, seconds):
        if seconds < 0:
            raise ValueError('the clock only moves forward')
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds

    def reset(self):
        """Back to real time; never moves backwards, so timers started earlier stay consistent."""
        with self._lock:
            now = self._frozen if self._frozen is not None else self._source() + self._offset
            self._frozen = None
            self._offset = max(0.0, now - self._source())

    def view(self):
        with self._lock:
            frozen = self._frozen is not None
        return {'now': self.now(), 'frozen': frozen}
