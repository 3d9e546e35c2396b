# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Resources on a stand-in module, for the tests of ``validate()`` and ``plan()`` as pure functions (no client, no call)."""

import types

from ansible_collections.alicloud.ram.plugins.module_utils.resource import ChangeRecorder


def resource_for(resource_class, module, check_mode=False, **params):
    """A ``resource_class`` for ``module``'s options: the argument spec's defaults, then ``params``."""
    spec = module.ARGUMENT_SPEC if hasattr(module, 'ARGUMENT_SPEC') else module.argument_spec()
    values = dict((name, option.get('default')) for name, option in spec.items())
    values.update(params)
    stand_in = types.SimpleNamespace(params=values, check_mode=check_mode, _diff=False)
    return resource_class(stand_in)


def predicted(resource, plan):
    """The recorder once ``plan`` went through a predicting writer, as check mode walks it: ``changed``, the done
    lists (``done(name)``) and the view after every change (``view``)."""
    recorder = ChangeRecorder(resource.DONE_LISTS)
    recorder.start(plan)
    writer = recorder.writer(predict=True)
    for change in plan.changes:
        writer.write(change, None)
    return recorder
