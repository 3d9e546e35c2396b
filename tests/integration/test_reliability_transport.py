# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module says when the endpoint is wrong or the answer is not the API's, in one playbook:

1. endpoints carrying a password (URL user information) or a token (query), or another scheme:
   refused before any call, the secret never in any output (``-vvv``);
2. a 5 MB HTML error page with HTTP 502 (a gateway), then an HTML page with HTTP 200 (a captive
   portal): one line labelled with the status and content type, the body trimmed;
3. a server that trickles its answers one byte at a time: each call cut off at ``read_timeout``.

``ansible.builtin.uri`` tasks switch the emulator's faults between the parts. Figures on one
``RELIABILITY`` line (pytest ``-s`` or ``-rA``).
"""

from __future__ import annotations

import json
import time

MODULES = (
    ('role', 'ram_instance_role', {'name': 'tr-app'}),
    ('policies', 'ram_role_policy', {'role_name': 'tr-app', 'policies': ['AliyunOSSReadOnlyAccess']}),
    ('attach', 'ecs_instance_role_attachment', {'role_name': 'tr-app', 'instance_ids': ['INSTANCE']}),
    ('grant', 'ram_user_role_grant', {'user_name': 'tr-user', 'role_name': 'tr-app'}),
    ('metadata', 'ecs_instance_metadata_options', {'instance_ids': ['INSTANCE'], 'http_tokens': 'required'}),
    ('role info', 'ram_instance_role_info', {'name': 'tr-app'}),
    ('instance info', 'ecs_instance_role_info', {'instance_ids': ['INSTANCE']}),
)
SECRETS = ('UrlPassw0rdRel', 'UrlT0kenRel', 'FtpPassw0rdRel', 'KeyInQueryRel', 'MetaPassw0rdRel')
READ_TIMEOUT = 1
BODY_SIZE = 5000000


def endpoint_cases(host):
    """(option, URL) per module, cycling through the ways a secret can ride in a URL."""
    urls = (
        ('ram_endpoint', 'http://admin:%s@%s' % (SECRETS[0], host)),
        ('ecs_endpoint', 'http://%s/?token=%s' % (host, SECRETS[1])),
        ('sts_endpoint', 'ftp://admin:%s@%s' % (SECRETS[2], host)),
        ('ram_endpoint', 'https://%s/api?AccessKeySecret=%s' % (host, SECRETS[3])),
    )
    return [urls[n % len(urls)] for n in range(len(MODULES))]


def tasks_for(part, instance, extra_args=None, per_module=None):
    tasks = []
    for n, (short, module, args) in enumerate(MODULES):
        args = dict((k, [instance] if v == ['INSTANCE'] else v) for k, v in args.items())
        args.update(extra_args or {})
        args.update((per_module or {}).get(n, {}))
        tasks.append({'name': '%s: %s' % (part, short), 'alicloud.ram.%s' % module: args, 'ignore_errors': True})
    return tasks


def faults_task(emu, **settings):
    return {'name': 'faults %s' % sorted(settings), 'changed_when': False, 'ansible.builtin.uri': {
        'url': '%s/_emulator/faults' % emu.url, 'method': 'POST', 'body_format': 'json', 'body': settings, 'use_proxy': False}}


def lookup_task(name, **options):
    args = ''.join(', %s=%s' % (key, json.dumps(value)) for key, value in options.items())
    return {'name': name, 'ansible.builtin.debug': {'msg': "{{ lookup('alicloud.ram.metadata_credentials', 'tr-app'%s) }}" % args},
            'ignore_errors': True}


def test_secret_urls_raw_error_pages_and_trickling_answers_in_every_module(runner, emu):
    instance = emu.instances()[0]['InstanceId']
    urls = endpoint_cases(emu.endpoint)
    html_502 = {'status': 502, 'content_type': 'text/html', 'size': BODY_SIZE}
    html_200 = {'status': 200, 'content_type': 'text/html; charset=utf-8', 'size': 20000}
    tasks = tasks_for('url', instance, per_module=dict((n, {option: url}) for n, (option, url) in enumerate(urls)))
    tasks.append(lookup_task('url: lookup', metadata_endpoint='http://admin:%s@%s' % (SECRETS[4], emu.endpoint)))
    tasks.append(faults_task(emu, raw_error=html_502))
    tasks += tasks_for('502', instance, {'retries': 0})
    tasks.append(faults_task(emu, raw_error=html_200))
    tasks += tasks_for('200', instance, {'retries': 0})[:2]
    tasks.append(faults_task(emu, raw_error=None, trickle_ms=200))
    tasks += tasks_for('trickle', instance, {'retries': 0, 'read_timeout': READ_TIMEOUT})
    tasks.append(lookup_task('trickle: lookup', timeout=READ_TIMEOUT, retries=0, imds_mode='plain'))
    tasks.append(faults_task(emu, trickle_ms=0))
    emu.clear_calls()
    started = time.monotonic()

    res = runner.run_tasks(tasks, verbosity=3)

    elapsed = time.monotonic() - started
    output = res.stdout + res.stderr + json.dumps(res.results)
    assert [s for s in SECRETS if s in output] == []
    results = dict((r['task'], r) for r in res.results)
    failed = [r for name, r in results.items() if not name.startswith('faults')]
    assert all(r['status'] == 'failed' and r['changed'] is False for r in failed), [(r['task'], r['status']) for r in failed]
    assert all('\n' not in r['result']['msg'] and 'Traceback' not in json.dumps(r['result']) for r in failed)

    # 1: refused before any call: the first call of the run is the first one answered by the raw error
    calls = [c for c in emu.calls() if c['service'] != 'metadata']
    assert calls and calls[0]['injected'] and calls[0]['status'] == 502, calls[:3]
    for (option, _url), (short, _module, _args) in zip(urls, MODULES):
        msg = results['url: %s' % short]['result']['msg']
        # the refusal names the option and the problem, never the URL
        assert msg.startswith(option) and ('not allowed' in msg or 'scheme must be http or https' in msg), msg
    assert 'metadata_endpoint: user information in the URL is not allowed' in results['url: lookup']['result']['msg']

    # 2: one call each (a 502 is transient, but retries=0), labelled and trimmed
    raw = [c for c in calls if c['injected']]
    assert [c['status'] for c in raw] == [502] * len(MODULES) + [200] * 2, [(c['action'], c['status']) for c in raw]
    for short, _module, _args in MODULES:
        out = results['502: %s' % short]['result']
        assert out['error']['code'] == 'UnexpectedAnswer' and out['error']['status'] == 502, out['error']
        assert 'answered HTTP 502 Bad Gateway (text/html, %d bytes) instead of the API\'s JSON answer' % BODY_SIZE in out['msg'], out['msg']
        assert len(out['msg']) < 1400, len(out['msg'])
    for short, _module, _args in MODULES[:2]:
        out = results['200: %s' % short]['result']
        assert out['error']['code'] == 'UnexpectedAnswer' and 'answered HTTP 200' in out['msg'], out['msg']
        assert '(text/html; charset=utf-8, 20000 bytes)' in out['msg'] and len(out['msg']) < 1400, out['msg']

    # 3: each module's first call cut off at read_timeout, no retry
    trickled = [c for c in calls if not c['injected']]
    assert len(trickled) == len(MODULES), [(c['action'], c['status']) for c in trickled]
    for short, _module, _args in MODULES:
        out = results['trickle: %s' % short]['result']
        assert out['error']['code'] == 'Timeout', out
        assert out['msg'].endswith('no complete answer from %s within %ds (read_timeout)' % (emu.url, READ_TIMEOUT)), out['msg']
    assert 'sent no complete answer within %ds (timeout)' % READ_TIMEOUT in results['trickle: lookup']['result']['msg']
    print('\nRELIABILITY transport: modules=%d tasks=%d api_calls=%d secret_urls=%d leaks=0 raw_error_answers=%d largest_msg=%d '
          'stdout_bytes=%d trickled_calls=%d seconds=%.0f' % (
              len(MODULES), len(failed), len(calls), len(urls) + 1, len(raw), max(len(r['result']['msg']) for r in failed),
              len(res.stdout), len(trickled), elapsed))
    assert len(res.stdout) < 400000
