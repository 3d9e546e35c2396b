# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Argument spec shared by every module; documented in doc_fragments/common.py.

Environment variables are deliberately not wired in with ``env_fallback``: credentials.py
and endpoints.py resolve them, so precedence and legacy names live in one place (and an
option set on the task is told apart from a variable of the environment).
"""

import copy

DEFAULT_RETRIES = 5
DEFAULT_RETRY_TIMEOUT = 120
DEFAULT_CONNECT_TIMEOUT = 5
# read_timeout has no default in the spec: unset, calls get this, the batch instance RAM role APIs the official core's longer one
DEFAULT_READ_TIMEOUT = 10
# the bounds of connect_timeout, read_timeout and retry_timeout (seconds)
MAX_TIMEOUT = 3600
MAX_RETRIES = 100

ASSUME_ROLE_SPEC = dict(
    role_arn=dict(type='str', required=True),
    session_name=dict(type='str'),
    duration_seconds=dict(type='int'),
    policy=dict(type='json'),
    external_id=dict(type='str', no_log=False),
)

COMMON_ARGUMENT_SPEC = dict(
    access_key_id=dict(type='str', aliases=['alicloud_access_key'], no_log=False),
    access_key_secret=dict(type='str', aliases=['alicloud_secret_key'], no_log=True),
    security_token=dict(type='str', aliases=['alicloud_security_token'], no_log=True),
    region=dict(type='str', aliases=['alicloud_region', 'region_id']),
    profile=dict(type='str'),
    ecs_role_name=dict(type='str'),
    oidc_provider_arn=dict(type='str'),
    # a path, not a secret: the token stays in the file
    oidc_token_file=dict(type='path', no_log=False),
    metadata_endpoint=dict(type='str'),
    assume_role=dict(type='dict', options=ASSUME_ROLE_SPEC),
    ram_endpoint=dict(type='str'),
    ecs_endpoint=dict(type='str'),
    sts_endpoint=dict(type='str'),
    network=dict(type='str', choices=['public', 'vpc']),
    retries=dict(type='int', default=DEFAULT_RETRIES),
    retry_timeout=dict(type='float', default=DEFAULT_RETRY_TIMEOUT),
    connect_timeout=dict(type='float', default=DEFAULT_CONNECT_TIMEOUT),
    read_timeout=dict(type='float'),
    # no_log: a proxy URL may carry a password (user:password@proxy)
    http_proxy=dict(type='str', no_log=True),
    https_proxy=dict(type='str', no_log=True),
    no_proxy=dict(type='str'),
    ca_bundle=dict(type='path'),
    validate_certs=dict(type='bool', default=True),
)


def merged_argument_spec(argument_spec=None):
    """A fresh copy of the common spec with a module's own options on top."""
    spec = copy.deepcopy(COMMON_ARGUMENT_SPEC)
    spec.update(copy.deepcopy(argument_spec or {}))
    return spec
