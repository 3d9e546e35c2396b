# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""The collection's version, as galaxy.yml declares it (tests/unit/test_release.py keeps them equal)."""

COLLECTION_VERSION = '0.2.0'
