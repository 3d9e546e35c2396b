# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the benchmarks: collection install, emulator, playbook runs, tables, results."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
INTEGRATION_DIR = REPO_ROOT / 'tests' / 'integration'
TIMER_DIR = HERE / 'callback_plugins'
PROBE_DIR = HERE / 'probe'
TIMINGS_FILE_ENV = 'ALICLOUD_RAM_BENCH_TIMINGS'
PROCESS_LOG_ENV = 'ALICLOUD_RAM_BENCH_PROCESS_LOG'
LABEL_ENV = 'ALICLOUD_RAM_BENCH_LABEL'
DEFERRAL_SWITCH = {'ALICLOUD_RAM_DEFER_SDK_IMPORTS': '0'}   # a module process imports the SDK as it comes (sdk_loader)
for _path in (str(REPO_ROOT), str(INTEGRATION_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from harness import CALLBACK_DIR, PlaybookRunner, ansible_command  # noqa: E402  pylint: disable=wrong-import-position,import-error

REGION = 'cn-hangzhou'
ATTACH_LIMIT = 100      # ids per AttachInstanceRamRole / DetachInstanceRamRole call
DESCRIBE_LIMIT = 50     # ids per DescribeInstanceRamRole page
DESCRIBE_INSTANCES_LIMIT = 100


def pages(count, size):
    return int(math.ceil(count / float(size))) if count else 0


def machine_info():
    """Where and under which load a figure was measured."""
    load = os.getloadavg()
    return {
        'loadavg': [round(v, 2) for v in load],
        'cpus': os.cpu_count(),
        'python': platform.python_version(),
        'platform': platform.platform(),
        'time': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
    }


def loadavg_1m():
    return round(os.getloadavg()[0], 2)


def run_logged(command, log, label, timeout=900):
    """Run an installation command, logging it; its output only when it fails."""
    log('[%s] $ %s' % (label, ' '.join(command)))
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError('%s failed (rc=%s): %s' % (command[0], proc.returncode, proc.stdout[-1500:]))


def _galaxy(*args):
    command = [ansible_command('ansible-galaxy'), 'collection'] + list(args)
    env = {key: value for key, value in os.environ.items() if not key.startswith('ANSIBLE_')}
    proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError('%s failed (rc=%s):\n%s' % (' '.join(command), proc.returncode, proc.stdout))


def install_collection(workdir, source=REPO_ROOT):
    """Build the collection from ``source`` (the checkout) and install the tarball; return the collections path."""
    workdir = Path(workdir)
    build_dir = workdir / 'build'
    installed = workdir / 'collections'
    build_dir.mkdir(parents=True, exist_ok=True)
    installed.mkdir(parents=True, exist_ok=True)
    _galaxy('build', str(source), '--output-path', str(build_dir), '--force')
    tarballs = sorted(build_dir.glob('alicloud-ram-*.tar.gz'))
    if len(tarballs) != 1:
        raise RuntimeError('expected one collection tarball in %s, found %s' % (build_dir, tarballs))
    _galaxy('install', '--offline', '--force', '-p', str(installed), str(tarballs[0]))
    return installed


def read_timings(path):
    """The JSON lines of ``path`` (none when it does not exist)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding='utf-8') as handle:
        return [json.loads(line) for line in handle if line.strip()]


class MeasuredInterpreter(object):
    """An ``ansible_python_interpreter`` that records the CPU time and peak RSS of each module process.

    Tasks that set ``vars: {ansible_python_interpreter: <path>}`` run their module under
    ``measure_interpreter.py``; a run gets :meth:`env` in its environment and the records come
    back from :meth:`take` (in task order; ``label`` from the task's ``ALICLOUD_RAM_BENCH_LABEL``).
    """

    def __init__(self, workdir, python=sys.executable):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        stamp = '%d-%d' % (os.getpid(), int(time.time() * 1e6))
        self.path = workdir / ('python-measured-%s' % stamp)
        self.log = workdir / ('processes-%s.jsonl' % stamp)
        self.path.write_text('#!/bin/sh\nexec %s -S -E %s %s "$@"\n' % (sys.executable, HERE / 'measure_interpreter.py', python))
        self.path.chmod(0o755)

    def env(self):
        return {PROCESS_LOG_ENV: str(self.log)}

    def take(self):
        records = read_timings(self.log)
        if self.log.exists():
            self.log.unlink()
        return records


def labelled(task, label, interpreter=None, environment=None):
    """``task`` with a label for :class:`MeasuredInterpreter` records (and that interpreter, if given)."""
    task = dict(task)
    task['environment'] = dict(environment or {}, **{LABEL_ENV: label})
    if interpreter is not None:
        task['vars'] = {'ansible_python_interpreter': str(interpreter.path)}
    return task


class Bench(object):
    """One benchmark session: the installed collection, one emulator and a playbook runner."""

    def __init__(self, workdir=None, collection_path=None, emulator=None, source=REPO_ROOT):
        """``collection_path`` / ``emulator``: reuse an installed collection and a running emulator
        (the integration-test fixtures do); otherwise the collection is built from ``source`` and
        installed into ``workdir`` and an emulator is started (and stopped by :meth:`close`)."""
        from tests.emulator.process import start_emulator  # pylint: disable=import-outside-toplevel

        self.workdir = Path(workdir or tempfile.mkdtemp(prefix='alicloud-ram-bench-'))
        self.collection_path = collection_path or install_collection(self.workdir, source)
        self._own_emulator = emulator is None
        # No seeded instances: every benchmark seeds exactly what it needs through the control API.
        self.emu = emulator or start_emulator('--instances', '0', '--classic-instances', '0', cwd=str(REPO_ROOT))
        self.runner = PlaybookRunner(self.collection_path, self.emu, workdir=self.workdir / 'runs')

    def close(self):
        if self._own_emulator:
            self.emu.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- playbook runs with task timings ---------------------------------------------------------

    def _timing_env(self, env):
        timings = self.workdir / ('timings-%d-%d.jsonl' % (os.getpid(), int(time.time() * 1e6)))
        full = {
            'ANSIBLE_CALLBACK_PLUGINS': os.pathsep.join((str(CALLBACK_DIR), str(TIMER_DIR))),
            'ANSIBLE_CALLBACKS_ENABLED': 'results_recorder,bench_timer',
            TIMINGS_FILE_ENV: str(timings),
        }
        full.update(env or {})
        return full, timings

    def run_tasks(self, tasks, **kwargs):
        """``(result, wall seconds, [task timings])`` of one playbook run built from ``tasks``."""
        env, timings = self._timing_env(kwargs.pop('env', None))
        start = time.monotonic()
        result = self.runner.run_tasks(tasks, env=env, **kwargs)
        wall = time.monotonic() - start
        return result, wall, read_timings(timings)

    def run_playbook(self, path, **kwargs):
        env, timings = self._timing_env(kwargs.pop('env', None))
        start = time.monotonic()
        result = self.runner.run_playbook(path, env=env, **kwargs)
        wall = time.monotonic() - start
        return result, wall, read_timings(timings)

    # -- emulator --------------------------------------------------------------------------------

    def counts(self, services=('ram', 'ecs', 'sts')):
        """``{action: calls}`` of the call log, for the given services."""
        counts = {}
        for call in self.emu.calls():
            if call['service'] in services:
                counts[call['action']] = counts.get(call['action'], 0) + 1
        return counts

    def injected(self):
        return [c for c in self.emu.calls() if c.get('injected')]

    def throttled(self):
        return [c for c in self.emu.calls() if 'Throttling' in str(c.get('code') or '')]

    def seed(self, count, batch=5000):
        ids = []
        while len(ids) < count:
            ids.extend(self.emu.seed_instances(min(batch, count - len(ids)), region=REGION))
        return ids

    def create_role(self, name):
        from tests.emulator.sdkhelpers import ECS_TRUST, clients  # pylint: disable=import-outside-toplevel
        from alibabacloud_ram20150501 import models as ram_models  # pylint: disable=import-outside-toplevel

        ram, _ecs, _sts = clients(self.emu)
        ram.create_role(ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=ECS_TRUST))


def task_seconds(timings, name):
    """Duration of the task called ``name`` (the last one recorded)."""
    for item in reversed(timings):
        if item['task'] == name:
            return item['seconds']
    raise KeyError('no timing for task %r in %r' % (name, [t['task'] for t in timings]))


def median(values):
    """The median of ``values`` (None for none)."""
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2.0


def table(headers, rows):
    """A plain-text table (also valid Markdown)."""
    cells = [[str(h) for h in headers]] + [[('' if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ['| ' + ' | '.join(c.ljust(w) for c, w in zip(cells[0], widths)) + ' |',
             '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    for row in cells[1:]:
        lines.append('| ' + ' | '.join(c.ljust(w) for c, w in zip(row, widths)) + ' |')
    return '\n'.join(lines)


def write_result(out_dir, name, data):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ('%s.json' % name)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + '\n')
    return path
