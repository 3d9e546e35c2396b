# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The one shape a failed run takes, and the one way input is refused.

* :class:`ResourceFailure`: one line, the API error behind it (or None), and result values known
  when it happened. API errors of the service layer become one with :meth:`ResourceFailure.api`.
* :class:`InstanceFailures`: the per-instance variant; ``failed_instances`` lists one
  :func:`instance_failure` dict per instance, the line summarises them.
* :class:`InputError`: input refused before any call. Validators return a message (or None);
  :func:`refuse` is the one collector that raises.
"""

from ansible_collections.alicloud.ram.plugins.module_utils.data import short_list
from ansible_collections.alicloud.ram.plugins.module_utils.errors import AlicloudApiError, format_error


class ResourceFailure(Exception):
    """A failed run: ``message`` (one line), ``error`` (:class:`AlicloudApiError` or None), ``result`` values."""

    def __init__(self, message, error=None, **result):
        super(ResourceFailure, self).__init__(message)
        self.error = error
        self.result = result

    @classmethod
    def api(cls, err, operation=None, **result):
        """The failure of an API call, named by ``operation`` (default: the one the service layer set)."""
        return cls(format_error(err, operation or err.operation or 'call %s' % (err.action or 'the API')), err, **result)

    def error_dict(self):
        return None if self.error is None else self.error.to_dict()


class InputError(ResourceFailure):
    """Input refused before any call was made."""


def refuse(messages, prefix='', **result):
    """Raise one :class:`InputError` listing every message of ``messages`` that is not None."""
    problems = [m for m in messages if m]
    if problems:
        raise InputError(prefix + '; '.join(problems), **result)


def instance_failure(instance_id, code, message, request_id=None):
    """One entry of ``failed_instances``."""
    return {'instance_id': instance_id, 'code': code, 'message': message, 'request_id': request_id}


def instance_failure_from(instance_id, err):
    """The ``failed_instances`` entry of an instance whose call failed with ``err``."""
    return instance_failure(instance_id, err.code, err.message, err.request_id)


class InstanceFailures(ResourceFailure):
    """Some instances failed: ``failures`` (``failed_instances`` entries) of ``total`` instances of ``operation``."""

    def __init__(self, operation, failures, total, **result):
        first = failures[0]
        if len(failures) == 1:
            text = '%s: %s' % (first['instance_id'], first['message'])
        else:
            text = '%d of %d instance(s) failed (%s), first %s: %s' % (
                len(failures), total, short_list(f['instance_id'] for f in failures), first['instance_id'], first['message'])
        err = AlicloudApiError(first['code'], text, request_id=first.get('request_id'))
        result['failed_instances'] = list(failures)
        super(InstanceFailures, self).__init__(format_error(err, operation), err, **result)
