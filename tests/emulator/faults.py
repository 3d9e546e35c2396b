"""Fault injection settings: throttling, unavailability, latency and delayed role visibility."""

import random
import threading

from .errors import ApiError

FIELDS = ('throttle_rate', 'unavailable_rate', 'latency_ms', 'role_visibility_delay', 'metadata_unavailable_rate', 'seed')


class Faults:
    """Current fault settings plus the seeded random generator that decides when they fire."""

    def __init__(self, throttle_rate=0.0, unavailable_rate=0.0, latency_ms=0, role_visibility_delay=0.0,
                 metadata_unavailable_rate=0.0, seed=None):
        self._lock = threading.Lock()
        self._initial = dict(throttle_rate=throttle_rate, unavailable_rate=unavailable_rate, latency_ms=latency_ms,
                             role_visibility_delay=role_visibility_delay, metadata_unavailable_rate=metadata_unavailable_rate,
                             seed=seed)
        self.settings = {}
        self.rng = random.Random()
        self.reset()

    def reset(self):
        with self._lock:
            self.settings = dict(self._initial)
            self.rng = random.Random(self.settings['seed'])

    def update(self, values):
        """Apply a partial update; raises ValueError on unknown keys or bad values."""
        unknown = set(values) - set(FIELDS)
        if unknown:
            raise ValueError('unknown fault settings: %s' % ', '.join(sorted(unknown)))
        clean = {}
        for key, value in values.items():
            if key == 'seed':
                clean[key] = None if value is None else int(value)
            elif key == 'latency_ms':
                clean[key] = max(0, int(value))
            elif key == 'role_visibility_delay':
                clean[key] = max(0.0, float(value))
            else:
                rate = float(value)
                if not 0.0 <= rate <= 1.0:
                    raise ValueError('%s must be between 0 and 1' % key)
                clean[key] = rate
        with self._lock:
            self.settings.update(clean)
            if 'seed' in clean:
                self.rng = random.Random(clean['seed'])
        return self.snapshot()

    def snapshot(self):
        with self._lock:
            return dict(self.settings)

    def latency_seconds(self):
        return self.snapshot()['latency_ms'] / 1000.0

    def visibility_delay(self):
        return self.snapshot()['role_visibility_delay']

    def _fires(self, key):
        with self._lock:
            rate = self.settings[key]
            if rate <= 0:
                return False
            return rate >= 1 or self.rng.random() < rate

    def api_fault(self):
        """The ApiError an API call should answer with instead of running, or None."""
        if self._fires('throttle_rate'):
            return ApiError(400, 'Throttling.User', 'Request was denied due to user flow control.')
        if self._fires('unavailable_rate'):
            return ApiError(503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.')
        return None

    def metadata_fault(self):
        return self._fires('metadata_unavailable_rate')
