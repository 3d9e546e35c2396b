# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Additions to the Sphinx conf.py that ``antsibull-docs sphinx-init`` writes (``make docs``).

``steps.sh docs`` appends ``from docsite_conf import *`` to the generated conf.py, so:

- the guides, kept as Markdown in ``docs/*.md``, are rendered by MyST;
- the build needs no network: no intersphinx inventory is fetched. The references the
  generated pages make into the Ansible documentation (common return values, configuration
  settings and their environment variables, ansible.builtin plugins) and the guides' relative
  links to files of the repository are resolved here to their URLs instead, so that
  ``nitpicky`` and ``-W`` still fail the build on any other unresolved reference.
"""

from __future__ import annotations

import os
import posixpath
import re

import yaml
from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/devel/'
ANSIBLE_LABELS = {
    'common_return_values': 'reference_appendices/common_return_values.html#common-return-values',
    'ansible_configuration_settings': 'reference_appendices/config.html#ansible-configuration-settings',
}
BUILTIN_PLUGIN = re.compile(r'ansible_collections\.ansible\.builtin\.(?P<name>\w+)_(?P<kind>[a-z]+)$')

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
with open(os.path.join(REPO_ROOT, 'galaxy.yml'), encoding='utf-8') as _galaxy:
    REPOSITORY = yaml.safe_load(_galaxy)['repository'].rstrip('/')

__all__ = ['source_suffix', 'intersphinx_mapping', 'myst_heading_anchors', 'setup']

# Settings (Sphinx reads these names from conf.py).
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}  # pylint: disable=invalid-name
intersphinx_mapping = {}  # pylint: disable=invalid-name
myst_heading_anchors = 3  # pylint: disable=invalid-name


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


def repository_url(target):
    """Return the repository URL of a guide's relative link to a file that is no page, else None."""
    if '://' in target or target.startswith('#'):
        return None
    path = posixpath.normpath(posixpath.join('docs', target.split('#', 1)[0]))
    if path.startswith('..') or path.endswith('.md') and posixpath.dirname(path) == 'docs':
        return None
    if not os.path.exists(os.path.join(REPO_ROOT, path)):
        return None
    return '%s/blob/main/%s' % (REPOSITORY, path)


class RepositoryLinks(SphinxPostTransform):
    """Turn the guides' relative links to repository files (tests/..., README.md) into URLs.

    The guides live in docs/ of the repository, where such links work on GitHub; in the site
    they would point nowhere. Runs before MyST's own resolver (priority 9).
    """

    default_priority = 8

    def run(self, **kwargs):
        for node in list(self.document.findall(addnodes.pending_xref)):
            url = repository_url(node['reftarget']) if node.get('reftype') == 'myst' else None
            if url:
                reference = nodes.reference('', '', internal=False, refuri=url)
                reference.extend(node.children)
                node.replace_self(reference)


def link_to_ansible_docs(_app, _env, node, contnode):
    """missing-reference handler: references into the Ansible documentation link there."""
    url = ansible_docs_url(node)
    if url is None:
        return None
    reference = nodes.reference('', '', internal=False, refuri=url)
    reference.append(contnode)
    return reference


def setup(app):
    """Register the handler and MyST (conf.py's own setup() is this one)."""
    app.setup_extension('myst_parser')
    app.add_post_transform(RepositoryLinks)
    app.connect('missing-reference', link_to_ansible_docs)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
