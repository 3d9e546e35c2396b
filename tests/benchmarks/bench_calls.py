# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 1: API calls of the example role (playbooks/instance_role_setup.yml) on N instances.

The playbook runs twice with the collection's own vars file (playbooks/vars/instance_role.yml:
a role with tags, one system and one custom policy, and hardened metadata mode when it sets
``instance_role_metadata_http_tokens``) and N freshly seeded VPC instances; the emulator's call
log gives the calls per action, compared with the least the APIs allow.
"""

from __future__ import annotations

import yaml

from common import ATTACH_LIMIT, DESCRIBE_INSTANCES_LIMIT, DESCRIBE_LIMIT, REPO_ROOT, loadavg_1m, pages, table

NAME = 'calls'
PLAYBOOK = REPO_ROOT / 'playbooks' / 'instance_role_setup.yml'
VARS_FILE = REPO_ROOT / 'playbooks' / 'vars' / 'instance_role.yml'
SIZES = (10, 250, 1000)
QUICK_SIZES = (120,)


def hardens_metadata():
    """Whether the vars file has the role enforce a metadata access mode on its instances."""
    with open(str(VARS_FILE), encoding='utf-8') as handle:
        return (yaml.safe_load(handle) or {}).get('instance_role_metadata_http_tokens') is not None


def minimum(n, first, hardened=False):
    """``{action: (least calls to decide and write, extra reads allowed to confirm, why)}``.

    The vars file manages a role with tags, a system policy and a custom policy with a document;
    ``wait`` is on in the role, so a run that changes attachments reads them back once. With
    ``hardened`` the role then sets the metadata access mode: ceil(N/100) DescribeInstances
    reads and, on new instances, one ModifyInstanceMetadataOptions each.
    """
    describe = pages(n, DESCRIBE_LIMIT)
    reads = pages(n, DESCRIBE_INSTANCES_LIMIT)
    if not first:
        model = {
            'GetRole': (1, 0, 'ram_instance_role: read the role'),
            'ListTagResources': (1, 0, 'ram_instance_role: tags are managed'),
            'ListPoliciesForRole': (2, 0, 'ram_instance_role returns attached_policies; ram_role_policy decides'),
            'GetPolicy': (1, 0, 'ram_role_policy: the custom policy and its default document'),
            'DescribeInstanceRamRole': (describe, 0, 'ceil(N/50) pages'),
        }
        if hardened:
            model['DescribeInstances'] = (reads, 0, 'ecs_instance_metadata_options: ceil(N/100) reads')
        return model
    model = {
        'GetRole': (1, 1, 'ram_instance_role: role absent; +1: attachment confirms the role ECS will get'),
        'CreateRole': (1, 0, 'tags go with CreateRole'),
        'ListTagResources': (0, 1, 'tags sent with CreateRole; +1 to read them back'),
        'TagResources': (0, 1, 'tags sent with CreateRole; +1 if tagged separately'),
        'ListPoliciesForRole': (1, 1, 'ram_role_policy decides; +1: ram_instance_role reports attached_policies'),
        'GetPolicy': (1, 2, 'custom policy absent; +2 to confirm the name is no system policy and the system policy exists'),
        'CreatePolicy': (1, 0, ''),
        'AttachPolicyToRole': (2, 0, 'one system + one custom policy'),
        'DescribeInstanceRamRole': (describe, describe, 'ceil(N/50) pages to decide; wait=true reads them back'),
        'DescribeInstances': (0, reads, 'confirm the instances are VPC before writing'),
        'AttachInstanceRamRole': (pages(n, ATTACH_LIMIT), 0, 'ceil(N/100) writes'),
    }
    if hardened:
        model['DescribeInstances'] = (reads, reads, 'ecs_instance_metadata_options: ceil(N/100) reads; +ceil(N/100) to confirm VPC')
        model['ModifyInstanceMetadataOptions'] = (n, 0, 'ecs_instance_metadata_options: one write per new instance')
    return model


def compare(counts, model):
    """Rows ``(action, calls, minimum, allowed, verdict)`` and whether the run met its target."""
    rows, ok = [], True
    for action in sorted(set(counts) | set(model)):
        least, confirm, _why = model.get(action, (0, 0, ''))
        calls = counts.get(action, 0)
        allowed = least + confirm
        verdict = 'ok' if calls <= allowed else 'OVER'
        ok = ok and calls <= allowed
        rows.append((action, calls, least, allowed, verdict))
    rows.append(('total', sum(counts.values()), sum(m[0] for m in model.values()),
                 sum(m[0] + m[1] for m in model.values()), 'ok' if ok else 'OVER'))
    return rows, ok


def run(bench, quick=False, log=print):
    results = []
    hardened = hardens_metadata()
    for n in (QUICK_SIZES if quick else SIZES):
        bench.emu.reset()
        ids = bench.seed(n)
        extra = {'instance_role_instance_ids': ids}
        entry = {'instances': n, 'runs': {}}
        for label, first in (('first', True), ('no-change', False)):
            bench.emu.clear_calls()
            load = loadavg_1m()
            result, wall, _timings = bench.run_playbook(PLAYBOOK, extra_vars=extra)
            counts = bench.counts()
            model = minimum(n, first, hardened)
            rows, ok = compare(counts, model)
            writes = sum(1 for c in bench.emu.calls() if c['write'])
            entry['runs'][label] = {
                'changed': result.changed, 'wall_seconds': round(wall, 2), 'loadavg_1m': load, 'counts': counts,
                'total_calls': sum(counts.values()), 'write_calls': writes,
                'minimum': dict((a, m[0]) for a, m in model.items()),
                'allowed': dict((a, m[0] + m[1]) for a, m in model.items()),
                'why': dict((a, m[2]) for a, m in model.items()),
                'target_met': ok,
            }
            log('\n[calls] N=%d, %s run (changed=%s, %.1f s, load %.2f)' % (n, label, result.changed, wall, load))
            log(table(('action', 'calls', 'minimum', 'minimum + confirm', 'target'), rows))
        results.append(entry)
    return {'sizes': results, 'hardened_metadata': hardened, 'target_met': all(r['runs'][k]['target_met'] for r in results for k in r['runs'])}
