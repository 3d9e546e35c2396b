# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""requirements.txt lists exactly the third-party packages plugins/ imports, with bounds, and
every place that tells users what to install says the same."""

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import yaml

from ansible_collections.alicloud.ram.plugins.doc_fragments.requirements import ModuleDocFragment

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / 'plugins'
REQUIREMENT = re.compile(r'^(?P<name>[A-Za-z0-9._-]+)>=(?P<lower>[0-9][0-9.]*),<(?P<upper>[0-9][0-9.]*)$')
# The same in the requirements doc fragment: ``name (>=LOWER, <UPPER)``.
DOCUMENTED = re.compile(r'^(?P<name>[A-Za-z0-9._-]+) \((?P<lower>>=[0-9][0-9.]*), (?P<upper><[0-9][0-9.]*)\)$')
# Calls that import the module named by their first (string) argument.
IMPORTING_CALLS = {'import_module', '_import', '__import__'}
# client.SdkPackage(module, pip name): the SDKs it imports when a client for a service is built.
DECLARED_IMPORTS = {'SdkPackage'}
NOT_THIRD_PARTY = {'ansible', 'ansible_collections', '__future__'}
# Documents that tell users which packages to install.
PACKAGE_LISTS = ('README.md', 'docs/awx.md')


def canonical(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def requirement_lines(path):
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith('#')]


def requirements(path=ROOT / 'requirements.txt'):
    """``{canonical name: line}`` of a requirements file."""
    return dict((canonical(re.split(r'[<>=!~;\[ ]', line, maxsplit=1)[0]), line) for line in requirement_lines(path))


def _called_name(call):
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', None)


def imported_modules(source):
    """Top-level names of the modules a Python source imports: import statements, and calls of
    importlib.import_module-like functions or SdkPackage declarations with a literal module name."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Call) and _called_name(node) in IMPORTING_CALLS | DECLARED_IMPORTS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return set(name.split('.')[0] for name in found)


def third_party_imports():
    """``{top-level module: [files]}`` of everything under plugins/ outside the standard library and Ansible."""
    found = {}
    for path in sorted(PLUGINS.rglob('*.py')):
        for name in imported_modules(path.read_text()):
            if name not in sys.stdlib_module_names and name not in NOT_THIRD_PARTY:
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def distribution_of(module):
    """The canonical name of the installed distribution that provides a top-level module."""
    providers = importlib.metadata.packages_distributions().get(module)
    assert providers, '%s is imported by plugins/ but no installed distribution provides it' % module
    assert len(set(map(canonical, providers))) == 1, (module, providers)
    return canonical(providers[0])


def test_the_scanner_sees_every_kind_of_import():
    source = '\n'.join(['import os.path', 'import alpha.beta', 'from gamma import delta', 'from . import local',
                        "importlib.import_module('epsilon.zeta')", "_import('eta')", "SdkPackage('theta.iota', 'theta')",
                        "_import(name + '.models')"])
    assert imported_modules(source) == {'os', 'alpha', 'gamma', 'epsilon', 'eta', 'theta'}


def test_requirements_are_exactly_what_plugins_import():
    imports = third_party_imports()
    needed = dict((distribution_of(module), files) for module, files in imports.items())
    listed = set(requirements())
    assert {name: needed[name] for name in set(needed) - listed} == {}, 'imported by plugins/ but not in requirements.txt'
    assert sorted(listed - set(needed)) == [], 'in requirements.txt but imported nowhere under plugins/'


def test_every_requirement_has_a_lower_and_an_upper_bound():
    for line in requirements().values():
        match = REQUIREMENT.match(line)
        assert match, '%r: expected name>=LOWER,<UPPER' % line
        lower = tuple(int(part) for part in match.group('lower').split('.'))
        upper = tuple(int(part) for part in match.group('upper').split('.'))
        assert lower < upper, line


def test_installed_versions_are_within_the_bounds():
    for name, line in requirements().items():
        match = REQUIREMENT.match(line)
        installed = tuple(int(part) for part in re.findall(r'\d+', importlib.metadata.version(name))[:3])
        lower = tuple(int(part) for part in match.group('lower').split('.'))
        upper = tuple(int(part) for part in match.group('upper').split('.'))
        assert lower <= installed < upper, '%s %s installed' % (line, importlib.metadata.version(name))


def test_ci_pins_the_sdks_at_their_lower_bounds():
    pins = requirements(ROOT / 'test-requirements.txt')
    for name, line in requirements().items():
        if name.startswith(('alibabacloud-', 'darabonba-')):
            assert pins.get(name) == '%s==%s' % (name, REQUIREMENT.match(line).group('lower')), name


def test_unit_test_requirements_match():
    assert requirements(ROOT / 'tests' / 'unit' / 'requirements.txt') == requirements()


def test_the_requirements_doc_fragment_lists_requirements_txt():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['requirements']
    packages = ['{name}{lower},{upper}'.format(**DOCUMENTED.match(entry).groupdict()) for entry in documented if DOCUMENTED.match(entry)]
    assert packages == list(requirements().values())
    assert any('pip install -r requirements.txt' in entry for entry in documented)
    lookup = yaml.safe_load(ModuleDocFragment.LOOKUP)['requirements']
    assert not any(DOCUMENTED.match(entry) for entry in lookup)


def test_documents_that_list_the_packages_list_all_of_them():
    names = set(requirements())
    for document in PACKAGE_LISTS:
        text = (ROOT / document).read_text(encoding='utf-8')
        listed = set(canonical(name) for name in re.findall(r'`([a-z0-9-]+)`', text)) & (names | {'alibabacloud-credentials'})
        assert listed == names, '%s names %s; requirements.txt: %s' % (document, sorted(listed), sorted(names))
