# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The integration-test harness itself: build/install, playbook runs, result recording, emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import ansible_command, parse_recap

REPO_ROOT = Path(__file__).resolve().parents[2]


def _galaxy_meta():
    meta = {}
    for line in (REPO_ROOT / 'galaxy.yml').read_text().splitlines():
        if line and not line.startswith((' ', '-', '#')) and ':' in line:
            key, value = line.split(':', 1)
            meta[key.strip()] = value.strip().strip('\'"')
    return meta


def test_collection_tarball_installs_and_ansible_doc_lists_it(collection_path):
    installed = collection_path / 'ansible_collections' / 'alicloud' / 'ram'
    manifest = json.loads((installed / 'MANIFEST.json').read_text())
    meta = _galaxy_meta()
    assert manifest['collection_info']['namespace'] == 'alicloud'
    assert manifest['collection_info']['name'] == 'ram'
    assert manifest['collection_info']['version'] == meta['version']
    assert (installed / 'meta' / 'runtime.yml').is_file()
    assert not (installed / '.venv').exists(), 'build_ignore must keep the virtualenv out of the tarball'

    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection_path), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([ansible_command('ansible-doc'), '-l', 'alicloud.ram', '--json'], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = set(json.loads(proc.stdout or '{}'))
    expected = {'alicloud.ram.%s' % path.stem for path in (REPO_ROOT / 'plugins' / 'modules').glob('*.py')
                if not path.name.startswith('_')}
    assert expected <= listed, 'modules missing from ansible-doc -l: %s' % sorted(expected - listed)


def test_debug_and_assert_results_are_recorded(runner, emu):
    res = runner.run_tasks([
        {'name': 'say hello', 'ansible.builtin.debug': {'msg': 'hello {{ who }}'}},
        {'name': 'check vars and environment', 'ansible.builtin.assert': {
            'that': [
                'who == "world"',
                'answer | int == 42',
                'lookup("ansible.builtin.env", "ALIBABA_CLOUD_RAM_ENDPOINT") == emulator_url',
                'lookup("ansible.builtin.env", "ALIBABA_CLOUD_ACCESS_KEY_ID") == emulator_key',
                'lookup("ansible.builtin.env", "ALIBABA_CLOUD_REGION_ID") == "cn-hangzhou"',
                'ansible_playbook_python is ansible.builtin.match(test_prefix ~ "/")',
                'not ansible_check_mode',
            ],
            'quiet': True,
        }},
        {'name': 'report a change', 'ansible.builtin.debug': {'msg': 'changed'}, 'changed_when': True},
        {'name': 'never runs', 'ansible.builtin.debug': {'msg': 'skipped'}, 'when': False},
    ], vars={'who': 'world', 'emulator_url': emu.url, 'emulator_key': emu.access_key_id,
             'test_prefix': sys.prefix},
        extra_vars={'answer': 42})

    assert res.rc == 0, res
    assert [r['task'] for r in res.results] == ['say hello', 'check vars and environment', 'report a change', 'never runs']
    assert [r['status'] for r in res.results] == ['ok', 'ok', 'changed', 'skipped']
    hello = res.by_name('say hello')
    assert hello['action'] == 'ansible.builtin.debug'
    assert hello['host'] == 'localhost'
    assert hello['result']['msg'] == 'hello world'
    assert res.result(1)['result'].get('failed') is not True
    assert res.result(-1)['result']['skip_reason'] == 'Conditional result was False'
    assert res.changed is True
    assert res.failed is False
    assert res.recap['ok'] == 3 and res.recap['changed'] == 1 and res.recap['skipped'] == 1
    assert res.recap['failed'] == 0
    assert 'localhost' in res.recap_by_host


def test_check_mode_and_env_overrides(runner):
    res = runner.run_tasks([
        {'name': 'inspect', 'ansible.builtin.debug': {'msg': {
            'check_mode': '{{ ansible_check_mode }}',
            'diff_mode': '{{ ansible_diff_mode }}',
            'region': '{{ lookup("ansible.builtin.env", "ALIBABA_CLOUD_REGION_ID") }}',
            'secret_set': '{{ lookup("ansible.builtin.env", "ALIBABA_CLOUD_ACCESS_KEY_SECRET") | length > 0 }}',
        }}},
    ], check=True, diff=True, env={'ALIBABA_CLOUD_REGION_ID': 'cn-beijing', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': None},
        module_defaults=False)
    msg = res.result(0)['result']['msg']
    assert msg == {'check_mode': True, 'diff_mode': True, 'region': 'cn-beijing', 'secret_set': False}, res


def test_failing_task_is_reported(runner):
    res = runner.run_tasks([
        {'name': 'before', 'ansible.builtin.debug': {'msg': 'ok'}},
        {'name': 'boom', 'ansible.builtin.fail': {'msg': 'deliberate failure'}},
        {'name': 'after', 'ansible.builtin.debug': {'msg': 'not reached'}},
    ], expect_failure=True)
    assert res.rc != 0
    assert res.failed is True
    assert [r['task'] for r in res.results] == ['before', 'boom']
    boom = res.by_name('boom')
    assert boom['status'] == 'failed'
    assert boom['result']['msg'] == 'deliberate failure'
    assert res.recap['failed'] == 1
    assert 'deliberate failure' in res.stdout

    with pytest.raises(AssertionError, match='deliberate failure'):
        runner.run_tasks([{'name': 'boom', 'ansible.builtin.fail': {'msg': 'deliberate failure'}}])
    with pytest.raises(AssertionError, match='expected to fail'):
        runner.run_tasks([{'ansible.builtin.debug': {'msg': 'fine'}}], expect_failure=True)


def test_ignored_failure_does_not_fail_the_run(runner):
    res = runner.run_tasks([
        {'name': 'tolerated', 'ansible.builtin.fail': {'msg': 'tolerated'}, 'ignore_errors': True},
    ])
    assert res.rc == 0
    assert res.result(0)['status'] == 'failed' and res.result(0)['ignored'] is True
    assert res.failed is False
    assert res.recap['ignored'] == 1


def test_run_playbook_file(runner, tmp_path):
    playbook = tmp_path / 'site.yml'
    playbook.write_text(
        '- hosts: localhost\n'
        '  gather_facts: false\n'
        '  tasks:\n'
        '    - name: from a file\n'
        '      ansible.builtin.debug:\n'
        '        msg: "{{ greeting }}"\n'
    )
    res = runner.run_playbook(playbook, extra_vars={'greeting': 'hi'})
    assert res.by_name('from a file')['result']['msg'] == 'hi'
    assert res.recap == {'ok': 1, 'changed': 0, 'unreachable': 0, 'failed': 0, 'skipped': 0, 'rescued': 0, 'ignored': 0}


def test_emulator_answers_and_resets(emu):
    assert emu.control('GET', 'health') == {'ok': True}
    assert emu.url == 'http://127.0.0.1:%d' % emu.port
    emu.create_user('harness-user')
    assert 'harness-user' in json.dumps(emu.state())
    emu.reset()
    assert 'harness-user' not in json.dumps(emu.state())
    assert emu.write_calls() == []


def test_parse_recap():
    stdout = (
        'PLAY RECAP *********************************************************************\n'
        'localhost                  : ok=2    changed=1    unreachable=0    failed=0    '
        'skipped=0    rescued=0    ignored=0   \n'
    )
    assert parse_recap(stdout) == {'localhost': {'ok': 2, 'changed': 1, 'unreachable': 0, 'failed': 0,
                                                 'skipped': 0, 'rescued': 0, 'ignored': 0}}
