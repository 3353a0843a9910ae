"""The training report's "How sure the model is" section (issue 25): the intervals against the truth
on the test split (regression), the calibration curve before/after (classification), the coverage
of each level."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from automl_lite.html import charts
from automl_lite.html.charts import Series
from automl_lite.html.page import Figure, Section, Table, format_value

if TYPE_CHECKING:
    from automl_lite.train._metrics import TrainingOutcome

#: Test rows drawn in the intervals picture (evenly spaced by predicted value).
MAX_INTERVAL_ROWS = 200
#: Bins of the calibration curve.
CURVE_BINS = 10


def _interval_figure(outcome: TrainingOutcome, fitted: Any) -> Figure:
    truth = np.asarray(outcome.y_test, dtype=float)
    pred = np.asarray(outcome.test_prediction, dtype=float)
    order = np.argsort(pred, kind="stable")
    keep = order[np.unique(np.linspace(0, len(order) - 1, min(MAX_INTERVAL_ROWS, len(order))).astype(int))]
    rank = np.arange(len(keep))
    bounds = fitted.intervals(pred[keep])
    series = []
    for i, name in enumerate(reversed(list(fitted.half_widths))):
        color = charts.PALETTE[(i + 1) % len(charts.PALETTE)]
        series.append(Series(f"{name}% interval", rank, bounds[f"upper_{name}"], color=color))
        series.append(Series("", rank, bounds[f"lower_{name}"], color=color))
    series.append(Series("prediction", rank, pred[keep], color=charts.REFERENCE_COLOR, dashed=True))
    series.append(Series("actual", rank, truth[keep], kind="points", color=charts.PALETTE[0]))
    uri = charts.xy_chart(
        series,
        title="Intervals against the truth (test split)",
        x_label="test rows, by predicted value",
        y_label=str(outcome.metrics.target),
        width=620,
        height=380,
    )
    return Figure(
        uri,
        "Prediction intervals and actual values on the test split",
        "Each test row (up to 200, spread over the range of predictions): the actual value (points), the "
        "prediction (dashed) and the bounds of each interval. The share of points inside a pair of lines is "
        "the coverage in the table.",
    )


def _calibration_curve(proba: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, CURVE_BINS + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, CURVE_BINS - 1)
    xs, ys = [], []
    for b in range(CURVE_BINS):
        mask = which == b
        if mask.any():
            xs.append(float(confidence[mask].mean()))
            ys.append(float(correct[mask].mean()))
    return xs, ys


def _calibration_figure(outcome: TrainingOutcome, fitted: Any) -> Figure:
    assert outcome.test_proba is not None
    y = np.asarray(outcome.y_test, dtype=np.int64)
    raw = np.asarray(outcome.test_proba, dtype=float)
    series = [Series("", [0, 1], [0, 1], color=charts.REFERENCE_COLOR, dashed=True)]
    xs, ys = _calibration_curve(raw, y)
    series.append(Series("model", xs, ys, color=charts.PALETTE[0]))
    series.append(Series("", xs, ys, kind="points", color=charts.PALETTE[0]))
    if fitted.calibration:
        xs, ys = _calibration_curve(fitted.calibrate(raw), y)
        series.append(Series("calibrated", xs, ys, color=charts.PALETTE[1]))
        series.append(Series("", xs, ys, kind="points", color=charts.PALETTE[1]))
    uri = charts.xy_chart(
        series,
        title="Calibration curve (test split)",
        x_label="predicted probability of the predicted class",
        y_label="share correct",
        x_range=(0, 1),
        y_range=(0, 1),
        width=420,
        height=380,
    )
    return Figure(
        uri,
        "Calibration curve on the test split",
        f"Test rows in {CURVE_BINS} bins of the predicted class's probability: the share the model got right "
        "against its mean probability. A calibrated model follows the diagonal.",
    )


def uncertainty_section(outcome: TrainingOutcome) -> Section | None:
    """The section, or None when the model has no intervals or sets (or the test split is empty)."""
    fitted = getattr(outcome.evaluation_model, "uncertainty", None)
    doc = outcome.metrics.uncertainty or {}
    if fitted is None or not doc.get("fitted") or not len(outcome.y_test):
        return None
    test = doc.get("test", {})
    regression = not fitted.is_classification
    rows = []
    for name in [f"{round(v * 100)}" for v in fitted.levels]:
        row = test.get(name)
        if row:
            size = row["median_width"] if regression else row["mean_set_size"]
            rows.append([f"{name}%", f"{row['coverage']:.1%}", format_value(size)])
    table = Table(["level", "coverage (test split)", "median width" if regression else "mean set size"], rows)
    paragraphs = [
        "Conformal "
        + ("intervals" if regression else "prediction sets")
        + f", fitted on {doc.get('how', {}).get('rows')} out-of-fold predictions of the training split; "
        "the test split measures how often they hold the truth (it should be close to the level)."
    ]
    if regression:
        figures = [_interval_figure(outcome, fitted)]
    else:
        calibration = doc.get("how", {}).get("calibration", {})
        paragraphs.append(
            f"Calibration ({calibration.get('method')}): "
            + ("kept" if calibration.get("kept") else "not kept")
            + f", out-of-fold log loss {calibration.get('oof_log_loss_before', float('nan')):.4g} -> "
            f"{calibration.get('oof_log_loss_after', float('nan')):.4g} (cross-fitted); expected calibration "
            f"error on the test split {test.get('ece_before', float('nan')):.4f} -> {test.get('ece_after', float('nan')):.4f}."
        )
        figures = [_calibration_figure(outcome, fitted)]
    return Section("How sure the model is", paragraphs=paragraphs, figures=figures, tables=[table])
