# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Additions to the Sphinx conf.py that ``antsibull-docs sphinx-init`` writes (``make docs``).

``steps.sh docs`` appends ``from docsite_conf import *`` to the generated conf.py, so that the
build needs no network: no intersphinx inventory is fetched. The references the generated pages
make into the Ansible documentation (common return values, configuration settings and their
environment variables, ansible.builtin plugins) are resolved here to their URLs instead, so that
``nitpicky`` and ``-W`` still fail the build on any other unresolved reference. (The guides'
pages come from tests/tools/guides_rst.py, which links repository files by their URLs itself.)
"""

from __future__ import annotations

import re

from docutils import nodes

ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/devel/'
ANSIBLE_LABELS = {
    'common_return_values': 'reference_appendices/common_return_values.html#common-return-values',
    'ansible_configuration_settings': 'reference_appendices/config.html#ansible-configuration-settings',
}
BUILTIN_PLUGIN = re.compile(r'ansible_collections\.ansible\.builtin\.(?P<name>\w+)_(?P<kind>[a-z]+)$')

__all__ = ['intersphinx_mapping', 'setup']

# Settings (Sphinx reads these names from conf.py).
intersphinx_mapping = {}  # pylint: disable=invalid-name


def ansible_docs_url(node):
    """Return the docs.ansible.com URL a reference into the Ansible documentation points to."""
    target = node.get('reftarget', '')
    if node.get('reftype') == 'envvar' and target.startswith('ANSIBLE_'):
        return ANSIBLE_DOCS + 'reference_appendices/config.html#envvar-' + target
    if node.get('reftype') != 'ref':
        return None
    if target in ANSIBLE_LABELS:
        return ANSIBLE_DOCS + ANSIBLE_LABELS[target]
    match = BUILTIN_PLUGIN.match(target)
    if match:
        return ANSIBLE_DOCS + 'collections/ansible/builtin/%s_%s.html' % (match.group('name'), match.group('kind'))
    return None


def link_to_ansible_docs(_app, _env, node, contnode):
    """missing-reference handler: references into the Ansible documentation link there."""
    url = ansible_docs_url(node)
    if url is None:
        return None
    reference = nodes.reference('', '', internal=False, refuri=url)
    reference.append(contnode)
    return reference


def setup(app):
    """Register the handler (conf.py's own setup() is this one)."""
    app.connect('missing-reference', link_to_ansible_docs)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
