# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The RAM policy docs/real-cloud.md gives for runs against an account names every API action the
collection calls, and nothing else.

The actions are read from the service layer (plugins/module_utils/<service>_api.py), the only code
that names them: ``<client>.call('Action', ...)``, ``'Prefix' + wrapper`` over the principals table,
or an ``action`` parameter that callers in the same file pass as a literal. Anything else fails the
test, so a new way of naming an action cannot slip past it.
"""

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SERVICE_LAYER = ROOT / 'plugins' / 'module_utils'
POLICY = Path(__file__).resolve().parent / 'alicloud-ram-integration-policy.json'
GUIDE = ROOT / 'docs' / 'real-cloud.md'
SERVICES = {'ram_api.py': 'ram', 'ecs_api.py': 'ecs', 'sts_api.py': 'sts'}
# Permissions that are not API calls of their own: AttachInstanceRamRole needs the caller to be
# allowed to pass the role.
EXTRA_PERMISSIONS = {'ram:PassRole'}
# STS is only called for the credential sources that need it (assume_role, RRSA); the targets use
# an AccessKey or a profile, so the policy leaves them out and the guide names them.
CREDENTIAL_SOURCE_ACTIONS = {'sts:AssumeRole', 'sts:AssumeRoleWithOIDC'}
CALL_METHODS = ('call', 'call_or_none')


class Unresolved(AssertionError):
    pass


def _module_constant(tree, name):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise Unresolved('no module-level constant %s' % name)


def _functions(tree):
    return {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def _literal_arguments(tree, function, parameter):
    """The literal values callers in this file pass for ``parameter`` of ``function``."""
    position = [arg.arg for arg in _functions(tree)[function].args.args].index(parameter)
    values = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function:
            given = [kw.value for kw in node.keywords if kw.arg == parameter]
            given = given or node.args[position:position + 1]
            if not given or not isinstance(given[0], ast.Constant):
                raise Unresolved('%s() at line %d: %s is not a literal' % (function, node.lineno, parameter))
            values.append(given[0].value)
    return values


def _enclosing_functions(tree):
    parents = {}
    for function in _functions(tree).values():
        for node in ast.walk(function):
            parents.setdefault(node, function)
    return parents


def actions_called(path):
    """The action names one service-layer file calls."""
    tree = ast.parse(path.read_text())
    enclosing = _enclosing_functions(tree)
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CALL_METHODS):
            continue
        action = node.args[0] if node.args else None
        where = '%s line %d' % (path.name, node.lineno)
        if isinstance(action, ast.Constant) and isinstance(action.value, str):
            found.add(action.value)
        elif (isinstance(action, ast.BinOp) and isinstance(action.op, ast.Add) and isinstance(action.left, ast.Constant)
              and isinstance(action.right, ast.Name) and action.right.id == 'wrapper'):
            found.update(action.left.value + wrapper for wrapper, _key in _module_constant(tree, 'PRINCIPALS').values())
        elif isinstance(action, ast.Name) and action.id in [a.arg for a in enclosing[node].args.args]:
            found.update(_literal_arguments(tree, enclosing[node].name, action.id))
        else:
            raise Unresolved('cannot tell which action %s calls: name it in a way this test reads' % where)
    return found


def collection_actions():
    return {'%s:%s' % (service, action) for name, service in SERVICES.items() for action in actions_called(SERVICE_LAYER / name)}


def policy_actions():
    document = json.loads(POLICY.read_text())
    assert document['Version'] == '1'
    assert all(statement['Effect'] == 'Allow' for statement in document['Statement'])
    actions = [action for statement in document['Statement'] for action in statement['Action']]
    assert len(actions) == len(set(actions)), 'an action is listed twice'
    return set(actions)


def test_every_service_layer_file_is_known():
    assert sorted(p.name for p in SERVICE_LAYER.glob('*_api.py')) == sorted(SERVICES)


def test_the_reader_finds_the_actions_of_each_form():
    called = collection_actions()
    # a literal, a prefix over the principals table, and a literal passed to a paging helper
    assert {'ram:CreateRole', 'ram:AttachPolicyToGroup', 'ram:ListRoles', 'ecs:ModifyInstanceMetadataOptions'} <= called


def test_the_policy_allows_every_ram_and_ecs_action_the_collection_calls():
    needed = {action for action in collection_actions() if not action.startswith('sts:')}
    assert sorted(needed - policy_actions()) == []


def test_the_policy_allows_nothing_else():
    extra = policy_actions() - collection_actions() - EXTRA_PERMISSIONS
    assert sorted(extra) == []
    assert not [action for action in policy_actions() if '*' in action]


def test_sts_is_called_only_for_the_credential_sources_the_guide_names():
    sts = {action for action in collection_actions() if action.startswith('sts:')}
    assert sts <= CREDENTIAL_SOURCE_ACTIONS
    assert not sts & policy_actions()
    guide = GUIDE.read_text()
    for action in CREDENTIAL_SOURCE_ACTIONS:
        assert action in guide


def test_the_guide_points_at_this_policy_and_it_fits_in_a_policy_document():
    assert str(POLICY.relative_to(ROOT)) in GUIDE.read_text()
    assert len(json.dumps(json.loads(POLICY.read_text()), separators=(',', ':'))) <= 6144


def test_an_action_named_another_way_fails_the_reader(tmp_path):
    source = tmp_path / 'odd_api.py'
    source.write_text("def f(ram, name):\n    return ram.call(name.title() + 'Role', {})\n")
    try:
        actions_called(source)
    except Unresolved as err:
        assert 'odd_api.py line 2' in str(err)
    else:
        raise AssertionError('an unresolvable action name was accepted')
