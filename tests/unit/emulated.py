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

Scripted answers (``emulated.script(...)``) stand for what the emulator cannot do on its own in
a unit test: a write denied, a reply lost after the write took effect, a transport error.
"""

import json
from urllib.parse import urlsplit

import pytest
from darabonba.core import DaraCore
from darabonba.exceptions import RetryError
from darabonba.response import DaraResponse

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.alicloud.ram.plugins.module_utils import client as client_utils
from ansible_collections.alicloud.ram.tests.emulator.faults import Faults
from ansible_collections.alicloud.ram.tests.emulator.server import Emulator
from ansible_collections.alicloud.ram.tests.emulator.state import Config

ENDPOINT = 'http://127.0.0.1:9'   # never connected: requests end in the emulator engine
REGION = 'cn-hangzhou'


class ModuleExit(Exception):
    """``exit_json`` / ``fail_json`` of a module run under :meth:`EmulatedCloud.run`."""

    def __init__(self, result, failed):
        super(ModuleExit, self).__init__(result)
        self.result = result
        self.failed = failed


class Scripted(object):
    """One scripted answer for the next call of ``action``."""

    def __init__(self, action, code=None, status=403, message='scripted failure', lose_reply=False):
        self.action = action
        self.code = code
        self.status = status
        self.message = message
        self.lose_reply = lose_reply


class EmulatedCloud(object):
    """An emulator application plus the hook that routes the SDK's HTTP requests to it."""

    def __init__(self, **config):
        self.config = Config(**config)
        self.app = Emulator(self.config, Faults(), quiet=True)
        self.scripts = []
        self.calls = []   # (action, answered status, code)

    # -- state -------------------------------------------------------------------------------

    @property
    def state(self):
        return self.app.state

    def write_actions(self):
        return [entry['action'] for entry in self.state.calls if entry.get('write') and entry['status'] == 200]

    def actions(self):
        return [entry['action'] for entry in self.state.calls]

    def script(self, action, code=None, status=403, message='scripted failure', lose_reply=False):
        """The next ``action`` call fails with ``code`` (not carried out), or, with ``lose_reply``,
        is carried out and its answer lost (the SDK sees a transport error)."""
        self.scripts.append(Scripted(action, code, status, message, lose_reply))

    def instance_ids(self, region=REGION, network='vpc'):
        with self.state.lock:
            return [i['InstanceId'] for i in self.state.instances_in(region) if i.get('InstanceNetworkType') == network]

    # -- the SDK hook ------------------------------------------------------------------------

    def _take_script(self, action):
        for index, scripted in enumerate(self.scripts):
            if scripted.action == action:
                return self.scripts.pop(index)
        return None

    def do_action(self, request, runtime_option=None):
        url = DaraCore.compose_url(request)
        split = urlsplit(url)
        headers = dict((k.lower(), v) for k, v in (request.headers or {}).items())
        body = request.body.encode('utf-8') if isinstance(request.body, str) else request.body
        action = headers.get('x-acs-action', '')
        scripted = self._take_script(action)
        if scripted is not None and not scripted.lose_reply:
            status, answer = scripted.status, {'RequestId': 'SCRIPTED-REQUEST', 'Code': scripted.code, 'Message': scripted.message}
        else:
            status, answer = self.app.api(request.method, split, headers, body or b'')
            if scripted is not None:
                raise RetryError('Connection aborted: RemoteDisconnected (scripted lost reply)')
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

        A failed run returns its result too, with ``failed: True``.
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
def emulated(monkeypatch):
    """An :class:`EmulatedCloud` wired into the SDK; backoff sleeps are skipped."""
    cloud = EmulatedCloud()
    monkeypatch.setattr(DaraCore, 'do_action', staticmethod(cloud.do_action))
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', _fail_json)
    monkeypatch.setattr(client_utils.time, 'sleep', lambda seconds: None)
    return cloud
