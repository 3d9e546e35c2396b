# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cloud config of the integration targets: the documented template and the checks that keep a
run away from an account that did not agree to it (tests/tools/cloudtest/config.py)."""

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / 'tests' / 'integration' / 'cloud-config-alicloud.ini.template'
sys.path.insert(0, str(ROOT / 'tests' / 'tools'))

from cloudtest import config  # noqa: E402  pylint: disable=wrong-import-position

SECRET = 'SecretValueThatMustNeverBePrinted0'
FILLED = {
    'i_understand_this_changes_my_account': 'true',
    'access_key_id': 'LTAI5tExampleKeyId0001',
    'access_key_secret': SECRET,
    'region': 'cn-hangzhou',
    'instance_ids': 'i-bp1aaaaaaaaaaaaaaaaa, i-bp1bbbbbbbbbbbbbbbbb',
}


def filled_template(tmp_path, **values):
    """The template with ``values`` written in place of its defaults."""
    text = TEMPLATE.read_text()
    for key, value in dict(FILLED, **values).items():
        text, count = re.subn(r'(?m)^%s =.*$' % re.escape(key), '%s = %s' % (key, value), text)
        assert count == 1, key
    path = tmp_path / 'cloud-config-alicloud.ini'
    path.write_text(text)
    return str(path)


def refusal(path):
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    assert SECRET not in str(caught.value)
    return ' | '.join(caught.value.problems)


def test_the_template_documents_exactly_the_keys_a_config_may_hold():
    values = config.read_values(str(TEMPLATE))
    keys = re.findall(r'(?m)^([a-z_]+) =', TEMPLATE.read_text())
    assert sorted(keys) == sorted(config.KEYS)
    assert set(values) == set(config.KEYS)


def test_the_template_as_shipped_touches_no_account():
    problems = refusal(str(TEMPLATE))
    assert 'i_understand_this_changes_my_account is not true' in problems
    assert 'no credentials' in problems and 'region' in problems and 'instance_ids' in problems


def test_the_filled_template_is_a_config_and_its_summary_holds_no_secret(tmp_path):
    loaded = config.load(filled_template(tmp_path))
    assert loaded.region == 'cn-hangzhou'
    assert loaded.instance_ids == ('i-bp1aaaaaaaaaaaaaaaaa', 'i-bp1bbbbbbbbbbbbbbbbb')
    assert not loaded.on_ecs_instance and loaded.ram_user == ''
    assert loaded.environment() == {
        'ALIBABA_CLOUD_REGION_ID': 'cn-hangzhou',
        'ALIBABA_CLOUD_ACCESS_KEY_ID': 'LTAI5tExampleKeyId0001',
        'ALIBABA_CLOUD_ACCESS_KEY_SECRET': SECRET,
        'ALIBABA_CLOUD_CLI_PROFILE_DISABLED': 'true',
    }
    assert loaded.secrets() == [SECRET]
    summary = '\n'.join(loaded.summary())
    assert SECRET not in summary and 'LTAI5tExampleKeyId0001' not in summary
    assert 'i-bp1aaaaaaaaaaaaaaaaa' in summary and 'lookup target is skipped' in summary


@pytest.mark.parametrize('acknowledgement', ['false', '', 'maybe', 'no'])
def test_no_run_without_the_acknowledgement(tmp_path, acknowledgement):
    path = filled_template(tmp_path, i_understand_this_changes_my_account=acknowledgement)
    assert 'i_understand_this_changes_my_account is not true' in refusal(path)


def test_a_misspelt_acknowledgement_is_an_unknown_key(tmp_path):
    path = filled_template(tmp_path)
    text = Path(path).read_text().replace('i_understand_this_changes_my_account', 'i_understand_this_changes_my_acount')
    Path(path).write_text(text)
    assert 'unknown key i_understand_this_changes_my_acount' in refusal(path)


@pytest.mark.parametrize('values, problem', [
    ({'instance_ids': 'i-bp1aaaaaaaaaaaaaaaaa'}, 'at least 2 different VPC instances'),
    ({'instance_ids': 'i-bp1aaaaaaaaaaaaaaaaa i-bp1aaaaaaaaaaaaaaaaa'}, 'at least 2 different VPC instances'),
    ({'instance_ids': 'i-bp1aaaaaaaaaaaaaaaaa, web-server-1'}, 'not ECS instance ids: web-server-1'),
    ({'profile': 'default'}, 'not both'),
    ({'access_key_secret': ''}, 'go together'),
    ({'access_key_id': '', 'access_key_secret': '', 'security_token': 'token'}, 'security_token needs'),
    ({'region': 'Hangzhou'}, 'region must be a region id'),
    ({'ram_user': 'alice smith'}, 'not a RAM user name'),
    ({'on_ecs_instance': 'sometimes'}, 'on_ecs_instance must be true or false'),
    ({'metadata_endpoint': 'http://100.100.100.200'}, 'only used with on_ecs_instance = true'),
    ({'ram_endpoint': 'https://user:%s@ram.example' % SECRET}, 'ram_endpoint must be a URL'),
    ({'ecs_endpoint': 'ecs.cn-hangzhou.aliyuncs.com'}, 'ecs_endpoint must be a URL'),
])
def test_an_incomplete_or_wrong_config_is_refused_naming_the_problem(tmp_path, values, problem):
    assert problem in refusal(filled_template(tmp_path, **values))


def test_a_profile_an_instance_and_endpoints(tmp_path):
    path = filled_template(tmp_path, access_key_id='', access_key_secret='', profile='ci', ram_user='deployer',
                           on_ecs_instance='true', ram_endpoint='http://127.0.0.1:8080', ecs_endpoint='http://127.0.0.1:8080',
                           sts_endpoint='http://127.0.0.1:8080', metadata_endpoint='http://127.0.0.1:8080')
    loaded = config.load(path)
    assert loaded.environment() == {
        'ALIBABA_CLOUD_REGION_ID': 'cn-hangzhou',
        'ALIBABA_CLOUD_PROFILE': 'ci',
        'ALIBABA_CLOUD_RAM_ENDPOINT': 'http://127.0.0.1:8080',
        'ALIBABA_CLOUD_ECS_ENDPOINT': 'http://127.0.0.1:8080',
        'ALIBABA_CLOUD_STS_ENDPOINT': 'http://127.0.0.1:8080',
        'ALIBABA_CLOUD_METADATA_ENDPOINT': 'http://127.0.0.1:8080',
    }
    assert loaded.ram_user == 'deployer' and loaded.on_ecs_instance and loaded.secrets() == []


def test_files_that_are_not_a_config(tmp_path):
    missing = tmp_path / 'missing.ini'
    assert 'cannot read it' in refusal(str(missing))
    other = tmp_path / 'other.ini'
    other.write_text('[profile]\nregion = cn-hangzhou\n')
    assert 'no [default] section' in refusal(str(other))
    broken = tmp_path / 'broken.ini'
    broken.write_text('region = cn-hangzhou\n')
    assert 'not an INI file' in refusal(str(broken))


def test_the_command_line_check(tmp_path, capsys):
    assert config.main([filled_template(tmp_path)]) == 0
    assert 'cn-hangzhou' in capsys.readouterr().out
    assert config.main([str(TEMPLATE)]) == 2
    err = capsys.readouterr().err
    assert 'refusing to use' in err and 'i_understand_this_changes_my_account is not true' in err


def test_a_filled_in_config_is_never_committed_nor_packaged():
    path = 'tests/integration/cloud-config-alicloud.ini'
    assert path in (ROOT / '.gitignore').read_text().splitlines()
    assert path in yaml.safe_load((ROOT / 'galaxy.yml').read_text())['build_ignore']
