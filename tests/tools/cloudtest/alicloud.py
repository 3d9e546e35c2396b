# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``cloud/alicloud`` platform of ansible-test, for the targets in tests/integration/targets/.

ansible-test knows only the cloud platforms it ships, so tests/tools/ansible_test_alicloud.py imports
this module before ansible-test starts; the platform takes its name from this module's name.

Two backends, one set of targets:

* no cloud config: the provider starts the local emulator (``python -m tests.emulator``) for the
  run, creates a RAM user to grant, and stops the emulator when ansible-test exits;
* a cloud config (``ALICLOUD_RAM_CLOUD_CONFIG``, else tests/integration/cloud-config-alicloud.ini):
  the account it names, refused unless the config acknowledges that the run changes the account.

The targets get the settings as play variables (``resource_prefix``, ``alicloud_*``) and the
credentials, region and endpoints as ``ALIBABA_CLOUD_*`` environment variables, the way users
configure the collection.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import string
import subprocess
import sys
import urllib.request

from ansible_test._internal.commands.integration.cloud import CloudEnvironment, CloudEnvironmentConfig, CloudProvider
from ansible_test._internal.data import data_context
from ansible_test._internal.util import ApplicationError, display

from cloudtest import config as cloud_config

CONFIG_ENV = 'ALICLOUD_RAM_CLOUD_CONFIG'
RECORD_ENV = 'ALIBABA_CLOUD_RECORD'
# Targets carrying this alias read the instance metadata service: skipped unless the run is on an ECS instance.
METADATA_GROUP = 'alicloud_instance_metadata/'
EMULATOR_REGION = 'cn-hangzhou'
_EXPORT = re.compile(r'^export (?P<key>[A-Z_]+)=(?P<value>.*)$')


def _config_path():
    path = os.environ.get(CONFIG_ENV)
    if path:
        return os.path.abspath(path)
    static = os.path.join(data_context().content.root, data_context().content.integration_path,
                          'cloud-config-alicloud.ini')
    return static if os.path.isfile(static) else None


@functools.lru_cache(maxsize=None)
def _load_config(path):
    try:
        config = cloud_config.load(path)
    except cloud_config.ConfigError as err:
        raise ApplicationError('refusing to run the alicloud targets with %s:\n%s' % (
            err.path, '\n'.join('  - %s' % problem for problem in err.problems))) from None
    for secret in config.secrets():
        display.sensitive.add(secret)
    return config


def _control(url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode('utf-8')
    request = urllib.request.Request('%s/_emulator/%s' % (url, path), data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read().decode('utf-8'))


def _short_prefix():
    """``ansible-test-`` and 8 random characters: names stay within RAM's 64 characters with room for a suffix."""
    alphabet = string.ascii_lowercase + string.digits
    pick = random.SystemRandom().choice
    return 'ansible-test-' + ''.join(pick(alphabet) for position in range(8))


class AlicloudCloudProvider(CloudProvider):
    """Chooses the backend before the targets run; starts and stops the emulator."""

    def __init__(self, args):
        super().__init__(args)
        self.uses_config = False  # without a config the targets run against the emulator

    def filter(self, targets, exclude):
        path = _config_path()
        if path is None or _load_config(path).on_ecs_instance:
            return
        skipped = [target.name for target in targets if METADATA_GROUP in target.aliases]
        if skipped:
            exclude.append(METADATA_GROUP)
            display.warning('Excluding %s: it reads the instance metadata service, and %s does not say that this runs on an '
                            'ECS instance (on_ecs_instance = true).' % (', '.join(skipped), path))

    def setup(self):
        super().setup()
        self.resource_prefix = os.environ.get('ALICLOUD_RAM_RESOURCE_PREFIX') or _short_prefix()
        path = _config_path()
        if path is not None:
            config = _load_config(path)
            self.config_path = path
            self._set_cloud_config('backend', 'cloud-config')
            display.info('alicloud targets: the account of %s, names prefixed %s' % (path, self.resource_prefix))
            for line in config.summary():
                display.info('  %s' % line)
        else:
            self._start_emulator()

    def _start_emulator(self):
        root = data_context().content.root
        command = [sys.executable, '-m', 'tests.emulator', '--print-env', '--daemon', '--quiet', '--regions', EMULATOR_REGION]
        proc = subprocess.run(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
        exports = dict(match.group('key', 'value') for match in map(_EXPORT.match, proc.stdout.splitlines()) if match)
        if proc.returncode != 0 or 'EMULATOR_PID' not in exports:
            raise ApplicationError('the emulator did not start (rc=%s): %s' % (proc.returncode, proc.stderr.strip()))
        self._set_cloud_config('backend', 'emulator')
        self._set_cloud_config('emulator_pid', int(exports['EMULATOR_PID']))
        self._set_cloud_config('emulator_env', json.dumps({key: value for key, value in exports.items() if key != 'EMULATOR_PID'}))
        url = exports['ALIBABA_CLOUD_RAM_ENDPOINT']
        instances = _control(url, 'GET', 'instances?region=%s' % EMULATOR_REGION)['instances']
        vpc = [item['InstanceId'] for item in instances if item['InstanceNetworkType'] == 'vpc']
        user = self.resource_prefix + '-user'
        _control(url, 'POST', 'users', {'user_name': user})
        self._set_cloud_config('emulator_instances', json.dumps(vpc))
        self._set_cloud_config('emulator_user', user)
        display.info('alicloud targets: the local emulator at %s (pid %s), names prefixed %s'
                     % (url, exports['EMULATOR_PID'], self.resource_prefix))

    def cleanup(self):
        pid = self._get_cloud_config('emulator_pid', 0)
        if pid and _is_emulator(pid):
            os.kill(pid, 15)
        super().cleanup()


def _is_emulator(pid):
    """Only ever signal the emulator this run started, never a process that reuses its number."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return b'tests.emulator' in handle.read()
    except OSError:
        return False


class AlicloudCloudEnvironment(CloudEnvironment):
    """Hands the backend's settings to each target."""

    def get_environment_config(self):
        backend = self._get_cloud_config('backend')
        if backend == 'emulator':
            env = json.loads(self._get_cloud_config('emulator_env'))
            env['ALIBABA_CLOUD_CLI_PROFILE_DISABLED'] = 'true'
            url = env['ALIBABA_CLOUD_RAM_ENDPOINT']
            ansible_vars = dict(
                alicloud_region=env['ALIBABA_CLOUD_REGION_ID'],
                alicloud_instance_ids=json.loads(self._get_cloud_config('emulator_instances')),
                alicloud_ram_user=self._get_cloud_config('emulator_user'),
                alicloud_metadata_endpoint=env['ALIBABA_CLOUD_METADATA_ENDPOINT'],
                alicloud_emulator_url=url,
            )
        else:
            config = _load_config(self.config_path)
            env = config.environment()
            ansible_vars = dict(
                alicloud_region=config.region,
                alicloud_instance_ids=list(config.instance_ids),
                alicloud_ram_user=config.ram_user or None,
                alicloud_metadata_endpoint=config.metadata_endpoint if config.on_ecs_instance else None,
                alicloud_emulator_url=None,
            )
        if os.environ.get(RECORD_ENV):
            env[RECORD_ENV] = os.path.abspath(os.environ[RECORD_ENV])
        ansible_vars.update(resource_prefix=self.resource_prefix, alicloud_backend=backend)
        return CloudEnvironmentConfig(env_vars=env, ansible_vars=ansible_vars)
