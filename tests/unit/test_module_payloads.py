# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which of the collection's module_utils files each module carries, and which it loads.

Ansible builds a module's AnsiballZ payload from every ``import`` of an ``ansible_collections``
name it finds in the module and, recursively, in those files, nested imports included (they
become optional ones): :func:`payload` walks the same imports with ``ast``. The payload is
unpacked and compiled on every run, so the files a module imports when it starts are pinned too:
a no-change ``ram_instance_role`` never loads ECS, instance or metadata-service code.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = 'ansible_collections.alicloud.ram.plugins.module_utils'
MODULE_UTILS = ROOT / 'plugins' / 'module_utils'

# what every module of the collection carries: the module base and the path of an API call
BASE = {
    'client', 'common_args', 'connections', 'credentials', 'data', 'endpoints', 'errors', 'metadata', 'module', 'network', 'options', 'profiles', 'recording',
    'retries', 'sdk_loader', 'service', 'sts_api', 'transport', 'version',
}
RAM_RESOURCES = BASE | {'failures', 'policy', 'ram', 'ram_api', 'resource'}
INSTANCE_TOOLKIT = {'concurrency', 'ecs_api', 'instances', 'results'}
PAYLOADS = {
    'ram_instance_role': RAM_RESOURCES | {'instance_role', 'concurrency', 'ecs_api', 'instances'},
    'ram_instance_role_info': RAM_RESOURCES | {'role_info'},
    'ram_role_policy': RAM_RESOURCES | {'custom_policy', 'role_policies'},
    'ram_user_role_grant': RAM_RESOURCES | {'custom_policy', 'user_grant'},
    'ecs_instance_role_attachment': RAM_RESOURCES | INSTANCE_TOOLKIT | {'instance_attachment'},
    'ecs_instance_role_info': RAM_RESOURCES | INSTANCE_TOOLKIT | {'instance_attachment'},
    'ecs_instance_metadata_options': BASE | INSTANCE_TOOLKIT | {'failures', 'metadata_options', 'resource'},
}
# loaded when the module starts: a role or a policy task loads no ECS, instance or metadata-service code
NEVER_LOADED_BY_RAM_MODULES = {'concurrency', 'ecs_api', 'instances', 'instance_attachment', 'metadata', 'metadata_options', 'results'}


def _imported_names(path):
    """Dotted names of the collection's modules (or of their attributes) that ``path`` imports, nested imports included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update('%s.%s' % (node.module, alias.name) for alias in node.names)
            names.add(node.module)
    return set(name for name in names if name.startswith(PACKAGE + '.'))


def payload(module):
    """The module_utils files (stems) of ``module``'s payload, found as Ansible finds them."""
    found, todo = set(), [ROOT / 'plugins' / 'modules' / ('%s.py' % module)]
    while todo:
        for name in _imported_names(todo.pop()):
            stem = name[len(PACKAGE) + 1:].split('.')[0]
            path = MODULE_UTILS / ('%s.py' % stem)
            if path.exists() and stem not in found:
                found.add(stem)
                todo.append(path)
    return found


def test_every_module_is_pinned():
    modules = set(p.stem for p in (ROOT / 'plugins' / 'modules').glob('*.py') if not p.name.startswith('_'))
    assert modules == set(PAYLOADS)


@pytest.mark.parametrize('module', sorted(PAYLOADS))
def test_the_payload_holds_exactly_the_files_the_module_can_use(module):
    assert payload(module) == PAYLOADS[module]


def _loaded_at_start(module):
    code = ('import json, sys\n'
            'import ansible_collections.alicloud.ram.plugins.modules.%s\n'
            'print(json.dumps(sorted(n.rsplit(".", 1)[1] for n in sys.modules if n.startswith(%r))))' % (module, PACKAGE + '.'))
    out = subprocess.run([sys.executable, '-c', code], stdout=subprocess.PIPE, check=True, text=True)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize('module', ['ram_instance_role', 'ram_instance_role_info', 'ram_role_policy', 'ram_user_role_grant'])
def test_a_ram_module_loads_no_instance_or_metadata_code(module):
    loaded = _loaded_at_start(module)
    assert loaded & NEVER_LOADED_BY_RAM_MODULES == set()
    assert loaded <= PAYLOADS[module]
