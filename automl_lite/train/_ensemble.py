"""After the search: an ensemble of the search's best configurations, and the decision threshold.

What happens between FLAML's search and the refits of :func:`automl_lite.train.train`:

1. **Candidates.** FLAML's overall best comes first; then, on cross-validated data (up to
   ``CV_MAX_ROWS`` training rows), a small **portfolio** of strong fixed
   configurations (:func:`automl_lite.train._candidates.portfolio`: a linear model on
   standardised inputs, LightGBM with many slow trees, a deep random forest, deep extra trees),
   whatever the search found; the linear model's regularisation strength is the one of
   :data:`~automl_lite.train._linear.LINEAR_STRENGTHS` with the lowest out-of-fold loss; then, from the
   search log (every trial), each estimator's best :data:`TOP_K_PER_ESTIMATOR` distinct
   configurations in order of validation loss. A candidate is fitted while its cost (out-of-fold
   fits now, two refits later) fits in the time the budget plan left
   (:func:`automl_lite.train.plan_budget` reserves :data:`ENSEMBLE_BUDGET_SHARE`, and adds what the
   search left unused when it converged early): estimated from its search trial, or, for the
   portfolio, measured on its first fold (a probe fit on large data), the candidate being dropped
   as soon as it would end too late.
2. **Out-of-fold predictions** of every candidate on the training split, with the search's own
   validation scheme (5 stratified folds up to ``CV_MAX_ROWS`` training rows, a 10% holdout
   above), on the inputs FLAML searched on. Rows of classes with fewer rows than folds stay in
   every fitting part and are not scored.
3. **Greedy ensemble selection with replacement** (Caruana et al., 2004): start from the best
   single candidate, add the candidate whose addition improves the metric most (probabilities
   averaged for classification, values averaged for regression), :data:`SELECTION_ROUNDS`
   times; the weights are how often each candidate was picked.
4. **Kept only if it helps**: the ensemble replaces the best single model only when its
   out-of-fold loss is lower by at least :data:`MIN_RELATIVE_GAIN` of the best single loss
   (and :data:`MIN_ABSOLUTE_GAIN`); otherwise it is dropped and the record says why. When the
   selection keeps one candidate that is not FLAML's best (the linear model on data a linear
   model separates well) and it beats FLAML's best by the same margin, that candidate alone is
   the model.
5. **Decision threshold** (binary, metric accuracy or f1): tuned on the same out-of-fold
   probabilities of the chosen model; the model then predicts the positive class when its
   probability reaches the threshold (:class:`ThresholdClassifier`), and the ONNX graph
   computes its label the same way (:func:`automl_lite.export.export_onnx`).

The chosen model is a scikit-learn ``VotingClassifier`` (soft voting) / ``VotingRegressor``
with the selection's weights, which skl2onnx converts into one graph: each member's trees (or the
linear member's scaler and linear model), then the weighted sum.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier, VotingRegressor

from automl_lite.artifacts import jsonable
from automl_lite.problem import Metric, ProblemType
from automl_lite.train._budget import MAX_EXPORT_NODES
from automl_lite.train._candidates import (
    HOLDOUT_RATIO,
    N_SPLITS,
    Candidate,
    OutOfTime,
    candidates_from_log,
    folds,
    out_of_fold,
    portfolio,
    tuned_linear,
)
from automl_lite.train._linear import LINEAR, linear_estimator
from automl_lite.train._model_size import ExportTally
from automl_lite.train._search import FOREST_MIN_TREES_FOR_PROBABILITIES, native_estimator
from automl_lite.train._selection import (
    MIN_ABSOLUTE_GAIN,
    MIN_RELATIVE_GAIN,
    greedy_selection,
    metric_loss,
    tune_threshold,
)
from automl_lite.train._threshold import ThresholdClassifier

#: Most candidates in one selection (out-of-fold fits cost time), the portfolio's included.
MAX_CANDIDATES = 12


@dataclass
class EnsembleResult:
    """What the post-search step chose, and the record of how (``metrics.json``'s ``ensemble``)."""

    #: The estimator to fit (unfitted): the best single, a voting ensemble, either maybe thresholded.
    estimator: Any
    #: Estimator names of the fitted model, for ``NativeModel.estimator`` ("ensemble" when kept).
    name: str
    record: dict[str, Any]
    threshold_record: dict[str, Any] | None
    #: (estimator name, config, weight) of the members (the best single alone when dropped).
    members: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    #: issue 25: the chosen model's out-of-fold predictions and their truth (None when not computed),
    #: which the conformal intervals and the calibration are fitted on (``_conformal.py``).
    oof: np.ndarray | None = None
    oof_y: np.ndarray | None = None

    def summary(self) -> dict[str, Any]:
        """``metrics.json``'s ``model``: what the exported model is."""
        return {
            "kind": "ensemble" if self.name == "ensemble" else "single model",
            "members": [{"estimator": n, "weight": round(w, 4), "config": c} for n, c, w in self.members],
            "threshold": self.estimator.threshold
            if isinstance(self.estimator, ThresholdClassifier)
            else None,
        }


def _member_estimator(
    candidate: Candidate, problem: ProblemType, learner_classes: dict[str, Any], forest_floor: dict[str, Any]
) -> Any:
    config = dict(candidate.config)
    if (
        candidate.estimator in forest_floor
        and config.get("n_estimators", 0) < FOREST_MIN_TREES_FOR_PROBABILITIES
    ):
        config["n_estimators"] = FOREST_MIN_TREES_FOR_PROBABILITIES
    candidate.config = config
    if candidate.estimator == LINEAR:
        return linear_estimator(problem, config)
    return native_estimator(candidate.estimator, config, problem, learner_classes[candidate.estimator])


def voting(members: list[tuple[str, Any]], weights: Sequence[float], problem: ProblemType) -> Any:
    """A soft-voting classifier / weighted-mean regressor over unfitted members (skl2onnx converts both)."""
    w = np.asarray(weights, dtype=np.float64)
    if problem.is_classification:
        return VotingClassifier(members, voting="soft", weights=w, flatten_transform=False)
    return VotingRegressor(members, weights=w)


def build(
    *,
    best_estimator: Any,
    best_name: str,
    best_config: dict[str, Any],
    log_path: Path,
    learner_classes: dict[str, Any],
    forest_floor: dict[str, Any],
    x: Any,
    y: np.ndarray,
    weights: np.ndarray | None,
    problem: ProblemType,
    metric: Metric,
    n_classes: int,
    cv: bool,
    seed: int,
    time_limit_s: float,
    enabled: bool = True,
    min_relative_gain: float = MIN_RELATIVE_GAIN,
    refit_scale: float = 1.0,
    export_seconds: Callable[[Any, float], float] | None = None,
    max_export_nodes: int | None = MAX_EXPORT_NODES,
) -> EnsembleResult:
    """Choose between the best single model and an ensemble; tune the binary threshold.

    ``x`` are the inputs FLAML searched on (preprocessed training split, or its sample on large
    data), ``time_limit_s`` the seconds this step and the later refits of the members may take;
    ``refit_scale`` is how many times more rows the refits fit than ``x`` holds. ``export_seconds``:
    the seconds the Export step will take to convert a fitted model (given a fold's model and how
    many more rows the refit fits), counted in the time limit for every candidate kept; a
    candidate whose export would end past it is left out (issue 24: birds' ensemble of 1.3 million
    nodes took 12 s to export, a third of the run's grace). ``max_export_nodes``: a candidate whose
    trees would take the model past this many nodes is left out too (the Export step's memory).
    Never raises for a
    candidate that fails to fit (it is left out and recorded).
    """
    started = time.monotonic()
    n_train = len(y)
    tune = problem is ProblemType.BINARY and metric.tunes_threshold
    record: dict[str, Any] = {
        "method": "greedy ensemble selection with replacement (Caruana et al., 2004) over out-of-fold "
        "predictions of the search's best configurations and a portfolio of fixed strong ones (a "
        "linear model, many slow LightGBM trees, deep random and extra-trees forests), soft voting (classification) or "
        "weighted mean (regression) with the selection's weights",
        "validation": f"{N_SPLITS}-fold cross-validation"
        if cv
        else f"holdout ({HOLDOUT_RATIO:.0%} of the training split)",
        "keep_rule": f"kept when its out-of-fold loss is below the best single model's by at least "
        f"{min_relative_gain:.2%} (and {MIN_ABSOLUTE_GAIN:g})",
        "time_limit_s": round(time_limit_s, 3),
    }
    single = EnsembleResult(best_estimator, best_name, record, None, [(best_name, best_config, 1.0)])
    if not enabled and not tune:
        record.update(kept=False, reason="not attempted: disabled")
        return _with_threshold(single, None, y, metric, False, record)
    # The rows first: a reason that holds whatever the budget says more than "no time left".
    parts = folds(y, problem, n_train, cv, seed)
    if not parts:
        record.update(
            kept=False,
            reason=f"not attempted: too few rows in classes of at least {N_SPLITS} rows "
            "for out-of-fold predictions",
        )
        return _with_threshold(single, None, y, metric, False, record)
    if time_limit_s <= 0:
        record.update(
            kept=False,
            reason="not attempted: " + ("disabled" if not enabled else "no time left in the budget"),
        )
        return _with_threshold(single, None, y, metric, False, record)
    scored = np.concatenate([b for _, b in parts])
    candidates = candidates_from_log(log_path, best_name, best_config, n_train)
    if not enabled:  # the threshold alone: only the best configuration's out-of-fold predictions
        candidates = candidates[:1]
    else:  # the portfolio right after FLAML's best: it does not depend on how far the search got
        # Cross-validated (small) data only: on diamonds (43,000 rows, the holdout scheme) the deep
        # forest's refits took 100 s where its probe fit promised a third of that, breaking the
        # Train step's contract; there the search's own candidates stay.
        extra = (
            portfolio(problem, n_train, int(np.shape(x)[1]), list(learner_classes), n_classes) if cv else []
        )
        candidates = [candidates[0], *extra, *candidates[1:]][:MAX_CANDIDATES]
    # A search trial is N_SPLITS fits on 4/5 of the rows (cv) or one fit on 9/10 (holdout): the
    # out-of-fold fits of a candidate cost about one trial, its two refits (training split, all rows)
    # about refit_factor trials.
    refit_factor = (1.0 / N_SPLITS if cv else 1.0) * 2.5 * refit_scale
    refits_s = 0.0
    # Seconds the Export step will take for the candidates kept so far (their trees).
    exports = ExportTally(export_seconds, max_export_nodes, refit_scale * n_train / max(1, len(parts[0][0])))
    predictions: list[np.ndarray] = []
    used: list[Candidate] = []
    estimators: list[Any] = []
    failures: list[str] = []
    skipped = 0
    # Measured seconds of out-of-fold fits per second of search trial (the machine may be busier
    # now than during the search): scales the estimates of the candidates still to come.
    pace = 1.0
    for i, candidate in enumerate(candidates):
        elapsed = time.monotonic() - started
        # The best configuration is refitted anyway (its refits are in the plan's reserve). A
        # portfolio candidate's cost is unknown until its first fold is fitted (the deadline below).
        known = math.isfinite(candidate.trial_time_s)
        cost = pace * candidate.trial_time_s * (1.0 + (refit_factor if i else 0.0)) if known else 0.0
        if elapsed + cost + refits_s + exports.seconds > time_limit_s:
            skipped += 1
            if i == 0:  # without the best configuration's predictions there is nothing to compare
                break
            continue
        estimator = (
            best_estimator if i == 0 else _member_estimator(candidate, problem, learner_classes, forest_floor)
        )
        clock = time.monotonic()
        # The fits stop as soon as they (and the refits they would need) cannot end in time.
        deadline = None if i == 0 else started + time_limit_s - refits_s - exports.seconds
        fold_model: list[Any] = []
        try:
            if candidate.estimator == LINEAR:
                estimator, oof = tuned_linear(
                    candidate, problem, x, y, weights, parts, n_classes, metric, deadline, 1.0 + refit_factor
                )
            else:
                oof = out_of_fold(
                    estimator,
                    x,
                    y,
                    weights,
                    parts,
                    n_classes,
                    deadline=deadline,
                    overhead=1.0 + refit_factor,
                    probe=not known,
                    fitted=fold_model,
                )
        except OutOfTime:
            skipped += 1
            continue
        except Exception as exc:  # a configuration that fails here is simply not a member
            failures.append(f"{candidate.estimator}: {type(exc).__name__}")
            if i == 0:
                break
            continue
        candidate.oof_loss = metric_loss(metric, y[scored], oof[scored], n_classes)
        spent = time.monotonic() - clock
        if known:
            pace = max(pace, spent / max(candidate.trial_time_s, 1e-3))
            refit_s = pace * candidate.trial_time_s * refit_factor if i else 0.0
        else:  # its out-of-fold fits cost about one search trial
            refit_s = spent * refit_factor
        priced = exports.price(fold_model[0] if fold_model else None, required=i == 0)
        if priced is None:  # the model would be too large for the Export step to convert
            skipped += 1
            continue
        export, nodes = priced
        if i and time.monotonic() - started + refits_s + refit_s + exports.seconds + export > time_limit_s:
            skipped += 1  # its refits and its export would end past the limit
            continue
        if not known:
            candidate.trial_time_s = spent
        refits_s += refit_s
        exports.add(export, nodes)
        predictions.append(oof[scored])
        used.append(candidate)
        estimators.append(estimator)
    record["skipped_for_time"] = skipped
    record.update(exports.record())
    record["candidates"] = [
        {
            "estimator": c.estimator,
            "source": c.source,
            "search_validation_loss": None if not math.isfinite(c.validation_loss) else c.validation_loss,
            "oof_loss": c.oof_loss,
            "config": c.config,
        }
        for c in used
    ]
    record["candidates_considered"] = len(candidates)
    if failures:
        record["failed_candidates"] = failures
    if not used:
        record.update(
            kept=False,
            reason="the out-of-fold fits of the best configuration "
            + ("failed" if failures else "did not fit in the time left"),
        )
        return _with_threshold(single, None, y, metric, False, record)
    if len(used) < 2:
        record.update(
            kept=False,
            reason="disabled" if not enabled else "fewer than two candidates fitted in the time left",
        )
        return _with_threshold(single, predictions[0], y[scored], metric, tune, record)
    counts, trajectory = greedy_selection(predictions, y[scored], metric, n_classes)
    oof_losses = [math.inf if c.oof_loss is None else c.oof_loss for c in used]
    best_index = int(np.argmin(oof_losses))
    best_single = oof_losses[best_index]
    ensemble_loss = float(trajectory[-1])
    weights_norm = counts / counts.sum()
    blended = sum(w * p for w, p in zip(weights_norm, predictions, strict=True))
    gain = best_single - ensemble_loss
    needed = max(MIN_ABSOLUTE_GAIN, min_relative_gain * abs(best_single))
    members = [
        (used[i].estimator, used[i].config, float(weights_norm[i])) for i in range(len(used)) if counts[i] > 0
    ]
    record.update(
        best_single_oof_loss=best_single,
        best_single=used[best_index].estimator,
        ensemble_oof_loss=ensemble_loss,
        gain=gain,
        relative_gain=gain / abs(best_single) if best_single else None,
        needed_gain=needed,
        selection_trajectory=[round(t, 6) for t in trajectory],
        members=[{"estimator": n, "weight": round(w, 4), "config": c} for n, c, w in members],
        loss_note=f"losses are {metric.name}"
        + (" negated (lower is better)" if metric.greater_is_better else ""),
    )
    if not (math.isfinite(best_single) and math.isfinite(ensemble_loss)):
        record.update(kept=False, reason=f"out-of-fold {metric.name} is undefined on these rows")
        return _with_threshold(single, predictions[0], y[scored], metric, tune, record)
    flaml_loss = oof_losses[0]
    beats_flaml = flaml_loss - best_single >= max(MIN_ABSOLUTE_GAIN, min_relative_gain * abs(flaml_loss))
    if (counts > 0).sum() < 2 and best_index != 0 and beats_flaml:
        # The selection kept one candidate, not FLAML's best, and it beats FLAML's best by the margin
        # (penguins_raw: the linear member's out-of-fold log loss 0.0036, FLAML's LightGBM 0.026).
        chosen = used[best_index]
        record.update(
            kept=False,
            reason=f"the selection kept a single model, {chosen.estimator}, whose out-of-fold "
            f"{metric.name} beats FLAML's best by {flaml_loss - best_single:.4g}: it is the model",
        )
        alone = EnsembleResult(
            clone(estimators[best_index]),
            chosen.estimator,
            record,
            None,
            [(chosen.estimator, chosen.config, 1.0)],
        )
        return _with_threshold(alone, predictions[best_index], y[scored], metric, tune, record)
    if (counts > 0).sum() < 2 or gain < needed:
        record.update(
            kept=False,
            reason="the selection kept a single model"
            if (counts > 0).sum() < 2
            else f"the ensemble's out-of-fold gain {gain:.4g} is below the needed {needed:.4g}",
        )
        # FLAML's choice stays the model (the selection could not beat it by the margin).
        return _with_threshold(single, predictions[0], y[scored], metric, tune, record)
    named = []
    for i in range(len(used)):
        if counts[i]:
            named.append((f"{used[i].estimator}_{i}", clone(estimators[i])))
    ensemble = voting(named, [float(counts[i]) for i in range(len(used)) if counts[i]], problem)
    record.update(kept=True, reason=f"out-of-fold {metric.name} improved by {gain:.4g} (needed {needed:.4g})")
    record["search_time_s"] = round(time.monotonic() - started, 3)
    result = EnsembleResult(ensemble, "ensemble", record, None, members)
    return _with_threshold(result, blended, y[scored], metric, tune, record)


def _with_threshold(
    result: EnsembleResult,
    oof: np.ndarray | None,
    y: np.ndarray,
    metric: Metric,
    tune: bool,
    record: dict[str, Any],
) -> EnsembleResult:
    record.setdefault("search_time_s", None)
    record.update(jsonable(record))  # metrics.json is strict JSON: no inf or NaN
    if oof is not None:  # issue 25: kept for the conformal step
        result.oof, result.oof_y = oof, y
    if not tune or oof is None:
        result.threshold_record = {
            "tuned": False,
            "label_rule": "the class with the highest probability"
            if not metric.is_regression
            else "not applicable (regression)",
        }
        return result
    proba = oof / np.clip(oof.sum(axis=1, keepdims=True), 1e-15, None)
    threshold, tuned, base = tune_threshold(proba[:, 1], y, metric)
    result.threshold_record = {
        "tuned": threshold != 0.5,
        "threshold": threshold,
        f"oof_{metric.name}_at_threshold": tuned,
        f"oof_{metric.name}_at_0.5": base,
        "label_rule": f"the positive class when its probability is >= {threshold:.6g} "
        f"(tuned for {metric.name} on out-of-fold predictions; the ONNX graph applies the same rule)",
    }
    if threshold != 0.5:
        result.estimator = ThresholdClassifier(result.estimator, threshold)
    return result
