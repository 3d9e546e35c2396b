# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The STS operations the collection uses (see ``service.operation``)."""

from ansible_collections.alicloud.ram.plugins.module_utils.service import operation


@operation('assume role {role_arn}')
def assume_role(sts, role_arn, session_name, duration_seconds=None, policy=None, external_id=None):
    """The ``Credentials`` dict (``AccessKeyId``, ``AccessKeySecret``, ``SecurityToken``, ``Expiration``)."""
    params = {'RoleArn': role_arn, 'RoleSessionName': session_name, 'DurationSeconds': duration_seconds,
              'Policy': policy, 'ExternalId': external_id}
    return sts.call('AssumeRole', params).get('Credentials') or {}


@operation('assume role {role_arn} with an OIDC token')
def assume_role_with_oidc(sts, role_arn, provider_arn, token, session_name, duration_seconds=None, policy=None):
    """The ``Credentials`` dict, like :func:`assume_role`; ``sts`` needs no credentials (the call is anonymous)."""
    params = {'RoleArn': role_arn, 'OIDCProviderArn': provider_arn, 'OIDCToken': token, 'RoleSessionName': session_name,
              'DurationSeconds': duration_seconds, 'Policy': policy}
    return sts.call('AssumeRoleWithOIDC', params).get('Credentials') or {}
