"""``model/model_card.md``: what the model does, how well, and how to use it without automl-lite."""

from __future__ import annotations

from typing import Any

from automl_lite.contracts import ColumnKind
from automl_lite.features import MISSING_TOKEN


def _md(text: Any) -> str:
    """Escape what would break a Markdown table cell (column names come from user data)."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _example(specs: list[Any], classification: bool) -> str:
    kinds = {s.kind for s in specs}
    lines = [
        "import json, numpy as np, onnxruntime as ort, pandas as pd",
        'session = ort.InferenceSession("model.onnx")',
        'schema = json.loads(session.get_modelmeta().custom_metadata_map["input_schema"])',
        'frame = pd.read_csv("new_rows.csv", keep_default_na=False, na_values=["", "NA", "NaN", "null"])',
        "feed = {}",
        "for spec in schema:",
        '    col = frame[spec["column"]]',
        '    if spec["dtype"] == "string":',
        f'        col = col.astype(object).where(col.notna(), "{MISSING_TOKEN}").astype(str)',
    ]
    if ColumnKind.DATETIME.value in kinds:
        lines += [
            '    elif spec["kind"] == "datetime":',
            '        col = getattr(pd.to_datetime(col, errors="coerce", utc=True, format="mixed").dt, spec["part"])',
        ]
    if ColumnKind.TEXT.value in kinds:
        lines += [
            '    elif spec["kind"] == "text":',
            '        col = col.str.len() if spec["part"] == "n_chars" else col.str.split().str.len()',
        ]
    lines += [
        "    else:",
        '        col = pd.to_numeric(col, errors="coerce")',
        '    feed[spec["name"]] = col.to_numpy(object if spec["dtype"] == "string" else np.float32).reshape(-1, 1)',
    ]
    lines.append(
        "labels, probabilities = session.run(None, feed)"
        if classification
        else "(prediction,) = session.run(None, feed)"
    )
    return "\n".join(lines)


def render_model_card(native: Any, metrics: dict[str, Any], parity: Any, *, run_id: str, dataset: str) -> str:
    """The model card as Markdown.

    ``native`` is the :class:`automl_lite.training.NativeModel`, ``metrics`` the content
    of ``training/metrics.json`` and ``parity`` the :class:`automl_lite.export.ParityReport`.
    """
    classification = native.class_names is not None
    split = metrics.get("split", {})
    search = metrics.get("search", {})
    direction = metrics.get("metric_direction", "")
    what = (
        f"the class of **{_md(native.target)}** ({native.problem_type}: "
        + ", ".join(f"`{_md(c)}`" for c in native.class_names)
        + ")"
        if classification
        else f"the value of **{_md(native.target)}** (regression)"
    )
    out = [
        f"# Model card: {_md(native.target)}",
        "",
        f"Run `{run_id}`, dataset `{_md(dataset)}`, trained {native.trained_at}.",
        "",
        "## What it predicts",
        "",
        f"This model predicts {what} from {len({s.column for s in native.specs})} columns of a row. "
        f"It is a {native.estimator} model chosen by a FLAML search, with its preprocessing "
        "(imputation, encoding) inside the same ONNX graph.",
        "",
        "## Inputs",
        "",
        "One graph input per column (datetime and text columns give several derived inputs). "
        "Numbers are float32; categories are strings, with missing values given as "
        f"`{MISSING_TOKEN}`. Categories never seen in training are accepted (they count as unknown).",
        "",
        "| column | kind | graph input | type |",
        "|---|---|---|---|",
    ]
    for spec in native.specs:
        dtype = "string" if spec.is_string else "float32"
        part = f" ({spec.part})" if spec.part else ""
        out.append(f"| {_md(spec.column)} | {spec.kind}{part} | `{spec.name}` | {dtype} |")
    out += ["", "Outputs: "]
    if classification:
        out[-1] += (
            "`label` (string: the predicted class) and `probabilities` (float32, one column per class in the "
            "order " + ", ".join(f"`{_md(c)}`" for c in native.class_names) + ")."
        )
    else:
        out[-1] += "`prediction` (float32, one value per row)."
    out += [
        "",
        "## Scores and how they were measured",
        "",
        f"Metric optimised: **{native.metric}** ({direction}).",
        "",
        "| metric | test score |",
        "|---|---|",
    ]
    for name, value in sorted(metrics.get("test_scores", {}).items()):
        out.append(f"| {name} | {value:.6g} |")
    out += [
        "",
        metrics.get("how_measured", ""),
        f"Rows used: {split.get('rows_used')} (dropped for a missing target: {split.get('rows_dropped_missing_target')}); "
        f"train {split.get('train_rows')}, test {split.get('test_rows')}, seed {split.get('seed')}. "
        f"Search: {search.get('trials')} trials in {search.get('search_time_s')} s "
        f"(budget {search.get('time_budget_s')} s). The exported model was then refitted on all rows.",
        "",
        "## Export parity",
        "",
        f"{'Passed' if parity.passed else 'FAILED'}: {parity.how_measured}",
    ]
    if classification:
        out.append(
            f"Labels agree on {parity.label_agreement:.4%} of rows; the largest probability difference is "
            f"{parity.max_abs_probability_diff:.3g} (allowed: {parity.thresholds.get('max_abs_probability_diff')})."
        )
    else:
        out.append(
            f"{parity.within_tolerance_fraction:.4%} of predictions within tolerance; the largest difference is "
            f"{parity.max_abs_diff:.3g}."
        )
    out += [
        "",
        "## Limitations",
        "",
        "- The scores come from one test split of this dataset; data that differs from it (other periods, "
        "places, sources) can score worse.",
        "- Columns dropped by the profile (identifiers, constant or leaking columns) are not used; "
        "see `eda/report.html` for the reasons.",
        "- Datetime columns enter as year, month, day, day of week and hour (UTC); free text only as its "
        "length in characters and words.",
        "- The graph computes in float32: predictions can differ from the native model in the last digits.",
        "- Nothing in this model checks fairness or causality; a good score is not a reason to act on a prediction.",
        "",
        "## Use it with onnxruntime, numpy and pandas only",
        "",
        "```python",
        _example(native.specs, classification),
        "```",
        "",
        "Or: `automl-lite predict model.onnx new_rows.csv --out predictions.csv`.",
        "",
    ]
    return "\n".join(out)
