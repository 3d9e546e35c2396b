# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark charts: tests/benchmarks/svg_chart.py (the SVG writer) and charts.py (results to charts)."""

import json
import sys
from xml.etree import ElementTree
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / 'benchmarks'
sys.path.insert(0, str(BENCHMARKS))
import charts  # noqa: E402  pylint: disable=wrong-import-position,import-error
import svg_chart  # noqa: E402  pylint: disable=wrong-import-position,import-error

SVG = '{http://www.w3.org/2000/svg}'


def parse(svg):
    """The SVG's root element; fails on anything that is not well-formed XML."""
    root = ElementTree.fromstring(svg.encode('utf-8'))
    assert root.tag == SVG + 'svg'
    return root


def series_names(root):
    return [g.get('data-name') for g in root.iter(SVG + 'g') if g.get('class') == 'series']


def texts(root, cls=None):
    return [t.text for t in root.iter(SVG + 'text') if cls is None or t.get('class') == cls]


def test_line_chart_is_valid_svg_with_axes_and_one_series_per_input():
    svg = svg_chart.line_chart('Calls & <time>', 'instances', 'calls', [
        svg_chart.Series('one by one', [(1000, 2000), (5000, 10000), (10000, 20000)]),
        svg_chart.Series('batched', [(1000, 31), (5000, 151), (10000, 301)]),
        svg_chart.Series('minimum', [(1000, 31), (5000, 151), (10000, 301)], dashed=True),
    ], log_y=True)
    root = parse(svg)
    assert root.find(SVG + 'title').text == 'Calls & <time>'
    assert [line.get('class') for line in root.iter(SVG + 'line') if line.get('class', '').endswith('-axis')] == ['x-axis', 'y-axis']
    assert series_names(root) == ['one by one', 'batched', 'minimum']
    assert texts(root, 'x-tick') == ['1,000', '5,000', '10,000']
    assert texts(root, 'y-tick') == ['10', '100', '1,000', '10,000', '100,000']
    assert texts(root, 'x-label') == ['instances'] and texts(root, 'y-label') == ['calls']
    for group in root.iter(SVG + 'g'):
        if group.get('class') == 'series':
            assert len(group.findall(SVG + 'circle')) == 3
    dashed = [g.get('data-name') for g in root.iter(SVG + 'g') if g.get('class') == 'series'
              and g.find(SVG + 'polyline').get('stroke-dasharray')]
    assert dashed == ['minimum']


def test_line_chart_points_rise_with_their_values():
    svg = svg_chart.line_chart('t', 'x', 'y', [svg_chart.Series('s', [(1, 1.0), (2, 3.0), (3, 2.0)])])
    circles = list(parse(svg).iter(SVG + 'circle'))
    xs = [float(c.get('cx')) for c in circles]
    ys = [float(c.get('cy')) for c in circles]
    assert xs == sorted(xs)
    assert ys[1] < ys[2] < ys[0]  # SVG's y grows downwards


def test_bar_chart_has_one_bar_per_input_and_the_reference_line():
    bars = [('ansible.builtin.ping', 1.0), ('alicloud.ram.ram_instance_role', 1.53), ('amazon.aws.iam_role', 1.99)]
    root = parse(svg_chart.bar_chart('Overhead', 'ratio', bars, reference=1.0))
    assert series_names(root) == [entry[0] for entry in bars]
    widths = [float(r.get('width')) for r in root.iter(SVG + 'rect') if r.get('fill') != '#ffffff']
    assert len(widths) == 3 and widths[0] < widths[1] < widths[2]
    assert [line for line in root.iter(SVG + 'line') if line.get('class') == 'reference']
    assert '1.53' in texts(root)


@pytest.mark.parametrize('call', [
    lambda: svg_chart.line_chart('t', 'x', 'y', []),
    lambda: svg_chart.line_chart('t', 'x', 'y', [svg_chart.Series('s', [(1, 0)])], log_y=True),
    lambda: svg_chart.bar_chart('t', 'v', []),
])
def test_nothing_to_draw_is_an_error(call):
    with pytest.raises(ValueError):
        call()


def test_nice_ticks_cover_the_range():
    assert svg_chart.nice_ticks(0, 7.3) == [0, 2, 4, 6, 8]
    assert svg_chart.log_ticks(1.5, 1072) == [1, 10, 100, 1000, 10000]


def _fleet_payload():
    runs = []
    for n in (1000, 5000):
        minimum = {'DescribeInstanceRamRole': -(-n // 50), 'GetRole': 1, 'AttachInstanceRamRole': -(-n // 100)}
        runs.append({'instances': n, 'task_seconds': n / 1000.0, 'total_calls': sum(minimum.values()), 'minimum_calls': minimum,
                     'concurrency': 4, 'rerun': {'task_seconds': n / 2000.0}})
    naive = {'sample': 100, 'extrapolated': dict((str(n), {'seconds': n * 0.1, 'calls': 2 * n}) for n in (1000, 5000))}
    return {'command': 'run.py --only fleet', 'results': {'latency_ms': 50, 'runs': runs, 'naive': naive}}


def _overhead_payload():
    kinds = {'ansible.builtin.ping': {'ratio_to_ping': 1.0}, 'ram_instance_role': {'ratio_to_ping': 1.5},
             'amazon.aws.iam_role (peer)': {'ratio_to_ping': 2.0}}
    return {'command': 'run.py --only overhead', 'results': {'task': {'iterations': 20, 'kinds': kinds}}}


def test_charts_are_drawn_from_results_files(tmp_path):
    results, out = tmp_path / 'results', tmp_path / 'charts'
    results.mkdir()
    (results / 'fleet.json').write_text(json.dumps(_fleet_payload()))
    (results / 'overhead.json').write_text(json.dumps(_overhead_payload()))
    written = charts.draw(str(results), str(out), log=lambda *a: None)
    assert sorted(Path(p).name for p in written) == ['fleet-calls.svg', 'fleet-time.svg', 'overhead.svg']
    calls = parse((out / 'fleet-calls.svg').read_text())
    assert len(series_names(calls)) == 3
    time = parse((out / 'fleet-time.svg').read_text())
    assert len(series_names(time)) == 4
    overhead = parse((out / 'overhead.svg').read_text())
    assert series_names(overhead) == ['ansible.builtin.ping', 'ram_instance_role', 'amazon.aws.iam_role (peer)']


def test_missing_results_skip_their_charts(tmp_path):
    (tmp_path / 'fleet.json').write_text(json.dumps(_fleet_payload()))
    messages = []
    written = charts.draw(str(tmp_path), str(tmp_path / 'charts'), log=messages.append)
    assert sorted(Path(p).name for p in written) == ['fleet-calls.svg', 'fleet-time.svg']
    assert any('no overhead.json' in message for message in messages)


def test_latency_floor_counts_rounds_of_the_minimum_calls():
    # 10,000 instances: 200 reads and 100 writes, 4 at a time, and GetRole: 50 + 25 + 1 rounds of 50 ms
    minimum = {'DescribeInstanceRamRole': 200, 'GetRole': 1, 'AttachInstanceRamRole': 100}
    assert charts.latency_floor(minimum, 4, 50) == pytest.approx(3.8)
