"""Bar charts: histograms and horizontal bars, alone or as a grid of small multiples (the EDA
and drift reports), and signed bars with error whiskers (the training report's permutation importance)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from automl_lite.html.charts._svg import (
    BAR_COLOR,
    HISTOGRAM_COLOR,
    LABEL_SIZE,
    MUTED,
    TEXT,
    TICK_SIZE,
    compact_number,
    document,
    finite,
    fit,
    format_number,
    line,
    nice_ticks,
    no_data,
    rect,
    svg_data_uri,
    svg_text,
    text_width,
    title_lines,
)


@dataclass(frozen=True)
class HistogramPanel:
    """A histogram: ``len(edges) == len(counts) + 1`` numeric bin edges (as ``np.histogram``)."""

    title: str
    edges: Sequence[Any]
    counts: Sequence[Any]
    color: str = HISTOGRAM_COLOR


@dataclass(frozen=True)
class BarPanel:
    """Horizontal bars, drawn top to bottom in the order given (most frequent first)."""

    title: str
    labels: Sequence[Any]
    counts: Sequence[Any]
    color: str = BAR_COLOR
    #: Longest label shown, in characters (longer ones end with an ellipsis).
    label_limit: int = 18


Panel = HistogramPanel | BarPanel


def _histogram_panel(panel: HistogramPanel, width: float, height: float) -> list[str]:
    out = title_lines(panel.title, width)
    top = 22.0 if panel.title else 6.0
    edges = [finite(e) for e in panel.edges]
    counts = [finite(c) for c in panel.counts]
    valid = len(edges) >= 2 and len(edges) == len(counts) + 1 and all(e is not None for e in edges)
    finite_edges = [e for e in edges if e is not None]
    lo, hi = (min(finite_edges), max(finite_edges)) if valid else (0.0, 0.0)
    span = hi - lo
    if not valid or not math.isfinite(span):
        out.append(no_data(width, top, height - top))
        return out
    if span <= 0:
        lo, span = lo - 0.5, 1.0
    shown = [c for c in counts if c is not None and c > 0]
    peak = max(shown) if shown else 0.0
    peak_label = compact_number(peak) if peak > 0 else "0"
    left = 6.0 + max(text_width(peak_label, TICK_SIZE), text_width("0", TICK_SIZE)) + 4
    right = width - 10.0
    bottom = height - 16.0
    plot_w, plot_h = max(right - left, 1.0), max(bottom - top, 1.0)
    scale_y = plot_h / peak if peak > 0 else 0.0
    for (e0, e1), count in zip(zip(edges, edges[1:], strict=False), counts, strict=False):
        if count is None or count < 0 or e0 is None or e1 is None:
            continue
        x0 = left + (min(e0, e1) - lo) / span * plot_w
        x1 = left + (max(e0, e1) - lo) / span * plot_w
        bar_h = count * scale_y
        out.append(rect(x0, bottom - bar_h, x1 - x0, bar_h, panel.color, "bar"))
    # Axes: the baseline, the peak count, and the edges' min, middle and max.
    out.append(line(left, bottom + 0.5, right, bottom + 0.5))
    out.append(line(left - 0.5, top, left - 0.5, bottom))
    out.append(
        svg_text(left - 4, top + 3, peak_label, size=TICK_SIZE, anchor="end", fill=MUTED, baseline="middle")
    )
    out.append(svg_text(left - 4, bottom, "0", size=TICK_SIZE, anchor="end", fill=MUTED))
    ticks = ((lo, "start"), (lo + span / 2, "middle"), (lo + span, "end"))
    for value, anchor in ticks:
        x = left + (value - lo) / span * plot_w
        out.append(line(x, bottom, x, bottom + 3))
        out.append(svg_text(x, bottom + 13, compact_number(value), size=TICK_SIZE, anchor=anchor, fill=MUTED))
    return out


def _bar_panel(panel: BarPanel, width: float, height: float) -> list[str]:
    out = title_lines(panel.title, width)
    top = 22.0 if panel.title else 6.0
    labels = list(panel.labels)
    counts = [finite(c) for c in panel.counts][: len(labels)]
    counts += [None] * (len(labels) - len(counts))
    if not labels:
        out.append(no_data(width, top, height - top))
        return out
    slot = min((height - top - 4.0) / len(labels), 22.0)  # a few bars stay bars, not slabs
    size = max(7.0, min(LABEL_SIZE, slot * 0.75))
    texts = [fit(label, panel.label_limit) for label in labels]
    label_w = min(max(text_width(t, size) for t in texts), width * 0.45)
    texts = [fit(t, panel.label_limit, label_w, size) for t in texts]
    count_texts = [compact_number(c) if c is not None and c >= 0 else "" for c in counts]
    count_w = max(text_width(t, size) for t in count_texts) + 6
    left = 6.0 + label_w + 6.0
    plot_w = max(width - left - count_w - 6.0, 1.0)
    peak = max((c for c in counts if c is not None and c > 0), default=0.0)
    out.append(line(left - 0.5, top, left - 0.5, top + slot * len(labels)))
    for i, (text, count, count_text) in enumerate(zip(texts, counts, count_texts, strict=True)):
        middle = top + (i + 0.5) * slot
        out.append(svg_text(left - 6, middle, text, size=size, anchor="end", baseline="middle"))
        if count is None or count < 0:
            continue
        bar_w = count / peak * plot_w if peak > 0 else 0.0
        out.append(rect(left, middle - slot * 0.4, bar_w, slot * 0.8, panel.color, "bar"))
        out.append(svg_text(left + bar_w + 4, middle, count_text, size=size, fill=MUTED, baseline="middle"))
    return out


def bar_panel_height(bars: int, *, titled: bool = True) -> float:
    """The height that fits ``bars`` bars of the tallest slot (22 px) under an optional title."""
    return max(80.0, (22.0 if titled else 6.0) + 22.0 * bars + 8.0)


def _panel(panel: Panel, width: float, height: float) -> list[str]:
    if isinstance(panel, HistogramPanel):
        return _histogram_panel(panel, width, height)
    return _bar_panel(panel, width, height)


# ---------------------------------------------------------------------------------------
# Charts (whole documents)
# ---------------------------------------------------------------------------------------
def histogram(
    edges: Sequence[Any],
    counts: Sequence[Any],
    *,
    title: str = "",
    width: float = 560,
    height: float = 260,
    color: str = HISTOGRAM_COLOR,
) -> str:
    """A filled histogram over numeric ``edges`` (one more than ``counts``), as a data URI.

    Ticks show the edges' min, middle and max and the tallest bar's count. Bins whose
    count is missing or negative are not drawn; edges that are not all finite draw
    "no data".
    """
    body = _histogram_panel(HistogramPanel(title, edges, counts, color), width, height)
    return svg_data_uri(document(width, height, title or "Histogram", body))


def bar_chart(
    labels: Sequence[Any],
    counts: Sequence[Any],
    *,
    title: str = "",
    width: float = 560,
    height: float | None = None,
    color: str = BAR_COLOR,
    label_limit: int = 40,
) -> str:
    """Horizontal bars with their labels and counts, top to bottom in order, as a data URI.

    The height grows with the number of bars unless given; labels longer than
    ``label_limit`` characters (or than the label column) end with an ellipsis.
    """
    if height is None:
        height = bar_panel_height(len(labels), titled=bool(title))
    body = _bar_panel(BarPanel(title, labels, counts, color, label_limit), width, height)
    return svg_data_uri(document(width, height, title or "Bar chart", body))


def small_multiples(
    panels: Sequence[Panel],
    ncols: int = 4,
    *,
    panel_width: float = 250,
    panel_height: float = 150,
    title: str = "Small multiples",
) -> str:
    """Several histogram or bar panels in one grid (row by row), as a data URI.

    ``title`` is the document's ``<title>``; each panel shows its own title. Each panel
    is a nested ``<svg>`` viewport, so nothing drawn in it can overflow onto another.
    """
    ncols = max(1, min(int(ncols), len(panels) or 1))
    nrows = max(1, math.ceil(len(panels) / ncols))
    gap = 8.0
    width = ncols * panel_width + (ncols + 1) * gap
    height = nrows * panel_height + (nrows + 1) * gap
    body: list[str] = []
    if not panels:
        body.append(no_data(width, 0, height))
    for i, panel in enumerate(panels):
        x = gap + (i % ncols) * (panel_width + gap)
        y = gap + (i // ncols) * (panel_height + gap)
        body.append(
            f'<svg x="{format_number(x)}" y="{format_number(y)}" width="{format_number(panel_width)}" height="{format_number(panel_height)}" '
            f'viewBox="0 0 {format_number(panel_width)} {format_number(panel_height)}">'
        )
        body.extend(_panel(panel, panel_width, panel_height))
        body.append("</svg>")
    return svg_data_uri(document(width, height, title, body))


def signed_bars(
    labels: Sequence[Any],
    values: Sequence[Any],
    errors: Sequence[Any] | None = None,
    *,
    title: str,
    x_label: str,
    width: float = 560,
    color: str = HISTOGRAM_COLOR,
    label_limit: int = 30,
) -> str:
    """Horizontal bars from zero (negative values to the left), each with an optional ± error, as a data URI.

    Drawn top to bottom in the order given; a missing value draws no bar.
    """
    labels = list(labels)
    vals = [finite(v) for v in values][: len(labels)]
    vals += [None] * (len(labels) - len(vals))
    errs = [finite(e) for e in (errors or [])][: len(labels)]
    errs += [None] * (len(labels) - len(errs))
    top = 24.0 if title else 8.0
    slot = 18.0
    height = top + slot * max(len(labels), 1) + 8 + TICK_SIZE + 6 + LABEL_SIZE + 8
    body = title_lines(title, width)
    if not labels:
        body.append(no_data(width, top, height - top))
        return svg_data_uri(document(width, height, title, body))
    texts = [fit(label, label_limit) for label in labels]
    label_w = min(max(text_width(t, LABEL_SIZE) for t in texts), width * 0.4)
    texts = [fit(t, label_limit, label_w) for t in texts]
    ends = [0.0]
    for v, e in zip(vals, errs, strict=True):
        if v is not None:
            ends += [v - abs(e or 0.0), v + abs(e or 0.0)]
    lo, hi = min(ends), max(ends)
    if hi - lo <= 0:
        hi = lo + 1.0
    left = 8.0 + label_w + 8.0
    right = width - 12.0
    plot_w = max(right - left, 1.0)
    bottom = top + slot * len(labels)

    def px(x: float) -> float:
        return left + (x - lo) / (hi - lo) * plot_w

    ticks = [t for t in nice_ticks(lo, hi) if lo - 1e-12 <= t <= hi + 1e-12]
    for t in ticks:
        body.append(line(px(t), top, px(t), bottom, "#eaeef2"))
        body.append(
            svg_text(
                px(t),
                bottom + 4 + TICK_SIZE,
                compact_number(t),
                size=TICK_SIZE,
                anchor="middle",
                fill=MUTED,
            )
        )
    body.append(line(px(0.0), top, px(0.0), bottom))
    for i, (text, v, e) in enumerate(zip(texts, vals, errs, strict=True)):
        middle = top + (i + 0.5) * slot
        body.append(svg_text(left - 6, middle, text, anchor="end", baseline="middle"))
        if v is None:
            continue
        x0, x1 = sorted((px(0.0), px(v)))
        body.append(rect(x0, middle - slot * 0.35, x1 - x0, slot * 0.7, color, "bar"))
        if e:
            a, b = px(v - abs(e)), px(v + abs(e))
            body.append(
                f'<g class="error">{line(a, middle, b, middle, TEXT)}{line(a, middle - 3, a, middle + 3, TEXT)}{line(b, middle - 3, b, middle + 3, TEXT)}</g>'
            )
    body.append(svg_text((left + right) / 2, height - 8, fit(x_label, 90, plot_w), anchor="middle"))
    return svg_data_uri(document(width, height, title, body))
