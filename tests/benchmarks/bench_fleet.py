# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 2: attach a role to a fleet with 50 ms of injected latency per API call.

- ecs_instance_role_attachment on 1,000 and 10,000 instances (default concurrency 4), wall time
  of the task and of the whole ansible-playbook run, calls per action;
- the same 10,000 (quick: the small fleet) with concurrency 1, 4 and 8;
- a naive loop (official SDK, one DescribeInstanceRamRole and one AttachInstanceRamRole per
  instance, sequential) measured on a sample in the same run and extrapolated linearly.
Every run checks that no call was throttled or failed and that every instance holds the role.
"""

from __future__ import annotations

import json
import time

from common import ATTACH_LIMIT, DESCRIBE_INSTANCES_LIMIT, DESCRIBE_LIMIT, REGION, loadavg_1m, pages, table, task_seconds

NAME = 'fleet'
MODULE = 'alicloud.ram.ecs_instance_role_attachment'
ROLE = 'bench-fleet-role'
LATENCY_MS = 50
SIZES = (1000, 10000)
CONCURRENCY = (1, 4, 8)
NAIVE_SAMPLE = 200
QUICK_SIZES = (250,)
QUICK_NAIVE_SAMPLE = 10


def _prepare(bench, n):
    bench.emu.reset()
    ids = bench.seed(n)
    bench.create_role(ROLE)
    bench.emu.set_faults(latency_ms=LATENCY_MS)
    bench.emu.clear_calls()
    return ids


def _check_calls(bench):
    calls = bench.emu.calls()
    return {
        'throttled': sum(1 for c in calls if 'Throttling' in str(c.get('code') or '')),
        'errors': sum(1 for c in calls if c.get('code')),
        'injected_faults': sum(1 for c in calls if c.get('injected')),
    }


def module_run(bench, n, concurrency=None, log=print):
    """Attach ROLE to ``n`` new instances with the module; figures of the run."""
    ids = _prepare(bench, n)
    args = {'role_name': ROLE, 'instance_ids': '{{ bench_fleet_ids }}'}
    if concurrency is not None:
        args['concurrency'] = concurrency
    load = loadavg_1m()
    result, wall, timings = bench.run_tasks([{'name': 'attach', MODULE: args}], extra_vars={'bench_fleet_ids': ids})
    counts = bench.counts()
    checks = _check_calls(bench)
    holding = sum(1 for i in bench.emu.instances(REGION) if (i.get('RamRoleName') or '').lower() == ROLE.lower())
    out = result.module_result('attach')
    figures = {
        'instances': n,
        'concurrency': concurrency if concurrency is not None else 4,
        'task_seconds': round(task_seconds(timings, 'attach'), 2),
        'playbook_seconds': round(wall, 2),
        'counts': counts,
        'total_calls': sum(counts.values()),
        'minimum_calls': {
            'DescribeInstanceRamRole': pages(n, DESCRIBE_LIMIT),
            'DescribeInstances': pages(n, DESCRIBE_INSTANCES_LIMIT),
            'GetRole': 1,
            'AttachInstanceRamRole': pages(n, ATTACH_LIMIT),
        },
        'changed_instances': len(out.get('changed_instance_ids') or []),
        'instances_holding_role': holding,
        'loadavg_1m': load,
    }
    figures.update(checks)
    log('[fleet] N=%d concurrency=%s: task %.2f s, playbook %.2f s, %d calls %s, throttled=%d errors=%d, load %.2f' % (
        n, figures['concurrency'], figures['task_seconds'], wall, figures['total_calls'], json.dumps(counts, sort_keys=True),
        checks['throttled'], checks['errors'], load))
    return figures


def naive_loop(bench, sample, fleet_sizes, log=print):
    """One id per call, sequential, through the official SDK: measured on ``sample`` instances."""
    from alibabacloud_ecs20140526 import models as ecs_models  # pylint: disable=import-outside-toplevel
    from tests.emulator.sdkhelpers import clients  # pylint: disable=import-outside-toplevel

    ids = _prepare(bench, sample)
    _ram, ecs, _sts = clients(bench.emu)
    load = loadavg_1m()
    start = time.monotonic()
    for iid in ids:
        body = ecs.describe_instance_ram_role(ecs_models.DescribeInstanceRamRoleRequest(
            region_id=REGION, instance_ids=json.dumps([iid]))).body
        held = [s.ram_role_name for s in body.instance_ram_role_sets.instance_ram_role_set if s.ram_role_name]
        if not held:
            ecs.attach_instance_ram_role(ecs_models.AttachInstanceRamRoleRequest(
                region_id=REGION, ram_role_name=ROLE, instance_ids=json.dumps([iid])))
    seconds = time.monotonic() - start
    counts = bench.counts()
    per_instance = seconds / sample
    figures = {
        'sample': sample,
        'measured_seconds': round(seconds, 2),
        'seconds_per_instance': round(per_instance, 4),
        'counts': counts,
        'extrapolated': dict((str(n), {'seconds': round(per_instance * n, 1), 'calls': 2 * n}) for n in fleet_sizes),
        'loadavg_1m': load,
    }
    figures.update(_check_calls(bench))
    log('[fleet] naive loop: %d instances in %.2f s (%.1f ms each, %s)' % (sample, seconds, per_instance * 1000, json.dumps(counts)))
    return figures


def run(bench, quick=False, log=print):
    sizes = QUICK_SIZES if quick else SIZES
    sample = QUICK_NAIVE_SAMPLE if quick else NAIVE_SAMPLE
    largest = sizes[-1]
    runs = [module_run(bench, n, log=log) for n in sizes]
    by_concurrency = []
    for concurrency in (() if quick else CONCURRENCY):
        if concurrency == 4:
            figures = dict(runs[-1])  # the default run of the largest fleet above
        else:
            figures = module_run(bench, largest, concurrency=concurrency, log=log)
        by_concurrency.append(figures)
    naive = naive_loop(bench, sample, sizes, log=log)
    bench.emu.set_faults(latency_ms=0)

    rows = []
    for figures in runs:
        naive_seconds = naive['extrapolated'][str(figures['instances'])]['seconds']
        rows.append((figures['instances'], 4, figures['task_seconds'], figures['playbook_seconds'], figures['total_calls'],
                     2 * figures['instances'], naive_seconds, '%.0fx' % (naive_seconds / figures['task_seconds']),
                     figures['throttled']))
    log('\n[fleet] %d ms per call; naive loop measured on %d instances and extrapolated linearly' % (LATENCY_MS, sample))
    log(table(('instances', 'concurrency', 'task s', 'playbook s', 'calls', 'naive calls', 'naive s (extrapolated)',
               'speed-up', 'throttled'), rows))
    if by_concurrency:
        base = by_concurrency[0]['task_seconds']
        rows = [(f['concurrency'], f['task_seconds'], '%.2f' % (base / f['task_seconds']), f['total_calls'], f['throttled'],
                 f['errors']) for f in by_concurrency]
        log('\n[fleet] concurrency on %d instances (ratio = concurrency-1 time / this time)' % largest)
        log(table(('concurrency', 'task s', 'ratio vs 1', 'calls', 'throttled', 'errors'), rows))
    all_runs = runs + by_concurrency
    return {
        'calls_at_minimum': all(f['counts'] == f['minimum_calls'] for f in all_runs),
        'latency_ms': LATENCY_MS,
        'runs': runs,
        'concurrency': by_concurrency,
        'naive': naive,
        'no_throttling': all(f['throttled'] == 0 and f['errors'] == 0 for f in all_runs + [naive]),
        'all_attached': all(f['instances_holding_role'] == f['instances'] for f in all_runs),
    }
