# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the worker pool's adaptive concurrency under a rate limit and under injected throttling.

First, ecs_instance_role_attachment at default settings on 10,000 instances (quick: 100), 50 ms
latency, with a per-action rate limit of 100 calls per second on DescribeInstanceRamRole and
AttachInstanceRamRole (the emulator's ``qps`` fault: a token bucket with one second of burst): the
time from the first to the end of the last limited call against (successful calls / limit), the
throttled attempts, and the calls in flight. Then:

ecs_instance_role_attachment on N new instances, 50 ms latency per call, the emulator throttling
a share of the calls at random (``throttle_rate`` 0.2 and 0.5, a fixed seed; ``retries: 10`` so
that every call gets through). Three pools per rate:

- adaptive: the default (starts at 4, one more per window of successful calls up to 16; halves on
  a throttled attempt and grows back to one below the level that was throttled);
- fixed 4: the same module with the limit held at 4 (probe/sitecustomize.py turns
  ``WorkerPool.throttled`` into a no-op in the module process: a comparison, not a setting);
- concurrency 1.

Per run: task time, the module's ``concurrency`` result (the most calls in flight at once), calls
in flight estimated from the emulator's log (a call is in flight from its start for the 50 ms
latency; the mean is over the time at least one call was in flight, so backoff waits with
nothing in flight do not count), attempts, throttled attempts, and whether every instance holds
the role. The emulator throttles by chance per call, whatever the load: fewer
calls in flight do not mean fewer throttled calls here, as they would with a real rate limit.
"""

from __future__ import annotations

import json

from common import PROBE_DIR, REGION, labelled, loadavg_1m, table, task_seconds
from bench_fleet import LATENCY_MS, ROLE, check_calls, minimum_calls  # pylint: disable=import-error

NAME = 'throttle'
MODULE = 'alicloud.ram.ecs_instance_role_attachment'
INSTANCES = 500
QUICK_INSTANCES = 100
RATES = (0.2, 0.5)
QUICK_RATES = (0.5,)
RETRIES = 10
SEED = 20
# a per-action rate limit (the emulator's token bucket, one second of burst) on the two batch APIs
RATE_LIMITS = {'DescribeInstanceRamRole': 100.0, 'AttachInstanceRamRole': 100.0}
RATE_LIMIT_INSTANCES = 10000
RATE_LIMIT_RATIO = 1.3     # the limited calls' time / (calls / limit), at most
POOLS = (
    ('adaptive (default: starts at 4, grows to 16)', None, {}),
    ('fixed 4', 4, {'PYTHONPATH': str(PROBE_DIR), 'ALICLOUD_RAM_BENCH_FIXED_POOL': '1'}),
    ('concurrency 1', 1, {}),
)


def in_flight(calls, latency=LATENCY_MS / 1000.0):
    """``(mean, max)`` calls in flight while any was, each call taken as in flight for ``latency`` from its start."""
    edges = sorted([(c['time'], 1) for c in calls] + [(c['time'] + latency, -1) for c in calls])
    current = peak = 0
    area = busy = 0.0
    last = edges[0][0] if edges else 0.0
    for moment, step in edges:
        if current:
            area += current * (moment - last)
            busy += moment - last
        current += step
        peak = max(peak, current)
        last = moment
    return (area / busy if busy else 0.0), peak


def run_figures(bench, n, result, timings, load):
    """What every throttling run reports: calls done and attempted, calls in flight, the pool's own figure."""
    calls = bench.emu.calls()
    mean, peak = in_flight(calls)
    done = {}
    for call in calls:
        if not call.get('code'):
            done[call['action']] = done.get(call['action'], 0) + 1
    figures = {
        'instances': n,
        'task_seconds': round(task_seconds(timings, 'attach'), 2),
        'module_concurrency': result.module_result('attach').get('concurrency'),
        'in_flight_mean': round(mean, 2),
        'in_flight_max': peak,
        'attempts': len(calls),
        'calls_done': done,
        'calls_at_minimum': done == minimum_calls(n),
        'all_attached': sum(1 for i in bench.emu.instances(REGION) if (i.get('RamRoleName') or '').lower() == ROLE.lower()) == n,
        'loadavg_1m': load,
    }
    figures.update(check_calls(calls))
    return calls, figures


def pool_run(bench, n, rate, label, concurrency, environment, log=print):
    bench.emu.reset()
    ids = bench.seed(n)
    bench.create_role(ROLE)
    bench.emu.set_faults(latency_ms=LATENCY_MS, throttle_rate=rate, seed=SEED)
    bench.emu.clear_calls()
    args = {'role_name': ROLE, 'instance_ids': '{{ ids }}', 'retries': RETRIES}
    if concurrency is not None:
        args['concurrency'] = concurrency
    load = loadavg_1m()
    result, _wall, timings = bench.run_tasks([labelled({'name': 'attach', MODULE: args}, label, environment=environment)],
                                             extra_vars={'ids': ids})
    bench.emu.set_faults(latency_ms=0, throttle_rate=0.0)
    _calls, figures = run_figures(bench, n, result, timings, load)
    figures.update(pool=label, throttle_rate=rate)
    log('[throttle] rate %.1f %s: task %.2f s, concurrency result %s, in flight mean %.2f max %d, %d attempts, %d throttled, done %s' % (
        rate, label, figures['task_seconds'], figures['module_concurrency'], figures['in_flight_mean'], figures['in_flight_max'],
        figures['attempts'], figures['throttled'], json.dumps(figures['calls_done'], sort_keys=True)))
    return figures


def _backs_off(runs):
    """Whether, at every rate, the adaptive pool kept fewer calls in flight than the fixed 4 (None: nothing was throttled)."""
    adaptive = dict((f['throttle_rate'], f) for f in runs if f['pool'] == POOLS[0][0])
    fixed = dict((f['throttle_rate'], f) for f in runs if f['pool'] == POOLS[1][0])
    if not any(f['throttled'] for f in adaptive.values()):
        return None
    return all(adaptive[rate]['in_flight_mean'] < fixed[rate]['in_flight_mean'] for rate in adaptive)


def rate_limited_run(bench, n, qps, log=print):
    """The default pool against per-action rate limits (``--qps``): how close to calls / limit the calls run."""
    bench.emu.reset()
    ids = bench.seed(n)
    bench.create_role(ROLE)
    bench.emu.set_faults(latency_ms=LATENCY_MS, qps=qps)
    bench.emu.clear_calls()
    load = loadavg_1m()
    result, _wall, timings = bench.run_tasks([{'name': 'attach', MODULE: {'role_name': ROLE, 'instance_ids': '{{ ids }}'}}],
                                             extra_vars={'ids': ids})
    bench.emu.set_faults(latency_ms=0, qps={})
    calls, figures = run_figures(bench, n, result, timings, load)
    limited = [c for c in calls if c['action'] in qps]
    floor = sum(figures['calls_done'].get(action, 0) / float(rate) for action, rate in qps.items())
    span = max(c['time'] for c in limited) + LATENCY_MS / 1000.0 - min(c['time'] for c in limited)
    timing = timings[-1]
    starts = [c['time'] for c in calls]
    figures.update({
        'qps': qps,
        'task_start_to_first_call_s': round(min(starts) - timing['start'], 2) if timing.get('start') else None,
        'last_call_to_task_end_s': round(timing['end'] - max(starts) - LATENCY_MS / 1000.0, 2) if timing.get('end') else None,
        'throttled_by_action': dict((a, sum(1 for c in calls if c['action'] == a and 'Throttling' in str(c.get('code') or '')))
                                    for a in qps),
        'limited_calls_seconds': round(span, 2),
        'calls_over_limit_seconds': round(floor, 2),
        'ratio': round(span / floor, 2),
    })
    log('[throttle] rate limit %s: limited calls took %.2f s for %.2f s of calls / limit (%.2fx), task %.2f s, %d throttled of %d '
        'attempts, in flight mean %.2f max %d, concurrency result %s' % (
            json.dumps(qps, sort_keys=True), span, floor, figures['ratio'], figures['task_seconds'], figures['throttled'],
            len(calls), figures['in_flight_mean'], figures['in_flight_max'], figures['module_concurrency']))
    return figures


def run(bench, quick=False, log=print):
    n = QUICK_INSTANCES if quick else INSTANCES
    limited = rate_limited_run(bench, QUICK_INSTANCES if quick else RATE_LIMIT_INSTANCES, RATE_LIMITS, log=log)
    runs = []
    for rate in (QUICK_RATES if quick else RATES):
        for label, concurrency, environment in POOLS:
            runs.append(pool_run(bench, n, rate, label, concurrency, environment, log=log))
    log('\n[throttle] %d instances, %d ms per call, retries %d, emulator seed %d' % (n, LATENCY_MS, RETRIES, SEED))
    log(table(('throttle rate', 'pool', 'task s', 'concurrency result', 'in flight (mean)', 'in flight (max)', 'attempts',
               'throttled', 'every instance attached'),
              [(f['throttle_rate'], f['pool'], f['task_seconds'], f['module_concurrency'], f['in_flight_mean'], f['in_flight_max'],
                f['attempts'], f['throttled'], f['all_attached']) for f in runs]))
    return {
        'rate_limited': limited,
        'rate_limit_ratio_target': RATE_LIMIT_RATIO,
        # quick: a handful of calls, where a second of burst hides the limit: not a measurement
        'rate_limit_met': None if quick else limited['ratio'] <= RATE_LIMIT_RATIO and limited['all_attached'] and limited['calls_at_minimum'],
        'instances': n,
        'latency_ms': LATENCY_MS,
        'retries': RETRIES,
        'seed': SEED,
        'runs': runs,
        'all_attached': all(f['all_attached'] and f['calls_at_minimum'] for f in runs),
        'adaptive_backs_off': _backs_off(runs),
    }


def main(argv=None):
    """``bench_throttle.py --rate-limit N [--instances N] [--source DIR]``: one rate-limited run, printed as JSON."""
    import argparse  # pylint: disable=import-outside-toplevel

    from common import REPO_ROOT, Bench  # pylint: disable=import-error,import-outside-toplevel

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('--rate-limit', type=float, required=True, help='calls per second for each of %s' % ', '.join(RATE_LIMITS))
    parser.add_argument('--instances', type=int, default=RATE_LIMIT_INSTANCES)
    parser.add_argument('--source', default=str(REPO_ROOT), help='build the collection from this tree')
    args = parser.parse_args(argv)
    with Bench(source=args.source) as bench:
        figures = rate_limited_run(bench, args.instances, dict((action, args.rate_limit) for action in RATE_LIMITS))
    print(json.dumps(figures, indent=2, sort_keys=True))
    return 0


if __name__ == '__main__':
    import sys  # pylint: disable=import-outside-toplevel

    sys.exit(main())
