# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check recordings (ALIBABA_CLOUD_RECORD files) of runs against the emulator.

Usage: python tests/tools/check_recordings.py RECORDING [RECORDING ...]

For each file: every line is a call (service, action, version, params, status, body); no value under
a secret's key (secret, signature, password, authorization, a security or OIDC token) is anything but
the mask, and none of the emulator's known secrets appears anywhere; then tests/emulator/conformance.py
replays it against a fresh emulator and must report zero differences. Exit 0 when every file passes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MASK = '********'
SECRET_KEY_PARTS = ('secret', 'signature', 'password', 'authorization')
SECRET_TOKEN_KEYS = ('securitytoken', 'oidctoken', 'token', 'ststoken', 'accesstoken')
KNOWN_SECRETS = ('EmulatorAdminSecretDoNotUse0001',)
FIELDS = ('service', 'action', 'version', 'params', 'status', 'body')


def is_secret_key(key):
    """Written apart from the collection's recorder on purpose: the check must not share the recorder's mistakes."""
    key = str(key).lower().replace('-', '').replace('_', '')
    return any(part in key for part in SECRET_KEY_PARTS) or key in SECRET_TOKEN_KEYS or key.endswith('securitytoken')


def unmasked(value, path=''):
    """Paths of secret-keyed values that are not masked."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = '%s.%s' % (path, key) if path else str(key)
            if is_secret_key(key) and not isinstance(item, (dict, list)):
                if item not in (MASK, None, ''):
                    found.append(where)
            else:
                found.extend(unmasked(item, where))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(unmasked(item, '%s[%d]' % (path, index)))
    return found


def problems_of(path):
    problems = []
    lines = path.read_text().splitlines()
    if not lines:
        return ['%s: no calls recorded' % path]
    for number, line in enumerate(lines, 1):
        if any(secret in line for secret in KNOWN_SECRETS):
            problems.append('%s:%d: a known secret appears' % (path, number))
        entry = json.loads(line)
        missing = [field for field in FIELDS if field not in entry]
        if missing:
            problems.append('%s:%d: no %s' % (path, number, ', '.join(missing)))
        problems.extend('%s:%d: %s is not masked' % (path, number, where) for where in unmasked(entry))
    replay = subprocess.run([sys.executable, str(REPO_ROOT / 'tests' / 'emulator' / 'conformance.py'), str(path)], cwd=str(REPO_ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if replay.returncode != 0:
        problems.append('%s: conformance: %s' % (path, replay.stdout.strip().replace('\n', '; ')))
    return problems


def main(argv):
    paths = [Path(arg) for arg in argv[1:]]
    if not paths:
        sys.stderr.write(__doc__)
        return 2
    problems = []
    for path in paths:
        problems.extend(problems_of(path))
    for problem in problems:
        print(problem)
    calls = sum(len(p.read_text().splitlines()) for p in paths)
    print('%d recording(s), %d calls: %s' % (len(paths), calls, 'no secret, 0 differences' if not problems else '%d problem(s)' % len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
