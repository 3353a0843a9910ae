"""The parity gate: how closely the ONNX graph reproduces the native pipeline (``model/parity.json``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import onnx
import pandas as pd
from pydantic import BaseModel

from automl_lite.exceptions import (
    ExportParityFailedError,
)
from automl_lite.model.features import InputSpec, onnx_feed, prepare_frame
from automl_lite.model.onnx_runtime import load_onnxruntime, make_session
from automl_lite.problem import ProblemType

#: The gate: share of rows whose labels must agree (classification)...
LABEL_AGREEMENT_MIN = 0.999
#: ... and the largest probability difference, or relative difference of a regression prediction.
PROBA_TOLERANCE = 1e-4
REGRESSION_RELATIVE_TOLERANCE = 1e-4
#: Rows copied with every string input set to an unseen category / every numeric input missing.
PERTURBED_ROWS = 50
UNSEEN_CATEGORY = "__never_seen_in_training__"


class ParityReport(BaseModel):
    """``model/parity.json``: how closely the ONNX graph reproduces the native pipeline.

    Classification rows are compared twice: *strictly* (the two labels are the same
    string) and under the *tie rule*: a row whose two highest native probabilities are
    within :data:`PROBA_TOLERANCE` of each other has no single right label (float32 in
    the graph and float64 in the native model may break the tie either way), so it counts
    as agreeing when the graph picks one of the tied classes. The gate uses the tie rule;
    the strict figure is recorded beside it (``exact_label_agreement``, ``strict_passed``).
    """

    passed: bool
    problem_type: str
    rows: int
    holdout_rows: int
    perturbed_rows: int
    #: Share of rows with the same label, counting rows whose native top probabilities tie as agreeing.
    label_agreement: float | None = None
    #: Share of rows with exactly the same label (no tie rule).
    exact_label_agreement: float | None = None
    #: Whether the gate would also pass on exact label agreement alone.
    strict_passed: bool | None = None
    #: Rows where the native top-two probabilities tie (within tolerance) and the labels differ.
    tied_rows: int | None = None
    #: Rows whose labels differ without a tie (what the gate counts as disagreeing).
    disagreeing_rows: int | None = None
    max_abs_probability_diff: float | None = None
    #: Share of regression rows within the relative tolerance.
    within_tolerance_fraction: float | None = None
    max_abs_diff: float | None = None
    max_relative_diff: float | None = None
    #: The same comparison restricted to the perturbed copies (unseen categories, missing values).
    perturbed_agreement: float | None = None
    #: issue 25: the intervals / calibrated probabilities / prediction sets, native against the graph.
    uncertainty: dict[str, Any] | None = None
    thresholds: dict[str, float]
    tie_rule: str | None = None
    how_measured: str
    onnxruntime_version: str
    checked_at: str

    def figures(self) -> str:
        """The measured figures in one sentence (used by the failure message and the model card)."""
        if self.uncertainty is not None and not self.uncertainty.get("passed", True):
            return f"{self._model_figures()}; the intervals, calibrated probabilities or prediction sets differ (parity.json 'uncertainty')"
        return self._model_figures()

    def _model_figures(self) -> str:
        if self.label_agreement is not None:
            return (
                f"labels agree on {self.label_agreement:.4%} of {self.rows} rows "
                f"({self.exact_label_agreement:.4%} strictly, {self.tied_rows} ties), "
                f"max probability difference {self.max_abs_probability_diff:.3g}"
            )
        return (
            f"{self.within_tolerance_fraction:.4%} of {self.rows} predictions within tolerance, "
            f"max difference {self.max_abs_diff:.3g} (relative {self.max_relative_diff:.3g})"
        )


TIE_RULE = (
    "A row whose two highest native class probabilities differ by at most 1e-4 counts as agreeing "
    "when the graph's label is one of those tied classes (float32 and float64 may break an exact tie "
    "differently); exact_label_agreement is the share of rows with the very same label."
)


def perturbed_rows(raw_rows: pd.DataFrame, specs: list[InputSpec], n: int = PERTURBED_ROWS) -> pd.DataFrame:
    """Copies of the first rows with every string column unseen and every other column missing.

    These cases are where a hand-written graph and a pipeline most easily disagree, so
    the parity check always covers them, whatever the holdout happens to hold.
    """
    base = raw_rows.iloc[:n]
    string_cols = {s.column for s in specs if s.is_string}
    other_cols = {s.column for s in specs if not s.is_string}
    unseen = base.copy()
    for column in string_cols:
        unseen[column] = UNSEEN_CATEGORY
    missing = base.copy()
    for column in other_cols | string_cols:
        missing[column] = np.nan
    return pd.concat([unseen.astype(object), missing.astype(object)], ignore_index=True)


def onnx_session(model: onnx.ModelProto | bytes, *, threads: int = 0) -> Any:
    """An onnxruntime CPU session with the options ``automl-lite predict`` uses."""
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    return make_session(data, threads=threads)


def measure_parity(
    pipeline: Any,
    onnx_model: onnx.ModelProto,
    raw_rows: pd.DataFrame,
    problem_type: ProblemType | str,
) -> ParityReport:
    """Compare the graph with the native model on raw rows (plus perturbed copies); never raises.

    ``pipeline`` is the :class:`automl_lite.train.NativeModel` (raw rows in). Thresholds:
    classification, labels equal on >= 99.9% of rows (tie rule: see :class:`ParityReport`)
    and max |p_onnx - p_native| <= 1e-4; regression, |y_onnx - y_native| <= 1e-4 * max(1,
    |y_native|) on >= 99.9% of rows.
    """
    problem = ProblemType(problem_type)
    specs: list[InputSpec] = pipeline.specs
    extra = perturbed_rows(raw_rows, specs)
    rows = pd.concat([raw_rows.astype(object), extra], ignore_index=True)
    prepared = prepare_frame(rows, specs)
    session = onnx_session(onnx_model)
    outputs = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, onnx_feed(prepared, specs)),
            strict=True,
        )
    )
    # Positions of the perturbed copies, to report how the graph does on exactly those.
    perturbed = np.arange(len(rows)) >= len(raw_rows)
    thresholds = {"label_agreement_min": LABEL_AGREEMENT_MIN}
    common = {
        "problem_type": problem.value,
        "rows": int(len(rows)),
        "holdout_rows": int(len(raw_rows)),
        "perturbed_rows": int(len(extra)),
        "onnxruntime_version": load_onnxruntime().__version__,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    described = (
        f"on {len(raw_rows)} raw test-split rows (as read from the CSV, through the same input preparation "
        f"as predict) plus {len(extra)} copies of the first of them with every category replaced by one never "
        "seen in training or every value missing"
    )
    extra_ok, extra = _uncertainty_parity(pipeline, rows, outputs)
    common["uncertainty"] = extra
    if problem.is_classification:
        native_labels = pipeline.predict(rows)
        native_proba = pipeline.predict_proba(rows)
        onnx_labels = np.asarray(outputs["label"], dtype=object)
        equal = onnx_labels == native_labels
        index = {name: i for i, name in enumerate(pipeline.class_names)}
        onnx_index = np.array([index.get(label, -1) for label in onnx_labels])
        rows_idx = np.arange(len(onnx_index))
        chosen = np.where(onnx_index >= 0, native_proba[rows_idx, np.clip(onnx_index, 0, None)], -np.inf)
        tied = ~equal & (native_proba.max(axis=1) - chosen <= PROBA_TOLERANCE)
        agreeing = equal | tied
        exact = float(np.mean(equal))
        agreement = float(np.mean(agreeing))
        diff = float(np.max(np.abs(outputs["probabilities"].astype(np.float64) - native_proba)))
        thresholds["max_abs_probability_diff"] = PROBA_TOLERANCE
        proba_ok = diff <= PROBA_TOLERANCE
        return ParityReport(
            passed=agreement >= LABEL_AGREEMENT_MIN and proba_ok and extra_ok,
            strict_passed=exact >= LABEL_AGREEMENT_MIN and proba_ok,
            label_agreement=agreement,
            exact_label_agreement=exact,
            tied_rows=int(tied.sum()),
            disagreeing_rows=int((~agreeing).sum()),
            max_abs_probability_diff=diff,
            perturbed_agreement=float(np.mean(agreeing[perturbed])) if perturbed.any() else None,
            thresholds=thresholds,
            tie_rule=TIE_RULE,
            how_measured=f"Predicted labels and class probabilities of the ONNX graph (onnxruntime) and the "
            f"native scikit-learn pipeline {described}.",
            **common,
        )
    native = pipeline.predict(rows)
    exported = outputs["prediction"].reshape(-1).astype(np.float64)
    gap = np.abs(exported - native)
    relative = gap / np.maximum(1.0, np.abs(native))
    within = relative <= REGRESSION_RELATIVE_TOLERANCE
    thresholds["relative_tolerance"] = REGRESSION_RELATIVE_TOLERANCE
    return ParityReport(
        passed=float(np.mean(within)) >= LABEL_AGREEMENT_MIN and extra_ok,
        within_tolerance_fraction=float(np.mean(within)),
        max_abs_diff=float(gap.max()),
        max_relative_diff=float(relative.max()),
        perturbed_agreement=float(np.mean(within[perturbed])) if perturbed.any() else None,
        thresholds=thresholds,
        how_measured=f"Predictions of the ONNX graph (onnxruntime) and the native scikit-learn pipeline "
        f"{described}; a prediction agrees when |onnx - native| <= 1e-4 * max(1, |native|).",
        **common,
    )


# --- issue 25 ---------------------------------------------------------------------------------------
def _uncertainty_parity(
    native: Any, rows: pd.DataFrame, outputs: dict[str, np.ndarray]
) -> tuple[bool, dict[str, Any] | None]:
    """The intervals, calibrated probabilities and sets of the graph against the native model's.

    Intervals: the regression rule on >= 99.9% of rows, relative to the bound's operands:
    |onnx - native| <= 1e-4 x max(1, |native bound|, |native prediction|, half width). A bound is the
    prediction plus or minus the half width, computed in float32 by the graph: where the two nearly
    cancel (diamonds at 60 s: a lower bound near 0 from a prediction near 500) the float32 rounding
    of the prediction is the whole bound, and relative to the bound alone a correct graph failed.
    Calibrated probabilities: every one within 1e-4. Sets: a row agrees when every class's 0/1 is
    the same, or differs only where the native probability is within 1e-4 of the set's threshold
    (float32 and float64 may fall either side of it); >= 99.9% of rows must agree.
    """
    fitted = getattr(native, "uncertainty", None)
    if fitted is None:
        return True, None
    expected = native.uncertainty_outputs(rows)
    missing = sorted(set(expected) - set(outputs))
    if missing:
        return False, {"passed": False, "missing_outputs": missing}
    report: dict[str, Any] = {"outputs": sorted(expected)}
    ok = True
    scores = fitted.calibrate(native.predict_proba(rows)) if fitted.is_classification else None
    # Regression: the predictions the bounds are built around (a bound's operand).
    center = (
        np.zeros(0)
        if fitted.is_classification
        else np.asarray(native.predict(rows), dtype=np.float64).reshape(-1)
    )
    for name, want in expected.items():
        got = np.asarray(outputs[name], dtype=np.float64).reshape(np.shape(want))
        if name.startswith(("lower_", "upper_")):
            width = float(fitted.half_widths[name.split("_", 1)[1]])
            scale = np.maximum.reduce(
                [np.ones_like(want), np.abs(want), np.abs(center), np.full_like(want, abs(width))]
            )
            relative = np.abs(got - want) / scale
            share = float(np.mean(relative <= REGRESSION_RELATIVE_TOLERANCE))
            report[name] = {"within_tolerance_fraction": share, "max_relative_diff": float(relative.max())}
            ok &= share >= LABEL_AGREEMENT_MIN
        elif name == "calibrated_probabilities":
            diff = float(np.max(np.abs(got - want)))
            report[name] = {"max_abs_probability_diff": diff}
            ok &= diff <= PROBA_TOLERANCE
        else:  # set_<L>
            threshold = fitted.set_thresholds[name.removeprefix("set_")]
            near = np.abs(np.asarray(scores) - threshold) <= PROBA_TOLERANCE
            agree = ((got == want) | near).all(axis=1)
            share = float(np.mean(agree))
            exact = float(np.mean((got == want).all(axis=1)))
            report[name] = {"row_agreement": share, "exact_row_agreement": exact}
            ok &= share >= LABEL_AGREEMENT_MIN
    report["passed"] = bool(ok)
    return bool(ok), report


# --- end issue 25 -----------------------------------------------------------------------------------


def parity_error(report: ParityReport) -> ExportParityFailedError:
    """The error that fails the Export step for a failed report, with the measured figures."""
    needed = f">= {LABEL_AGREEMENT_MIN:.1%} agreement" + (
        f", probability difference <= {PROBA_TOLERANCE:g}" if report.label_agreement is not None else ""
    )
    return ExportParityFailedError(
        f"The ONNX model does not reproduce the trained model: {report.figures()} (needed: {needed})",
        fix="model/parity.json has the details. Restrict the manifest's 'estimators' to another model "
        "family (for example rf) and run again.",
    )


def check_parity(
    pipeline: Any,
    onnx_model: onnx.ModelProto,
    raw_rows: pd.DataFrame,
    problem_type: ProblemType | str,
) -> ParityReport:
    """:func:`measure_parity`, raising when the graph and the native model disagree.

    Raises
    ------
    ExportParityFailedError
        With the measured figures.
    """
    report = measure_parity(pipeline, onnx_model, raw_rows, problem_type)
    if not report.passed:
        raise parity_error(report)
    return report


def parity_summary(report: ParityReport) -> dict[str, Any]:
    """The parity verdict as carried in the model's metadata (the full report is parity.json)."""
    keys = (
        "passed",
        "strict_passed",
        "rows",
        "label_agreement",
        "exact_label_agreement",
        "max_abs_probability_diff",
        "within_tolerance_fraction",
        "max_relative_diff",
        "checked_at",
    )
    data = report.model_dump()
    return {k: data[k] for k in keys if data.get(k) is not None}
