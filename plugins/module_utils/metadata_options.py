# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""Instance metadata access settings (hardened mode) on ECS instances: ``ecs_instance_metadata_options``.

Current values come from DescribeInstances ``MetadataOptions`` (100 instances a call, or the
pages of the tag selection, which already carry them). ModifyInstanceMetadataOptions is called
once per instance whose settings differ, on the worker pool, always with the whole wanted state
(API_FACTS 5.5): ``HttpEndpoint`` (required by the API) and ``HttpTokens`` as the current values
merged with the task's, ``InstanceMetadataTags`` only when the task sets it, so that changing one
setting never resets another. Instances in transition (Pending, Starting, Stopping), which ECS
refuses to change, fail on their own without a call, alike in check mode; unknown ids fail the
task before any write.
"""

import collections

from ansible_collections.alicloud.ram.plugins.module_utils import ecs_api, instances
from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import WorkerPool
from ansible_collections.alicloud.ram.plugins.module_utils.data import short_list
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, format_error
from ansible_collections.alicloud.ram.plugins.module_utils.failures import InstanceFailures, ResourceFailure, instance_failure, refuse
from ansible_collections.alicloud.ram.plugins.module_utils.resource import DONE, BatchResult, Change, ItemResult, Plan, Resource
from ansible_collections.alicloud.ram.plugins.module_utils.results import fleet_counts, fleet_msg, lean_map

# The settings, in result order, with the value ECS uses when an answer leaves one out.
SETTINGS = collections.OrderedDict((
    ('http_tokens', 'optional'),
    ('http_endpoint', 'enabled'),
    ('instance_metadata_tags', 'disabled'),
))

# ``order``: the selected instances that exist; ``settings``: id -> current settings; ``states``: id -> transition state or None.
Current = collections.namedtuple('Current', ['order', 'settings', 'states', 'unknown'])


def current_settings(instance):
    """An Instance dict's metadata settings, with the ECS default for any the answer leaves out."""
    found = instances.metadata_options(instance)
    return collections.OrderedDict((name, found.get(name) or default) for name, default in SETTINGS.items())


def whole_state(settings, wanted):
    """What a ModifyInstanceMetadataOptions call sends: endpoint and tokens always, metadata tags only when wanted."""
    merged = dict(settings, **wanted)
    state = {'http_endpoint': merged['http_endpoint'], 'http_tokens': merged['http_tokens']}
    if 'instance_metadata_tags' in wanted:
        state['instance_metadata_tags'] = wanted['instance_metadata_tags']
    return state


def plan_changes(current, wanted):
    """The plan: one change per instance whose settings differ from ``wanted`` (only the settings given)."""
    before = {'instances': collections.OrderedDict((iid, dict(current.settings[iid])) for iid in current.order)}
    changes = []
    for iid in current.order:
        differing = dict((name, value) for name, value in wanted.items() if current.settings[iid].get(name) != value)
        if differing:
            effect = dict((('instances', iid, name), value) for name, value in differing.items())
            changes.append(Change(effect, 'changed_instance_ids', iid, key=iid, target=whole_state(current.settings[iid], wanted)))
    refused = [c for c in changes if current.states.get(c.key)]
    return Plan(before, [c for c in changes if c not in refused], refused=[
        instance_failure(c.key, instances.CODE_STATUS, instances.MSG_STATUS % current.states[c.key]) for c in refused])


def _matches(observed, target):
    return observed is not None and all(observed.get(name) == value for name, value in target.items())


class MetadataOptions(Resource):
    """Enforce the given metadata settings on the selected instances (only where they differ)."""

    DONE_LISTS = ('changed_instance_ids',)

    def __init__(self, module):
        super(MetadataOptions, self).__init__(module)
        self.region = self.pool = None
        self.instance_ids, self.tags = [], {}
        self.wanted = collections.OrderedDict()

    def validate(self):
        params = self.params
        self.wanted = collections.OrderedDict((name, params[name]) for name in SETTINGS if params.get(name) is not None)
        refuse(instances.selection_errors(params) + [
            'give instance_ids, instance_tags or both' if params.get('instance_ids') is None and params.get('instance_tags') is None else None,
            'give at least one setting to enforce: %s' % ', '.join(SETTINGS) if not self.wanted else None])
        self.instance_ids, self.tags = instances.selection_input(params)
        self.region = self.module.region('ecs')
        self.pool = WorkerPool(lambda n: self.module.clients('ecs', n), maximum=params['concurrency'])

    def read(self):
        # the tag pages carry MetadataOptions and Status already: only the listed ids they miss are described
        selection = instances.select_instances(self.module.client('ecs') if self.tags else None, self.region,
                                               self.instance_ids, self.tags)
        found = dict(selection.described)
        found.update(instances.describe_by_ids(self.pool, self.region, [i for i in selection.ids if i not in found]))
        order = [i for i in selection.ids if i in found]
        return Current(order, dict((i, current_settings(found[i])) for i in order), dict((i, instances.in_transition(found[i])) for i in order),
                       [i for i in selection.ids if i not in found])

    def plan(self, current):
        if current.unknown:
            failed = instances.not_found_failures(self.region, current.unknown)
            err = AlicloudApiError(instances.CODE_NOT_FOUND, '%d instance(s) not found in %s, nothing was changed: %s' % (
                len(current.unknown), self.region, short_list(current.unknown)))
            raise ResourceFailure(format_error(err, self._operation(len(current.order) + len(current.unknown))), err,
                                  instances={}, failed_instances=failed, concurrency=self.pool.peak,
                                  summary=fleet_counts(len(current.order) + len(current.unknown), 0, len(current.unknown)))
        return plan_changes(current, self.wanted)

    def _operation(self, count):
        return 'change the metadata options of %d instance(s) in %s' % (count, self.region)

    def _sender(self, plan):
        targets = dict((c.key, c.target) for c in plan.changes)

        def send(ecs, ids):
            ecs_api.modify_instance_metadata_options(ecs, self.region, ids[0], **targets[ids[0]])
            return BatchResult({ids[0]: ItemResult(DONE, None)}, False)

        return send

    def _observe(self, ids):
        return dict((iid, current_settings(instance)) for iid, instance in instances.describe_by_ids(self.pool, self.region, ids).items())

    def apply(self, plan):
        failed = self.writer.write_batches(self.pool, plan.changes, 1, self._sender(plan), self._observe, _matches)
        failures = list(plan.refused) + [failure for failure, _now in failed.values()]
        if failures:
            raise InstanceFailures(self._operation(len(plan.changes) + len(plan.refused)), failures, len(plan.changes) + len(plan.refused))

    def result(self, current, plan):
        keys = [c.key for c in plan.changes] + [f['instance_id'] for f in plan.refused]
        changed = len(self.recorder.done('changed_instance_ids'))
        counts = fleet_counts(len(current.order), changed, len(keys) - changed)
        phrase = 'enforced %s on' % ', '.join('%s=%s' % item for item in self.wanted.items())
        return {'instances': lean_map(self.view.get('instances', {}), keys, self.params.get('return_all')), 'summary': counts,
                'msg': fleet_msg(phrase, counts, 'had it already'), 'failed_instances': [], 'concurrency': self.pool.peak}

    def diff_view(self, view, plan):
        return lean_map(view.get('instances', {}), [c.key for c in plan.changes])

    def diff_headers(self, plan, result):
        return 'metadata options of %d instance(s)' % len(plan.before.get('instances', {})), result.get('msg')
