# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one test double of the unit tests: the emulator's engine behind the real SDK, in process.

``DaraCore.do_action`` (the SDK's single HTTP exit) is replaced by a function that hands the
signed request to the emulator application (``tests/emulator``) and builds the SDK's response
from its answer. Modules, service functions and clients run unchanged: real request models,
real signing, real error parsing, real state, no socket.

    def test_something(emulated):
        result = emulated.run(ram_instance_role, {'name': 'app'})
        assert result['changed']
        assert emulated.write_actions() == ['CreateRole']

    def test_a_service_function(emulated):
        ram = emulated.client('ram')          # the one way a test gets a ServiceClient
        assert ram_api.get_role(ram, 'app') is None

Scripted answers (``emulated.script(...)``) stand for what the emulator cannot do on its own in
a unit test: a write denied, a reply lost or answered with an empty body after the write took
effect.

Time is virtual (:class:`VirtualClock`, the ``clock`` fixture): backoff waits, polls and
deadlines of the collection advance it instead of sleeping, so no unit test waits for real.
"""

import functools
import json
import threading
from urllib.parse import urlsplit

import pytest
from darabonba.core import DaraCore
from darabonba.exceptions import RetryError
from darabonba.response import DaraResponse

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.plugins.module_utils import custom_policy, instance_attachment, instances, resource, retries
from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import WorkerPool
from ansible_collections.alicloud.ram.plugins.module_utils.credentials import Credentials
from ansible_collections.alicloud.ram.plugins.module_utils.errors import EMPTY_ANSWER_CODE, TransportFailure
from ansible_collections.alicloud.ram.plugins.module_utils.options import OptionAdapter
from ansible_collections.alicloud.ram.tests.emulator import ecs as emulator_ecs
from ansible_collections.alicloud.ram.tests.emulator.faults import Faults
from ansible_collections.alicloud.ram.tests.emulator.server import SERVICES, Emulator
from ansible_collections.alicloud.ram.tests.emulator.state import Config

ENDPOINT = 'http://127.0.0.1:9'   # never connected: requests end in the emulator engine
REGION = 'cn-hangzhou'
# the plugin files whose waits run on the virtual clock (each reads ``time.sleep`` / ``time.monotonic`` when it waits)
CLOCKED_MODULES = (client_utils, custom_policy, instance_attachment, instances, resource)


class VirtualClock(object):
    """Stands for the ``time`` module: ``sleep`` advances ``monotonic`` at once and is logged in ``sleeps``."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []
        self._lock = threading.Lock()

    def monotonic(self):
        with self._lock:
            return self.now

    def time(self):
        return 1700000000.0 + self.monotonic()

    def sleep(self, seconds):
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)


@pytest.fixture
def clock(monkeypatch):
    """A :class:`VirtualClock` for every wait of the collection's engine (backoff, polls, deadlines, retry budgets)."""
    virtual = VirtualClock()
    for module in CLOCKED_MODULES:
        monkeypatch.setattr(module, 'time', virtual)
    monkeypatch.setattr(client_utils, 'RetryPolicy', functools.partial(retries.RetryPolicy, clock=virtual.monotonic))
    return virtual


class ModuleExit(Exception):
    """``exit_json`` / ``fail_json`` of a module run under :meth:`EmulatedCloud.run`."""

    def __init__(self, result, failed):
        super(ModuleExit, self).__init__(result)
        self.result = result
        self.failed = failed


class Scripted(object):
    """One scripted answer for the next call of ``action``: a refusal (``code``), or, with ``lose_reply`` /
    ``empty_answer``, the call carried out and its answer lost / an HTTP 200 with an empty body."""

    def __init__(self, action, code=None, status=403, message='scripted failure', lose_reply=False, empty_answer=False):
        self.action = action
        self.code = code
        self.status = status
        self.message = message
        self.lose_reply = lose_reply
        self.empty_answer = empty_answer

    @property
    def carried_out(self):
        return self.lose_reply or self.empty_answer


def describe_regions(ctx):
    """DescribeRegions for an emulator without it: the regions of the start-up config and of every instance."""
    regions = list(ctx.state.config.regions)
    regions += [i['RegionId'] for i in ctx.state.data['instances'].values() if i['RegionId'] not in regions]
    return {'Regions': {'Region': [{'RegionId': r, 'LocalName': r, 'RegionEndpoint': 'ecs.%s.aliyuncs.com' % r,
                                    'Status': 'available'} for r in regions]}}


def _without(handler, results_key, keys, ctx):
    answer = handler(ctx)
    for item in answer[results_key][results_key[:-1]]:
        for key in keys:
            item.pop(key, None)
    return answer


class EmulatedCloud(object):
    """An emulator application plus the hook that routes the SDK's HTTP requests to it."""

    def __init__(self, **config):
        self.config = Config(**config)
        self.app = Emulator(self.config, Faults(), quiet=True)
        self.scripts = []
        self.hooks = []
        self.warnings = []

    # -- state -------------------------------------------------------------------------------

    @property
    def state(self):
        return self.app.state

    def actions(self):
        return [entry['action'] for entry in self.state.calls]

    def write_actions(self):
        return [entry['action'] for entry in self.state.calls if entry.get('write') and entry['status'] == 200]

    def action_counts(self):
        counts = {}
        for action in self.actions():
            counts[action] = counts.get(action, 0) + 1
        return counts

    def params_of(self, action):
        return [entry['params'] for entry in self.state.calls if entry['action'] == action]

    def forget(self):
        """Clear the call log (after seeding)."""
        with self.state.lock:
            del self.state.calls[:]
        return self

    def instance_ids(self, region=REGION, network='vpc'):
        with self.state.lock:
            return [i['InstanceId'] for i in self.state.instances_in(region) if i.get('InstanceNetworkType') == network]

    def add_instances(self, count, network='vpc', tags=None, region=REGION):
        with self.state.lock:
            return self.state.add_instances(region, count, network, tags)

    def hold(self, role, ids):
        """Attach ``role`` to ``ids`` behind the module's back (another run, the console); ``''`` detaches."""
        with self.state.lock:
            for iid in ids:
                self.state.data['instances'][iid]['role'] = role.lower() or None

    def roles_of(self, ids):
        with self.state.lock:
            return dict((i, self.state.role_name_of(self.state.data['instances'][i]) or None) for i in ids)

    def offer_describe_regions(self, monkeypatch):
        """Let ECS answer DescribeRegions, unless the emulator does already."""
        if 'DescribeRegions' not in emulator_ecs.ACTIONS:
            monkeypatch.setitem(emulator_ecs.ACTIONS, 'DescribeRegions', describe_regions)

    def before_next(self, action, hook):
        """Run ``hook()`` (someone else's doing: another run, the console) right before the next ``action`` call reaches
        the service."""
        self.hooks.append((action, hook))

    def per_instance_results_without(self, monkeypatch, *keys):
        """Attach/DetachInstanceRamRole answers whose per-instance results lack ``keys`` (``Success``: as every documented
        sample; ``Success`` and ``Code``: results that say neither)."""
        for action, key in (('AttachInstanceRamRole', 'AttachInstanceRamRoleResults'), ('DetachInstanceRamRole', 'DetachInstanceRamRoleResults')):
            monkeypatch.setitem(emulator_ecs.ACTIONS, action, functools.partial(_without, emulator_ecs.ACTIONS[action], key, keys))

    def script(self, action, code=None, status=403, message='scripted failure', lose_reply=False, empty_answer=False):
        """The next ``action`` call fails with ``code`` (not carried out); with ``lose_reply`` it is carried out and
        its answer lost (a transport error); with ``empty_answer`` carried out and answered HTTP 200 without a body."""
        self.scripts.append(Scripted(action, code, status, message, lose_reply, empty_answer))

    # -- clients -----------------------------------------------------------------------------

    def credentials(self):
        return Credentials(self.config.access_key_id, self.config.access_key_secret, None, 'test')

    def options(self, **extra):
        values = {'ram_endpoint': ENDPOINT, 'ecs_endpoint': ENDPOINT, 'sts_endpoint': ENDPOINT, 'region': REGION, 'retries': 2}
        values.update(extra)
        return values

    def client(self, service='ram', **options):
        """A ``ServiceClient`` of ``service`` on the emulator (``options``: retries, region, timeouts, ...)."""
        return client_utils.service_client_for(service, self.credentials(), OptionAdapter.from_dict(self.options(**options)), env={})

    def pool(self, start=4, **options):
        """A worker pool of ECS clients on the emulator."""
        return WorkerPool(lambda count: [self.client('ecs', **options) for _n in range(count)], start=start)

    # -- the SDK hook ------------------------------------------------------------------------

    def _take_script(self, action):
        for index, scripted in enumerate(self.scripts):
            if scripted.action == action:
                return self.scripts.pop(index)
        return None

    def _log_refusal(self, split, headers, body, scripted):
        """A scripted refusal shows in the call log like one the service made."""
        _pairs, values, action, version = self.app._request(split, headers, body or b'')  # pylint: disable=protected-access
        entry = self.app._entry(SERVICES.get(version, (None,))[0], action, values)  # pylint: disable=protected-access
        entry.update(status=scripted.status, code=scripted.code, injected=True)
        self.state.record(entry)

    def do_action(self, request, runtime_option=None):
        url = DaraCore.compose_url(request)
        split = urlsplit(url)
        headers = dict((k.lower(), v) for k, v in (request.headers or {}).items())
        body = request.body.encode('utf-8') if isinstance(request.body, str) else request.body
        action = headers.get('x-acs-action', '')
        for index, (hooked, hook) in enumerate(self.hooks):
            if hooked == action:
                del self.hooks[index]
                hook()
                break
        scripted = self._take_script(action)
        if scripted is not None and not scripted.carried_out:
            status, answer = scripted.status, {'RequestId': 'SCRIPTED-REQUEST', 'Code': scripted.code, 'Message': scripted.message}
            self._log_refusal(split, headers, body, scripted)
        else:
            status, answer = self.app.api(request.method, split, headers, body or b'')
            if scripted is not None and scripted.lose_reply:
                raise RetryError('Connection aborted: RemoteDisconnected (scripted lost reply)')
            if scripted is not None:
                # what the transport raises for such an answer (tests/unit/.../test_transport.py shows it does)
                raise TransportFailure(EMPTY_ANSWER_CODE, '%s://%s answered HTTP 200 with an empty body' % (split.scheme, split.netloc),
                                       status=200)
        response = DaraResponse()
        response.status_code = status
        response.status_message = 'OK' if status == 200 else 'Error'
        response.headers = {'content-type': 'application/json;charset=utf-8'}
        response.body = json.dumps(answer).encode('utf-8')
        return response

    # -- running modules ---------------------------------------------------------------------

    def common_args(self):
        return {'access_key_id': self.config.access_key_id, 'access_key_secret': self.config.access_key_secret,
                'region': REGION, 'ram_endpoint': ENDPOINT, 'ecs_endpoint': ENDPOINT, 'sts_endpoint': ENDPOINT,
                'retries': 2}

    def run(self, module, args, check_mode=False, diff=False):
        """Run ``module.main()`` with ``args`` (plus credentials and endpoints); return its result.

        A failed run returns its result too, with ``failed: True``. The run's warnings are
        appended to ``warnings``.
        """
        values = self.common_args()
        values.update(args)
        values['_ansible_check_mode'] = check_mode
        values['_ansible_diff'] = diff
        with patch_module_args(values):
            try:
                module.main()
            except ModuleExit as done:
                return done.result
        raise AssertionError('%s returned without exit_json or fail_json' % module.__name__)


def _exit_json(self, **kwargs):
    kwargs.setdefault('changed', False)
    raise ModuleExit(kwargs, failed=False)


def _fail_json(self, msg, **kwargs):
    kwargs['msg'] = msg
    kwargs['failed'] = True
    raise ModuleExit(kwargs, failed=True)


@pytest.fixture
def emulated(monkeypatch, clock):
    """An :class:`EmulatedCloud` wired into the SDK, on the virtual clock; module warnings land in ``warnings``."""
    cloud = EmulatedCloud()
    monkeypatch.setattr(DaraCore, 'do_action', staticmethod(cloud.do_action))
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', _fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, warning, **kwargs: cloud.warnings.append(warning))
    return cloud
