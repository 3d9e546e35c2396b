# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX / Ansible Automation Platform readiness.

1. Execution environment: ``ansible-builder create`` turns docs/examples/execution-environment.yml
   into a build context that carries our Python requirements and the collection tarball, and
   ``ansible-builder introspect`` finds requirements.txt in the installed collection.
2. Jobs: the example setup playbook runs through ``ansible_runner.run`` (what AWX does) with
   exactly the environment the credential type in extensions/awx/ injects, against the emulator:
   changed, then unchanged, secrets never in the event stream, and a role ARN injected through the
   credential makes every API call with the assumed role's STS key.
3. Galaxy: the built tarball installs offline into an empty path and ansible-doc renders every
   plugin and the example role.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from harness import ansible_command, venv_bin

REPO_ROOT = Path(__file__).resolve().parents[2]
EE_DEFINITION = REPO_ROOT / 'docs' / 'examples' / 'execution-environment.yml'
CREDENTIAL_TYPE = REPO_ROOT / 'extensions' / 'awx' / 'alicloud_credential_type.yml'
SETUP_PLAYBOOK = REPO_ROOT / 'playbooks' / 'instance_role_setup.yml'
ROLE_ARGUMENT_SPECS = REPO_ROOT / 'roles' / 'instance_role' / 'meta' / 'argument_specs.yml'
SCRUBBED_PREFIXES = ('ALIBABA_CLOUD_', 'ALICLOUD_', 'ANSIBLE_')


def _requirement_names(path):
    """Distribution names of a pip requirements file, lower-cased."""
    names = []
    for line in Path(path).read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if line:
            names.append(re.split(r'[<>=!~;\[ ]', line, maxsplit=1)[0].lower())
    return names


OUR_REQUIREMENTS = _requirement_names(REPO_ROOT / 'requirements.txt')


def _clean_env(**extra):
    env = {key: value for key, value in os.environ.items() if not key.startswith(SCRUBBED_PREFIXES)}
    env['PATH'] = os.pathsep.join((str(venv_bin()), env.get('PATH', os.defpath)))
    env['ANSIBLE_NOCOLOR'] = '1'
    env.update(extra)
    return env


def _run(command, **kwargs):
    proc = subprocess.run([str(part) for part in command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=False, **kwargs)
    assert proc.returncode == 0, '%s failed (rc=%s)\n%s\n%s' % (' '.join(map(str, command)), proc.returncode, proc.stdout, proc.stderr)
    return proc


def _build_tarball(output):
    output.mkdir(parents=True, exist_ok=True)
    _run([ansible_command('ansible-galaxy'), 'collection', 'build', REPO_ROOT, '--output-path', output, '--force'], env=_clean_env())
    tarballs = sorted(output.glob('alicloud-ram-*.tar.gz'))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


# -- 1. execution environment ---------------------------------------------------------------------

def test_ansible_builder_create_context_carries_our_requirements_and_the_collection(tmp_path):
    # The definition refers to ../../requirements.txt and ../../build/alicloud-ram-*.tar.gz; give it
    # the same layout in a scratch directory so the repository's build/ is left alone.
    layout = tmp_path / 'checkout'
    (layout / 'docs' / 'examples').mkdir(parents=True)
    definition = layout / 'docs' / 'examples' / EE_DEFINITION.name
    shutil.copy(EE_DEFINITION, definition)
    shutil.copy(REPO_ROOT / 'requirements.txt', layout / 'requirements.txt')
    tarball = _build_tarball(layout / 'build')

    context = tmp_path / 'context'
    _run([ansible_command('ansible-builder'), 'create', '-f', definition, '--context', context], cwd=str(layout), env=_clean_env())

    assert yaml.safe_load(definition.read_text())['version'] == 3
    built_requirements = context / '_build' / 'requirements.txt'
    assert built_requirements.is_file(), sorted(str(p.relative_to(context)) for p in context.rglob('*'))
    assert _requirement_names(built_requirements) == OUR_REQUIREMENTS

    copied = context / '_build' / 'collections' / tarball.name
    assert copied.is_file(), 'the collection tarball is not in the build context'
    with tarfile.open(copied) as archive:
        info = json.load(archive.extractfile('MANIFEST.json'))['collection_info']
    assert (info['namespace'], info['name']) == ('alicloud', 'ram')

    containerfile = next(p for p in (context / 'Containerfile', context / 'Dockerfile') if p.is_file())
    text = containerfile.read_text()
    install = [line for line in text.splitlines() if 'ansible-galaxy collection install' in line]
    assert install and 'alicloud-ram-*.tar.gz' in install[0], text
    # installed in the base stage, so the builder stage's introspection sees the collection
    base_stage = text.split('FROM base AS builder', 1)[0]
    assert 'COPY _build/collections/' in base_stage and install[0] in base_stage, text
    assert 'introspect' in text


def test_ansible_builder_introspect_lists_our_requirements(collection_path):
    proc = _run([ansible_command('ansible-builder'), 'introspect', '--sanitize', collection_path], env=_clean_env())
    data = yaml.safe_load(proc.stdout.split('\n', 1)[1])
    listed = [entry for entry in data['python'] if entry.endswith('# from collection alicloud.ram')]
    assert [_requirement_names_line(entry) for entry in listed] == OUR_REQUIREMENTS, proc.stdout


def _requirement_names_line(entry):
    return re.split(r'[<>=!~;\[ ]', entry.strip(), maxsplit=1)[0].lower()


def test_meta_execution_environment_names_requirements_txt():
    meta = yaml.safe_load((REPO_ROOT / 'meta' / 'execution-environment.yml').read_text())
    assert meta['dependencies']['python'] == 'requirements.txt'


# -- 2. jobs through ansible-runner with the credential type's environment --------------------------

def _credential_type():
    return yaml.safe_load(CREDENTIAL_TYPE.read_text())


def injected_env(**inputs):
    """The environment AWX injects for a credential of our type with these inputs.

    Like AWX: fields left empty are not in the template namespace, and the templates render in a
    sandboxed Jinja2 environment.
    """
    from jinja2.sandbox import ImmutableSandboxedEnvironment  # pylint: disable=import-outside-toplevel

    ctype = _credential_type()
    fields = {field['id'] for field in ctype['inputs']['fields']}
    assert set(inputs) <= fields, 'unknown inputs %s' % sorted(set(inputs) - fields)
    missing = [name for name in ctype['inputs'].get('required', []) if not inputs.get(name)]
    assert not missing, 'required inputs missing: %s' % missing
    namespace = {key: value for key, value in inputs.items() if value}
    sandbox = ImmutableSandboxedEnvironment()
    return {name: sandbox.from_string(template).render(**namespace) for name, template in ctype['injectors']['env'].items()}


def test_credential_type_shape_and_injectors():
    ctype = _credential_type()
    assert ctype['kind'] == 'cloud'
    fields = {field['id']: field for field in ctype['inputs']['fields']}
    assert set(fields) == {'access_key_id', 'access_key_secret', 'security_token', 'region', 'role_arn', 'session_name',
                           'session_duration'}
    assert fields['access_key_secret'].get('secret') is True and fields['security_token'].get('secret') is True
    assert not fields['access_key_id'].get('secret')
    assert set(ctype['inputs']['required']) == {'access_key_id', 'access_key_secret'}
    for field in fields.values():
        assert field.get('type') == 'string' and field.get('label')

    only_keys = injected_env(access_key_id='LTAIabc', access_key_secret='sekret')
    assert only_keys == {
        'ALIBABA_CLOUD_ACCESS_KEY_ID': 'LTAIabc', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 'sekret',
        'ALIBABA_CLOUD_SECURITY_TOKEN': '', 'ALIBABA_CLOUD_REGION_ID': '',
        'ALICLOUD_ASSUME_ROLE_ARN': '', 'ALICLOUD_ASSUME_ROLE_SESSION_NAME': '', 'ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION': '',
    }
    full = injected_env(access_key_id='STS.abc', access_key_secret='sekret', security_token='tok', region='cn-beijing',
                        role_arn='acs:ram::1:role/x', session_name='awx', session_duration='1800')
    assert full == {
        'ALIBABA_CLOUD_ACCESS_KEY_ID': 'STS.abc', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 'sekret',
        'ALIBABA_CLOUD_SECURITY_TOKEN': 'tok', 'ALIBABA_CLOUD_REGION_ID': 'cn-beijing',
        'ALICLOUD_ASSUME_ROLE_ARN': 'acs:ram::1:role/x', 'ALICLOUD_ASSUME_ROLE_SESSION_NAME': 'awx',
        'ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION': '1800',
    }


class RunnerJob:
    """One ansible-runner job in its own private data dir, laid out like AWX lays out a job."""

    def __init__(self, base, collection_path, emulator):
        self.base = base
        self.collection_path = collection_path
        self.emulator = emulator
        self.count = 0

    def platform_env(self):
        """What the execution environment and the job settings add (not the credential)."""
        url = self.emulator.url
        return {
            'ANSIBLE_COLLECTIONS_PATH': str(self.collection_path),  # the EE has it in /usr/share/ansible/collections
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ALIBABA_CLOUD_RAM_ENDPOINT': url,
            'ALIBABA_CLOUD_ECS_ENDPOINT': url,
            'ALIBABA_CLOUD_STS_ENDPOINT': url,
        }

    def run(self, envvars, extravars=None, verbosity=0):
        import ansible_runner  # pylint: disable=import-outside-toplevel

        self.count += 1
        private_data_dir = self.base / ('job-%d' % self.count)
        project = private_data_dir / 'project'
        # the job template's project: the repository's playbooks/ (vars_files are relative to it)
        shutil.copytree(REPO_ROOT / 'playbooks', project / 'playbooks')
        env = dict(self.platform_env())
        env.update(envvars)
        runner = ansible_runner.run(
            private_data_dir=str(private_data_dir),
            playbook='playbooks/%s' % SETUP_PLAYBOOK.name,
            envvars=env,
            extravars=extravars or {},
            inventory={'all': {'hosts': {'localhost': {
                'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}},
            verbosity=verbosity,
            quiet=True,
            timeout=600,
        )
        events = list(runner.events)
        status, rc, stats = runner.status, runner.rc, runner.stats  # stats reads the artifacts too
        with open(runner.stdout.name, encoding='utf-8') as handle:
            stdout = handle.read()
        runner.stdout.close()
        on_disk = self._files_holding(private_data_dir, [value for key, value in envvars.items()
                                                         if key in ('ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALIBABA_CLOUD_SECURITY_TOKEN')
                                                         and value])
        # artifacts/<ident>/command and env/envvars hold the whole environment, secrets included
        shutil.rmtree(private_data_dir / 'artifacts', ignore_errors=True)
        shutil.rmtree(private_data_dir / 'env', ignore_errors=True)
        left = self._files_holding(private_data_dir, [envvars['ALIBABA_CLOUD_ACCESS_KEY_SECRET']])
        assert not left, 'secrets left on disk after clean-up: %s' % left
        return JobResult(status, rc, stats, events, stdout, on_disk)

    @staticmethod
    def _files_holding(root, values):
        """Files ansible-runner wrote (everything but the project checkout) holding any of ``values``."""
        found = []
        for path in Path(root).rglob('*'):
            if path.is_file() and path.relative_to(root).parts[0] != 'project':
                data = path.read_bytes()
                if any(value.encode('utf-8') in data for value in values):
                    found.append(str(path.relative_to(root)))
        return sorted(found)


class JobResult:
    def __init__(self, status, rc, stats, events, stdout, secret_files):
        self.status = status
        self.rc = rc
        self.stats = stats or {}
        self.events = events
        self.stdout = stdout
        self.secret_files = secret_files

    def task_results(self):
        return [event['event_data'] for event in self.events if event.get('event') == 'runner_on_ok']

    def changed_tasks(self):
        return [data.get('task') for data in self.task_results() if (data.get('res') or {}).get('changed')]

    def text(self):
        return json.dumps(self.events) + '\n' + self.stdout

    def __repr__(self):
        return 'JobResult(status=%s, rc=%s, stats=%s)\n%s' % (self.status, self.rc, self.stats, self.stdout[-6000:])


def _assume_role_credentials(emulator, role_name):
    """Temporary credentials for a role trusting the account (what an STS-based credential holds)."""
    from alibabacloud_ram20150501 import models as ram_models  # pylint: disable=import-outside-toplevel
    from alibabacloud_sts20150401 import models as sts_models  # pylint: disable=import-outside-toplevel
    from tests.emulator.sdkhelpers import RAM_ONLY_TRUST, clients  # pylint: disable=import-outside-toplevel

    ram, _ecs, sts = clients(emulator)
    role = ram.create_role(ram_models.CreateRoleRequest(role_name=role_name, assume_role_policy_document=RAM_ONLY_TRUST)).body.role
    creds = sts.assume_role(sts_models.AssumeRoleRequest(role_arn=role.arn, role_session_name='awx-test')).body.credentials
    return role.arn, creds


@pytest.fixture
def jobs(tmp_path, collection_path, emu, monkeypatch):
    # ansible-runner starts ansible-playbook with this process's environment plus envvars:
    # nothing from the caller may point the job at a real account.
    for key in list(os.environ):
        if key.startswith(SCRUBBED_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.setenv('PATH', os.pathsep.join((str(venv_bin()), os.environ.get('PATH', os.defpath))))
    return RunnerJob(tmp_path, collection_path, emu)


def _setup_vars(emu):
    instance_ids = [item['InstanceId'] for item in emu.instances('cn-hangzhou') if item['InstanceNetworkType'] == 'vpc'][:2]
    assert len(instance_ids) == 2
    emu.create_user('deployer')
    return {'instance_role_instance_ids': instance_ids, 'instance_role_users': ['deployer']}


def test_setup_job_with_the_injected_credential_is_idempotent_and_never_shows_secrets(jobs, emu):
    extravars = _setup_vars(emu)
    first_env = injected_env(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret, region='cn-hangzhou')

    first = jobs.run(first_env, extravars)
    assert first.status == 'successful' and first.rc == 0, first
    assert first.changed_tasks(), first
    assert first.stats.get('changed', {}).get('localhost'), first
    assert emu.write_calls(), 'the first job wrote nothing to the emulator'
    roles = {role['RoleName']: role for role in emu.state()['roles']}
    assert 'demo-app-oss-reader' in roles, sorted(roles)
    assert roles['demo-app-oss-reader']['Instances'] == sorted(extravars['instance_role_instance_ids'])

    # The second job authenticates with temporary STS credentials (key id, secret and token), like a
    # credential filled from a secret store would.
    _arn, sts_creds = _assume_role_credentials(emu, 'awx-job-runner')
    second_env = injected_env(access_key_id=sts_creds.access_key_id, access_key_secret=sts_creds.access_key_secret,
                              security_token=sts_creds.security_token, region='cn-hangzhou')
    emu.clear_calls()
    second = jobs.run(second_env, extravars, verbosity=3)
    assert second.status == 'successful' and second.rc == 0, second
    assert second.changed_tasks() == [], second
    assert not second.stats.get('changed'), second
    assert emu.write_calls() == []
    api_calls = [call for call in emu.calls() if call['service'] in ('ram', 'ecs')]
    assert api_calls and {call['access_key_id'] for call in api_calls} == {sts_creds.access_key_id}
    sources = {data['res'].get('credentials_source') for data in second.task_results() if 'credentials_source' in (data.get('res') or {})}
    assert sources == {'env'}, sources

    secrets = [emu.access_key_secret, sts_creds.access_key_secret, sts_creds.security_token]
    for job in (first, second):
        text = job.text()
        for secret in secrets:
            assert secret not in text, 'a secret appears in the job events or stdout'
        # what docs/awx.md warns about: ansible-runner writes the environment to disk
        assert job.secret_files, 'expected ansible-runner to write the injected environment under artifacts/ or env/'
        assert all(path.startswith(('artifacts/', 'env/')) for path in job.secret_files), job.secret_files


def test_role_arn_in_the_credential_makes_every_call_with_the_assumed_role(jobs, emu):
    extravars = _setup_vars(emu)
    from alibabacloud_ram20150501 import models as ram_models  # pylint: disable=import-outside-toplevel
    from tests.emulator.sdkhelpers import RAM_ONLY_TRUST, clients  # pylint: disable=import-outside-toplevel

    ram = clients(emu)[0]
    arn = ram.create_role(ram_models.CreateRoleRequest(role_name='ansible-deployer',
                                                       assume_role_policy_document=RAM_ONLY_TRUST)).body.role.arn
    emu.clear_calls()
    env = injected_env(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret, region='cn-hangzhou',
                       role_arn=arn, session_name='awx-job-7')
    job = jobs.run(env, extravars, verbosity=3)
    assert job.status == 'successful' and job.rc == 0, job
    assert job.changed_tasks(), job

    calls = emu.calls()
    assume = [call for call in calls if call['service'] == 'sts' and call['action'] == 'AssumeRole']
    assert assume, 'no AssumeRole call'
    assert {call['access_key_id'] for call in assume} == {emu.access_key_id}
    assert {call['params'].get('RoleArn') for call in assume} == {arn}
    assert {call['params'].get('RoleSessionName') for call in assume} == {'awx-job-7'}
    api_calls = [call for call in calls if call['service'] in ('ram', 'ecs')]
    assert api_calls and all(call['access_key_id'].startswith('STS.') for call in api_calls), \
        sorted({call['access_key_id'] for call in api_calls})
    sources = {data['res'].get('credentials_source') for data in job.task_results() if 'credentials_source' in (data.get('res') or {})}
    assert sources == {'assume_role %s (via env)' % arn}, sources
    assert emu.access_key_secret not in job.text()


# -- 3. Galaxy -------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def offline_install(tmp_path_factory):
    """The tarball from ``ansible-galaxy collection build`` installed with --offline --force into an empty path."""
    tarball = _build_tarball(tmp_path_factory.mktemp('galaxy-build'))
    target = tmp_path_factory.mktemp('galaxy-install')
    assert not any(target.iterdir())
    _run([ansible_command('ansible-galaxy'), 'collection', 'install', '--offline', '--force', '-p', target, tarball], env=_clean_env())
    installed = target / 'ansible_collections' / 'alicloud' / 'ram'
    assert (installed / 'MANIFEST.json').is_file()
    assert (installed / 'extensions' / 'awx' / CREDENTIAL_TYPE.name).is_file()
    assert (installed / 'meta' / 'execution-environment.yml').is_file()
    return target


def _plugins(kind):
    directory = REPO_ROOT / 'plugins' / kind
    return sorted(path.stem for path in directory.glob('*.py') if not path.name.startswith('_'))


def _ansible_doc(collections, kind, name):
    """The text ansible-doc renders for a plugin of the installed collection (what users read)."""
    proc = _run([ansible_command('ansible-doc'), '-t', kind, 'alicloud.ram.%s' % name],
                env=_clean_env(ANSIBLE_COLLECTIONS_PATH=str(collections)))
    assert 'alicloud.ram.%s' % name in proc.stdout, proc.stdout
    assert '[WARNING]' not in proc.stderr and 'ERROR' not in proc.stderr, proc.stderr
    assert 'OPTIONS' in proc.stdout and 'EXAMPLES' in proc.stdout, proc.stdout
    return proc.stdout


@pytest.mark.parametrize('name', _plugins('modules'))
def test_ansible_doc_renders_module(offline_install, name):
    text = _ansible_doc(offline_install, 'module', name)
    assert 'access_key_id' in text and 'ALICLOUD_ASSUME_ROLE_ARN' in text, 'the common auth fragment is missing'


@pytest.mark.parametrize('name', _plugins('lookup'))
def test_ansible_doc_renders_lookup(offline_install, name):
    _ansible_doc(offline_install, 'lookup', name)


def test_ansible_doc_renders_the_example_role(offline_install):
    assert ROLE_ARGUMENT_SPECS.is_file(), 'the example role must document its variables'
    proc = _run([ansible_command('ansible-doc'), '-t', 'role', 'alicloud.ram.instance_role'],
                env=_clean_env(ANSIBLE_COLLECTIONS_PATH=str(offline_install)))
    assert 'instance_role_name' in proc.stdout, proc.stdout
