# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's quick start runs exactly as written.

The shell blocks of "Quick start" / "Against the local emulator" in README.md are run verbatim,
in order, by one fresh ``bash`` in a copy of the repository (the files a clone has), with a fresh
HOME (so the collection is installed where a newcomer's would be, not into the real one) and none
of the caller's Ansible or Alibaba Cloud variables. They build and install the collection, start
their own emulator with ``make emulator``, create the user, write and run the playbook twice,
read the credentials with the lookup and stop the emulator. The numbers the README promises
(``changed=`` of both runs) are read from the README and checked against the runs. Then the
Install section's ``ansible-doc`` lines run against the collection the quick start installed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from newcomer import copy_of_checkout, newcomer_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / 'README.md'
SECTION = '### Against the local emulator'
RECAP = re.compile(r'^localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0', re.MULTILINE)
EXPIRATION = re.compile(r'"msg": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"')
PROMISE = re.compile(r'first run reports `changed=(\d+)`, the second `changed=(\d+)`')


def section_text(markdown, heading):
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip('#'))
    lines = markdown.splitlines()
    start = lines.index(heading) + 1
    for end in range(start, len(lines)):
        if re.match(r'#{1,%d} ' % level, lines[end]):
            return '\n'.join(lines[start:end])
    return '\n'.join(lines[start:])


def shell_blocks(text):
    """The bodies of the ```bash fenced blocks of ``text``, in order."""
    return [match.group(1) for match in re.finditer(r'^```bash\n(.*?)^```$', text, re.MULTILINE | re.DOTALL)]


def test_readme_sections_hold_the_quick_start():
    markdown = README.read_text(encoding='utf-8')
    blocks = shell_blocks(section_text(markdown, SECTION))
    assert len(blocks) >= 3, 'expected the setup, playbook and lookup blocks under %r' % SECTION
    script = '\n'.join(blocks)
    for needed in ('make -s emulator', 'ansible-galaxy collection install', 'ansible-playbook', 'make emulator-stop'):
        assert needed in script
    assert PROMISE.search(markdown), 'the README no longer says what the two runs report'
    real_account = '\n'.join(shell_blocks(section_text(markdown, '### Against a real account')))
    assert 'ansible-playbook web-oss-reader.yml' in real_account
    assert subprocess.run(['bash', '-n'], input=real_account, text=True, check=False).returncode == 0


def test_quick_start_runs_as_written(tmp_path):
    if not (REPO_ROOT / '.venv' / 'bin' / 'python').exists():
        pytest.skip('needs the project virtualenv (make venv)')
    markdown = README.read_text(encoding='utf-8')
    script = '\n'.join(shell_blocks(section_text(markdown, SECTION)))
    clone, home, workdir = tmp_path / 'alicloud.ram', tmp_path / 'home', tmp_path / 'work'
    home.mkdir()
    copy_of_checkout(clone)
    env = newcomer_environment(home, workdir)
    try:
        proc = subprocess.run(['bash', '--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', script], cwd=clone, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=900, check=False)
    finally:
        subprocess.run(['bash', str(clone / 'tests' / 'tools' / 'emulator.sh'), 'stop'], env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    output = proc.stdout
    assert proc.returncode == 0, 'the quick start failed (rc=%s):\n%s' % (proc.returncode, output[-6000:])

    first, second = (int(number) for number in PROMISE.search(markdown).groups())
    assert [int(changed) for changed in RECAP.findall(output)] == [first, second], output[-6000:]
    assert EXPIRATION.search(output), 'the lookup printed no expiration:\n' + output[-3000:]
    assert 'stopped the emulator' in output
    assert (home / '.ansible' / 'collections' / 'ansible_collections' / 'alicloud' / 'ram' / 'MANIFEST.json').is_file()
    assert 'EmulatorAdminSecretDoNotUse0001' not in output

    # The Install section's ansible-doc lines work on the collection the quick start installed.
    docs = [block for block in shell_blocks(section_text(markdown, '## Install')) if 'ansible-doc' in block]
    assert len(docs) == 1
    proc = subprocess.run(['bash', '--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', 'source .venv/bin/activate\n' + docs[0]],
                          cwd=clone, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    for shown in ('alicloud.ram.ram_instance_role', 'alicloud.ram.ecs_instance_metadata_options',
                  'alicloud.ram.metadata_credentials', 'alicloud.ram.instance_role'):
        assert shown in proc.stdout
    assert 'not found' not in proc.stdout
