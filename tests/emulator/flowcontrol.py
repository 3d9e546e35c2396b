"""Flow control the real services apply: throttling storms that last a while and per-action rate limits.

Both answer ``400 Throttling.User`` and read the emulator clock (see clock.py), never the wall clock.
"""

import math

from .errors import ApiError


def throttled():
    return ApiError(400, 'Throttling.User', 'Request was denied due to user flow control.')


def clean_storm(value):
    """``null`` or ``{"seconds": S}`` / ``{"calls": N}`` with optional ``"actions": [...]``; raises ValueError."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {'seconds', 'calls', 'actions'} or ('seconds' in value) == ('calls' in value):
        raise ValueError('throttle_storm must be null or {"seconds": S} or {"calls": N}, with optional "actions": [names]')
    actions = value.get('actions')
    if actions is not None and (not isinstance(actions, list) or not all(isinstance(a, str) and a for a in actions)):
        raise ValueError('throttle_storm actions must be a list of action names')
    if 'seconds' in value:
        seconds = float(value['seconds'])
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError('throttle_storm seconds must be > 0')
        return {'seconds': seconds, 'actions': actions}
    calls = int(value['calls'])
    if calls < 1:
        raise ValueError('throttle_storm calls must be >= 1')
    return {'calls': calls, 'actions': actions}


def clean_qps(value):
    """``{"Action": N}`` with N > 0 calls per second (``null`` is ``{}``); raises ValueError."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise ValueError('qps must be an object of {"Action": calls per second}')
    clean = dict((action, float(rate)) for action, rate in value.items())
    if not all(rate > 0 for rate in clean.values()):
        raise ValueError('qps limits must be > 0')
    return clean


class Storm:
    """Every matching call is throttled until ``seconds`` have passed or ``calls`` calls were refused."""

    def __init__(self, spec, now):
        self.actions = spec.get('actions')
        self.calls = spec.get('calls')
        self.ends = now + spec['seconds'] if 'seconds' in spec else None

    def over(self, now):
        return self.calls == 0 if self.ends is None else now >= self.ends

    def hits(self, action, now):
        if self.over(now) or (self.actions is not None and action not in self.actions):
            return False
        if self.calls is not None:
            self.calls -= 1
        return True

    def view(self, now):
        if self.over(now):
            return None
        if self.ends is None:
            return {'calls': self.calls, 'actions': self.actions}
        return {'seconds': round(self.ends - now, 3), 'actions': self.actions}


class TokenBucket:
    """``rate`` tokens per second, holding at most one second's worth (at least one token)."""

    def __init__(self, rate, now):
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = now

    def take(self, now):
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class FlowControl:
    """The current storm and rate limits. Not thread-safe: the caller (Faults) holds its lock."""

    def __init__(self):
        self.storm = None
        self.buckets = {}

    def start_storm(self, spec, now):
        self.storm = Storm(spec, now) if spec else None

    def set_limits(self, limits, now):
        self.buckets = dict((action, TokenBucket(rate, now)) for action, rate in limits.items())

    def refuses(self, action, now):
        """True when this call is to be answered ``Throttling.User``."""
        if self.storm is not None and self.storm.hits(action, now):
            return True
        bucket = self.buckets.get(action)
        return bucket is not None and not bucket.take(now)

    def storm_view(self, now):
        return None if self.storm is None else self.storm.view(now)
