"""x-y plots on numeric axes (the training report's ROC and precision-recall curves, predicted
against actual, residuals and the search's progress)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl_lite.html.charts._svg import (
    LABEL_SIZE,
    MUTED,
    TICK_SIZE,
    compact_number,
    document,
    finite,
    fit,
    format_number,
    line,
    nice_ticks,
    no_data,
    svg_data_uri,
    svg_text,
    text_width,
    title_lines,
)

#: Series colours, in order (matplotlib's tab10, the palette the reports used before).
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

#: Reference lines (the ROC diagonal, y = x, zero residual).
REFERENCE_COLOR = "#8c959f"
#: Most points drawn per series: beyond it, evenly spaced points (and the last) are kept.
MAX_POINTS = 2_000

_SERIES_KINDS = ("line", "points", "step")


@dataclass(frozen=True)
class Series:
    """One series of an :func:`xy_chart`: points, a line, or a step line (steps after each point)."""

    label: str
    x: Iterable[Any]
    y: Iterable[Any]
    kind: str = "line"
    color: str | None = None
    dashed: bool = False


def _thin(points: list[tuple[float, float]], limit: int = MAX_POINTS) -> list[tuple[float, float]]:
    if len(points) <= limit:
        return points
    keep = np.linspace(0, len(points) - 1, limit).round().astype(int)
    return [points[i] for i in sorted(set(keep.tolist()))]


def _pairs(series: Series) -> list[tuple[float, float]]:
    """The series' finite (x, y) pairs, thinned to :data:`MAX_POINTS`."""
    pairs = []
    for x, y in zip(series.x, series.y, strict=False):
        fx, fy = finite(x), finite(y)
        if fx is not None and fy is not None:
            pairs.append((fx, fy))
    return _thin(pairs)


def _range(values: list[float], given: tuple[Any, Any] | None) -> tuple[float, float] | None:
    lo = finite(given[0]) if given else None
    hi = finite(given[1]) if given else None
    if lo is None:
        lo = min(values) if values else None
    if hi is None:
        hi = max(values) if values else None
    if lo is None or hi is None:
        return None
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.05 or 0.5
        return lo - pad, hi + pad
    return lo, hi


def xy_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_range: tuple[Any, Any] | None = None,
    y_range: tuple[Any, Any] | None = None,
    width: float = 500,
    height: float = 330,
) -> str:
    """Points and lines on numeric axes with round ticks and a legend, as a data URI.

    ``x_range`` / ``y_range`` fix an axis's ends (either end may be None: from the data);
    what falls outside is clipped by the plot area (a nested ``<svg>`` viewport). Non-finite
    values are skipped and a long series is thinned to :data:`MAX_POINTS`. A series with an
    empty label has no legend entry (a reference line).
    """
    for s in series:
        if s.kind not in _SERIES_KINDS:
            raise ValueError(f"series kind {s.kind!r} is not one of {_SERIES_KINDS}")
    data = [(s, _pairs(s)) for s in series]
    xs = [x for _, pairs in data for x, _ in pairs]
    ys = [y for _, pairs in data for _, y in pairs]
    x_span, y_span = _range(xs, x_range), _range(ys, y_range)
    body = title_lines(title, width)
    top = 24.0 if title else 8.0
    legend = [(s.label, s.color or PALETTE[i % len(PALETTE)], s) for i, (s, _) in enumerate(data) if s.label]
    legend_texts = [fit(label, 40) for label, _, _ in legend]
    legend_w = min(max((text_width(t, TICK_SIZE) for t in legend_texts), default=0.0) + 26, width * 0.4)
    right = width - 10 - (legend_w + 8 if legend else 0)
    if x_span is None or y_span is None:
        body.append(no_data(width, top, height - top))
        return svg_data_uri(document(width, height, title, body))
    y_ticks = [t for t in nice_ticks(*y_span) if y_span[0] - 1e-12 <= t <= y_span[1] + 1e-12] or list(y_span)
    x_ticks = [t for t in nice_ticks(*x_span) if x_span[0] - 1e-12 <= t <= x_span[1] + 1e-12] or list(x_span)
    tick_w = max(text_width(compact_number(t), TICK_SIZE) for t in y_ticks)
    left = 8 + LABEL_SIZE + 6 + tick_w + 6
    bottom = height - (8 + LABEL_SIZE + 4 + TICK_SIZE + 6)
    plot_w, plot_h = max(right - left, 1.0), max(bottom - top, 1.0)
    (x0, x1), (y0, y1) = x_span, y_span

    def px(x: float) -> float:
        return (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return plot_h - (y - y0) / (y1 - y0) * plot_h

    # Grid, ticks and axis labels (outside the clipped plot area).
    for t in y_ticks:
        y = top + py(t)
        body.append(line(left, y, right, y, "#eaeef2"))
        body.append(
            svg_text(
                left - 4, y, compact_number(t), size=TICK_SIZE, anchor="end", fill=MUTED, baseline="middle"
            )
        )
    for t in x_ticks:
        x = left + px(t)
        body.append(line(x, bottom, x, bottom + 3))
        body.append(
            svg_text(
                x, bottom + 4 + TICK_SIZE, compact_number(t), size=TICK_SIZE, anchor="middle", fill=MUTED
            )
        )
    body.append(line(left, bottom + 0.5, right, bottom + 0.5))
    body.append(line(left - 0.5, top, left - 0.5, bottom))
    body.append(svg_text((left + right) / 2, height - 6, fit(x_label, 80, plot_w), anchor="middle"))
    body.append(
        svg_text(8 + LABEL_SIZE, (top + bottom) / 2, fit(y_label, 80, plot_h), anchor="middle", rotate=-90)
    )
    # The plot area: a viewport that clips what lies outside the ranges.
    body.append(
        f'<svg class="plot" x="{format_number(left)}" y="{format_number(top)}" width="{format_number(plot_w)}" height="{format_number(plot_h)}" '
        f'viewBox="0 0 {format_number(plot_w)} {format_number(plot_h)}">'
    )
    for i, (s, pairs) in enumerate(data):
        color = s.color or PALETTE[i % len(PALETTE)]
        if not pairs:
            continue
        if s.kind == "points":
            body.append(f'<g class="points" fill="{color}" fill-opacity="0.6">')
            body.extend(
                f'<circle cx="{format_number(px(x))}" cy="{format_number(py(y))}" r="2.5"/>' for x, y in pairs
            )
            body.append("</g>")
            continue
        coords = [(px(x), py(y)) for x, y in pairs]
        if s.kind == "step":
            stepped = [coords[0]]
            for x, y in coords[1:]:
                stepped += [(x, stepped[-1][1]), (x, y)]
            coords = stepped
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        points = " ".join(f"{format_number(x)},{format_number(y)}" for x, y in coords)
        body.append(
            f'<polyline class="{s.kind}" points="{points}" fill="none" stroke="{color}" stroke-width="1.6"{dash}/>'
        )
    body.append("</svg>")
    # The legend, right of the plot.
    for k, ((_, color, s), text) in enumerate(zip(legend, legend_texts, strict=True)):
        y = top + 6 + k * 15
        lx = right + 12
        if s.kind == "points":
            body.append(
                f'<circle cx="{format_number(lx + 7)}" cy="{format_number(y)}" r="3" fill="{color}"/>'
            )
        else:
            dash = ' stroke-dasharray="5 4"' if s.dashed else ""
            body.append(
                f'<line x1="{format_number(lx)}" y1="{format_number(y)}" x2="{format_number(lx + 14)}" y2="{format_number(y)}" stroke="{color}" '
                f'stroke-width="2"{dash}/>'
            )
        body.append(
            svg_text(lx + 20, y, fit(text, 40, legend_w - 22, TICK_SIZE), size=TICK_SIZE, baseline="middle")
        )
    return svg_data_uri(document(width, height, title, body))
