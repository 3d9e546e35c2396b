# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by every unit test (see emulated.py)."""

from ansible_collections.alicloud.ram.tests.unit.emulated import emulated  # noqa: F401 pylint: disable=unused-import
