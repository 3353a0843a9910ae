"""Square matrices of coloured cells: the EDA report's correlation heatmap (diverging scale)
and the training report's confusion matrix (sequential scale)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from automl_lite.html.charts._svg import (
    AXIS,
    LABEL_SIZE,
    MISSING_COLOR,
    MUTED,
    TEXT,
    TICK_SIZE,
    compact_number,
    document,
    finite,
    fit,
    format_number,
    hex_colour,
    mix,
    no_data,
    rect,
    svg_data_uri,
    svg_text,
    text_width,
    title_lines,
)

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


def _cell(
    body: list[str], x: float, y: float, cell: float, color: str, shown: str | None, size: float, dark: bool
) -> None:
    """One square of a matrix chart, with its value written in it (white on a dark square) when shown."""
    body.append(rect(x, y, cell, cell, color, "cell"))
    if shown is not None:
        body.append(
            svg_text(
                x + cell / 2,
                y + cell / 2,
                shown,
                size=size,
                anchor="middle",
                fill="#ffffff" if dark else TEXT,
                baseline="central",
            )
        )


def _frame(
    body: list[str], left: float, top: float, grid: float, cell: float, labels: list[str], size: float
) -> None:
    """The border of a square matrix and its row labels (left) and column labels (below, turned)."""
    body.append(
        f'<rect x="{format_number(left)}" y="{format_number(top)}" width="{format_number(grid)}" height="{format_number(grid)}" fill="none" '
        f'stroke="{AXIS}" stroke-width="1"/>'
    )
    for k, label in enumerate(labels):
        middle = k * cell + cell / 2
        body.append(svg_text(left - 4, top + middle, label, size=size, anchor="end", baseline="central"))
        body.append(
            svg_text(
                left + middle, top + grid + 4, label, size=size, anchor="end", baseline="central", rotate=-90
            )
        )


def diverging_color(value: Any) -> str:
    """The heatmap colour of a correlation: blue (-1), white (0), red (+1); grey when missing.

    >>> diverging_color(1), diverging_color(0), diverging_color(-1), diverging_color(None)
    ('#67001f', '#ffffff', '#053061', '#c8c8c8')
    """
    x = finite(value)
    if x is None:
        return MISSING_COLOR
    x = min(1.0, max(-1.0, x))
    for (v0, c0), (v1, c1) in zip(_DIVERGING, _DIVERGING[1:], strict=False):
        if x <= v1:
            t = (x - v0) / (v1 - v0)
            return mix(c0, c1, t)
    return hex_colour(_DIVERGING[-1][1])  # pragma: no cover - x <= 1 always matches


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
        return svg_data_uri(document(240, 80, title, [*title_lines(title, 240), no_data(240, 22, 58)]))
    if show_values is None:
        show_values = n <= 12
    rows = [list(row) for row in matrix]
    cell = max(14.0, min(44.0, 480.0 / n))
    size = max(7.0, min(LABEL_SIZE, cell * 0.7))
    labels = [fit(name, label_limit) for name in names]
    label_w = max(text_width(t, size) for t in labels) + 6
    top = 28.0 if title else 8.0
    left = 8.0 + label_w
    grid = n * cell
    legend_x = left + grid + 16
    width = legend_x + 12 + 34
    height = top + grid + label_w + 8
    body = title_lines(title, width)
    value_size = min(11.0, cell * 0.3)
    for i in range(n):
        row = rows[i] if i < len(rows) else []
        for j in range(n):
            value = finite(row[j]) if j < len(row) else None
            x, y = left + j * cell, top + i * cell
            shown = f"{value:.2f}" if show_values and value is not None else None
            dark = value is not None and abs(value) > 0.5
            _cell(body, x, y, cell, diverging_color(value), shown, value_size, dark)
    _frame(body, left, top, grid, cell, labels, size)
    # The colour legend: a vertical gradient from +1 (top) to -1 (bottom).
    legend_h = min(grid, 200.0)
    stops = "".join(
        f'<stop offset="{format_number((1 - v) / 2 * 100)}%" stop-color="{hex_colour(rgb)}"/>'
        for v, rgb in reversed(_DIVERGING)
    )
    body.append(
        f'<defs><linearGradient id="scale" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient></defs>'
    )
    body.append(
        f'<rect x="{format_number(legend_x)}" y="{format_number(top)}" width="12" height="{format_number(legend_h)}" fill="url(#scale)" '
        f'stroke="{AXIS}" stroke-width="0.5"/>'
    )
    for value, text in ((1.0, "+1"), (0.0, "0"), (-1.0, "\u22121")):
        y = top + (1 - value) / 2 * legend_h
        body.append(svg_text(legend_x + 16, y, text, size=TICK_SIZE, fill=MUTED, baseline="central"))
    return svg_data_uri(document(width, height, title, body))


def sequential_color(share: Any) -> str:
    """White (0) to dark blue (1), the confusion matrix's scale; grey when missing.

    >>> sequential_color(0), sequential_color(1), sequential_color(None)
    ('#f7fbff', '#08306b', '#c8c8c8')
    """
    x = finite(share)
    if x is None:
        return MISSING_COLOR
    x = min(1.0, max(0.0, x))
    lo, hi = (0xF7, 0xFB, 0xFF), (0x08, 0x30, 0x6B)
    return mix(lo, hi, x)


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
        return svg_data_uri(document(240, 80, title, [*title_lines(title, 240), no_data(240, 22, 58)]))
    if show_values is None:
        show_values = n <= 15
    rows = [list(row) for row in matrix]
    values = [[finite(row[j]) if j < len(row) else None for j in range(n)] for row in rows[:n]]
    values += [[None] * n for _ in range(n - len(values))]
    peak = max((v for row in values for v in row if v is not None), default=0.0)
    cell = max(14.0, min(44.0, 480.0 / n))
    size = max(7.0, min(LABEL_SIZE, cell * 0.7))
    labels = [fit(name, label_limit) for name in names]
    label_w = max(text_width(t, size) for t in labels) + 6
    top = 28.0 if title else 8.0
    left = 8.0 + LABEL_SIZE + 6 + label_w
    grid = n * cell
    width = left + grid + 16
    height = top + grid + label_w + 8 + LABEL_SIZE + 6
    body = title_lines(title, width)
    for i in range(n):
        for j in range(n):
            value = values[i][j]
            share = value / peak if value is not None and peak > 0 else (0.0 if value is not None else None)
            x, y = left + j * cell, top + i * cell
            shown = compact_number(value) if show_values and value is not None else None
            dark = share is not None and share > 0.5
            _cell(body, x, y, cell, sequential_color(share), shown, min(11.0, cell * 0.32), dark)
    _frame(body, left, top, grid, cell, labels, size)
    body.append(svg_text(left + grid / 2, height - 6, "predicted", anchor="middle", fill=MUTED))
    body.append(svg_text(8 + LABEL_SIZE, top + grid / 2, "actual", anchor="middle", fill=MUTED, rotate=-90))
    return svg_data_uri(document(width, height, title, body))
