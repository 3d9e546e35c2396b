# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run real ``ansible-playbook`` processes against the installed collection and the emulator.

Typical use in a test (fixtures from conftest.py)::

    def test_role_is_created(runner, emu):
        res = runner.run_tasks([
            {'name': 'create', 'alicloud.ram.ram_instance_role': {'name': 'app'}},
        ])
        assert res.result(0)['status'] == 'changed', res
        assert emu.write_calls(), res

``run_tasks`` fails the test (``AssertionError`` carrying the run's full output) when the
playbook fails unexpectedly, or succeeds although ``expect_failure=True``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CALLBACK_DIR = HERE / 'callback_plugins'
RESULTS_FILE_ENV = 'ALICLOUD_RAM_RESULTS_FILE'
ACTION_GROUP = 'group/alicloud.ram.alicloud'
DEFAULT_REGION = 'cn-hangzhou'
DEFAULT_TIMEOUT = 600
# Variables from the caller's environment that could point a run at a real account.
_SCRUBBED_PREFIXES = ('ALIBABA_CLOUD_', 'ALICLOUD_', 'ANSIBLE_')
_RECAP_LINE = re.compile(r'^(?P<host>\S+)\s*:\s*(?P<counts>(?:\w+=\d+\s*)+)$')


def venv_bin():
    """The directory holding the Python running the tests (and its ansible-* scripts)."""
    return Path(sys.executable).parent


def ansible_command(name):
    """Path of an ansible CLI from the same environment as the test run."""
    candidate = venv_bin() / name
    if not candidate.exists():
        raise RuntimeError('%s not found next to %s: run the tests from the project virtualenv' % (name, sys.executable))
    return str(candidate)


class PlaybookResult:
    """Outcome of one ansible-playbook run."""

    def __init__(self, command, rc, stdout, stderr, results, workdir):
        self.command = command
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.results = results
        self.workdir = workdir
        self.recap_by_host = parse_recap(stdout)

    @property
    def recap(self):
        """PLAY RECAP counts (ok, changed, unreachable, failed, skipped, rescued, ignored) over all hosts."""
        total = {}
        for counts in self.recap_by_host.values():
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value
        return total

    @property
    def changed(self):
        """True when any task reported a change."""
        return any(item['changed'] for item in self.results)

    @property
    def failed(self):
        """True when the run failed (non-zero exit status or a failed task that was not ignored)."""
        return self.rc != 0 or any(
            item['status'] in ('failed', 'unreachable') and not item.get('ignored') for item in self.results)

    def result(self, index):
        """The recorded result at ``index`` (negative indexes count from the end)."""
        try:
            return self.results[index]
        except IndexError:
            raise AssertionError('no task result #%d (%d recorded)\n%s' % (index, len(self.results), self)) from None

    def by_name(self, name):
        """The last recorded result of the task called ``name``."""
        for item in reversed(self.results):
            if item['task'] == name:
                return item
        raise AssertionError('no result for task %r; recorded: %r\n%s' % (name, [i['task'] for i in self.results], self))

    def module_result(self, index_or_name):
        """The module's own result dict for a task index or name."""
        if isinstance(index_or_name, int):
            return self.result(index_or_name)['result']
        return self.by_name(index_or_name)['result']

    def __str__(self):
        return '\n'.join((
            '$ %s' % ' '.join(self.command),
            'rc=%s  workdir=%s' % (self.rc, self.workdir),
            '--- stdout ---',
            self.stdout.rstrip(),
            '--- stderr ---',
            self.stderr.rstrip(),
        ))

    __repr__ = __str__


def parse_recap(stdout):
    """Parse the PLAY RECAP section into {host: {counter: int}}."""
    recap = {}
    in_recap = False
    for line in stdout.splitlines():
        if line.startswith('PLAY RECAP'):
            in_recap = True
            continue
        if not in_recap:
            continue
        match = _RECAP_LINE.match(line.strip())
        if match:
            counts = dict(pair.split('=') for pair in match.group('counts').split())
            recap[match.group('host')] = {key: int(value) for key, value in counts.items()}
        elif line.strip():
            in_recap = False
    return recap


def read_results(path):
    """Load the JSON lines the results_recorder callback wrote."""
    if not os.path.exists(path):
        return []
    with open(path, encoding='utf-8') as handle:
        return [json.loads(line) for line in handle if line.strip()]


class PlaybookRunner:
    """Runs playbooks with the installed collection against an emulator.

    ``collection_path`` is the directory holding ``ansible_collections/`` (where the collection
    tarball was installed); ``emulator`` is a ``tests.emulator.process.EmulatorProcess`` or None
    (no cloud settings in the environment).  Every run is kept in ``history``.
    """

    def __init__(self, collection_path, emulator, workdir=None, region=DEFAULT_REGION, timeout=DEFAULT_TIMEOUT):
        self.collection_path = str(collection_path)
        self.emulator = emulator
        self.region = region
        self.timeout = timeout
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix='alicloud-ram-runs-'))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.history = []
        self._count = 0

    # -- environment ---------------------------------------------------------------------------

    def cloud_env(self):
        """Environment variables pointing the collection at the emulator."""
        if self.emulator is None:
            return {}
        url = self.emulator.url
        return {
            'ALIBABA_CLOUD_ACCESS_KEY_ID': self.emulator.access_key_id,
            'ALIBABA_CLOUD_ACCESS_KEY_SECRET': self.emulator.access_key_secret,
            'ALIBABA_CLOUD_REGION_ID': self.region,
            'ALIBABA_CLOUD_RAM_ENDPOINT': url,
            'ALIBABA_CLOUD_ECS_ENDPOINT': url,
            'ALIBABA_CLOUD_STS_ENDPOINT': url,
            'ALIBABA_CLOUD_METADATA_ENDPOINT': url,
        }

    def module_defaults(self):
        """The play-level module_defaults for the collection's action group."""
        if self.emulator is None:
            return {}
        url = self.emulator.url
        return {ACTION_GROUP: {
            'access_key_id': self.emulator.access_key_id,
            'access_key_secret': self.emulator.access_key_secret,
            'region': self.region,
            'ram_endpoint': url,
            'ecs_endpoint': url,
            'sts_endpoint': url,
        }}

    def environment(self, results_file, env=None):
        """The full environment of an ansible-playbook run; ``env`` values of None remove keys."""
        full = {key: value for key, value in os.environ.items() if not key.startswith(_SCRUBBED_PREFIXES)}
        full['PATH'] = os.pathsep.join((str(venv_bin()), full.get('PATH', os.defpath)))
        full.pop('PYTHONPATH', None)
        full.update({
            'ANSIBLE_COLLECTIONS_PATH': self.collection_path,
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_HOST_KEY_CHECKING': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
            'ANSIBLE_PIPELINING': '1',
            'ANSIBLE_LOCAL_TEMP': str(self.workdir / 'ansible-tmp'),
            'ANSIBLE_CALLBACK_PLUGINS': str(CALLBACK_DIR),
            'ANSIBLE_CALLBACKS_ENABLED': 'results_recorder',
            RESULTS_FILE_ENV: str(results_file),
        })
        full.update(self.cloud_env())
        for key, value in (env or {}).items():
            if value is None:
                full.pop(key, None)
            else:
                full[key] = str(value)
        return full

    # -- runs ----------------------------------------------------------------------------------

    def _new_run_dir(self):
        self._count += 1
        run_dir = self.workdir / ('run-%03d' % self._count)
        run_dir.mkdir(parents=True)
        return run_dir

    def _inventory(self, run_dir):
        path = run_dir / 'inventory.ini'
        path.write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
        return path

    def run_tasks(self, tasks, check=False, diff=False, extra_vars=None, env=None, verbosity=0,
                  module_defaults=True, vars=None, expect_failure=False):  # pylint: disable=redefined-builtin
        """Run ``tasks`` (a list of task dicts) as one localhost play.

        ``module_defaults``: True adds the emulator's credentials, region and endpoints for the
        ``group/alicloud.ram.alicloud`` action group; False adds none (tests of the environment
        fallbacks); a dict is used as the play's ``module_defaults`` verbatim.
        ``vars`` become play vars, ``extra_vars`` are passed with ``-e @file``.
        """
        run_dir = self._new_run_dir()
        play = {
            'name': 'alicloud.ram integration test',
            'hosts': 'localhost',
            'gather_facts': False,
            'connection': 'local',
        }
        if module_defaults is True:
            defaults = self.module_defaults()
        elif module_defaults:
            defaults = dict(module_defaults)
        else:
            defaults = {}
        if defaults:
            play['module_defaults'] = defaults
        if vars:
            play['vars'] = dict(vars)
        play['tasks'] = list(tasks)
        playbook = run_dir / 'playbook.yml'
        # JSON is valid YAML; it keeps the written playbook free of YAML-quoting surprises.
        playbook.write_text(json.dumps([play], indent=2))
        return self._run(run_dir, playbook, check=check, diff=diff, extra_vars=extra_vars, env=env,
                         verbosity=verbosity, expect_failure=expect_failure)

    def run_playbook(self, path, check=False, diff=False, extra_vars=None, env=None, verbosity=0,
                     expect_failure=False, extra_args=(), cwd=None):
        """Run an existing playbook file (for example one of the collection's playbooks/)."""
        run_dir = self._new_run_dir()
        return self._run(run_dir, Path(path).resolve(), check=check, diff=diff, extra_vars=extra_vars, env=env,
                         verbosity=verbosity, expect_failure=expect_failure, extra_args=extra_args, cwd=cwd)

    def _run(self, run_dir, playbook, check, diff, extra_vars, env, verbosity, expect_failure,
             extra_args=(), cwd=None):
        results_file = run_dir / 'results.jsonl'
        command = [ansible_command('ansible-playbook'), '-i', str(self._inventory(run_dir))]
        if check:
            command.append('--check')
        if diff:
            command.append('--diff')
        if verbosity:
            command.append('-' + 'v' * int(verbosity))
        if extra_vars:
            extra_path = run_dir / 'extra_vars.json'
            extra_path.write_text(json.dumps(extra_vars))
            command.extend(['-e', '@%s' % extra_path])
        command.extend(extra_args)
        command.append(str(playbook))
        try:
            proc = subprocess.run(command, cwd=str(cwd or run_dir), env=self.environment(results_file, env),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  errors='replace', timeout=self.timeout, check=False)
            rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            rc = -1
            stdout = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b'').decode('utf-8', 'replace')
            stderr = 'timed out after %ss\n' % self.timeout
        (run_dir / 'stdout.txt').write_text(stdout)
        (run_dir / 'stderr.txt').write_text(stderr)
        result = PlaybookResult(command, rc, stdout, stderr, read_results(results_file), run_dir)
        self.history.append(result)
        if expect_failure and not result.failed:
            raise AssertionError('the playbook was expected to fail but succeeded\n%s' % result)
        if not expect_failure and result.failed:
            raise AssertionError('the playbook failed\n%s' % result)
        return result
