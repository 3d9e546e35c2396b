# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: record the wall time of every task as one JSON line.

Enabled by tests/benchmarks/common.py with ``ANSIBLE_CALLBACK_PLUGINS=<this directory>`` and
``ANSIBLE_CALLBACKS_ENABLED=bench_timer``; the file to append to is named by
``ALICLOUD_RAM_BENCH_TIMINGS``. Each line: ``{"task": ..., "action": ..., "status": ..., "seconds": ..., "start": ..., "end": ...}``
(``start``/``end``: wall-clock ``time.time()``, to line tasks up with other records).
A task's time runs from its start until its (last) host result, so it includes forking the
worker, templating, shipping the module and the module's own run.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Record task wall times as JSON lines for the benchmarks
description:
  - Appends one JSON object per finished task to the file named by E(ALICLOUD_RAM_BENCH_TIMINGS).
requirements:
  - enable in configuration
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

TIMINGS_FILE_ENV = 'ALICLOUD_RAM_BENCH_TIMINGS'


class CallbackModule(CallbackBase):
    """Write one JSON line per finished task."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get(TIMINGS_FILE_ENV)
        self._task = None
        self._start = None
        self._wall_start = None

    def _flush(self, status):
        if not self._path or self._task is None:
            return
        entry = {'task': self._task.get_name(), 'action': self._task.action, 'status': status,
                 'seconds': round(time.monotonic() - self._start, 6), 'start': self._wall_start, 'end': time.time()}
        with open(self._path, 'a', encoding='utf-8') as handle:
            handle.write(json.dumps(entry) + '\n')
        self._task = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task = task
        self._start = time.monotonic()
        self._wall_start = time.time()

    def v2_runner_on_ok(self, result):
        self._flush('ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._flush('failed')

    def v2_runner_on_skipped(self, result):
        self._flush('skipped')

    def v2_runner_on_unreachable(self, result):
        self._flush('unreachable')
