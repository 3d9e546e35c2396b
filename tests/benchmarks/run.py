# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the alicloud.ram benchmarks against the local emulator.

    .venv/bin/python tests/benchmarks/run.py [--quick] [--only NAME ...] [--out DIR]

Benchmarks: calls (API calls of the example role on N instances), fleet (attach at 1,000 and
10,000 instances with 50 ms latency, concurrency 1/4/8, naive loop), overhead (per-task time vs
ansible.builtin.ping, module import time), lookup (100 lookups, one credential fetch).
Each writes ``<out>/<name>.json`` (default out: tests/benchmarks/results/); the exit status is 1
when a call-count target is missed.
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
import bench_overhead  # noqa: E402  pylint: disable=wrong-import-position,import-error
from common import Bench, machine_info, write_result  # noqa: E402  pylint: disable=wrong-import-position,import-error

BENCHMARKS = dict((m.NAME, m) for m in (bench_calls, bench_fleet, bench_overhead, bench_lookup))
DEFAULT_OUT = os.path.join(HERE, 'results')
COMMAND = '.venv/bin/python tests/benchmarks/run.py'


def targets(name, data):
    """``[(target, met)]`` a benchmark's results are checked against."""
    if name == 'calls':
        return [('calls: no-change run = minimum, first run <= minimum + confirming reads', data['target_met'])]
    if name == 'fleet':
        return [('fleet: calls = ceil(N/50) + ceil(N/100) reads, 1 GetRole, ceil(N/100) writes', data['calls_at_minimum']),
                ('fleet: no throttled or failed call', data['no_throttling']),
                ('fleet: every instance holds the role', data['all_attached'])]
    if name == 'lookup':
        return [('lookup: one credential fetch per play pattern', data['target_met'])]
    return []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='small N (used by the smoke test)')
    parser.add_argument('--only', action='append', choices=sorted(BENCHMARKS), metavar='NAME',
                        help='run only this benchmark (repeatable): %s' % ', '.join(sorted(BENCHMARKS)))
    parser.add_argument('--out', default=DEFAULT_OUT, help='directory for the JSON results (default: %(default)s)')
    args = parser.parse_args(argv)
    names = [n for n in BENCHMARKS if not args.only or n in args.only]

    missed = []
    started = time.monotonic()
    with Bench() as bench:
        for name in names:
            before = machine_info()
            t0 = time.monotonic()
            data = BENCHMARKS[name].run(bench, quick=args.quick)
            after = machine_info()
            checks = targets(name, data)
            payload = {
                'benchmark': name,
                'quick': args.quick,
                'command': COMMAND + (' --quick' if args.quick else '') + ' --only %s' % name,
                'seconds': round(time.monotonic() - t0, 1),
                'machine_before': before,
                'machine_after': after,
                'targets': [{'target': t, 'met': bool(ok)} for t, ok in checks],
                'results': data,
            }
            path = write_result(args.out, name, payload)
            for target, ok in checks:
                print('%s %s' % ('PASS' if ok else 'MISS', target))
                if not ok:
                    missed.append(target)
            print('[%s] %.0f s, load %s -> %s, written to %s\n' % (name, payload['seconds'], before['loadavg'], after['loadavg'], path))
    print('all benchmarks: %.0f s; %s' % (time.monotonic() - started, 'targets missed: %s' % missed if missed else 'every target met'))
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())
