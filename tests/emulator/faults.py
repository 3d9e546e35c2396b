"""Fault injection settings: throttling, unavailability, latency, delayed role visibility, denied actions,
lost replies, trickled replies, raw (non-JSON) error answers and how re-attaching the same role reports."""

import copy
import random
import threading

from .errors import ApiError

RATES = ('throttle_rate', 'unavailable_rate', 'metadata_unavailable_rate')
FIELDS = RATES + ('latency_ms', 'role_visibility_delay', 'seed', 'deny_actions', 'lose_reply_actions', 'trickle_ms',
                  'attach_same_role', 'raw_error')
SAME_ROLE_ANSWERS = ('success', 'failure')
DENIED = ApiError(403, 'NoPermission', 'You are not authorized to do this action. You should be authorized by RAM.')


def _action_list(key, value):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValueError('%s must be a list of action names' % key)
    return list(value)


def _raw_error(value):
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {'status', 'content_type', 'size'}:
        raise ValueError('raw_error must be null or {"status": int, "content_type": str, "size": int}')
    status = int(value.get('status', 502))
    size = int(value.get('size', 0))
    content_type = str(value.get('content_type', 'text/html'))
    if not 200 <= status <= 599 or size < 0:
        raise ValueError('raw_error status must be 200..599 and size >= 0')
    return {'status': status, 'content_type': content_type, 'size': size}


def _clean(key, value):
    """One validated setting; raises ValueError."""
    if key == 'seed':
        return None if value is None else int(value)
    if key in ('latency_ms', 'trickle_ms'):
        return max(0, int(value))
    if key == 'role_visibility_delay':
        return max(0.0, float(value))
    if key in ('deny_actions', 'lose_reply_actions'):
        return _action_list(key, value)
    if key == 'attach_same_role':
        if value not in SAME_ROLE_ANSWERS:
            raise ValueError('attach_same_role must be one of %s' % ', '.join(SAME_ROLE_ANSWERS))
        return value
    if key == 'raw_error':
        return _raw_error(value)
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError('%s must be between 0 and 1' % key)
    return rate


class Faults:
    """Current fault settings plus the seeded random generator that decides when they fire."""

    def __init__(self, throttle_rate=0.0, unavailable_rate=0.0, latency_ms=0, role_visibility_delay=0.0,
                 metadata_unavailable_rate=0.0, seed=None):
        self._lock = threading.Lock()
        self._initial = dict(throttle_rate=throttle_rate, unavailable_rate=unavailable_rate, latency_ms=latency_ms,
                             role_visibility_delay=role_visibility_delay, metadata_unavailable_rate=metadata_unavailable_rate,
                             seed=seed, deny_actions=[], lose_reply_actions=[], trickle_ms=0, attach_same_role='success',
                             raw_error=None)
        self.settings = {}
        self.rng = random.Random()
        self.reset()

    def reset(self):
        with self._lock:
            self.settings = copy.deepcopy(self._initial)
            self.rng = random.Random(self.settings['seed'])

    def update(self, values):
        """Apply a partial update; raises ValueError on unknown keys or bad values."""
        unknown = set(values) - set(FIELDS)
        if unknown:
            raise ValueError('unknown fault settings: %s' % ', '.join(sorted(unknown)))
        clean = dict((key, _clean(key, value)) for key, value in values.items())
        with self._lock:
            self.settings.update(clean)
            if 'seed' in clean:
                self.rng = random.Random(clean['seed'])
        return self.snapshot()

    def snapshot(self):
        with self._lock:
            return copy.deepcopy(self.settings)

    def get(self, key):
        with self._lock:
            return copy.deepcopy(self.settings[key])

    def latency_seconds(self):
        return self.get('latency_ms') / 1000.0

    def visibility_delay(self):
        return self.get('role_visibility_delay')

    def _fires(self, key):
        with self._lock:
            rate = self.settings[key]
            if rate <= 0:
                return False
            return rate >= 1 or self.rng.random() < rate

    def api_fault(self, action):
        """The ApiError an API call should answer with instead of running, or None."""
        if action in self.get('deny_actions'):
            return DENIED
        if self._fires('throttle_rate'):
            return ApiError(400, 'Throttling.User', 'Request was denied due to user flow control.')
        if self._fires('unavailable_rate'):
            return ApiError(503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.')
        return None

    def take_lost_reply(self, action):
        """True (once per listed occurrence) when this call of ``action`` is to lose its reply."""
        with self._lock:
            pending = self.settings['lose_reply_actions']
            if action in pending:
                pending.remove(action)
                return True
            return False

    def metadata_fault(self):
        return self._fires('metadata_unavailable_rate')
