# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: CPU time per API call of the collection's client, and where it goes.

``call_cpu.py`` runs in a process of its own with the installed collection (``--source`` builds it
from another tree, e.g. an earlier commit, for a before/after comparison): an ECS client as a
module builds it, DescribeInstanceRamRole with 50 instance ids in the query (a fleet run's page),
100 calls timed with ``time.process_time`` after a warm-up, then 100 under cProfile (the top
functions by own time; profiling inflates every figure, the shares are what count). ROUNDS
processes; the median CPU per call is the figure. The emulator's own CPU is not included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from common import HERE, loadavg_1m, median, table

NAME = 'transport'
CALLS = 100
QUICK_CALLS = 20
ROUNDS = 5
QUICK_ROUNDS = 1
PAGE = 50


def run(bench, quick=False, log=print):
    bench.emu.reset()
    ids = bench.seed(PAGE)
    calls = QUICK_CALLS if quick else CALLS
    env = dict(os.environ, PYTHONPATH=str(bench.collection_path))
    load = loadavg_1m()
    samples = []
    for _round in range(QUICK_ROUNDS if quick else ROUNDS):
        proc = subprocess.run([sys.executable, str(HERE / 'call_cpu.py'), bench.emu.url, bench.emu.access_key_id,
                               bench.emu.access_key_secret, str(calls)] + ids, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError('call_cpu.py failed: %s' % proc.stderr[-2000:])
        samples.append(json.loads(proc.stdout))
    cpu = median([s['cpu_ms_per_call'] for s in samples])
    top = samples[0]['top_own_time']
    log('\n[transport] %d DescribeInstanceRamRole calls (%d ids each) per process, %d processes (load %.2f): '
        'median CPU %.3f ms per call, wall %.3f ms' % (calls, PAGE, len(samples), load, cpu, median([s['wall_ms_per_call'] for s in samples])))
    log(table(('function (profiled run)', 'calls', 'own ms', 'cumulative ms'),
              [(row['function'], row['calls'], row['own_ms'], row['cumulative_ms']) for row in top]))
    return {'calls': calls, 'ids_per_call': PAGE, 'rounds': len(samples), 'loadavg_1m': load, 'cpu_ms_per_call': cpu,
            'cpu_ms_per_call_samples': [s['cpu_ms_per_call'] for s in samples],
            'wall_ms_per_call': median([s['wall_ms_per_call'] for s in samples]),
            'profiled_ms': samples[0]['profiled_ms'], 'top_own_time': top}
