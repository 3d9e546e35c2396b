# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A corpus of malformed input for every module and the lookup, run as one playbook.

Each bad task runs with ``ignore_errors`` and must fail with a clear one-line message (no
``Traceback``, no newline in ``msg``, naming what is wrong); the emulator's call log must hold no
write call afterwards. Figures are printed on one ``RELIABILITY`` line (pytest ``-s``).
"""

from __future__ import annotations

import json

from alibabacloud_ram20150501 import models as ram_models

from tests.emulator.sdkhelpers import ECS_TRUST, RAM_ONLY_TRUST, clients

ROLE = 'bad-input-role'
RAM_ONLY_ROLE = 'bad-input-ram-only'
USER = 'bad-input-user'
# what ansible-core 2.19 puts in ``exception`` when a module fails without a Python exception
NO_TRACEBACK = '(traceback unavailable)'
TRUST = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Principal': {'Service': ['ecs.aliyuncs.com']}}]}


def big_document(chars):
    """A syntactically valid policy document longer than ``chars`` characters."""
    resources = ['acs:oss:*:*:bucket-%04d/*' % i for i in range(chars // 24 + 1)]
    return {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'oss:GetObject', 'Resource': resources}]}


def corpus(vpc, classic):
    """(task name, module or 'lookup', arguments or lookup expression, words the message must contain)."""
    role = 'alicloud.ram.ram_instance_role'
    pol = 'alicloud.ram.ram_role_policy'
    att = 'alicloud.ram.ecs_instance_role_attachment'
    grant = 'alicloud.ram.ram_user_role_grant'
    rinfo = 'alicloud.ram.ram_instance_role_info'
    einfo = 'alicloud.ram.ecs_instance_role_info'
    doc = {'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': 'oss:GetObject', 'Resource': '*'}]}
    unknown_ids = ['i-unknown%011d' % n for n in range(3)]
    return [
        # ram_instance_role
        ('role: empty name', role, {'name': ''}, ['name']),
        ('role: name of 65 characters', role, {'name': 'r' * 65}, ['64']),
        ('role: name with invalid characters', role, {'name': 'bad_role!'}, ['name']),
        ('role: session duration below range', role, {'name': 'ok-role', 'max_session_duration': 3599}, ['3600']),
        ('role: session duration not a number', role, {'name': 'ok-role', 'max_session_duration': 'an hour'}, ['max_session_duration']),
        ('role: trust policy not JSON', role, {'name': 'ok-role', 'assume_role_policy_document': '{"Version": "1", '},
         ['json']),
        ('role: trust policy oversize', role, {'name': 'ok-role', 'assume_role_policy_document': dict(
            big_document(7000), Statement=[dict(big_document(7000)['Statement'][0], Principal={'Service': ['ecs.aliyuncs.com']})])},
         ['6144']),
        ('role: trust policy without principal', role, {'name': 'ok-role', 'assume_role_policy_document': doc}, ['principal']),
        ('role: trust policy with a bad effect', role, {'name': 'ok-role', 'assume_role_policy_document': {
            'Version': '1', 'Statement': [dict(TRUST['Statement'][0], Effect='Perhaps')]}}, ['effect']),
        ('role: description of 1025 characters', role, {'name': 'ok-role', 'description': 'd' * 1025}, ['1024']),
        ('role: reserved tag key', role, {'name': 'ok-role', 'tags': {'acs:owner': 'me'}}, ['acs:']),
        ('role: empty trusted services', role, {'name': 'ok-role', 'trusted_services': []}, ['trusted_services']),
        ('role: trust given twice', role, {'name': 'ok-role', 'trusted_services': ['ecs.aliyuncs.com'],
                                           'assume_role_policy_document': TRUST}, ['mutually exclusive']),
        # ram_role_policy
        ('policy: role name with invalid characters', pol, {'role_name': 'role name', 'policies': ['AliyunOSSReadOnlyAccess']},
         ['name']),
        ('policy: policy name of 129 characters', pol, {'role_name': ROLE, 'policies': ['p' * 129]}, ['128']),
        ('policy: unknown system policy', pol, {'role_name': ROLE, 'policies': [{'name': 'AliyunNoSuchAccess', 'type': 'System'}]},
         ['AliyunNoSuchAccess']),
        ('policy: unknown policy of any type', pol, {'role_name': ROLE, 'policies': ['NoSuchPolicyAnywhere']},
         ['NoSuchPolicyAnywhere']),
        ('policy: unknown policy next to a good one', pol, {'role_name': ROLE, 'policies': [
            'AliyunOSSReadOnlyAccess', {'name': 'bad-input-new', 'document': doc}, 'NoSuchPolicyAnywhere']}, ['NoSuchPolicyAnywhere']),
        ('policy: document not JSON', pol, {'role_name': ROLE, 'policies': [{'name': 'bad-input-doc', 'document': '{"Version":'}]},
         ['json']),
        ('policy: document oversize', pol, {'role_name': ROLE, 'policies': [{'name': 'bad-input-doc', 'document': big_document(7000)}]},
         ['6144']),
        ('policy: document without statement', pol, {'role_name': ROLE, 'policies': [{'name': 'bad-input-doc', 'document': {
            'Version': '1'}}]}, ['statement']),
        ('policy: unknown type', pol, {'role_name': ROLE, 'policies': [{'name': 'AliyunOSSReadOnlyAccess', 'type': 'Managed'}]},
         ['type']),
        ('policy: system policy with a document', pol, {'role_name': ROLE, 'policies': [{
            'name': 'AliyunOSSReadOnlyAccess', 'type': 'System', 'document': doc}]}, ['system']),
        ('policy: custom policy named like a system policy', pol, {'role_name': ROLE, 'policies': [{
            'name': 'AliyunOSSReadOnlyAccess', 'document': doc}]}, ['system policy']),
        ('policy: listed twice', pol, {'role_name': ROLE, 'policies': ['AliyunOSSReadOnlyAccess', 'aliyunossreadonlyaccess']},
         ['twice']),
        ('policy: item of the wrong type', pol, {'role_name': ROLE, 'policies': [42]}, ['policies[0]']),
        ('policy: unknown item key', pol, {'role_name': ROLE, 'policies': [{'name': 'AliyunOSSReadOnlyAccess', 'scope': 'all'}]},
         ['scope']),
        ('policy: role that does not exist', pol, {'role_name': 'no-such-role', 'policies': ['AliyunOSSReadOnlyAccess']},
         ['no-such-role']),
        # ecs_instance_role_attachment
        ('attach: empty instance list', att, {'role_name': ROLE, 'instance_ids': []}, ['instance_ids']),
        ('attach: unknown instances', att, {'role_name': ROLE, 'instance_ids': unknown_ids}, [unknown_ids[0]]),
        ('attach: unknown instance among good ones', att, {'role_name': ROLE, 'instance_ids': vpc + unknown_ids[:1]}, [unknown_ids[0]]),
        ('attach: classic instance', att, {'role_name': ROLE, 'instance_ids': [classic]}, ['classic']),
        ('attach: 150 ids of which 150 unknown', att, {'role_name': ROLE, 'instance_ids': [
            'i-nothere%012d' % n for n in range(150)]}, ['150']),
        ('attach: role that does not exist', att, {'role_name': 'no-such-role', 'instance_ids': vpc}, ['no-such-role']),
        ('attach: role ECS may not assume', att, {'role_name': RAM_ONLY_ROLE, 'instance_ids': vpc}, ['ecs']),
        ('attach: role name with invalid characters', att, {'role_name': 'role/x', 'instance_ids': vpc}, ['name']),
        ('attach: extra policy not JSON', att, {'role_name': ROLE, 'instance_ids': vpc, 'policy': '{"Statement": ['}, ['json']),
        ('attach: extra policy oversize', att, {'role_name': ROLE, 'instance_ids': vpc, 'policy': big_document(1100)}, ['1024']),
        ('attach: concurrency 0', att, {'role_name': ROLE, 'instance_ids': vpc, 'concurrency': 0}, ['concurrency']),
        ('attach: instance id with a space', att, {'role_name': ROLE, 'instance_ids': ['i-abc def']}, ['whitespace']),
        ('attach: instance id given as a dict', att, {'role_name': ROLE, 'instance_ids': [{'id': 1}]}, ['instance id']),
        # ram_user_role_grant
        ('grant: unknown user', grant, {'user_name': 'nobody-here', 'role_name': ROLE}, ['nobody-here']),
        ('grant: unknown role', grant, {'user_name': USER, 'role_name': 'no-such-role'}, ['no-such-role']),
        ('grant: user name with invalid characters', grant, {'user_name': 'bad user!', 'role_name': ROLE}, ['name']),
        ('grant: policy name with a period', grant, {'user_name': USER, 'role_name': ROLE, 'policy_name': 'pass.role'}, ['name']),
        ('grant: allow_instance_management not a boolean', grant, {
            'user_name': USER, 'role_name': ROLE, 'allow_instance_management': 'sometimes'}, ['allow_instance_management']),
        # info modules
        ('role info: name with invalid characters', rinfo, {'name': 'bad name'}, ['name']),
        ('instance info: role name too long', einfo, {'role_name': 'r' * 65}, ['64']),
        # common options
        ('common: endpoint with a bad scheme', rinfo, {'name': ROLE, 'ram_endpoint': 'ftp://127.0.0.1:1'}, ['endpoint']),
        ('common: assume_role with a malformed ARN', role, {'name': 'ok-role', 'assume_role': {'role_arn': 'not-an-arn'}},
         ['assume_role']),
        ('common: retries not a number', role, {'name': 'ok-role', 'retries': 'many'}, ['retries']),
        # the lookup
        ('lookup: unknown imds_mode', 'lookup', "'%s', imds_mode='v1'" % ROLE, ['imds_mode']),
        ('lookup: token_ttl 0', 'lookup', "'%s', token_ttl=0" % ROLE, ['token_ttl']),
        ('lookup: token_ttl above 21600', 'lookup', "'%s', token_ttl=99999" % ROLE, ['token_ttl']),
        ('lookup: negative timeout', 'lookup', "'%s', timeout=-1" % ROLE, ['timeout']),
        ('lookup: negative retries', 'lookup', "'%s', retries=-1" % ROLE, ['retries']),
        ('lookup: term that is not a string', 'lookup', "{'role': 'x'}", ['role name']),
        ('lookup: endpoint that is not a URL', 'lookup', "'%s', metadata_endpoint='not a url'" % ROLE, ['metadata_endpoint']),
        ('lookup: role not attached to the instance', 'lookup', "'no-such-role'", ['no-such-role']),
    ]


def to_task(name, module, args):
    if module == 'lookup':
        return {'name': name, 'ansible.builtin.debug': {'var': 'creds'}, 'ignore_errors': True,
                'vars': {'creds': "{{ lookup('alicloud.ram.metadata_credentials', %s) }}" % args}}
    return {'name': name, module: args, 'ignore_errors': True}


def test_bad_input_corpus_fails_cleanly_without_any_write(runner, emu):
    ram, _ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name=ROLE, assume_role_policy_document=ECS_TRUST))
    ram.create_role(ram_models.CreateRoleRequest(role_name=RAM_ONLY_ROLE, assume_role_policy_document=RAM_ONLY_TRUST))
    emu.create_user(USER)
    instances = emu.instances()
    vpc = [i['InstanceId'] for i in instances if i['InstanceNetworkType'] == 'vpc']
    classic = next(i['InstanceId'] for i in instances if i['InstanceNetworkType'] == 'classic')
    emu.set_metadata(role_name=ROLE)
    cases = corpus(vpc, classic)
    assert len(cases) >= 40
    assert len({c[0] for c in cases}) == len(cases), 'task names must be unique'
    before = emu.state()
    emu.clear_calls()

    res = runner.run_tasks([to_task(name, module, args) for name, module, args, _words in cases], env={'ANSIBLE_DEBUG': None})

    problems = []
    for name, _module, _args, words in cases:
        item = res.by_name(name)
        msg = item['result'].get('msg')
        text = json.dumps(item['result'])
        if item['status'] != 'failed' or not item['ignored']:
            problems.append('%s: not failed (%s)' % (name, item['status']))
        elif not isinstance(msg, str) or not msg.strip():
            problems.append('%s: no message' % name)
        elif '\n' in msg.strip():
            problems.append('%s: message spans lines: %r' % (name, msg))
        elif 'Traceback' in text or item['result'].get('exception', NO_TRACEBACK) != NO_TRACEBACK:
            problems.append('%s: traceback in the result' % name)
        elif not all(w.lower() in msg.lower() for w in words):
            problems.append('%s: message %r does not mention %s' % (name, msg, words))
    writes = emu.write_calls()
    after = emu.state()
    print('\nRELIABILITY bad input: cases=%d clean_errors=%d write_calls=%d' % (len(cases), len(cases) - len(problems), len(writes)))
    assert problems == [], '\n'.join(problems)
    assert writes == [], writes
    assert [r['RoleName'] for r in after['roles']] == [r['RoleName'] for r in before['roles']]
    assert after['policies'] == before['policies'] == []
    assert [(i['InstanceId'], i['RamRoleName']) for i in after['instances']] == [
        (i['InstanceId'], i['RamRoleName']) for i in before['instances']]


def test_more_than_100_instances_are_attached_in_batches_of_at_most_100(runner, emu):
    """The per-call limit of AttachInstanceRamRole is 100 ids: a list of 150 is valid and batched."""
    ram, _ecs, _sts = clients(emu)
    ram.create_role(ram_models.CreateRoleRequest(role_name=ROLE, assume_role_policy_document=ECS_TRUST))
    ids = emu.seed_instances(150)
    emu.clear_calls()

    res = runner.run_tasks([
        {'name': 'attach 150', 'alicloud.ram.ecs_instance_role_attachment': {'role_name': ROLE, 'instance_ids': ids}},
        {'name': 'list 150', 'alicloud.ram.ecs_instance_role_info': {'instance_ids': ids}},
    ])

    attach_calls = [c for c in emu.calls() if c['action'] == 'AttachInstanceRamRole']
    sizes = sorted(len(json.loads(c['params']['InstanceIds'])) for c in attach_calls)
    assert sum(sizes) == 150 and max(sizes) <= 100, sizes
    describe_sizes = [len(json.loads(c['params']['InstanceIds'])) for c in emu.calls() if c['action'] == 'DescribeInstanceRamRole']
    assert max(describe_sizes) <= 50, describe_sizes
    assert sorted(res.module_result('attach 150')['changed_instance_ids']) == sorted(ids)
    assert len(res.module_result('list 150')['attachments']) == 150
    assert sorted(i['InstanceId'] for i in emu.state()['instances'] if i['RamRoleName'] == ROLE) == sorted(ids)
