# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Line and bar charts as SVG, with the standard library only.

    line_chart(title, x_label, y_label, [Series('batched', [(1000, 2.3), ...]), ...], log_y=True)
    bar_chart(title, value_label, [('ansible.builtin.ping', 1.0), ...], reference=1.0)

Both return the SVG document as a string: a title, axes with ticks and labels, one ``<g>`` per
series or bar (class ``series``, ``data-name`` its name) and a legend. The text uses the page's
font; colours are fixed so that the same series looks the same in every chart.
"""

from __future__ import annotations

import math
from collections import namedtuple
from xml.sax.saxutils import escape, quoteattr

Series = namedtuple('Series', 'name points dashed')
Series.__new__.__defaults__ = (False,)

PALETTE = ('#1f6fb4', '#d9531e', '#2a9d55', '#8e44ad', '#7f7f7f', '#b8860b')
WIDTH, HEIGHT = 720, 400
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 80, 72, 64, 96
FONT = 'font-family="sans-serif"'


def nice_ticks(low, high, count=5):
    """Round tick values covering [low, high] on a linear axis."""
    if high <= low:
        high = low + 1
    raw = (high - low) / float(count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def log_ticks(low, high):
    """Powers of ten covering [low, high] (both > 0)."""
    first = math.floor(math.log10(low))
    last = math.ceil(math.log10(high))
    if last == first:
        last += 1
    return [10.0 ** exponent for exponent in range(first, last + 1)]


def label(value):
    """A tick or value label: 20,000 / 1,175 / 8.26 / 0.45."""
    if abs(value) >= 100 or float(value).is_integer():
        return '{:,}'.format(int(round(value)))
    return ('%.3f' % value if abs(value) < 1 else '%.2f' % value).rstrip('0').rstrip('.')


class Frame(object):
    """The plot area and its mapping of data to pixels."""

    def __init__(self, x_ticks, y_ticks, log_y=False):
        self.left, self.top = MARGIN_LEFT, MARGIN_TOP
        self.right, self.bottom = WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM
        self.x_ticks, self.y_ticks, self.log_y = x_ticks, y_ticks, log_y

    def x(self, value):
        low, high = self.x_ticks[0], self.x_ticks[-1]
        return self.left + (value - low) * (self.right - self.left) / float(high - low or 1)

    def y(self, value):
        low, high = self.y_ticks[0], self.y_ticks[-1]
        if self.log_y:
            value, low, high = math.log10(value), math.log10(low), math.log10(high)
        return self.bottom - (value - low) * (self.bottom - self.top) / float(high - low or 1)


def _text(x, y, text, anchor='middle', extra='', size=13):
    return '<text x="%.1f" y="%.1f" text-anchor="%s" %s font-size="%d"%s>%s</text>' % (
        x, y, anchor, FONT, size, extra, escape(str(text)))


def _document(title, description, body, note=''):
    head = ['<?xml version="1.0" encoding="UTF-8"?>',
            '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">' % (
                WIDTH, HEIGHT, WIDTH, HEIGHT),
            '<title>%s</title>' % escape(title),
            '<desc>%s</desc>' % escape(' '.join(part for part in (description, note) if part)),
            '<rect width="100%" height="100%" fill="#ffffff"/>',
            _text(WIDTH / 2.0, 26, title, extra=' font-weight="bold"', size=15)]
    if note:
        head.append(_text(WIDTH / 2.0, 44, note, extra=' class="note" fill="#666666"', size=11))
    return '\n'.join(head + body + ['</svg>']) + '\n'


def _axes(frame, x_label, y_label, x_tick_labels=None):
    out = ['<g class="axes" stroke="#333333" stroke-width="1">',
           '<line class="x-axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>' % (frame.left, frame.bottom, frame.right, frame.bottom),
           '<line class="y-axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>' % (frame.left, frame.top, frame.left, frame.bottom),
           '</g>']
    for value in frame.y_ticks:
        y = frame.y(value)
        out.append('<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd"/>' % (frame.left, y, frame.right, y))
        out.append(_text(frame.left - 8, y + 4, label(value), anchor='end', extra=' class="y-tick"'))
    for value in (x_tick_labels or frame.x_ticks):
        x = frame.x(value)
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333333"/>' % (x, frame.bottom, x, frame.bottom + 5))
        out.append(_text(x, frame.bottom + 20, label(value), extra=' class="x-tick"'))
    out.append(_text((frame.left + frame.right) / 2.0, frame.bottom + 42, x_label, extra=' class="x-label"'))
    out.append(_text(18, (frame.top + frame.bottom) / 2.0, y_label,
                     extra=' class="y-label" transform="rotate(-90 18 %.1f)"' % ((frame.top + frame.bottom) / 2.0)))
    return out


def _legend(names_and_styles):
    """Legend entries left to right, wrapping onto a second row when the first is full."""
    out, x, y = ['<g class="legend">'], MARGIN_LEFT, HEIGHT - 30
    for name, colour, dashed in names_and_styles:
        width = 40 + 7 * len(name)
        if x + width > WIDTH and x > MARGIN_LEFT:
            x, y = MARGIN_LEFT, y + 20
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"%s/>' % (
            x, y - 4, x + 24, y - 4, colour, ' stroke-dasharray="6 4"' if dashed else ''))
        out.append(_text(x + 30, y, name, anchor='start'))
        x += width
    out.append('</g>')
    return out


def line_chart(title, x_label, y_label, series, log_y=False, description='', note=''):
    """One line (with markers) per :class:`Series` of ``(x, y)`` points, x ascending; ``note`` is
    shown under the title (for example where and when the figures were measured)."""
    xs = sorted(set(point[0] for item in series for point in item.points))
    ys = [point[1] for item in series for point in item.points]
    if not xs or not ys:
        raise ValueError('no data to draw for %r' % title)
    if log_y:
        if min(ys) <= 0:
            raise ValueError('a logarithmic axis needs values above 0 (%r)' % title)
        y_ticks = log_ticks(min(ys), max(ys))
    else:
        y_ticks = nice_ticks(min([0] + ys), max(ys))
    x_ticks = [min(0, xs[0]), xs[-1]] if len(xs) > 1 else [xs[0] * 0.5, xs[0] * 1.5]
    frame = Frame(x_ticks, y_ticks, log_y)
    body = _axes(frame, x_label, y_label, x_tick_labels=xs)
    styles, label_rows = [], []
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = ' '.join('%.1f,%.1f' % (frame.x(x), frame.y(y)) for x, y in sorted(item.points))
        body.append('<g class="series" data-name=%s>' % quoteattr(item.name))
        body.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5"%s/>' % (
            points, colour, ' stroke-dasharray="6 4"' if item.dashed else ''))
        for x, y in sorted(item.points):
            body.append('<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s: %s</title></circle>' % (
                frame.x(x), frame.y(y), colour, escape(item.name), escape(label(y))))
        body.append('</g>')
        last = max(item.points)
        if all(row[1] != label(last[1]) for row in label_rows):  # series that end together get one label
            label_rows.append([frame.y(last[1]) + 4, label(last[1]), colour])
        styles.append((item.name, colour, item.dashed))
    # each series' last value right of the plot, moved down where it would overlap the one above
    label_rows.sort()
    for index, row in enumerate(label_rows):
        if index:
            row[0] = max(row[0], label_rows[index - 1][0] + 15)
        body.append(_text(frame.right + 8, row[0], row[1], anchor='start', extra=' class="value" fill="%s"' % row[2]))
    return _document(title, description or title, body + _legend(styles), note)


def bar_chart(title, value_label, bars, reference=None, description='', note='', value_format='%.2f'):
    """One horizontal bar per ``(name, value)``, its value written beside it (``value_format``);
    ``reference`` draws a dashed line at that value (for example 1.0 for ratios); ``note`` as for
    :func:`line_chart`."""
    if not bars:
        raise ValueError('no data to draw for %r' % title)
    ticks = nice_ticks(0, max([entry[1] for entry in bars] + ([reference] if reference is not None else [])) * 1.1)
    left = min(WIDTH // 2, 24 + int(7.5 * max(len(entry[0]) for entry in bars)))
    right, top = WIDTH - MARGIN_RIGHT, MARGIN_TOP + 8
    bottom = HEIGHT - MARGIN_BOTTOM + 40
    step = (bottom - top) / float(len(bars))

    def x(value):
        return left + value * (right - left) / float(ticks[-1])

    body = ['<g class="axes" stroke="#333333" stroke-width="1">',
            '<line class="x-axis" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (left, bottom, right, bottom),
            '<line class="y-axis" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (left, top, left, bottom),
            '</g>']
    for value in ticks:
        body.append('<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#dddddd"/>' % (x(value), top, x(value), bottom))
        body.append(_text(x(value), bottom + 18, label(value), extra=' class="x-tick"'))
    body.append(_text((left + right) / 2.0, bottom + 40, value_label, extra=' class="x-label"'))
    for index, (name, value) in enumerate(bars):
        colour = PALETTE[index % len(PALETTE)]
        y = top + index * step + step * 0.2
        height = step * 0.6
        body.append('<g class="series" data-name=%s>' % quoteattr(name))
        body.append('<rect x="%d" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' % (left, y, x(value) - left, height, colour))
        body.append(_text(left - 8, y + height / 2.0 + 4, name, anchor='end', extra=' class="y-tick"'))
        body.append(_text(x(value) + 6, y + height / 2.0 + 4, value_format % value, anchor='start', extra=' class="value"'))
        body.append('</g>')
    if reference is not None:
        body.append('<line class="reference" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333333" stroke-dasharray="4 4"/>' % (
            x(reference), top, x(reference), bottom))
    return _document(title, description or title, body, note)
