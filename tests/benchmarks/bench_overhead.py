# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 3: per-task overhead and module start-up, against ``ansible.builtin.ping`` and a peer.

- Task time: one playbook runs, ITERATIONS times, a round of no-change tasks on localhost
  (the order rotates each round): ``ansible.builtin.ping``, ``alicloud.ram.ram_instance_role``,
  the same with the SDK imported as it comes (``ALICLOUD_RAM_DEFER_SDK_IMPORTS=0``, what the
  module cost before sdk_loader), and the peer ``amazon.aws.iam_role`` against a local moto
  server (peer.py; skipped with a message when it cannot be set up). Every task runs under one
  interpreter. The ratio of a task is the median over the rounds of (its time / that round's
  ping), so every pair saw the same machine load.
- Module cost: the same round plus ``ecs_instance_role_info`` on one instance (with and without
  deferral: the ECS SDK's models are the largest), CPU_ITERATIONS times, under
  measure_interpreter.py: CPU time (user + system) and peak RSS of each module process.
- What the module process imported: one run of each ram_instance_role variant with the probe
  (probe/sitecustomize.py): the SDK's optional dependencies really imported, SSL contexts.
- ``python -X importtime`` of every module file (no SDK may load at import) and of
  ram_instance_role plus the RAM SDK as a module process loads it: the top costs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from common import (DEFERRAL_SWITCH, PROBE_DIR, REPO_ROOT, MeasuredInterpreter, labelled, loadavg_1m, median, read_timings,
                    table)
import peer as peer_setup  # pylint: disable=import-error

NAME = 'overhead'
ROLE = 'bench-overhead-role'
ITERATIONS = 20
QUICK_ITERATIONS = 3
CPU_ITERATIONS = 8
QUICK_CPU_ITERATIONS = 1
REPEAT = 2
RATIO_TARGET = 2.0
MODULE_PREFIX = 'ansible_collections.alicloud.ram.plugins.modules.'
SDK_PREFIXES = ('alibabacloud_', 'darabonba', 'Tea')
_IMPORTTIME = re.compile(r'^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$')
PING = 'ansible.builtin.ping'
ROLE_TASK = 'alicloud.ram.ram_instance_role'
EAGER = 'ram_instance_role, SDK imports not deferred'
ECS_INFO_TASK = 'alicloud.ram.ecs_instance_role_info'
ECS_INFO = 'ecs_instance_role_info (1 instance)'
ECS_INFO_EAGER = 'ecs_instance_role_info, SDK imports not deferred'
PEER = 'amazon.aws.iam_role (peer)'
# what a module process must show for deferral to count as active
DEFERRED_TOP_LEVEL = ('aiohttp', 'aiofiles', 'asyncio', 'apscheduler', 'cryptography', 'websocket')


def _kinds(peer, instance_id=None):
    """``[(label, task, environment)]`` of one round (with ``instance_id``: ecs_instance_role_info on it too)."""
    kinds = [
        (PING, {PING: {}}, {}),
        ('ram_instance_role', {ROLE_TASK: {'name': ROLE}}, {}),
        (EAGER, {ROLE_TASK: {'name': ROLE}}, DEFERRAL_SWITCH),
    ]
    if instance_id is not None:
        kinds += [(ECS_INFO, {ECS_INFO_TASK: {'instance_ids': [instance_id]}}, {}),
                  (ECS_INFO_EAGER, {ECS_INFO_TASK: {'instance_ids': [instance_id]}}, DEFERRAL_SWITCH)]
    if peer is not None:
        kinds.append((PEER, peer.task(PEER), {}))
    return kinds


def _round(kinds, index, interpreter=None):
    rotated = kinds[index % len(kinds):] + kinds[:index % len(kinds)]
    tasks = []
    for label, task, environment in rotated:
        tasks.append(labelled(dict(task, name='%s #%d' % (label, index)), label, interpreter, environment))
    return tasks


def _setup_tasks(peer):
    tasks = [{'name': 'create the role', ROLE_TASK: {'name': ROLE}}]
    if peer is not None:
        tasks.append(peer.task('create the peer role'))
    return tasks


def _run_rounds(bench, peer, rounds, interpreter=None, env=None, instance_id=None):
    """Run the setup tasks and ``rounds`` rounds in one playbook; ``(result, timings)``."""
    python = peer.python if peer is not None else sys.executable
    tasks = _setup_tasks(peer)
    for index in range(rounds):
        tasks.extend(_round(_kinds(peer, instance_id), index, interpreter))
    run_env = dict(env or {})
    if peer is not None:
        run_env['ANSIBLE_COLLECTIONS_PATH'] = os.pathsep.join((str(bench.collection_path), peer.collections))
    result, _wall, timings = bench.run_tasks(tasks, env=run_env, vars={'ansible_python_interpreter': python})
    return result, timings


def task_overhead(bench, iterations, log=print, peer=None):
    """Task times of the kinds of :func:`_kinds`, their medians and the median ratio to ping per round."""
    bench.emu.reset()
    load = loadavg_1m()
    result, timings = _run_rounds(bench, peer, iterations)
    setup = len(_setup_tasks(peer))
    changed = [r['task'] for r in result.results[setup:] if r['changed']]
    by_round = {}
    for item in timings[setup:]:
        label, index = item['task'].rsplit(' #', 1)
        by_round.setdefault(int(index), {})[label] = item['seconds']
    kinds = {}
    for label, _task, _environment in _kinds(peer):
        seconds = [r[label] for r in by_round.values()]
        ratios = [r[label] / r[PING] for r in by_round.values()]
        kinds[label] = {'median_seconds': round(median(seconds), 3), 'min_seconds': round(min(seconds), 3),
                        'ratio_to_ping': round(median(ratios), 2), 'ratio_of_medians': round(median(seconds) / median(
                            [r[PING] for r in by_round.values()]), 2)}
    figures = {
        'iterations': iterations,
        'interpreter': peer.python if peer is not None else sys.executable,
        'kinds': kinds,
        'role_median_seconds': kinds['ram_instance_role']['median_seconds'],
        'ping_median_seconds': kinds[PING]['median_seconds'],
        'ratio': kinds['ram_instance_role']['ratio_to_ping'],
        'peer_ratio': kinds[PEER]['ratio_to_ping'] if PEER in kinds else None,
        'peer_versions': peer.versions if peer is not None else None,
        'changed_tasks_after_create': changed,
        'loadavg_1m': load,
        'api_calls': bench.counts(),
    }
    log('\n[overhead] task time, %d rounds in one playbook (load %.2f); ratio = median over rounds of task / ping' % (
        iterations, load))
    log(table(('task (no change)', 'median s', 'min s', 'ratio to ping'), [
        (label, k['median_seconds'], k['min_seconds'], k['ratio_to_ping']) for label, k in kinds.items()]))
    return figures


def module_cost(bench, iterations, log=print, peer=None):
    """CPU seconds and peak RSS of each kind's module process (median over ``iterations`` rounds)."""
    bench.emu.reset()
    instance_id = bench.seed(1)[0]
    interpreter = MeasuredInterpreter(bench.workdir, peer.python if peer is not None else sys.executable)
    load = loadavg_1m()
    _run_rounds(bench, peer, iterations, interpreter=interpreter, env=interpreter.env(), instance_id=instance_id)
    records = interpreter.take()   # the setup tasks run under the plain interpreter: not recorded
    cost = {}
    for label, _task, _environment in _kinds(peer, instance_id):
        mine = [r for r in records if r['label'] == label]
        cost[label] = {'cpu_ms': round(1000 * median([r['cpu_seconds'] for r in mine]), 1),
                       'user_ms': round(1000 * median([r['user_seconds'] for r in mine]), 1),
                       'system_ms': round(1000 * median([r['system_seconds'] for r in mine]), 1),
                       'max_rss_mib': median([r['max_rss_mib'] for r in mine]), 'processes': len(mine)}
    log('\n[overhead] module process cost, median of %d (load %.2f)' % (iterations, load))
    log(table(('module process', 'CPU ms', 'user ms', 'system ms', 'peak RSS MiB'), [
        (label, c['cpu_ms'], c['user_ms'], c['system_ms'], c['max_rss_mib']) for label, c in cost.items()]))
    return {'iterations': iterations, 'loadavg_1m': load, 'kinds': cost}


def imports_probe(bench, log=print):
    """What a ram_instance_role process imported, deferral on and off (probe/sitecustomize.py)."""
    bench.emu.reset()
    probe_log = bench.workdir / ('probe-%d.jsonl' % os.getpid())
    if probe_log.exists():
        probe_log.unlink()
    environment = {'PYTHONPATH': str(PROBE_DIR), 'ALICLOUD_RAM_BENCH_PROBE_LOG': str(probe_log)}
    tasks = [{'name': 'create the role', ROLE_TASK: {'name': ROLE}},
             labelled({'name': 'deferred', ROLE_TASK: {'name': ROLE}}, 'ram_instance_role', environment=environment),
             labelled({'name': 'eager', ROLE_TASK: {'name': ROLE}}, EAGER, environment=dict(environment, **DEFERRAL_SWITCH))]
    bench.run_tasks(tasks)
    report = dict(zip(('ram_instance_role', EAGER), read_timings(probe_log)))
    log('\n[overhead] what the module process imported (probe)')
    log(table(('module process', 'SSL contexts', 'modules', 'really imported'), [
        (label, r['ssl_contexts'], r['modules'], ', '.join(n for n, on in sorted(r['imported'].items()) if on))
        for label, r in report.items()]))
    return report


def deferral_active(probe):
    """Whether the module process of ram_instance_role kept every deferred package out."""
    imported = probe.get('ram_instance_role', {}).get('imported', {})
    return bool(imported) and not any(imported.get(name) for name in DEFERRED_TOP_LEVEL)


def _importtime_once(collection_path, code):
    env = dict(os.environ)
    env['PYTHONPATH'] = str(collection_path)
    env.pop('ALICLOUD_RAM_DEFER_SDK_IMPORTS', None)
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


# ram_instance_role as a module process runs it: __main__ is the module (so sdk_loader applies), then the SDK client
_AS_MODULE = ('import __main__, importlib.machinery\n'
              '__main__.__spec__ = importlib.machinery.ModuleSpec(%r, None)\n'
              'import %s\n'
              'from ansible_collections.alicloud.ram.plugins.module_utils.client import import_sdk, missing_sdks\n'
              'missing_sdks(("ram",))\n'
              'import_sdk("ram")\n')


def _top(entries, own_name):
    top = sorted((e for e in entries if 1 <= e['depth'] <= 3 or (e['depth'] == 0 and e['name'] != own_name)),
                 key=lambda e: -e['cumulative_us'])[:12]
    return [dict(name=e['name'], ms=round(e['cumulative_us'] / 1000.0, 1)) for e in top]


def startup(collection_path, log=print, repeat=REPEAT):
    """Import times: each module file (which SDK packages it pulls in), and ram_instance_role + the RAM SDK."""
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
    module = MODULE_PREFIX + 'ram_instance_role'
    variants = {}
    for label, switch in (('deferred', ''), ('not deferred', 'import os; os.environ["ALICLOUD_RAM_DEFER_SDK_IMPORTS"] = "0"\n')):
        entries, _printed = _importtime(collection_path, switch + _AS_MODULE % (module, module), repeat)
        ours = sorted((e for e in entries if e['name'].startswith('ansible_collections.alicloud.ram.plugins.module_utils.')),
                      key=lambda e: -e['cumulative_us'])[:8]
        variants[label] = {
            'total_ms': round(sum(e['self_us'] for e in entries) / 1000.0, 1),
            'modules_imported': len(entries),
            'top_cumulative': _top(entries, module),
            'collection_module_utils': [dict(name=e['name'].rsplit('.', 1)[1], ms=round(e['cumulative_us'] / 1000.0, 1),
                                             self_ms=round(e['self_us'] / 1000.0, 1)) for e in ours],
        }
    report['ram_instance_role_with_sdk'] = variants['deferred']
    report['ram_instance_role_with_sdk_not_deferred'] = variants['not deferred']
    log('\n[overhead] module import (python -X importtime), SDK packages imported by the module file itself')
    log(table(('module', 'import ms', 'SDK packages imported'), [
        (n, m['import_ms'], ', '.join(m['sdk_packages_imported']) or 'none') for n, m in sorted(report['modules'].items())]))
    for label, variant in variants.items():
        log('\n[overhead] ram_instance_role + the RAM SDK as a module process imports them, %s: %d modules, %.1f ms; top (cumulative)' % (
            label, variant['modules_imported'], variant['total_ms']))
        log(table(('import', 'cumulative ms'), [(e['name'], e['ms']) for e in variant['top_cumulative']]))
    log('')
    log(table(('collection module_utils', 'cumulative ms', 'self ms'),
              [(e['name'], e['ms'], e['self_ms']) for e in variants['deferred']['collection_module_utils']]))
    return report


def run(bench, quick=False, log=print):
    peer = peer_setup.setup(log=log, install=not quick)
    if peer is not None:
        peer.start()
    try:
        task = task_overhead(bench, QUICK_ITERATIONS if quick else ITERATIONS, log=log, peer=peer)
        cost = module_cost(bench, QUICK_CPU_ITERATIONS if quick else CPU_ITERATIONS, log=log, peer=peer)
    finally:
        if peer is not None:
            peer.stop()
    probe = imports_probe(bench, log=log)
    return {
        'task': task,
        'module_cost': cost,
        'imports': probe,
        'deferral_active': deferral_active(probe),
        'startup': startup(bench.collection_path, log=log, repeat=1 if quick else REPEAT),
        'ratio_target': RATIO_TARGET,
        'ratio_met': task['ratio'] <= RATIO_TARGET,
        'below_peer': None if task['peer_ratio'] is None else task['ratio'] < task['peer_ratio'],
    }
