# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make cloud-test (tests/tools/cloud_test.sh) as far as it goes without an account: the guard refuses a
config that does not acknowledge the changes, and the targets pass through the cloud-config path against
the emulator (its endpoints and key written into a config, the way a real account's would be)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CLOUD_TEST = REPO_ROOT / 'tests' / 'tools' / 'cloud_test.sh'
TEMPLATE = REPO_ROOT / 'tests' / 'integration' / 'cloud-config-alicloud.ini.template'
# Through the config path: a user's grant (ram_user), an instance of instance_ids and the metadata service
# (on_ecs_instance), and the modules' credentials, region and endpoints.
TARGETS = ('ram_user_role_grant', 'lookup_metadata_credentials')
USER = 'cloud-config-deployer'


def write_config(path, emu, acknowledged):
    values = {
        'i_understand_this_changes_my_account': 'true' if acknowledged else 'false',
        'access_key_id': emu.access_key_id,
        'access_key_secret': emu.access_key_secret,
        'region': 'cn-hangzhou',
        'instance_ids': ', '.join(i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc'),
        'ram_user': USER,
        'on_ecs_instance': 'true',
        'ram_endpoint': emu.url,
        'ecs_endpoint': emu.url,
        'sts_endpoint': emu.url,
        'metadata_endpoint': emu.url,
    }
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = re.sub(r'(?m)^%s =.*$' % key, '%s = %s' % (key, value), text)
    path.write_text(text)
    return path


def cloud_test(tmp_path, *args):
    env = {key: value for key, value in os.environ.items() if not key.startswith(('ALIBABA_CLOUD_', 'ALICLOUD', 'ANSIBLE_'))}
    env['ALICLOUD_RAM_WORKDIR'] = str(tmp_path / 'work')  # a collection tree of its own
    return subprocess.run(['bash', str(CLOUD_TEST)] + list(args), cwd=str(REPO_ROOT), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=1200, check=False)


def test_the_guard_refuses_a_config_without_the_acknowledgement_and_touches_nothing(emu, tmp_path):
    config = write_config(tmp_path / 'cloud-config-alicloud.ini', emu, acknowledged=False)
    emu.clear_calls()

    run = cloud_test(tmp_path, '--config', str(config))

    assert run.returncode != 0, run.stdout
    assert 'i_understand_this_changes_my_account is not true' in run.stdout
    assert 'refusing to run against the account of %s' % config in run.stdout
    assert 'nothing was changed' in run.stdout
    assert emu.access_key_secret not in run.stdout
    assert 'Running ' not in run.stdout and not (tmp_path / 'work').exists()
    assert emu.calls() == []


def test_a_config_named_but_missing_is_an_error_not_the_emulator(tmp_path):
    run = cloud_test(tmp_path, '--config', str(tmp_path / 'absent.ini'))

    assert run.returncode != 0
    assert 'no cloud config at %s' % (tmp_path / 'absent.ini') in run.stdout
    assert 'emulator' not in run.stdout


def test_the_targets_pass_through_the_cloud_config_path(emu, tmp_path):
    emu.create_user(USER)
    config = write_config(tmp_path / 'cloud-config-alicloud.ini', emu, acknowledged=True)
    emu.clear_calls()

    run = cloud_test(tmp_path, '--config', str(config), *TARGETS)

    assert run.returncode == 0, run.stdout[-20000:]
    assert 'backend: the Alibaba Cloud account of %s' % config in run.stdout
    assert 'RAM user granted and revoked: %s' % USER in run.stdout
    for target in TARGETS:
        assert 'Running %s integration test role' % target in run.stdout
    assert 'SKIPPED' not in run.stdout
    assert emu.access_key_secret not in run.stdout
    calls = emu.calls()
    assert {c['access_key_id'] for c in calls if c['service'] != 'metadata'} == {emu.access_key_id}
    assert [c for c in calls if c['write'] and c['params'].get('UserName') == USER]
    assert {c['action'] for c in calls if c['service'] == 'metadata'} >= {'PutToken', 'GetRoleCredentials'}
    state = emu.state()
    assert state['roles'] == [] and state['policies'] == []
    assert all(not i['RamRoleName'] for i in emu.instances())
