# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sdk_loader: the SDK's unused imports wait for real use, in a module process only.

Everything that touches ``sys.modules`` runs in a fresh interpreter (``_run``), so neither
this test process nor the other tests see a stand-in. The module runs of the end-to-end tests
go through the real transport to an emulator listening on a local socket.
"""

import importlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import sdk_loader

pytest.importorskip('darabonba.core')

# what AnsiballZ does before a module runs: the module is __main__, with its own spec
AS_MODULE_PROCESS = '''
import __main__
from importlib.machinery import ModuleSpec
__main__.__spec__ = ModuleSpec('ansible_collections.alicloud.ram.plugins.modules.ram_instance_role', None)
'''
EMULATOR = '''
import threading
from ansible_collections.alicloud.ram.tests.emulator.faults import Faults
from ansible_collections.alicloud.ram.tests.emulator.server import make_server
from ansible_collections.alicloud.ram.tests.emulator.state import Config
config = Config(instances=3, classic_instances=0)
server = make_server(config, Faults(), quiet=True)
threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
url = 'http://127.0.0.1:%d' % server.server_address[1]
'''
REPORT = '''
import gc, json, ssl, sys
WATCHED = ('aiohttp', 'aiofiles', 'asyncio', 'apscheduler', 'cryptography', 'websocket')
from ansible_collections.alicloud.ram.plugins.module_utils import sdk_loader
report = {
    'real': sorted(set(n.partition('.')[0] for n, m in sys.modules.items()
                       if n.partition('.')[0] in WATCHED and not isinstance(m, sdk_loader.StandIn))),
    'aiohttp_client_loaded': 'aiohttp.client' in sys.modules,
    'ssl_contexts': sum(1 for o in gc.get_objects() if isinstance(o, ssl.SSLContext)),
    'actions': [c['action'] for c in server.app.state.calls],
    'models': dict((n, [type(sys.modules[n]).__name__, sum(1 for m in sys.modules if m.startswith(n + '._'))])
                   for n in sdk_loader.LAZY_MODELS if n in sys.modules),
}
'''
RUN_MODULE = '''
import contextlib, io, json, runpy
from ansible.module_utils import basic
basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': dict(ARGS, access_key_id=config.access_key_id,
    access_key_secret=config.access_key_secret, region='cn-hangzhou', ram_endpoint=url, ecs_endpoint=url,
    sts_endpoint=url)}).encode()
basic._ANSIBLE_PROFILE = 'legacy'
out = io.StringIO()
module_exit = None
try:
    with contextlib.redirect_stdout(out):
        runpy.run_module(MODULE, run_name='__main__', alter_sys=True)
except SystemExit as done:
    module_exit = done.code
'''


def _run(*parts, env=None):
    """Run the code ``parts`` in a fresh interpreter; return what it printed last, as JSON."""
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    full_env.pop(sdk_loader.SWITCH_ENV, None)
    full_env.update(env or {})
    code = '\n'.join(textwrap.dedent(part) for part in parts)
    proc = subprocess.run([sys.executable, '-c', code], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _module_run(module, args, env=None):
    """Run a module as AnsiballZ would (``__main__``, arguments in ``basic._ANSIBLE_ARGS``), the
    loader prepared as ``client.import_sdk`` does; ``args``: Python code that evaluates to the
    module's arguments (``server`` is the emulator). Returns the report with the module's result."""
    return _run(AS_MODULE_PROCESS, EMULATOR, 'from ansible_collections.alicloud.ram.plugins.module_utils import sdk_loader',
                'deferred = sdk_loader.prepare()',
                'MODULE = %r; ARGS = %s' % ('ansible_collections.alicloud.ram.plugins.modules.' + module, args),
                RUN_MODULE, REPORT,
                'report.update(deferred=deferred, exit=module_exit, result=json.loads(out.getvalue()))',
                'print(json.dumps(report))', env=env)


def test_nothing_is_deferred_outside_a_module_process():
    before = dict(sys.modules)
    assert sdk_loader.prepare() == []   # the test runner's __main__ is no module of the collection
    assert not [n for n, m in sys.modules.items() if isinstance(m, sdk_loader.StandIn)]
    assert set(sys.modules) >= set(before)


def test_names_already_imported_are_left_alone():
    assert sdk_loader.defer(('json', 'os')) == []
    assert not isinstance(sys.modules['json'], sdk_loader.StandIn)


def test_a_module_run_never_imports_the_deferred_packages_nor_creates_an_ssl_context():
    report = _module_run('ram_instance_role', repr({'name': 'app', 'description': 'web tier'}))
    assert report['exit'] == 0 and report['result']['changed'] is True, report
    assert report['result']['role']['role_name'] == 'app' and 'CreateRole' in report['actions']
    assert report['deferred'] == list(sdk_loader.DEFERRED)
    assert report['real'] == [] and not report['aiohttp_client_loaded'], report
    assert report['ssl_contexts'] == 0
    assert report['models']['alibabacloud_ram20150501.models'][0] == 'LazyModels'
    assert 0 < report['models']['alibabacloud_ram20150501.models'][1] <= 12, report['models']   # of about 210 model modules


def test_a_fleet_module_run_on_the_worker_pool_never_imports_them_either():
    ids = "{'instance_ids': [i['InstanceId'] for i in server.app.state.instances_in('cn-hangzhou')]}"
    report = _module_run('ecs_instance_role_info', ids)
    assert report['exit'] == 0 and report['actions'] == ['DescribeInstanceRamRole'], report
    assert report['result']['unknown_instance_ids'] == [] and report['result']['attachments'] == []
    assert report['models']['alibabacloud_ecs20140526.models'][0] == 'LazyModels'
    assert 0 < report['models']['alibabacloud_ecs20140526.models'][1] <= 6, report['models']   # of about 1,150 model modules
    assert report['real'] == [] and report['ssl_contexts'] == 0, report


def test_the_switch_turns_deferral_off():
    report = _module_run('ram_instance_role', repr({'name': 'app'}), env={sdk_loader.SWITCH_ENV: '0'})
    assert report['exit'] == 0 and report['deferred'] == []
    assert 'aiohttp' in report['real'] and report['aiohttp_client_loaded']
    assert report['models']['alibabacloud_ram20150501.models'][0] == 'module'
    assert report['models']['alibabacloud_ram20150501.models'][1] > 200


def test_the_sdk_async_api_loads_aiohttp_on_first_use_and_works():
    report = _run(AS_MODULE_PROCESS, EMULATOR, '''
        import asyncio, json, sys
        from ansible_collections.alicloud.ram.plugins.module_utils import sdk_loader
        assert sdk_loader.prepare()
        from alibabacloud_ram20150501.client import Client
        from alibabacloud_ram20150501 import models
        from alibabacloud_tea_openapi.models import Config
        from darabonba.runtime import RuntimeOptions
        import darabonba.core
        before = type(sys.modules['aiohttp']).__name__
        ram = Client(Config(access_key_id=config.access_key_id, access_key_secret=config.access_key_secret,
                            endpoint=url.split('//')[1], protocol='http', region_id='cn-hangzhou'))
        trust = '{"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["ecs.aliyuncs.com"]}}], "Version": "1"}'
        created = asyncio.run(ram.create_role_with_options_async(
            models.CreateRoleRequest(role_name='async-role', assume_role_policy_document=trust), RuntimeOptions()))
        real = sys.modules['aiohttp']
        print(json.dumps({'before': before, 'role': created.body.role.role_name, 'after': type(real).__name__,
                          'same_session_class': darabonba.core.aiohttp.ClientSession is real.ClientSession}))
    ''')
    assert report == {'before': 'StandIn', 'role': 'async-role', 'after': 'module', 'same_session_class': True}


PLACEHOLDERS = '''
    import importlib, json, os, sys, tempfile
    from ansible_collections.alicloud.ram.plugins.module_utils import sdk_loader
    root = tempfile.mkdtemp()
    os.makedirs(os.path.join(root, 'Tea_probe'))
    with open(os.path.join(root, 'Tea_probe', '__init__.py'), 'w') as handle:
        handle.write('from fractions import Fraction\\nimport decimal\\n'
                     'def half(x: decimal.Decimal) -> Fraction:\\n    return Fraction(x) / 2\\n')
    sys.path.insert(0, root)
    sdk_loader.SDK_PACKAGES = frozenset(['Tea_probe'])
    assert sdk_loader.defer(['fractions', 'decimal', 'xml.dom']) == ['fractions', 'decimal', 'xml.dom']
    import Tea_probe
    bound = {'fraction': repr(Tea_probe.Fraction), 'annotation': repr(Tea_probe.half.__annotations__['x']),
             'still_deferred': sorted(n for n in ('fractions', 'decimal') if isinstance(sys.modules[n], sdk_loader.StandIn))}
    half = Tea_probe.half(3)
    used = {'half': str(half), 'isinstance': isinstance(half, Tea_probe.Fraction), 'real': type(sys.modules['fractions']).__name__,
            'same_class': type(half) is importlib.import_module('fractions').Fraction}
    import xml.dom.minidom  # a submodule of a deferred package, imported by someone else: the real package loads
    used['minidom'] = xml.dom.minidom.parseString('<a/>').documentElement.tagName
    print(json.dumps({'bound': bound, 'used': used}))
'''


def test_placeholders_bound_at_import_resolve_on_use():
    report = _run(PLACEHOLDERS)
    assert report['bound'] == {'fraction': '<deferred fractions.Fraction>', 'annotation': '<deferred decimal.Decimal>',
                               'still_deferred': ['decimal', 'fractions']}
    assert report['used'] == {'half': '3/2', 'isinstance': True, 'real': 'module', 'same_class': True, 'minidom': 'a'}


def test_a_placeholder_used_as_a_base_class_at_import_loads_the_real_class():
    report = _run('''
        import json, os, sys, tempfile
        from ansible_collections.alicloud.ram.plugins.module_utils import sdk_loader
        root = tempfile.mkdtemp()
        with open(os.path.join(root, 'Tea_base.py'), 'w') as handle:
            handle.write('from fractions import Fraction\\nclass Third(Fraction):\\n    pass\\n')
        sys.path.insert(0, root)
        sdk_loader.SDK_PACKAGES = frozenset(['Tea_base'])
        sdk_loader.defer(['fractions'])
        import Tea_base
        real = sys.modules['fractions']
        print(json.dumps({'real': type(real).__name__, 'subclass': issubclass(Tea_base.Third, real.Fraction),
                          'value': str(Tea_base.Third(2, 6))}))
    ''')
    assert report == {'real': 'module', 'subclass': True, 'value': '1/3'}


def test_first_use_from_many_threads_imports_the_real_module_once():
    report = _run('''
        import json, sys, threading
        from ansible_collections.alicloud.ram.plugins.module_utils import sdk_loader
        sdk_loader.defer(['fractions'])
        standin = sys.modules['fractions']
        seen = []
        threads = [threading.Thread(target=lambda: seen.append(id(standin.load()))) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(json.dumps({'distinct': len(set(seen)), 'count': len(seen), 'real': sys.modules['fractions'] is standin.load(),
                          'forwarded': str(standin.Fraction(1, 3))}))
    ''')
    assert report == {'distinct': 1, 'count': 8, 'real': True, 'forwarded': '1/3'}


@pytest.mark.parametrize('package, name', [('alibabacloud_ram20150501', 'GetRoleRequest'),
                                           ('alibabacloud_ecs20140526', 'DescribeInstanceRamRoleResponseBodyInstanceRamRoleSets'),
                                           ('alibabacloud_sts20150401', 'AssumeRoleResponseBody')])
def test_the_installed_sdks_models_packages_can_load_lazily(package, name):
    spec = importlib.util.find_spec(package + '.models')
    index = sdk_loader.model_index(spec.origin)
    assert index is not None and len(index) > 10
    module = importlib.import_module(package + '.models' + index[name], package + '.models')
    assert getattr(module, name).__name__ == name


def test_a_models_package_with_other_code_loads_as_usual(tmp_path):
    path = tmp_path / '__init__.py'
    path.write_text('from __future__ import annotations\n\nfrom ._a import A\n__all__ = [\n    A\n]\n')
    assert sdk_loader.model_index(str(path)) == {'A': '._a'}
    path.write_text('from ._a import A\nA.default = 1\n')
    assert sdk_loader.model_index(str(path)) is None
    path.write_text('from ._a import A\n__all__ = [\n    B\n]\n')
    assert sdk_loader.model_index(str(path)) is None


def test_lazy_models_import_a_model_module_on_first_use():
    report = _run(AS_MODULE_PROCESS, '''
        import json, sys
        from ansible_collections.alicloud.ram.plugins.module_utils import sdk_loader
        sdk_loader.prepare()
        from alibabacloud_ecs20140526 import models
        before = sorted(m for m in sys.modules if m.startswith('alibabacloud_ecs20140526.models.'))
        request = models.DescribeInstanceRamRoleRequest(region_id='cn-hangzhou', instance_ids='["i-1"]')
        try:
            models.NoSuchModel
            missing = 'found'
        except AttributeError:
            missing = 'AttributeError'
        print(json.dumps({'type': type(models).__name__, 'before': before, 'request': request.to_map(), 'missing': missing,
                          'after': sorted(m for m in sys.modules if m.startswith('alibabacloud_ecs20140526.models.')),
                          'listed': 'TagResourcesRequestTag' in dir(models)}))
    ''')
    assert report == {'type': 'LazyModels', 'before': [], 'request': {'RegionId': 'cn-hangzhou', 'InstanceIds': '["i-1"]'},
                      'missing': 'AttributeError', 'after': ['alibabacloud_ecs20140526.models._describe_instance_ram_role_request'],
                      'listed': True}
