# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The project's commands work for someone who installed the collection as the README says.

The README's install puts alicloud.ram into ``~/.ansible/collections``. The tools install the
collection they build into collections paths of their own; without ``--force``, ansible-galaxy
installs nothing there when the same version is in a default path already ("Nothing to do"), and
`make demo` and the integration tests then fail. Here a fresh HOME first gets the same version
in ``~/.ansible/collections``, then, in a copy of the checkout with that HOME, `make demo` and the
README's one-test command run and pass.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from harness import ansible_command
from newcomer import copy_of_checkout, newcomer_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
ONE_TEST = re.compile(r'^(\.venv/bin/python -m pytest tests/integration/\S+\.py[^#\n]*?)\s*(?:#.*)?$', re.MULTILINE)
TIMEOUT = 900


def one_test_command(markdown):
    """The first one-test command (`.venv/bin/python -m pytest tests/integration/...`) of a Markdown page."""
    match = ONE_TEST.search(markdown)
    assert match, 'no ".venv/bin/python -m pytest tests/integration/..." command'
    return match.group(1).strip()


@pytest.fixture(scope='module')
def newcomer(tmp_path_factory, collection_tarball):
    """``(checkout, environment)``: a copy of the checkout, and a shell environment whose HOME holds
    the same collection version in ``~/.ansible/collections``, installed as the README does."""
    home = tmp_path_factory.mktemp('home')
    checkout = copy_of_checkout(tmp_path_factory.mktemp('clone') / 'alicloud.ram')
    env = newcomer_environment(home, tmp_path_factory.mktemp('work'))
    proc = subprocess.run([ansible_command('ansible-galaxy'), 'collection', 'install', '--offline', str(collection_tarball)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    assert (home / '.ansible' / 'collections' / 'ansible_collections' / 'alicloud' / 'ram' / 'MANIFEST.json').is_file()
    return checkout, env


def _shell(command, checkout, env):
    return subprocess.run(['bash', '--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', command], cwd=checkout, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=TIMEOUT, check=False)


def test_readme_and_contributing_give_the_same_one_test_command():
    command = one_test_command((REPO_ROOT / 'README.md').read_text(encoding='utf-8'))
    assert command == one_test_command((REPO_ROOT / 'CONTRIBUTING.md').read_text(encoding='utf-8'))


def test_make_demo_passes_beside_a_user_installed_copy(newcomer):
    checkout, env = newcomer
    proc = _shell('make demo', checkout, env)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert 'Demo finished' in proc.stdout
    assert 'Nothing to do' not in proc.stdout


def test_one_integration_test_passes_beside_a_user_installed_copy(newcomer):
    checkout, env = newcomer
    command = one_test_command((REPO_ROOT / 'README.md').read_text(encoding='utf-8'))
    proc = _shell('%s -p no:cacheprovider' % command, checkout, env)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert re.search(r'\b1 passed\b', proc.stdout), proc.stdout[-3000:]
