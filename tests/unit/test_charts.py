"""``trust.charts``: series in, SVG out; escaped labels, no script, no style."""

from __future__ import annotations

import math
import re
from xml.etree import ElementTree

import pytest

from tests.test_csp import inline_problems
from trust.charts import Marker, Series, line_chart, nice_top

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '</text><script>alert(1)</script><text x="0" onload="alert(2)" style="x">&amp;'


def parsed(svg: str) -> ElementTree.Element:
    """The chart as XML: it must be well-formed to be parsed at all."""
    return ElementTree.fromstring(svg)


def texts(svg: str) -> list[str]:
    return [element.text or "" for element in parsed(svg).iter(f"{SVG}text")]


def test_a_hostile_label_title_and_tick_are_text_not_markup():
    svg = line_chart(
        title=HOSTILE,
        description=HOSTILE,
        x=[0, 1],
        series=[Series(HOSTILE, [1, 2])],
        x_ticks=[(0, HOSTILE)],
        markers=[Marker(1, HOSTILE)],
    )
    root = parsed(svg)
    # Nothing but the chart's own elements: the label made no element of its own.
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert tags <= {"svg", "title", "desc", "line", "text", "polyline", "circle"}
    assert "<script" not in svg
    attributes = {name for element in root.iter() for name in element.attrib}
    assert not any(name.startswith("on") or name == "style" for name in attributes)
    assert inline_problems(svg).problems == []
    # The text reads exactly as given, once in the legend, tick and marker.
    assert texts(svg).count(HOSTILE) == 3
    assert root.find(f"{SVG}title").text == HOSTILE
    # Its ids come from ASCII letters only.
    assert re.fullmatch(r"chart-[a-z0-9-]+-t", root.find(f"{SVG}title").get("id"))


def test_no_series_or_no_values_draw_the_axes_and_say_so():
    for x, series in [([], []), ([0, 1, 2], []), ([0, 1], [Series("a", [None, math.nan])])]:
        svg = line_chart(title="Empty", x=x, series=series, empty="Nothing <here>")
        assert texts(svg) == ["Nothing <here>"]
        assert parsed(svg).find(f"{SVG}polyline") is None
        assert inline_problems(svg).problems == []


def test_one_point_is_a_dot_in_the_middle_with_no_line():
    svg = line_chart(title="One", x=[5], series=[Series("only", [3])])
    root = parsed(svg)
    assert root.find(f"{SVG}polyline") is None
    (dot,) = root.findall(f"{SVG}circle")
    assert float(dot.get("cx")) == pytest.approx((56 + 720 - 16) / 2)
    assert "chart-series-0" in dot.get("class")


def test_points_are_placed_on_the_axes_by_value():
    svg = line_chart(title="Two", x=[0, 10], series=[Series("s", [0, 50])], y_top=100)
    (line,) = parsed(svg).findall(f"{SVG}polyline")
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in line.get("points").split())
    assert (x0, x1) == (56, 720 - 16)
    assert y0 == 16 + 220  # 0 on the x axis
    assert y1 == 16 + 110  # 50 of 100: half way up


def test_a_missing_value_breaks_the_line():
    svg = line_chart(title="Gap", x=[0, 1, 2, 3, 4], series=[Series("s", [1, 2, None, 3, 4])])
    assert len(parsed(svg).findall(f"{SVG}polyline")) == 2


def test_each_series_has_a_class_and_no_colour_of_its_own():
    series = [Series(f"s{i}", [i, i + 1]) for i in range(9)]
    svg = line_chart(title="Many", x=[0, 1], series=series)
    classes = [p.get("class") for p in parsed(svg).findall(f"{SVG}polyline")]
    assert classes[:9] == [f"chart-line chart-series-{i % 8}" for i in range(9)]
    assert "style" not in svg and "fill=" not in svg and "stroke=" not in svg


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 1), (-3, 1), (math.inf, 1), (math.nan, 1), (0.7, 1), (1, 1), (1.2, 2), (3, 5), (37, 50)],
)
def test_the_y_axis_tops_at_a_round_number(value, top):
    assert nice_top(value) == top


def y_labels(svg: str) -> list[str]:
    root = parsed(svg)
    return [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]


@pytest.mark.parametrize(
    ("largest", "labels"),
    [
        (1, ["0", "1", "2", "3", "4"]),
        (5, ["0", "2", "4", "6", "8"]),
        (37, ["0", "10", "20", "30", "40"]),
    ],
)
def test_counts_have_whole_numbers_on_the_y_axis(largest, labels):
    svg = line_chart(
        title="Counts",
        x=[0, 1],
        series=[Series("s", [0, largest])],
        counts=True,
        y_format=lambda v: f"{v:g}",
    )
    assert y_labels(svg) == labels
