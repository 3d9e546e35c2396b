# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by every unit test (see emulated.py)."""

import pytest

from ansible_collections.alicloud.ram.tests.unit.emulated import clock, emulated  # noqa: F401 pylint: disable=unused-import


@pytest.fixture
def ram(emulated):  # pylint: disable=redefined-outer-name
    """A RAM ``ServiceClient`` on the emulator."""
    return emulated.client('ram')


@pytest.fixture
def ecs(emulated):  # pylint: disable=redefined-outer-name
    """An ECS ``ServiceClient`` on the emulator (region cn-hangzhou)."""
    return emulated.client('ecs')
