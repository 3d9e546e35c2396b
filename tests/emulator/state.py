"""In-memory state of one emulated account, guarded by a single lock, optionally persisted to JSON."""

import copy
import hashlib
import json
import os
import secrets
import string
import threading
import time

from .detachlag import DetachLag
from .errors import ApiError

ALNUM = string.ascii_lowercase + string.digits
INSTANCE_STATUSES = ('Pending', 'Running', 'Starting', 'Stopping', 'Stopped')
DATE_FORMAT = '%Y-%m-%dT%H:%M:%SZ'
METADATA_CREDENTIAL_SECONDS = 6 * 3600
METADATA_REFRESH_MARGIN = 15 * 60


def iso(epoch=None):
    return time.strftime(DATE_FORMAT, time.gmtime(time.time() if epoch is None else epoch))


def digest_digits(seed, count):
    number = int(hashlib.sha256(seed.encode('utf-8')).hexdigest(), 16)
    return str(number % (10 ** count)).zfill(count)


def instance_id(region, index):
    number = int(hashlib.sha256(('%s/%d' % (region, index)).encode('utf-8')).hexdigest(), 16)
    chars = []
    for _unused in range(20):
        number, rest = divmod(number, len(ALNUM))
        chars.append(ALNUM[rest])
    return 'i-' + ''.join(chars)


def random_text(length, alphabet=string.ascii_letters + string.digits):
    return ''.join(secrets.choice(alphabet) for _unused in range(length))


class Config:
    """Start-up options that shape the seeded state."""

    def __init__(self, account_id='1234567890123456', access_key_id='LTAIEmulatorAdminKey',
                 access_key_secret='EmulatorAdminSecretDoNotUse0001', regions=('cn-hangzhou',), instances=3,
                 classic_instances=1, hardened_only=False, state_file=None):
        self.account_id = account_id
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.regions = list(regions)
        self.instances = instances
        self.classic_instances = classic_instances
        self.hardened_only = hardened_only
        self.state_file = state_file


class State:
    """Everything the emulator knows. Callers hold ``state.lock`` while reading or changing ``data``."""

    def __init__(self, config, faults):
        self.config = config
        self.faults = faults
        self.detach_lag = DetachLag(faults.clock)
        self.lock = threading.RLock()
        self.calls = []
        self.seq = 0
        self.data = self._fresh()
        if config.state_file and os.path.exists(config.state_file):
            with open(config.state_file, encoding='utf-8') as handle:
                self.data = json.load(handle)
        self._initial = copy.deepcopy(self.data)

    # ----------------------------------------------------------------- seeding
    def _fresh(self):
        cfg = self.config
        data = {
            'account_id': cfg.account_id,
            'counter': 0,
            'users': {},
            'access_keys': {},
            'roles': {},
            'groups': {},
            'policies': {},
            'instances': {},
            'instance_seq': {},
            'sts': {},
            'metadata_tokens': {},
            'metadata_credentials': {},
            'metadata': {'instance_id': None},
        }
        self.data = data
        self.add_user('emulator-admin', display_name='Emulator administrator')
        data['access_keys'][cfg.access_key_id] = {'secret': cfg.access_key_secret, 'user': 'emulator-admin',
                                                  'created': iso()}
        for number, region in enumerate(cfg.regions):
            ids = self.add_instances(region, cfg.instances, 'vpc')
            if number == 0:
                if ids:
                    data['metadata']['instance_id'] = ids[0]
                self.add_instances(region, cfg.classic_instances, 'classic')
        return data

    def reset(self):
        with self.lock:
            self.data = copy.deepcopy(self._initial)
            self.calls = []
            self.seq = 0
            self.detach_lag.clear()
            self.faults.reset()
            self.save()

    def save(self):
        if not self.config.state_file:
            return
        tmp = self.config.state_file + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.config.state_file)

    def next_number(self):
        self.data['counter'] += 1
        return self.data['counter']

    # ----------------------------------------------------------------- users and keys
    def add_user(self, name, display_name=None, comments=None, email=None, mobile=None):
        key = name.lower()
        if key in self.data['users']:
            return self.data['users'][key]
        now = iso()
        user = {'UserName': name, 'UserId': '2' + digest_digits('user/%s/%d' % (key, self.next_number()), 15),
                'DisplayName': display_name or name, 'Comments': comments or '', 'Email': email or '',
                'MobilePhone': mobile or '', 'CreateDate': now, 'UpdateDate': now, 'policies': []}
        self.data['users'][key] = user
        return user

    def arn_prefix(self):
        return 'acs:ram::%s:' % self.data['account_id']

    def principal_for_key(self, access_key_id, token):
        """Resolve an access key (and STS token) to a principal; raises the gateway's errors."""
        keys = self.data['access_keys']
        if access_key_id in keys:
            return {'type': 'user', 'user': keys[access_key_id]['user'], 'access_key_id': access_key_id}
        cred = self.data['sts'].get(access_key_id)
        if cred is None:
            raise ApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.')
        if not token or token != cred['token']:
            raise ApiError(400, 'InvalidSecurityToken.MismatchWithAccessKey', 'The security token you provided does not match the access key id.')
        if cred['expires'] <= time.time():
            raise ApiError(400, 'InvalidSecurityToken.Expired', 'Specified SecurityToken is expired.')
        role = self.data['roles'].get(cred['role'])
        if role is None or role['RoleId'] != cred['role_id']:
            raise ApiError(400, 'InvalidSecurityToken.Expired', 'Specified SecurityToken is expired.')
        return {'type': 'role', 'role': cred['role'], 'role_id': cred['role_id'], 'session': cred['session'],
                'access_key_id': access_key_id}

    def secret_for(self, access_key_id):
        """The signing secret of an access key; unknown keys raise InvalidAccessKeyId.NotFound."""
        with self.lock:
            if access_key_id in self.data['access_keys']:
                return self.data['access_keys'][access_key_id]['secret']
            if access_key_id in self.data['sts']:
                return self.data['sts'][access_key_id]['secret']
        raise ApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.')

    def issue_credentials(self, role, session, duration, source, instance=None):
        now = time.time()
        access_key_id = 'STS.' + random_text(24)
        cred = {'secret': random_text(40), 'token': 'CAIS' + random_text(200, string.ascii_letters + string.digits + '+/'),
                'expires': int(now + duration), 'role': role['RoleName'].lower(), 'role_id': role['RoleId'],
                'session': session, 'source': source, 'instance': instance, 'issued': int(now)}
        self.data['sts'][access_key_id] = cred
        self.prune_credentials(now)
        return access_key_id, cred

    def prune_credentials(self, now):
        expired = [ak for ak, cred in self.data['sts'].items() if cred['expires'] <= now]
        for ak in expired:
            del self.data['sts'][ak]

    def add_group(self, name, comments=None):
        key = name.lower()
        if key in self.data['groups']:
            return self.data['groups'][key]
        now = iso()
        group = {'GroupName': name, 'GroupId': '4' + digest_digits('group/%s/%d' % (key, self.next_number()), 15),
                 'Comments': comments or '', 'CreateDate': now, 'UpdateDate': now, 'policies': [],
                 'seq': self.data['counter']}
        self.data['groups'][key] = group
        return group

    # ----------------------------------------------------------------- roles
    def role_visible(self, role):
        """Whether ECS attach and STS assume see ``role`` yet: after ``role_visibility_delay`` seconds, and after the
        ``role_visibility_calls`` lookups naming it that were refused (counted per role, deterministic)."""
        if role.get('hidden_for', 0) > 0:
            role['hidden_for'] -= 1
            return False
        return time.time() >= role['created'] + self.faults.visibility_delay()

    def detach_role_everywhere(self, role_key):
        for inst in self.data['instances'].values():
            if inst['role'] == role_key:
                inst['role'] = None
        self.detach_lag.forget(role_key=role_key)

    # ----------------------------------------------------------------- instances
    def add_instances(self, region, count, network_type, tags=None, status='Running'):
        seq = self.data['instance_seq']
        http_tokens = 'required' if self.config.hardened_only else 'optional'
        ids = []
        for _unused in range(count):
            index = seq.get(region, 0)
            seq[region] = index + 1
            iid = instance_id(region, index)
            zone = '%s-%s' % (region, 'hijk'[index % 4])
            vpc = network_type == 'vpc'
            self.data['instances'][iid] = {
                'InstanceId': iid,
                'InstanceName': 'emulator-%s-%s-%d' % (network_type, region, index + 1),
                'HostName': 'iZ%sZ' % iid[2:14],
                'RegionId': region,
                'ZoneId': zone,
                'Status': status,
                'InstanceType': 'ecs.g7.large',
                'InstanceNetworkType': network_type,
                'CreationTime': '2024-01-01T00:%02dZ' % (index % 60),
                'VpcAttributes': {
                    'VpcId': 'vpc-%s' % digest_digits('vpc/' + region, 12) if vpc else '',
                    'VSwitchId': 'vsw-%s' % digest_digits('vsw/' + zone, 12) if vpc else '',
                    'PrivateIpAddress': {'IpAddress': ['172.16.%d.%d' % (index // 250, 10 + index % 240)] if vpc else []},
                },
                'InnerIpAddress': {'IpAddress': [] if vpc else ['10.0.%d.%d' % (index // 250, 10 + index % 240)]},
                'MetadataOptions': {'HttpEndpoint': 'enabled', 'HttpTokens': http_tokens, 'InstanceMetadataTags': 'disabled',
                                    'HttpPutResponseHopLimit': 1},
                'tags': [[str(k), str(v)] for k, v in (tags or {}).items()],
                'seq': self.next_number(),
                'role': None,
            }
            ids.append(iid)
        return ids

    def tag_instance(self, inst, tags):
        merged = dict((k, v) for k, v in inst['tags'])
        merged.update((str(k), str(v)) for k, v in tags.items())
        inst['tags'] = [[k, v] for k, v in merged.items()]

    def current_instance(self):
        """The instance the metadata service answers for, or None."""
        return self.data['instances'].get(self.data['metadata']['instance_id'] or '')

    def instances_in(self, region):
        found = [i for i in self.data['instances'].values() if i['RegionId'] == region]
        return sorted(found, key=lambda i: i['seq'])

    def role_name_of(self, inst):
        role = self.data['roles'].get(inst['role']) if inst['role'] else None
        return role['RoleName'] if role else ''

    def public_instance(self, inst):
        view = {k: copy.deepcopy(v) for k, v in inst.items() if k not in ('seq', 'role', 'role_policy', 'tags')}
        view['Tags'] = {'Tag': [{'TagKey': k, 'TagValue': v} for k, v in inst['tags']]}
        return view

    # ----------------------------------------------------------------- call log
    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry['seq'] = self.seq
            self.calls.append(entry)

    def dump(self):
        with self.lock:
            data = self.data
            roles = []
            for role in sorted(data['roles'].values(), key=lambda r: r['seq']):
                view = {k: v for k, v in role.items() if k not in ('seq', 'created', 'hidden_for')}
                view['Instances'] = sorted(i['InstanceId'] for i in data['instances'].values() if i['role'] == role['RoleName'].lower())
                roles.append(view)
            instances = []
            for inst in sorted(data['instances'].values(), key=lambda i: i['seq']):
                view = self.public_instance(inst)
                view['RamRoleName'] = self.role_name_of(inst)
                instances.append(view)
            return {
                'account_id': data['account_id'],
                'roles': roles,
                'policies': [copy.deepcopy(p) for p in sorted(data['policies'].values(), key=lambda p: p['seq'])],
                'users': [copy.deepcopy(u) for u in data['users'].values()],
                'groups': [copy.deepcopy(g) for g in sorted(data['groups'].values(), key=lambda g: g['seq'])],
                'instances': instances,
                'metadata': dict(data['metadata']),
                'sts_credentials': len(data['sts']),
            }
