# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip bootstrap script ansible-test downloads.

ansible-test bootstraps pip in each virtual environment it creates by running a cached
``get_pip_<version>.py`` as ``__main__`` with pip install arguments, for example
``pip==24.2 --no-setuptools --no-wheel``.  The original script is fetched from a host that
is not reachable from every build machine.  This stand-in does the same job with the pip
wheel bundled in the standard library's ``ensurepip``: it puts that wheel on ``sys.path``,
drops the two ``--no-*`` flags (which only get-pip understands) and runs ``pip install``
with the remaining arguments.

``tests/tools/venv.sh`` copies this file to ``~/.ansible/test/cache/get_pip_<ver>.py``.
"""

from __future__ import annotations

import glob
import os
import sys

GET_PIP_ONLY_FLAGS = frozenset(('--no-setuptools', '--no-wheel', '--no-pip'))


def bundled_pip_wheel():
    """Return the path of the pip wheel shipped with ensurepip."""
    import ensurepip  # pylint: disable=import-outside-toplevel

    bundled = os.path.join(os.path.dirname(ensurepip.__file__), '_bundled')
    wheels = sorted(glob.glob(os.path.join(bundled, 'pip-*.whl')))
    if not wheels:
        raise SystemExit('get_pip stand-in: no bundled pip wheel in %s' % bundled)
    return wheels[-1]


def main(argv):
    """Install the requested packages with the bundled pip."""
    args = [arg for arg in argv if arg not in GET_PIP_ONLY_FLAGS]
    sys.path.insert(0, bundled_pip_wheel())
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel,import-error

    return pip_main(['install'] + args)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
