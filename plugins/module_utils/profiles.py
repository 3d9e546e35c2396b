# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Credentials as values, and what the profile files give: the Alibaba Cloud CLI's ``~/.aliyun/config.json``
(modes AK, StsToken, RamRoleArn, ChainableRamRoleArn, EcsRamRole) and ``~/.alibabacloud/credentials.ini``
(types access_key, sts, ram_role_arn, ecs_ram_role). The chain that decides which source is used is
``credentials.py``; :class:`ProfileSources` is the part of it that reads profiles.
"""

import configparser
import json
import os

from ansible_collections.alicloud.ram.plugins.module_utils.data import truthy
from ansible_collections.alicloud.ram.plugins.module_utils.errors import remember_secrets

CLI_CONFIG = os.path.join('.aliyun', 'config.json')
INI_CONFIG = os.path.join('.alibabacloud', 'credentials.ini')
CREDENTIALS_FILE_ENV = 'ALIBABA_CLOUD_CREDENTIALS_FILE'
CLI_PROFILE_DISABLED_ENV = 'ALIBABA_CLOUD_CLI_PROFILE_DISABLED'


class CredentialsError(Exception):
    """No usable credentials. The message names options and files, never values."""

    def __init__(self, msg, api_error=None):
        super(CredentialsError, self).__init__(msg)
        self.msg = msg
        self.api_error = api_error


class Credentials(object):
    """An AccessKey pair, optional STS token, and where it came from. Never prints the secret.

    ``region_hint``: ``(region, source)`` inferred with the credentials, or None.
    """

    __slots__ = ('access_key_id', 'access_key_secret', 'security_token', 'source', 'expiration', 'region_hint')

    def __init__(self, access_key_id, access_key_secret, security_token=None, source='', expiration=None, region_hint=None):
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.security_token = security_token or None
        self.source = source
        self.expiration = expiration
        self.region_hint = region_hint
        remember_secrets(access_key_secret, self.security_token)

    def secrets(self):
        """Values that must never be shown."""
        return [value for value in (self.access_key_secret, self.security_token) if value]

    def __repr__(self):
        return 'Credentials(access_key_id=%r, access_key_secret=<hidden>, security_token=%s, source=%r)' % (
            self.access_key_id, '<hidden>' if self.security_token else 'None', self.source)

    __str__ = __repr__

    def __eq__(self, other):
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.access_key_id, self.access_key_secret, self.security_token) == (
            other.access_key_id, other.access_key_secret, other.security_token)

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None


# what signs an anonymous call (AssumeRoleWithOIDC): nothing
ANONYMOUS = Credentials(None, None, None, 'no credentials (anonymous call)')


def pair(key_id, secret, token, names, source):
    """Credentials from a key/secret pair; an incomplete pair is an error, not a silent skip."""
    if key_id and secret:
        return Credentials(key_id, secret, token, source)
    if key_id or secret:
        given, missing = (names[0], names[1]) if key_id else (names[1], names[0])
        raise CredentialsError('%s is set but %s is not: set both' % (given, missing))
    if token:
        raise CredentialsError('%s is set without %s and %s' % (names[2], names[0], names[1]))
    return None


def load_cli_config(path):
    try:
        with open(path, 'r') as handle:
            data = json.load(handle)
    except ValueError as err:
        raise CredentialsError('cannot parse %s: not valid JSON (%s)' % (path, getattr(err, 'msg', 'syntax error'))) from None
    except (IOError, OSError) as err:
        raise CredentialsError('cannot read %s: %s' % (path, err.strerror or type(err).__name__)) from None
    if not isinstance(data, dict) or not isinstance(data.get('profiles', []), list):
        raise CredentialsError('cannot use %s: expected a JSON object with a "profiles" list' % path)
    return data


def load_ini_config(path):
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, 'r') as handle:
            parser.read_file(handle)
    except configparser.Error as err:
        line = getattr(err, 'lineno', None)
        if line is None and getattr(err, 'errors', None):
            line = err.errors[0][0]
        where = ' near line %s' % line if line else ''
        raise CredentialsError('cannot parse %s%s (%s)' % (path, where, type(err).__name__)) from None
    except (IOError, OSError) as err:
        raise CredentialsError('cannot read %s: %s' % (path, err.strerror or type(err).__name__)) from None
    sections = {}
    for section in parser.sections():
        # like alibabacloud_credentials: '#' starts an inline comment ( ';' does not)
        sections[section] = dict((key, value.split('#', 1)[0].strip()) for key, value in parser.items(section))
    return sections


def with_region(creds, profile, name, path):
    """``creds`` with the profile's ``region_id`` as region hint, when it has one."""
    if profile.get('region_id'):
        creds.region_hint = (profile['region_id'], 'profile %s (%s) region_id' % (name, path))
    return creds


def _requirer(profile, what):
    """``need(*keys)``: refuse ``profile`` (described as ``what``) when it lacks one of ``keys``."""
    def need(*keys):
        missing = [key for key in keys if not profile.get(key)]
        if missing:
            raise CredentialsError('%s lacks %s' % (what, ', '.join(missing)))
    return need


class ProfileSources(object):
    """The profile part of the credential chain; the chain provides ``env``, ``home``, ``assume_role`` and ``from_metadata``."""

    @property
    def cli_path(self):
        return os.path.join(self.home, CLI_CONFIG)

    @property
    def ini_path(self):
        path = self.env.get(CREDENTIALS_FILE_ENV)
        return os.path.expanduser(path) if path else os.path.join(self.home, INI_CONFIG)

    def cli_profiles(self):
        if truthy(self.env.get(CLI_PROFILE_DISABLED_ENV)) or not os.path.isfile(self.cli_path):
            return None
        return load_cli_config(self.cli_path)

    def ini_profiles(self):
        if not os.path.isfile(self.ini_path):
            if self.env.get(CREDENTIALS_FILE_ENV):
                raise CredentialsError('%s points to %s, which does not exist' % (CREDENTIALS_FILE_ENV, self.ini_path))
            return None
        return load_ini_config(self.ini_path)

    def from_named_profile(self, name):
        cli = self.cli_profiles()
        if cli is not None:
            for profile in cli.get('profiles', []):
                if isinstance(profile, dict) and profile.get('name') == name:
                    return self.from_cli_profile(profile, cli)
        ini = self.ini_profiles()
        if ini is not None and name in ini:
            return self.from_ini_section(name, ini[name])
        raise CredentialsError("profile '%s' was found neither in %s nor in %s" % (name, self.cli_path, self.ini_path))

    def from_default_profiles(self):
        cli = self.cli_profiles()
        if cli is not None and cli.get('current'):
            for profile in cli.get('profiles', []):
                if isinstance(profile, dict) and profile.get('name') == cli.get('current'):
                    return self.from_cli_profile(profile, cli)
        ini = self.ini_profiles()
        if ini is not None and 'default' in ini:
            return self.from_ini_section('default', ini['default'])
        return None

    def from_cli_profile(self, profile, cli, seen=()):
        return with_region(self._cli_profile_credentials(profile, cli, seen), profile, profile.get('name'), self.cli_path)

    def _cli_profile_credentials(self, profile, cli, seen):
        name = profile.get('name')
        source = 'profile %s (%s)' % (name, self.cli_path)
        mode = profile.get('mode') or 'AK'
        need = _requirer(profile, "profile '%s' (mode %s) in %s" % (name, mode, self.cli_path))

        if mode == 'AK':
            need('access_key_id', 'access_key_secret')
            return Credentials(profile['access_key_id'], profile['access_key_secret'], None, source)
        if mode == 'StsToken':
            need('access_key_id', 'access_key_secret', 'sts_token')
            return Credentials(profile['access_key_id'], profile['access_key_secret'], profile['sts_token'], source)
        if mode == 'RamRoleArn':
            need('access_key_id', 'access_key_secret', 'ram_role_arn')
            base = Credentials(profile['access_key_id'], profile['access_key_secret'], profile.get('sts_token'), source)
            return self.assume_role(base, dict(role_arn=profile['ram_role_arn'], session_name=profile.get('ram_session_name'),
                                               duration_seconds=profile.get('expired_seconds'), external_id=profile.get('external_id')),
                                    region=profile.get('sts_region'))
        if mode == 'ChainableRamRoleArn':
            need('source_profile', 'ram_role_arn')
            if name in seen:
                raise CredentialsError("profile '%s' in %s refers to itself through source_profile" % (name, self.cli_path))
            parent = [p for p in cli.get('profiles', []) if isinstance(p, dict) and p.get('name') == profile['source_profile']]
            if not parent:
                raise CredentialsError("profile '%s' in %s: source_profile '%s' does not exist" % (name, self.cli_path, profile['source_profile']))
            base = self.from_cli_profile(parent[0], cli, seen + (name,))
            return self.assume_role(base, dict(role_arn=profile['ram_role_arn'], session_name=profile.get('ram_session_name'),
                                               duration_seconds=profile.get('expired_seconds')),
                                    region=profile.get('sts_region'))
        if mode == 'EcsRamRole':
            need('ram_role_name')
            # the profile's own region_id (added by from_cli_profile) spares asking the metadata service
            hint = (profile['region_id'], source) if profile.get('region_id') else None
            return self.from_metadata(profile['ram_role_name'], source_name='profile %s (%s, EcsRamRole)' % (name, self.cli_path),
                                      region_hint=hint)
        raise CredentialsError("profile '%s' in %s uses mode %s, which is not supported (use AK, StsToken, RamRoleArn, "
                               "ChainableRamRoleArn or EcsRamRole)" % (name, self.cli_path, mode))

    def from_ini_section(self, name, section):
        return with_region(self._ini_section_credentials(name, section), section, name, self.ini_path)

    def _ini_section_credentials(self, name, section):
        source = 'profile %s (%s)' % (name, self.ini_path)
        kind = section.get('type') or ''
        need = _requirer(section, "profile '%s' (type %s) in %s" % (name, kind, self.ini_path))

        if kind == 'access_key':
            need('access_key_id', 'access_key_secret')
            return Credentials(section['access_key_id'], section['access_key_secret'], None, source)
        if kind == 'sts':
            need('access_key_id', 'access_key_secret', 'security_token')
            return Credentials(section['access_key_id'], section['access_key_secret'], section['security_token'], source)
        if kind == 'ram_role_arn':
            need('access_key_id', 'access_key_secret', 'role_arn')
            base = Credentials(section['access_key_id'], section['access_key_secret'], None, source)
            return self.assume_role(base, dict(role_arn=section['role_arn'], session_name=section.get('role_session_name'),
                                               policy=section.get('policy'), external_id=section.get('external_id'),
                                               duration_seconds=section.get('role_session_expiration')))
        if kind == 'ecs_ram_role':
            need('role_name')
            hint = (section['region_id'], source) if section.get('region_id') else None
            return self.from_metadata(section['role_name'], source_name='profile %s (%s, ecs_ram_role)' % (name, self.ini_path),
                                      region_hint=hint)
        raise CredentialsError("profile '%s' in %s has type '%s', which is not supported (use access_key, sts, ram_role_arn "
                               "or ecs_ram_role)" % (name, self.ini_path, kind))

    # metadata service
