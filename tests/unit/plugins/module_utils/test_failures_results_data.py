# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one failure shape (failures.py), the small fleet results (results.py) and the neutral data helpers (data.py)."""

import pytest

from ansible_collections.alicloud.ram.plugins.module_utils import data, results
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError
from ansible_collections.alicloud.ram.plugins.module_utils.failures import (
    InputError,
    InstanceFailures,
    ResourceFailure,
    instance_failure,
    instance_failure_from,
    refuse,
)


# -- failures ------------------------------------------------------------------------------------

def test_refuse_collects_every_message_into_one_input_error():
    refuse([None, None])
    with pytest.raises(InputError) as caught:
        refuse(['a is bad', None, 'b is bad'], prefix='invalid input: ', role_name='x')
    assert str(caught.value) == 'invalid input: a is bad; b is bad' and caught.value.result == {'role_name': 'x'}
    assert caught.value.error_dict() is None


def test_an_api_failure_is_one_line_naming_the_operation_with_the_error_dict():
    err = AlicloudApiError('NoPermission', 'denied\nby policy', request_id='R1', status=403)
    failure = ResourceFailure.api(err, 'attach policy p', role_name='web')
    assert str(failure) == 'attach policy p failed: NoPermission: denied by policy (request id R1)'
    assert failure.error_dict() == {'code': 'NoPermission', 'message': 'denied\nby policy', 'request_id': 'R1', 'status': 403}
    assert failure.result == {'role_name': 'web'}
    err.action = 'AttachPolicyToRole'
    assert str(ResourceFailure.api(err)).startswith('call AttachPolicyToRole failed: ')


def test_instance_failures_summarise_the_failed_instances():
    one = InstanceFailures('attach role app to 3 instance(s)', [instance_failure('i-1', 'Code.A', 'no', 'R1')], 3, summary={'failed': 1})
    assert str(one) == 'attach role app to 3 instance(s) failed: Code.A: i-1: no (request id R1)'
    assert one.result == {'summary': {'failed': 1}, 'failed_instances': [instance_failure('i-1', 'Code.A', 'no', 'R1')]}
    many = [instance_failure('i-%02d' % n, 'Code.B', 'busy') for n in range(12)]
    several = InstanceFailures('detach role app from 20 instance(s)', many, 20)
    assert str(several) == ('detach role app from 20 instance(s) failed: Code.B: 12 of 20 instance(s) failed (i-00, i-01, i-02, '
                            'i-03, i-04, i-05, i-06, i-07, i-08, i-09 and 2 more), first i-00: busy')
    assert several.error_dict()['code'] == 'Code.B'


def test_an_instance_failure_from_an_api_error():
    assert instance_failure_from('i-1', AlicloudApiError('Timeout', 'no answer', request_id='R')) == {
        'instance_id': 'i-1', 'code': 'Timeout', 'message': 'no answer', 'request_id': 'R'}


# -- fleet results -------------------------------------------------------------------------------

def test_lean_maps_keep_the_instances_a_change_was_meant_for():
    full = {'i-1': 'a', 'i-2': None, 'i-3': 'b'}
    assert results.lean_map(full, ['i-3', 'i-1']) == {'i-1': 'a', 'i-3': 'b'}
    assert results.lean_map(full, [], return_all=True) == full


def test_counts_and_the_one_line_message():
    counts = results.fleet_counts(100, 93, 2)
    assert counts == {'selected': 100, 'changed': 93, 'failed': 2, 'unchanged': 5}
    assert results.fleet_msg('attached web to', counts, 'held it already') == 'attached web to 93 of 100 instance(s); 5 held it already; 2 failed'
    assert results.fleet_msg('attached web to', results.fleet_counts(3, 3, 0), 'held it already') == 'attached web to 3 of 3 instance(s)'


# -- data ----------------------------------------------------------------------------------------

def test_lists_and_nested_keys_of_answers():
    assert data.as_list(None) == [] and data.as_list('a') == ['a'] and data.as_list(['a']) == ['a']
    body = {'Roles': {'Role': [{'RoleName': 'a'}, 'junk', {'RoleName': 'b'}]}, 'One': {'Item': {'x': 1}}}
    assert data.listed(body, ('Roles', 'Role')) == [{'RoleName': 'a'}, {'RoleName': 'b'}]
    assert data.listed(body, ('One', 'Item')) == [{'x': 1}] and data.listed(body, ('Missing', 'Item')) == []
    assert data.dig(body, ('One', 'Item', 'x')) == 1 and data.dig(body, ('Roles', 'Role', 'x')) is None


@pytest.mark.parametrize('value, expected', [(True, True), ('TRUE', True), (' yes ', True), ('1', True), ('on', True),
                                             (False, False), ('false', False), ('0', False), ('', False), (None, False)])
def test_truthy(value, expected):
    assert data.truthy(value) is expected


def test_numbers_and_short_lists():
    assert data.to_int('7') == 7 and data.to_int('x') is None and data.to_int(None, 0) == 0
    assert data.short_list(range(12)) == '0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more' and data.short_list(['a']) == 'a'
