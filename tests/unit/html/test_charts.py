"""charts: hand-built SVG charts for the EDA report are well-formed, escaped and finite."""

from __future__ import annotations

import base64
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from automl_lite.html import charts
from automl_lite.html.charts import BarPanel, HistogramPanel

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


# --------------------------------------------------------------------------- the training report's charts
def _plot(root: ET.Element) -> ET.Element:
    (plot,) = [s for s in root.findall(f"{SVG}svg") if s.get("class") == "plot"]
    return plot


def _polyline_points(line: ET.Element) -> list[tuple[float, float]]:
    return [tuple(float(v) for v in p.split(",")) for p in (line.get("points") or "").split()]  # type: ignore[misc]


def test_nice_ticks_are_round_and_cover_the_range():
    assert charts.nice_ticks(0, 1) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert charts.nice_ticks(0, 97) == [0, 20, 40, 60, 80]
    assert charts.nice_ticks(-3.2, 4.1) == [-2, 0, 2, 4]
    assert charts.nice_ticks(5, 5) == [4.6, 4.8, 5.0, 5.2, 5.4]
    assert charts.nice_ticks(0, float("nan")) == []


def test_xy_chart_draws_lines_points_steps_and_a_legend():
    uri = charts.xy_chart(
        [
            charts.Series("class a (AUC 0.900)", [0, 0.1, 1], [0, 0.8, 1]),
            charts.Series("trials", [1, 2, 3, 4], [0.5, 0.4, 0.45, 0.3], kind="points"),
            charts.Series("best so far", [1, 2, 4], [0.5, 0.4, 0.3], kind="step"),
            charts.Series("", [0, 1], [0, 1], color=charts.REFERENCE_COLOR, dashed=True),
        ],
        title="ROC curve",
        x_label="false positive rate",
        y_label="true positive rate",
    )
    root = _parse(uri)
    plot = _plot(root)
    lines = {line.get("class"): line for line in plot.iter(f"{SVG}polyline")}
    assert len(list(plot.iter(f"{SVG}polyline"))) == 3
    assert len(_polyline_points(lines["step"])) == 2 * 3 - 1  # a riser and a tread per later point
    assert len(list(plot.iter(f"{SVG}circle"))) == 4
    dashed = [p for p in plot.iter(f"{SVG}polyline") if p.get("stroke-dasharray")]
    assert len(dashed) == 1 and dashed[0].get("stroke") == charts.REFERENCE_COLOR
    texts = _texts(root)
    # The legend names the labelled series only, and the axes are labelled with round ticks.
    assert {"class a (AUC 0.900)", "trials", "best so far"} <= set(texts) and "" not in texts
    assert {"false positive rate", "true positive rate", "ROC curve", "0", "1"} <= set(texts)
    # Points are placed in the plot area's own coordinates: x=1 (of 0..4) is a quarter across.
    width = float(plot.get("width"))
    xs = sorted(float(c.get("cx")) for c in plot.iter(f"{SVG}circle"))
    assert xs[0] == pytest.approx(width / 4, abs=0.1) and xs[-1] == pytest.approx(width, abs=0.1)


def test_xy_chart_fixed_range_clips_in_the_plot_viewport_and_skips_non_finite():
    root = _parse(
        charts.xy_chart(
            [
                charts.Series(
                    "loss", [0, 1, 2, 3, 4], [1.0, float("nan"), 50.0, float("inf"), 0.5], kind="points"
                )
            ],
            title="t",
            x_label="x",
            y_label="y",
            y_range=(None, 2.0),
        )
    )
    plot = _plot(root)
    assert plot.get("viewBox") == f"0 0 {plot.get('width')} {plot.get('height')}"  # a clipping viewport
    circles = list(plot.iter(f"{SVG}circle"))
    assert len(circles) == 3  # nan and inf skipped
    outside = [c for c in circles if float(c.get("cy")) < 0]
    assert len(outside) == 1  # 50 lies above the fixed top: drawn outside the viewport, clipped
    assert max(t for t in (float(x) for x in _texts(root) if re.fullmatch(r"-?[\d.]+", x))) <= 4


def test_xy_chart_thins_long_series_and_survives_empty_input():
    n = charts.MAX_POINTS * 5
    root = _parse(
        charts.xy_chart([charts.Series("a", range(n), range(n))], title="t", x_label="x", y_label="y")
    )
    (line,) = _plot(root).iter(f"{SVG}polyline")
    points = _polyline_points(line)
    assert len(points) == charts.MAX_POINTS and points[-1][0] == pytest.approx(
        float(_plot(root).get("width"))
    )
    empty = _parse(charts.xy_chart([charts.Series("a", [], [])], title="t", x_label="x", y_label="y"))
    assert "no data" in _texts(empty)
    with pytest.raises(ValueError, match="kind"):
        charts.xy_chart([charts.Series("a", [1], [1], kind="pie")], title="t", x_label="x", y_label="y")


def test_confusion_matrix_shades_by_count_and_prints_counts():
    root = _parse(
        charts.confusion_matrix(["Adelie", "Chinstrap", "Gentoo"], [[30, 2, 0], [1, 12, 0], [0, 0, 25]])
    )
    cells = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "cell"]
    assert len(cells) == 9
    fills = [c.get("fill") for c in cells]
    assert fills[0] == charts.sequential_color(1) and fills[2] == charts.sequential_color(0)
    texts = _texts(root)
    assert [texts.count(v) for v in ("30", "12", "25", "2", "1")] == [1, 1, 1, 1, 1] and texts.count("0") == 4
    assert {"predicted", "actual"} <= set(texts) and texts.count("Gentoo") == 2


def test_confusion_matrix_hides_counts_when_large_and_survives_ragged_input():
    names = [f"class {i}" for i in range(20)]
    root = _parse(charts.confusion_matrix(names, np.eye(20, dtype=int) * 7))
    assert "7" not in _texts(root)
    ragged = _parse(charts.confusion_matrix(["a", "b"], [[3]]))
    fills = [r.get("fill") for r in ragged.iter(f"{SVG}rect") if r.get("class") == "cell"]
    assert len(fills) == 4 and fills.count(charts.MISSING_COLOR) == 3
    assert "no data" in _texts(_parse(charts.confusion_matrix([], [])))


def test_signed_bars_draw_from_zero_with_error_bars():
    root = _parse(
        charts.signed_bars(
            ["bill_length_mm", "island", "noise"],
            [0.30, 0.05, -0.02],
            [0.03, 0.01, None],
            title="t",
            x_label="drop",
        )
    )
    bars = _bars(root)
    assert len(bars) == 3
    assert len(root.findall(f".//{SVG}g[@class='error']")) == 2
    # The negative bar ends where the positive ones start: at zero.
    zero = float(bars[0].get("x"))
    assert float(bars[2].get("x")) + float(bars[2].get("width")) == pytest.approx(zero, abs=0.1)
    assert float(bars[0].get("width")) > 5 * float(bars[1].get("width"))
    assert {"bill_length_mm", "island", "noise", "drop"} <= set(_texts(root))
    assert "no data" in _texts(_parse(charts.signed_bars([], [], title="t", x_label="x")))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_training_charts_escape_user_strings(hostile):
    uris = [
        charts.xy_chart(
            [charts.Series(hostile, [0, 1], [0, 1])], title=hostile, x_label=hostile, y_label="y"
        ),
        charts.confusion_matrix([hostile, "b"], [[1, 0], [0, 1]], title=hostile),
        charts.signed_bars([hostile], [0.1], [0.01], title=hostile, x_label="x"),
    ]
    for uri in uris:
        assert "<script" not in _svg(uri).decode("utf-8")
        root = _parse(uri)
        assert hostile in [*_texts(root), root.find(f"{SVG}title").text]


@pytest.mark.slow
def test_training_report_draws_svg_only_and_never_imports_matplotlib():
    code = (
        "import sys, base64, xml.etree.ElementTree as ET, re\n"
        "sys.modules['matplotlib'] = None  # importing it would fail\n"
        "import pandas as pd\n"
        "from automl_lite.train import train\n"
        "from automl_lite.train._report import render_training_report\n"
        "frame = pd.read_csv('examples/penguins/penguins.csv').dropna()\n"
        "decisions = [{'name': c, 'kind': 'categorical' if frame[c].dtype == object else 'numeric', 'use': True,"
        " 'reason': 't'} for c in frame.columns if c not in ('species', 'year')]\n"
        "for target, problem, metric in (('species', 'multiclass', 'log_loss'), ('body_mass_g', 'regression', 'rmse')):\n"
        "    used = [d for d in decisions if d['name'] != target] + ([{'name': 'species', 'kind': 'categorical',"
        " 'use': True, 'reason': 't'}] if target != 'species' else [])\n"
        "    outcome = train(frame, target=target, problem_type=problem, metric=metric, decisions=used,"
        " time_budget_s=1, estimators=['lgbm'], ensemble=False)\n"
        "    html = render_training_report(outcome)\n"
        '    uris = re.findall(r\'src="(data:[^"]+)"\', html)\n'
        "    assert len(uris) >= 3, len(uris)\n"
        "    for uri in uris:\n"
        "        assert uri.startswith('data:image/svg+xml;base64,'), uri[:40]\n"
        "        ET.fromstring(base64.b64decode(uri.split(',', 1)[1]))\n"
        "    print(target, len(uris))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[3],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [
        "species",
        "6",
        "body_mass_g",
        "5",
    ]  # + the uncertainty figure (issue 25)
