# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Recordings of API calls: with ``ALIBABA_CLOUD_RECORD=FILE`` every call is appended to FILE as one JSON line.

A line holds ``service``, ``action``, ``version``, ``region``, ``params`` (as sent), ``status`` and
``body`` (the answer's JSON, or null for an empty or non-JSON answer), every secret, token and
signature replaced: what a user attaches to a report when the real cloud answers otherwise than
the emulator (``tests/emulator/conformance.py RECORDING`` replays such a file against it).
"""

import json
import os
import threading

from urllib.parse import parse_qsl, urlsplit

from ansible_collections.alicloud.ram.plugins.module_utils.errors import REDACTED, redact

RECORD_ENV = 'ALIBABA_CLOUD_RECORD'

SERVICE_OF_VERSION = {'2015-05-01': 'ram', '2014-05-26': 'ecs', '2015-04-01': 'sts'}
# parameter and answer keys whose values are secret: any key holding one of these words (compared lower case),
# and the tokens that are credentials (not paging tokens like NextToken, nor settings like HttpTokens)
_SECRET_KEY_PARTS = ('secret', 'signature', 'password', 'authorization')
_SECRET_TOKEN_KEYS = ('securitytoken', 'oidctoken', 'token', 'ststoken', 'accesstoken')
_record_lock = threading.Lock()


def is_secret_key(key):
    key = str(key).lower().replace('-', '').replace('_', '')
    return any(part in key for part in _SECRET_KEY_PARTS) or key in _SECRET_TOKEN_KEYS or key.endswith('securitytoken')


def _without_secrets(value):
    if isinstance(value, dict):
        return dict((k, REDACTED if is_secret_key(k) and not isinstance(v, (dict, list)) else _without_secrets(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _json_or_none(content):
    try:
        body = json.loads((content or b'').decode('utf-8'))
    except ValueError:
        return None
    return body if isinstance(body, (dict, list)) else None


def record(request, url, status, content, env=None):
    """Append one call to the file ALIBABA_CLOUD_RECORD names (nothing when it is not set)."""
    path = (os.environ if env is None else env).get(RECORD_ENV)
    if not path:
        return
    headers = dict((str(k).lower(), v) for k, v in (request.headers or {}).items())
    version = headers.get('x-acs-version')
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    entry = {'service': SERVICE_OF_VERSION.get(version, urlsplit(url).hostname), 'action': headers.get('x-acs-action') or params.get('Action'),
             'version': version, 'region': params.get('RegionId'), 'params': _without_secrets(params), 'status': status,
             'body': _without_secrets(_json_or_none(content))}
    line = redact(json.dumps(entry, sort_keys=True)) + '\n'
    with _record_lock:
        with open(path, 'a') as handle:
            handle.write(line)
