# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documentation site's guide pages, generated from the Markdown guides.

    python tests/tools/guides_rst.py [--root DIR] [--check]

The guides are written once, as Markdown in docs/NAME.md (what GitHub shows). antsibull-docs
takes a collection's extra documentation as reStructuredText only (docs/docsite/rst/NAME.rst,
listed in docs/docsite/extra-docs.yml), so this writes each page's full text there: the page
label ``ansible_collections.alicloud.ram.docsite.NAME`` and one label per heading
(``...docsite.NAME.<GitHub anchor>``); links to another guide or a heading become references,
links to a module, the lookup or the role become references to their pages, links to other
files of the repository become their GitHub URLs, and a chart (an SVG file of the repository
shown as an image) is inlined. Markdown it cannot carry over (raw HTML, a rule, an image inside
text) is an error naming the page and line. --check writes nothing and exits 1 when a page is
missing or differs (tests/unit/test_docsite_guides.py runs it for `make test`).
"""

from __future__ import annotations

import argparse
import os
import posixpath
import re
import sys

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LABEL_PREFIX = 'ansible_collections.alicloud.ram.'
UNDERLINES = {1: '=', 2: '-', 3: '~', 4: '^', 5: '"'}
PLUGIN_PAGES = (
    (re.compile(r'^plugins/modules/(\w+)\.py$'), '%s_module'),
    (re.compile(r'^plugins/lookup/(\w+)\.py$'), '%s_lookup'),
    (re.compile(r'^roles/(\w+)(?:/.*)?$'), '%s_role'),
)
# rst inline markup must start after whitespace or one of these, and end before whitespace or one of these
OPENERS = set(' \t\n-:/\'"<([{')
CLOSERS = set(' \t\n-.,:;!?\\/\'")]}>')


class ConversionError(Exception):
    pass


def repository_url(root):
    with open(os.path.join(root, 'galaxy.yml'), encoding='utf-8') as handle:
        match = re.search(r'^repository:\s*(\S+)', handle.read(), re.MULTILINE)
    return match.group(1).rstrip('/')


def anchor(text, seen):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens, -1, -2 for repeats."""
    slug = re.sub(r'[^\w\- ]', '', text.lower()).replace(' ', '-')
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else '%s-%d' % (slug, count)


def escape(text):
    text = text.replace('\\', '\\\\')
    text = re.sub(r'([*`|])', r'\\\1', text)
    return re.sub(r'_(?=\W|$)', r'\\_', text)


def join_inline(pieces):
    """Join ``(kind, text)`` pieces; markup pieces get an escaped space where rst needs a boundary."""
    out = ''
    for index, (kind, text) in enumerate(pieces):
        if kind == 'markup':
            if out and out[-1] not in OPENERS:
                out += '\\ '
            out += text
            following = pieces[index + 1][1] if index + 1 < len(pieces) else ''
            if following and following[0] not in CLOSERS:
                out += '\\ '
        else:
            out += text
    return out


class Page(object):
    """One guide: docs/<name>.md rendered as reStructuredText."""

    def __init__(self, root, name):
        self.root = root
        self.name = name
        self.source = 'docs/%s.md' % name
        self.label = LABEL_PREFIX + 'docsite.' + name
        self.repository = repository_url(root)
        self.guides = set(n[:-3] for n in os.listdir(os.path.join(root, 'docs')) if n.endswith('.md'))

    def fail(self, node, message):
        line = node.map[0] + 1 if node is not None and node.map else '?'
        raise ConversionError('%s:%s: %s' % (self.source, line, message))

    # -- inline -------------------------------------------------------------------------------

    def plain(self, node):
        """The text of an inline node and its children, without markup."""
        if node.type in ('text', 'code_inline'):
            return node.content
        if node.type in ('softbreak', 'hardbreak'):
            return ' '
        return ''.join(self.plain(child) for child in node.children)

    def inline_pieces(self, nodes, block):
        pieces = []
        for node in nodes:
            if node.type == 'text':
                pieces.append(('text', escape(node.content)))
            elif node.type in ('softbreak', 'hardbreak'):
                pieces.append(('text', ' '))
            elif node.type == 'code_inline':
                if '``' in node.content or node.content != node.content.strip() or not node.content:
                    self.fail(block, 'inline code %r cannot be written as an rst literal' % node.content)
                pieces.append(('markup', '``%s``' % node.content))
            elif node.type in ('strong', 'em') and [child.type for child in node.children] == ['code_inline']:
                # rst cannot nest markup: emphasised code stays code
                pieces.extend(self.inline_pieces(node.children, block))
            elif node.type in ('strong', 'em'):
                # anything else inside emphasis (code among words) is emphasised as plain text
                mark = '**' if node.type == 'strong' else '*'
                pieces.append(('markup', '%s%s%s' % (mark, escape(self.plain(node)), mark)))
            elif node.type == 'link':
                pieces.append(('markup', self.link(node, block)))
            elif node.type == 'image':
                self.fail(block, 'an image inside text; give it a paragraph of its own')
            else:
                self.fail(block, 'unsupported inline Markdown: %s' % node.type)
        return pieces

    def inline(self, node, block):
        return join_inline(self.inline_pieces(node.children, block)).strip()

    def link(self, node, block):
        target = node.attrs['href']
        text = escape(self.plain(node)).replace('<', '\\<')
        if re.match(r'^[a-z]+://', target):
            return '`%s <%s>`__' % (text, target)
        path, fragment = (target.split('#', 1) + [''])[:2]
        if not path:
            return ':ref:`%s <%s.%s>`' % (text, self.label, fragment)
        resolved = posixpath.normpath(posixpath.join('docs', path))
        if posixpath.dirname(resolved) == 'docs' and resolved.endswith('.md') and resolved[5:-3] in self.guides:
            label = LABEL_PREFIX + 'docsite.' + resolved[5:-3]
            return ':ref:`%s <%s%s>`' % (text, label, '.' + fragment if fragment else '')
        for pattern, page in PLUGIN_PAGES:
            match = pattern.match(resolved)
            if match:
                return ':ref:`%s <%s%s>`' % (text, LABEL_PREFIX, page % match.group(1))
        if resolved.startswith('..') or not os.path.exists(os.path.join(self.root, resolved)):
            self.fail(block, 'link to %s, which is not a file of the repository' % target)
        return '`%s <%s/blob/main/%s%s>`__' % (text, self.repository, resolved, '#' + fragment if fragment else '')

    # -- blocks -------------------------------------------------------------------------------

    def blocks(self, nodes):
        return [text for text in (self.block(node) for node in nodes) if text is not None]

    def block(self, node):
        handler = getattr(self, 'block_' + node.type, None)
        if handler is None:
            self.fail(node, 'unsupported Markdown block: %s' % node.type)
        return handler(node)

    def block_heading(self, node):
        level = int(node.tag[1])
        title = self.inline(node.children[0], node)
        label = '.. _%s.%s:\n\n' % (self.label, anchor(self.plain(node.children[0]), self.anchors))
        if level == 1:
            if self.title_seen:
                self.fail(node, 'a second level-1 heading')
            self.title_seen = True
            label = ''
        return '%s%s\n%s' % (label, title, UNDERLINES[level] * len(title))

    def block_paragraph(self, node):
        children = node.children[0].children
        if len(children) == 1 and children[0].type == 'image':
            return self.image(children[0], node)
        return self.inline(node.children[0], node)

    def image(self, image, block):
        source = posixpath.normpath(posixpath.join('docs', image.attrs['src']))
        if not source.endswith('.svg') or not os.path.isfile(os.path.join(self.root, source)):
            self.fail(block, 'images must be SVG files of the repository (%s)' % image.attrs['src'])
        with open(os.path.join(self.root, source), encoding='utf-8') as handle:
            svg = re.sub(r'^<\?xml[^>]*\?>\s*', '', handle.read().strip())
        return '.. raw:: html\n\n%s' % indent(svg, 3)

    def block_fence(self, node):
        language = (node.info.split() or ['text'])[0]
        return '.. code-block:: %s\n\n%s' % (language, indent(node.content.rstrip('\n'), 3))

    block_code_block = block_fence

    def block_bullet_list(self, node):
        return self.list_items(node, lambda number: '-')

    def block_ordered_list(self, node):
        start = int(node.attrs.get('start', 1))
        return self.list_items(node, lambda number: '%d.' % (start + number))

    def list_items(self, node, marker):
        items, loose = [], False
        for number, item in enumerate(node.children):
            parts = self.blocks(item.children)
            loose = loose or len(parts) > 1
            bullet = marker(number)
            body = indent('\n\n'.join(parts), len(bullet) + 1)
            items.append(bullet + body[len(bullet):] if parts else bullet)
        return ('\n\n' if loose else '\n').join(items)

    def block_blockquote(self, node):
        return indent('\n\n'.join(self.blocks(node.children)), 4)

    def block_table(self, node):
        rows = []
        for section in node.children:
            for row in section.children:
                rows.append([self.inline(cell.children[0], node) if cell.children else '' for cell in row.children])
        header = 1 if node.children and node.children[0].type == 'thead' else 0
        lines = ['.. list-table::', '   :header-rows: %d' % header, '   :widths: auto', '']
        for row in rows:
            for index, cell in enumerate(row):
                lines.append(('   * - ' if index == 0 else '     - ') + cell if cell else ('   * -' if index == 0 else '     -'))
        return '\n'.join(lines)

    def render(self):
        with open(os.path.join(self.root, self.source), encoding='utf-8') as handle:
            markdown = handle.read()
        parser = MarkdownIt('commonmark').enable('table')
        self.anchors, self.title_seen = {}, False  # pylint: disable=attribute-defined-outside-init
        body = '\n\n'.join(self.blocks(SyntaxTreeNode(parser.parse(markdown)).children))
        header = ('..\n   Generated from %s by tests/tools/guides_rst.py (make guides): edit the Markdown page,\n'
                  '   not this file.\n\n.. _%s:\n\n' % (self.source, self.label))
        return header + body + '\n'


def indent(text, width):
    pad = ' ' * width
    return '\n'.join(pad + line if line.strip() else '' for line in text.split('\n'))


def guide_names(root):
    return sorted(n[:-3] for n in os.listdir(os.path.join(root, 'docs')) if n.endswith('.md'))


def target_path(root, name):
    return os.path.join(root, 'docs', 'docsite', 'rst', name + '.rst')


def stale_pages(root):
    """Names of the guides whose generated page is missing or differs from docs/docsite/rst/NAME.rst."""
    stale = []
    for name in guide_names(root):
        path = target_path(root, name)
        current = None
        if os.path.exists(path):
            with open(path, encoding='utf-8') as handle:
                current = handle.read()
        if current != Page(root, name).render():
            stale.append(name)
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--root', default=ROOT, help='the collection tree (default: this checkout)')
    parser.add_argument('--check', action='store_true', help='write nothing; exit 1 when a page is missing or differs')
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_pages(args.root)
            for name in stale:
                print('docs/docsite/rst/%s.rst does not match docs/%s.md: run make guides' % (name, name))
            return 1 if stale else 0
        for name in guide_names(args.root):
            with open(target_path(args.root, name), 'w', encoding='utf-8') as handle:
                handle.write(Page(args.root, name).render())
    except ConversionError as err:
        print('ERROR: %s' % err, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
