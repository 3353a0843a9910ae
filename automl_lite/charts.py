"""Small hand-built SVG charts for both reports (stdlib and numpy only, no matplotlib).

The EDA report draws histograms, horizontal bar charts, a correlation heatmap and grids of
those as small multiples; the training report draws x-y plots (ROC and precision-recall
curves, predicted against actual, residuals, the search's progress: :func:`xy_chart`), a
confusion matrix (:func:`confusion_matrix`) and the permutation importance with its spread
(:func:`signed_bars`). Building them as SVG text takes about a millisecond, where
matplotlib took seconds (its import alone is ~0.5 s and ``savefig`` with constrained
layout dominated a large profile), and no image installs matplotlib.

Every function returns a ``data:image/svg+xml;base64,...`` URI for
:class:`automl_lite.reports.Figure`, so a report stays one self-contained file. The
documents are safe by construction:

- every user string (column names, category values, titles) is XML-escaped, characters
  XML cannot hold (control characters, lone surrogates) become U+FFFD, and long strings
  are cut with an ellipsis;
- every number written is finite: ``None``, NaN and infinities are skipped (a bar is not
  drawn, a heatmap cell is grey), so the SVG is well-formed XML whatever the data;
- each panel of a grid is a nested ``<svg>`` viewport, which clips its content, so a
  label that is longer than estimated never spills onto its neighbour.

Examples
--------
>>> uri = histogram([0.0, 1.0, 2.0], [3, 5], title="x")
>>> uri.startswith("data:image/svg+xml;base64,")
True
>>> compact_number(12345), compact_number(0.0000345), compact_number(2013.0)
('12.3k', '3.4e-05', '2013')
"""

from __future__ import annotations

import base64
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

__all__ = [
    "BAR_COLOR",
    "HISTOGRAM_COLOR",
    "MAX_POINTS",
    "MISSING_COLOR",
    "PALETTE",
    "REFERENCE_COLOR",
    "BarPanel",
    "HistogramPanel",
    "Series",
    "bar_chart",
    "bar_panel_height",
    "compact_number",
    "confusion_matrix",
    "diverging_color",
    "heatmap",
    "histogram",
    "nice_ticks",
    "sequential_color",
    "signed_bars",
    "small_multiples",
    "svg_data_uri",
    "xy_chart",
]

#: Bars of histograms (and of the target's classes).
HISTOGRAM_COLOR = "#4c72b0"
#: Bars of categorical columns' most frequent values.
BAR_COLOR = "#55a868"
#: Heatmap cells without a value (a constant column, too few rows).
MISSING_COLOR = "#c8c8c8"

_TEXT = "#1f2328"
_MUTED = "#59636e"
_AXIS = "#8c959f"
_FONT = "Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif"
_TITLE_SIZE = 12.0
_LABEL_SIZE = 10.0
_TICK_SIZE = 9.0

#: RdBu_r (ColorBrewer RdBu, reversed) from -1 to +1, with a white centre.
_DIVERGING = (
    (-1.0, (0x05, 0x30, 0x61)),
    (-0.75, (0x21, 0x66, 0xAC)),
    (-0.5, (0x43, 0x93, 0xC3)),
    (-0.25, (0x92, 0xC5, 0xDE)),
    (0.0, (0xFF, 0xFF, 0xFF)),
    (0.25, (0xF4, 0xA5, 0x82)),
    (0.5, (0xD6, 0x60, 0x4D)),
    (0.75, (0xB2, 0x18, 0x2B)),
    (1.0, (0x67, 0x00, 0x1F)),
)

# Characters XML 1.0 cannot hold (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ELLIPSIS = "\u2026"


# ---------------------------------------------------------------------------------------
# Values and text
# ---------------------------------------------------------------------------------------
def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None (None, NaN, infinities, non-numbers)."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def compact_number(value: Any) -> str:
    """A short axis label: ``2013``, ``0.25``, ``1.23k``, ``4.5M``, ``3.5e-05``; "" when not finite."""
    x = _finite(value)
    if x is None:
        return ""
    if x == 0:
        return "0"
    size = abs(x)
    if size < 1e-3:
        return f"{x:.1e}"
    if size < 1e4:
        text = f"{x:.4g}"
        if "e" not in text:
            return text
    for scale, suffix in ((1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T")):
        text = f"{x / scale:.3g}"
        if "e" not in text and abs(float(text)) < 1000:
            return text + suffix
    return f"{x:.1e}"


def _clean(text: Any) -> str:
    """A user value as text XML can hold (before escaping)."""
    return _NOT_XML.sub("\ufffd", str(text))


def _esc(text: str) -> str:
    """XML-escape text content (and quotes, so it is safe in attributes too)."""
    return escape(text, {'"': "&quot;", "'": "&apos;"})


def _char_width(ch: str) -> float:
    """A rough advance width in ems for a sans-serif font (no font metrics at hand)."""
    if unicodedata.combining(ch) or ch in "\u200d\ufe0f":
        return 0.0
    if ord(ch) > 0xFFFF or unicodedata.east_asian_width(ch) in "WF":
        return 1.05
    if ch in "iIjl.,:;'|!() []ft":
        return 0.33
    if ch.isupper() or ch in "mwMW@%&#":
        return 0.72
    return 0.56


def _text_width(text: str, size: float) -> float:
    return sum(_char_width(ch) for ch in text) * size


def _fit(text: Any, limit: int, max_width: float | None = None, size: float = _LABEL_SIZE) -> str:
    """``text`` cut to ``limit`` characters and (roughly) ``max_width`` pixels, with an ellipsis."""
    out = _clean(text)
    if len(out) > limit:
        out = out[: max(limit - 1, 0)] + _ELLIPSIS
    if max_width is None or _text_width(out, size) <= max_width:
        return out
    budget = max_width - _char_width(_ELLIPSIS) * size
    width = 0.0
    for i, ch in enumerate(out):
        width += _char_width(ch) * size
        if width > budget:
            return out[:i] + _ELLIPSIS
    return out


def _n(value: float) -> str:
    """A coordinate for an attribute (always finite: callers only pass computed positions)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: float = _LABEL_SIZE,
    anchor: str = "start",
    fill: str | None = None,
    bold: bool = False,
    rotate: float | None = None,
    baseline: str | None = None,
) -> str:
    attrs = [f'x="{_n(x)}"', f'y="{_n(y)}"']
    if size != _LABEL_SIZE:
        attrs.append(f'font-size="{_n(size)}"')
    if anchor != "start":
        attrs.append(f'text-anchor="{anchor}"')
    if fill:
        attrs.append(f'fill="{fill}"')
    if bold:
        attrs.append('font-weight="bold"')
    if baseline:
        attrs.append(f'dominant-baseline="{baseline}"')
    if rotate is not None:
        attrs.append(f'transform="rotate({_n(rotate)} {_n(x)} {_n(y)})"')
    return f"<text {' '.join(attrs)}>{_esc(text)}</text>"


def _rect(x: float, y: float, w: float, h: float, fill: str, cls: str | None = None) -> str:
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<rect{klass} x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0.0))}" height="{_n(max(h, 0.0))}" '
        f'fill="{fill}"/>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = _AXIS) -> str:
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
        'stroke-width="1" shape-rendering="crispEdges"/>'
    )


def _document(width: float, height: float, title: str, body: Sequence[str]) -> str:
    """A whole SVG document: white background, ``<title>`` for assistive technology."""
    w, h = _n(max(width, 1.0)), _n(max(height, 1.0))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" font-family="{_FONT}" font-size="{_n(_LABEL_SIZE)}" fill="{_TEXT}">'
        f"<title>{_esc(_clean(title))}</title>"
        f'<rect width="100%" height="100%" fill="#ffffff"/>' + "".join(body) + "</svg>"
    )


def svg_data_uri(svg: str) -> str:
    """An SVG document as a ``data:image/svg+xml;base64,...`` URI for a report's ``<img>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# ---------------------------------------------------------------------------------------
# Panels: each draws into a (width x height) box whose origin is (0, 0)
# ---------------------------------------------------------------------------------------
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


def _title_lines(title: str, width: float) -> list[str]:
    if not title:
        return []
    text = _fit(title, 120, width - 8, _TITLE_SIZE)
    return [_text(width / 2, 14, text, size=_TITLE_SIZE, anchor="middle", bold=True)]


def _no_data(width: float, top: float, height: float) -> str:
    return _text(width / 2, top + height / 2, "no data", anchor="middle", fill=_MUTED, baseline="middle")


def _histogram_panel(panel: HistogramPanel, width: float, height: float) -> list[str]:
    out = _title_lines(panel.title, width)
    top = 22.0 if panel.title else 6.0
    edges = [_finite(e) for e in panel.edges]
    counts = [_finite(c) for c in panel.counts]
    valid = len(edges) >= 2 and len(edges) == len(counts) + 1 and all(e is not None for e in edges)
    finite_edges = [e for e in edges if e is not None]
    lo, hi = (min(finite_edges), max(finite_edges)) if valid else (0.0, 0.0)
    span = hi - lo
    if not valid or not math.isfinite(span):
        out.append(_no_data(width, top, height - top))
        return out
    if span <= 0:
        lo, span = lo - 0.5, 1.0
    shown = [c for c in counts if c is not None and c > 0]
    peak = max(shown) if shown else 0.0
    peak_label = compact_number(peak) if peak > 0 else "0"
    left = 6.0 + max(_text_width(peak_label, _TICK_SIZE), _text_width("0", _TICK_SIZE)) + 4
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
        out.append(_rect(x0, bottom - bar_h, x1 - x0, bar_h, panel.color, "bar"))
    # Axes: the baseline, the peak count, and the edges' min, middle and max.
    out.append(_line(left, bottom + 0.5, right, bottom + 0.5))
    out.append(_line(left - 0.5, top, left - 0.5, bottom))
    out.append(
        _text(left - 4, top + 3, peak_label, size=_TICK_SIZE, anchor="end", fill=_MUTED, baseline="middle")
    )
    out.append(_text(left - 4, bottom, "0", size=_TICK_SIZE, anchor="end", fill=_MUTED))
    ticks = ((lo, "start"), (lo + span / 2, "middle"), (lo + span, "end"))
    for value, anchor in ticks:
        x = left + (value - lo) / span * plot_w
        out.append(_line(x, bottom, x, bottom + 3))
        out.append(_text(x, bottom + 13, compact_number(value), size=_TICK_SIZE, anchor=anchor, fill=_MUTED))
    return out


def _bar_panel(panel: BarPanel, width: float, height: float) -> list[str]:
    out = _title_lines(panel.title, width)
    top = 22.0 if panel.title else 6.0
    labels = list(panel.labels)
    counts = [_finite(c) for c in panel.counts][: len(labels)]
    counts += [None] * (len(labels) - len(counts))
    if not labels:
        out.append(_no_data(width, top, height - top))
        return out
    slot = min((height - top - 4.0) / len(labels), 22.0)  # a few bars stay bars, not slabs
    size = max(7.0, min(_LABEL_SIZE, slot * 0.75))
    texts = [_fit(label, panel.label_limit) for label in labels]
    label_w = min(max(_text_width(t, size) for t in texts), width * 0.45)
    texts = [_fit(t, panel.label_limit, label_w, size) for t in texts]
    count_texts = [compact_number(c) if c is not None and c >= 0 else "" for c in counts]
    count_w = max(_text_width(t, size) for t in count_texts) + 6
    left = 6.0 + label_w + 6.0
    plot_w = max(width - left - count_w - 6.0, 1.0)
    peak = max((c for c in counts if c is not None and c > 0), default=0.0)
    out.append(_line(left - 0.5, top, left - 0.5, top + slot * len(labels)))
    for i, (text, count, count_text) in enumerate(zip(texts, counts, count_texts, strict=True)):
        middle = top + (i + 0.5) * slot
        out.append(_text(left - 6, middle, text, size=size, anchor="end", baseline="middle"))
        if count is None or count < 0:
            continue
        bar_w = count / peak * plot_w if peak > 0 else 0.0
        out.append(_rect(left, middle - slot * 0.4, bar_w, slot * 0.8, panel.color, "bar"))
        out.append(_text(left + bar_w + 4, middle, count_text, size=size, fill=_MUTED, baseline="middle"))
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
    return svg_data_uri(_document(width, height, title or "Histogram", body))


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
    return svg_data_uri(_document(width, height, title or "Bar chart", body))


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
        body.append(_no_data(width, 0, height))
    for i, panel in enumerate(panels):
        x = gap + (i % ncols) * (panel_width + gap)
        y = gap + (i // ncols) * (panel_height + gap)
        body.append(
            f'<svg x="{_n(x)}" y="{_n(y)}" width="{_n(panel_width)}" height="{_n(panel_height)}" '
            f'viewBox="0 0 {_n(panel_width)} {_n(panel_height)}">'
        )
        body.extend(_panel(panel, panel_width, panel_height))
        body.append("</svg>")
    return svg_data_uri(_document(width, height, title, body))


def diverging_color(value: Any) -> str:
    """The heatmap colour of a correlation: blue (-1), white (0), red (+1); grey when missing.

    >>> diverging_color(1), diverging_color(0), diverging_color(-1), diverging_color(None)
    ('#67001f', '#ffffff', '#053061', '#c8c8c8')
    """
    x = _finite(value)
    if x is None:
        return MISSING_COLOR
    x = min(1.0, max(-1.0, x))
    for (v0, c0), (v1, c1) in zip(_DIVERGING, _DIVERGING[1:], strict=False):
        if x <= v1:
            t = (x - v0) / (v1 - v0)
            return _hex(tuple(round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True)))
    return _hex(_DIVERGING[-1][1])  # pragma: no cover - x <= 1 always matches


def _hex(rgb: tuple[int, ...]) -> str:
    return "#" + "".join(f"{channel:02x}" for channel in rgb)


def heatmap(
    names: Sequence[Any],
    matrix: Sequence[Sequence[Any]] | np.ndarray,
    *,
    title: str = "Pearson correlation",
    label_limit: int = 20,
    show_values: bool | None = None,
) -> str:
    """A correlation heatmap (-1 blue, 0 white, +1 red; missing values grey) with a legend.

    Rows and columns are labelled with ``names`` (column labels rotated); values are
    printed in the cells when there are at most 12 names (or as ``show_values`` says).
    A ragged or short ``matrix`` leaves the missing cells grey.
    """
    names = list(names)
    n = len(names)
    if n == 0:
        return svg_data_uri(_document(240, 80, title, [*_title_lines(title, 240), _no_data(240, 22, 58)]))
    if show_values is None:
        show_values = n <= 12
    rows = [list(row) for row in matrix]
    cell = max(14.0, min(44.0, 480.0 / n))
    size = max(7.0, min(_LABEL_SIZE, cell * 0.7))
    labels = [_fit(name, label_limit) for name in names]
    label_w = max(_text_width(t, size) for t in labels) + 6
    top = 28.0 if title else 8.0
    left = 8.0 + label_w
    grid = n * cell
    legend_x = left + grid + 16
    width = legend_x + 12 + 34
    height = top + grid + label_w + 8
    body = _title_lines(title, width)
    value_size = min(11.0, cell * 0.3)
    for i in range(n):
        row = rows[i] if i < len(rows) else []
        for j in range(n):
            value = _finite(row[j]) if j < len(row) else None
            x, y = left + j * cell, top + i * cell
            body.append(_rect(x, y, cell, cell, diverging_color(value), "cell"))
            if show_values and value is not None:
                ink = "#ffffff" if abs(value) > 0.5 else _TEXT
                body.append(
                    _text(
                        x + cell / 2,
                        y + cell / 2,
                        f"{value:.2f}",
                        size=value_size,
                        anchor="middle",
                        fill=ink,
                        baseline="central",
                    )
                )
    body.append(
        f'<rect x="{_n(left)}" y="{_n(top)}" width="{_n(grid)}" height="{_n(grid)}" fill="none" '
        f'stroke="{_AXIS}" stroke-width="1"/>'
    )
    for k, label in enumerate(labels):
        middle = k * cell + cell / 2
        body.append(_text(left - 4, top + middle, label, size=size, anchor="end", baseline="central"))
        body.append(
            _text(
                left + middle, top + grid + 4, label, size=size, anchor="end", baseline="central", rotate=-90
            )
        )
    # The colour legend: a vertical gradient from +1 (top) to -1 (bottom).
    legend_h = min(grid, 200.0)
    stops = "".join(
        f'<stop offset="{_n((1 - v) / 2 * 100)}%" stop-color="{_hex(rgb)}"/>'
        for v, rgb in reversed(_DIVERGING)
    )
    body.append(
        f'<defs><linearGradient id="scale" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient></defs>'
    )
    body.append(
        f'<rect x="{_n(legend_x)}" y="{_n(top)}" width="12" height="{_n(legend_h)}" fill="url(#scale)" '
        f'stroke="{_AXIS}" stroke-width="0.5"/>'
    )
    for value, text in ((1.0, "+1"), (0.0, "0"), (-1.0, "\u22121")):
        y = top + (1 - value) / 2 * legend_h
        body.append(_text(legend_x + 16, y, text, size=_TICK_SIZE, fill=_MUTED, baseline="central"))
    return svg_data_uri(_document(width, height, title, body))


# ---------------------------------------------------------------------------------------
# The training report's charts: x-y plots, a confusion matrix, signed bars with errors
# ---------------------------------------------------------------------------------------
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


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (1, 2, 2.5 or 5 times a power of ten) covering ``[lo, hi]``.

    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(3, 3)
    [2.8, 3.0, 3.2]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    if hi - lo <= 0:
        pad = abs(lo) * 0.1 or 0.5
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def _thin(points: list[tuple[float, float]], limit: int = MAX_POINTS) -> list[tuple[float, float]]:
    if len(points) <= limit:
        return points
    keep = np.linspace(0, len(points) - 1, limit).round().astype(int)
    return [points[i] for i in sorted(set(keep.tolist()))]


def _pairs(series: Series) -> list[tuple[float, float]]:
    """The series' finite (x, y) pairs, thinned to :data:`MAX_POINTS`."""
    pairs = []
    for x, y in zip(series.x, series.y, strict=False):
        fx, fy = _finite(x), _finite(y)
        if fx is not None and fy is not None:
            pairs.append((fx, fy))
    return _thin(pairs)


def _range(values: list[float], given: tuple[Any, Any] | None) -> tuple[float, float] | None:
    lo = _finite(given[0]) if given else None
    hi = _finite(given[1]) if given else None
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
    body = _title_lines(title, width)
    top = 24.0 if title else 8.0
    legend = [(s.label, s.color or PALETTE[i % len(PALETTE)], s) for i, (s, _) in enumerate(data) if s.label]
    legend_texts = [_fit(label, 40) for label, _, _ in legend]
    legend_w = min(max((_text_width(t, _TICK_SIZE) for t in legend_texts), default=0.0) + 26, width * 0.4)
    right = width - 10 - (legend_w + 8 if legend else 0)
    if x_span is None or y_span is None:
        body.append(_no_data(width, top, height - top))
        return svg_data_uri(_document(width, height, title, body))
    y_ticks = [t for t in nice_ticks(*y_span) if y_span[0] - 1e-12 <= t <= y_span[1] + 1e-12] or list(y_span)
    x_ticks = [t for t in nice_ticks(*x_span) if x_span[0] - 1e-12 <= t <= x_span[1] + 1e-12] or list(x_span)
    tick_w = max(_text_width(compact_number(t), _TICK_SIZE) for t in y_ticks)
    left = 8 + _LABEL_SIZE + 6 + tick_w + 6
    bottom = height - (8 + _LABEL_SIZE + 4 + _TICK_SIZE + 6)
    plot_w, plot_h = max(right - left, 1.0), max(bottom - top, 1.0)
    (x0, x1), (y0, y1) = x_span, y_span

    def px(x: float) -> float:
        return (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return plot_h - (y - y0) / (y1 - y0) * plot_h

    # Grid, ticks and axis labels (outside the clipped plot area).
    for t in y_ticks:
        y = top + py(t)
        body.append(_line(left, y, right, y, "#eaeef2"))
        body.append(
            _text(
                left - 4, y, compact_number(t), size=_TICK_SIZE, anchor="end", fill=_MUTED, baseline="middle"
            )
        )
    for t in x_ticks:
        x = left + px(t)
        body.append(_line(x, bottom, x, bottom + 3))
        body.append(
            _text(
                x, bottom + 4 + _TICK_SIZE, compact_number(t), size=_TICK_SIZE, anchor="middle", fill=_MUTED
            )
        )
    body.append(_line(left, bottom + 0.5, right, bottom + 0.5))
    body.append(_line(left - 0.5, top, left - 0.5, bottom))
    body.append(_text((left + right) / 2, height - 6, _fit(x_label, 80, plot_w), anchor="middle"))
    body.append(
        _text(8 + _LABEL_SIZE, (top + bottom) / 2, _fit(y_label, 80, plot_h), anchor="middle", rotate=-90)
    )
    # The plot area: a viewport that clips what lies outside the ranges.
    body.append(
        f'<svg class="plot" x="{_n(left)}" y="{_n(top)}" width="{_n(plot_w)}" height="{_n(plot_h)}" '
        f'viewBox="0 0 {_n(plot_w)} {_n(plot_h)}">'
    )
    for i, (s, pairs) in enumerate(data):
        color = s.color or PALETTE[i % len(PALETTE)]
        if not pairs:
            continue
        if s.kind == "points":
            body.append(f'<g class="points" fill="{color}" fill-opacity="0.6">')
            body.extend(f'<circle cx="{_n(px(x))}" cy="{_n(py(y))}" r="2.5"/>' for x, y in pairs)
            body.append("</g>")
            continue
        coords = [(px(x), py(y)) for x, y in pairs]
        if s.kind == "step":
            stepped = [coords[0]]
            for x, y in coords[1:]:
                stepped += [(x, stepped[-1][1]), (x, y)]
            coords = stepped
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in coords)
        body.append(
            f'<polyline class="{s.kind}" points="{points}" fill="none" stroke="{color}" stroke-width="1.6"{dash}/>'
        )
    body.append("</svg>")
    # The legend, right of the plot.
    for k, ((_, color, s), text) in enumerate(zip(legend, legend_texts, strict=True)):
        y = top + 6 + k * 15
        lx = right + 12
        if s.kind == "points":
            body.append(f'<circle cx="{_n(lx + 7)}" cy="{_n(y)}" r="3" fill="{color}"/>')
        else:
            dash = ' stroke-dasharray="5 4"' if s.dashed else ""
            body.append(
                f'<line x1="{_n(lx)}" y1="{_n(y)}" x2="{_n(lx + 14)}" y2="{_n(y)}" stroke="{color}" '
                f'stroke-width="2"{dash}/>'
            )
        body.append(
            _text(lx + 20, y, _fit(text, 40, legend_w - 22, _TICK_SIZE), size=_TICK_SIZE, baseline="middle")
        )
    return svg_data_uri(_document(width, height, title, body))


def sequential_color(share: Any) -> str:
    """White (0) to dark blue (1), the confusion matrix's scale; grey when missing.

    >>> sequential_color(0), sequential_color(1), sequential_color(None)
    ('#f7fbff', '#08306b', '#c8c8c8')
    """
    x = _finite(share)
    if x is None:
        return MISSING_COLOR
    x = min(1.0, max(0.0, x))
    lo, hi = (0xF7, 0xFB, 0xFF), (0x08, 0x30, 0x6B)
    return _hex(tuple(round(a + (b - a) * x) for a, b in zip(lo, hi, strict=True)))


def confusion_matrix(
    names: Sequence[Any],
    matrix: Sequence[Sequence[Any]] | np.ndarray,
    *,
    title: str = "Confusion matrix",
    label_limit: int = 18,
    show_values: bool | None = None,
) -> str:
    """Counts of actual (rows) against predicted (columns) classes, shaded by count, as a data URI.

    Counts are printed in the cells when there are at most 15 classes (or as
    ``show_values`` says); the darkest cell is the largest count.
    """
    names = list(names)
    n = len(names)
    if n == 0:
        return svg_data_uri(_document(240, 80, title, [*_title_lines(title, 240), _no_data(240, 22, 58)]))
    if show_values is None:
        show_values = n <= 15
    rows = [list(row) for row in matrix]
    values = [[_finite(row[j]) if j < len(row) else None for j in range(n)] for row in rows[:n]]
    values += [[None] * n for _ in range(n - len(values))]
    peak = max((v for row in values for v in row if v is not None), default=0.0)
    cell = max(14.0, min(44.0, 480.0 / n))
    size = max(7.0, min(_LABEL_SIZE, cell * 0.7))
    labels = [_fit(name, label_limit) for name in names]
    label_w = max(_text_width(t, size) for t in labels) + 6
    top = 28.0 if title else 8.0
    left = 8.0 + _LABEL_SIZE + 6 + label_w
    grid = n * cell
    width = left + grid + 16
    height = top + grid + label_w + 8 + _LABEL_SIZE + 6
    body = _title_lines(title, width)
    for i in range(n):
        for j in range(n):
            value = values[i][j]
            share = value / peak if value is not None and peak > 0 else (0.0 if value is not None else None)
            x, y = left + j * cell, top + i * cell
            body.append(_rect(x, y, cell, cell, sequential_color(share), "cell"))
            if show_values and value is not None:
                ink = "#ffffff" if share is not None and share > 0.5 else _TEXT
                body.append(
                    _text(
                        x + cell / 2,
                        y + cell / 2,
                        compact_number(value),
                        size=min(11.0, cell * 0.32),
                        anchor="middle",
                        fill=ink,
                        baseline="central",
                    )
                )
    body.append(
        f'<rect x="{_n(left)}" y="{_n(top)}" width="{_n(grid)}" height="{_n(grid)}" fill="none" '
        f'stroke="{_AXIS}" stroke-width="1"/>'
    )
    for k, label in enumerate(labels):
        middle = k * cell + cell / 2
        body.append(_text(left - 4, top + middle, label, size=size, anchor="end", baseline="central"))
        body.append(
            _text(
                left + middle, top + grid + 4, label, size=size, anchor="end", baseline="central", rotate=-90
            )
        )
    body.append(_text(left + grid / 2, height - 6, "predicted", anchor="middle", fill=_MUTED))
    body.append(_text(8 + _LABEL_SIZE, top + grid / 2, "actual", anchor="middle", fill=_MUTED, rotate=-90))
    return svg_data_uri(_document(width, height, title, body))


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
    vals = [_finite(v) for v in values][: len(labels)]
    vals += [None] * (len(labels) - len(vals))
    errs = [_finite(e) for e in (errors or [])][: len(labels)]
    errs += [None] * (len(labels) - len(errs))
    top = 24.0 if title else 8.0
    slot = 18.0
    height = top + slot * max(len(labels), 1) + 8 + _TICK_SIZE + 6 + _LABEL_SIZE + 8
    body = _title_lines(title, width)
    if not labels:
        body.append(_no_data(width, top, height - top))
        return svg_data_uri(_document(width, height, title, body))
    texts = [_fit(label, label_limit) for label in labels]
    label_w = min(max(_text_width(t, _LABEL_SIZE) for t in texts), width * 0.4)
    texts = [_fit(t, label_limit, label_w) for t in texts]
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
        body.append(_line(px(t), top, px(t), bottom, "#eaeef2"))
        body.append(
            _text(
                px(t),
                bottom + 4 + _TICK_SIZE,
                compact_number(t),
                size=_TICK_SIZE,
                anchor="middle",
                fill=_MUTED,
            )
        )
    body.append(_line(px(0.0), top, px(0.0), bottom))
    for i, (text, v, e) in enumerate(zip(texts, vals, errs, strict=True)):
        middle = top + (i + 0.5) * slot
        body.append(_text(left - 6, middle, text, anchor="end", baseline="middle"))
        if v is None:
            continue
        x0, x1 = sorted((px(0.0), px(v)))
        body.append(_rect(x0, middle - slot * 0.35, x1 - x0, slot * 0.7, color, "bar"))
        if e:
            a, b = px(v - abs(e)), px(v + abs(e))
            body.append(
                f'<g class="error">{_line(a, middle, b, middle, _TEXT)}{_line(a, middle - 3, a, middle + 3, _TEXT)}{_line(b, middle - 3, b, middle + 3, _TEXT)}</g>'
            )
    body.append(_text((left + right) / 2, height - 8, _fit(x_label, 90, plot_w), anchor="middle"))
    return svg_data_uri(_document(width, height, title, body))
