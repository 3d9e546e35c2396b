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

import json
import os
import re
import subprocess
import sys

from common import (DEFERRAL_SWITCH, HERE, PROBE_DIR, REPO_ROOT, MeasuredInterpreter, labelled, loadavg_1m, median, read_timings,
                    table)
import peer as peer_setup  # pylint: disable=import-error
import peer_alicloud  # pylint: disable=import-error

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
ALICLOUD_PEER = 'alibaba.alicloud ali_ram_role (peer)'
FLOOR = 'minimal official-SDK module (floor)'
FLOOR_TASK = 'bench.floor.ram_role_floor'
FLOOR_COLLECTIONS = HERE / 'floor'
ALICLOUD_ROLE = 'bench-alicloud-role'
ECS_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Service': ['ecs.aliyuncs.com']}}],
                        'Version': '1'})
FLOOR_TARGET = 1.05      # no-change ram_instance_role / the floor, median of paired rounds
ALICLOUD_TARGET = 0.9    # no-change ram_instance_role / ali_ram_role
# what a module process must show for deferral to count as active
DEFERRED_TOP_LEVEL = ('aiohttp', 'aiofiles', 'asyncio', 'apscheduler', 'cryptography', 'websocket')


def _kinds(peers, instance_id=None):
    """``[(label, task, environment)]`` of one round (with ``instance_id``: ecs_instance_role_info on it too)."""
    kinds = [
        (PING, {PING: {}}, {}),
        ('ram_instance_role', {ROLE_TASK: {'name': ROLE}}, {}),
        (EAGER, {ROLE_TASK: {'name': ROLE}}, DEFERRAL_SWITCH),
        (FLOOR, {FLOOR_TASK: {'name': ROLE}}, {}),
    ]
    if instance_id is not None:
        kinds += [(ECS_INFO, {ECS_INFO_TASK: {'instance_ids': [instance_id]}}, {}),
                  (ECS_INFO_EAGER, {ECS_INFO_TASK: {'instance_ids': [instance_id]}}, DEFERRAL_SWITCH)]
    if peers.aws is not None:
        kinds.append((PEER, peers.aws.task(PEER), {}))
    if peers.alicloud is not None:
        task = peers.alicloud.task(ALICLOUD_PEER, ALICLOUD_ROLE, ECS_TRUST, peers.emulator)
        kinds.append((ALICLOUD_PEER, task, task.pop('environment')))
    return kinds


class Peers(object):
    """The peers that could be set up (None for one that could not), and the emulator they talk to."""

    def __init__(self, aws, alicloud, emulator):
        self.aws, self.alicloud, self.emulator = aws, alicloud, emulator

    def python(self):
        """The interpreter of every task but ali_ram_role's (which has its own)."""
        return self.aws.python if self.aws is not None else sys.executable

    def versions(self):
        return {'amazon.aws': self.aws.versions if self.aws is not None else None,
                'alibaba.alicloud': self.alicloud.versions if self.alicloud is not None else None}


def _round(kinds, index, interpreters=None):
    """The round's tasks, rotated; ``interpreters``: ``{python: MeasuredInterpreter}`` to measure each module process."""
    rotated = kinds[index % len(kinds):] + kinds[:index % len(kinds)]
    tasks = []
    for label, task, environment in rotated:
        task = dict(task, name='%s #%d' % (label, index))
        interpreter = None
        if interpreters is not None:
            interpreter = interpreters[(task.get('vars') or {}).get('ansible_python_interpreter')]
        tasks.append(labelled(task, label, interpreter, environment))
    return tasks


def _setup_tasks(peers):
    tasks = [{'name': 'create the role', ROLE_TASK: {'name': ROLE}}]
    if peers.aws is not None:
        tasks.append(peers.aws.task('create the peer role'))
    if peers.alicloud is not None:
        task = peers.alicloud.task('create the alicloud peer role', ALICLOUD_ROLE, ECS_TRUST, peers.emulator)
        tasks.append(task)
    return tasks


def _run_rounds(bench, peers, rounds, interpreters=None, env=None, instance_id=None):
    """Run the setup tasks and ``rounds`` rounds in one playbook; ``(result, timings)``."""
    tasks = _setup_tasks(peers)
    for index in range(rounds):
        tasks.extend(_round(_kinds(peers, instance_id), index, interpreters))
    run_env = dict(env or {})
    paths = [str(bench.collection_path), str(FLOOR_COLLECTIONS)]
    if peers.aws is not None:
        paths.append(peers.aws.collections)
    run_env['ANSIBLE_COLLECTIONS_PATH'] = os.pathsep.join(paths)
    if peers.alicloud is not None:
        run_env.update(peers.alicloud.env())
    result, _wall, timings = bench.run_tasks(tasks, env=run_env, vars={'ansible_python_interpreter': peers.python()})
    return result, timings


def _paired(by_round, label, other):
    """Median over the rounds of (``label``'s time / ``other``'s time in the same round), or None."""
    ratios = [r[label] / r[other] for r in by_round.values() if label in r and other in r]
    return round(median(ratios), 3) if ratios else None


def task_overhead(bench, iterations, log=print, peers=None):
    """Task times of the kinds of :func:`_kinds`, their medians, the median ratio to ping per round,
    and ram_instance_role against the floor and the peers, paired per round."""
    peers = peers or Peers(None, None, bench.emu)
    bench.emu.reset()
    load = loadavg_1m()
    result, timings = _run_rounds(bench, peers, iterations)
    setup = len(_setup_tasks(peers))
    changed = [r['task'] for r in result.results[setup:] if r['changed']]
    by_round = {}
    for item in timings[setup:]:
        label, index = item['task'].rsplit(' #', 1)
        by_round.setdefault(int(index), {})[label] = item['seconds']
    kinds = {}
    for label, _task, _environment in _kinds(peers):
        seconds = [r[label] for r in by_round.values()]
        kinds[label] = {'median_seconds': round(median(seconds), 3), 'min_seconds': round(min(seconds), 3),
                        'ratio_to_ping': round(_paired(by_round, label, PING), 2), 'ratio_of_medians': round(median(seconds) / median(
                            [r[PING] for r in by_round.values()]), 2)}
    figures = {
        'iterations': iterations,
        'interpreter': peers.python(),
        'kinds': kinds,
        'role_median_seconds': kinds['ram_instance_role']['median_seconds'],
        'ping_median_seconds': kinds[PING]['median_seconds'],
        'ratio': kinds['ram_instance_role']['ratio_to_ping'],
        'peer_ratio': kinds[PEER]['ratio_to_ping'] if PEER in kinds else None,
        'alicloud_peer_ratio': kinds[ALICLOUD_PEER]['ratio_to_ping'] if ALICLOUD_PEER in kinds else None,
        'floor_ratio': kinds[FLOOR]['ratio_to_ping'],
        'role_to_floor': _paired(by_round, 'ram_instance_role', FLOOR),
        'role_to_alicloud_peer': _paired(by_round, 'ram_instance_role', ALICLOUD_PEER),
        'role_to_aws_peer': _paired(by_round, 'ram_instance_role', PEER),
        'eager_to_role': _paired(by_round, EAGER, 'ram_instance_role'),
        'peer_versions': peers.versions(),
        'changed_tasks_after_create': changed,
        'loadavg_1m': load,
        'api_calls': bench.counts(),
    }
    log('\n[overhead] task time, %d rounds in one playbook (load %.2f); ratio = median over rounds of task / ping' % (
        iterations, load))
    log(table(('task (no change)', 'median s', 'min s', 'ratio to ping'), [
        (label, k['median_seconds'], k['min_seconds'], k['ratio_to_ping']) for label, k in kinds.items()]))
    log('[overhead] ram_instance_role / floor %s, / ali_ram_role %s, / amazon.aws.iam_role %s (medians of paired rounds); '
        'SDK imports not deferred / deferred %s' % (figures['role_to_floor'], figures['role_to_alicloud_peer'],
                                                    figures['role_to_aws_peer'], figures['eager_to_role']))
    return figures


def module_cost(bench, iterations, log=print, peers=None):
    """CPU seconds and peak RSS of each kind's module process (median over ``iterations`` rounds)."""
    peers = peers or Peers(None, None, bench.emu)
    bench.emu.reset()
    instance_id = bench.seed(1)[0]
    interpreters = {None: MeasuredInterpreter(bench.workdir, peers.python())}
    if peers.alicloud is not None:
        interpreters[peers.alicloud.python] = MeasuredInterpreter(bench.workdir, peers.alicloud.python)
    env = {}
    for interpreter in interpreters.values():
        env.update(interpreter.env())
    load = loadavg_1m()
    _run_rounds(bench, peers, iterations, interpreters=interpreters, env=env, instance_id=instance_id)
    records = []
    for interpreter in interpreters.values():
        records.extend(interpreter.take())   # the setup tasks run under the plain interpreters: not recorded
    cost = {}
    for label, _task, _environment in _kinds(peers, instance_id):
        mine = [r for r in records if r['label'] == label]
        if not mine:
            continue
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
    aws = peer_setup.setup(log=log, install=not quick)
    peers = Peers(aws, peer_alicloud.setup(log=log, install=not quick), bench.emu)
    if aws is not None:
        aws.start()
    try:
        task = task_overhead(bench, QUICK_ITERATIONS if quick else ITERATIONS, log=log, peers=peers)
        cost = module_cost(bench, QUICK_CPU_ITERATIONS if quick else CPU_ITERATIONS, log=log, peers=peers)
    finally:
        if aws is not None:
            aws.stop()
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
        'floor_target': FLOOR_TARGET,
        'floor_met': task['role_to_floor'] <= FLOOR_TARGET,
        'alicloud_target': ALICLOUD_TARGET,
        'alicloud_met': None if task['role_to_alicloud_peer'] is None else task['role_to_alicloud_peer'] <= ALICLOUD_TARGET,
    }
