"""Hostile column names and cell values go through a whole run and come out inert.

HTML reports escape every value; CSV outputs neutralise spreadsheet formulas; the
model still trains, exports and predicts with the names as given.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from automl_lite import layout
from automl_lite.local import LocalEngine
from automl_lite.model.predict import predict_file

pytestmark = pytest.mark.slow

SCRIPT = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'
FORMULA_COLUMN = '=HYPERLINK("http://example.invalid","click")'
FORMULA_PREFIXES = ("=", "+", "-", "@")
LINK_COLUMN = "[x](javascript:alert(1))"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, penguins_csv):
    frame = pd.read_csv(penguins_csv).rename(
        columns={"island": SCRIPT, "bill_length_mm": FORMULA_COLUMN, "bill_depth_mm": LINK_COLUMN}
    )
    frame["sex"] = frame["sex"].map({"male": IMG, "female": "@SUM(A1:A9)"})
    frame["species"] = frame["species"].map(
        {"Adelie": "=Adelie()", "Gentoo": "+Gentoo", "Chinstrap": "Chinstrap"}
    )
    data = frame.to_csv(index=False).encode()
    work = tmp_path_factory.mktemp("hostile")
    with LocalEngine(work_dir=work / "engine") as engine:
        manifest = {
            "dataset": "data.csv",
            "target": "species",
            "time_budget_s": 5,
            "estimators": ["lgbm", "rf"],
        }
        result = engine.wait(engine.submit(manifest, {"data.csv": data}, name="hostile"), timeout_s=300)
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        run_dir = engine.collect(result, work / "run")
    (work / "data.csv").write_bytes(data)
    return run_dir, work / "data.csv"


@pytest.mark.parametrize("report", [layout.EDA_REPORT, layout.TRAINING_REPORT])
def test_reports_escape_every_hostile_value(hostile_run, report):
    run_dir, _ = hostile_run
    html = (run_dir / report).read_text()
    for raw in (SCRIPT, IMG, "<script", "<img src=x"):
        assert raw not in html, f"{raw!r} unescaped in {report}"
    # Pictures are the only images, and they are embedded (self-contained pages): SVG charts
    # (automl_lite/html/charts.py) in both reports.
    embedded = "data:image/svg+xml;base64,"
    tags = _img_tags(html)
    assert tags and all(tag.startswith(f'<img src="{embedded}') for tag in tags)
    assert "&lt;script&gt;" in html


def _cells(path):
    with open(path, newline="") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def test_leaderboard_csv_has_no_live_formulas(hostile_run):
    run_dir, _ = hostile_run
    cells = _cells(run_dir / layout.TRAINING_LEADERBOARD)
    assert cells and not [c for c in cells if c.startswith(FORMULA_PREFIXES) and not _is_number(c)]


def test_predictions_csv_has_no_live_formulas_and_keeps_the_class_names(hostile_run, tmp_path):
    run_dir, data = hostile_run
    out = tmp_path / "predictions.csv"
    report = predict_file(run_dir, data, out)
    assert report.rows_scored == report.rows_read == 344
    cells = _cells(out)
    assert not [c for c in cells if c.startswith(FORMULA_PREFIXES) and not _is_number(c)]
    # The names survive, quoted so a spreadsheet shows them as text.
    predicted = set(pd.read_csv(out)["prediction"])
    assert predicted <= {"'=Adelie()", "'+Gentoo", "Chinstrap"}


def test_holdout_sample_has_no_live_formulas_and_export_read_it_back(hostile_run):
    run_dir, _ = hostile_run
    cells = _cells(run_dir / layout.HOLDOUT_SAMPLE)
    assert cells and not [c for c in cells if c.startswith(FORMULA_PREFIXES) and not _is_number(c)]
    assert "'" + FORMULA_COLUMN in cells and "'=Adelie()" in cells
    # Export restored the values before the parity check: the run passed it on the raw names.
    parity = (run_dir / layout.PARITY).read_text()
    assert '"passed": true' in parity


def test_model_card_shows_user_strings_as_text(hostile_run):
    from markdown_it import MarkdownIt

    run_dir, _ = hostile_run
    html = MarkdownIt("commonmark").enable("table").render((run_dir / layout.MODEL_CARD).read_text())
    assert "<a " not in html and "<script" not in html and "<img" not in html
    assert LINK_COLUMN in html


def _img_tags(html: str) -> list[str]:
    return ["<img" + part.split(">", 1)[0] for part in html.split("<img")[1:]]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
