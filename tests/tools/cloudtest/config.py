# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloud config of the integration targets (tests/integration/cloud-config-alicloud.ini).

Without a config the targets run against the local emulator. With one they run against the
account it names, and only when it says ``i_understand_this_changes_my_account = true``.
tests/tools/cloud_test.sh checks the file with this module before anything runs
(``python -m cloudtest.config PATH``); the ansible-test plugin (``cloudtest/alicloud.py``) reads it
again to hand its settings to the targets.
"""

from __future__ import annotations

import configparser
import dataclasses
import re
import sys

SECTION = 'default'
ACKNOWLEDGEMENT = 'i_understand_this_changes_my_account'
DEFAULT_METADATA_ENDPOINT = 'http://100.100.100.200'
MIN_INSTANCES = 2

# Every key a config may hold (the template documents each one).
KEYS = (
    ACKNOWLEDGEMENT,
    'access_key_id',
    'access_key_secret',
    'security_token',
    'profile',
    'region',
    'instance_ids',
    'ram_user',
    'on_ecs_instance',
    'ram_endpoint',
    'ecs_endpoint',
    'sts_endpoint',
    'metadata_endpoint',
)
SECRET_KEYS = ('access_key_secret', 'security_token')
ENDPOINT_ENV = {
    'ram_endpoint': 'ALIBABA_CLOUD_RAM_ENDPOINT',
    'ecs_endpoint': 'ALIBABA_CLOUD_ECS_ENDPOINT',
    'sts_endpoint': 'ALIBABA_CLOUD_STS_ENDPOINT',
}

_INSTANCE_ID = re.compile(r'i-[0-9a-z]{8,40}\Z')
_REGION = re.compile(r'[a-z]{2,}(-[a-z0-9]+)+\Z')
_USER_NAME = re.compile(r'[A-Za-z0-9._-]{1,64}\Z')
_PROFILE = re.compile(r'[A-Za-z0-9._-]{1,64}\Z')
_URL = re.compile(r'https?://[^\s/?#@]+\Z')
_TRUE = ('true', 'yes', 'on', '1')
_FALSE = ('false', 'no', 'off', '0', '')


class ConfigError(Exception):
    """The config cannot be used; ``problems`` lists every reason (never a secret value)."""

    def __init__(self, path, problems):
        super().__init__('%s: %s' % (path, '; '.join(problems)))
        self.path = path
        self.problems = list(problems)


@dataclasses.dataclass(frozen=True)
class CloudConfig:
    """A checked cloud config."""

    path: str
    region: str
    instance_ids: tuple
    access_key_id: str = ''
    access_key_secret: str = ''
    security_token: str = ''
    profile: str = ''
    ram_user: str = ''
    on_ecs_instance: bool = False
    metadata_endpoint: str = DEFAULT_METADATA_ENDPOINT
    endpoints: tuple = ()

    def environment(self):
        """The ALIBABA_CLOUD_* variables the targets' tasks run with."""
        env = {'ALIBABA_CLOUD_REGION_ID': self.region}
        if self.profile:
            env['ALIBABA_CLOUD_PROFILE'] = self.profile
        else:
            env['ALIBABA_CLOUD_ACCESS_KEY_ID'] = self.access_key_id
            env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'] = self.access_key_secret
            env['ALIBABA_CLOUD_CLI_PROFILE_DISABLED'] = 'true'
            if self.security_token:
                env['ALIBABA_CLOUD_SECURITY_TOKEN'] = self.security_token
        for key, url in self.endpoints:
            env[ENDPOINT_ENV[key]] = url
        if self.on_ecs_instance:
            env['ALIBABA_CLOUD_METADATA_ENDPOINT'] = self.metadata_endpoint
        return env

    def secrets(self):
        """Values that must never be printed."""
        return [value for value in (self.access_key_secret, self.security_token) if value]

    def summary(self):
        """What a run with this config touches, without any secret."""
        credentials = 'profile %s' % self.profile if self.profile else 'AccessKey %s' % _masked(self.access_key_id)
        lines = [
            'account credentials: %s%s' % (credentials, ' with a security token' if self.security_token else ''),
            'region: %s' % self.region,
            'instances the run may attach roles to and change metadata options of: %s' % ', '.join(self.instance_ids),
            'RAM user granted and revoked: %s' % (self.ram_user or '(none: user grants are not tested)'),
            'instance metadata service: %s' % (self.metadata_endpoint if self.on_ecs_instance
                                               else '(not on an ECS instance: the lookup target is skipped)'),
        ]
        for key, url in self.endpoints:
            lines.append('%s: %s' % (key, url))
        return lines


def _masked(value):
    return value[:4] + '****' if len(value) > 8 else '****'


def _boolean(raw, key, problems):
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text not in _FALSE:
        problems.append('%s must be true or false' % key)
    return False


def _instance_ids(raw, problems):
    ids = [item for item in re.split(r'[\s,]+', raw.strip()) if item]
    bad = [item for item in ids if not _INSTANCE_ID.match(item)]
    if bad:
        problems.append('instance_ids holds values that are not ECS instance ids: %s' % ', '.join(bad))
    unique = list(dict.fromkeys(ids))
    if len(unique) < MIN_INSTANCES:
        problems.append('instance_ids must name at least %d different VPC instances the run may attach a role to' % MIN_INSTANCES)
    return tuple(unique)


def read_values(path):
    """The raw key/value pairs of the config's [default] section."""
    parser = configparser.ConfigParser(interpolation=None, default_section='no defaults here')
    try:
        with open(path, encoding='utf-8') as handle:
            parser.read_file(handle)
    except OSError as err:
        raise ConfigError(path, ['cannot read it (%s)' % err.strerror]) from None
    except configparser.Error as err:
        raise ConfigError(path, ['not an INI file (%s)' % err.__class__.__name__]) from None
    if not parser.has_section(SECTION):
        raise ConfigError(path, ['no [%s] section' % SECTION])
    extra = [name for name in parser.sections() if name != SECTION]
    values = dict(parser.items(SECTION))
    problems = ['unknown section [%s]' % name for name in extra]
    problems += ['unknown key %s' % key for key in values if key not in KEYS]
    if problems:
        raise ConfigError(path, problems)
    return {key: values.get(key, '').strip() for key in KEYS}


def load(path, require_acknowledgement=True):
    """Read and check the config at ``path``; raise ConfigError naming every problem."""
    values = read_values(path)
    problems = []
    if require_acknowledgement and not _boolean(values[ACKNOWLEDGEMENT], ACKNOWLEDGEMENT, []):
        problems.append('%s is not true: a run creates, changes and deletes RAM roles, policies and grants and changes the '
                        'listed instances; set %s = true to allow it' % (ACKNOWLEDGEMENT, ACKNOWLEDGEMENT))

    has_keys = bool(values['access_key_id'] or values['access_key_secret'])
    if has_keys and values['profile']:
        problems.append('give either access_key_id/access_key_secret or profile, not both')
    elif has_keys and not (values['access_key_id'] and values['access_key_secret']):
        problems.append('access_key_id and access_key_secret go together')
    elif not has_keys and not values['profile']:
        problems.append('no credentials: give access_key_id and access_key_secret, or profile')
    if values['security_token'] and not has_keys:
        problems.append('security_token needs access_key_id and access_key_secret')
    if values['profile'] and not _PROFILE.match(values['profile']):
        problems.append('profile is not a profile name')

    if not _REGION.match(values['region']):
        problems.append('region must be a region id such as cn-hangzhou')
    instance_ids = _instance_ids(values['instance_ids'], problems)
    if values['ram_user'] and not _USER_NAME.match(values['ram_user']):
        problems.append('ram_user is not a RAM user name')

    on_ecs_instance = _boolean(values['on_ecs_instance'], 'on_ecs_instance', problems)
    endpoints = []
    for key in ('ram_endpoint', 'ecs_endpoint', 'sts_endpoint', 'metadata_endpoint'):
        if values[key] and not _URL.match(values[key]):
            problems.append('%s must be a URL like https://host[:port], without a path, query or password' % key)
        elif values[key] and key != 'metadata_endpoint':
            endpoints.append((key, values[key]))
    if values['metadata_endpoint'] and not on_ecs_instance:
        problems.append('metadata_endpoint is only used with on_ecs_instance = true')

    if problems:
        raise ConfigError(path, problems)
    return CloudConfig(
        path=path,
        region=values['region'],
        instance_ids=instance_ids,
        access_key_id=values['access_key_id'],
        access_key_secret=values['access_key_secret'],
        security_token=values['security_token'],
        profile=values['profile'],
        ram_user=values['ram_user'],
        on_ecs_instance=on_ecs_instance,
        metadata_endpoint=values['metadata_endpoint'] or DEFAULT_METADATA_ENDPOINT,
        endpoints=tuple(endpoints),
    )


def main(argv=None):
    """``python -m cloudtest.config PATH``: exit 0 and print what a run touches, or exit 2 naming the problems."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write('usage: python -m cloudtest.config PATH\n')
        return 2
    try:
        config = load(argv[0])
    except ConfigError as err:
        sys.stderr.write('refusing to use %s:\n' % err.path)
        for problem in err.problems:
            sys.stderr.write('  - %s\n' % problem)
        return 2
    for line in config.summary():
        sys.stdout.write('  %s\n' % line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
