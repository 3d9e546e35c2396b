# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Keep the official SDK's unused imports out of a module run: they are loaded on first real use.

Why: importing the Alibaba Cloud SDK imports libraries that a module of this collection never
uses, and they cost more CPU than the rest of a no-change task's module run:

- ``aiohttp``, ``asyncio`` and ``aiofiles``: imported at module level by ``darabonba.core``,
  ``darabonba.response``, ``darabonba.utils.stream``, ``Tea.core``, ``alibabacloud_tea_util``
  and ``alibabacloud_credentials``' providers for the SDK's async API. aiohttp's import also
  creates two SSL contexts (loading the CA store) whatever the endpoint's scheme. The collection
  calls the SDK's synchronous methods only, which send through ``client.send`` (requests);
- ``apscheduler``: ``alibabacloud_credentials``' ECS RAM role provider refreshes credentials
  in a background scheduler; the collection hands the SDK static credentials;
- ``cryptography``: ``alibabacloud_tea_openapi.utils`` signs with RSA keys (key-pair
  signature); the collection's calls are HMAC-signed;
- ``websocket`` (websocket-client): ``darabonba.websocket``, for streaming APIs.

How: :func:`prepare` (called by ``client.missing_sdks`` before the first SDK import) puts a
stand-in module under each name of :data:`DEFERRED` in ``sys.modules``, only in a process that
runs one of the collection's modules (the controller, a lookup or a test runner are left
alone), unless ``ALICLOUD_RAM_DEFER_SDK_IMPORTS=0`` is set or the real module is loaded
already. A stand-in tells apart the two ways those names are touched:

- while one of the SDK's own modules (:data:`SDK_PACKAGES`) is being imported, it binds names
  (``import aiohttp``, ``from aiohttp import ClientResponse``) and evaluates annotations
  (``session: aiohttp.ClientSession``): the stand-in answers with a :class:`Placeholder` and
  imports nothing;
- anything else (a call, an attribute read at run time, another library's import of the
  name or of a submodule) is real use: the real module is imported, replaces the stand-in in
  ``sys.modules``, and from then on the stand-in forwards every attribute to it. A placeholder
  forwards calls, attribute reads, ``isinstance``/``issubclass`` checks and subclassing to the
  real object it stands for (so these load the real module). It cannot stand in an ``except``
  clause: the SDK versions this was checked against (darabonba-core 1.0, alibabacloud-tea 0.4,
  alibabacloud-credentials 1.0, alibabacloud-tea-openapi 0.4) catch none of these names
  before calling into the module they come from, which loads it.

So the async API still works (its first call imports aiohttp), and the synchronous path never
pays for it.

The same process also loads the SDKs' generated ``models`` packages (:data:`LAZY_MODELS`) as
:class:`LazyModels`: their ``__init__`` imports every model module of the API (about 1,150 for
ECS, 210 for RAM), where a module run needs a handful. :class:`LazyModelsFinder` finds the real
package, reads its ``__init__.py`` (:func:`model_index`: only ``from .module import Name``
lines and the ``__all__`` list of those names, else the package loads as usual) and imports a
model module when one of its names is first read.

``tests/unit/plugins/module_utils/test_sdk_loader.py`` proves all this in fresh interpreters;
``tests/benchmarks`` measures the saving (docs/benchmarks.md).
"""

import importlib
import os
import re
import sys
import threading
import types

from importlib.machinery import ModuleSpec, PathFinder

MODULES_PACKAGE = 'ansible_collections.alicloud.ram.plugins.modules.'
# who imports these, and why the collection does not need them: see the module docstring
DEFERRED = (
    'aiohttp',
    'aiofiles',
    'asyncio',
    'apscheduler.schedulers.background',
    'cryptography.hazmat.primitives',
    'cryptography.hazmat.primitives.asymmetric',
    'cryptography.hazmat.primitives.serialization',
    'websocket',
    'websocket._abnf',
)
# top-level packages whose import-time use of a deferred name gets a placeholder
SDK_PACKAGES = frozenset(('darabonba', 'Tea', 'alibabacloud_credentials', 'alibabacloud_tea_openapi'))
SWITCH_ENV = 'ALICLOUD_RAM_DEFER_SDK_IMPORTS'
# the SDKs' generated ``models`` packages: their __init__ imports every model module of the API
LAZY_MODELS = frozenset(('alibabacloud_ram20150501.models', 'alibabacloud_ecs20140526.models', 'alibabacloud_sts20150401.models'))
_MODEL_IMPORT = re.compile(r'from (\.\w+) import (\w+)$')

_lock = threading.RLock()


def _binding_at_import(frame):
    """Whether ``frame`` runs the body of an SDK module that is being imported (it only binds names)."""
    module_globals = frame.f_globals
    spec = module_globals.get('__spec__')
    package = (module_globals.get('__name__') or '').partition('.')[0]
    return package in SDK_PACKAGES and bool(getattr(spec, '_initializing', False))


class Placeholder(object):
    """What an SDK module bound at import for ``module.name``; resolves to the real object on use."""

    __slots__ = ('_standin', '_name')

    def __init__(self, standin, name):
        self._standin = standin
        self._name = name

    def resolve(self):
        return self._standin.real_attribute(self._name)

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.resolve(), name)

    def __instancecheck__(self, instance):
        return isinstance(instance, self.resolve())

    def __subclasscheck__(self, subclass):
        return issubclass(subclass, self.resolve())

    def __mro_entries__(self, bases):
        return (self.resolve(),)

    def __repr__(self):
        return '<deferred %s.%s>' % (self._standin.__name__, self._name)


class StandIn(types.ModuleType):
    """Sits in ``sys.modules`` under a deferred name until the module is really used."""

    def __init__(self, name):
        super(StandIn, self).__init__(name)
        self.__spec__ = ModuleSpec(name, None)
        self.__dict__['_real'] = None

    def load(self):
        """The real module: imported on the first call (it then replaces the stand-in in ``sys.modules``)."""
        real = self.__dict__['_real']
        if real is None:
            with _lock:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
            # outside the lock: the import system makes concurrent imports of one name wait for one another
            real = importlib.import_module(self.__name__)
            self.__dict__['_real'] = real
        return real

    def real_attribute(self, name):
        real = self.load()
        try:
            return getattr(real, name)
        except AttributeError:
            if name.startswith('__') or not hasattr(real, '__path__'):
                raise
            # ``from package import submodule`` bound a placeholder for a submodule not imported yet
            return importlib.import_module('%s.%s' % (self.__name__, name))

    def __getattr__(self, name):
        # only called for names the stand-in itself lacks: everything but the few set in __init__
        if self.__dict__['_real'] is None and _binding_at_import(sys._getframe(1)):  # pylint: disable=protected-access
            if name == '__path__':
                # "not a package": ``from name import x`` then asks for x (a placeholder) instead of importing name.x
                raise AttributeError(name)
            if not (name.startswith('__') and name.endswith('__')):
                return Placeholder(self, name)
        return self.real_attribute(name)

    def __setattr__(self, name, value):
        real = self.__dict__.get('_real')
        if real is None:
            super(StandIn, self).__setattr__(name, value)
        else:
            setattr(real, name, value)


def model_index(path):
    """``{name: relative module}`` of a generated ``models/__init__.py``, or None when it holds
    anything but ``from .module import Name`` lines and an ``__all__`` list of those names."""
    index, listing = {}, False
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            line = line.strip()
            if listing:
                if line == ']':
                    listing = False
                elif line.rstrip(',') not in index:
                    return None
            elif line == '__all__ = [':
                listing = True
            elif line and not line.startswith('#') and line != 'from __future__ import annotations':
                match = _MODEL_IMPORT.match(line)
                if match is None:
                    return None
                index[match.group(2)] = match.group(1)
    return index if index and not listing else None


class LazyModels(types.ModuleType):
    """An SDK's ``models`` package whose classes are imported one model module at a time, on first use."""

    def __getattr__(self, name):
        relative = self.__dict__.get('_index', {}).get(name)
        if relative is None:
            raise AttributeError('module %r has no attribute %r' % (self.__name__, name))
        value = getattr(importlib.import_module(relative, self.__name__), name)
        self.__dict__[name] = value
        return value

    def __dir__(self):
        return sorted(set(self.__dict__) | set(self.__dict__.get('_index', {})))


class _LazyModelsLoader(object):
    def __init__(self, index):
        self.index = index

    def create_module(self, spec):
        module = LazyModels(spec.name)
        module.__dict__['_index'] = self.index
        return module

    def exec_module(self, module):
        """Nothing to run: the package's own __init__ would import every model module."""


class LazyModelsFinder(object):
    """Meta path finder for :data:`LAZY_MODELS`: the real package, loaded as :class:`LazyModels`."""

    def find_spec(self, name, path=None, target=None):  # pylint: disable=unused-argument
        if name not in LAZY_MODELS:
            return None
        spec = PathFinder.find_spec(name, path)
        index = model_index(spec.origin) if spec is not None and (spec.origin or '').endswith('__init__.py') else None
        if index is None:
            return None
        spec.loader = _LazyModelsLoader(index)
        return spec


def in_module_process():
    """Whether this process runs one of the collection's modules (AnsiballZ runs it as ``__main__``)."""
    spec = getattr(sys.modules.get('__main__'), '__spec__', None)
    return (getattr(spec, 'name', None) or '').startswith(MODULES_PACKAGE)


def defer(names=DEFERRED):
    """Put a stand-in under each of ``names`` not imported yet; return the names deferred."""
    deferred = []
    with _lock:
        for name in names:
            if name not in sys.modules:
                sys.modules[name] = StandIn(name)
                deferred.append(name)
    return deferred


def prepare(environ=None):
    """Defer :data:`DEFERRED` and load :data:`LAZY_MODELS` lazily when this process runs a module of
    the collection (see the module docstring); return the names deferred."""
    environ = os.environ if environ is None else environ
    if environ.get(SWITCH_ENV, '1').strip().lower() in ('0', 'false', 'no', 'off') or not in_module_process():
        return []
    lazy_models()
    return defer()


def lazy_models():
    """Load the SDKs' ``models`` packages as :class:`LazyModels` from now on (once)."""
    with _lock:
        if not any(isinstance(finder, LazyModelsFinder) for finder in sys.meta_path):
            sys.meta_path.insert(0, LazyModelsFinder())
