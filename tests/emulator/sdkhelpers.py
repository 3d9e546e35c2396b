"""Helpers for driving the emulator with the official SDK clients (used by the emulator's tests)."""

import json

import pytest

from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.models import Config

ECS_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow', 'Principal': {'Service': ['ecs.aliyuncs.com']}}],
                        'Version': '1'})
ACCOUNT_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow',
                                           'Principal': {'RAM': ['acs:ram::1234567890123456:root'], 'Service': ['ecs.aliyuncs.com']}}],
                            'Version': '1'})
RAM_ONLY_TRUST = json.dumps({'Statement': [{'Action': 'sts:AssumeRole', 'Effect': 'Allow',
                                            'Principal': {'RAM': ['acs:ram::1234567890123456:root']}}], 'Version': '1'})


def policy(action='oss:GetObject'):
    return json.dumps({'Version': '1', 'Statement': [{'Effect': 'Allow', 'Action': action, 'Resource': '*'}]})


def make_config(emulator, access_key_id=None, access_key_secret=None, security_token=None):
    return Config(access_key_id=access_key_id or emulator.access_key_id,
                  access_key_secret=access_key_secret or emulator.access_key_secret,
                  security_token=security_token, endpoint=emulator.endpoint, protocol='http', region_id='cn-hangzhou')


def clients(emulator, **kwargs):
    config = make_config(emulator, **kwargs)
    return RamClient(config), EcsClient(config), StsClient(config)


def error_of(call, *args):
    """Run an SDK call that must fail and return the SDK exception (``code``, ``status_code``, ``data``)."""
    with pytest.raises(Exception) as info:
        call(*args)
    exc = info.value
    assert hasattr(exc, 'code'), repr(exc)
    return exc
