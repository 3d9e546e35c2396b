# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Neutral helpers for the data the APIs answer and users give: lists, nested keys, booleans, numbers."""


def as_list(value):
    """``value`` as a list: None is empty, a single item becomes a one-item list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def dig(body, path):
    """``body[path[0]][path[1]]...`` or None; tolerates missing keys."""
    value = body
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def listed(body, path):
    """The dicts listed at ``path`` of an answer (a wrapped list, one item or nothing)."""
    return [item for item in as_list(dig(body, path)) if isinstance(item, dict)]


def first_set(mapping, names):
    """``(value, name)`` of the first of ``names`` with a non-empty value in ``mapping`` (the environment), else ``(None, None)``."""
    for name in names:
        if mapping.get(name):
            return mapping[name], name
    return None, None


def truthy(value):
    """Whether an answer's or environment's boolean is true: ``True``, ``'true'``, ``'1'``, ``'yes'``, ``'on'`` (any case)."""
    if isinstance(value, bool):
        return value
    return str(value if value is not None else '').strip().lower() in ('true', '1', 'yes', 'on')


def to_int(value, default=None):
    """``int(value)``, or ``default`` when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def short_list(items, limit=10):
    """``a, b, c and 7 more``: keeps one-line messages short for fleet-size runs."""
    items = list(items)
    text = ', '.join(str(i) for i in items[:limit])
    return text + (' and %d more' % (len(items) - limit) if len(items) > limit else '')
