"""SVG primitives shared by every chart: constants, finite numbers, escaped and fitted text,
shapes, whole documents and data URIs, round tick values and the titles of panels."""

from __future__ import annotations

import base64
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

#: Bars of histograms (and of the target's classes).
HISTOGRAM_COLOR = "#4c72b0"
#: Bars of categorical columns' most frequent values.
BAR_COLOR = "#55a868"
#: Heatmap cells without a value (a constant column, too few rows).
MISSING_COLOR = "#c8c8c8"

TEXT = "#1f2328"
MUTED = "#59636e"
AXIS = "#8c959f"
_FONT = "Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif"
_TITLE_SIZE = 12.0
LABEL_SIZE = 10.0
TICK_SIZE = 9.0

# Characters XML 1.0 cannot hold (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ELLIPSIS = "\u2026"


# ---------------------------------------------------------------------------------------
# Values and text
# ---------------------------------------------------------------------------------------
def finite(value: Any) -> float | None:
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
    x = finite(value)
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


def text_width(text: str, size: float) -> float:
    return sum(_char_width(ch) for ch in text) * size


def fit(text: Any, limit: int, max_width: float | None = None, size: float = LABEL_SIZE) -> str:
    """``text`` cut to ``limit`` characters and (roughly) ``max_width`` pixels, with an ellipsis."""
    out = _clean(text)
    if len(out) > limit:
        out = out[: max(limit - 1, 0)] + _ELLIPSIS
    if max_width is None or text_width(out, size) <= max_width:
        return out
    budget = max_width - _char_width(_ELLIPSIS) * size
    width = 0.0
    for i, ch in enumerate(out):
        width += _char_width(ch) * size
        if width > budget:
            return out[:i] + _ELLIPSIS
    return out


def format_number(value: float) -> str:
    """A coordinate for an attribute (always finite: callers only pass computed positions)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def svg_text(
    x: float,
    y: float,
    text: str,
    *,
    size: float = LABEL_SIZE,
    anchor: str = "start",
    fill: str | None = None,
    bold: bool = False,
    rotate: float | None = None,
    baseline: str | None = None,
) -> str:
    attrs = [f'x="{format_number(x)}"', f'y="{format_number(y)}"']
    if size != LABEL_SIZE:
        attrs.append(f'font-size="{format_number(size)}"')
    if anchor != "start":
        attrs.append(f'text-anchor="{anchor}"')
    if fill:
        attrs.append(f'fill="{fill}"')
    if bold:
        attrs.append('font-weight="bold"')
    if baseline:
        attrs.append(f'dominant-baseline="{baseline}"')
    if rotate is not None:
        attrs.append(f'transform="rotate({format_number(rotate)} {format_number(x)} {format_number(y)})"')
    return f"<text {' '.join(attrs)}>{_esc(text)}</text>"


def rect(x: float, y: float, w: float, h: float, fill: str, cls: str | None = None) -> str:
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<rect{klass} x="{format_number(x)}" y="{format_number(y)}" width="{format_number(max(w, 0.0))}" height="{format_number(max(h, 0.0))}" '
        f'fill="{fill}"/>'
    )


def line(x1: float, y1: float, x2: float, y2: float, stroke: str = AXIS) -> str:
    return (
        f'<line x1="{format_number(x1)}" y1="{format_number(y1)}" x2="{format_number(x2)}" y2="{format_number(y2)}" stroke="{stroke}" '
        'stroke-width="1" shape-rendering="crispEdges"/>'
    )


def document(width: float, height: float, title: str, body: Sequence[str]) -> str:
    """A whole SVG document: white background, ``<title>`` for assistive technology."""
    w, h = format_number(max(width, 1.0)), format_number(max(height, 1.0))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" font-family="{_FONT}" font-size="{format_number(LABEL_SIZE)}" fill="{TEXT}">'
        f"<title>{_esc(_clean(title))}</title>"
        f'<rect width="100%" height="100%" fill="#ffffff"/>' + "".join(body) + "</svg>"
    )


def svg_data_uri(svg: str) -> str:
    """An SVG document as a ``data:image/svg+xml;base64,...`` URI for a report's ``<img>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def title_lines(title: str, width: float) -> list[str]:
    if not title:
        return []
    text = fit(title, 120, width - 8, _TITLE_SIZE)
    return [svg_text(width / 2, 14, text, size=_TITLE_SIZE, anchor="middle", bold=True)]


def no_data(width: float, top: float, height: float) -> str:
    return svg_text(width / 2, top + height / 2, "no data", anchor="middle", fill=MUTED, baseline="middle")


def hex_colour(rgb: tuple[int, ...]) -> str:
    return "#" + "".join(f"{channel:02x}" for channel in rgb)


def mix(c0: tuple[int, ...], c1: tuple[int, ...], t: float) -> str:
    """The colour ``t`` of the way from ``c0`` to ``c1`` (0 <= t <= 1), as ``#rrggbb``."""
    return hex_colour(tuple(round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True)))


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
