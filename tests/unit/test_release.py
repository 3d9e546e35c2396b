# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's version is declared once and a release cannot swallow an older one
(docs/releasing.md)."""

import re
from pathlib import Path

import yaml

from ansible_collections.alicloud.ram.plugins.module_utils.version import COLLECTION_VERSION

ROOT = Path(__file__).resolve().parents[2]
CHANGELOGS = ROOT / 'changelogs'
VERSION_ADDED = re.compile(r'^\s*version_added:\s*["\']?([0-9][0-9.]*)', re.MULTILINE)


def version_tuple(text):
    return tuple(int(part) for part in str(text).split('.'))


def galaxy_version():
    return str(yaml.safe_load((ROOT / 'galaxy.yml').read_text())['version'])


def releases():
    return yaml.safe_load((CHANGELOGS / 'changelog.yaml').read_text()).get('releases') or {}


def unreleased_fragments():
    """Fragment files that no release of changelog.yaml lists yet."""
    released = set()
    for release in releases().values():
        released.update(release.get('fragments') or [])
    return sorted(p.name for p in (CHANGELOGS / 'fragments').iterdir() if p.suffix in ('.yml', '.yaml') and p.name not in released)


def test_galaxy_declares_the_collection_version():
    assert galaxy_version() == COLLECTION_VERSION


def test_unreleased_fragments_go_into_a_new_release():
    # antsibull-changelog release adds them to the version galaxy.yml names; when that version is
    # released already, it folds them into the old release with a mere warning.
    pending = unreleased_fragments()
    released = sorted(releases(), key=version_tuple)
    if pending and released:
        assert version_tuple(galaxy_version()) > version_tuple(released[-1]), (
            'galaxy.yml says %s, not newer than the last release %s, and %d fragments are not released yet: set the next '
            'version in galaxy.yml and plugins/module_utils/version.py' % (galaxy_version(), released[-1], len(pending)))


def test_no_plugin_is_documented_as_added_after_the_collection_version():
    newer = {}
    for path in sorted((ROOT / 'plugins').rglob('*.py')) + sorted((ROOT / 'roles').rglob('argument_specs.yml')):
        later = [v for v in VERSION_ADDED.findall(path.read_text()) if version_tuple(v) > version_tuple(COLLECTION_VERSION)]
        if later:
            newer[str(path.relative_to(ROOT))] = sorted(set(later))
    assert newer == {}
