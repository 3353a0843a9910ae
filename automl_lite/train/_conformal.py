"""How sure the model is (issue 25): conformal intervals, calibrated probabilities, prediction sets.

Everything here is fitted on the **out-of-fold predictions** of the chosen model on the training
split (the ensemble step's own, :class:`automl_lite.train.EnsembleResult`'s ``oof``), never on the
test split, which only measures the result:

- **Regression, split/cross-conformal intervals.** The absolute out-of-fold residuals
  ``|y - oof|``; the interval at level ``L`` is ``prediction ± q_L`` where ``q_L`` is their
  ``ceil((n + 1) L) / n`` empirical quantile (the finite-sample conformal quantile). Each model
  fitted on 4/5 of the rows scored the fifth it never saw, so the residuals are the errors of
  a model on new rows; the exported model is refitted on every row and errs a little less, so
  the intervals are, if anything, slightly conservative (cross-conformal, Vovk 2015; CV+, Barber
  et al. 2021, without its per-fold models in the graph).
- **Classification, calibrated probabilities.** ``q = softmax(a · log p + b)``: Platt scaling
  on the log odds for a binary model (``a`` and the positive class's ``b``), temperature
  scaling for a multiclass one (``a`` = 1 / T, ``b`` = 0). Kept only when it lowers the
  log loss **out of fold** (cross-fitted: fitted on 4/5 of the out-of-fold rows, scored on the
  fifth) by :data:`CALIBRATION_MIN_GAIN`; the graph's ``calibrated_probabilities``.
- **Classification, conformal prediction sets** (LAC, Sadinle et al. 2019): a class is in the
  set at level ``L`` when its (calibrated, else raw) probability is at least ``t_L = 1 - s_L``,
  ``s_L`` the conformal quantile of ``1 - q_true`` out of fold. On new rows from the same
  distribution the set holds the true class with probability at least ``L`` (on average over
  rows, not for every row); a set may be empty or hold several classes.

:class:`Uncertainty` is pickled inside :class:`automl_lite.train.NativeModel` (``uncertainty``);
:func:`automl_lite.export.add_uncertainty_outputs` writes the same arithmetic into the graph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

#: Probabilities are clipped to [EPS, 1] before their log (native and graph alike).
EPS = 1e-6
#: Calibration is kept when its cross-fitted out-of-fold log loss is lower by this share.
CALIBRATION_MIN_GAIN = 0.005
#: ... and when the out-of-fold rows hold at least this many misclassified rows: on rows the model
#: separates without an error, a sharper scale always lowers the log loss (its optimum is unbounded),
#: so the cross-fit cannot tell a real gain from a scale that runs off (penguins: scale 3.1, out-of-fold
#: log loss 0.0036 -> 0.0000036, test log loss 0.032 -> 0.061 and the 80% sets emptied).
CALIBRATION_MIN_ERRORS = 5
#: Folds of the cross-fit that decides whether calibration pays.
CALIBRATION_FOLDS = 5
#: Bins of the expected calibration error (top-label, equal width).
ECE_BINS = 10
#: Fewest out-of-fold rows for intervals or sets at all.
MIN_CALIBRATION_ROWS = 20


def _f32(value: float) -> float:
    """The float32 value the graph stores: the native model uses the very same constant."""
    return float(np.float32(value))


def _f32_at_most(value: float) -> float:
    """The largest float32 not above ``value``: a set's threshold stored in the graph never admits
    fewer classes than the conformal rule does (round to nearest could lift 1 - 1e-8 to 1.0, and
    then only a probability of exactly 1 would be in the set)."""
    stored = np.float32(value)
    return float(np.nextafter(stored, np.float32(-np.inf)) if float(stored) > value else stored)


def _f32_at_least(value: float) -> float:
    """The smallest float32 not below ``value``: an interval's stored half width is never narrower."""
    stored = np.float32(value)
    return float(np.nextafter(stored, np.float32(np.inf)) if float(stored) < value else stored)


def level_name(level: float) -> str:
    """``0.8`` -> ``"80"`` (the suffix of ``lower_80``, ``upper_80``, ``set_80``).

    >>> level_name(0.8), level_name(0.95)
    ('80', '95')
    """
    return f"{round(level * 100):d}"


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ``ceil((n + 1) level) / n`` empirical quantile of ``scores`` (their maximum when above 1).

    >>> conformal_quantile(np.arange(1, 11, dtype=float), 0.8)
    9.0
    """
    n = len(scores)
    rank = min(n, math.ceil((n + 1) * level))
    return float(np.sort(scores)[rank - 1])


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """Top-label expected calibration error: mean |accuracy - confidence| over equal-width bins."""
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def _log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-15, None))))


def _scaled(log_p: np.ndarray, scale: float, bias: np.ndarray) -> np.ndarray:
    return softmax(scale * log_p + bias, axis=1)


def _fit_scaling(log_p: np.ndarray, y: np.ndarray, binary: bool) -> tuple[float, np.ndarray]:
    """``a`` and ``b`` of ``softmax(a log p + b)`` minimising the log loss on these rows."""
    k = log_p.shape[1]

    def unpack(theta: np.ndarray) -> tuple[float, np.ndarray]:
        bias = np.zeros(k)
        if binary:
            bias[1] = theta[1]
        return float(theta[0]), bias

    def loss(theta: np.ndarray) -> float:
        scale, bias = unpack(theta)
        z = log_softmax(scale * log_p + bias, axis=1)
        return float(-np.mean(z[np.arange(len(y)), y]))

    start = np.array([1.0, 0.0]) if binary else np.array([1.0])
    bounds = [(0.05, 20.0)] + ([(-20.0, 20.0)] if binary else [])
    found = minimize(loss, start, method="L-BFGS-B", bounds=bounds)
    return unpack(found.x)


@dataclass
class Uncertainty:
    """The fitted uncertainty of one model: what the graph's extra outputs compute.

    ``half_widths`` (regression): level name -> ``q_L``. ``calibration`` (classification):
    ``{"method", "scale", "bias"}`` or None when it did not pay out of fold. ``set_thresholds``
    (classification): level name -> the probability a class needs to be in the set.
    """

    problem_type: str
    levels: list[float]
    half_widths: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None
    set_thresholds: dict[str, float] = field(default_factory=dict)
    #: How it was fitted (``metrics.json``'s ``uncertainty.fitted``).
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def is_classification(self) -> bool:
        return self.problem_type != "regression"

    def output_names(self) -> list[str]:
        """The graph outputs this adds, in order."""
        if not self.is_classification:
            return [f"{side}_{name}" for name in self.half_widths for side in ("lower", "upper")]
        names = ["calibrated_probabilities"] if self.calibration else []
        return names + [f"set_{name}" for name in self.set_thresholds]

    def intervals(self, prediction: np.ndarray) -> dict[str, np.ndarray]:
        """``lower_<L>`` and ``upper_<L>`` around regression predictions."""
        pred = np.asarray(prediction, dtype=np.float64).reshape(-1)
        out: dict[str, np.ndarray] = {}
        for name, q in self.half_widths.items():
            out[f"lower_{name}"] = pred - q
            out[f"upper_{name}"] = pred + q
        return out

    def calibrate(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (the input unchanged when calibration was not kept)."""
        if not self.calibration:
            return np.asarray(proba, dtype=np.float64)
        log_p = np.log(np.clip(np.asarray(proba, dtype=np.float64), EPS, 1.0))
        return _scaled(log_p, float(self.calibration["scale"]), np.asarray(self.calibration["bias"]))

    def sets(self, proba: np.ndarray) -> dict[str, np.ndarray]:
        """``set_<L>``: 0/1 per class, from the raw probabilities (calibrated first when kept)."""
        q = self.calibrate(proba)
        return {f"set_{name}": (q >= t).astype(np.int64) for name, t in self.set_thresholds.items()}

    def outputs(self, prediction_or_proba: np.ndarray) -> dict[str, np.ndarray]:
        """Every extra output for the model's prediction (regression) or probabilities."""
        if not self.is_classification:
            return self.intervals(prediction_or_proba)
        out = {"calibrated_probabilities": self.calibrate(prediction_or_proba)} if self.calibration else {}
        return {**out, **self.sets(prediction_or_proba)}


def fit_uncertainty(
    oof: np.ndarray,
    y: np.ndarray,
    *,
    problem_type: str,
    levels: Sequence[float],
    seed: int,
    source: str,
) -> Uncertainty | None:
    """Fit the intervals (regression) or the calibration and the sets (classification) on
    out-of-fold predictions; None when too few rows were scored out of fold."""
    keep = np.isfinite(oof).all(axis=1) if oof.ndim == 2 else np.isfinite(oof)
    oof, y = oof[keep], y[keep]
    if len(y) < MIN_CALIBRATION_ROWS:
        return None
    levels = sorted({round(float(v), 2) for v in levels})
    record: dict[str, Any] = {"rows": int(len(y)), "source": source}
    if problem_type == "regression":
        residuals = np.abs(np.asarray(y, dtype=np.float64) - oof)
        widths = {level_name(v): _f32_at_least(conformal_quantile(residuals, v)) for v in levels}
        record["method"] = (
            "cross-conformal: prediction ± the ceil((n+1)L)/n quantile of the absolute out-of-fold residuals"
        )
        record["half_widths"] = widths
        record["normalized"] = (
            "not fitted: every interval has the same width (a model of the residuals' size is not built)"
        )
        return Uncertainty(problem_type, levels, half_widths=widths, record=record)
    y = np.asarray(y, dtype=np.int64)
    proba = np.clip(oof / np.clip(oof.sum(axis=1, keepdims=True), 1e-15, None), 0.0, 1.0)
    binary = proba.shape[1] == 2
    method = "platt (sigmoid on the log odds)" if binary else "temperature scaling"
    log_p = np.log(np.clip(proba, EPS, 1.0))
    # Cross-fitted: does calibration fitted on other rows lower the log loss on these?
    cross = np.empty_like(proba)
    order = np.random.default_rng(seed).permutation(len(y))
    for part in np.array_split(order, CALIBRATION_FOLDS):
        rest = np.setdiff1d(order, part)
        scale, bias = _fit_scaling(log_p[rest], y[rest], binary)
        cross[part] = _scaled(log_p[part], scale, bias)
    before, after = _log_loss(proba, y), _log_loss(cross, y)
    errors = int(np.sum(proba.argmax(axis=1) != y))
    kept = after < before * (1.0 - CALIBRATION_MIN_GAIN) and errors >= CALIBRATION_MIN_ERRORS
    scale, bias = _fit_scaling(log_p, y, binary)
    scale, bias = _f32(scale), np.asarray([_f32(b) for b in bias])
    calibration = (
        {"method": method, "scale": float(scale), "bias": [float(b) for b in bias]} if kept else None
    )
    record["calibration"] = {
        "method": method,
        "kept": bool(kept),
        "rule": f"kept when the cross-fitted ({CALIBRATION_FOLDS} folds over the out-of-fold rows) log loss "
        f"is lower by at least {CALIBRATION_MIN_GAIN:.1%} and at least {CALIBRATION_MIN_ERRORS} out-of-fold rows "
        "are misclassified (on rows separated without an error any sharper scale wins)",
        "oof_errors": errors,
        "oof_log_loss_before": before,
        "oof_log_loss_after": after,
        "oof_ece_before": expected_calibration_error(proba, y),
        "oof_ece_after": expected_calibration_error(cross, y),
        "scale": float(scale),
        "bias": [float(b) for b in bias],
    }
    model = Uncertainty(problem_type, levels, calibration=calibration, record=record)
    q = model.calibrate(proba)
    truth = 1.0 - q[np.arange(len(y)), y]
    model.set_thresholds = {level_name(v): _f32_at_most(1.0 - conformal_quantile(truth, v)) for v in levels}
    record["set_thresholds"] = model.set_thresholds
    record["sets_method"] = (
        "conformal prediction sets (LAC): a class is in the set at level L when its "
        + ("calibrated " if kept else "")
        + "probability is at least 1 - the ceil((n+1)L)/n quantile of 1 - p(true class) out of fold"
    )
    return model


def measure_on_test(
    model: Uncertainty, y_test: np.ndarray, prediction: np.ndarray, proba: np.ndarray | None
) -> dict[str, Any]:
    """Coverage (share of test rows inside the interval / whose set holds the truth), median width or
    mean set size per level, and the calibration on the test split (``metrics.json``)."""
    out: dict[str, Any] = {"rows": int(len(y_test))}
    if not model.is_classification:
        bounds = model.intervals(prediction)
        y = np.asarray(y_test, dtype=np.float64)
        for name in model.half_widths:
            lower, upper = bounds[f"lower_{name}"], bounds[f"upper_{name}"]
            out[name] = {
                "nominal": int(name) / 100,
                "coverage": float(np.mean((y >= lower) & (y <= upper))),
                "median_width": float(np.median(upper - lower)),
            }
        return out
    assert proba is not None
    y = np.asarray(y_test, dtype=np.int64)
    q = model.calibrate(proba)
    out["log_loss_before"] = _log_loss(np.clip(proba, 1e-15, 1), y)
    out["log_loss_after"] = _log_loss(q, y)
    out["ece_before"] = expected_calibration_error(proba, y)
    out["ece_after"] = expected_calibration_error(q, y)
    for key, members in model.sets(proba).items():
        name = key.removeprefix("set_")
        out[name] = {
            "nominal": int(name) / 100,
            "coverage": float(np.mean(members[np.arange(len(y)), y] == 1)),
            "mean_set_size": float(members.sum(axis=1).mean()),
            "empty_sets": float(np.mean(members.sum(axis=1) == 0)),
        }
    return out


# ``model/model.joblib`` pickles the class by its public path (as NativeModel).
Uncertainty.__module__ = "automl_lite.train"
