"""Fault injection and behaviour switches: throttling (by rate, storms, per-action rate limits), unavailability,
latency, delayed role and detach visibility, denied actions, lost replies, empty bodies, trickled replies, raw
(non-JSON) error answers, and the switches between documented and older emulator behaviours."""

import copy
import random
import threading

from .clock import Clock
from .errors import ApiError
from .flowcontrol import FlowControl, clean_qps, clean_storm, throttled

RATES = ('throttle_rate', 'unavailable_rate', 'metadata_unavailable_rate', 'empty_body_rate')
SWITCHES = ('http_endpoint_required', 'strict_metadata_options', 'results_without_success')
BATCH_REFUSALS = ('unknown_ids', 'classic_ids')
BATCH_MODES = ('request', 'per_instance')
INSTANCE_CODES = ('named', 'http')
FIELDS = RATES + SWITCHES + BATCH_REFUSALS + (
    'latency_ms', 'role_visibility_delay', 'role_visibility_calls', 'seed', 'deny_actions', 'lose_reply_actions', 'trickle_ms', 'attach_same_role',
    'raw_error', 'empty_body_actions', 'detach_visibility_delay', 'detach_visibility_reads', 'throttle_storm', 'qps', 'instance_codes')
SAME_ROLE_ANSWERS = ('success', 'failure')
DENIED = ApiError(403, 'NoPermission', 'You are not authorized to do this action. You should be authorized by RAM.')
# The actions documented to answer HTTP 200 with an empty body now and then (API_FACTS 5.3).
EMPTY_BODY_ACTIONS = ('AttachInstanceRamRole', 'DetachInstanceRamRole', 'DescribeInstanceRamRole')
DEFAULTS = dict(throttle_rate=0.0, unavailable_rate=0.0, latency_ms=0, role_visibility_delay=0.0, role_visibility_calls=0, metadata_unavailable_rate=0.0,
                seed=None, deny_actions=[], lose_reply_actions=[], trickle_ms=0, attach_same_role='success', raw_error=None,
                http_endpoint_required=True, strict_metadata_options=False, results_without_success=False,
                unknown_ids='request', classic_ids='request', empty_body_actions=[], empty_body_rate=0.0,
                detach_visibility_delay=0.0, detach_visibility_reads=0, throttle_storm=None, qps={}, instance_codes='named')


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
    if key in ('latency_ms', 'trickle_ms', 'detach_visibility_reads', 'role_visibility_calls'):
        return max(0, int(value))
    if key in ('role_visibility_delay', 'detach_visibility_delay'):
        return max(0.0, float(value))
    if key in ('deny_actions', 'lose_reply_actions', 'empty_body_actions'):
        return _action_list(key, value)
    if key in SWITCHES:
        if not isinstance(value, bool):
            raise ValueError('%s must be true or false' % key)
        return value
    if key in BATCH_REFUSALS or key in ('attach_same_role', 'instance_codes'):
        choices = {'attach_same_role': SAME_ROLE_ANSWERS, 'instance_codes': INSTANCE_CODES}.get(key, BATCH_MODES)
        if value not in choices:
            raise ValueError('%s must be one of %s' % (key, ', '.join(choices)))
        return value
    if key == 'raw_error':
        return _raw_error(value)
    if key == 'throttle_storm':
        return clean_storm(value)
    if key == 'qps':
        return clean_qps(value)
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError('%s must be between 0 and 1' % key)
    return rate


def _check_keys(values):
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValueError('unknown fault settings: %s' % ', '.join(sorted(unknown)))


class Faults:
    """Current settings, the seeded random generator that decides when rate faults fire, and the clock."""

    def __init__(self, throttle_rate=0.0, unavailable_rate=0.0, latency_ms=0, role_visibility_delay=0.0,
                 metadata_unavailable_rate=0.0, seed=None, clock=None, **settings):
        self._lock = threading.Lock()
        self.clock = clock or Clock()
        initial = dict(throttle_rate=throttle_rate, unavailable_rate=unavailable_rate, latency_ms=latency_ms,
                       role_visibility_delay=role_visibility_delay, metadata_unavailable_rate=metadata_unavailable_rate, seed=seed)
        initial.update(settings)
        _check_keys(initial)
        self._initial = copy.deepcopy(DEFAULTS)
        self._initial.update((key, _clean(key, value)) for key, value in initial.items())
        self.settings = {}
        self.rng = random.Random()
        self.flow = FlowControl()
        self.reset()

    def reset(self):
        """Settings back to the start values; a storm given at start begins again now."""
        self.clock.reset()
        now = self.clock.now()
        with self._lock:
            self.settings = copy.deepcopy(self._initial)
            self.rng = random.Random(self.settings['seed'])
            self.flow.start_storm(self.settings['throttle_storm'], now)
            self.flow.set_limits(self.settings['qps'], now)

    def update(self, values):
        """Apply a partial update; raises ValueError on unknown keys or bad values."""
        _check_keys(values)
        clean = dict((key, _clean(key, value)) for key, value in values.items())
        now = self.clock.now()
        with self._lock:
            self.settings.update(clean)
            if 'seed' in clean:
                self.rng = random.Random(clean['seed'])
            if 'throttle_storm' in clean:
                self.flow.start_storm(clean['throttle_storm'], now)
            if 'qps' in clean:
                self.flow.set_limits(clean['qps'], now)
        return self.snapshot()

    def snapshot(self):
        now = self.clock.now()
        with self._lock:
            view = copy.deepcopy(self.settings)
            view['throttle_storm'] = self.flow.storm_view(now)
            return view

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
        now = self.clock.now()
        with self._lock:
            refused = self.flow.refuses(action, now)
        if refused or self._fires('throttle_rate'):
            return throttled()
        if self._fires('unavailable_rate'):
            return ApiError(503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.')
        return None

    def _take(self, key, action):
        with self._lock:
            pending = self.settings[key]
            if action in pending:
                pending.remove(action)
                return True
            return False

    def take_lost_reply(self, action):
        """True (once per listed occurrence) when this call of ``action`` is to lose its reply."""
        return self._take('lose_reply_actions', action)

    def take_empty_body(self, action):
        """True when this carried-out call of ``action`` is to be answered HTTP 200 with an empty body."""
        if self._take('empty_body_actions', action):
            return True
        return action in EMPTY_BODY_ACTIONS and self._fires('empty_body_rate')

    def metadata_fault(self):
        return self._fires('metadata_unavailable_rate')
