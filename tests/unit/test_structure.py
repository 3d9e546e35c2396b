# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests that keep the layering true: registration, and one place for each job."""

import ast
import re
from pathlib import Path

import yaml


ROOT = Path(__file__).resolve().parents[2]
MODULE_UTILS = ROOT / 'plugins' / 'module_utils'
MODULES = ROOT / 'plugins' / 'modules'

# The service layer: the only files that call ServiceClient.call with an action name.
SERVICE_LAYER = {'ram_api.py', 'ecs_api.py', 'sts_api.py'}
# The only files that look at check mode: the module base reads the flag, the writer of resource.py acts on it.
CHECK_MODE_READERS = {'module.py', 'resource.py'}
MAX_MODULE_UTILS_LINES = 400


def _sources(folder):
    return sorted(p for p in folder.glob('*.py') if p.name != '__init__.py')


def _tree(path):
    return ast.parse(path.read_text())


def _calls_with_action(path):
    """Lines calling ``<something>.call('<Action>', ...)`` with a literal (or built) action name."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == 'call':
            first = node.args[0] if node.args else None
            if isinstance(first, (ast.Constant, ast.BinOp, ast.JoinedStr)):
                found.append(node.lineno)
    return found


def test_every_module_is_in_the_action_group():
    runtime = yaml.safe_load((ROOT / 'meta' / 'runtime.yml').read_text())
    group = set(runtime['action_groups']['alicloud'])
    modules = set(p.stem for p in _sources(MODULES))
    assert modules - group == set(), 'modules missing from the action group alicloud'
    assert group - modules == set(), 'action group entries without a module'


def test_every_module_utils_file_is_described_in_the_architecture_page():
    page = (ROOT / 'docs' / 'architecture.md').read_text()
    missing = [p.name for p in _sources(MODULE_UTILS) if '`%s`' % p.name not in page]
    assert missing == []


def test_only_the_service_layer_names_api_actions():
    offenders = {}
    for path in _sources(MODULE_UTILS) + _sources(MODULES) + _sources(ROOT / 'plugins' / 'lookup'):
        if path.name in SERVICE_LAYER:
            continue
        lines = _calls_with_action(path)
        if lines:
            offenders[path.name] = lines
    assert offenders == {}, 'API actions called outside ram_api/ecs_api/sts_api'


def test_the_service_layer_is_called_through_operations():
    """Every public function of ram_api/ecs_api that calls the API is an ``operation`` (one failure naming, missing/done codes)."""
    for name in ('ram_api.py', 'ecs_api.py'):
        for node in _tree(MODULE_UTILS / name).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith('_') and any(
                    isinstance(n, ast.Attribute) and n.attr == 'call' for n in ast.walk(node)):
                decorators = [d.func.id for d in node.decorator_list if isinstance(d, ast.Call) and isinstance(d.func, ast.Name)]
                assert decorators == ['operation'], '%s: %s' % (name, node.name)


def test_one_thread_pool():
    """concurrency.py holds the one pool of workers; connections.py starts one thread besides, the deadlines' watchdog."""
    pools = [p.name for p in _sources(MODULE_UTILS) if re.search(r'\bThreadPoolExecutor\b', p.read_text())]
    threads = dict((p.name, len(re.findall(r'\bthreading\.Thread\(', p.read_text()))) for p in _sources(MODULE_UTILS))
    assert pools == ['concurrency.py']
    assert dict((name, count) for name, count in threads.items() if count) == {'connections.py': 1}


def test_only_the_writer_looks_at_check_mode():
    """Check mode walks the path of a real run: no resource branches on ``check_mode`` or on the writer's ``predict``."""
    offenders = {}
    for path in _sources(MODULE_UTILS):
        if path.name in CHECK_MODE_READERS:
            continue
        lines = [node.lineno for node in ast.walk(_tree(path))
                 if isinstance(node, ast.Attribute) and node.attr in ('check_mode', 'predict')]
        if lines:
            offenders[path.name] = lines
    assert offenders == {}


def test_module_utils_files_stay_small():
    sizes = dict((p.name, len(p.read_text().splitlines())) for p in _sources(MODULE_UTILS))
    assert dict((name, lines) for name, lines in sizes.items() if lines > MAX_MODULE_UTILS_LINES) == {}


def test_modules_are_a_spec_plus_a_two_line_main():
    for path in _sources(MODULES):
        tree = _tree(path)
        mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == 'main']
        assert len(mains) == 1, path.name
        assert len(mains[0].body) == 2, '%s: main() builds the module and runs its resource' % path.name
        classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
        assert classes == [], '%s defines classes; resource logic belongs in module_utils' % path.name
