# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The metadata_credentials lookup with its DEFAULT endpoint, http://100.100.100.200.

The test creates a network namespace of its own whose loopback holds 100.100.100.200, runs the
emulator there on port 80 and runs ansible-playbook inside the same namespace. Nothing leaves the
namespace; it is deleted at the end together with every process started in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

from harness import PlaybookRunner, ansible_command, read_results

METADATA_ADDRESS = '100.100.100.200'
ROLE = 'NetnsLookupRole'
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = [
    pytest.mark.skipif(not hasattr(os, 'geteuid') or os.geteuid() != 0, reason='network namespaces need root'),
    pytest.mark.skipif(shutil.which('ip') is None, reason="the 'ip' command (iproute2) is not installed"),
]


def _ip(*args):
    return subprocess.run(['ip'] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)


@pytest.fixture
def namespace():
    name = 'alicloud-ram-md-%s' % uuid.uuid4().hex[:8]
    created = _ip('netns', 'add', name)
    if created.returncode != 0:
        pytest.skip('cannot create a network namespace: %s' % created.stdout.strip())
    try:
        for args in (('link', 'set', 'lo', 'up'), ('addr', 'add', METADATA_ADDRESS + '/32', 'dev', 'lo')):
            done = _ip('netns', 'exec', name, 'ip', *args)
            assert done.returncode == 0, done.stdout
        yield name
    finally:
        _ip('netns', 'delete', name)


@pytest.fixture
def emulator_in_namespace(namespace):
    """An emulator listening on 100.100.100.200:80 inside the namespace (stopped at the end)."""
    command = ['ip', 'netns', 'exec', namespace, sys.executable, '-m', 'tests.emulator',
               '--host', METADATA_ADDRESS, '--port', '80', '--quiet']
    # `ip netns exec` execs the command, so this pid is the emulator's own
    proc = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith('listening on '):
            pytest.fail('emulator did not start in the namespace: %r' % (line + (proc.stdout.read() if proc.poll() is not None else '')))
        yield namespace
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        proc.stdout.close()


def _prepare_role(namespace, hardened_only):
    """Create the role through the RAM API and attach it to the metadata instance, from inside the namespace."""
    script = textwrap.dedent('''
        import json, types, urllib.request
        from alibabacloud_ram20150501 import models
        from tests.emulator.process import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
        from tests.emulator.sdkhelpers import ECS_TRUST, clients
        emu = types.SimpleNamespace(endpoint='%s:80', access_key_id=DEFAULT_ACCESS_KEY_ID,
                                    access_key_secret=DEFAULT_ACCESS_KEY_SECRET)
        ram, _ecs, _sts = clients(emu)
        ram.create_role(models.CreateRoleRequest(role_name=%r, assume_role_policy_document=ECS_TRUST))
        body = json.dumps({'role_name': %r, 'hardened_only': %r}).encode()
        request = urllib.request.Request('http://' + emu.endpoint + '/_emulator/metadata', data=body, method='POST',
                                         headers={'Content-Type': 'application/json'})
        urllib.request.urlopen(request, timeout=10).read()
    ''') % (METADATA_ADDRESS, ROLE, ROLE, hardened_only)
    done = subprocess.run(['ip', 'netns', 'exec', namespace, sys.executable, '-c', script], cwd=REPO_ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stdout


def test_lookup_with_the_default_endpoint(emulator_in_namespace, collection_path, tmp_path):
    namespace = emulator_in_namespace
    _prepare_role(namespace, hardened_only=True)

    runner = PlaybookRunner(collection_path, None, workdir=tmp_path / 'runs')
    results_file = tmp_path / 'results.jsonl'
    env = runner.environment(results_file, env={'ALIBABA_CLOUD_METADATA_ENDPOINT': None})
    play = [{
        'hosts': 'localhost', 'gather_facts': False, 'connection': 'local',
        'tasks': [
            {'name': 'by name', 'ansible.builtin.set_fact': {
                'by_name': "{{ lookup('alicloud.ram.metadata_credentials', '%s') }}" % ROLE}},
            {'name': 'discovered, hardened', 'ansible.builtin.set_fact': {
                'discovered': "{{ lookup('alicloud.ram.metadata_credentials', imds_mode='hardened') }}"}},
            {'name': 'plain is refused', 'ansible.builtin.set_fact': {
                'plain': "{{ lookup('alicloud.ram.metadata_credentials', imds_mode='plain') }}"}, 'ignore_errors': True},
            {'name': 'check', 'ansible.builtin.assert': {'that': [
                "by_name.access_key_id is ansible.builtin.match('STS[.]')",
                'by_name == discovered',
                'plain is not defined',
            ]}},
        ],
    }]
    playbook = tmp_path / 'playbook.yml'
    playbook.write_text(json.dumps(play))
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    proc = subprocess.run(['ip', 'netns', 'exec', namespace, ansible_command('ansible-playbook'), '-i', str(inventory), str(playbook)],
                          cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False,
                          timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    results = {item['task']: item for item in read_results(results_file)}
    assert results['check']['status'] == 'ok', output
    refused = results['plain is refused']
    assert refused['status'] == 'failed' and 'HTTP 403' in refused['result']['msg'], refused
    assert 'http://100.100.100.200' not in env.get('ALIBABA_CLOUD_METADATA_ENDPOINT', '')
