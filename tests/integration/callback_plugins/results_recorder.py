# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: record every task result as one JSON line.

Enabled by the integration-test harness (tests/integration/harness.py) with
``ANSIBLE_CALLBACK_PLUGINS=<this directory>`` and ``ANSIBLE_CALLBACKS_ENABLED=results_recorder``.
The file to append to is named by ``ALICLOUD_RAM_RESULTS_FILE``; without it the plugin does
nothing.  Each line is a JSON object::

    {"task": "...", "action": "...", "host": "localhost", "status": "ok|changed|failed|skipped|unreachable",
     "changed": false, "ignored": false, "result": {...module result...}}
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: results_recorder
type: aggregate
short_description: Record task results as JSON lines for the integration tests
description:
  - Appends one JSON object per task result to the file named by E(ALICLOUD_RAM_RESULTS_FILE).
requirements:
  - enable in configuration
"""

import json
import os
from collections.abc import Mapping

from ansible.plugins.callback import CallbackBase

RESULTS_FILE_ENV = 'ALICLOUD_RAM_RESULTS_FILE'


def _native(value):
    """Return a JSON-serialisable copy of a module result."""
    return json.loads(json.dumps(value, default=str))


class CallbackModule(CallbackBase):
    """Write one JSON line per task result."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'results_recorder'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get(RESULTS_FILE_ENV)

    def _record(self, result, status, ignored=False):
        if not self._path:
            return
        data = getattr(result, 'result', None)
        if not isinstance(data, Mapping):
            data = result._result  # ansible-core < 2.19
        task = getattr(result, 'task', None) or result._task
        host = getattr(result, 'host', None) or result._host
        clean = {key: value for key, value in data.items() if not str(key).startswith('_ansible')}
        changed = bool(data.get('changed', False))
        if status == 'ok' and changed:
            status = 'changed'
        record = {
            'task': task.get_name(),
            'action': task.action,
            'host': host.get_name(),
            'status': status,
            'changed': changed,
            'ignored': bool(ignored),
            'result': _native(clean),
        }
        with open(self._path, 'a', encoding='utf-8') as handle:
            handle.write(json.dumps(record, sort_keys=True) + '\n')

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed', ignored=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')
