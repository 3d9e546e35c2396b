"""Command line: --print-env exports for a newcomer's shell, --daemon, --port-file."""

import os
import shlex
import signal
import subprocess
import sys
import time

from alibabacloud_ecs20140526 import models as e
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.models import Config

from tests.emulator.process import REPO_ROOT, start_emulator


def exports(text):
    """``{name: value}`` of the ``export NAME=VALUE`` lines, read the way a shell would."""
    values = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ['export']:
            name, value = words[1].split('=', 1)
            values[name] = value
    return values


def gone(pid, timeout=10):
    """True once ``pid`` has exited (a zombie not yet reaped by init counts as exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open('/proc/%d/stat' % pid, encoding='ascii') as handle:
                if handle.read().rsplit(')', 1)[1].split()[0] == 'Z':
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_print_env_daemon_and_port_file(tmp_path):
    port_file = tmp_path / 'port'
    done = subprocess.run([sys.executable, '-m', 'tests.emulator', '--port', '0', '--print-env', '--daemon', '--quiet',
                           '--port-file', str(port_file), '--regions', 'cn-beijing', '--access-key-id', 'LTAIKey 1'],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=True)
    env = exports(done.stdout)
    pid = int(env.pop('EMULATOR_PID'))
    try:
        assert done.stdout.startswith('# listening on http://127.0.0.1:')
        url = env['ALIBABA_CLOUD_RAM_ENDPOINT']
        assert env == {'ALIBABA_CLOUD_ACCESS_KEY_ID': 'LTAIKey 1', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 'EmulatorAdminSecretDoNotUse0001',
                       'ALIBABA_CLOUD_REGION_ID': 'cn-beijing', 'ALIBABA_CLOUD_RAM_ENDPOINT': url, 'ALIBABA_CLOUD_ECS_ENDPOINT': url,
                       'ALIBABA_CLOUD_STS_ENDPOINT': url, 'ALIBABA_CLOUD_METADATA_ENDPOINT': url}
        assert port_file.read_text() == url.rsplit(':', 1)[1] + '\n'
        ecs = EcsClient(Config(access_key_id=env['ALIBABA_CLOUD_ACCESS_KEY_ID'], access_key_secret=env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'],
                               endpoint=url.split('://', 1)[1], protocol='http', region_id=env['ALIBABA_CLOUD_REGION_ID']))
        body = ecs.describe_instances(e.DescribeInstancesRequest(region_id=env['ALIBABA_CLOUD_REGION_ID'])).body
        assert body.total_count == 4, 'the daemon serves the emulator started with these flags'
    finally:
        os.kill(pid, signal.SIGTERM)
    assert gone(pid)


def test_print_env_keeps_the_listening_line_for_process_helpers():
    with start_emulator('--print-env') as emu:
        assert emu.control('GET', 'health') == {'ok': True}


def test_behaviour_switches_from_the_command_line():
    flags = ['--strict-metadata-options', '--results-without-success', '--per-instance-unknown-ids', '--per-instance-classic-ids',
             '--empty-body-rate', '0.25', '--empty-body', 'DetachInstanceRamRole=2', '--detach-visibility-delay', '1.5',
             '--detach-visibility-reads', '3', '--throttle-storm-calls', '1', '--throttle-storm-actions', 'DescribeRegions',
             '--qps', 'DescribeInstances=5', '--qps', 'GetRole=0.5', '--http-endpoint-optional']
    with start_emulator(*flags) as emu:
        settings = emu.control('GET', 'faults')
        assert {key: settings[key] for key in ('strict_metadata_options', 'results_without_success', 'unknown_ids', 'classic_ids',
                                               'empty_body_rate', 'empty_body_actions', 'detach_visibility_delay',
                                               'detach_visibility_reads', 'throttle_storm', 'qps', 'http_endpoint_required')} == {
            'strict_metadata_options': True, 'results_without_success': True, 'unknown_ids': 'per_instance',
            'classic_ids': 'per_instance', 'empty_body_rate': 0.25, 'empty_body_actions': ['DetachInstanceRamRole'] * 2,
            'detach_visibility_delay': 1.5, 'detach_visibility_reads': 3, 'throttle_storm': {'calls': 1, 'actions': ['DescribeRegions']},
            'qps': {'DescribeInstances': 5.0, 'GetRole': 0.5}, 'http_endpoint_required': False}
        ecs = EcsClient(Config(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret, endpoint=emu.endpoint,
                               protocol='http', region_id='cn-hangzhou'))
        try:
            ecs.describe_regions(e.DescribeRegionsRequest())
        except Exception as exc:  # pylint: disable=broad-except
            assert getattr(exc, 'code', None) == 'Throttling.User'
        else:
            raise AssertionError('the storm of one call did not throttle the first DescribeRegions')
        assert ecs.describe_regions(e.DescribeRegionsRequest()).body.regions.region[0].region_id == 'cn-hangzhou'
        emu.set_faults(throttle_storm=None, qps={})
        emu.reset()
        assert emu.control('GET', 'faults')['throttle_storm'] == {'calls': 1, 'actions': ['DescribeRegions']}, 'reset starts it again'


def test_bad_behaviour_flags_are_refused():
    for flags in (['--qps', 'GetRole'], ['--qps', 'GetRole=0'], ['--empty-body', 'X=two'], ['--throttle-storm', '2', '--throttle-storm-calls', '1']):
        done = subprocess.run([sys.executable, '-m', 'tests.emulator', '--port', '0'] + flags, cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=30, check=False)
        assert done.returncode == 2 and 'error:' in done.stderr, flags
