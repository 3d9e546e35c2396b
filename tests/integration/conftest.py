# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the integration tests.

- ``emulator`` (session): a local Alibaba Cloud emulator process; each pytest-xdist worker
  starts its own.
- ``collection_tarball`` (session): the collection built with ``ansible-galaxy collection build``.
- ``collection_path`` (session): that tarball installed with ``ansible-galaxy collection install
  --offline --force`` into a temporary collections path (the directory holding
  ``ansible_collections/``). ``--force`` because without it ansible-galaxy installs nothing when
  the same version is in one of the default paths already (``~/.ansible/collections``, where the
  README's install puts it).
- ``emu`` (function): the emulator, reset to its initial state.
- ``runner`` (function): a ``harness.PlaybookRunner`` bound to ``collection_path`` and ``emu``.

When a test fails, the output of every playbook it ran is attached to the report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from harness import PlaybookRunner, ansible_command  # noqa: E402  pylint: disable=wrong-import-position


def _galaxy(*args, cwd=None):
    command = [ansible_command('ansible-galaxy'), 'collection'] + list(args)
    env = {key: value for key, value in os.environ.items() if not key.startswith('ANSIBLE_')}
    proc = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    if proc.returncode != 0:
        pytest.fail('%s failed (rc=%s):\n%s' % (' '.join(command), proc.returncode, proc.stdout), pytrace=False)
    return proc.stdout


@pytest.fixture(scope='session')
def collection_tarball(tmp_path_factory):
    """Build the collection from the repository; return the tarball's path."""
    build_dir = tmp_path_factory.mktemp('build')
    _galaxy('build', str(REPO_ROOT), '--output-path', str(build_dir), '--force')
    tarballs = sorted(build_dir.glob('alicloud-ram-*.tar.gz'))
    assert len(tarballs) == 1, 'expected one collection tarball in %s, found %s' % (build_dir, tarballs)
    return tarballs[0]


@pytest.fixture(scope='session')
def collection_path(tmp_path_factory, collection_tarball):
    """Install the built collection into a collections path of its own; return that path."""
    installed = tmp_path_factory.mktemp('collections')
    _galaxy('install', '--offline', '--force', '-p', str(installed), str(collection_tarball))
    assert (installed / 'ansible_collections' / 'alicloud' / 'ram' / 'MANIFEST.json').is_file()
    return installed


@pytest.fixture(scope='session')
def emulator():
    """One emulator process per test session (per xdist worker)."""
    from tests.emulator.process import start_emulator  # pylint: disable=import-outside-toplevel

    proc = start_emulator(cwd=str(REPO_ROOT))
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def emu(emulator):
    """The session's emulator, reset to a clean state for this test."""
    emulator.reset()
    return emulator


@pytest.fixture
def runner(request, collection_path, emu, tmp_path):
    """A PlaybookRunner using the installed collection and the freshly reset emulator."""
    playbook_runner = PlaybookRunner(collection_path, emu, workdir=tmp_path / 'runs')
    request.node.playbook_runner = playbook_runner
    return playbook_runner


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the output of the test's playbook runs to the report of a failed test."""
    outcome = yield
    report = outcome.get_result()
    playbook_runner = getattr(item, 'playbook_runner', None)
    if report.failed and call.when == 'call' and playbook_runner is not None:
        for index, run in enumerate(playbook_runner.history, 1):
            report.sections.append(('ansible-playbook run %d' % index, str(run)))
