# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The credential chain shared by every module and the lookup.

Sources set on the task (options, also through ``module_defaults``) come first, and a task
names at most one of them: ``access_key_id`` + ``access_key_secret`` (+ ``security_token``),
``profile``, ``ecs_role_name``, or ``oidc_provider_arn`` + ``oidc_token_file`` (with
``assume_role.role_arn`` as the role); two of them on one task is an error naming both. Without
one, the environment and the files decide, first match wins (the order of the official
credentials library's default chain, ours with named profiles and instance roles explicit):

1. ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` (+ ``ALIBABA_CLOUD_SECURITY_TOKEN``),
   then the legacy ``ALICLOUD_ACCESS_KEY`` / ``ALICLOUD_SECRET_KEY`` (+ ``ALICLOUD_SECURITY_TOKEN``);
2. pod identity (RRSA): ``ALIBABA_CLOUD_ROLE_ARN``, ``ALIBABA_CLOUD_OIDC_PROVIDER_ARN`` and
   ``ALIBABA_CLOUD_OIDC_TOKEN_FILE`` all set (+ ``ALIBABA_CLOUD_ROLE_SESSION_NAME``);
3. ``ALIBABA_CLOUD_PROFILE``: a profile of ``~/.aliyun/config.json``, then of
   ``~/.alibabacloud/credentials.ini`` (or ``ALIBABA_CLOUD_CREDENTIALS_FILE``);
4. ``ALIBABA_CLOUD_ECS_METADATA``: the instance RAM role, from the metadata service;
5. the default profiles of those files (the CLI file's ``current`` profile, the ini ``[default]`` section);

then ``assume_role`` (STS AssumeRole) on top of whichever credential was found; when the option
is not given, ``ALICLOUD_ASSUME_ROLE_ARN`` (with ``ALICLOUD_ASSUME_ROLE_SESSION_NAME`` and
``ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION``, the names alibaba.alicloud uses) supplies it.
Empty environment variables count as unset (AWX credential types inject empty optional fields).

OIDC credentials come from STS AssumeRoleWithOIDC, an anonymous call (no AccessKey signs it)
made with the token read from its file on every run: the platform rewrites that file before the
token expires, so a token is never kept.

The credentials also carry a region hint: the chosen profile's ``region_id``, or for an
instance RAM role the metadata service's ``region-id`` (asked only when neither the ``region``
option nor a region variable is set).

alibabacloud_credentials is not used for the chain itself: its metadata provider cannot be
pointed at another endpoint, it starts a background refresh thread, its OIDC provider sends with
its own transport (no sts_endpoint option, proxies or deadlines of ours), and it cannot keep an
explicit precedence with our option names.
"""

import json
import os
import time

from ansible_collections.alicloud.ram.plugins.module_utils import endpoints, sts_api
from ansible_collections.alicloud.ram.plugins.module_utils.data import truthy
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, MetadataError, format_error, remember_secrets
from ansible_collections.alicloud.ram.plugins.module_utils.profiles import ANONYMOUS, Credentials, CredentialsError, ProfileSources, pair
from ansible_collections.alicloud.ram.plugins.module_utils.retries import call_until_visible

DEFAULT_SESSION_NAME = 'ansible-alicloud-ram'
# STS may not see a role created moments ago; AssumeRole waits this long for it to appear.
ROLE_VISIBILITY_CODES = ('EntityNotExist.Role',)
ROLE_VISIBILITY_TIMEOUT = 30.0

ENV_KEYS = ('ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALIBABA_CLOUD_SECURITY_TOKEN')
LEGACY_ENV_KEYS = ('ALICLOUD_ACCESS_KEY', 'ALICLOUD_SECRET_KEY', 'ALICLOUD_SECURITY_TOKEN')
PROFILE_ENV = 'ALIBABA_CLOUD_PROFILE'
LEGACY_PROFILE_ENV = 'ALICLOUD_PROFILE'
ECS_ROLE_ENV = 'ALIBABA_CLOUD_ECS_METADATA'
LEGACY_ECS_ROLE_ENV = 'ALICLOUD_ECS_ROLE_NAME'
ECS_METADATA_DISABLED_ENV = 'ALIBABA_CLOUD_ECS_METADATA_DISABLED'
RRSA_ENV = ('ALIBABA_CLOUD_ROLE_ARN', 'ALIBABA_CLOUD_OIDC_PROVIDER_ARN', 'ALIBABA_CLOUD_OIDC_TOKEN_FILE')
ROLE_SESSION_NAME_ENV = 'ALIBABA_CLOUD_ROLE_SESSION_NAME'
ASSUME_ROLE_ARN_ENV = 'ALICLOUD_ASSUME_ROLE_ARN'
ASSUME_ROLE_SESSION_NAME_ENV = 'ALICLOUD_ASSUME_ROLE_SESSION_NAME'
ASSUME_ROLE_SESSION_EXPIRATION_ENV = 'ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION'

NOTHING_FOUND = (
    'No Alibaba Cloud credentials found. Set access_key_id and access_key_secret (or the environment variables '
    'ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET), or oidc_provider_arn and oidc_token_file with '
    'assume_role.role_arn (ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE and ALIBABA_CLOUD_ROLE_ARN), '
    'or profile (ALIBABA_CLOUD_PROFILE) naming a profile of ~/.aliyun/config.json or ~/.alibabacloud/credentials.ini '
    '(ALIBABA_CLOUD_CREDENTIALS_FILE), or ecs_role_name (ALIBABA_CLOUD_ECS_METADATA) on an ECS instance with a RAM role.'
)
# what an AssumeRoleWithOIDC refusal means, by the start of its code
OIDC_REFUSALS = (
    ('AuthenticationFail.OIDCToken.Expired', 'the token has expired: the file must hold a fresh token (on ACK the platform '
                                             'rewrites it before it expires)'),
    ('AuthenticationFail.OIDCToken', 'STS does not accept this token from the OIDC provider (its issuer, audience or signature, '
                                     'or the provider itself; see the code)'),
    ('AuthenticationFail.NoPermission', "the OIDC provider does not exist or the role's trust policy does not trust it "
                                        '(Principal Federated, and its oidc: conditions)'),
)


# the options that each name one credential source of a task
TASK_SOURCES = (
    ('access_key_id', ('access_key_id', 'access_key_secret', 'security_token')),
    ('profile', ('profile',)),
    ('ecs_role_name', ('ecs_role_name',)),
    ('oidc_provider_arn', ('oidc_provider_arn', 'oidc_token_file')),
)


class _Resolver(ProfileSources):
    def __init__(self, options, sts_client_factory, metadata_client_factory, env, home):
        self.options = options
        self.env = os.environ if env is None else env
        self.home = home if home is not None else os.path.expanduser('~')
        self.sts_client_factory = sts_client_factory or _default_sts_client_factory
        self.metadata_client_factory = metadata_client_factory or _metadata_client_for
        self.visibility_timeout = ROLE_VISIBILITY_TIMEOUT
        self.sleep = time.sleep

    # paths
    # sources
    def from_options(self):
        opts = self.options
        return pair(opts.get('access_key_id'), opts.get('access_key_secret'), opts.get('security_token'),
                    ('access_key_id', 'access_key_secret', 'security_token'), 'options')

    def from_env(self):
        env = self.env
        found = pair(env.get(ENV_KEYS[0]), env.get(ENV_KEYS[1]), env.get(ENV_KEYS[2]), ENV_KEYS, 'env')
        if found is None:
            found = pair(env.get(LEGACY_ENV_KEYS[0]), env.get(LEGACY_ENV_KEYS[1]), env.get(LEGACY_ENV_KEYS[2]),
                         LEGACY_ENV_KEYS, 'env (legacy ALICLOUD_*)')
        return found

    def from_metadata(self, role_name, source_name=None, region_hint=None):
        try:
            client = self.metadata_client_factory(self.options, self.env)
        except MetadataError as err:
            raise CredentialsError(err.msg) from None
        try:
            values = client.role_credentials(role_name)
        except MetadataError as err:
            raise CredentialsError('cannot get the credentials of instance RAM role %s: %s' % (role_name, err.msg)) from None
        if region_hint is None and endpoints.find_region(self.options, self.env) == (None, None):
            region_hint = self.metadata_region(client)
        return Credentials(values['access_key_id'], values['access_key_secret'], values['security_token'],
                           source_name or 'ecs_role_name %s' % role_name, values.get('expiration'), region_hint)

    @staticmethod
    def metadata_region(client):
        """``(region, source)`` from the metadata service, or None when it cannot tell."""
        try:
            return client.region_id(), 'metadata service %s (region-id)' % client.endpoint
        except MetadataError:
            return None

    def ecs_role_name(self):
        """The instance RAM role named by the environment, or None."""
        if truthy(self.env.get(ECS_METADATA_DISABLED_ENV)):
            return None
        return self.env.get(ECS_ROLE_ENV) or self.env.get(LEGACY_ECS_ROLE_ENV) or None

    # STS
    def assume_role_from_env(self):
        """The ``assume_role`` spec from ``ALICLOUD_ASSUME_ROLE_*``, or None when no role ARN is set."""
        role_arn = (self.env.get(ASSUME_ROLE_ARN_ENV) or '').strip()
        if not role_arn:
            return None
        spec = {'role_arn': role_arn, 'session_name': (self.env.get(ASSUME_ROLE_SESSION_NAME_ENV) or '').strip() or None}
        expiration = (self.env.get(ASSUME_ROLE_SESSION_EXPIRATION_ENV) or '').strip()
        if expiration:
            try:
                spec['duration_seconds'] = int(expiration)
            except ValueError:
                raise CredentialsError('%s must be an integer number of seconds' % ASSUME_ROLE_SESSION_EXPIRATION_ENV) from None
        return spec

    @staticmethod
    def session_terms(spec):
        """``(role_arn, session name, duration or None, policy text or None)`` of an ``assume_role`` spec."""
        role_arn = spec.get('role_arn')
        if not role_arn:
            raise CredentialsError('assume_role needs role_arn')
        duration = spec.get('duration_seconds')
        if duration:
            try:
                duration = int(duration)
            except (TypeError, ValueError):
                raise CredentialsError('assume_role duration_seconds must be an integer number of seconds') from None
        policy = spec.get('policy')
        if policy and not isinstance(policy, str):
            policy = json.dumps(policy, separators=(',', ':'), sort_keys=True)
        return role_arn, spec.get('session_name') or DEFAULT_SESSION_NAME, duration or None, policy or None

    def until_visible(self, call):
        # a role created moments ago may not be visible to STS yet: wait that out, briefly
        return call_until_visible(call, ROLE_VISIBILITY_CODES, self.visibility_timeout, sleep=self.sleep)

    def assume_role(self, base, spec, region=None):
        role_arn, session_name, duration, policy = self.session_terms(spec)
        try:
            client = self.sts_client_factory(base, self.options, region)
            creds = self.until_visible(
                lambda: sts_api.assume_role(client, role_arn, session_name, duration, policy, spec.get('external_id') or None))
        except AlicloudApiError as err:
            raise CredentialsError(format_error(err, 'assume_role %s (with credentials from %s)' % (role_arn, base.source)),
                                   api_error=err) from None
        return _issued(creds, role_arn, 'assume_role %s (via %s)' % (role_arn, base.source), base.region_hint)

    # pod identity (RRSA): OIDC token file + STS AssumeRoleWithOIDC
    def from_oidc_options(self):
        spec = self.options.get('assume_role') or {}
        given = (('oidc_provider_arn', self.options.get('oidc_provider_arn')), ('oidc_token_file', self.options.get('oidc_token_file')),
                 ('assume_role.role_arn', spec.get('role_arn')))
        missing = [name for name, value in given if not value]
        if missing:
            raise CredentialsError('oidc_provider_arn, oidc_token_file and assume_role.role_arn go together; %s not set' % (
                ' and '.join(missing) + (' is' if len(missing) == 1 else ' are')))
        return self.assume_role_with_oidc(spec, given[0][1], given[1][1], 'option oidc_token_file')

    def from_rrsa_env(self):
        """Credentials of the pod's role when the three RRSA variables are set, else None."""
        role_arn, provider_arn, token_file = [(self.env.get(name) or '').strip() for name in RRSA_ENV]
        if not (role_arn and provider_arn and token_file):
            return None
        spec = {'role_arn': role_arn, 'session_name': (self.env.get(ROLE_SESSION_NAME_ENV) or '').strip() or None}
        return self.assume_role_with_oidc(spec, provider_arn, token_file, RRSA_ENV[2])

    def assume_role_with_oidc(self, spec, provider_arn, token_file, token_source):
        role_arn, session_name, duration, policy = self.session_terms(spec)
        where = 'the OIDC token file %s (%s)' % (token_file, token_source)
        token = read_oidc_token(token_file, where)
        try:
            client = self.sts_client_factory(ANONYMOUS, self.options, None)
            creds = self.until_visible(
                lambda: sts_api.assume_role_with_oidc(client, role_arn, provider_arn, token, session_name, duration, policy))
        except AlicloudApiError as err:
            text = format_error(err, 'AssumeRoleWithOIDC of %s with %s' % (role_arn, where))
            hints = [hint for prefix, hint in OIDC_REFUSALS if (err.code or '').startswith(prefix)]
            raise CredentialsError(text + ('; ' + hints[0] if hints else ''), api_error=err) from None
        return _issued(creds, role_arn, 'OIDC role %s (provider %s, token file %s)' % (role_arn, provider_arn, token_file), None)

    def partial_rrsa_env(self):
        """Why an incomplete set of RRSA variables was passed over ('' when none or all are set)."""
        unset = [name for name in RRSA_ENV if not (self.env.get(name) or '').strip()]
        if 0 < len(unset) < len(RRSA_ENV):
            return ' (pod identity needs %s set as well)' % ' and '.join(unset)
        return ''

    def task_source(self):
        """The one credential source named by the task's options, or None; two or more are an error."""
        named = [source for source, options in TASK_SOURCES if any(self.options.get(option) for option in options)]
        if len(named) > 1:
            raise CredentialsError('this task sets %s and %s (options or module_defaults), which name different credential '
                                   'sources: set only one of them' % (', '.join(named[:-1]), named[-1]))
        return named[0] if named else None

    def from_environment(self):
        """The first source the environment and the files offer, or None."""
        base = self.from_env()
        if base is None:
            base = self.from_rrsa_env()
        if base is None:
            profile = self.env.get(PROFILE_ENV) or self.env.get(LEGACY_PROFILE_ENV)
            if profile:
                base = self.from_named_profile(profile)
        if base is None:
            role_name = self.ecs_role_name()
            if role_name:
                base = self.from_metadata(role_name)
        if base is None:
            base = self.from_default_profiles()
        return base

    def resolve(self):
        source = self.task_source()
        if source == 'access_key_id':
            base = self.from_options()
        elif source == 'profile':
            base = self.from_named_profile(self.options.get('profile'))
        elif source == 'ecs_role_name':
            base = self.from_metadata(self.options.get('ecs_role_name'))
        elif source == 'oidc_provider_arn':
            # the task's assume_role names the OIDC role itself: nothing is assumed on top
            return self.from_oidc_options()
        else:
            base = self.from_environment()
        if base is None:
            raise CredentialsError(NOTHING_FOUND + self.partial_rrsa_env())
        assume = self.options.get('assume_role') or self.assume_role_from_env()
        if assume:
            return self.assume_role(base, assume)
        return base


def _issued(creds, role_arn, source, region_hint):
    """Credentials from an STS ``Credentials`` answer."""
    if not (creds.get('AccessKeyId') and creds.get('AccessKeySecret') and creds.get('SecurityToken')):
        raise CredentialsError('%s: the STS answer holds no credentials' % role_arn)
    return Credentials(creds['AccessKeyId'], creds['AccessKeySecret'], creds['SecurityToken'], source, creds.get('Expiration'),
                       region_hint)


def read_oidc_token(path, where):
    """The OIDC token held by ``path``, read now (it is rewritten before it expires) and remembered as a secret."""
    try:
        with open(os.path.expanduser(path), 'rb') as handle:
            token = handle.read().decode('utf-8').strip()
    except (IOError, OSError) as err:
        raise CredentialsError('cannot read %s: %s' % (where, err.strerror or type(err).__name__)) from None
    except UnicodeDecodeError:
        raise CredentialsError('%s does not hold a token (not UTF-8 text)' % where) from None
    if not token:
        raise CredentialsError('%s is empty' % where)
    remember_secrets(token)
    return token


def _metadata_client_for(options, env=None):
    # imported here: only credentials from the metadata service need the metadata client
    from ansible_collections.alicloud.ram.plugins.module_utils.metadata import metadata_client_for  # pylint: disable=import-outside-toplevel

    return metadata_client_for(options, env)


def _default_sts_client_factory(credentials, options, region=None):
    # imported here: only code paths that really call STS need its SDK
    from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
    return client_utils.service_client_for('sts', credentials, options, region=region)


def resolve_credentials(options, sts_client_factory=None, metadata_client_factory=None, env=None, home=None):
    """Resolve the credentials to use; raise :class:`CredentialsError` when none are usable.

    ``options``: an OptionAdapter (or anything with ``get(name)``).
    ``sts_client_factory(credentials, options, region)`` returns an object with ``call(action, params)``.
    ``metadata_client_factory(options, env)`` returns a MetadataClient (default ``metadata.metadata_client_for``).
    ``env`` (mapping) and ``home`` (directory) default to the real ones.
    """
    return _Resolver(options, sts_client_factory, metadata_client_factory, env, home).resolve()
