# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The peer for the per-task overhead benchmark: ``amazon.aws.iam_role`` against a local moto server.

Everything lives in the benchmark's own virtualenv, ``tests/benchmarks/results/peer-venv``
(git-ignored and outside the collection build), created on first use from PyPI: boto3,
``moto[server]`` and the collection's own requirements (so that one interpreter runs every task
of the comparison), plus ``amazon.aws`` as shipped in the ``ansible`` package that goes with the
installed ansible-core (the wheel is downloaded, only ``ansible_collections/amazon/aws`` is
unpacked). None of it is a dependency of the collection. When it cannot be set up (no network,
a failed install), :func:`setup` returns None and says why; the benchmark then runs without it.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

from common import HERE, REPO_ROOT, run_logged

VENV = HERE / 'results' / 'peer-venv'
READY = VENV / 'ready.json'
PACKAGES = ('boto3', 'botocore', 'moto[server]')
COLLECTION_PREFIX = 'ansible_collections/amazon/aws/'
ROLE = 'bench-peer-role'
REGION = 'us-east-1'
TRUST = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'},
                                                 'Action': 'sts:AssumeRole'}]}


class Peer(object):
    """The peer's interpreter, collections path and (once started) moto server URL."""

    def __init__(self, python, collections, versions):
        self.python = str(python)
        self.collections = str(collections)
        self.versions = versions
        self.url = None
        self._proc = None

    def start(self):
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            port = probe.getsockname()[1]
        log = open(str(VENV / 'moto_server.log'), 'w')  # pylint: disable=consider-using-with
        self._proc = subprocess.Popen([str(VENV / 'bin' / 'moto_server'), '-H', '127.0.0.1', '-p', str(port)],
                                      stdout=log, stderr=subprocess.STDOUT)
        self.url = 'http://127.0.0.1:%d' % port
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + '/moto-api/', timeout=2).read()  # pylint: disable=consider-using-with
                return self
            except OSError:
                if self._proc.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise RuntimeError('moto_server did not start (see %s)' % (VENV / 'moto_server.log'))

    def stop(self):
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None

    def task(self, name):
        """An ``amazon.aws.iam_role`` task on the moto server (no change after the first); like
        ram_instance_role it manages a role and its trust policy, no instance profile."""
        return {'name': name, 'amazon.aws.iam_role': {
            'name': ROLE, 'assume_role_policy_document': json.dumps(TRUST), 'endpoint_url': self.url,
            'create_instance_profile': False, 'access_key': 'testing', 'secret_key': 'testing', 'region': REGION}}


def _ansible_release():
    """The ``ansible`` package release that goes with the installed ansible-core (2.19 -> 12.x)."""
    from ansible.release import __version__  # pylint: disable=import-outside-toplevel

    minor = int(__version__.split('.')[1])
    return 'ansible==%d.*' % (minor - 7)


def _install(log):
    if VENV.exists():
        shutil.rmtree(str(VENV))
    run_logged([sys.executable, '-m', 'venv', str(VENV)], log, 'peer')
    # the venv must never be picked up by git or the collection build (it is under results/, which both ignore)
    pip = [str(VENV / 'bin' / 'python'), '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check']
    run_logged(pip + list(PACKAGES) + ['-r', str(REPO_ROOT / 'requirements.txt')], log, 'peer')
    downloads = VENV / 'downloads'
    run_logged([str(VENV / 'bin' / 'python'), '-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps',
                '-d', str(downloads), _ansible_release()], log, 'peer')
    wheel = sorted(downloads.glob('ansible-*.whl'))[-1]
    collections = VENV / 'collections'
    with zipfile.ZipFile(str(wheel)) as archive:
        members = [n for n in archive.namelist() if n.startswith(COLLECTION_PREFIX)]
        archive.extractall(str(collections), members)
    wheel.unlink()
    manifest = json.loads((collections / COLLECTION_PREFIX / 'MANIFEST.json').read_text())
    versions = {'ansible': wheel.name.split('-')[1], 'amazon.aws': manifest['collection_info']['version']}
    versions.update(_package_versions())
    READY.write_text(json.dumps(versions, sort_keys=True))


def _package_versions():
    code = ('import json, importlib.metadata as m; print(json.dumps(dict((p, m.version(p)) for p in '
            '("boto3", "botocore", "moto"))))')
    proc = subprocess.run([str(VENV / 'bin' / 'python'), '-c', code], stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout)


def setup(log=print, install=True):
    """The :class:`Peer` (not started), or None with the reason logged."""
    try:
        if not READY.exists():
            if not install:
                log('[peer] skipped: %s is not set up (a full run sets it up)' % VENV)
                return None
            log('[peer] setting up %s (boto3, moto[server], amazon.aws from the ansible package); once' % VENV)
            _install(log)
        return Peer(VENV / 'bin' / 'python', VENV / 'collections', json.loads(READY.read_text()))
    except (OSError, RuntimeError, subprocess.SubprocessError, ValueError, IndexError) as err:
        log('[peer] skipped: amazon.aws.iam_role with moto could not be set up: %s' % err)
        return None
