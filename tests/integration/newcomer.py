# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A newcomer's checkout and shell, for tests that run the project's commands as written.

- :func:`copy_of_checkout`: the files a clone has (tracked, and new files not ignored);
- :func:`newcomer_environment`: the caller's environment without its Ansible, cloud and
  virtualenv settings, with a HOME of the test's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Prefixes of the caller's variables a newcomer's shell would not have.
DROPPED = ('ANSIBLE_', 'ALIBABA_CLOUD_', 'ALICLOUD_', 'EMULATOR_', 'VIRTUAL_ENV', 'PYTHONPATH', 'PYTEST_')


def copy_of_checkout(dest, with_venv=True):
    """Copy the files a clone would have to ``dest``; with ``with_venv``, link the project's .venv
    into it (the virtualenv `make venv` would build there from the same requirement files)."""
    listed = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, check=True).stdout.decode()
    for name in filter(None, listed.split('\0')):
        source = REPO_ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if with_venv:
        (dest / '.venv').symlink_to(REPO_ROOT / '.venv')
    return dest


def newcomer_environment(home, workdir):
    """The caller's environment without its Ansible, cloud and virtualenv settings; HOME is ``home``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(DROPPED)}
    venv_bin = str(REPO_ROOT / '.venv' / 'bin')
    env['PATH'] = os.pathsep.join(part for part in env.get('PATH', '').split(os.pathsep) if part != venv_bin)
    pyenv_root = os.environ.get('PYENV_ROOT') or os.path.expanduser('~/.pyenv')
    if os.path.isdir(pyenv_root):
        env['PYENV_ROOT'] = pyenv_root  # pyenv's shims find their Pythons under the real HOME
    env['HOME'] = str(home)
    env['ALICLOUD_RAM_WORKDIR'] = str(workdir)  # the scratch space of tests/tools (emulator pid, collection tree)
    return env
