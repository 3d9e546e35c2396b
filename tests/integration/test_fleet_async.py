# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The async / poll example of docs/fleets.md runs as written on a fleet of 300 instances.

The guide's tasks are read from the page (the YAML block that uses async_status) and run
against the emulator, seeded with 300 VPC instances tagged ``tier: web`` and 20 without the
tag, with only the poll interval shortened. In check mode with --diff they predict the change
and show the diff without a write call. Then the fleet task runs in the background (``async``,
``poll: 0``), async_status waits for it, and its result is the module's: every tagged instance
changed, the untagged ones untouched, in the fewest calls. The same tasks run again change
nothing and make no write call, and the job's status file is cleaned up every time.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import yaml
from alibabacloud_ram20150501 import models as ram_models

from tests.emulator.sdkhelpers import ECS_TRUST, clients

GUIDE = Path(__file__).resolve().parents[2] / 'docs' / 'fleets.md'
FLEET, OTHERS = 300, 20
ROLE = 'web-oss-reader'
WAIT = 'Wait for the attachment (checks every 10 seconds, for up to an hour)'
SHOW = 'Show what changed'


def guide_tasks():
    """The tasks of the guide's YAML block that runs a fleet task with async_status."""
    blocks = re.findall(r'^```yaml\n(.*?)^```$', GUIDE.read_text(encoding='utf-8'), re.MULTILINE | re.DOTALL)
    (example,) = [block for block in blocks if 'async_status' in block]
    return yaml.safe_load(example)


def test_the_guide_example_is_an_async_fleet_task():
    tasks = guide_tasks()
    fleet_task, wait = tasks[0], tasks[1]
    assert fleet_task['poll'] == 0 and fleet_task['async'] >= 600
    assert 'alicloud.ram.ecs_instance_role_attachment' in fleet_task
    assert wait['ansible.builtin.async_status']['jid'] == '{{ %s.ansible_job_id }}' % fleet_task['register']
    assert wait['until'] == '%s.finished' % wait['register']
    assert tasks[-1]['ansible.builtin.async_status']['mode'] == 'cleanup'


def _run_guide(runner, async_dir, **options):
    tasks = guide_tasks()
    tasks[1]['delay'] = 1
    return runner.run_tasks(tasks, env={'ANSIBLE_ASYNC_DIR': str(async_dir)}, **options)


def test_async_fleet_task_on_300_instances(runner, emu, tmp_path):
    web = emu.seed_instances(FLEET, tags={'tier': 'web'})
    other = emu.seed_instances(OTHERS)
    ram, _ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name=ROLE, assume_role_policy_document=ECS_TRUST))
    async_dir = tmp_path / 'async'
    emu.clear_calls()

    predicted = _run_guide(runner, async_dir, check=True, diff=True)
    prediction = predicted.module_result(WAIT)
    assert prediction['finished'] == 1 and prediction['changed'] is True, prediction
    assert sorted(prediction['changed_instance_ids']) == sorted(web)
    assert '+    "%s": "%s"' % (web[0], ROLE) in predicted.stdout
    assert emu.write_calls() == []
    assert list(async_dir.iterdir()) == []

    res = _run_guide(runner, async_dir)
    attach = res.module_result(WAIT)
    assert attach['finished'] == 1 and attach['changed'] is True, attach
    assert sorted(attach['changed_instance_ids']) == sorted(web)
    assert attach['failed_instances'] == []
    assert res.module_result(SHOW)['msg'] == '%d instances changed, 0 failed' % FLEET
    holders = dict((i['InstanceId'], i.get('RamRoleName')) for i in emu.instances())
    assert all(holders[i] == ROLE for i in web)
    assert not any(holders[i] for i in other)
    writes = [call['action'] for call in emu.write_calls()]
    assert writes == ['AttachInstanceRamRole'] * math.ceil(FLEET / 100.0), writes
    assert list(async_dir.iterdir()) == [], 'the job status file was not cleaned up'

    emu.clear_calls()
    again = _run_guide(runner, async_dir).module_result(WAIT)
    assert again['finished'] == 1 and again['changed'] is False, again
    assert again['changed_instance_ids'] == []
    assert emu.write_calls() == []
    assert list(async_dir.iterdir()) == []
