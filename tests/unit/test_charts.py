"""charts: hand-built SVG charts for the EDA report are well-formed, escaped and finite."""

from __future__ import annotations

import base64
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from automl_lite import charts
from automl_lite.charts import BarPanel, HistogramPanel

SVG = "{http://www.w3.org/2000/svg}"
PREFIX = "data:image/svg+xml;base64,"
HOSTILE = [
    "<script>alert(1)</script>",
    "a & b",
    "\"quoted\" 'single'",
    "$x$ \\frac{1}{2}",
    "caf\u00e9 \U0001f427\u200d\u2b1b \u6f22\u5b57",
    "]]> <!-- -->",
]


def _svg(uri: str) -> bytes:
    assert uri.startswith(PREFIX)
    return base64.b64decode(uri[len(PREFIX) :], validate=True)


def _parse(uri: str) -> ET.Element:
    root = ET.fromstring(_svg(uri))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") and "sans-serif" in (root.get("font-family") or "")
    title = root.find(f"{SVG}title")
    assert title is not None and title.text
    _assert_finite(root)
    return root


def _assert_finite(root: ET.Element) -> None:
    """Every numeric attribute is a finite number (no nan/inf leaks into the drawing)."""
    for element in root.iter():
        for name in ("x", "y", "x1", "y1", "x2", "y2", "width", "height", "font-size"):
            value = element.get(name)
            if value is not None and not value.endswith("%"):
                assert math.isfinite(float(value)), (element.tag, name, value)
        assert "nan" not in (element.get("transform") or "").lower()


def _bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


# --------------------------------------------------------------------------- histograms
def test_histogram_draws_one_bar_per_bin_with_axis_labels():
    counts, edges = np.histogram(np.random.default_rng(0).normal(size=1000), bins=20)
    root = _parse(charts.histogram(edges.tolist(), counts.tolist(), title="normal"))
    bars = _bars(root)
    assert len(bars) == 20
    assert {b.get("fill") for b in bars} == {charts.HISTOGRAM_COLOR}
    texts = _texts(root)
    assert "normal" in texts
    assert charts.compact_number(edges[0]) in texts and charts.compact_number(edges[-1]) in texts
    assert charts.compact_number(counts.max()) in texts
    # The tallest bar is the tallest rect.
    heights = [float(b.get("height")) for b in bars]
    assert heights.index(max(heights)) == int(np.argmax(counts))


@pytest.mark.parametrize(
    ("edges", "counts", "bars"),
    [
        ([], [], 0),  # an empty column
        ([5.0, 6.0], [10], 1),  # a single bin
        ([0.0, 1.0, 2.0, 3.0], [0, 0, 0], 3),  # all-zero counts (zero-height bars)
        ([7.0, 7.0], [3], 1),  # a zero-width range
        ([0.0, 1.0, 2.0], [None, float("nan")], 0),  # missing counts are not drawn
        ([0.0, float("inf"), 2.0], [1, 2], 0),  # non-finite edges: nothing drawn
        ([0.0, None, 2.0], [1, 2], 0),
        ([0.0, 1.0], [1, 2, 3], 0),  # mismatched lengths
        ([-1e308, 1e308], [4], 0),  # the span overflows
        ([0.0, 1e-9, 2e-9], [1, 2], 2),
    ],
)
def test_histogram_degenerate_inputs_stay_valid(edges, counts, bars):
    assert len(_bars(_parse(charts.histogram(edges, counts, title="t")))) == bars


def test_compact_number():
    assert charts.compact_number(2013.0) == "2013"
    assert charts.compact_number(1234.5) == "1234"
    assert charts.compact_number(12345) == "12.3k"
    assert charts.compact_number(999_999) == "1M"
    assert charts.compact_number(0.0000345) == "3.4e-05"
    assert charts.compact_number(-0.5) == "-0.5"
    assert charts.compact_number(0) == "0"
    for missing in (None, float("nan"), float("inf"), "x"):
        assert charts.compact_number(missing) == ""


# --------------------------------------------------------------------------- bar charts
def test_bar_chart_draws_one_bar_per_category_with_counts():
    labels, counts = ["Biscoe", "Dream", "Torgersen"], [168, 124, 52]
    root = _parse(charts.bar_chart(labels, counts, title="island"))
    bars = _bars(root)
    assert len(bars) == 3 and {b.get("fill") for b in bars} == {charts.BAR_COLOR}
    widths = [float(b.get("width")) for b in bars]
    assert widths == sorted(widths, reverse=True)  # drawn top to bottom, in order
    texts = _texts(root)
    assert all(label in texts for label in labels) and "168" in texts and "52" in texts


def test_bar_chart_truncates_long_labels_with_an_ellipsis():
    long = "x" * 200
    root = _parse(charts.bar_chart([long, "short"], [2, 1], label_limit=30))
    shown = [t for t in _texts(root) if t.startswith("x")]
    assert len(shown) == 1 and shown[0].endswith("\u2026") and len(shown[0]) <= 30


@pytest.mark.parametrize(
    ("labels", "counts", "bars"),
    [
        ([], [], 0),
        (["a", "b"], [0, 0], 2),
        (["a", "b", "c"], [1, None, float("inf")], 1),
        (["a", "b"], [1], 1),  # fewer counts than labels
    ],
)
def test_bar_chart_degenerate_inputs_stay_valid(labels, counts, bars):
    assert len(_bars(_parse(charts.bar_chart(labels, counts, title="t")))) == bars


# --------------------------------------------------------------------------- escaping
@pytest.mark.parametrize("hostile", HOSTILE)
def test_user_strings_are_escaped_and_round_trip(hostile):
    uris = [
        charts.histogram([0, 1, 2], [1, 2], title=hostile),
        charts.bar_chart([hostile, "ok"], [2, 1], title=hostile),
        charts.heatmap([hostile, "b"], [[1.0, 0.5], [0.5, 1.0]], title=hostile),
        charts.small_multiples(
            [HistogramPanel(hostile, [0, 1], [3]), BarPanel("c", [hostile], [1])], 2, title=hostile
        ),
    ]
    for uri in uris:
        raw = _svg(uri).decode("utf-8")
        assert "<script" not in raw
        root = _parse(uri)
        texts = [*_texts(root), root.find(f"{SVG}title").text]
        assert hostile in texts


def test_strings_xml_cannot_hold_are_replaced():
    nasty = "a\x00b\x1bc\ud800d\ufffe"
    root = _parse(charts.bar_chart([nasty], [1], title=nasty))
    assert "a\ufffdb\ufffdc\ufffdd\ufffd" in _texts(root)


def test_labels_and_values_of_any_type_are_shown_as_text():
    root = _parse(charts.bar_chart([1.5, None, True], [3, 2, 1]))
    assert {"1.5", "None", "True"} <= set(_texts(root))


# --------------------------------------------------------------------------- heatmap
def test_diverging_colors():
    assert charts.diverging_color(1) == "#67001f"  # dark red
    assert charts.diverging_color(0) == "#ffffff"  # white
    assert charts.diverging_color(-1) == "#053061"  # dark blue
    assert charts.diverging_color(5) == charts.diverging_color(1)  # clamped
    for missing in (None, float("nan"), float("inf"), "x"):
        assert charts.diverging_color(missing) == charts.MISSING_COLOR
    red, green, blue = (int(charts.diverging_color(0.5)[i : i + 2], 16) for i in (1, 3, 5))
    assert red > blue and red > green  # positive is red
    red, green, blue = (int(charts.diverging_color(-0.5)[i : i + 2], 16) for i in (1, 3, 5))
    assert blue > red  # negative is blue


def test_heatmap_colours_cells_and_prints_values_when_small():
    names = ["a", "b", "c"]
    matrix = [[1.0, 0.0, -1.0], [0.0, 1.0, None], [-1.0, float("nan"), 1.0]]
    root = _parse(charts.heatmap(names, matrix))
    cells = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "cell"]
    assert len(cells) == 9
    fills = [c.get("fill") for c in cells]
    assert fills[0] == "#67001f" and fills[1] == "#ffffff" and fills[2] == "#053061"
    assert fills[5] == fills[7] == charts.MISSING_COLOR
    texts = _texts(root)
    assert texts.count("1.00") == 3 and texts.count("-1.00") == 2 and texts.count("0.00") == 2
    assert "nan" not in " ".join(texts).lower()
    # Row and column labels (columns rotated), and a legend.
    assert texts.count("a") == 2
    assert any("rotate(-90" in (t.get("transform") or "") for t in root.iter(f"{SVG}text"))
    assert root.find(f".//{SVG}linearGradient") is not None


def test_heatmap_hides_values_when_large_and_survives_ragged_input():
    names = [f"column_{i}" for i in range(20)]
    root = _parse(charts.heatmap(names, np.eye(20)))
    assert "1.00" not in _texts(root)
    ragged = _parse(charts.heatmap(["a", "b", "c"], [[1.0], []]))
    cells = [r.get("fill") for r in ragged.iter(f"{SVG}rect") if r.get("class") == "cell"]
    assert len(cells) == 9 and cells.count(charts.MISSING_COLOR) == 8


def test_empty_heatmap_is_a_valid_svg():
    root = _parse(charts.heatmap([], []))
    assert "no data" in _texts(root)


# --------------------------------------------------------------------------- small multiples
def test_small_multiples_lays_panels_out_in_a_grid():
    panels = [HistogramPanel(f"h{i}", [0, 1, 2, 3], [1, 2, 3]) for i in range(5)]
    panels += [BarPanel("cat", ["x", "y"], [5, 1])]
    root = _parse(charts.small_multiples(panels, 4, panel_width=200, panel_height=100))
    nested = root.findall(f"{SVG}svg")
    assert len(nested) == 6  # one clipping viewport per panel
    assert len({(p.get("x"), p.get("y")) for p in nested}) == 6
    assert len({p.get("y") for p in nested}) == 2  # 4 + 2: two rows
    assert len(_bars(root)) == 5 * 3 + 2
    assert float(root.get("width")) == pytest.approx(4 * 200 + 5 * 8)


def test_empty_small_multiples_is_a_valid_svg():
    root = _parse(charts.small_multiples([], 4))
    assert root.findall(f"{SVG}svg") == [] and "no data" in _texts(root)


def test_charts_are_small_and_fast():
    panels = [HistogramPanel(f"col {i}", list(range(21)), list(range(20))) for i in range(24)]
    uri = charts.small_multiples(panels, 4)
    assert len(uri) < 100_000
    assert not re.search(r"\d\.\d{2,}", _svg(uri).decode())  # coordinates rounded to 0.1 px


def test_profiling_report_never_imports_matplotlib():
    code = (
        "import sys\n"
        "import pandas as pd\n"
        "from automl_lite.profile import profile_frame, render_eda_report\n"
        "frame = pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0] * 10, 'c': list('abcd') * 10,"
        " 'z': [4.0, 1.0, 3.0, 2.0] * 10, 'y': list('ab') * 20})\n"
        "html = render_eda_report(profile_frame(frame, target='y'), title='t')\n"
        "assert 'data:image/svg+xml;base64,' in html\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
