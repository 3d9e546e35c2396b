# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""What every function of the service layer (``*_api.py``) is built with: the ``operation``
decorator, and one pager per paging style of the APIs.

An operation declares once the text that names it in error messages and the codes that mean
"not there" (``missing``: the function returns ``None``) or "already so" (``done``: the function
returns ``True`` when the answer follows an attempt of this very call that may have taken effect
(``err.uncertain``: its answer was lost), and ``False`` when someone else got there first). Every
other failure is raised as :class:`AlicloudApiError` with ``err.operation`` set.
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
                    return bool(err.uncertain)
                if err.operation is None:
                    bound = signature.bind(*args, **kwargs)
                    bound.apply_defaults()
                    err.operation = label.format(**bound.arguments)
                raise

        return wrapper

    return decorate


# -- pagers: each yields the answers of one list call, page after page ---------------------------

def _unseen(token, seen):
    if not token or token in seen:
        return False
    seen.add(token)
    return True


def marker_pages(call, params, max_items):
    """``Marker`` / ``IsTruncated`` paging (RAM List* actions)."""
    marker, seen = None, set()
    while True:
        body = call(dict(params, MaxItems=max_items, Marker=marker))
        yield body
        marker = body.get('Marker')
        if not body.get('IsTruncated') or not _unseen(marker, seen):
            return


def token_pages(call, params, ends=None):
    """``NextToken`` paging (ECS DescribeInstances, RAM ListTagResources). ``ends(body)``: stop early when true."""
    token, seen = None, set()
    while True:
        body = call(dict(params, NextToken=token))
        yield body
        token = body.get('NextToken')
        if (ends is not None and ends(body)) or not _unseen(token, seen):
            return


def numbered_pages(call, params, page_size, count):
    """``PageNumber`` / ``PageSize`` / ``TotalCount`` paging (ECS DescribeInstanceRamRole).

    ``count(body)`` is the number of items of a page; a short page or the total reached ends it.
    """
    number = 1
    while True:
        body = call(dict(params, PageNumber=number, PageSize=page_size))
        yield body
        total = body.get('TotalCount')
        try:
            last = total is not None and number * page_size >= int(total)
        except (TypeError, ValueError):
            last = False
        if last or count(body) < page_size:
            return
        number += 1
