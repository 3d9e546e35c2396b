# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The resource protocol every module runs: ``validate`` -> ``read`` -> ``plan`` -> ``apply``.

A module's resource class fills in those steps plus ``result``; ``run`` calls them in a fixed
order and reports success and failure the same way.

* ``plan`` is pure: it turns what ``read`` found into a :class:`Plan`, the resource's *view* as
  read (``before``, a dict) and the :class:`Change` list that gets it to the wanted state. Failures
  known before any write are raised from ``plan`` (or listed in the plan), alike in check mode.
* ``apply`` carries the changes out through the :class:`Writer` the :class:`ChangeRecorder` hands
  out. The writer is the only thing that looks at check mode: predicting, it records every change
  without calling; recording, it calls, records each change as it takes effect, and settles a
  write whose outcome is unknown (answer lost, 5xx, timeout, empty body, a per-instance result that
  says neither) by a read before the result is built. Batches and multi-step converges go through
  it too, so check mode walks the very path of a real run.
* The recorder keeps what took effect: ``changed``, the "what was done" lists (``DONE_LISTS``) and
  the view after each change; the diff (``before`` view against the recorder's) and the result
  come from it, on success *and* on failure.
* Every failure is a :class:`failures.ResourceFailure` (API errors of the service layer become one).
"""

import collections
import copy
import json
import time

from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.failures import ResourceFailure, instance_failure_from
from ansible_collections.alicloud.ram.plugins.module_utils.retries import wait_until

# the value of a view path that a change removes
REMOVED = object()
# what Writer.write returns for a write whose outcome was unknown and a read showed done
SETTLED = object()
# how many times a run reads and plans again when the resource changed under it (:class:`Conflict`)
REPLANS = 2


class Conflict(Exception):
    """Raised by ``apply``: someone else changed the resource between the read and a write; ``run`` reads and
    plans again (what was done so far stays recorded)."""


class Change(object):
    """One write of a plan.

    ``effect``: ``{path: value}`` it makes to the view (a path is a tuple of keys; ``REMOVED``
    deletes); ``done_list`` / ``item``: where the result lists it as done (None: only ``changed``);
    ``action`` / ``args``: which write it is and its arguments, for the resource's ``apply``.
    Per-item batch writes (one instance each) set ``key`` (the item the API takes) and ``target``
    (the value a read shows once the write took effect).
    """

    __slots__ = ('effect', 'done_list', 'item', 'key', 'target', 'action', 'args')

    def __init__(self, effect=None, done_list=None, item=None, key=None, target=None, action=None, args=None):
        self.effect = effect or {}
        self.done_list = done_list
        self.item = item
        self.key = key
        self.target = target
        self.action = action
        self.args = args

    def __repr__(self):
        return 'Change(%r, %r, %r, %r)' % (self.action, self.done_list, self.item, self.effect)


def apply_effect(view, effect):
    """Make ``effect`` (``{path: value}``) to ``view`` in place."""
    for path, value in effect.items():
        node = view
        for key in path[:-1]:
            node = node.setdefault(key, {})
        if value is REMOVED:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = copy.deepcopy(value)
    return view


class Plan(object):
    """What a run is to do: ``before`` (the view as read), ``changes`` (in order) and any data ``apply`` needs."""

    def __init__(self, before=None, changes=(), **data):
        self.before = before if before is not None else {}
        self.changes = list(changes)
        self.data = data

    def __getattr__(self, name):
        try:
            return self.__dict__['data'][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def after(self):
        """The view once every change took effect: what check mode predicts."""
        view = copy.deepcopy(self.before)
        for change in self.changes:
            apply_effect(view, change.effect)
        return view


def _seen_key(item):
    return json.dumps(item, sort_keys=True, default=str) if isinstance(item, (dict, list)) else item


class ChangeRecorder(object):
    """What a run has done so far: ``changed``, the done lists and the view after every change."""

    def __init__(self, lists=()):
        self.changed = False
        self.lists = collections.OrderedDict((name, []) for name in lists)
        self._seen = dict((name, set()) for name in lists)
        self.view = {}

    def start(self, plan):
        self.view = copy.deepcopy(plan.before)

    def record(self, change):
        """Our write ``change`` took effect."""
        self.changed = True
        if change.done_list is not None:
            items = self.lists.setdefault(change.done_list, [])
            seen = self._seen.setdefault(change.done_list, set())
            key = _seen_key(change.item)
            if key not in seen:
                seen.add(key)
                items.append(change.item)
        apply_effect(self.view, change.effect)

    def settled(self, change):
        """The service shows ``change`` as made, by someone else: the view changes, nothing was done by us."""
        apply_effect(self.view, change.effect)

    def done(self, list_name):
        return list(self.lists.get(list_name, []))

    def as_result(self):
        return dict(changed=self.changed, **dict((name, list(items)) for name, items in self.lists.items()))

    def writer(self, predict):
        """The :class:`Writer` every write of the run goes through (``predict``: check mode)."""
        return Writer(self, predict)


# the state of one item of a batch answer
DONE, FAILED, UNKNOWN = 'done', 'failed', 'unknown'
# One item's outcome in a batch answer: ``state`` (DONE / FAILED / UNKNOWN) and, unless done, its
# ``failed_instances`` entry.
ItemResult = collections.namedtuple('ItemResult', ['state', 'failure'])
# What ``send`` returns for a batch: ``{key: ItemResult}`` and whether an attempt of the call may
# have taken effect unseen (then a failed item found in the wanted state is ours).
BatchResult = collections.namedtuple('BatchResult', ['items', 'uncertain'])


class Writer(object):
    """The one way a resource writes. Predicting (check mode) it records without calling."""

    def __init__(self, recorder, predict):
        self.recorder = recorder
        self.predict = predict

    def write(self, change, func, *args, **kwargs):
        """Call ``func`` (a service-layer write) and record ``change`` when it took effect.

        ``settle`` (keyword): a read returning whether the wanted state holds, asked when the call
        failed with an uncertain outcome; when it holds, the write counts as done. A service write
        returning ``False`` ("already so" before this call) is recorded as settled, not done.
        Returns what ``func`` returned, None when predicting, ``SETTLED`` when a read settled it.
        """
        settle = kwargs.pop('settle', None)
        if self.predict:
            self.recorder.record(change)
            return None
        try:
            outcome = func(*args, **kwargs)
        except AlicloudApiError as err:
            if err.uncertain and settle is not None and settle():
                self.recorder.record(change)
                return SETTLED
            raise
        if outcome is False:
            self.recorder.settled(change)
        else:
            self.recorder.record(change)
        return outcome

    def learn(self, effect):
        """What a write's answer showed beyond its planned effect (ids and dates the service assigned); predicting, nothing."""
        if not self.predict:
            apply_effect(self.recorder.view, effect)

    def wait(self, check, timeout):
        """Poll ``check()`` until it is true (after writes: a change becoming visible); predicting, it is."""
        if self.predict:
            return True
        return wait_until(check, timeout, sleep=time.sleep, clock=time.monotonic)

    def write_batches(self, pool, changes, size, send, observe, same=lambda a, b: a == b):
        """Per-item changes (``change.key``, ``change.target``) written ``size`` items a call on ``pool``.

        ``send(client, keys)`` makes one call and returns a :class:`BatchResult`, or raises
        :class:`AlicloudApiError` for the whole batch. Every item that did not come back DONE, and
        every item of a batch that failed with an uncertain outcome, is settled by one read:
        ``observe(keys)`` -> ``{key: value now}``. An item whose value matches its target is done
        (ours when the answer could not tell or the call was uncertain, else settled as someone
        else's). Returns ``{key: (failure dict, observed value)}`` for the items that failed.
        """
        if self.predict or not changes:
            for change in changes:
                self.recorder.record(change)
            return collections.OrderedDict()
        batches = [changes[start:start + size] for start in range(0, len(changes), size)]
        outcomes = pool.map(lambda client, batch: send(client, [c.key for c in batch]), batches)
        verdicts = []  # per change, in plan order: (change, done, failure, ours if a read shows its target)
        for batch, outcome in zip(batches, outcomes):
            err = outcome.error
            for change in batch:
                if err is not None:
                    verdicts.append((change, False, instance_failure_from(change.key, err), err.uncertain))
                    continue
                item = outcome.value.items.get(change.key) or ItemResult(UNKNOWN, None)
                verdicts.append((change, item.state == DONE, item.failure, item.state == UNKNOWN or outcome.value.uncertain))
        pending = [change.key for change, done, _failure, _ours in verdicts if not done]
        observed = observe(pending) if pending else {}
        failures = collections.OrderedDict()
        for change, done, failure, ours in verdicts:
            now = observed.get(change.key)
            if done:
                self.recorder.record(change)
            elif change.key in observed and same(now, change.target):
                (self.recorder.record if ours else self.recorder.settled)(change)
            else:
                failures[change.key] = (failure or instance_failure_from(change.key, _unknown_outcome(change.key)), now)
        return failures


def _unknown_outcome(key):
    return AlicloudApiError('UnknownResult', 'the answer says neither success nor failure for %s, and a read does not show '
                                             'the change' % key)


class Resource(object):
    """Base class of the modules' resources. Subclasses set ``DONE_LISTS`` and fill in the steps."""

    # names of the "what was done" lists this resource returns (always present in its result)
    DONE_LISTS = ()

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.recorder = ChangeRecorder(self.DONE_LISTS)
        self.writer = self.recorder.writer(predict=module.check_mode)
        self.diff_mode = getattr(module, '_diff', False)
        self.warnings = []

    # -- the steps a subclass fills in -------------------------------------------------------

    def validate(self):
        """Check the input (collect messages with :func:`failures.refuse`); may keep normalised values on ``self``."""

    def read(self):
        """The current state, from the service layer."""
        return None

    def plan(self, current):
        """The :class:`Plan`, from ``current`` and the input only (no calls)."""
        return Plan()

    def apply(self, plan):
        """Carry out ``plan``: every write through ``self.writer``."""
        for change in plan.changes:
            raise NotImplementedError('%s has no apply for %r' % (type(self).__name__, change))

    def result(self, current, plan):
        """The module's return values (besides ``changed``, ``diff`` and the done lists), from the recorder's view."""
        return {}

    def diff_view(self, view, plan):
        """What ``--diff`` shows of a view (default: all of it)."""
        return view

    def diff_headers(self, plan, result):
        """``(before_header, after_header)``: the summary lines the diff starts with, or None."""
        return None

    # -- helpers -----------------------------------------------------------------------------

    @property
    def view(self):
        """The resource as the writes so far left it (the view read, before ``apply``)."""
        return self.recorder.view

    @property
    def ram(self):
        """The RAM client, built on first use (after ``validate``) and cached by the module."""
        return self.module.client('ram')

    def warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)

    def missing_dependency(self, failure, warning):
        """Something the task needs does not exist (a role, a grantee). A real run fails with ``failure``;
        check mode warns and predicts as if an earlier task of the play creates it."""
        if not self.writer.predict:
            raise failure
        self.warn('%s; predicting as if an earlier task creates it' % warning)

    # -- the fixed order ---------------------------------------------------------------------

    def run(self):
        current = plan = None
        try:
            self.validate()
            for replan in range(REPLANS + 1):
                current = self.read()
                plan = self.plan(current)
                self.recorder.start(plan)
                try:
                    self.apply(plan)
                    break
                except Conflict as conflict:
                    if replan == REPLANS:
                        raise ResourceFailure(str(conflict)) from None
            result = self.result(current, plan)
        except AlicloudApiError as err:
            self._fail(ResourceFailure.api(err), current, plan)
        except ResourceFailure as err:
            self._fail(err, current, plan)
        except Exception as err:  # pylint: disable=broad-except
            # a defect must still report what was done before it, in one line
            self._fail(ResourceFailure('%s failed unexpectedly: %s: %s' % (type(self).__name__, type(err).__name__, ' '.join(str(err).split()))),
                       current, plan)
        self._exit(result, plan)

    def _partial_result(self, current, plan):
        try:
            return self.result(current, plan) if plan is not None else {}
        except Exception:  # pylint: disable=broad-except
            # a result that cannot be built from a half-done run must not hide the real error
            return {}

    def _emit_warnings(self):
        for message in self.warnings:
            self.module.warn(message)

    def _diff(self, plan, result):
        diff = {'before': self.diff_view(plan.before, plan), 'after': self.diff_view(self.recorder.view, plan)}
        headers = self.diff_headers(plan, result)
        if headers:
            diff['before_header'] = headers[0]
            diff['after_header'] = headers[1]
        return diff

    def _exit(self, result, plan):
        self._emit_warnings()
        values = dict(result)
        values.update(self.recorder.as_result())
        if self.diff_mode and plan is not None:
            values['diff'] = self._diff(plan, values)
        self.module.exit_json(**values)

    def _fail(self, failure, current, plan):
        self._emit_warnings()
        values = self._partial_result(current, plan)
        values.pop('msg', None)
        values.update(failure.result)
        values.update(self.recorder.as_result())
        error = failure.error_dict()
        if error is not None:
            values['error'] = error
        self.module.fail_json(msg=str(failure), **values)
