"""HTTP front end: routes RPC API calls (RAM, ECS, STS), the metadata service and the control API."""

import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import control, ecs, metadata, ram, sts
from .barrier import Barrier
from .errors import ApiError, Params
from .signature import V1_PARAMS, NonceCache, incomplete, verify_v1, verify_v3
from .state import State

JSON_TYPE = 'application/json;charset=utf-8'
SERVICES = {
    '2015-05-01': ('ram', 'Ram', ram.ACTIONS),
    '2014-05-26': ('ecs', 'Ecs', ecs.ACTIONS),
    '2015-04-01': ('sts', 'Sts', sts.ACTIONS),
}
WRITE_PREFIXES = ('Create', 'Update', 'Delete', 'Attach', 'Detach', 'Set', 'Tag', 'Untag', 'Modify')
HIDDEN_PARAMS = set(V1_PARAMS) | {'AccessKeySecret', 'Password', 'NewPassword', 'OldPassword', 'OIDCToken'}


class Context:
    """What an action implementation sees: parameters, locked state and the authenticated principal."""

    def __init__(self, params, state, principal):
        self.params = params
        self.state = state
        self.principal = principal


class Reply:
    """One HTTP answer. ``lost``: the connection is closed without any answer."""

    def __init__(self, status, content_type, data, lost=False):
        self.status = status
        self.content_type = content_type
        self.data = data
        self.lost = lost


def is_write(action):
    return action.startswith(WRITE_PREFIXES)


def host_id(service, params):
    if service == 'ecs':
        return 'ecs.%s.aliyuncs.com' % (params.get('RegionId') or 'cn-hangzhou')
    return '%s.aliyuncs.com' % (service or 'ram')


def raw_body(status, content_type, size):
    """``size`` bytes that are not JSON; HTML-looking for text/html (like a proxy's error page)."""
    if 'html' in content_type:
        head = ('<!DOCTYPE html><html><head><title>%d Error</title></head><body><h1>%d Error</h1><p>' % (status, status)).encode()
        tail = b'</p></body></html>\n'
    else:
        head, tail = ('%d Error: ' % status).encode(), b'\n'
    filler = max(0, size - len(head) - len(tail))
    return (head + b'x' * filler + tail)[:size]


class Emulator:
    """The application: state, nonce cache and request handling independent of the HTTP plumbing."""

    def __init__(self, config, faults, quiet=False):
        self.state = State(config, faults)
        self.nonces = NonceCache()
        self.barrier = Barrier()
        self.quiet = quiet

    @staticmethod
    def json_text(body):
        return json.dumps(body, ensure_ascii=False)

    @staticmethod
    def _request(split, headers, body):
        """(query pairs, all parameters, action, version) of an RPC request."""
        pairs = parse_qsl(split.query, keep_blank_values=True)
        values = {}
        if body and 'application/x-www-form-urlencoded' in headers.get('content-type', ''):
            values.update(parse_qsl(body.decode('utf-8', 'replace'), keep_blank_values=True))
        values.update(pairs)
        action = headers.get('x-acs-action') or values.get('Action') or ''
        version = headers.get('x-acs-version') or values.get('Version') or ''
        return pairs, values, action, version

    @staticmethod
    def _entry(service, action, values):
        return {'time': time.time(), 'service': service, 'action': action,
                'params': {k: v for k, v in values.items() if k not in HIDDEN_PARAMS},
                'status': 200, 'code': None, 'write': is_write(action), 'injected': False, 'access_key_id': None,
                'lost_reply': False, 'empty_body': False}

    def api(self, method, split, headers, body):
        """Serve one RPC call; returns (status, body dict). Lost replies and empty bodies are left to :meth:`api_reply`."""
        status, answer, _entry = self._call(method, split, headers, body)
        return status, answer

    def api_reply(self, method, split, headers, body):
        """Serve one RPC call over HTTP, with the transport-level faults (raw error bodies, lost replies)."""
        raw = self.state.faults.get('raw_error')
        if raw is not None:
            _pairs, values, action, version = self._request(split, headers, body)
            entry = self._entry(SERVICES.get(version, (None,))[0], action, values)
            entry.update(status=raw['status'], injected=True)
            self.state.record(entry)
            return Reply(raw['status'], raw['content_type'], raw_body(raw['status'], raw['content_type'], raw['size']))
        status, answer, entry = self._call(method, split, headers, body)
        if entry['empty_body']:
            return Reply(200, JSON_TYPE, b'')
        return Reply(status, JSON_TYPE, self.json_text(answer).encode('utf-8'), lost=entry['lost_reply'])

    def _call(self, method, split, headers, body):
        state = self.state
        pairs, values, action, version = self._request(split, headers, body)
        service, product, actions = SERVICES.get(version, (None, None, {}))
        request_id = str(uuid.uuid4()).upper()
        entry = self._entry(service, action, values)
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
            elif service == 'sts' and action in sts.ANONYMOUS_ACTIONS:
                access_key_id, token = None, None
            else:
                raise incomplete('The Authorization header is missing.')
            entry['access_key_id'] = access_key_id
            with state.lock:
                principal = None if access_key_id is None else state.principal_for_key(access_key_id, token)
            self.barrier.hold(action)
            fault = state.faults.api_fault(action)
            if fault is not None:
                entry['injected'] = True
                raise fault
            entry['lost_reply'] = state.faults.take_lost_reply(action)
            with state.lock:
                result = handler(Context(Params(values, dotted_missing=service == 'ecs'), state, principal))
                if entry['write']:
                    state.save()
            entry['empty_body'] = not entry['lost_reply'] and state.faults.take_empty_body(action)
            answer = {'RequestId': request_id}
            answer.update(result)
            status = 200
            if isinstance(result.get('Credentials'), dict):
                entry['issued_access_key_id'] = result['Credentials'].get('AccessKeyId')
        except ApiError as exc:
            status = exc.status
            entry['code'] = exc.code
            answer = {'RequestId': request_id, 'HostId': host_id(service, values), 'Code': exc.code, 'Message': exc.message,
                      'Recommend': 'https://api.aliyun.com/troubleshoot?q=%s&product=%s&requestId=%s' % (exc.code, product or 'Ram', request_id)}
        entry['status'] = status
        state.record(entry)
        return status, answer, entry

    def metadata(self, method, path, headers):
        """Serve one metadata request; a ``None`` status (endpoint disabled) becomes a lost reply."""
        status, ctype, text, action = metadata.handle(self, method, path, headers)
        if status == 200 and action in ('PutToken', 'GetRoleCredentials'):
            with self.state.lock:
                self.state.save()
        entry = self._entry('metadata', action, {'path': path})
        entry.update(status=status, code=None if status == 200 else text, write=False, injected=status == 503)
        self.state.record(entry)
        return Reply(status, ctype, text.encode('utf-8'), lost=status is None)


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

    def _send(self, reply, trickle_ms=0):
        if reply.lost:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header('Content-Type', reply.content_type)
        self.send_header('Content-Length', str(len(reply.data)))
        # Headers and body leave in one write (end_headers() would flush the headers on their own).
        self._headers_buffer.extend((b'\r\n', reply.data))
        if not trickle_ms:
            self.flush_headers()
            return
        data = b''.join(self._headers_buffer)
        self._headers_buffer = []
        try:
            for index in range(len(data)):
                self.wfile.write(data[index:index + 1])
                time.sleep(trickle_ms / 1000.0)
        except OSError:   # the client gave up waiting
            self.close_connection = True

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
            self._send(Reply(status, JSON_TYPE, app.json_text(answer).encode('utf-8')))
        elif split.path.startswith('/latest'):
            self._send(app.metadata(self.command, split.path, headers), app.state.faults.get('trickle_ms'))
        else:
            self._send(app.api_reply(self.command, split, headers, body), app.state.faults.get('trickle_ms'))


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app):
        self.app = app
        super().__init__(address, Handler)


def make_server(config, faults, host='127.0.0.1', port=0, quiet=False):
    return EmulatorServer((host, port), Emulator(config, faults, quiet=quiet))
