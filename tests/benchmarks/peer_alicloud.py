# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The direct peer for the per-task overhead benchmark: ``ali_ram_role`` of ``ansible-alicloud`` (the
alibaba.alicloud modules on PyPI) with footmark, against the emulator.

Its own virtualenv, ``tests/benchmarks/results/peer-alicloud-venv`` (git-ignored, outside the
collection build), created on first use from PyPI:

- ``footmark`` with its dependencies (the classic ``aliyun-python-sdk-core`` and one
  ``aliyun-python-sdk-*`` package per service it wraps), and PyYAML, which footmark imports without
  declaring it (without it every footmark service fails to import and the module says so only as
  "module 'footmark' has no attribute 'ram'");
- ``ansible-alicloud`` is downloaded, not installed: ``pip install ansible-alicloud`` writes its
  files into ``site-packages/ansible/`` (``ansible/__init__.py``, ``ansible/module_utils/__init__.py``,
  ``ansible/utils/__init__.py`` among them), overwriting those of whatever ansible-core is
  installed there, and it requires the whole ``ansible`` package. Only the module
  (``ali_ram_role.py``) and its module_utils (``alicloud_ecs.py``) are unpacked, into
  ``library/`` and ``module_utils/`` of the virtualenv, which the playbook run names in
  ``ANSIBLE_LIBRARY`` and ``ANSIBLE_MODULE_UTILS``;
- a ``sitecustomize.py`` points the SDK core at the emulator when ``ALICLOUD_PEER_RAM_ENDPOINT``
  (``host:port``) is set in the module's environment: the core's endpoint table
  (``aliyunsdkcore.profile.region_provider.modify_point('Ram', region, endpoint)``, its documented
  way to override an endpoint) and plain HTTP, since the RAM request classes ask for HTTPS and the
  emulator, like every other task of the comparison, is spoken to over HTTP.

The task (no change after the first run): ``ali_ram_role`` with the role's trust policy, which reads
ListRoles (every page) and GetRole twice. Its options need care: ``role_name`` collides with the
``role_name`` alias of the common option ``ecs_role_name`` (given as ``role_name``, the value also
becomes ``ecs_role_name``, and the module would take credentials from the metadata service), so the
task names the role with the ``name`` alias; without ``assume_role_policy_document`` a run on an
existing role ends without a result ("did not exit"). When the virtualenv cannot be set up,
:func:`setup` returns None and says why; the benchmark then runs without this peer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile

from common import HERE, run_logged

VENV = HERE / 'results' / 'peer-alicloud-venv'
READY = VENV / 'ready.json'
PACKAGES = ('footmark==1.26.0', 'PyYAML')   # footmark imports yaml without declaring it
PEER_SDIST = 'ansible-alicloud==1.20.0'
MODULE = 'ali_ram_role'
MEMBERS = {'lib/ansible/modules/cloud/alicloud/ali_ram_role.py': 'library', 'lib/ansible/module_utils/alicloud_ecs.py': 'module_utils'}
ENDPOINT_ENV = 'ALICLOUD_PEER_RAM_ENDPOINT'
REGION = 'cn-hangzhou'
SITECUSTOMIZE = '''"""Benchmark only: the classic Alibaba Cloud SDK core sends RAM calls to %(env)s over HTTP."""
import os

if os.environ.get(%(env)r):
    from aliyunsdkcore import request as _request
    from aliyunsdkcore.profile import region_provider as _regions

    _regions.modify_point('Ram', %(region)r, os.environ[%(env)r])
    _set_protocol_type = _request.AcsRequest.set_protocol_type
    _request.AcsRequest.set_protocol_type = lambda self, protocol_type: _set_protocol_type(self, 'http')
''' % {'env': ENDPOINT_ENV, 'region': REGION}


class AlicloudPeer(object):
    """The peer's interpreter, where its module and module_utils are, and the versions installed."""

    def __init__(self, python, versions):
        self.python = str(python)
        self.library = str(VENV / 'library')
        self.module_utils = str(VENV / 'module_utils')
        self.versions = versions

    def env(self):
        """What a playbook run needs to find the module and its module_utils."""
        return {'ANSIBLE_LIBRARY': self.library, 'ANSIBLE_MODULE_UTILS': self.module_utils}

    def task(self, name, role, trust, emulator):
        return {'name': name, MODULE: {
            'name': role, 'assume_role_policy_document': trust, 'alicloud_access_key': emulator.access_key_id,
            'alicloud_secret_key': emulator.access_key_secret, 'alicloud_region': REGION},
            'environment': {ENDPOINT_ENV: emulator.endpoint},
            'vars': {'ansible_python_interpreter': self.python}}


def _install(log):
    if VENV.exists():
        shutil.rmtree(str(VENV))
    run_logged([sys.executable, '-m', 'venv', str(VENV)], log, 'peer-alicloud')
    python = str(VENV / 'bin' / 'python')
    pip = [python, '-m', 'pip', '--disable-pip-version-check']
    run_logged(pip + ['install', '--quiet'] + list(PACKAGES), log, 'peer-alicloud')
    downloads = VENV / 'downloads'
    run_logged(pip + ['download', '--quiet', '--no-deps', '--no-binary', ':all:', '-d', str(downloads), PEER_SDIST], log, 'peer-alicloud')
    sdist = sorted(downloads.glob('ansible*alicloud-*.tar.gz'))[-1]
    with tarfile.open(str(sdist)) as archive:
        for member in archive.getmembers():
            relative = member.name.split('/', 1)[-1]
            if relative in MEMBERS:
                target = VENV / MEMBERS[relative]
                target.mkdir(exist_ok=True)
                (target / relative.rsplit('/', 1)[1]).write_bytes(archive.extractfile(member).read())
    site = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], stdout=subprocess.PIPE,
                          text=True, check=True).stdout.strip()
    with open('%s/sitecustomize.py' % site, 'w', encoding='utf-8') as handle:
        handle.write(SITECUSTOMIZE)
    versions = {'ansible-alicloud': sdist.name.split('-')[-1][:-len('.tar.gz')]}
    code = ('import json, importlib.metadata as m; print(json.dumps(dict((p, m.version(p)) for p in '
            '("footmark", "aliyun-python-sdk-core", "aliyun-python-sdk-ram"))))')
    versions.update(json.loads(subprocess.run([python, '-c', code], stdout=subprocess.PIPE, text=True, check=True).stdout))
    READY.write_text(json.dumps(versions, sort_keys=True))


def setup(log=print, install=True):
    """The :class:`AlicloudPeer`, or None with the reason logged."""
    try:
        if not READY.exists():
            if not install:
                log('[peer-alicloud] skipped: %s is not set up (a full run sets it up)' % VENV)
                return None
            log('[peer-alicloud] setting up %s (footmark, ali_ram_role from ansible-alicloud); once' % VENV)
            _install(log)
        return AlicloudPeer(VENV / 'bin' / 'python', json.loads(READY.read_text()))
    except (OSError, RuntimeError, subprocess.SubprocessError, ValueError, IndexError, tarfile.TarError) as err:
        log('[peer-alicloud] skipped: ali_ram_role with footmark could not be set up: %s' % err)
        return None
