"""``model/model_card.md``: what the model does, how well, and how to use it without automl-lite."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from automl_lite.contracts import ColumnKind
from automl_lite.data.csv_reader import NA_VALUES
from automl_lite.model.features import MISSING_TOKEN

if TYPE_CHECKING:
    from automl_lite.train._metrics import TrainingMetrics

#: Every ASCII punctuation character: CommonMark lets each be backslash-escaped, and escaping
#: all of them leaves no link, emphasis, HTML, heading or table syntax in a user's string.
_MD_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def _md(text: Any) -> str:
    """A user string (column, class, target, file name) as inert Markdown text, on one line.

    ``[x](javascript:alert(1))`` stays those characters: no link, no emphasis, no HTML, no
    broken table cell.
    """
    flat = re.sub(r"[\r\n\t\x00-\x1f\x7f]+", " ", str(text))
    return _MD_PUNCTUATION.sub(r"\\\1", flat)


def _code(text: Any) -> str:
    """A user string as a Markdown code span (inert: nothing inside one is parsed).

    Backslash escapes do not work inside a code span, so the fence is one backtick longer
    than the longest run of backticks in the string, padded with spaces when the string
    starts or ends with one.
    """
    flat = re.sub(r"[\r\n\t\x00-\x1f\x7f]+", " ", str(text))
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _example(specs: list[Any], classification: bool) -> str:
    """At most ten lines (twelve with datetime and text columns) of onnxruntime + numpy + pandas.

    It rebuilds every graph input from the raw CSV columns following the recorded
    ``input_schema``, exactly as :func:`automl_lite.model.features.prepare_frame` does:
    categories as strings (missing -> the missing token, ``3.0`` -> ``"3"``), datetime
    parts in UTC, text lengths, numbers as float32 (anything unreadable -> NaN).
    """
    kinds = {s.kind for s in specs}
    na = ", ".join(f'"{v}"' for v in NA_VALUES)
    lines = [
        "import json, numpy as np, onnxruntime as ort, pandas as pd",
        'session = ort.InferenceSession("model.onnx")',
        'schema = json.loads(session.get_modelmeta().custom_metadata_map["input_schema"])',
        f'rows = pd.read_csv("new_rows.csv", keep_default_na=False, na_values=[{na}])',
        "def value(spec):  # one graph input from its CSV column (the mapping: docs/model.md)",
        '    col = rows[spec["column"]]',
        '    if spec["dtype"] == "string":',
        f'        return col.map(lambda v: "{MISSING_TOKEN}" if pd.isna(v) else str(int(v)) '
        "if isinstance(v, float) and v.is_integer() else str(v)).to_numpy(object)",
    ]
    if ColumnKind.DATETIME.value in kinds:
        lines.append(
            '    if spec["kind"] == "datetime": col = getattr(pd.to_datetime(col, errors="coerce", utc=True, '
            'format="mixed").dt, spec["part"])'
        )
    if ColumnKind.TEXT.value in kinds:
        lines.append(
            '    if spec["kind"] == "text": col = col.map(lambda t: t if pd.isna(t) else len(str(t)) '
            'if spec["part"] == "n_chars" else len(str(t).split()))'
        )
    lines.append('    return pd.to_numeric(col, errors="coerce").to_numpy(np.float32)')
    # *extra: the uncertainty outputs (intervals, calibrated probabilities, sets), when the graph has them.
    outputs = "labels, probabilities, *extra" if classification else "prediction, *intervals"
    lines.append(f'{outputs} = session.run(None, {{s["name"]: value(s).reshape(-1, 1) for s in schema}})')
    return "\n".join(lines)


def _inputs_section(specs: list[Any]) -> list[str]:
    derived = [s for s in specs if s.part]
    out = [
        "## Inputs",
        "",
        "The graph has one input per column, named after it (characters other than letters, digits and "
        "`_` become `_`), each of shape `[rows, 1]`. Numbers are float32 and may be NaN (missing: the "
        "graph imputes them as the native model does). Categories are strings; a missing category is "
        f"the string `{MISSING_TOKEN}`, and a category never seen in training is accepted and treated "
        "as unknown, as the native model does.",
    ]
    if derived:
        out[-1] += (
            " Datetime and free-text columns cannot be parsed inside an ONNX graph (the standard operator "
            "set has no date parsing), so they enter as several derived float inputs, computed from the "
            "raw column before the graph: this mapping is recorded in the model's `column_mapping` and "
            "`input_schema` metadata and applied by the example below and by `automl-lite predict`."
        )
    out += ["", "| column | kind | graph input | type |", "|---|---|---|---|"]
    for spec in specs:
        dtype = "string" if spec.is_string else "float32"
        how = f"{spec.kind}: {_PART_TEXT.get(str(spec.part), spec.part)}" if spec.part else spec.kind
        out.append(f"| {_md(spec.column)} | {how} | `{spec.name}` | {dtype} |")
    return out


#: How each derived input is computed from its raw column (model card wording).
_PART_TEXT = {
    "year": "year (UTC)",
    "month": "month 1-12 (UTC)",
    "day": "day of month (UTC)",
    "day_of_week": "day of week, Monday=0 (UTC)",
    "hour": "hour 0-23 (UTC)",
    "n_chars": "length in characters",
    "n_words": "number of words (split on whitespace)",
}


def _parity_section(parity: Any) -> list[str]:
    out = [
        "## Export parity",
        "",
        f"**{'Passed' if parity.passed else 'FAILED'}**: {parity.figures()}. {parity.how_measured}",
        "",
    ]
    if parity.label_agreement is not None:
        out.append(
            f"Thresholds: labels equal on at least {parity.thresholds['label_agreement_min']:.1%} of rows and "
            f"every probability within {parity.thresholds.get('max_abs_probability_diff')}. "
            f"{parity.tie_rule} Without that rule the gate would have "
            f"{'passed' if parity.strict_passed else 'failed'}."
        )
    else:
        out.append(
            f"Threshold: at least {parity.thresholds['label_agreement_min']:.1%} of predictions within "
            f"{parity.thresholds.get('relative_tolerance')} x max(1, |native|) of the native model's."
        )
    out += [
        "",
        "The full comparison is in `model/parity.json`; its verdict is also in the model's `parity` metadata.",
    ]
    return out


# --- issue 25 ---------------------------------------------------------------------------------------
def _uncertainty_section(metrics: TrainingMetrics) -> list[str]:
    """What the intervals / sets / calibrated probabilities mean, and their coverage on the test split."""
    doc = metrics.uncertainty
    if not doc:
        return []
    out = ["## How sure the model is", ""]
    if not doc.get("fitted"):
        return [*out, f"No intervals or prediction sets: {_md(doc.get('note', ''))}.", ""]
    how, test = doc.get("how", {}), doc.get("test", {})
    levels = [f"{round(v * 100)}" for v in doc.get("levels", [])]
    regression = metrics.problem_type == "regression"
    if regression:
        out.append(
            "Outputs "
            + ", ".join(f"`lower_{n}`/`upper_{n}`" for n in levels)
            + ": the prediction minus/plus a constant (the conformal quantile of the absolute errors the "
            f"model made out of fold on {how.get('rows')} training rows). On new rows like the training "
            "rows, the interval at level L holds the true value for about L% of rows: on average over "
            "rows, not for each row (every interval has the same width, whatever the row)."
        )
    else:
        calibration = how.get("calibration", {})
        out.append(
            "Outputs "
            + ", ".join(f"`set_{n}`" for n in levels)
            + " (int64 `[rows, classes]`, 1 = the class is in the set): conformal prediction sets, which "
            "hold the true class for about L% of rows (on average over rows). A set may hold several "
            "classes (the model hesitates) or none (even its best class is less sure than the level needs)."
        )
        out.append("")
        if calibration.get("kept"):
            out.append(
                f"`calibrated_probabilities`: {calibration.get('method')} fitted out of fold; it lowered the "
                f"out-of-fold log loss from {calibration.get('oof_log_loss_before'):.4g} to "
                f"{calibration.get('oof_log_loss_after'):.4g} (cross-fitted). `label` still follows `probabilities`."
            )
        else:
            out.append(
                f"The probabilities are not recalibrated: {calibration.get('method', 'calibration')} did not "
                "lower the out-of-fold log loss enough."
            )
    out += [
        "",
        "| level | coverage on the test split | " + ("median width |" if regression else "mean set size |"),
    ]
    out.append("|---|---|---|")
    for name in levels:
        row = test.get(name)
        if row:
            size = row.get("median_width") if regression else row.get("mean_set_size")
            out.append(f"| {name}% | {row['coverage']:.1%} of {test.get('rows')} rows | {size:.4g} |")
    if not regression and "ece_before" in test:
        out += [
            "",
            f"Expected calibration error on the test split: {test['ece_before']:.4f} before calibration, "
            f"{test['ece_after']:.4f} after; log loss {test['log_loss_before']:.4g} -> {test['log_loss_after']:.4g}.",
        ]
    return [*out, ""]


# --- end issue 25 -----------------------------------------------------------------------------------


def render_model_card(
    native: Any, metrics: TrainingMetrics, parity: Any, *, run_id: str, dataset: str
) -> str:
    """The model card as Markdown.

    ``native`` is the :class:`automl_lite.train.NativeModel`, ``metrics`` the run's
    ``training/metrics.json`` and ``parity`` the :class:`automl_lite.export.ParityReport`.
    """
    classification = native.class_names is not None
    split, search = metrics.split, metrics.search
    direction = metrics.metric_direction
    what = (
        f"the class of **{_md(native.target)}** ({native.problem_type}: "
        + ", ".join(_code(c) for c in native.class_names)
        + ")"
        if classification
        else f"the value of **{_md(native.target)}** (regression)"
    )
    out = [
        f"# Model card: {_md(native.target)}",
        "",
        f"Run {_code(run_id)}, dataset {_code(dataset)}, trained {native.trained_at}.",
        "",
        "## What it predicts",
        "",
        f"This model predicts {what} from {len({s.column for s in native.specs})} columns of a row. "
        f"It is a {native.estimator} model chosen by a FLAML search, with its preprocessing "
        "(imputation, encoding) inside the same ONNX graph (`model.onnx`, ONNX opset "
        "17, ai.onnx.ml 3; any onnxruntime >= 1.15 runs it).",
        "",
        *_inputs_section(native.specs),
        "",
        "Outputs: ",
    ]
    if classification:
        out[-1] += (
            "`label` (string `[rows]`: the predicted class by its original name) and `probabilities` "
            "(float32 `[rows, classes]`, columns in the order "
            + ", ".join(_code(c) for c in native.class_names)
            + ", as in the `class_names` metadata)."
        )
    else:
        out[-1] += "`prediction` (float32 `[rows, 1]`)."
    out += [
        "",
        "Metadata (`session.get_modelmeta().custom_metadata_map`, JSON values): `input_schema`, "
        "`column_mapping`, `missing_token`, `class_names`, `outputs`, `problem_type`, `target`, `metric`, "
        "`test_scores`, `estimator`, `trained_at`, `run_id`, `dataset`, `parity`.",
        "",
        "## Scores and how they were measured",
        "",
        f"Metric optimised: **{native.metric}** ({direction}).",
        "",
        "| metric | test score |",
        "|---|---|",
    ]
    for name, value in sorted(metrics.test_scores.items()):
        out.append(f"| {name} | {value:.6g} |")
    out += [
        "",
        metrics.how_measured,
        f"Rows used: {split.rows_used} (dropped for a missing target: {split.rows_dropped_missing_target}); "
        f"train {split.train_rows}, test {split.test_rows}, seed {split.seed}. "
        f"Search: {search.trials} trials in {search.search_time_s} s "
        f"(budget {search.time_budget_s} s). The exported model was then refitted on all rows.",
        "",
        *_parity_section(parity),
        "",
        *_uncertainty_section(metrics),
        "## Limitations",
        "",
        "- The scores come from one test split of this dataset; data that differs from it (other periods, "
        "places, sources) can score worse.",
        "- Columns dropped by the profile (identifiers, constant or leaking columns) are not used; "
        "see `eda/report.html` for the reasons.",
        "- Datetime columns enter as year, month, day, day of week and hour (UTC), computed outside the graph; "
        "free text only as its length in characters and words.",
        '- A number column holding text (`"12 kg"`) is not a number: `automl-lite predict` reports such rows '
        "instead of scoring them, while the example below would score them as missing values.",
        "- The graph computes in float32: predictions can differ from the native model in the last digits.",
        "- Nothing in this model checks fairness or causality; a good score is not a reason to act on a prediction.",
        "",
        "## Use it with onnxruntime, numpy and pandas only",
        "",
        "```python",
        _example(native.specs, classification),
        "```",
        "",
        "Or: `automl-lite predict model.onnx new_rows.csv --out predictions.csv` (reads the file in batches, "
        "reports rows it cannot score, writes predictions and probabilities).",
        "",
    ]
    return "\n".join(out)
