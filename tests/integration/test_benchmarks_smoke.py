# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke run of tests/benchmarks with small N, asserting the call-count targets.

Keeps the benchmark code working between `make bench` runs; no timing is asserted. One test per
benchmark so that pytest-xdist can spread them over its workers.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from alibabacloud_ram20150501 import models as ram_models

from tests.emulator.sdkhelpers import ECS_TRUST, clients

BENCH_DIR = Path(__file__).resolve().parent.parent / 'benchmarks'
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import bench_calls  # noqa: E402  pylint: disable=wrong-import-position,import-error
import bench_fleet  # noqa: E402  pylint: disable=wrong-import-position,import-error
import bench_lookup  # noqa: E402  pylint: disable=wrong-import-position,import-error
import bench_overhead  # noqa: E402  pylint: disable=wrong-import-position,import-error
from common import Bench  # noqa: E402  pylint: disable=wrong-import-position,import-error


@pytest.fixture
def bench(collection_path, emu, tmp_path):
    with Bench(workdir=tmp_path, collection_path=collection_path, emulator=emu) as session:
        yield session


def test_calls_of_the_example_role_meet_the_targets(bench):
    data = bench_calls.run(bench, quick=True, log=lambda *a: None)
    n = bench_calls.QUICK_SIZES[0]
    first, again = data['sizes'][0]['runs']['first'], data['sizes'][0]['runs']['no-change']
    assert first['changed'] and not again['changed']
    assert first['counts']['AttachInstanceRamRole'] == math.ceil(n / 100.0)
    assert again['write_calls'] == 0
    assert again['counts']['DescribeInstanceRamRole'] == math.ceil(n / 50.0)
    # no-change: exactly the minimum; first run: at most the minimum plus the confirming reads
    assert again['counts'] == dict((a, c) for a, c in again['minimum'].items() if c), again
    assert first['target_met'], first
    assert data['target_met']


def test_fleet_attach_uses_the_fewest_calls_without_throttling(bench):
    data = bench_fleet.run(bench, quick=True, log=lambda *a: None)
    (figures,) = data['runs']
    n = bench_fleet.QUICK_SIZES[0]
    assert figures['counts'] == fleet_minimum(n), figures
    assert data['no_throttling'] and data['all_attached'], data
    naive = data['naive']
    assert naive['counts'] == {'DescribeInstanceRamRole': naive['sample'], 'AttachInstanceRamRole': naive['sample']}


def fleet_minimum(n):
    """The calls that attach a role to ``n`` instances holding none: role pages of 50, one GetRole, attach batches of 100."""
    return {'DescribeInstanceRamRole': math.ceil(n / 50.0), 'GetRole': 1, 'AttachInstanceRamRole': math.ceil(n / 100.0)}


def test_fleet_attach_and_rerun_make_the_fewest_calls(runner, emu):
    n = 250
    ids = emu.seed_instances(n)
    ram, _ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name='smoke-fleet-role', assume_role_policy_document=ECS_TRUST))
    task = {'name': 'fleet', 'alicloud.ram.ecs_instance_role_attachment': {'role_name': 'smoke-fleet-role', 'instance_ids': ids}}
    emu.clear_calls()
    first = runner.run_tasks([task]).module_result('fleet')
    assert first['changed'] is True and len(first['changed_instance_ids']) == n
    # 250 instances: 5 + 1 + 3 = 9 calls, within the bound ceil(N/50) + ceil(N/100) + 6 for any fleet
    assert emu.call_counts() == fleet_minimum(n)
    assert sum(emu.call_counts().values()) <= math.ceil(n / 50.0) + math.ceil(n / 100.0) + 6
    emu.clear_calls()
    again = runner.run_tasks([task]).module_result('fleet')
    assert again['changed'] is False and emu.call_counts() == {'DescribeInstanceRamRole': math.ceil(n / 50.0)}


def test_lookups_fetch_credentials_once(bench):
    data = bench_lookup.run(bench, quick=True, log=lambda *a: None)
    for pattern in data['patterns'].values():
        assert pattern['credential_fetches'] == 1, data
        assert pattern['check'] == 'ok'
    assert data['target_met']


def test_overhead_benchmark_runs_and_modules_import_no_sdk(bench):
    figures = bench_overhead.task_overhead(bench, 1, log=lambda *a: None)
    assert figures['changed_tasks_after_create'] == []
    assert figures['role_median_seconds'] > 0 and figures['ping_median_seconds'] > 0
    report = bench_overhead.startup(bench.collection_path, log=lambda *a: None, repeat=1)
    assert report['modules'] and all(m['sdk_packages_imported'] == [] for m in report['modules'].values()), report
    assert report['ram_instance_role_with_sdk']['top_cumulative']
