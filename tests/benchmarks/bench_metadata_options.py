# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: hardened metadata mode on a fleet with 50 ms of injected latency per API call.

ecs_instance_metadata_options (``http_tokens: required``, default concurrency: up to 16) on 1,000 and
10,000 instances of which a tenth is hardened already: calls per action against the minimum
(ceil(N/100) DescribeInstances + one ModifyInstanceMetadataOptions per instance that differs),
wall time of the task, and a no-change rerun (reads only). Every run checks that no call was
throttled or failed and that every instance ends up hardened.

    .venv/bin/python tests/benchmarks/bench_metadata_options.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from common import (  # noqa: E402  pylint: disable=wrong-import-position,import-error
    DESCRIBE_INSTANCES_LIMIT, REGION, Bench, loadavg_1m, machine_info, pages, table, task_seconds, write_result,
)

NAME = 'metadata_options'
MODULE = 'alicloud.ram.ecs_instance_metadata_options'
LATENCY_MS = 50
CONCURRENCY = 16         # the module's default maximum (the pool starts at 4 and grows to it)
SIZES = (1000, 10000)
QUICK_SIZES = (250,)
ALREADY_HARDENED = 0.1   # share of the fleet hardened before the measured run
DEFAULT_OUT = os.path.join(HERE, 'results')


def _harden_directly(bench, ids):
    """Harden ``ids`` through the SDK, before latency is injected (the part of the fleet already done)."""
    from alibabacloud_ecs20140526 import models as ecs_models  # pylint: disable=import-outside-toplevel
    from tests.emulator.sdkhelpers import clients  # pylint: disable=import-outside-toplevel

    _ram, ecs, _sts = clients(bench.emu)
    for iid in ids:
        ecs.modify_instance_metadata_options(ecs_models.ModifyInstanceMetadataOptionsRequest(
            region_id=REGION, instance_id=iid, http_endpoint='enabled', http_tokens='required'))


def _hardened_count(bench):
    return sum(1 for i in bench.emu.instances(REGION) if (i.get('MetadataOptions') or {}).get('HttpTokens') == 'required')


def _measure(bench, label, ids, log):
    bench.emu.clear_calls()
    load = loadavg_1m()
    result, wall, timings = bench.run_tasks([{'name': 'harden', MODULE: {'instance_ids': '{{ bench_ids }}', 'http_tokens': 'required'}}],
                                            extra_vars={'bench_ids': ids})
    calls = bench.emu.calls()
    counts = bench.counts()
    out = result.module_result('harden')
    figures = {
        'task_seconds': round(task_seconds(timings, 'harden'), 2),
        'playbook_seconds': round(wall, 2),
        'counts': counts,
        'total_calls': sum(counts.values()),
        'changed_instances': len(out.get('changed_instance_ids') or []),
        'throttled': sum(1 for c in calls if 'Throttling' in str(c.get('code') or '')),
        'errors': sum(1 for c in calls if c.get('code')),
        'loadavg_1m': load,
    }
    log('[%s] N=%d %s: task %.2f s, playbook %.2f s, %d calls %s, throttled=%d errors=%d, load %.2f' % (
        NAME, len(ids), label, figures['task_seconds'], wall, figures['total_calls'], json.dumps(counts, sort_keys=True),
        figures['throttled'], figures['errors'], load))
    return figures


def fleet_run(bench, n, log=print):
    """Harden ``n`` instances (a tenth already hardened), then rerun without change; figures of both runs."""
    bench.emu.reset()
    ids = bench.seed(n)
    done_before = ids[:int(n * ALREADY_HARDENED)]
    _harden_directly(bench, done_before)
    bench.emu.set_faults(latency_ms=LATENCY_MS)
    try:
        first = _measure(bench, 'first run', ids, log)
        rerun = _measure(bench, 'no-change rerun', ids, log)
    finally:
        bench.emu.set_faults(latency_ms=0)
    reads = pages(n, DESCRIBE_INSTANCES_LIMIT)
    differing = n - len(done_before)
    first['minimum_calls'] = {'DescribeInstances': reads, 'ModifyInstanceMetadataOptions': differing}
    rerun['minimum_calls'] = {'DescribeInstances': reads}
    # what the calls cost at this latency with CONCURRENCY of them in flight, nothing else counted
    first['latency_bound_seconds'] = round((pages(reads, CONCURRENCY) + pages(differing, CONCURRENCY)) * LATENCY_MS / 1000.0, 2)
    rerun['latency_bound_seconds'] = round(pages(reads, CONCURRENCY) * LATENCY_MS / 1000.0, 2)
    return {'instances': n, 'already_hardened': len(done_before), 'first': first, 'rerun': rerun,
            'hardened_after': _hardened_count(bench)}


def run(bench, quick=False, log=print):
    runs = [fleet_run(bench, n, log=log) for n in (QUICK_SIZES if quick else SIZES)]
    rows = []
    for entry in runs:
        for label in ('first', 'rerun'):
            f = entry[label]
            rows.append((entry['instances'], label, f['counts'].get('DescribeInstances', 0),
                         f['counts'].get('ModifyInstanceMetadataOptions', 0), f['total_calls'],
                         sum(f['minimum_calls'].values()), f['task_seconds'], f['latency_bound_seconds'], f['playbook_seconds'],
                         f['throttled']))
    log('\n[%s] %d ms per call, concurrency %d, %d%% of each fleet hardened before the first run' % (
        NAME, LATENCY_MS, CONCURRENCY, int(ALREADY_HARDENED * 100)))
    log(table(('instances', 'run', 'DescribeInstances', 'Modify...', 'calls', 'minimum', 'task s', 'latency bound s',
               'playbook s', 'throttled'), rows))
    every = [e[label] for e in runs for label in ('first', 'rerun')]
    return {
        'latency_ms': LATENCY_MS,
        'concurrency': CONCURRENCY,
        'runs': runs,
        'calls_at_minimum': all(f['counts'] == f['minimum_calls'] for f in every),
        'no_throttling': all(f['throttled'] == 0 and f['errors'] == 0 for f in every),
        'all_hardened': all(e['hardened_after'] == e['instances'] for e in runs),
        'rerun_changes_nothing': all(e['rerun']['changed_instances'] == 0 for e in runs),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='small N')
    parser.add_argument('--out', default=DEFAULT_OUT, help='directory for the JSON result (default: %(default)s)')
    args = parser.parse_args(argv)
    with Bench() as bench:
        before = machine_info()
        data = run(bench, quick=args.quick)
        payload = {'benchmark': NAME, 'quick': args.quick, 'machine_before': before, 'machine_after': machine_info(), 'results': data}
    path = write_result(args.out, NAME, payload)
    checks = ('calls_at_minimum', 'no_throttling', 'all_hardened', 'rerun_changes_nothing')
    for check in checks:
        print('%s %s' % ('PASS' if data[check] else 'MISS', check))
    print('written to %s' % path)
    return 0 if all(data[check] for check in checks) else 1


if __name__ == '__main__':
    sys.exit(main())
