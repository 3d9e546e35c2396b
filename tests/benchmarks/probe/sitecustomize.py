# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark probe, put on PYTHONPATH of a module process through a task's ``environment``.

- ``ALICLOUD_RAM_BENCH_PROBE_LOG=FILE``: at exit, append one JSON line: which of the SDK's
  optional dependencies were really imported (a stand-in of the collection's sdk_loader does
  not count), and how many SSL contexts exist.
- ``ALICLOUD_RAM_BENCH_FIXED_POOL=1``: the collection's worker pool ignores throttling (its limit
  stays where it started), for a fixed-concurrency comparison with the adaptive pool.
- ``ALICLOUD_RAM_BENCH_CPROFILE=FILE``: profile the main thread from start-up to exit (cProfile),
  stats written to FILE (for finding where a module run spends its time).

Never part of the collection: only the benchmarks set these variables.
"""

import os
import sys

WATCHED = ('aiohttp', 'aiofiles', 'asyncio', 'apscheduler', 'cryptography', 'websocket', 'requests', 'ssl')
POOL_MODULE = 'ansible_collections.alicloud.ram.plugins.module_utils.concurrency'


def _report(path):
    import gc  # pylint: disable=import-outside-toplevel
    import json  # pylint: disable=import-outside-toplevel

    loaded = {}
    for name in WATCHED:
        module = sys.modules.get(name)
        loaded[name] = module is not None and type(module).__name__ != 'StandIn'
    ssl = sys.modules.get('ssl')
    contexts = sum(1 for o in gc.get_objects() if isinstance(o, ssl.SSLContext)) if ssl is not None else 0
    main = getattr(sys.modules.get('__main__'), '__spec__', None)
    with open(path, 'a') as handle:
        handle.write(json.dumps({'module': getattr(main, 'name', None), 'imported': loaded, 'ssl_contexts': contexts,
                                 'modules': len(sys.modules)}) + '\n')


class _PatchingLoader(object):
    """Runs the real loader, then makes ``WorkerPool.throttled`` a no-op."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        module.WorkerPool.throttled = lambda self: None


class _FixedPool(object):
    """Meta path finder for the worker pool module only."""

    def find_spec(self, name, path=None, target=None):
        if name != POOL_MODULE:
            return None
        import importlib.util  # pylint: disable=import-outside-toplevel

        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        spec.loader = _PatchingLoader(spec.loader)
        return spec


if os.environ.get('ALICLOUD_RAM_BENCH_PROBE_LOG'):
    import atexit  # pylint: disable=import-outside-toplevel

    atexit.register(_report, os.environ['ALICLOUD_RAM_BENCH_PROBE_LOG'])
if os.environ.get('ALICLOUD_RAM_BENCH_CPROFILE'):
    import atexit  # pylint: disable=import-outside-toplevel
    import cProfile  # pylint: disable=import-outside-toplevel

    _PROFILE = cProfile.Profile()
    atexit.register(lambda: (_PROFILE.disable(), _PROFILE.dump_stats(os.environ['ALICLOUD_RAM_BENCH_CPROFILE'])))
    _PROFILE.enable()
if os.environ.get('ALICLOUD_RAM_BENCH_FIXED_POOL') == '1':
    sys.meta_path.insert(0, _FixedPool())
