# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CPU time per API call of the collection's client, run as its own process by bench_transport.py.

    PYTHONPATH=<collections path> python call_cpu.py URL KEY_ID KEY_SECRET CALLS INSTANCE_ID...

Builds an ECS ``ServiceClient`` the way a module does and calls DescribeInstanceRamRole with the
given instance ids (a fleet run's page: 50 ids in the query string): 10 calls to warm up, then
CALLS calls timed with ``time.process_time`` (this process's CPU, the emulator's not included),
then CALLS more under cProfile. Prints one JSON object: CPU ms per call, wall ms per call, and the
top functions by their own time.
"""

import cProfile
import json
import pstats
import sys
import time

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials

WARM_UP = 10
TOP = 12
REGION = 'cn-hangzhou'


def _calls(client, ids, count):
    for _index in range(count):
        client.call('DescribeInstanceRamRole', {'RegionId': REGION, 'InstanceIds': ids, 'PageSize': len(json.loads(ids))})


def _top(profile, count):
    stats = pstats.Stats(profile)
    rows = []
    for (path, line, name), (_calls_primitive, calls, own, cumulative, _callers) in stats.stats.items():
        rows.append({'function': '%s:%d(%s)' % (path.rsplit('site-packages/', 1)[-1], line, name), 'calls': calls,
                     'own_ms': round(own * 1000.0, 1), 'cumulative_ms': round(cumulative * 1000.0, 1)})
    rows.sort(key=lambda row: -row['own_ms'])
    return rows[:count], round(sum(row[1][2] for row in stats.stats.items()) * 1000.0, 1)


def main(argv):
    url, key_id, secret, count = argv[1], argv[2], argv[3], int(argv[4])
    ids = json.dumps(argv[5:])
    client = client_utils.service_client_for('ecs', Credentials(key_id, secret), {'ecs_endpoint': url, 'region': REGION, 'retries': 0})
    _calls(client, ids, WARM_UP)
    cpu, wall = time.process_time(), time.monotonic()
    _calls(client, ids, count)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    profile = cProfile.Profile()
    profile.enable()
    _calls(client, ids, count)
    profile.disable()
    top, profiled_ms = _top(profile, TOP)
    print(json.dumps({'calls': count, 'cpu_ms_per_call': round(cpu * 1000.0 / count, 3),
                      'wall_ms_per_call': round(wall * 1000.0 / count, 3), 'profiled_ms': profiled_ms, 'top_own_time': top}))


if __name__ == '__main__':
    main(sys.argv)
