# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the alicloud.ram benchmarks against the local emulator.

    .venv/bin/python tests/benchmarks/run.py [--quick] [--only NAME ...] [--out DIR] [--source DIR]
                                             [--charts DIR] [--charts-only]

Benchmarks: calls (API calls of the example role on N instances), fleet (attach at 1,000, 5,000
and 10,000 instances with 50 ms latency, rerun, concurrency 1/4/8, peak RSS, naive loop),
metadata_options (hardened metadata mode on 1,000 and 10,000 instances), throttle (adaptive vs
fixed concurrency under injected throttling), overhead (per-task time vs ansible.builtin.ping and
the peer amazon.aws.iam_role, module CPU and RSS, what a module process imports), lookup (100
lookups, one credential fetch). Each writes ``<out>/<name>.json`` (default out:
tests/benchmarks/results/) and prints its targets as PASS, MISS or SKIP (could not be measured,
with the reason above it); the exit status is 1 when a target is missed. Then the charts
(charts.py) are drawn from the results in <out>: into docs/charts/ (with --quick: <out>/charts/),
or --charts DIR; --charts-only draws them from the results already there, running nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import bench_calls  # noqa: E402  pylint: disable=wrong-import-position,import-error
import bench_fleet  # noqa: E402  pylint: disable=wrong-import-position,import-error
import bench_lookup  # noqa: E402  pylint: disable=wrong-import-position,import-error
import bench_metadata_options  # noqa: E402  pylint: disable=wrong-import-position,import-error
import bench_overhead  # noqa: E402  pylint: disable=wrong-import-position,import-error
import bench_throttle  # noqa: E402  pylint: disable=wrong-import-position,import-error
import bench_transport  # noqa: E402  pylint: disable=wrong-import-position,import-error
import charts  # noqa: E402  pylint: disable=wrong-import-position,import-error
from common import REPO_ROOT, Bench, machine_info, write_result  # noqa: E402  pylint: disable=wrong-import-position,import-error

BENCHMARKS = dict((m.NAME, m) for m in (bench_calls, bench_fleet, bench_metadata_options, bench_throttle, bench_overhead, bench_transport, bench_lookup))
DEFAULT_OUT = os.path.join(HERE, 'results')
COMMAND = '.venv/bin/python tests/benchmarks/run.py'


def _fleet_targets(data):
    checks = []
    if 'time_10000' in data:
        checks.append(('fleet: 10,000 instances at 50 ms: task <= %.1f s at default settings (%.2f s)' % (
            bench_fleet.TIME_TARGET_SECONDS, data['time_10000']), data['time_10000'] <= bench_fleet.TIME_TARGET_SECONDS))
        checks.append(('fleet: 10,000 instances: 301 calls, ceil(N/100) = 100 writes', data['calls_10000']))
        checks.append(('fleet: peak RSS of the module process at 10,000 instances <= %.0f MiB (%.1f MiB)' % (
            bench_fleet.RSS_TARGET_MIB, data['max_rss_mib']), data['rss_10000_met']))
        checks.append(('fleet: the module\'s result at 10,000 instances <= %d KB (%.1f KB; no-change rerun %.1f KB)' % (
            bench_fleet.RESULT_TARGET_BYTES // 1024, data['result_bytes_10000'] / 1024.0, data['result_bytes_10000_rerun'] / 1024.0),
            data['result_10000_met']))
    if 'calls_5000' in data:
        checks.append(('fleet: 5,000 instances: calls <= ceil(N/50) + ceil(N/100) + %d' % bench_fleet.OTHER_CALLS_ALLOWED,
                       data['calls_5000']))
    checks += [('fleet: calls = ceil(N/50) DescribeInstanceRamRole + 1 GetRole + ceil(N/100) writes', data['calls_at_minimum']),
               ('fleet: no-change rerun = DescribeInstanceRamRole pages only', data['rerun_reads_only']),
               ('fleet: no throttled or failed call', data['no_throttling']),
               ('fleet: every instance holds the role', data['all_attached'])]
    return checks


def _overhead_targets(data):
    task = data['task']
    peer = task['peer_ratio']
    return [
        ('overhead: module process imports none of the deferred SDK dependencies', data['deferral_active']),
        ('overhead: no-change ram_instance_role <= %.1f x ping (%.2f, median of %d pairs)' % (
            data['ratio_target'], task['ratio'], task['iterations']), data['ratio_met']),
        ('overhead: ratio below the peer amazon.aws.iam_role\'s (%.2f vs %s)' % (
            task['ratio'], 'skipped' if peer is None else '%.2f' % peer), data['below_peer']),
        ('overhead: no-change ram_instance_role <= %.2f x the minimal official-SDK module (%.3f, median of paired rounds)' % (
            data['floor_target'], task['role_to_floor']), data['floor_met']),
        ('overhead: no-change ram_instance_role <= %.2f x alibaba.alicloud ali_ram_role (%s, median of paired rounds)' % (
            data['alicloud_target'], 'skipped' if task['role_to_alicloud_peer'] is None else '%.3f' % task['role_to_alicloud_peer']),
         data['alicloud_met']),
    ]


def targets(name, data):
    """``[(target, met)]`` a benchmark's results are checked against; met is None when it could not be measured."""
    if name == 'calls':
        return [('calls: no-change run = minimum, first run <= minimum + confirming reads', data['target_met'])]
    if name == 'fleet':
        return _fleet_targets(data)
    if name == 'metadata_options':
        return [('metadata_options: calls = ceil(N/100) DescribeInstances + one write per differing instance',
                 data['calls_at_minimum']),
                ('metadata_options: no-change rerun changes nothing', data['rerun_changes_nothing']),
                ('metadata_options: no throttled or failed call; every instance hardened',
                 data['no_throttling'] and data['all_hardened'])]
    if name == 'throttle':
        limited = data['rate_limited']
        limits = ', '.join('%s=%g' % item for item in sorted(limited['qps'].items()))
        return [('throttle: rate limit %s: limited calls within %.1f x calls / limit (%.2f x, %d throttled), every instance attached' % (
                 limits, data['rate_limit_ratio_target'], limited['ratio'], limited['throttled']), data['rate_limit_met']),
                ('throttle: every instance attached with the minimum of successful calls, whatever the pool',
                 data['all_attached'])]
    if name == 'overhead':
        return _overhead_targets(data)
    if name == 'lookup':
        return [('lookup: one credential fetch per play pattern', data['target_met'])]
    return []


def verdict(met):
    return 'SKIP' if met is None else ('PASS' if met else 'MISS')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='small N (used by the smoke test)')
    parser.add_argument('--only', action='append', choices=sorted(BENCHMARKS), metavar='NAME',
                        help='run only this benchmark (repeatable): %s' % ', '.join(sorted(BENCHMARKS)))
    parser.add_argument('--out', default=DEFAULT_OUT, help='directory for the JSON results (default: %(default)s)')
    parser.add_argument('--source', default=str(REPO_ROOT),
                        help='build the collection from this tree (default: the checkout), e.g. to measure a change first')
    parser.add_argument('--charts', help='directory for the SVG charts (default: docs/charts, with --quick <out>/charts)')
    parser.add_argument('--charts-only', action='store_true', help='only draw the charts from the results in --out')
    args = parser.parse_args(argv)
    charts_dir = args.charts or (os.path.join(args.out, 'charts') if args.quick else charts.DEFAULT_OUT)
    if args.charts_only:
        return 0 if charts.draw(args.out, os.path.normpath(charts_dir)) else 1
    names = [n for n in BENCHMARKS if not args.only or n in args.only]

    missed, summary = [], []
    started = time.monotonic()
    with Bench(source=args.source) as bench:
        for name in names:
            before = machine_info()
            t0 = time.monotonic()
            data = BENCHMARKS[name].run(bench, quick=args.quick)
            after = machine_info()
            checks = targets(name, data)
            payload = {
                'benchmark': name,
                'quick': args.quick,
                'source': args.source,
                'command': COMMAND + (' --quick' if args.quick else '') + ' --only %s' % name,
                'seconds': round(time.monotonic() - t0, 1),
                'machine_before': before,
                'machine_after': after,
                'targets': [{'target': t, 'met': ok, 'verdict': verdict(ok)} for t, ok in checks],
                'results': data,
            }
            path = write_result(args.out, name, payload)
            for target, ok in checks:
                print('%s %s' % (verdict(ok), target))
                summary.append('%s %s' % (verdict(ok), target))
                if ok is not None and not ok:
                    missed.append(target)
            print('[%s] %.0f s, load %s -> %s, written to %s\n' % (name, payload['seconds'], before['loadavg'], after['loadavg'], path))
    charts.draw(args.out, os.path.normpath(charts_dir))
    print('\n'.join(['targets:'] + summary))
    print('all benchmarks: %.0f s; %s' % (time.monotonic() - started, 'targets missed: %d' % len(missed) if missed else 'every target met'))
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())
