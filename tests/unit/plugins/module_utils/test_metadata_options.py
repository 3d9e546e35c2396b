# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ecs_instance_metadata_options's planning as pure functions: which instances change, and the whole state each write sends."""

import collections

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import metadata_options
from ansible_collections.alicloud.ram.plugins.modules import ecs_instance_metadata_options
from ansible_collections.alicloud.ram.tests.unit.planning import predicted, resource_for

NORMAL = {'http_tokens': 'optional', 'http_endpoint': 'enabled', 'instance_metadata_tags': 'disabled'}
HARDENED = dict(NORMAL, http_tokens='required')
CLOSED = dict(NORMAL, http_endpoint='disabled')


def current(settings, states=None):
    order = list(settings)
    return metadata_options.Current(order, dict((i, dict(s)) for i, s in settings.items()), dict(states or {}), [])


@pytest.mark.parametrize('settings, wanted, sent', [
    # the headline example: HttpEndpoint goes along although only the tokens change (the API requires it)
    (NORMAL, {'http_tokens': 'required'}, {'http_endpoint': 'enabled', 'http_tokens': 'required'}),
    # the endpoint alone changes: the hardened tokens go along, so they cannot fall back to their default
    (dict(HARDENED, http_endpoint='disabled'), {'http_endpoint': 'enabled'}, {'http_endpoint': 'enabled', 'http_tokens': 'required'}),
    (CLOSED, {'http_endpoint': 'enabled', 'http_tokens': 'required'}, {'http_endpoint': 'enabled', 'http_tokens': 'required'}),
    # metadata tags only when the task sets them
    (NORMAL, {'instance_metadata_tags': 'enabled'}, {'http_endpoint': 'enabled', 'http_tokens': 'optional', 'instance_metadata_tags': 'enabled'}),
])
def test_a_write_always_sends_endpoint_and_tokens(settings, wanted, sent):
    assert metadata_options.whole_state(settings, wanted) == sent
    plan = metadata_options.plan_changes(current({'i-1': settings}), wanted)
    assert [c.target for c in plan.changes] == [sent]


@pytest.mark.parametrize('settings, wanted, after', [
    (NORMAL, {'http_tokens': 'required'}, HARDENED),
    (HARDENED, {'http_tokens': 'required'}, None),
    (HARDENED, {'http_endpoint': 'disabled', 'http_tokens': 'required'}, dict(HARDENED, http_endpoint='disabled')),
    (NORMAL, {'instance_metadata_tags': 'enabled', 'http_tokens': 'required'}, dict(HARDENED, instance_metadata_tags='enabled')),
])
def test_only_instances_whose_given_settings_differ_change(settings, wanted, after):
    done = after or settings   # i-2 has the wanted settings already
    plan = metadata_options.plan_changes(current({'i-1': settings, 'i-2': done}), wanted)
    assert plan.before == {'instances': {'i-1': settings, 'i-2': done}}
    if after is None:
        assert plan.changes == [] and plan.after == plan.before
    else:
        assert [c.key for c in plan.changes] == ['i-1'] and plan.after['instances']['i-1'] == after
    assert plan.refused == []


def test_instances_in_transition_are_refused_on_their_own_without_a_write():
    plan = metadata_options.plan_changes(current({'i-1': NORMAL, 'i-2': NORMAL, 'i-3': HARDENED}, {'i-2': 'Stopping', 'i-3': 'Pending'}),
                                         {'http_tokens': 'required'})
    assert [c.key for c in plan.changes] == ['i-1']
    # i-3 needs no change: its state does not matter
    assert plan.refused == [{'instance_id': 'i-2', 'code': 'IncorrectInstanceStatus', 'request_id': None,
                             'message': 'The instance is Stopping; its metadata options can be changed once it is Running or Stopped.'}]


def test_check_mode_lists_the_changed_instances_and_their_new_settings():
    resource = resource_for(metadata_options.MetadataOptions, ecs_instance_metadata_options, instance_ids=['i-1', 'i-2'])
    plan = metadata_options.plan_changes(current(collections.OrderedDict([('i-1', NORMAL), ('i-2', HARDENED)])), {'http_tokens': 'required'})
    recorder = predicted(resource, plan)
    assert recorder.done('changed_instance_ids') == ['i-1'] and recorder.view == {'instances': {'i-1': HARDENED, 'i-2': HARDENED}}


def test_settings_an_answer_leaves_out_take_the_ecs_default():
    assert metadata_options.current_settings({'MetadataOptions': {'HttpTokens': 'required'}}) == HARDENED
    assert metadata_options.current_settings({}) == NORMAL
