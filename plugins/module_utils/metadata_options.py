# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Instance metadata access settings (hardened mode) on ECS instances: ``ecs_instance_metadata_options``.

Current values come from DescribeInstances ``MetadataOptions`` (100 instances a call, or the
pages of the tag selection, which already carry them); ModifyInstanceMetadataOptions is called
once per instance whose settings differ, on the worker pool.
"""

import collections

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api, instances
from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import Outcome, WorkerPool
from ansible_collections.alicloud.ram.plugins.module_utils.errors import redact
from ansible_collections.alicloud.ram.plugins.module_utils.resource import InputError, Resource, ResourceFailure

# The settings, in result order, with the value ECS uses when an answer leaves one out.
SETTINGS = collections.OrderedDict((
    ('http_tokens', 'optional'),
    ('http_endpoint', 'enabled'),
    ('instance_metadata_tags', 'disabled'),
))
CODE_NOT_FOUND = 'InvalidInstanceId.NotFound'

# ``changes``: instance id -> {setting: wanted value} for the instances that differ, in selection order.
Plan = collections.namedtuple('Plan', ['changes', 'unknown'])
# ``order``: the selected instances that exist; ``settings``: instance id -> current settings.
Current = collections.namedtuple('Current', ['order', 'settings', 'unknown'])


def current_settings(instance):
    """An Instance dict's metadata settings, with the ECS default for any the answer leaves out."""
    found = ecs_api.metadata_options(instance)
    return collections.OrderedDict((name, found.get(name) or default) for name, default in SETTINGS.items())


def plan_changes(order, settings, wanted):
    """``{instance_id: {setting: value}}`` of what differs from ``wanted`` (only the settings given)."""
    changes = collections.OrderedDict()
    for iid in order:
        differing = dict((name, value) for name, value in wanted.items() if settings[iid].get(name) != value)
        if differing:
            changes[iid] = differing
    return changes


class MetadataOptions(Resource):
    """Enforce the given metadata settings on the selected instances (only where they differ)."""

    DONE_LISTS = ('changed_instance_ids',)

    def __init__(self, module):
        super(MetadataOptions, self).__init__(module)
        self.region = None
        self.pool = None
        self.wanted = collections.OrderedDict()
        self.instance_ids = []
        self.tags = {}
        self.failed = []
        self.current = None

    def validate(self):
        params = self.params
        errors = []
        if params.get('instance_ids') is None and params.get('instance_tags') is None:
            errors.append('give instance_ids, instance_tags or both')
        self.instance_ids, self.tags, concurrency = instances.validate_selection(params, errors)
        self.wanted = collections.OrderedDict((name, params[name]) for name in SETTINGS if params.get(name) is not None)
        if not self.wanted:
            errors.append('give at least one setting to enforce: %s' % ', '.join(SETTINGS))
        errors = [e for e in errors if e]
        if errors:
            raise InputError('; '.join(errors))
        self.region = self.module.region('ecs')
        self.pool = WorkerPool(lambda n: self.module.clients('ecs', n), start=concurrency)

    def read(self):
        # the tag pages carry MetadataOptions already: only the listed ids they miss are described
        selection = instances.select_instances(self.module.client('ecs') if self.tags else None, self.region,
                                               self.instance_ids, self.tags)
        found = dict(selection.described)
        found.update(instances.describe_by_ids(self.pool, self.region, [i for i in selection.ids if i not in found]))
        order = [i for i in selection.ids if i in found]
        settings = dict((iid, current_settings(found[iid])) for iid in order)
        # kept for the result of a failure raised inside apply()
        self.current = Current(order, settings, [i for i in selection.ids if i not in found])
        return self.current

    def plan(self, current):
        return Plan(plan_changes(current.order, current.settings, self.wanted), current.unknown)

    def apply(self, plan):
        if plan.unknown:
            failed = [instances.failure(i, CODE_NOT_FOUND, 'The instance does not exist in region %s.' % self.region)
                      for i in plan.unknown]
            raise ResourceFailure('%d instance(s) not found in %s, nothing was changed: %s' % (
                len(plan.unknown), self.region, instances.short_list(plan.unknown)),
                error={'code': CODE_NOT_FOUND, 'message': failed[0]['message'], 'request_id': None, 'status': None},
                instances={}, failed_instances=failed, concurrency=self.pool.peak)
        items = list(plan.changes.items())
        # check mode walks the same recording path with every write predicted to succeed
        outcomes = [Outcome(True, None)] * len(items) if self.check_mode else self.pool.map(self._modify, items)
        secrets = self.module.secrets()
        errors = []
        for (iid, _changes), outcome in zip(items, outcomes):
            if outcome.error is None:
                self.record('changed_instance_ids', iid)
            else:
                err = outcome.error
                errors.append(err)
                self.failed.append(instances.failure(iid, err.code, redact(err.message, secrets), err.request_id))
        if self.failed:
            error = errors[0].to_dict()
            error['message'] = redact(error['message'], secrets)
            raise ResourceFailure('change the metadata options of %d instance(s) in %s: %d failed: %s' % (
                len(items), self.region, len(self.failed),
                instances.short_list('%s (%s)' % (f['instance_id'], f['code']) for f in self.failed)),
                error=error, **self.result(self.current, plan))

    def _modify(self, ecs, item):
        iid, changes = item
        return ecs_api.modify_instance_metadata_options(ecs, self.region, iid, **changes)

    def _after(self, current, plan):
        done = set(self.recorder.done('changed_instance_ids'))
        after = collections.OrderedDict()
        for iid in current.order:
            values = dict(current.settings[iid])
            if iid in done:
                values.update(plan.changes[iid])
            after[iid] = values
        return after

    def result(self, current, plan):
        return {'instances': self._after(current, plan), 'failed_instances': list(self.failed), 'concurrency': self.pool.peak}

    def diff(self, current, plan):
        after = self._after(current, plan)
        return {'before': dict((iid, dict(current.settings[iid])) for iid in plan.changes),
                'after': dict((iid, after[iid]) for iid in plan.changes)}
