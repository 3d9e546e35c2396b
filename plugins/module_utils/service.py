# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The ``operation`` decorator every function of the service layer (``*_api.py``) is declared with.

An operation declares once the text that names it in error messages and the codes that mean
"not there" (``missing``: the function returns ``None``) or "already so" (``done``: the function
returns ``True`` when the answer follows a lost reply of our own earlier attempt, which then
took effect, and ``False`` when someone else got there first). Every other failure is raised as
:class:`AlicloudApiError` with ``err.operation`` set, so one handler can report it.
"""

import functools
import inspect

from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError


def code_matches(code, codes):
    """Whether ``code`` is one of ``codes``, exactly or as a dotted extension (``EntityNotExist`` matches ``EntityNotExist.Role``)."""
    code = code or ''
    return any(code == c or code.startswith(c + '.') for c in codes)


def operation(label, missing=(), done=()):
    """Declare a service function; ``label`` is formatted with the function's arguments by name."""

    def decorate(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except AlicloudApiError as err:
                if missing and code_matches(err.code, missing):
                    return None
                if done and code_matches(err.code, done):
                    return bool(err.after_lost_reply)
                if err.operation is None:
                    bound = signature.bind(*args, **kwargs)
                    bound.apply_defaults()
                    err.operation = label.format(**bound.arguments)
                raise

        return wrapper

    return decorate
