"""A catalogue of real Alibaba Cloud system policy names with descriptions and documents.

Documents are representative reconstructions (same shape and intent), not verbatim copies.
"""

import json

_FULL = 'full'
_READ = 'read'

# (name, description, action prefixes, kind)
_ENTRIES = (
    ('AdministratorAccess', 'Provides full access to Alibaba Cloud services and resources.', ('*',), 'admin'),
    ('ReadOnlyAccess', 'Provides read-only access to Alibaba Cloud services and resources.', ('*',), _READ),
    ('AliyunECSFullAccess', 'Provides full access to Elastic Compute Service(ECS) via Management Console.', ('ecs',), _FULL),
    ('AliyunECSReadOnlyAccess', 'Provides read-only access to Elastic Compute Service(ECS) via Management Console.', ('ecs',), _READ),
    ('AliyunOSSFullAccess', 'Provides full access to Object Storage Service(OSS) via Management Console.', ('oss',), _FULL),
    ('AliyunOSSReadOnlyAccess', 'Provides read-only access to Object Storage Service(OSS) via Management Console.', ('oss',), _READ),
    ('AliyunRAMFullAccess', 'Provides full access to Resource Access Management(RAM) via Management Console.', ('ram',), _FULL),
    ('AliyunRAMReadOnlyAccess', 'Provides read-only access to Resource Access Management(RAM) via Management Console.', ('ram',), _READ),
    ('AliyunSTSAssumeRoleAccess', 'Provides access to call AssumeRole of Security Token Service(STS).', ('sts:AssumeRole',), 'action'),
    ('AliyunLogFullAccess', 'Provides full access to Log Service(Log) via Management Console.', ('log',), _FULL),
    ('AliyunLogReadOnlyAccess', 'Provides read-only access to Log Service(Log) via Management Console.', ('log',), _READ),
    ('AliyunVPCFullAccess', 'Provides full access to Virtual Private Cloud(VPC) via Management Console.', ('vpc',), _FULL),
    ('AliyunVPCReadOnlyAccess', 'Provides read-only access to Virtual Private Cloud(VPC) via Management Console.', ('vpc',), _READ),
    ('AliyunRDSFullAccess', 'Provides full access to ApsaraDB for RDS via Management Console.', ('rds',), _FULL),
    ('AliyunRDSReadOnlyAccess', 'Provides read-only access to ApsaraDB for RDS via Management Console.', ('rds',), _READ),
    ('AliyunSLBFullAccess', 'Provides full access to Server Load Balancer(SLB) via Management Console.', ('slb',), _FULL),
    ('AliyunSLBReadOnlyAccess', 'Provides read-only access to Server Load Balancer(SLB) via Management Console.', ('slb',), _READ),
    ('AliyunCloudMonitorFullAccess', 'Provides full access to CloudMonitor via Management Console.', ('cms',), _FULL),
    ('AliyunCloudMonitorReadOnlyAccess', 'Provides read-only access to CloudMonitor via Management Console.', ('cms',), _READ),
    ('AliyunKMSFullAccess', 'Provides full access to Key Management Service(KMS) via Management Console.', ('kms',), _FULL),
    ('AliyunKMSReadOnlyAccess', 'Provides read-only access to Key Management Service(KMS) via Management Console.', ('kms',), _READ),
    ('AliyunContainerRegistryFullAccess', 'Provides full access to Container Registry via Management Console.', ('cr',), _FULL),
    ('AliyunContainerRegistryReadOnlyAccess', 'Provides read-only access to Container Registry via Management Console.', ('cr',), _READ),
    ('AliyunCSFullAccess', 'Provides full access to Container Service via Management Console.', ('cs',), _FULL),
    ('AliyunCSReadOnlyAccess', 'Provides read-only access to Container Service via Management Console.', ('cs',), _READ),
    ('AliyunFCFullAccess', 'Provides full access to Function Compute(FC) via Management Console.', ('fc',), _FULL),
    ('AliyunFCReadOnlyAccess', 'Provides read-only access to Function Compute(FC) via Management Console.', ('fc',), _READ),
    ('AliyunDNSFullAccess', 'Provides full access to Alibaba Cloud DNS via Management Console.', ('alidns',), _FULL),
    ('AliyunDNSReadOnlyAccess', 'Provides read-only access to Alibaba Cloud DNS via Management Console.', ('alidns',), _READ),
    ('AliyunActionTrailFullAccess', 'Provides full access to ActionTrail via Management Console.', ('actiontrail',), _FULL),
    ('AliyunMNSFullAccess', 'Provides full access to Message Service(MNS) via Management Console.', ('mns',), _FULL),
    ('AliyunOTSFullAccess', 'Provides full access to Table Store(OTS) via Management Console.', ('ots',), _FULL),
    ('AliyunOTSReadOnlyAccess', 'Provides read-only access to Table Store(OTS) via Management Console.', ('ots',), _READ),
    ('AliyunECSAssistantFullAccess', 'Provides full access to ECS Cloud Assistant.',
     ('ecs:*Command*', 'ecs:*Invocation*'), 'action'),
    ('AliyunYundunSASFullAccess', 'Provides full access to Security Center via Management Console.', ('yundun-sas',), _FULL),
)


def _document(prefixes, kind):
    if kind == 'admin':
        statement = [{'Action': '*', 'Effect': 'Allow', 'Resource': '*'}]
    elif kind == 'action':
        statement = [{'Action': list(prefixes) if len(prefixes) > 1 else prefixes[0], 'Effect': 'Allow', 'Resource': '*'}]
    elif kind == _FULL:
        statement = [{'Action': '%s:*' % prefixes[0], 'Effect': 'Allow', 'Resource': '*'}]
    elif prefixes == ('*',):
        statement = [{'Action': ['*:Describe*', '*:List*', '*:Get*', '*:BatchGet*', '*:Query*', '*:Check*'],
                      'Effect': 'Allow', 'Resource': '*'}]
    else:
        svc = prefixes[0]
        statement = [{'Action': ['%s:Describe*' % svc, '%s:List*' % svc, '%s:Get*' % svc], 'Effect': 'Allow', 'Resource': '*'}]
    return json.dumps({'Version': '1', 'Statement': statement}, indent=2)


SYSTEM_POLICIES = [
    {
        'PolicyName': name,
        'PolicyType': 'System',
        'Description': description,
        'DefaultVersion': 'v1',
        'CreateDate': '2015-04-28T16:%02d:%02dZ' % (index // 60, index % 60),
        'UpdateDate': '2019-06-%02dT09:00:00Z' % (1 + index % 28),
        'PolicyDocument': _document(prefixes, kind),
    }
    for index, (name, description, prefixes, kind) in enumerate(_ENTRIES)
]

BY_LOWER_NAME = {p['PolicyName'].lower(): p for p in SYSTEM_POLICIES}


def find(name):
    """The system policy called ``name`` (any case), or None."""
    return BY_LOWER_NAME.get((name or '').lower())
