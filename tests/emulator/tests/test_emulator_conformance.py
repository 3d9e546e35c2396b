"""conformance.py: a recording replayed against the emulator, differences of status, code and shape found."""

import copy
import json
import os
import subprocess
import sys

import pytest

from tests.emulator import conformance, shapes
from tests.emulator.process import REPO_ROOT

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'recording_documented.jsonl')


@pytest.fixture
def recording():
    return conformance.load(FIXTURE)


def line_of(calls, action, status=None):
    return next(c for c in calls if c['action'] == action and (status is None or c['status'] == status))


def replay(emulator, calls):
    return conformance.replay(emulator, calls)


def test_command_line_on_the_unchanged_fixture_reports_zero_differences():
    done = subprocess.run([sys.executable, 'tests/emulator/conformance.py', FIXTURE], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert (done.returncode, done.stdout) == (0, '0 differences\n'), done.stderr


def test_command_line_against_a_running_emulator_finds_a_planted_difference(emulator, recording, tmp_path):
    planted = copy.deepcopy(recording)
    line_of(planted, 'GetRole', 404)['status'] = 403
    path = tmp_path / 'planted.jsonl'
    path.write_text(''.join(json.dumps(dict((k, v) for k, v in c.items() if k != 'line')) + '\n' for c in planted))
    done = subprocess.run([sys.executable, 'tests/emulator/conformance.py', str(path), '--url', emulator.url], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == ['line 12 ram GetRole: status 403 in the recording, 404 from the emulator (EntityNotExist.Role)',
                                        '1 differences']


def test_unchanged_recording_replays_without_differences_on_a_seeded_emulator(emulator, recording):
    assert replay(emulator, recording) == []
    instances = emulator.instances()
    assert len(instances) == 6, 'the two instances the recording shows were seeded next to the four of the start flags'
    assert all(i['RamRoleName'] == '' for i in instances) and emulator.state()['roles'] == []


def test_changed_status_and_code_are_found(emulator, recording):
    planted = copy.deepcopy(recording)
    line_of(planted, 'ModifyInstanceMetadataOptions', 400)['body']['Code'] = 'MissingParameter'
    line_of(planted, 'AttachInstanceRamRole', 404)['status'] = 403
    assert replay(emulator, planted) == [
        'line 7 ecs AttachInstanceRamRole: status 403 in the recording, 404 from the emulator (InvalidInstanceId.NotFound)',
        'line 9 ecs ModifyInstanceMetadataOptions: code MissingParameter in the recording, MissingParameter.HttpEndpoint from the emulator',
    ]


def test_missing_and_extra_keys_and_changed_types_are_found(emulator, recording):
    planted = copy.deepcopy(recording)
    results = line_of(planted, 'AttachInstanceRamRole', 200)['body']['AttachInstanceRamRoleResults']['AttachInstanceRamRoleResult']
    for item in results:
        del item['Success']
    line_of(planted, 'DescribeRegions')['body']['Regions']['Region'][0]['ZoneCount'] = 3
    line_of(planted, 'DescribeInstanceRamRole')['body']['TotalCount'] = '2'
    line_of(planted, 'GetRole', 200)['body']['Role']['MaxSessionDuration'] = None
    assert replay(emulator, planted) == [
        'line 1 ecs DescribeRegions: body.Regions.Region[].ZoneCount: missing from the emulator answer',
        'line 4 ram GetRole: body.Role.MaxSessionDuration: null in the recording, integer from the emulator',
        'line 5 ecs AttachInstanceRamRole: body.AttachInstanceRamRoleResults.AttachInstanceRamRoleResult[].Success: not in the recording',
        'line 6 ecs DescribeInstanceRamRole: body.TotalCount: string in the recording, integer from the emulator',
    ]


def test_empty_bodies_compare_as_such(emulator, recording):
    planted = copy.deepcopy(recording)
    line_of(planted, 'DescribeInstanceRamRole')['body'] = None
    found = replay(emulator, planted)
    assert found == ['line 6 ecs DescribeInstanceRamRole: an empty or non-JSON body in the recording, JSON from the emulator']
    emulator.reset()
    emulator.set_faults(empty_body_actions=['DescribeInstanceRamRole'])
    assert replay(emulator, planted) == [], 'the emulator answering with an empty body matches'


def test_the_switch_the_recording_shows_removes_its_differences(emulator, recording):
    planted = copy.deepcopy(recording)
    for action in ('AttachInstanceRamRole', 'DetachInstanceRamRole'):
        for item in line_of(planted, action, 200)['body']['%sResults' % action]['%sResult' % action]:
            del item['Success']
    assert len(replay(emulator, planted)) == 2
    emulator.reset()
    emulator.set_faults(results_without_success=True)
    assert replay(emulator, planted) == []


def test_recorded_ids_are_mapped_and_unknown_ones_stay_unknown(recording):
    existing = conformance.existing_instances(recording)
    assert sorted(existing) == ['i-bp19h8g7f6e5d4c3b2a1', 'i-bp1a2b3c4d5e6f7g8h9i']
    params = conformance.rewrite({'InstanceIds': '["i-bp1a2b3c4d5e6f7g8h9i", "i-bp1zzzzzzzzzzzzzzzzz"]',
                                  'RoleArn': 'acs:ram::1395894005868720:role/x', 'Tag': [{'Key': 'k'}]},
                                 {'i-bp1a2b3c4d5e6f7g8h9i': 'i-new'}, '1234567890123456')
    assert params == {'InstanceIds': '["i-new", "i-bp1zzzzzzzzzzzzzzzzz"]', 'RoleArn': 'acs:ram::1234567890123456:role/x',
                      'Tag': [{'Key': 'k'}]}
    assert conformance.wire_params('ecs', {'Tag': [{'Key': 'k', 'Value': 'v'}], 'MaxResults': 10, 'DryRun': False}) == {
        'Tag.1.Key': 'k', 'Tag.1.Value': 'v', 'MaxResults': '10', 'DryRun': 'False'}
    assert conformance.wire_params('ram', {'Tag': [{'Key': 'k', 'Value': 'v'}]}) == {'Tag': '[{"Key":"k","Value":"v"}]'}


def test_shapes_merge_array_elements_and_ignore_values():
    recorded = shapes.shape({'A': [{'x': 1}, {'y': None}, {'y': 'set'}], 'B': 'text', 'C': []})
    assert shapes.differences(recorded, shapes.shape({'A': [{'x': 5, 'y': 'now a string'}], 'B': 'other', 'C': [1]})) == []
    assert shapes.differences(recorded, shapes.shape({'A': [{'x': 'one'}], 'B': 7, 'C': []})) == [
        'body.A[].x: integer in the recording, string from the emulator',
        'body.A[].y: missing from the emulator answer',
        'body.B: string in the recording, integer from the emulator',
    ]
    assert shapes.differences(shapes.shape({'y': None}), shapes.shape({'y': ''})) == ['body.y: null in the recording, string from the emulator']
    assert shapes.differences(shapes.shape({'A': {}}), shapes.shape({'A': []})) == ['body.A: object in the recording, array from the emulator']


def test_bad_recordings_are_refused(tmp_path):
    path = tmp_path / 'bad.jsonl'
    path.write_text('{"service": "ram"}\n')
    assert conformance.main([str(path)]) == 2
    path.write_text('not json\n')
    with pytest.raises(ValueError, match='line 1 is not JSON'):
        conformance.load(str(path))


# Recordings the collection itself made (ALIBABA_CLOUD_RECORD) in full runs of two integration targets against the
# emulator in its documented mode; `make targets` checks the recordings of every target the same way.
TARGET_RECORDINGS = [os.path.join(os.path.dirname(FIXTURE), name) for name in (
    'recording_target_ram_role_policy.jsonl', 'recording_target_ecs_instance_role_attachment.jsonl')]


@pytest.mark.parametrize('path', TARGET_RECORDINGS, ids=os.path.basename)
def test_recordings_of_target_runs_hold_no_secret_and_replay_without_differences(path):
    done = subprocess.run([sys.executable, 'tests/tools/check_recordings.py', path], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0 and done.stdout.endswith(': no secret, 0 differences\n'), done.stdout + done.stderr


def test_a_difference_planted_in_a_target_recording_is_found(emulator):
    calls = conformance.load(TARGET_RECORDINGS[1])
    attach = next(c for c in calls if c['action'] == 'AttachInstanceRamRole' and c['status'] == 200)
    attach['body'].pop('FailCount')
    differences = replay(emulator, calls)
    assert len(differences) == 1 and 'FailCount' in differences[0], differences
