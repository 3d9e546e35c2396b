# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests that keep the layering true: registration, versions, and one place for each job."""

import ast
import re
from pathlib import Path

import yaml


ROOT = Path(__file__).resolve().parents[2]
MODULE_UTILS = ROOT / 'plugins' / 'module_utils'
MODULES = ROOT / 'plugins' / 'modules'

# The service layer: the only files that call ServiceClient.call with an action name.
SERVICE_LAYER = {'ram_api.py', 'ecs_api.py', 'sts_api.py'}


def _sources(folder):
    return sorted(p for p in folder.glob('*.py') if p.name != '__init__.py')


def _calls_with_action(path):
    """Lines calling ``<something>.call('<Action>', ...)`` / ``call_or_none(...)`` with a literal action name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ('call', 'call_or_none'):
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


def test_one_thread_pool():
    users = [p.name for p in _sources(MODULE_UTILS) if re.search(r'\bThreadPoolExecutor\b|\bthreading\.Thread\(', p.read_text())]
    assert users == ['concurrency.py']


def test_modules_are_a_spec_plus_a_short_main():
    for path in _sources(MODULES):
        tree = ast.parse(path.read_text())
        mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == 'main']
        assert len(mains) == 1, path.name
        assert len(mains[0].body) <= 3, '%s: main() should build the module and run its resource' % path.name
        classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
        assert classes == [], '%s defines classes; resource logic belongs in module_utils' % path.name
