# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 4: 100 metadata_credentials lookups in one play fetch the credentials once.

The emulator's metadata service answers as a seeded instance holding a role. One task templates
the lookup LOOKUPS times (a loop); a second task uses the documented reuse pattern (``set_fact``
with ``run_once`` and ``no_log``, then the fact in LOOKUPS loop items). The emulator's call log
counts the metadata requests (``PutToken``, ``GetRoleCredentials``).
"""

from __future__ import annotations

from common import REGION, loadavg_1m, table

NAME = 'lookup'
ROLE = 'bench-lookup-role'
LOOKUPS = 100
QUICK_LOOKUPS = 20


def run(bench, quick=False, log=print):
    count = QUICK_LOOKUPS if quick else LOOKUPS
    bench.emu.reset()
    iid = bench.seed(1)[0]
    bench.create_role(ROLE)
    bench.emu.set_metadata(instance_id=iid, role_name=ROLE)
    expression = "lookup('alicloud.ram.metadata_credentials', '%s', metadata_endpoint='%s')" % (ROLE, bench.emu.url)
    load = loadavg_1m()
    results = {}
    tasks = {
        'loop': [{'name': 'lookups', 'ansible.builtin.set_fact': {'seen': '{{ seen | default([]) + [creds.access_key_id] }}'},
                  'vars': {'creds': '{{ %s }}' % expression}, 'loop': '{{ range(%d) | list }}' % count, 'no_log': True}],
        'set_fact once, then reuse': [
            {'name': 'fetch once', 'ansible.builtin.set_fact': {'creds': '{{ %s }}' % expression}, 'run_once': True, 'no_log': True},
            {'name': 'reuse', 'ansible.builtin.set_fact': {'seen': '{{ seen | default([]) + [creds.access_key_id] }}'},
             'loop': '{{ range(%d) | list }}' % count, 'no_log': True}],
    }
    for label, play in tasks.items():
        bench.emu.clear_calls()
        result, wall, _timings = bench.run_tasks(play + [{'name': 'check', 'ansible.builtin.assert': {
            'that': ['seen | length == %d' % count, 'seen | unique | length == 1']}}])
        metadata = [c for c in bench.emu.calls() if c['service'] == 'metadata']
        by_action = {}
        for call in metadata:
            by_action[call['action']] = by_action.get(call['action'], 0) + 1
        results[label] = {'lookups': count, 'metadata_calls': by_action,
                          'credential_fetches': by_action.get('GetRoleCredentials', 0),
                          'check': result.by_name('check')['status'], 'playbook_seconds': round(wall, 2)}
    log('\n[lookup] %d lookups in one play (region %s, load %.2f)' % (count, REGION, load))
    log(table(('pattern', 'lookups', 'credential fetches', 'metadata requests'), [
        (label, r['lookups'], r['credential_fetches'], ', '.join('%s=%d' % i for i in sorted(r['metadata_calls'].items())))
        for label, r in results.items()]))
    return {'patterns': results, 'loadavg_1m': load,
            'target_met': all(r['credential_fetches'] == 1 and r['check'] == 'ok' for r in results.values())}
