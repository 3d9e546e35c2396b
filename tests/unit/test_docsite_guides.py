# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The documentation site carries the guides' full text, and guides and plugin pages link to each other.

The pages docs/docsite/rst/NAME.rst are generated from docs/NAME.md by tests/tools/guides_rst.py
(make guides); these tests keep them current and check the conversion itself.
"""

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LABEL = 'ansible_collections.alicloud.ram.docsite.'
_SPEC = importlib.util.spec_from_file_location('guides_rst', str(ROOT / 'tests' / 'tools' / 'guides_rst.py'))
guides_rst = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(guides_rst)


def documentation(path):
    source = path.read_text()
    return yaml.safe_load(re.search(r"^DOCUMENTATION = r'''\n(.*?)^'''", source, re.MULTILINE | re.DOTALL).group(1))


def plugin_files():
    return sorted((ROOT / 'plugins' / 'modules').glob('*.py')) + sorted((ROOT / 'plugins' / 'lookup').glob('*.py'))


def convert(tmp_path, markdown, name='page'):
    """Render ``markdown`` as guide ``name`` of a scratch collection tree."""
    (tmp_path / 'docs').mkdir(exist_ok=True)
    (tmp_path / 'galaxy.yml').write_text('repository: https://example.invalid/repo\n')
    (tmp_path / 'docs' / ('%s.md' % name)).write_text(markdown)
    return guides_rst.Page(str(tmp_path), name).render()


def test_the_committed_pages_are_generated_from_the_current_guides():
    assert guides_rst.stale_pages(str(ROOT)) == [], 'run make guides'


def test_every_guide_is_in_the_site_and_every_site_page_is_a_guide():
    listed = set()
    for section in yaml.safe_load((ROOT / 'docs' / 'docsite' / 'extra-docs.yml').read_text())['sections']:
        listed.update(section['toctree'])
    assert listed == set(guides_rst.guide_names(str(ROOT)))
    assert set(p.stem for p in (ROOT / 'docs' / 'docsite' / 'rst').glob('*.rst')) == listed


@pytest.mark.parametrize('path', plugin_files(), ids=lambda p: p.stem)
def test_each_plugin_links_to_its_guides_and_they_link_back(path):
    refs = [entry['ref'] for entry in documentation(path).get('seealso', []) if 'ref' in entry]
    guides = [ref[len(LABEL):] for ref in refs if ref.startswith(LABEL)]
    assert guides, '%s has no seealso to a guide' % path.name
    relative = '../%s' % path.relative_to(ROOT)
    for guide in guides:
        page = ROOT / 'docs' / ('%s.md' % guide)
        assert page.is_file(), '%s refers to %s, which is not a guide' % (path.name, guide)
        assert '](%s)' % relative in page.read_text(), 'docs/%s.md does not link to %s' % (guide, relative)


def test_headings_get_labels_and_underlines(tmp_path):
    rst = convert(tmp_path, '# Title\n\nIntro.\n\n## Step `one`\n\n### Step `one`\n')
    assert '.. _ansible_collections.alicloud.ram.docsite.page:\n\nTitle\n=====\n' in rst
    assert '.. _ansible_collections.alicloud.ram.docsite.page.step-one:\n\nStep ``one``\n------------\n' in rst
    assert '.. _ansible_collections.alicloud.ram.docsite.page.step-one-1:\n\nStep ``one``\n~~~~~~~~~~~~\n' in rst


def test_inline_markup_is_separated_from_words(tmp_path):
    rst = convert(tmp_path, '# T\n\nthe `role`s and **bold**ly a_b c_ *x*\n')
    assert 'the ``role``\\ s and **bold**\\ ly a_b c\\_ *x*' in rst


def test_links_become_references_or_repository_urls(tmp_path):
    (tmp_path / 'tests').mkdir()
    (tmp_path / 'tests' / 'README.md').write_text('x')
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'other.md').write_text('# Other\n')
    rst = convert(tmp_path, '# T\n\n[m](../plugins/modules/ram_role_policy.py) [l](../plugins/lookup/metadata_credentials.py) '
                            '[r](../roles/instance_role/README.md) [g](other.md#a-b) [h](#here) [f](../tests/README.md) '
                            '[w](https://example.com/x)\n')
    assert ':ref:`m <ansible_collections.alicloud.ram.ram_role_policy_module>`' in rst
    assert ':ref:`l <ansible_collections.alicloud.ram.metadata_credentials_lookup>`' in rst
    assert ':ref:`r <ansible_collections.alicloud.ram.instance_role_role>`' in rst
    assert ':ref:`g <ansible_collections.alicloud.ram.docsite.other.a-b>`' in rst
    assert ':ref:`h <ansible_collections.alicloud.ram.docsite.page.here>`' in rst
    assert '`f <https://example.invalid/repo/blob/main/tests/README.md>`__' in rst
    assert '`w <https://example.com/x>`__' in rst


def test_lists_tables_and_code(tmp_path):
    markdown = ('# T\n\n1. first\n2. second:\n   - nested\n\n     ```yaml\n     a: 1\n     ```\n\n'
                '| a | b |\n|---|---|\n| `x` | |\n')
    rst = convert(tmp_path, markdown)
    assert '1. first\n\n2. second:\n\n   - nested\n\n     .. code-block:: yaml\n\n        a: 1\n' in rst
    assert '.. list-table::\n   :header-rows: 1\n   :widths: auto\n\n   * - a\n     - b\n   * - ``x``\n     -\n' in rst


def test_an_svg_chart_is_inlined(tmp_path):
    (tmp_path / 'docs' / 'charts').mkdir(parents=True)
    (tmp_path / 'docs' / 'charts' / 'c.svg').write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">\n<rect/>\n</svg>\n')
    rst = convert(tmp_path, '# T\n\n![a chart](charts/c.svg)\n')
    assert '.. raw:: html\n\n   <svg xmlns="http://www.w3.org/2000/svg">\n   <rect/>\n   </svg>\n' in rst


@pytest.mark.parametrize('markdown', ['# T\n\n<div>raw</div>\n', '# T\n\n---\n', '# T\n\ntext ![x](c.svg)\n',
                                      '# T\n\n[x](../missing.txt)\n', '# T\n\n# Second title\n'])
def test_what_cannot_be_carried_over_is_an_error(tmp_path, markdown):
    with pytest.raises(guides_rst.ConversionError, match=r'docs/page\.md:\d+: '):
        convert(tmp_path, markdown)
