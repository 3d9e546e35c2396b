"""HTTP front end: routes RPC API calls (RAM, ECS, STS), the metadata service and the control API."""

import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import control, ecs, metadata, ram, sts
from .errors import ApiError, Params
from .signature import V1_PARAMS, NonceCache, incomplete, verify_v1, verify_v3
from .state import State

JSON_TYPE = 'application/json;charset=utf-8'
SERVICES = {
    '2015-05-01': ('ram', 'Ram', ram.ACTIONS),
    '2014-05-26': ('ecs', 'Ecs', ecs.ACTIONS),
    '2015-04-01': ('sts', 'Sts', sts.ACTIONS),
}
WRITE_PREFIXES = ('Create', 'Update', 'Delete', 'Attach', 'Detach', 'Set', 'Tag', 'Untag')
HIDDEN_PARAMS = set(V1_PARAMS) | {'AccessKeySecret', 'Password', 'NewPassword', 'OldPassword'}


class Context:
    """What an action implementation sees: parameters, locked state and the authenticated principal."""

    def __init__(self, params, state, principal):
        self.params = params
        self.state = state
        self.principal = principal


def is_write(action):
    return action.startswith(WRITE_PREFIXES)


def host_id(service, params):
    if service == 'ecs':
        return 'ecs.%s.aliyuncs.com' % (params.get('RegionId') or 'cn-hangzhou')
    return '%s.aliyuncs.com' % (service or 'ram')


class Emulator:
    """The application: state, nonce cache and request handling independent of the HTTP plumbing."""

    def __init__(self, config, faults, quiet=False):
        self.state = State(config, faults)
        self.nonces = NonceCache()
        self.quiet = quiet

    @staticmethod
    def json_text(body):
        return json.dumps(body, ensure_ascii=False)

    def api(self, method, split, headers, body):
        """Serve one RPC call; returns (status, body dict)."""
        state = self.state
        pairs = parse_qsl(split.query, keep_blank_values=True)
        values = {}
        if body and 'application/x-www-form-urlencoded' in headers.get('content-type', ''):
            values.update(parse_qsl(body.decode('utf-8', 'replace'), keep_blank_values=True))
        values.update(pairs)
        action = headers.get('x-acs-action') or values.get('Action') or ''
        version = headers.get('x-acs-version') or values.get('Version') or ''
        service, product, actions = SERVICES.get(version, (None, None, {}))
        request_id = str(uuid.uuid4()).upper()
        entry = {'time': time.time(), 'service': service, 'action': action,
                 'params': {k: v for k, v in values.items() if k not in HIDDEN_PARAMS},
                 'status': 200, 'code': None, 'write': is_write(action), 'injected': False, 'access_key_id': None}
        latency = state.faults.latency_seconds()
        if latency and service:
            time.sleep(latency)
        try:
            if service is None:
                raise ApiError(400, 'InvalidVersion', 'Specified parameter Version is not valid.')
            handler = actions.get(action)
            if handler is None:
                raise ApiError(404, 'InvalidAction.NotFound', 'Specified api is not found, please check your url and method.')
            if 'authorization' in headers:
                access_key_id, token = verify_v3(method, split.path, pairs, headers, body, state.secret_for, self.nonces)
            elif values.get('Signature'):
                access_key_id, token = verify_v1(method, values, state.secret_for, self.nonces)
            else:
                raise incomplete('The Authorization header is missing.')
            entry['access_key_id'] = access_key_id
            with state.lock:
                principal = state.principal_for_key(access_key_id, token)
            fault = state.faults.api_fault()
            if fault is not None:
                entry['injected'] = True
                raise fault
            with state.lock:
                result = handler(Context(Params(values, dotted_missing=service == 'ecs'), state, principal))
                if entry['write']:
                    state.save()
            answer = {'RequestId': request_id}
            answer.update(result)
            status = 200
        except ApiError as exc:
            status = exc.status
            entry['code'] = exc.code
            answer = {'RequestId': request_id, 'HostId': host_id(service, values), 'Code': exc.code, 'Message': exc.message,
                      'Recommend': 'https://api.aliyun.com/troubleshoot?q=%s&product=%s&requestId=%s' % (exc.code, product or 'Ram', request_id)}
        entry['status'] = status
        state.record(entry)
        return status, answer

    def metadata(self, method, path, headers):
        status, ctype, text, action = metadata.handle(self, method, path, headers)
        if status == 200 and action in ('PutToken', 'GetRoleCredentials'):
            with self.state.lock:
                self.state.save()
        self.state.record({'time': time.time(), 'service': 'metadata', 'action': action, 'params': {'path': path},
                           'status': status, 'code': None if status == 200 else text, 'write': False,
                           'injected': status == 503, 'access_key_id': None})
        return status, ctype, text


class Handler(BaseHTTPRequestHandler):
    """Thin HTTP adapter around :class:`Emulator`."""

    protocol_version = 'HTTP/1.1'
    server_version = 'AlibabaCloudEmulator/1.0'
    disable_nagle_algorithm = True   # TCP_NODELAY: no delayed-ACK stall between a reply and the next request

    def do_GET(self):  # noqa: N802 (http.server naming)
        self._dispatch()

    def do_POST(self):  # noqa: N802
        self._dispatch()

    def do_PUT(self):  # noqa: N802
        self._dispatch()

    def do_DELETE(self):  # noqa: N802
        self._dispatch()

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if not self.server.app.quiet:
            sys.stderr.write('%s - %s\n' % (self.address_string(), format % args))

    def _send(self, status, ctype, text, extra=None):
        data = text.encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        # Headers and body leave in one write (end_headers() would flush the headers on their own).
        self._headers_buffer.extend((b'\r\n', data))
        self.flush_headers()

    def _dispatch(self):
        app = self.server.app
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length > 0 else b''
        split = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if split.path.startswith('/_emulator/'):
            try:
                payload = json.loads(body.decode('utf-8')) if body else None
                status, answer = control.handle(app, self.command, split.path[len('/_emulator/'):],
                                                dict(parse_qsl(split.query)), payload)
            except control.ControlError as exc:
                status, answer = exc.status, {'error': exc.message}
            except ValueError as exc:
                status, answer = 400, {'error': 'invalid JSON body: %s' % exc}
            self._send(status, JSON_TYPE, app.json_text(answer))
        elif split.path.startswith('/latest'):
            status, ctype, text = app.metadata(self.command, split.path, headers)
            self._send(status, ctype, text)
        else:
            status, answer = app.api(self.command, split, headers, body)
            self._send(status, JSON_TYPE, app.json_text(answer))


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app):
        self.app = app
        super().__init__(address, Handler)


def make_server(config, faults, host='127.0.0.1', port=0, quiet=False):
    return EmulatorServer((host, port), Emulator(config, faults, quiet=quiet))
