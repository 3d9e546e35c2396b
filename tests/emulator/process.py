"""Start and drive an emulator subprocess from tests and benchmarks."""

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_ACCESS_KEY_ID = 'LTAIEmulatorAdminKey'
DEFAULT_ACCESS_KEY_SECRET = 'EmulatorAdminSecretDoNotUse0001'
DEFAULT_ACCOUNT_ID = '1234567890123456'


class EmulatorError(RuntimeError):
    """A control API call answered with an error status."""

    def __init__(self, status, body):
        super().__init__('emulator control call failed with HTTP %s: %s' % (status, body))
        self.status = status
        self.body = body


def _flag(args, name, default):
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + '='):
            return arg.split('=', 1)[1]
    return default


class EmulatorProcess:
    """A running emulator: its address, the admin credentials and helpers for the control API."""

    def __init__(self, proc, url, extra_args=()):
        self.proc = proc
        self.url = url
        self.endpoint = url.split('://', 1)[1]
        self.port = int(self.endpoint.rsplit(':', 1)[1])
        self.access_key_id = _flag(extra_args, '--access-key-id', DEFAULT_ACCESS_KEY_ID)
        self.access_key_secret = _flag(extra_args, '--access-key-secret', DEFAULT_ACCESS_KEY_SECRET)
        self.account_id = _flag(extra_args, '--account-id', DEFAULT_ACCOUNT_ID)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode('utf-8')
        request = urllib.request.Request('%s/_emulator/%s' % (self.url, path.lstrip('/')), data=data, method=method.upper(),
                                         headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read().decode('utf-8'))
        except urllib.error.HTTPError as exc:
            raise EmulatorError(exc.code, exc.read().decode('utf-8', 'replace')) from None

    def reset(self):
        self.control('POST', 'reset')

    def calls(self):
        return self.control('GET', 'calls')['calls']

    def call_counts(self):
        return self.control('GET', 'calls')['counts']

    def write_calls(self):
        return [c for c in self.calls() if c['write']]

    def clear_calls(self):
        self.control('DELETE', 'calls')

    def set_faults(self, **faults):
        """Change fault settings (see the README's fault table); returns all current settings."""
        return self.control('POST', 'faults', faults)

    def seed_instances(self, count, region='cn-hangzhou', network_type='vpc', tags=None, status='Running'):
        body = {'count': count, 'region': region, 'network_type': network_type, 'status': status}
        if tags:
            body['tags'] = tags
        return self.control('POST', 'instances', body)['instance_ids']

    def set_instance_status(self, instance_ids, status):
        """Put instances in ``status`` (Pending, Running, Starting, Stopping, Stopped)."""
        self.control('POST', 'instance_status', {'instance_ids': list(instance_ids), 'status': status})

    def release_instances(self, instance_ids):
        """Release (delete) instances; returns the ids that existed."""
        return self.control('POST', 'release_instances', {'instance_ids': list(instance_ids)})['released']

    def barrier(self, count, action=None, timeout=60):
        """Hold the next ``count`` API requests (of ``action`` only, if given) until all have arrived.

        Returns a :class:`Barrier`; used as a context manager it fails the test on leaving the block
        unless the barrier released (and cancels it, so nothing stays held).
        """
        self.control('POST', 'barrier', {'count': count, 'action': action, 'timeout': timeout})
        return Barrier(self)

    def freeze_clock(self):
        """Stop the emulator clock (storms, rate limits, detach delays); :meth:`advance_clock` moves it."""
        return self.control('POST', 'clock', {'freeze': True})

    def advance_clock(self, seconds):
        return self.control('POST', 'clock', {'advance': seconds})

    def tag_instances(self, instance_ids, tags):
        """Add or overwrite ``{key: value}`` tags on instances; returns {instance id: all its tags}."""
        return self.control('POST', 'instance_tags', {'instance_ids': list(instance_ids), 'tags': tags})['tags']

    def instances(self, region='cn-hangzhou'):
        return self.control('GET', 'instances?region=%s' % region)['instances']

    def create_user(self, user_name):
        self.control('POST', 'users', {'user_name': user_name})

    def create_group(self, group_name):
        self.control('POST', 'groups', {'group_name': group_name})

    def set_metadata(self, instance_id=None, role_name=None, hardened_only=None):
        """Change the metadata instance, its role (``role_name=""`` detaches) or hardened-only mode."""
        body = {}
        if instance_id is not None:
            body['instance_id'] = instance_id
        if role_name is not None:
            body['role_name'] = role_name
        if hardened_only is not None:
            body['hardened_only'] = hardened_only
        return self.control('POST', 'metadata', body)

    def add_oidc_provider(self, name, issuer=None, client_ids=None):
        """Register an OIDC identity provider; returns ``{name, arn, issuer, client_ids}``."""
        body = {'name': name}
        if issuer is not None:
            body['issuer'] = issuer
        if client_ids is not None:
            body['client_ids'] = list(client_ids)
        return self.control('POST', 'oidc_providers', body)

    def oidc_token(self, provider, **claims):
        """A token of ``provider`` (``subject``, ``audience``, ``expires_in`` seconds, may be negative, ``issuer``, ``forged``)."""
        return self.control('POST', 'oidc_tokens', dict(claims, provider=provider))['token']

    def write_oidc_token(self, path, provider, **claims):
        """Write a token of ``provider`` to ``path`` (as a pod's projected token file) and return ``path``."""
        with open(str(path), 'w', encoding='utf-8') as handle:
            handle.write(self.oidc_token(provider, **claims))
        return path

    def state(self):
        return self.control('GET', 'state')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()


class Barrier:
    """An armed emulator barrier (see :meth:`EmulatorProcess.barrier`)."""

    def __init__(self, emulator):
        self.emulator = emulator

    def status(self):
        """``{"state": "waiting"|"released"|"timed_out"|"cancelled", "count", "arrived", "action", "timeout"}``."""
        return self.emulator.control('GET', 'barrier')

    def cancel(self):
        return self.emulator.control('DELETE', 'barrier')

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        status = self.status()
        if status['state'] == 'waiting':
            self.cancel()
        if exc_type is None and status['state'] != 'released':
            raise AssertionError('the emulator barrier did not release: %s' % status)


def _reader(stream, lines):
    for line in iter(stream.readline, ''):
        lines.put(line)
    lines.put(None)


def start_emulator(*extra_args, cwd=None, timeout=30):
    """Run ``python -m tests.emulator --port 0 --quiet *extra_args`` and wait until it listens."""
    command = [sys.executable, '-m', 'tests.emulator', '--port', '0', '--quiet'] + list(extra_args)
    proc = subprocess.Popen(command, cwd=cwd or REPO_ROOT, stdout=subprocess.PIPE, text=True, bufsize=1)
    lines = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(0.01, remaining))
        except queue.Empty:
            line = ''
        if line and line.lstrip('# ').startswith('listening on '):
            return EmulatorProcess(proc, line.split('listening on ', 1)[1].strip(), extra_args)
        if line is None or remaining <= 0:
            proc.kill()
            proc.wait()
            raise RuntimeError('emulator did not start (exit code %s): %s' % (proc.returncode, ' '.join(command)))
