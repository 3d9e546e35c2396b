# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets never leak: every module and the lookup at ``-vvvv`` with ``ANSIBLE_DEBUG=1`` and ``--diff``,
successes and forced failures, secrets passed as module options and through the environment.

Scanned: stdout, stderr, the recorded task results and every file the run left in its work
directory. The lookup's own return value is the exception: it *is* the credentials, so the
test checks that its documentation says to use ``no_log`` and that a ``no_log`` task hides it.
"""

from __future__ import annotations

import json
from pathlib import Path

from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_sts20150401 import models as sts_models

from harness import ACTION_GROUP
from tests.emulator.sdkhelpers import ACCOUNT_TRUST, ECS_TRUST, clients

ROLE = 'secret-role'
WRONG_SECRET = 'WrongSecretValueThatMustNotLeak0042'
WRONG_TOKEN = 'CAISWrongTokenThatMustNotLeak' + 'x' * 40
LOOKUP = "lookup('alicloud.ram.metadata_credentials', '%s')" % ROLE


def sts_credentials(emu):
    ram, _ecs, sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name='secret-sts', assume_role_policy_document=ACCOUNT_TRUST))
    creds = sts.assume_role(sts_models.AssumeRoleRequest(
        role_arn='acs:ram::%s:role/secret-sts' % emu.account_id, role_session_name='secrets')).body.credentials
    return creds.access_key_id, creds.access_key_secret, creds.security_token


def connection(emu):
    return {'region': 'cn-hangzhou', 'ram_endpoint': emu.url, 'ecs_endpoint': emu.url, 'sts_endpoint': emu.url}


def module_tasks(emu, vpc, auth_ok, auth_sts, auth_wrong):
    """Every module, succeeding and failing; ``auth_*`` are option dicts (possibly empty: env is used)."""
    def task(name, module, args, auth, fails=False):
        item = {'name': name, module: dict(args, **auth)}
        if fails:
            item['ignore_errors'] = True
        return item
    return [
        task('role created', 'alicloud.ram.ram_instance_role', {'name': ROLE, 'description': 'secrets'}, auth_ok),
        task('role with a wrong secret', 'alicloud.ram.ram_instance_role', {'name': ROLE}, auth_wrong, fails=True),
        task('role info with STS', 'alicloud.ram.ram_instance_role_info', {'name': ROLE}, auth_sts),
        task('policy on an unknown role', 'alicloud.ram.ram_role_policy', {
            'role_name': 'no-such-role', 'policies': ['AliyunOSSReadOnlyAccess']}, auth_sts, fails=True),
        task('policy attached', 'alicloud.ram.ram_role_policy', {'role_name': ROLE, 'policies': ['AliyunOSSReadOnlyAccess']}, auth_sts),
        task('attach an unknown role', 'alicloud.ram.ecs_instance_role_attachment', {
            'role_name': 'no-such-role', 'instance_ids': vpc}, auth_sts, fails=True),
        task('attach', 'alicloud.ram.ecs_instance_role_attachment', {'role_name': ROLE, 'instance_ids': vpc[:1]}, auth_ok),
        task('attachment info', 'alicloud.ram.ecs_instance_role_info', {'instance_ids': vpc}, auth_sts),
        task('grant to an unknown user', 'alicloud.ram.ram_user_role_grant', {
            'user_name': 'nobody', 'role_name': ROLE}, auth_sts, fails=True),
        task('grant', 'alicloud.ram.ram_user_role_grant', {'user_name': 'secret-user', 'role_name': ROLE}, auth_ok),
        task('info with a wrong secret', 'alicloud.ram.ecs_instance_role_info', {'instance_ids': vpc}, auth_wrong, fails=True),
        task('assume an unknown role', 'alicloud.ram.ram_instance_role_info', {
            'name': ROLE, 'assume_role': {'role_arn': 'acs:ram::%s:role/no-such-role' % emu.account_id}}, auth_sts, fails=True),
    ]


def lookup_tasks():
    return [
        {'name': 'lookup kept with no_log', 'ansible.builtin.set_fact': {'instance_creds': '{{ %s }}' % LOOKUP}, 'no_log': True},
        {'name': 'module fed by the lookup', 'alicloud.ram.ram_instance_role_info': {
            'name': ROLE, 'access_key_id': '{{ instance_creds.access_key_id }}',
            'access_key_secret': '{{ instance_creds.access_key_secret }}',
            'security_token': '{{ instance_creds.security_token }}'}},
        {'name': 'module fed by the lookup, failing', 'alicloud.ram.ram_role_policy': {
            'role_name': 'no-such-role', 'policies': ['AliyunOSSReadOnlyAccess'],
            'access_key_id': '{{ instance_creds.access_key_id }}', 'access_key_secret': '{{ instance_creds.access_key_secret }}',
            'security_token': '{{ instance_creds.security_token }}'}, 'ignore_errors': True},
        {'name': 'lookup of a role the instance does not hold', 'ansible.builtin.debug': {'var': 'bad'},
         'vars': {'bad': "{{ lookup('alicloud.ram.metadata_credentials', 'no-such-role') }}"}, 'ignore_errors': True},
        {'name': 'lookup with a refused token', 'ansible.builtin.debug': {'var': 'bad'}, 'ignore_errors': True,
         'vars': {'bad': "{{ lookup('alicloud.ram.metadata_credentials', '%s', imds_mode='plain') }}" % ROLE}},
    ]


# ansible-core's own ANSIBLE_DEBUG trace prints the raw arguments of every module it runs, no_log or not
# (e.g. ``12254 1795895261.80: done with _execute_module (alicloud.ram.x, {'access_key_secret': ...})``).
# That line is outside the collection's control; the lookup's documentation warns about it. It is
# counted separately, and secrets given through the environment must not appear even there.
CORE_DEBUG_ARGS = 'done with _execute_module ('


def scan(run, secrets):
    """(bytes scanned, [(secret, where)] leaks, [(secret, where)] in ansible-core's debug argument lines)."""
    texts = {'stdout': run.stdout, 'stderr': run.stderr, 'results': json.dumps(run.results)}
    for path in Path(run.workdir).rglob('*'):
        # stdout.txt/stderr.txt repeat stdout/stderr; playbook.yml is the test's own input, holding the options
        if path.is_file() and path.name not in ('stdout.txt', 'stderr.txt', 'playbook.yml'):
            texts[str(path)] = path.read_text(errors='replace')
    leaks, core = [], []
    for where, text in texts.items():
        for line in text.splitlines():
            for label, value in secrets.items():
                if value and value in line:
                    (core if CORE_DEBUG_ARGS in line else leaks).append((label, where))
    return sum(len(t) for t in texts.values()), leaks, core


def test_no_secret_in_verbose_debug_output_results_or_diffs(runner, emu, collection_path):
    ram, _ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name=ROLE + '-seed', assume_role_policy_document=ECS_TRUST))
    emu.create_user('secret-user')
    vpc = [i['InstanceId'] for i in emu.instances() if i['InstanceNetworkType'] == 'vpc']
    sts_id, sts_secret, sts_token = sts_credentials(emu)
    base = connection(emu)
    auth_ok = dict(base, access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret)
    auth_sts = dict(base, access_key_id=sts_id, access_key_secret=sts_secret, security_token=sts_token)
    auth_wrong = dict(base, access_key_id=emu.access_key_id, access_key_secret=WRONG_SECRET)
    verbose = {'ANSIBLE_DEBUG': '1'}
    runs = []

    # 1: secrets as module options; the lookup's credentials reach modules as options too
    tasks = module_tasks(emu, vpc, auth_ok, auth_sts, auth_wrong)
    runs.append(runner.run_tasks(tasks, module_defaults=False, diff=True, verbosity=4, env=verbose))
    # the metadata instance holds ROLE after task 'attach' (vpc[0] is the metadata service's instance)
    emu.set_metadata(hardened_only=True)
    runs.append(runner.run_tasks(lookup_tasks(), module_defaults={ACTION_GROUP: base}, diff=True, verbosity=4,
                                 env=dict(verbose, ALIBABA_CLOUD_IMDSV1_DISABLED='true')))
    # 2: the same modules with the secrets in the environment (STS, then a wrong secret in the legacy names)
    no_auth = {}
    env_sts = dict(verbose, ALIBABA_CLOUD_ACCESS_KEY_ID=sts_id, ALIBABA_CLOUD_ACCESS_KEY_SECRET=sts_secret,
                   ALIBABA_CLOUD_SECURITY_TOKEN=sts_token)
    runs.append(runner.run_tasks(module_tasks(emu, vpc, no_auth, no_auth, no_auth)[2:10], module_defaults={ACTION_GROUP: base},
                                 diff=True, verbosity=4, env=env_sts))
    env_wrong = dict(verbose, ALIBABA_CLOUD_ACCESS_KEY_ID=None, ALIBABA_CLOUD_ACCESS_KEY_SECRET=None,
                     ALICLOUD_ACCESS_KEY=sts_id, ALICLOUD_SECRET_KEY=WRONG_SECRET, ALICLOUD_SECURITY_TOKEN=WRONG_TOKEN)
    runs.append(runner.run_tasks([{'name': 'legacy env with a wrong token', 'alicloud.ram.ram_instance_role_info': {'name': ROLE},
                                   'ignore_errors': True}],
                                 module_defaults={ACTION_GROUP: base}, verbosity=4, env=env_wrong))

    emu.set_metadata(hardened_only=False)
    metadata = json.loads(_read_metadata_credentials(emu))
    secrets = {
        'admin secret': emu.access_key_secret,
        'STS secret': sts_secret,
        'STS token': sts_token,
        'wrong secret': WRONG_SECRET,
        'wrong token': WRONG_TOKEN,
        'instance role secret': metadata['AccessKeySecret'],
        'instance role token': metadata['SecurityToken'],
    }
    total, leaks, core = 0, [], []
    for index, run in enumerate(runs):
        size, found, in_core = scan(run, secrets)
        total += size
        leaks.extend(found)
        core.extend(in_core)
        if index >= 2:  # secrets from the environment never reach module arguments
            leaks.extend(in_core)
    failures = sum(1 for run in runs for r in run.results if r['status'] == 'failed')
    print('\nRELIABILITY secrets: runs=%d tasks=%d forced_failures=%d scanned_bytes=%d secrets=%d leaks=%d '
          'core_debug_argument_lines=%d' % (len(runs), sum(len(r.results) for r in runs), failures, total, len(secrets),
                                            len(leaks), len(core)))
    assert failures >= 10, 'the failure paths were not exercised'
    assert runs[1].by_name('module fed by the lookup')['status'] == 'ok', runs[1]
    assert runs[1].by_name('lookup kept with no_log')['result'].get('censored'), runs[1]
    assert leaks == [], leaks

    # the lookup's documentation tells users to hide its value
    doc = (Path(collection_path) / 'ansible_collections/alicloud/ram/plugins/lookup/metadata_credentials.py').read_text()
    assert 'no_log: true' in doc


def _read_metadata_credentials(emu):
    import urllib.request  # pylint: disable=import-outside-toplevel
    with urllib.request.urlopen('%s/latest/meta-data/ram/security-credentials/%s' % (emu.url, ROLE), timeout=10) as response:
        return response.read().decode('utf-8')
