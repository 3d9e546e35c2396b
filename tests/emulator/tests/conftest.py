"""Fixtures: one emulator per test session, reset before every test, and real SDK clients."""

import pytest

from tests.emulator.process import start_emulator
from tests.emulator.sdkhelpers import clients


@pytest.fixture(scope='session')
def emulator():
    with start_emulator('--regions', 'cn-hangzhou,cn-beijing') as emu:
        yield emu


@pytest.fixture(autouse=True)
def fresh(emulator):
    emulator.reset()
    yield


@pytest.fixture
def ram(emulator):
    return clients(emulator)[0]


@pytest.fixture
def ecs(emulator):
    return clients(emulator)[1]


@pytest.fixture
def sts(emulator):
    return clients(emulator)[2]
