# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark charts (SVG), drawn from the JSON results of run.py.

    .venv/bin/python tests/benchmarks/charts.py [--results DIR] [--out DIR]

- ``fleet-calls.svg`` (fleet.json): API calls to attach a role against fleet size: the module's
  batched run, the minimum the APIs allow, and a one-by-one loop (two calls per instance);
- ``fleet-time.svg`` (fleet.json): task time against fleet size: the batched first run, its
  no-change rerun, the latency floor of the minimum calls at the default concurrency, and the
  one-by-one loop (measured on a sample, extrapolated);
- ``overhead.svg`` (overhead.json): a no-change task's time as a multiple of an
  ``ansible.builtin.ping`` task, for the collection's module, the minimal official-SDK module and
  the peer collections.

run.py draws them after each run (``make bench``; into docs/charts/); this entry point (``make
charts``) draws them again from results already there. A chart whose results file is missing is
skipped, saying so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from svg_chart import Series, bar_chart, line_chart  # noqa: E402  pylint: disable=wrong-import-position,import-error

DEFAULT_RESULTS = os.path.join(HERE, 'results')
DEFAULT_OUT = os.path.join(HERE, '..', '..', 'docs', 'charts')


def _load(results, name):
    path = os.path.join(results, '%s.json' % name)
    if not os.path.exists(path):
        return None
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


def _measured(payload):
    """When, where and how the figures were measured (shown under the chart's title)."""
    machine = payload.get('machine_before') or {}
    when = (machine.get('time') or '?')[:16].replace('T', ' ')
    return 'measured %s on %s CPUs at load %s with %s%s' % (
        when, machine.get('cpus') or '?', (machine.get('loadavg') or ['?'])[0], payload.get('command', 'run.py'),
        ' (quick: small N)' if payload.get('quick') else '')


def latency_floor(minimum_calls, concurrency, latency_ms):
    """Seconds the minimum calls take at ``latency_ms`` each, ``concurrency`` in flight: the role
    reads and the writes in rounds, GetRole alone."""
    rounds = sum(math.ceil(count / float(concurrency)) for action, count in minimum_calls.items() if action != 'GetRole')
    rounds += minimum_calls.get('GetRole', 0)
    return rounds * latency_ms / 1000.0


def fleet_charts(payload):
    """``{file name: svg}`` of the fleet benchmark's results."""
    data = payload['results']
    runs = sorted(data['runs'], key=lambda run: run['instances'])
    naive = data['naive']['extrapolated']
    sizes = [run['instances'] for run in runs]
    description = 'ecs_instance_role_attachment on fleets of %s instances, %d ms per API call.' % (
        ', '.join('{:,}'.format(n) for n in sizes), data['latency_ms'])
    note = _measured(payload)
    calls = line_chart(
        'API calls to attach a role to a fleet', 'instances', 'API calls (log scale)', [
            Series('one by one (2 per instance)', [(n, naive[str(n)]['calls']) for n in sizes]),
            Series('ecs_instance_role_attachment (batched)', [(run['instances'], run['total_calls']) for run in runs]),
            Series('minimum the APIs allow', [(run['instances'], sum(run['minimum_calls'].values())) for run in runs], True),
        ], log_y=True, description=description, note=note)
    time = line_chart(
        'Time to attach a role to a fleet, %d ms per API call' % data['latency_ms'], 'instances', 'task seconds (log scale)', [
            Series('one by one (extrapolated from %d)' % data['naive']['sample'], [(n, naive[str(n)]['seconds']) for n in sizes]),
            Series('batched, first run', [(run['instances'], run['task_seconds']) for run in runs]),
            Series('batched, no-change rerun', [(run['instances'], run['rerun']['task_seconds']) for run in runs if run.get('rerun')]),
            Series('latency of the minimum calls, %d in flight' % runs[0]['concurrency'], [
                (run['instances'], latency_floor(run['minimum_calls'], run['concurrency'], data['latency_ms'])) for run in runs], True),
        ], log_y=True, description=description, note=note)
    return {'fleet-calls.svg': calls, 'fleet-time.svg': time}


def overhead_chart(payload):
    """``{file name: svg}`` of the overhead benchmark's results."""
    task = payload['results']['task']
    # ping first, the peers last, the collection's tasks in between
    order = sorted(task['kinds'], key=lambda label: (label != 'ansible.builtin.ping', '(peer)' in label, label))
    bars = [(label, task['kinds'][label]['ratio_to_ping']) for label in order]
    description = 'Median over %d rounds of each task\'s time divided by the same round\'s ping.' % task['iterations']
    return {'overhead.svg': bar_chart('Per-task overhead of a no-change task, against ansible.builtin.ping',
                                      'task time / ping task time (median)', bars, reference=1.0, description=description,
                                      note=_measured(payload))}


CHARTS = (('fleet', fleet_charts), ('overhead', overhead_chart))


def draw(results=DEFAULT_RESULTS, out=DEFAULT_OUT, log=print):
    """Write every chart whose results exist; return the paths written."""
    written = []
    for name, build in CHARTS:
        payload = _load(results, name)
        if payload is None:
            log('[charts] no %s.json in %s: its charts are skipped' % (name, results))
            continue
        os.makedirs(out, exist_ok=True)
        for filename, svg in build(payload).items():
            path = os.path.join(out, filename)
            with open(path, 'w', encoding='utf-8') as handle:
                handle.write(svg)
            written.append(path)
            log('[charts] %s' % os.path.relpath(path))
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--results', default=DEFAULT_RESULTS, help='directory of the JSON results (default: %(default)s)')
    parser.add_argument('--out', default=DEFAULT_OUT, help='directory for the SVG files (default: docs/charts)')
    args = parser.parse_args(argv)
    return 0 if draw(args.results, os.path.normpath(args.out)) else 1


if __name__ == '__main__':
    sys.exit(main())
