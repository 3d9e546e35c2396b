# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 2: attach a role to a fleet with 50 ms of injected latency per API call.

- ecs_instance_role_attachment at default settings on 1,000, 5,000 and 10,000 new instances:
  task and playbook time, calls per action against the minimum, then a no-change rerun (only
  the DescribeInstanceRamRole pages); the 10,000 run goes under measure_interpreter.py for the
  module process's CPU time and peak RSS, and its time is split into phases (controller, module
  start-up, API calls, result) from the task timer, the process record and the emulator's log;
- the same 10,000 (quick: the small fleet) with concurrency 1, 4 and 8 (the default is 16: the pool starts
  at 4 and grows by one per window of successful calls);
- the size of the module's result (JSON) at each size: fleet modules list only what changed or failed;
- a naive loop (official SDK, one DescribeInstanceRamRole and one AttachInstanceRamRole per
  instance, sequential) measured on a sample in the same run and extrapolated linearly.
Every run checks that no call was throttled or failed and that every instance holds the role.
"""

from __future__ import annotations

import json
import time

from common import ATTACH_LIMIT, DESCRIBE_LIMIT, REGION, MeasuredInterpreter, labelled, loadavg_1m, pages, table, task_seconds

NAME = 'fleet'
MODULE = 'alicloud.ram.ecs_instance_role_attachment'
ROLE = 'bench-fleet-role'
LATENCY_MS = 50
DEFAULT_CONCURRENCY = 16    # the option's default: the pool starts at 4 and grows to it
SIZES = (1000, 5000, 10000)
CONCURRENCY = (1, 4, 8)
NAIVE_SAMPLE = 100
QUICK_SIZES = (250,)
QUICK_NAIVE_SAMPLE = 10
TIME_TARGET_SECONDS = 3.5
RSS_TARGET_MIB = 60.0
RESULT_TARGET_BYTES = 100 * 1024   # the module's result at 10,000 instances, as JSON
OTHER_CALLS_ALLOWED = 6     # 5,000 instances: at most ceil(N/50) + ceil(N/100) + this many calls


def _prepare(bench, n):
    bench.emu.reset()
    ids = bench.seed(n)
    bench.create_role(ROLE)
    bench.emu.set_faults(latency_ms=LATENCY_MS)
    bench.emu.clear_calls()
    return ids


def check_calls(calls):
    """Throttled, failed and injected calls of an emulator call log."""
    return {
        'throttled': sum(1 for c in calls if 'Throttling' in str(c.get('code') or '')),
        'errors': sum(1 for c in calls if c.get('code')),
        'injected_faults': sum(1 for c in calls if c.get('injected')),
    }


def minimum_calls(n, first=True):
    """The least calls for ``n`` instances that hold no role (first run) or hold it already (rerun)."""
    if not first:
        return {'DescribeInstanceRamRole': pages(n, DESCRIBE_LIMIT)}
    return {'DescribeInstanceRamRole': pages(n, DESCRIBE_LIMIT), 'GetRole': 1, 'AttachInstanceRamRole': pages(n, ATTACH_LIMIT)}


def phases(timing, process, calls):
    """Where the task's time went: controller before the module, module start-up, API calls, after."""
    starts = [c['time'] for c in calls]
    if not (timing.get('start') and process and starts):
        return None
    return {
        'controller_before_module_s': round(process['start'] - timing['start'], 2),
        'module_start_to_first_call_s': round(min(starts) - process['start'], 2),
        'api_calls_s': round(max(starts) + LATENCY_MS / 1000.0 - min(starts), 2),
        'last_call_to_module_exit_s': round(process['end'] - max(starts) - LATENCY_MS / 1000.0, 2),
        'module_exit_to_task_result_s': round(timing['end'] - process['end'], 2),
    }


def _attach(bench, ids, args, label, interpreter=None):
    bench.emu.clear_calls()
    task = labelled({'name': 'attach', MODULE: args}, label, interpreter)
    load = loadavg_1m()
    result, wall, timings = bench.run_tasks([task], extra_vars={'bench_fleet_ids': ids},
                                            env=interpreter.env() if interpreter is not None else None)
    calls = bench.emu.calls()
    counts = bench.counts()
    out = result.module_result('attach')
    figures = {
        'instances': len(ids),
        'task_seconds': round(task_seconds(timings, 'attach'), 2),
        'playbook_seconds': round(wall, 2),
        'counts': counts,
        'total_calls': sum(counts.values()),
        'write_calls': sum(1 for c in calls if c['write']),
        'changed_instances': len(out.get('changed_instance_ids') or []),
        'module_concurrency': out.get('concurrency'),
        'result_bytes': len(json.dumps(out)),
        'loadavg_1m': load,
    }
    figures.update(check_calls(calls))
    if interpreter is not None:
        (process,) = interpreter.take()
        figures['module_process'] = process
        figures['phases'] = phases(timings[-1], process, calls)
    return figures


def module_run(bench, n, concurrency=None, log=print, rerun=True, measure=False):
    """Attach ROLE to ``n`` new instances with the module (then rerun it); figures of the runs."""
    ids = _prepare(bench, n)
    args = {'role_name': ROLE, 'instance_ids': '{{ bench_fleet_ids }}'}
    if concurrency is not None:
        args['concurrency'] = concurrency
    interpreter = MeasuredInterpreter(bench.workdir) if measure else None
    figures = _attach(bench, ids, args, 'first', interpreter)
    figures.update(concurrency=concurrency or DEFAULT_CONCURRENCY, minimum_calls=minimum_calls(n))
    figures['instances_holding_role'] = sum(1 for i in bench.emu.instances(REGION) if (i.get('RamRoleName') or '').lower() == ROLE.lower())
    process = (', module process %.2f s CPU, peak RSS %.1f MiB' % (figures['module_process']['cpu_seconds'],
                                                                   figures['module_process']['max_rss_mib']) if measure else '')
    log('[fleet] N=%d concurrency=%s: task %.2f s, playbook %.2f s, %d calls %s, result %d bytes, peak in flight %s, throttled=%d '
        'errors=%d, load %.2f%s' % (n, figures['concurrency'], figures['task_seconds'], figures['playbook_seconds'], figures['total_calls'],
                                    json.dumps(figures['counts'], sort_keys=True), figures['result_bytes'], figures['module_concurrency'],
                                    figures['throttled'], figures['errors'], figures['loadavg_1m'], process))
    if rerun:
        again = _attach(bench, ids, args, 'rerun')
        again['minimum_calls'] = minimum_calls(n, first=False)
        figures['rerun'] = again
        log('[fleet] N=%d rerun: task %.2f s, %d calls %s, %d writes' % (
            n, again['task_seconds'], again['total_calls'], json.dumps(again['counts'], sort_keys=True), again['write_calls']))
    bench.emu.set_faults(latency_ms=0)
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
    bench.emu.set_faults(latency_ms=0)
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
    figures.update(check_calls(bench.emu.calls()))
    log('[fleet] naive loop: %d instances in %.2f s (%.1f ms each, %s)' % (sample, seconds, per_instance * 1000, json.dumps(counts)))
    return figures


def _log_tables(runs, by_concurrency, naive, log):
    rows = []
    for f in runs:
        naive_seconds = naive['extrapolated'][str(f['instances'])]['seconds']
        rows.append((f['instances'], f['task_seconds'], f['playbook_seconds'], f['total_calls'], sum(f['minimum_calls'].values()),
                     f['write_calls'], f['rerun']['task_seconds'], f['rerun']['total_calls'], 2 * f['instances'], naive_seconds,
                     '%.0fx' % (naive_seconds / f['task_seconds']), f['throttled']))
    log('\n[fleet] %d ms per call, default concurrency; naive loop measured on %d instances and extrapolated linearly' % (
        LATENCY_MS, naive['sample']))
    log(table(('instances', 'task s', 'playbook s', 'calls', 'minimum', 'writes', 'rerun s', 'rerun calls', 'naive calls',
               'naive s (extrapolated)', 'speed-up', 'throttled'), rows))
    measured = runs[-1]
    if measured.get('phases'):
        process = measured['module_process']
        log('\n[fleet] %d instances, where the task time went (s): %s; module process %.2f s CPU, peak RSS %.1f MiB' % (
            measured['instances'], json.dumps(measured['phases']), process['cpu_seconds'], process['max_rss_mib']))
    if by_concurrency:
        base = by_concurrency[0]['task_seconds']
        rows = [(f['concurrency'], f['task_seconds'], '%.2f' % (base / f['task_seconds']), f['total_calls'], f['throttled'],
                 f['errors']) for f in by_concurrency]
        log('\n[fleet] concurrency on %d instances (ratio = concurrency-1 time / this time)' % measured['instances'])
        log(table(('concurrency', 'task s', 'ratio vs 1', 'calls', 'throttled', 'errors'), rows))


def run(bench, quick=False, log=print):
    sizes = QUICK_SIZES if quick else SIZES
    sample = QUICK_NAIVE_SAMPLE if quick else NAIVE_SAMPLE
    runs = [module_run(bench, n, log=log, measure=n == sizes[-1]) for n in sizes]
    largest = runs[-1]
    by_concurrency = []
    for concurrency in (() if quick else CONCURRENCY):
        by_concurrency.append(module_run(bench, sizes[-1], concurrency=concurrency, log=log, rerun=False))
    by_concurrency = sorted(by_concurrency + ([largest] if by_concurrency else []), key=lambda f: f['concurrency'])
    naive = naive_loop(bench, sample, sizes, log=log)
    _log_tables(runs, by_concurrency, naive, log)
    every = runs + [f['rerun'] for f in runs] + by_concurrency
    by_size = dict((f['instances'], f) for f in runs)
    data = {
        'latency_ms': LATENCY_MS,
        'runs': runs,
        'concurrency': by_concurrency,
        'naive': naive,
        'calls_at_minimum': all(f['counts'] == f['minimum_calls'] for f in runs + by_concurrency),
        'rerun_reads_only': all(f['rerun']['counts'] == f['rerun']['minimum_calls'] for f in runs),
        'no_throttling': all(f['throttled'] == 0 and f['errors'] == 0 for f in every + [naive]),
        'all_attached': all(f['instances_holding_role'] == f['instances'] for f in runs + by_concurrency),
        'max_rss_mib': largest['module_process']['max_rss_mib'],
        'module_cpu_seconds': largest['module_process']['cpu_seconds'],
    }
    if 10000 in by_size:
        f = by_size[10000]
        data['time_10000'] = f['task_seconds']
        data['calls_10000'] = f['total_calls'] == 301 and f['write_calls'] == pages(10000, ATTACH_LIMIT)
        data['rss_10000_met'] = f['module_process']['max_rss_mib'] <= RSS_TARGET_MIB
        data['result_bytes_10000'] = f['result_bytes']
        data['result_bytes_10000_rerun'] = f['rerun']['result_bytes']
        data['result_10000_met'] = f['result_bytes'] <= RESULT_TARGET_BYTES
    if 5000 in by_size:
        data['calls_5000'] = by_size[5000]['total_calls'] <= pages(5000, DESCRIBE_LIMIT) + pages(5000, ATTACH_LIMIT) + OTHER_CALLS_ALLOWED
    return data
