# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 3: per-task overhead and module start-up.

- One playbook alternates a no-change ``alicloud.ram.ram_instance_role`` task and an
  ``ansible.builtin.ping`` task on localhost, ITERATIONS times each; the median task times and
  their ratio come from one run, so both see the same machine load.
- ``python -X importtime`` (after a warm-up, fastest of REPEAT runs) of every module of the collection (which SDK packages its import pulls
  in: none is expected, SDKs load when a client is built), then of ram_instance_role plus the SDK
  it uses (RAM): the top import costs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from common import REPO_ROOT, loadavg_1m, median, table

NAME = 'overhead'
ROLE = 'bench-overhead-role'
ITERATIONS = 20
QUICK_ITERATIONS = 3
REPEAT = 3
MODULE_PREFIX = 'ansible_collections.alicloud.ram.plugins.modules.'
SDK_PREFIXES = ('alibabacloud_', 'darabonba', 'Tea')
_IMPORTTIME = re.compile(r'^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$')


def task_overhead(bench, iterations, log=print):
    bench.emu.reset()
    tasks = [{'name': 'create the role', 'alicloud.ram.ram_instance_role': {'name': ROLE}}]
    for index in range(iterations):
        tasks.append({'name': 'role %d' % index, 'alicloud.ram.ram_instance_role': {'name': ROLE}})
        tasks.append({'name': 'ping %d' % index, 'ansible.builtin.ping': {}})
    load = loadavg_1m()
    result, wall, timings = bench.run_tasks(tasks)
    changed = [r['task'] for r in result.results[1:] if r['changed']]
    role = [t['seconds'] for t in timings if t['task'].startswith('role ')]
    ping = [t['seconds'] for t in timings if t['task'].startswith('ping ')]
    figures = {
        'iterations': iterations,
        'role_median_seconds': round(median(role), 3),
        'ping_median_seconds': round(median(ping), 3),
        'ratio': round(median(role) / median(ping), 2),
        'role_min_seconds': round(min(role), 3),
        'ping_min_seconds': round(min(ping), 3),
        'changed_tasks_after_create': changed,
        'playbook_seconds': round(wall, 2),
        'loadavg_1m': load,
    }
    # API calls of the whole run: the first task created the role, the others only read
    figures['api_calls'] = bench.counts()
    log('\n[overhead] %d iterations each, one playbook (load %.2f)' % (iterations, load))
    log(table(('task', 'median s', 'min s'), [
        ('alicloud.ram.ram_instance_role (no change)', figures['role_median_seconds'], figures['role_min_seconds']),
        ('ansible.builtin.ping', figures['ping_median_seconds'], figures['ping_min_seconds']),
        ('ratio', figures['ratio'], '')]))
    return figures


def _importtime_once(collection_path, code):
    env = dict(os.environ)
    env['PYTHONPATH'] = str(collection_path)
    proc = subprocess.run([sys.executable, '-X', 'importtime', '-c', code], env=env, cwd=str(REPO_ROOT),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError('import failed: %s\n%s' % (code, proc.stderr[-2000:]))
    entries = []
    for line in proc.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            entries.append({'self_us': int(match.group(1)), 'cumulative_us': int(match.group(2)),
                            'depth': len(match.group(3)) // 2, 'name': match.group(4)})
    return entries, proc.stdout.strip().splitlines()


def _importtime(collection_path, code, repeat=REPEAT):
    """The fastest of ``repeat`` runs, after one warm-up run (it writes the .pyc files of a fresh install)."""
    _importtime_once(collection_path, code)
    runs = [_importtime_once(collection_path, code) for _index in range(repeat)]
    return min(runs, key=lambda run: sum(e['self_us'] for e in run[0]))


def _module_names():
    return sorted(p[:-3] for p in os.listdir(str(REPO_ROOT / 'plugins' / 'modules')) if p.endswith('.py') and not p.startswith('_'))


def startup(collection_path, log=print, repeat=REPEAT):
    report = {'modules': {}}
    probe = ('import sys, %s\n'
             'print("\\n".join(sorted(m.split(".")[0] for m in sys.modules if m.startswith(%r))))')
    for name in _module_names():
        module = MODULE_PREFIX + name
        entries, printed = _importtime(collection_path, probe % (module, SDK_PREFIXES), repeat)
        total = [e for e in entries if e['name'] == module]
        report['modules'][name] = {
            'import_ms': round(total[-1]['cumulative_us'] / 1000.0, 1) if total else None,
            'sdk_packages_imported': sorted(set(printed)),
        }
    # ram_instance_role as it runs: its own imports, then the RAM SDK when the client is built
    code = ('import %sram_instance_role\n'
            'from ansible_collections.alicloud.ram.plugins.module_utils.client import import_sdk\n'
            'import_sdk("ram")' % MODULE_PREFIX)
    entries, _printed = _importtime(collection_path, code, repeat)
    # the module itself is the outermost entry; list what it and the SDK spend time on, a few levels down
    top = sorted((e for e in entries if 1 <= e['depth'] <= 3 or (e['depth'] == 0 and e['name'] != MODULE_PREFIX + 'ram_instance_role')),
                 key=lambda e: -e['cumulative_us'])[:12]
    own = sorted(entries, key=lambda e: -e['self_us'])[:10]
    ours = sorted((e for e in entries if e['name'].startswith('ansible_collections.alicloud.ram.plugins.module_utils.')),
                  key=lambda e: -e['cumulative_us'])[:8]
    report['ram_instance_role_with_sdk'] = {
        'collection_module_utils': [dict(name=e['name'].rsplit('.', 1)[1], ms=round(e['cumulative_us'] / 1000.0, 1),
                                         self_ms=round(e['self_us'] / 1000.0, 1)) for e in ours],
        'total_ms': round(sum(e['self_us'] for e in entries) / 1000.0, 1),
        'top_cumulative': [dict(name=e['name'], ms=round(e['cumulative_us'] / 1000.0, 1)) for e in top],
        'top_self': [dict(name=e['name'], ms=round(e['self_us'] / 1000.0, 1)) for e in own],
    }
    log('\n[overhead] module import (python -X importtime), SDK packages imported by the module file itself')
    log(table(('module', 'import ms', 'SDK packages imported'), [
        (n, m['import_ms'], ', '.join(m['sdk_packages_imported']) or 'none') for n, m in sorted(report['modules'].items())]))
    log('\n[overhead] ram_instance_role + the RAM SDK: %.1f ms in all; top imports (cumulative)' % report['ram_instance_role_with_sdk']['total_ms'])
    log(table(('import', 'cumulative ms'), [(e['name'], e['ms']) for e in report['ram_instance_role_with_sdk']['top_cumulative']]))
    log('')
    log(table(('collection module_utils', 'cumulative ms', 'self ms'),
              [(e['name'], e['ms'], e['self_ms']) for e in report['ram_instance_role_with_sdk']['collection_module_utils']]))
    return report


def run(bench, quick=False, log=print):
    return {
        'task': task_overhead(bench, QUICK_ITERATIONS if quick else ITERATIONS, log=log),
        'startup': startup(bench.collection_path, log=log, repeat=1 if quick else REPEAT),
    }
