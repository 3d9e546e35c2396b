"""Replay a recording of API calls against the emulator and report where its answers differ.

    python tests/emulator/conformance.py RECORDING [--url URL] [--emulator-args "--strict-metadata-options ..."]

RECORDING holds one JSON object per line and per API call, as the collection writes it with
``ALIBABA_CLOUD_RECORD=FILE``: ``service`` (ram|ecs|sts), ``action``, ``version``, ``region``, ``params``
(secrets replaced by ``********``), ``status`` and ``body`` (null when the answer was empty or not JSON).
The calls are sent in order through the official SDKs with the emulator's own credentials. Differences in
HTTP status, error code and answer shape (keys and value types, recursively) are reported one per line,
never differences of values (ids, dates, request ids ...). Exit status 0 with "0 differences", else 1.

Without ``--url`` a fresh emulator is started for the replay. The instances, RAM users and groups the
recording shows as existing are seeded first, and recorded instance ids and account ids are mapped to the
emulator's; roles and policies must be created by the recording itself.
"""

import argparse
import json
import os
import re
import shlex
import sys

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# pylint: disable=wrong-import-position
from tests.emulator import shapes
from tests.emulator.process import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, EmulatorProcess, start_emulator

ACCOUNT_IN_ARN = re.compile(r'acs:ram::\d+:')
USER_CREATORS = {'UserName': 'CreateUser', 'GroupName': 'CreateGroup'}


def load(path):
    """The recorded calls, in order; raises ValueError naming the first bad line."""
    calls = []
    with open(path, encoding='utf-8') as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                call = json.loads(line)
            except ValueError as exc:
                raise ValueError('line %d is not JSON: %s' % (number, exc)) from None
            if not isinstance(call, dict) or not all(key in call for key in ('service', 'action', 'version', 'params', 'status')):
                raise ValueError('line %d lacks service, action, version, params or status' % number)
            call['line'] = number
            calls.append(call)
    return calls


def region_of(call):
    return call.get('region') or call['params'].get('RegionId') or 'cn-hangzhou'


def named_ids(params):
    """Instance ids a call names (``InstanceIds`` as a JSON array or a list, ``InstanceId``)."""
    ids = params.get('InstanceIds')
    if isinstance(ids, str):
        try:
            ids = json.loads(ids)
        except ValueError:
            ids = []
    found = [i for i in (ids if isinstance(ids, list) else []) if isinstance(i, str)]
    if isinstance(params.get('InstanceId'), str):
        found.append(params['InstanceId'])
    return found


def listed_instances(body):
    """Instances a DescribeInstances answer shows, as {id: instance dict}."""
    items = (((body or {}).get('Instances') or {}).get('Instance')) or []
    return dict((i['InstanceId'], i) for i in items if isinstance(i, dict) and i.get('InstanceId'))


def existing_instances(calls):
    """{recorded id: {region, network_type, status, tags}} for every instance the recording shows as existing."""
    found = {}
    for call in calls:
        region = region_of(call)
        for iid, inst in listed_instances(call.get('body')).items():
            tags = ((inst.get('Tags') or {}).get('Tag')) or []
            found[iid] = {'region': inst.get('RegionId') or region, 'network_type': inst.get('InstanceNetworkType') or 'vpc',
                          'status': inst.get('Status') or 'Running', 'tags': dict((t['TagKey'], t['TagValue']) for t in tags)}
        ids = named_ids(call['params'])
        code = (call.get('body') or {}).get('Code') if call['status'] != 200 else None
        for iid in ids:
            if iid in found:
                continue
            if call['status'] == 200:
                found[iid] = {'region': region, 'network_type': 'vpc', 'status': 'Running', 'tags': {}}
            elif code == 'InvalidNetworkType.MismatchRamRole' and len(ids) == 1:
                found[iid] = {'region': region, 'network_type': 'classic', 'status': 'Running', 'tags': {}}
    return found


def existing_principals(calls):
    """{'UserName': [...], 'GroupName': [...]} named by a successful call and never created by the recording."""
    out = {}
    for field, creator in USER_CREATORS.items():
        created = set(c['params'].get(field) for c in calls if c['action'] == creator)
        names = []
        for call in calls:
            name = call['params'].get(field)
            if call['status'] == 200 and isinstance(name, str) and name not in created and name not in names:
                names.append(name)
        out[field] = names
    return out


def prepare(emulator, calls):
    """Seed what the recording needs; returns the map of recorded instance ids to emulator ids."""
    known = set(i['InstanceId'] for i in emulator.state()['instances'])
    mapping = {}
    for iid, spec in existing_instances(calls).items():
        if iid in known:
            continue
        new = emulator.seed_instances(1, region=spec['region'], network_type=spec['network_type'], status=spec['status'])[0]
        if spec['tags']:
            emulator.tag_instances([new], spec['tags'])
        mapping[iid] = new
    principals = existing_principals(calls)
    for name in principals['UserName']:
        emulator.create_user(name)
    for name in principals['GroupName']:
        emulator.create_group(name)
    return mapping


def rewrite(value, mapping, account_id):
    """A recorded parameter value with instance and account ids replaced by the emulator's."""
    if isinstance(value, str):
        value = ACCOUNT_IN_ARN.sub('acs:ram::%s:' % account_id, value)
        for old, new in mapping.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [rewrite(v, mapping, account_id) for v in value]
    if isinstance(value, dict):
        return dict((k, rewrite(v, mapping, account_id)) for k, v in value.items())
    return value


def wire_params(service, params):
    """Parameters as the SDK puts them in the query: ECS lists flattened (``Tag.1.Key``), RAM lists as JSON."""
    from alibabacloud_tea_openapi.utils import Utils  # pylint: disable=import-outside-toplevel
    flat = {}
    for key, value in params.items():
        if isinstance(value, (list, dict)):
            if service == 'ecs':
                flat.update(Utils.query({key: value}))
            else:
                flat[key] = json.dumps(value, separators=(',', ':'), ensure_ascii=False)
        elif value is not None:
            flat[key] = str(value)
    return flat


class Replayer:
    """Sends recorded calls through the official SDK clients of each service."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.clients = {}

    def client(self, service, region):
        key = (service, region)
        if key not in self.clients:
            # pylint: disable=import-outside-toplevel
            from alibabacloud_ecs20140526.client import Client as EcsClient
            from alibabacloud_ram20150501.client import Client as RamClient
            from alibabacloud_sts20150401.client import Client as StsClient
            from alibabacloud_tea_openapi.models import Config
            product = {'ram': RamClient, 'ecs': EcsClient, 'sts': StsClient}[service]
            self.clients[key] = product(Config(access_key_id=self.emulator.access_key_id, access_key_secret=self.emulator.access_key_secret,
                                               endpoint=self.emulator.endpoint, protocol='http', region_id=region))
        return self.clients[key]

    def send(self, call, params):
        """(HTTP status or None, error code or None, body or None) of one replayed call."""
        # pylint: disable=import-outside-toplevel
        from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
        from darabonba.runtime import RuntimeOptions
        api = Params(action=call['action'], version=call['version'], protocol='HTTP', pathname='/', method='POST', auth_type='AK',
                     style='RPC', req_body_type='formData', body_type='string')
        request = OpenApiRequest(query=wire_params(call['service'], params))
        try:
            answer = self.client(call['service'], region_of(call)).call_api(api, request, RuntimeOptions())
        except Exception as exc:  # pylint: disable=broad-except
            status = getattr(exc, 'status_code', None)
            data = getattr(exc, 'data', None)
            body = dict((k, v) for k, v in data.items() if k != 'statusCode') if isinstance(data, dict) else None
            return (int(status) if status else None), getattr(exc, 'code', None), body
        try:
            body = json.loads(answer['body']) if answer['body'] else None
        except ValueError:
            body = None
        return answer['statusCode'], None, body


def compare(call, status, code, body):
    """Differences of one call, each a line naming the recording line and the action."""
    label = 'line %d %s %s' % (call['line'], call['service'], call['action'])
    recorded_body = call.get('body')
    recorded_code = recorded_body.get('Code') if call['status'] != 200 and isinstance(recorded_body, dict) else None
    if status != call['status']:
        return ['%s: status %s in the recording, %s from the emulator%s' % (label, call['status'], status, ' (%s)' % code if code else '')]
    if recorded_code != code:
        return ['%s: code %s in the recording, %s from the emulator' % (label, recorded_code, code)]
    if (recorded_body is None) != (body is None):
        which = ('an empty or non-JSON body in the recording, JSON from the emulator' if recorded_body is None
                 else 'JSON in the recording, an empty or non-JSON body from the emulator')
        return ['%s: %s' % (label, which)]
    if recorded_body is None:
        return []
    return ['%s: %s' % (label, line) for line in shapes.differences(shapes.shape(recorded_body), shapes.shape(body))]


def replay(emulator, calls):
    """All differences of a recording replayed against ``emulator`` (already reset or fresh)."""
    mapping = prepare(emulator, calls)
    replayer = Replayer(emulator)
    found = []
    for call in calls:
        params = rewrite(call['params'], mapping, emulator.account_id)
        found.extend(compare(call, *replayer.send(call, params)))
    return found


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='conformance.py', description='Replay a recording against the emulator and list the differences.')
    parser.add_argument('recording', help='JSON lines file written with ALIBABA_CLOUD_RECORD')
    parser.add_argument('--url', help='a running emulator to use (it is reset first) instead of starting one')
    parser.add_argument('--access-key-id', default=DEFAULT_ACCESS_KEY_ID, help='admin key of the emulator given by --url')
    parser.add_argument('--access-key-secret', default=DEFAULT_ACCESS_KEY_SECRET)
    parser.add_argument('--emulator-args', default='', help='flags for the emulator started for the replay, e.g. "--strict-metadata-options"')
    return parser.parse_args(argv)


def connect(url, access_key_id, access_key_secret):
    """An :class:`EmulatorProcess` for an emulator some other process runs."""
    emulator = EmulatorProcess(None, url.rstrip('/'), ('--access-key-id', access_key_id, '--access-key-secret', access_key_secret))
    emulator.account_id = emulator.state()['account_id']
    return emulator


def main(argv=None):
    args = parse_args(argv)
    try:
        calls = load(args.recording)
    except (OSError, ValueError) as exc:
        print('cannot read %s: %s' % (args.recording, exc), file=sys.stderr)
        return 2
    if args.url:
        emulator = connect(args.url, args.access_key_id, args.access_key_secret)
        emulator.reset()
        found = replay(emulator, calls)
    else:
        regions = []
        for call in calls:
            if region_of(call) not in regions:
                regions.append(region_of(call))
        flags = ['--regions', ','.join(regions or ['cn-hangzhou']), '--instances', '0', '--classic-instances', '0']
        with start_emulator(*(flags + shlex.split(args.emulator_args))) as emulator:
            found = replay(emulator, calls)
    for line in found:
        print(line)
    print('%d differences' % len(found))
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
