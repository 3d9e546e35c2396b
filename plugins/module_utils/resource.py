# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The resource protocol every module runs: ``validate`` -> ``read`` -> ``plan`` -> ``apply``.

A module's resource class fills in those four steps plus ``result`` (and ``diff``); ``run`` calls
them in a fixed order and reports success and failure the same way:

* every write goes through :meth:`Resource.write` (or :meth:`Resource.record` right after a
  write that ran elsewhere, e.g. in a worker pool). In check mode ``write`` records without
  calling, so check mode walks the same path as a real run and predicts it exactly;
* the :class:`ChangeRecorder` keeps what took effect, as it happens: ``changed`` and the
  "what was done" lists are true on success *and* on failure, and a failed result carries them;
* input problems raise :class:`InputError` (before any call; nothing done), API failures raise
  ``AlicloudApiError`` with ``err.operation`` naming what failed (set by the service layer).
"""

from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError


class InputError(ValueError):
    """Input the module refuses before any call is made (or a condition found by reads that blocks every write)."""

    def __init__(self, message, **result):
        super(InputError, self).__init__(message)
        self.result = result


class ResourceFailure(Exception):
    """A failure found after reads or writes that is not an API error (e.g. per-instance failures)."""

    def __init__(self, message, error=None, **result):
        super(ResourceFailure, self).__init__(message)
        self.error = error
        self.result = result


class ChangeRecorder(object):
    """What a run has done so far: ``changed`` and named lists (``created_policies``, ``attached``, ...)."""

    def __init__(self, lists=()):
        self.changed = False
        self.lists = dict((name, []) for name in lists)

    def record(self, list_name=None, item=None):
        """Note a write that took effect; ``item`` goes to ``list_name`` (created, attached, ...)."""
        self.changed = True
        if list_name is not None:
            items = self.lists.setdefault(list_name, [])
            if item not in items:
                items.append(item)

    def done(self, list_name):
        return list(self.lists.get(list_name, []))

    def as_result(self):
        return dict(changed=self.changed, **dict((name, list(items)) for name, items in self.lists.items()))


class Resource(object):
    """Base class of the modules' resources. Subclasses set ``DONE_LISTS`` and fill in the steps."""

    # names of the "what was done" lists this resource returns (always present in its result)
    DONE_LISTS = ()

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.diff_mode = getattr(module, '_diff', False)
        self.recorder = ChangeRecorder(self.DONE_LISTS)
        self.warnings = []

    # -- the steps a subclass fills in -------------------------------------------------------

    def validate(self):
        """Check the input (raise :class:`InputError`); may keep normalised values on ``self``."""

    def read(self):
        """The current state, from the service layer."""
        return None

    def plan(self, current):
        """What to change, from ``current`` and the input only (no calls)."""
        return None

    def apply(self, plan):
        """Carry out ``plan``: every write through :meth:`write` / :meth:`record`."""

    def result(self, current, plan):
        """The module's return values (besides ``changed``, ``diff`` and the done lists)."""
        return {}

    def diff(self, current, plan):
        """``{'before': ..., 'after': ...}`` for ``--diff``, or None."""
        return None

    # -- helpers for apply -------------------------------------------------------------------

    def write(self, list_name, item, func, *args, **kwargs):
        """Call ``func`` (a service-layer write) unless in check mode; record it when it took effect.

        Returns what ``func`` returned (``None`` in check mode). A service write returns ``False``
        when the service said "already so" before this call: that is recorded as nothing done.
        """
        if self.check_mode:
            self.recorder.record(list_name, item)
            return None
        outcome = func(*args, **kwargs)
        if outcome is not False:
            self.recorder.record(list_name, item)
        return outcome

    def record(self, list_name=None, item=None):
        self.recorder.record(list_name, item)

    @property
    def ram(self):
        """The RAM client, built on first use (after ``validate``) and cached by the module."""
        return self.module.client('ram')

    def warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)

    # -- the fixed order ---------------------------------------------------------------------

    def run(self):
        current = plan = None
        try:
            self.validate()
            current = self.read()
            plan = self.plan(current)
            self.apply(plan)
            result = self.result(current, plan)
        except InputError as err:
            self._fail(str(err), None, err.result)
        except ResourceFailure as err:
            self._fail(str(err), err.error, err.result)
        except AlicloudApiError as err:
            self._fail_api(err, self._partial_result(current, plan))
        self._exit(result, current, plan)

    def _partial_result(self, current, plan):
        """What a failed result carries besides the done lists; subclasses may add to it."""
        try:
            return self.result(current, plan) if plan is not None else {}
        except Exception:  # pylint: disable=broad-except
            # a result that cannot be built from a half-done run must not hide the real error
            return {}

    def _emit_warnings(self):
        for message in self.warnings:
            self.module.warn(message)

    def _exit(self, result, current, plan):
        self._emit_warnings()
        values = dict(result)
        values.update(self.recorder.as_result())
        if self.diff_mode:
            diff = self.diff(current, plan)
            if diff is not None:
                values['diff'] = diff
        self.module.exit_json(**values)

    def _fail(self, message, error, extra):
        self._emit_warnings()
        values = dict(extra or {})
        values.update(self.recorder.as_result())
        if error is not None:
            values['error'] = error
        self.module.fail_json(msg=message, **values)

    def _fail_api(self, err, extra):
        self._emit_warnings()
        values = dict(extra or {})
        values.update(self.recorder.as_result())
        self.module.fail_api(err, err.operation or 'call %s' % (err.action or 'the API'), **values)
