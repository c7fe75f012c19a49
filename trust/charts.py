"""Line charts drawn on the server: series of numbers in, an SVG string out.

Pure: plain values in, markup out, no database, no request. The markup has no
script and no ``style`` attribute: colours and strokes come from classes
(``chart-series-0`` ... ``chart-series-7``, ``chart-marker``) that a static
stylesheet styles, so a strict Content-Security-Policy (``style-src 'self'``)
applies it as it is. Every text that reaches the markup is escaped here.

A chart is a picture of numbers a page also shows as a table: the SVG has a
``<title>`` and ``<desc>`` for assistive technology, and the table is the
accessible form of the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
PLOT_HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40
LEGEND_ROW = 20
COLOURS = 8  # chart-series-0 ... chart-series-7 in the stylesheet
DOTS_UP_TO = 45  # more points than this: the line alone


@dataclass(frozen=True)
class Series:
    """One line: a label and a value per x (``None``: no value there)."""

    label: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Marker:
    """A vertical line at ``x`` with a label (a threshold on a curve)."""

    x: float
    label: str


def _text(value: object) -> str:
    # SECURITY: labels may be a site's own reason codes; nothing reaches the
    # markup unescaped, attribute values included (quote=True).
    return escape(str(value), quote=True)


def _finite(value: float | None) -> float | None:
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def nice_top(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value``
    (1 for nothing above zero): the top of the y axis."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10


def _number(value: float) -> str:
    return f"{value:g}"


def line_chart(
    *,
    title: str,
    x: Sequence[float],
    series: Sequence[Series],
    x_ticks: Sequence[tuple[float, str]] = (),
    y_format: Callable[[float], str] = _number,
    y_top: float | None = None,
    markers: Sequence[Marker] = (),
    description: str = "",
    empty: str = "No data",
    ident: str = "",
    counts: bool = False,
) -> SafeString:
    """An SVG line chart of ``series`` over ``x`` (ascending), y from 0.

    ``x_ticks``: (x, label) pairs under the axis; ``y_format`` writes the y
    axis's labels; ``y_top``: the axis's top (default: a round number at or
    above the largest value); ``markers``: vertical lines with labels;
    ``empty``: the text shown when there is nothing to draw; ``ident``: the
    prefix of the ids of its title and description (unique on the page;
    default: from the title); ``counts``: the values are whole numbers, so
    the axis's top is four times a round number (every tick a whole one).
    """
    ident = _ident(ident or title)
    xs = [float(v) for v in x if _finite(v) is not None]
    values = [v for s in series for v in (_finite(v) for v in s.values) if v is not None]
    legend_rows = _legend_rows(series)
    height = TOP + PLOT_HEIGHT + BOTTOM + LEGEND_ROW * len(legend_rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}"'
        f' role="img" aria-labelledby="{ident}-t {ident}-d">',
        f'<title id="{ident}-t">{_text(title)}</title>',
        f'<desc id="{ident}-d">{_text(description)}</desc>',
    ]
    if not xs or not values:
        parts.append(_frame())
        parts.append(
            f'<text class="chart-empty" x="{WIDTH / 2:g}" y="{TOP + PLOT_HEIGHT / 2:g}"'
            f' text-anchor="middle">{_text(empty)}</text>'
        )
        parts.append("</svg>")
        return mark_safe("".join(parts))  # noqa: S308  # every text above is escaped

    top = _finite(y_top) or (
        4 * max(1.0, nice_top(max(values) / 4)) if counts else nice_top(max(values))
    )
    low, high = min(xs), max(xs)
    for marker in markers:
        at = _finite(marker.x)
        if at is not None:
            low, high = min(low, at), max(high, at)

    def px(value: float) -> float:
        if high == low:
            return LEFT + (WIDTH - LEFT - RIGHT) / 2  # one point: the middle
        return LEFT + (value - low) / (high - low) * (WIDTH - LEFT - RIGHT)

    def py(value: float) -> float:
        share = min(max(value / top, 0.0), 1.0)
        return TOP + PLOT_HEIGHT * (1 - share)

    parts.append(_frame())
    for i in range(5):  # the y axis: 0, a quarter ... the top
        tick = top * i / 4
        y = py(tick)
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="chart-label" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_text(y_format(tick))}</text>"
        )
    for at, label in x_ticks:
        tick_x = _finite(at)
        if tick_x is None or not low <= tick_x <= high:
            continue
        parts.append(
            f'<text class="chart-label" x="{px(tick_x):.1f}" y="{TOP + PLOT_HEIGHT + 18}"'
            f' text-anchor="middle">{_text(label)}</text>'
        )
    for number, marker in enumerate(markers):
        at = _finite(marker.x)
        if at is None:
            continue
        mx = px(at)
        parts.append(
            f'<line class="chart-marker" x1="{mx:.1f}" y1="{TOP}" x2="{mx:.1f}"'
            f' y2="{TOP + PLOT_HEIGHT}"/>'
        )
        # Right of the line, or left of it in the plot's last third (kept inside).
        right = mx < LEFT + (WIDTH - LEFT - RIGHT) * 2 / 3
        parts.append(
            f'<text class="chart-marker-label" x="{mx + 4 if right else mx - 4:.1f}"'
            f' y="{TOP + 12 + 14 * number}" text-anchor="{"start" if right else "end"}">'
            f"{_text(marker.label)}</text>"
        )
    for index, one in enumerate(series):
        parts.extend(_line(index, one, x, px, py))
    parts.extend(_legend(legend_rows, TOP + PLOT_HEIGHT + BOTTOM))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # every text above is escaped


def _ident(text: str) -> str:
    """An id prefix made of ASCII letters, digits and dashes only."""
    letters = "".join(c if c.isascii() and c.isalnum() else "-" for c in str(text).lower())
    return "chart-" + ("-".join(part for part in letters.split("-") if part) or "untitled")


def _frame() -> str:
    bottom = TOP + PLOT_HEIGHT
    return (
        f'<line class="chart-axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>'
        f'<line class="chart-axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>'
    )


def _line(
    index: int,
    one: Series,
    x: Sequence[float],
    px: Callable[[float], float],
    py: Callable[[float], float],
) -> list[str]:
    """A series as polylines (broken where a value is missing) and dots."""
    colour = f"chart-series-{index % COLOURS}"
    runs: list[list[tuple[float, float]]] = [[]]
    for at, value in zip(x, one.values, strict=False):
        fx, fv = _finite(at), _finite(value)
        if fx is None or fv is None:
            runs.append([])
            continue
        runs[-1].append((px(fx), py(fv)))
    parts = []
    points = [point for run in runs for point in run]
    for run in runs:
        if len(run) > 1:
            coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in run)
            parts.append(f'<polyline class="chart-line {colour}" points="{coords}"/>')
    if len(points) <= DOTS_UP_TO:
        parts += [
            f'<circle class="chart-dot {colour}" cx="{a:.1f}" cy="{b:.1f}" r="3"/>'
            for a, b in points
        ]
    return parts


def _legend_rows(series: Sequence[Series]) -> list[list[tuple[int, str]]]:
    """The legend's entries, as many to a row as fit (an estimate of text width)."""
    rows: list[list[tuple[int, str]]] = []
    used = WIDTH
    for index, one in enumerate(series):
        label = str(one.label)
        width = 28 + 7 * len(label) + 16
        if used + width > WIDTH - RIGHT:
            rows.append([])
            used = LEFT
        rows[-1].append((index, label))
        used += width
    return rows


def _legend(rows: list[list[tuple[int, str]]], top: int) -> list[str]:
    parts = []
    for number, row in enumerate(rows):
        y = top + LEGEND_ROW * number + 10
        at = LEFT
        for index, label in row:
            colour = f"chart-series-{index % COLOURS}"
            parts.append(
                f'<line class="chart-line {colour}" x1="{at}" y1="{y - 4}"'
                f' x2="{at + 20}" y2="{y - 4}"/>'
            )
            parts.append(f'<text class="chart-label" x="{at + 26}" y="{y}">{_text(label)}</text>')
            at += 28 + 7 * len(label) + 16
    return parts
