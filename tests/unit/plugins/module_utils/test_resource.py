# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine every module runs on: plans, the change recorder, the writer (single writes and batches) and ``Resource.run``."""

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils.concurrency import WorkerPool
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.failures import InputError, ResourceFailure, instance_failure
from ansible_collections.alicloud.ram.plugins.module_utils.resource import (
    DONE,
    FAILED,
    REMOVED,
    REPLANS,
    UNKNOWN,
    BatchResult,
    Change,
    ChangeRecorder,
    Conflict,
    ItemResult,
    Plan,
    Resource,
)


def never_called(*args, **kwargs):
    raise AssertionError('no call may be made')


def uncertain(code='ConnectionError'):
    return AlicloudApiError(code, 'the answer was lost', uncertain=True)


# -- plans and the recorder --------------------------------------------------------------------

def test_a_plan_after_view_applies_every_change_to_a_copy_of_before():
    plan = Plan({'role': {'Description': 'old'}, 'tags': {'a': '1', 'b': '2'}},
                [Change({('role', 'Description'): 'new'}), Change({('tags', 'a'): REMOVED, ('tags', 'c'): '3'})], extra='kept')
    assert plan.after == {'role': {'Description': 'new'}, 'tags': {'b': '2', 'c': '3'}}
    assert plan.before == {'role': {'Description': 'old'}, 'tags': {'a': '1', 'b': '2'}}
    assert plan.extra == 'kept'
    with pytest.raises(AttributeError):
        plan.missing  # pylint: disable=pointless-statement


def test_the_recorder_lists_each_item_once_and_keeps_every_list_of_the_resource():
    recorder = ChangeRecorder(('attached', 'detached'))
    recorder.start(Plan({'attached': {}}))
    item = {'policy_name': 'p', 'policy_type': 'System'}
    for _twice in range(2):
        recorder.record(Change({('attached', 'System:p'): item}, 'attached', dict(item)))
    recorder.record(Change({}, 'created', 'new-list'))
    assert recorder.as_result() == {'changed': True, 'attached': [item], 'detached': [], 'created': ['new-list']}
    assert recorder.view == {'attached': {'System:p': item}}


def test_a_settled_change_moves_the_view_but_is_not_done():
    recorder = ChangeRecorder(('attached',))
    recorder.start(Plan({'attached': {'x': 1}}))
    recorder.settled(Change({('attached', 'x'): REMOVED, ('attached', 'y'): 2}, 'attached', 'y'))
    assert recorder.as_result() == {'changed': False, 'attached': []} and recorder.view == {'attached': {'y': 2}}


# -- single writes -----------------------------------------------------------------------------

def writer(predict=False, lists=('done',)):
    recorder = ChangeRecorder(lists)
    recorder.start(Plan({'value': 'before'}))
    return recorder.writer(predict)


CHANGE = Change({('value',): 'after'}, 'done', 'item')


def test_predicting_records_the_change_without_calling():
    predicting = writer(predict=True)
    assert predicting.write(CHANGE, never_called, settle=never_called) is None
    assert predicting.recorder.as_result() == {'changed': True, 'done': ['item']} and predicting.recorder.view == {'value': 'after'}


def test_a_write_that_took_effect_is_done_and_returns_the_answer():
    real = writer()
    calls = []
    assert real.write(CHANGE, lambda *args, **kwargs: calls.append((args, kwargs)) or {'Id': 7}, 'a', b=1) == {'Id': 7}
    assert calls == [(('a',), {'b': 1})]
    assert real.recorder.as_result() == {'changed': True, 'done': ['item']} and real.recorder.view == {'value': 'after'}


def test_a_false_outcome_is_settled_not_done():
    real = writer()
    assert real.write(CHANGE, lambda: False) is False
    assert real.recorder.as_result() == {'changed': False, 'done': []} and real.recorder.view == {'value': 'after'}


def test_an_uncertain_failure_that_a_read_shows_done_counts_as_done():
    real = writer()

    def lost():
        raise uncertain()

    assert real.write(CHANGE, lost, settle=lambda: True) is not False
    assert real.recorder.as_result() == {'changed': True, 'done': ['item']} and real.recorder.view == {'value': 'after'}


@pytest.mark.parametrize('error, settle', [
    (uncertain(), lambda: False),                               # the read does not show it: the failure stands
    (uncertain(), None),                                        # nothing to settle it with
    (AlicloudApiError('NoPermission', 'denied'), never_called),  # a refusal is not read back
])
def test_other_failures_are_raised_and_nothing_is_recorded(error, settle):
    real = writer()

    def fails():
        raise error

    with pytest.raises(AlicloudApiError) as caught:
        real.write(CHANGE, fails, settle=settle)
    assert caught.value is error
    assert real.recorder.as_result() == {'changed': False, 'done': []} and real.recorder.view == {'value': 'before'}


def test_learn_adds_what_the_service_assigned_only_to_a_real_run():
    real, predicting = writer(), writer(predict=True)
    for each in (real, predicting):
        each.learn({('RoleId',): '3001'})
    assert real.recorder.view == {'value': 'before', 'RoleId': '3001'} and predicting.recorder.view == {'value': 'before'}


def test_wait_polls_on_the_clock_and_predicting_does_not_poll(clock):
    answers = [False, False, True]
    assert writer().wait(lambda: answers.pop(0), 60) is True
    assert answers == [] and len(clock.sleeps) == 2
    assert writer(predict=True).wait(never_called, 60) is True


def test_wait_gives_up_at_the_timeout(clock):
    started = clock.monotonic()
    assert not writer().wait(lambda: False, 30)
    assert clock.monotonic() - started == pytest.approx(30)


# -- batches -----------------------------------------------------------------------------------

def item_change(key, target='app'):
    return Change({('roles', key): target}, 'changed_instance_ids', key, key=key, target=target)


def batch_writer(predict=False):
    recorder = ChangeRecorder(('changed_instance_ids',))
    recorder.start(Plan({'roles': {}}))
    return recorder.writer(predict)


def pool():
    return WorkerPool(lambda count: ['client-%d' % n for n in range(count)], start=2)


def failure(key, code='Some.Code'):
    return instance_failure(key, code, 'failed', 'REQ')


class Batches(object):
    """Scripted batch answers (``{key: ItemResult}`` per call, or an error to raise) and what a read shows."""

    def __init__(self, answers, observed, uncertain_answer=False):
        self.answers = answers
        self.observed = observed
        self.uncertain_answer = uncertain_answer
        self.sent, self.reads = [], []

    def send(self, _client, keys):
        self.sent.append(list(keys))
        answer = self.answers[len(self.sent) - 1]
        if isinstance(answer, Exception):
            raise answer
        return BatchResult(answer, self.uncertain_answer)

    def observe(self, keys):
        self.reads.append(list(keys))
        return dict((k, v) for k, v in self.observed.items() if k in keys)


def test_batch_items_done_failed_and_unknown_are_settled_by_one_read():
    batches = Batches([
        {'a': ItemResult(DONE, None), 'b': ItemResult(FAILED, failure('b')), 'c': ItemResult(UNKNOWN, None)},
        {'e': ItemResult(FAILED, failure('e')), 'f': ItemResult(DONE, None)},   # d is missing from the answer
    ], observed={'b': 'APP', 'c': 'app', 'd': None, 'e': 'old'})
    real = batch_writer()
    changes = [item_change(k) for k in 'abcdef']
    failures = real.write_batches(pool(), changes, 3, batches.send, batches.observe, same=lambda a, b: (a or '').lower() == (b or '').lower())
    assert batches.sent == [['a', 'b', 'c'], ['d', 'e', 'f']] and batches.reads == [['b', 'c', 'd', 'e']]
    # b failed and shows the target: someone else's doing (settled); c could not tell: ours
    assert sorted(real.recorder.done('changed_instance_ids')) == ['a', 'c', 'f']
    assert real.recorder.view == {'roles': dict((k, 'app') for k in 'abcf')}
    assert list(failures) == ['d', 'e']
    assert failures['e'] == (failure('e'), 'old')
    assert failures['d'][0]['code'] == 'UnknownResult' and failures['d'][1] is None


def test_a_failed_item_in_its_target_state_is_ours_when_the_answer_was_uncertain():
    batches = Batches([{'a': ItemResult(FAILED, failure('a', 'Emulator.SameRamRoleAlreadyAttached'))}], {'a': 'app'}, uncertain_answer=True)
    real = batch_writer()
    assert real.write_batches(pool(), [item_change('a')], 100, batches.send, batches.observe) == {}
    assert real.recorder.done('changed_instance_ids') == ['a'] and real.recorder.changed


def test_a_request_level_refusal_fails_every_item_not_found_done():
    refusal = AlicloudApiError('InvalidUser.PassRoleForbidden', 'denied', request_id='R1')
    batches = Batches([refusal], observed={'a': 'app', 'b': None})
    real = batch_writer()
    failures = real.write_batches(pool(), [item_change('a'), item_change('b')], 100, batches.send, batches.observe)
    assert list(failures) == ['b'] and failures['b'][0] == instance_failure('b', 'InvalidUser.PassRoleForbidden', 'denied', 'R1')
    # a shows the role although the call was refused: someone else attached it
    assert real.recorder.done('changed_instance_ids') == [] and not real.recorder.changed
    assert real.recorder.view == {'roles': {'a': 'app'}}


def test_a_request_level_uncertain_failure_counts_the_items_it_shows_done():
    batches = Batches([uncertain('Timeout')], observed={'a': 'app', 'b': None})
    real = batch_writer()
    failures = real.write_batches(pool(), [item_change('a'), item_change('b')], 100, batches.send, batches.observe)
    assert real.recorder.done('changed_instance_ids') == ['a']
    assert [(k, f['code']) for k, (f, _now) in failures.items()] == [('b', 'Timeout')]


def test_every_item_done_needs_no_read():
    batches = Batches([{'a': ItemResult(DONE, None)}, {'b': ItemResult(DONE, None)}], observed={})
    real = batch_writer()
    assert real.write_batches(pool(), [item_change('a'), item_change('b')], 1, batches.send, batches.observe) == {}
    assert batches.reads == [] and sorted(real.recorder.done('changed_instance_ids')) == ['a', 'b']


def test_predicting_batches_records_every_item_without_calling():
    predicting = batch_writer(predict=True)
    assert predicting.write_batches(pool(), [item_change('a'), item_change('b', None)], 100, never_called, never_called) == {}
    assert predicting.recorder.done('changed_instance_ids') == ['a', 'b']
    assert predicting.recorder.view == {'roles': {'a': 'app', 'b': None}}


# -- Resource.run --------------------------------------------------------------------------------

class StandInModule(object):
    """What ``Resource`` uses of a module: params, check mode, diff mode, exit/fail (which end the process, as
    AnsibleModule's do) and warnings."""

    def __init__(self, check_mode=False, diff=False):
        self.params = {}
        self.check_mode = check_mode
        self._diff = diff
        self.exit = self.failure = None
        self.warnings = []

    def exit_json(self, **values):
        self.exit = values
        raise SystemExit(0)

    def fail_json(self, msg, **values):
        self.failure = dict(values, msg=msg)
        raise SystemExit(1)

    def warn(self, message):
        self.warnings.append(message)


def run(resource):
    with pytest.raises(SystemExit):
        resource.run()


class Counter(Resource):
    """Writes ``value`` to the number read; ``trouble``: what ``apply`` raises after its write, attempt by attempt."""

    DONE_LISTS = ('written',)

    def __init__(self, module, trouble=()):
        super(Counter, self).__init__(module)
        self.trouble = list(trouble)
        self.reads = 0

    def read(self):
        self.reads += 1
        return self.reads

    def plan(self, current):
        return Plan({'value': 0}, [Change({('value',): current}, 'written', current)])

    def apply(self, plan):
        for change in plan.changes:
            self.writer.write(change, lambda: True)
        if self.trouble:
            raise self.trouble.pop(0)

    def result(self, current, plan):
        return {'read': current, 'value': self.view['value']}

    def diff_headers(self, plan, result):
        return 'before', 'after %s' % result.get('value')


def test_a_conflict_reads_and_plans_again_keeping_what_was_done():
    module = StandInModule()
    run(Counter(module, trouble=[Conflict('changed under us')]))
    assert module.failure is None
    assert module.exit == {'read': 2, 'value': 2, 'changed': True, 'written': [1, 2]}


def test_conflicts_past_the_replans_fail_with_what_was_done():
    module = StandInModule()
    resource = Counter(module, trouble=[Conflict('changed under us')] * (REPLANS + 2))
    run(resource)
    assert resource.reads == REPLANS + 1 and module.exit is None
    assert module.failure == {'msg': 'changed under us', 'read': REPLANS + 1, 'value': REPLANS + 1, 'changed': True,
                              'written': list(range(1, REPLANS + 2))}


@pytest.mark.parametrize('trouble, msg, error', [
    (AlicloudApiError('NoPermission', 'denied', request_id='R9', status=403), 'call the API failed: NoPermission: denied (request id R9)',
     {'code': 'NoPermission', 'message': 'denied', 'request_id': 'R9', 'status': 403}),
    (ResourceFailure('it broke', None, value='from the failure'), 'it broke', None),
    (KeyError('x'), "Counter failed unexpectedly: KeyError: 'x'", None),
])
def test_every_failure_has_one_shape_and_keeps_what_was_done(trouble, msg, error):
    module = StandInModule()
    run(Counter(module, trouble=[trouble]))
    expected = {'msg': msg, 'read': 1, 'value': 'from the failure' if isinstance(trouble, ResourceFailure) else 1,
                'changed': True, 'written': [1]}
    if error:
        expected['error'] = error
    assert module.failure == expected


def test_the_operation_set_by_the_service_layer_names_the_failure():
    err = AlicloudApiError('NoPermission', 'denied')
    err.operation = 'create role web'
    module = StandInModule()
    run(Counter(module, trouble=[err]))
    assert module.failure['msg'] == 'create role web failed: NoPermission: denied'


def test_input_refused_in_validate_fails_before_any_read():
    module = StandInModule()
    resource = Counter(module)

    def refused():
        raise InputError('bad input', role_name='x')

    resource.validate = refused
    run(resource)
    assert resource.reads == 0 and module.failure == {'msg': 'bad input', 'role_name': 'x', 'changed': False, 'written': []}


def test_check_mode_predicts_through_the_same_path_and_diff_shows_both_views():
    module = StandInModule(check_mode=True, diff=True)
    resource = Counter(module)
    run(resource)
    assert module.exit == {'read': 1, 'value': 1, 'changed': True, 'written': [1],
                           'diff': {'before': {'value': 0}, 'after': {'value': 1}, 'before_header': 'before', 'after_header': 'after 1'}}


def test_warnings_reach_the_module_once_and_a_missing_dependency_only_warns_in_check_mode():
    failure_ = ResourceFailure('role web does not exist')
    module = StandInModule(check_mode=True)
    resource = Counter(module)
    resource.missing_dependency(failure_, 'role web does not exist yet')
    resource.missing_dependency(failure_, 'role web does not exist yet')
    run(resource)
    assert module.warnings == ['role web does not exist yet; predicting as if an earlier task creates it']
    with pytest.raises(ResourceFailure):
        Counter(StandInModule()).missing_dependency(failure_, 'role web does not exist yet')


def test_the_base_resource_does_nothing_and_reports_unchanged():
    module = StandInModule()
    run(Resource(module))
    assert module.exit == {'changed': False}
