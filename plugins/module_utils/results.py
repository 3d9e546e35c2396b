# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Small results for fleet tasks: per-instance maps that list what changed or failed, counts of the rest,
and one line saying what was done. ``return_all: true`` keeps the full map."""

import collections


def lean_map(full, keys, return_all=False):
    """``full`` (``{instance_id: value}``) restricted to ``keys`` (the instances a change was meant for), or all of it."""
    if return_all:
        return dict(full)
    wanted = set(keys)
    return collections.OrderedDict((k, v) for k, v in full.items() if k in wanted)


def fleet_counts(selected, changed, failed):
    """``{'selected', 'changed', 'failed', 'unchanged'}``: how many instances the task selected and what became of them."""
    return {'selected': selected, 'changed': changed, 'failed': failed, 'unchanged': max(0, selected - changed - failed)}


def fleet_msg(done_phrase, counts, unchanged_phrase):
    """``attached web to 95 of 100 instances; 5 held it already; 2 failed``."""
    parts = ['%s %d of %d instance(s)' % (done_phrase, counts['changed'], counts['selected'])]
    if counts['unchanged']:
        parts.append('%d %s' % (counts['unchanged'], unchanged_phrase))
    if counts['failed']:
        parts.append('%d failed' % counts['failed'])
    return '; '.join(parts)
