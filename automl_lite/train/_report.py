"""``training/report.html``: scores, diagnostic pictures and the search, in one self-contained page."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
from sklearn import metrics as skm

from automl_lite.html import charts
from automl_lite.html.charts import Series
from automl_lite.html.page import (
    Figure,
    Section,
    Table,
    format_value,
    render_page,
)
from automl_lite.train._uncertainty_report import uncertainty_section

if TYPE_CHECKING:
    from automl_lite.train._metrics import RareClasses, TrainingMetrics, TrainingOutcome

#: Classes drawn in per-class ROC / PR pictures (more would be unreadable).
MAX_CURVES = 10


def _confusion(outcome: TrainingOutcome, names: list[str]) -> Figure:
    labels = list(range(len(names)))
    matrix = skm.confusion_matrix(outcome.y_test, outcome.test_prediction, labels=labels)
    uri = charts.confusion_matrix(names, matrix, title="Confusion matrix (test split)")
    return Figure(uri, "Confusion matrix on the test split", "Confusion matrix (test split, counts).")


def _curves(outcome: TrainingOutcome, names: list[str]) -> list[Figure]:
    proba = outcome.test_proba
    if proba is None:
        return []
    binary = len(names) == 2
    targets = [1] if binary else list(range(min(len(names), MAX_CURVES)))
    roc: list[Series] = []
    pr: list[Series] = []
    for k in targets:
        truth = (outcome.y_test == k).astype(int)
        if truth.min() == truth.max():
            continue  # the class is absent from (or alone in) the test split: no curve
        fpr, tpr, _ = skm.roc_curve(truth, proba[:, k])
        precision, recall, _ = skm.precision_recall_curve(truth, proba[:, k])
        label = names[k] if not binary else f"positive class {names[k]}"
        color = charts.PALETTE[len(roc) % len(charts.PALETTE)]
        roc.append(Series(f"{label} (AUC {skm.auc(fpr, tpr):.3f})", fpr, tpr, color=color))
        ap = skm.average_precision_score(truth, proba[:, k])
        pr.append(Series(f"{label} (AP {ap:.3f})", recall, precision, color=color))
    roc.append(Series("", [0, 1], [0, 1], color=charts.REFERENCE_COLOR, dashed=True))
    how = "" if binary else " (one class against the rest)"
    unit = (0.0, 1.0)
    return [
        Figure(
            charts.xy_chart(
                roc,
                title="ROC curve",
                x_label="false positive rate",
                y_label="true positive rate",
                x_range=unit,
                y_range=unit,
            ),
            "ROC curve on the test split",
            f"ROC curve{how}, test split.",
        ),
        Figure(
            charts.xy_chart(
                pr,
                title="Precision-recall curve",
                x_label="recall",
                y_label="precision",
                x_range=unit,
                y_range=unit,
            ),
            "Precision-recall curve on the test split",
            f"Precision-recall curve{how}, test split.",
        ),
    ]


def _regression_figures(outcome: TrainingOutcome) -> list[Figure]:
    actual, predicted = (
        np.asarray(outcome.y_test, dtype=float),
        np.asarray(outcome.test_prediction, dtype=float),
    )
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    scatter = charts.xy_chart(
        [
            Series("", actual, predicted, kind="points"),
            Series("", [low, high], [low, high], color=charts.REFERENCE_COLOR, dashed=True),
        ],
        title="Predicted against actual",
        x_label="actual",
        y_label="predicted",
        width=420,
        height=380,
    )
    residuals = charts.xy_chart(
        [
            Series("", predicted, actual - predicted, kind="points"),
            Series("", [predicted.min(), predicted.max()], [0, 0], color=charts.REFERENCE_COLOR, dashed=True),
        ],
        title="Residuals",
        x_label="predicted",
        y_label="actual - predicted",
    )
    return [
        Figure(scatter, "Predicted against actual values", "Predicted against actual (test split)."),
        Figure(residuals, "Residuals against predicted values", "Residuals (test split)."),
    ]


def _importance_figure(outcome: TrainingOutcome) -> Figure | None:
    table = outcome.importance.head(20)
    if table.empty:
        return None
    uri = charts.signed_bars(
        table["column"].astype(str).tolist(),
        table["importance"].tolist(),
        table["std"].tolist(),
        title="Permutation importance",
        x_label=f"drop in {outcome.metrics.metric} when the column is shuffled",
    )
    how = outcome.metrics.importance
    return Figure(
        uri,
        "Permutation importance",
        f"Permutation importance on {how.get('rows', 'the')} test rows "
        f"({how.get('repeats', 5)} shuffles per column).",
    )


def _search_figure(outcome: TrainingOutcome) -> Figure | None:
    history = outcome.search_history
    if history.empty:
        return None
    series = [
        Series(str(name), trials["wall_clock_s"], trials["validation_loss"], kind="points")
        for name, trials in history.groupby("estimator")
    ]
    series.append(
        Series(
            "best so far", history["wall_clock_s"], history["best_loss_so_far"], kind="step", color="#1f2328"
        )
    )
    finite = history["validation_loss"][np.isfinite(history["validation_loss"])]
    top = float(np.quantile(finite, 0.95)) * 1.05 + 1e-12 if len(finite) > 3 else None
    uri = charts.xy_chart(
        series,
        title="Search progress",
        x_label="search time (s)",
        y_label="validation loss (FLAML)",
        y_range=(None, top),
        width=600,
        height=340,
    )
    return Figure(uri, "Search progress", "Every trial's validation loss over time, and the best so far.")


def _rare_classes_text(rare: RareClasses | None) -> str:
    """The rare-class rule's outcome in one paragraph (empty when no class was rare)."""
    if rare is None:
        return ""
    listed = ", ".join(f"{name} ({rows} rows)" for name, rows in rare.classes.items())
    more = rare.n_classes - len(rare.classes)
    return (
        f"Rare classes: {rare.n_classes} classes ({rare.rows} rows) have fewer than "
        f"{rare.min_rows_to_test} rows and stay whole in the training split, so the test scores do not "
        f"cover them: {listed}{f' and {more} more' if more > 0 else ''}. {rare.rule}"
    )


def _exported_model(metrics: TrainingMetrics) -> str:
    """What the exported model is, with its members' estimators (FLAML's best may not be one)."""
    names = list(dict.fromkeys(m.estimator for m in metrics.model.members))
    return metrics.model.kind + (f" ({', '.join(names)})" if names else "")


def _ensemble_section(metrics: TrainingMetrics) -> Section | None:
    """The ensemble step: kept or dropped and why, the members and their weights, the gain, the label rule."""
    record = metrics.ensemble
    if not record:
        return None
    decision = metrics.decision
    paragraphs = [
        f"{'Kept' if record.get('kept') else 'Not used'}: {record.get('reason', '')}. {record.get('method', '')}; "
        f"{record.get('keep_rule', '')}. Validation: {record.get('validation', '')}.",
    ]
    if record.get("gain") is not None:
        paragraphs.append(
            f"Out-of-fold {metrics.metric}: best single model ({record.get('best_single')}) "
            f"{format_value(abs(record['best_single_oof_loss']))}, ensemble "
            f"{format_value(abs(record['ensemble_oof_loss']))}; gain {format_value(record['gain'])} "
            f"(needed {format_value(record.get('needed_gain'))})."
        )
    paragraphs.append(f"Optimised: {decision.optimised}. Final label: {decision.label}.")
    table = Table(
        ["estimator", "weight", "configuration"],
        [
            [m.estimator, format_value(m.weight), json.dumps(m.config, sort_keys=True)]
            for m in metrics.model.members
        ],
        caption="The exported model's members (one member: the best single model)",
    )
    return Section("Ensemble and decision", paragraphs=paragraphs, tables=[table])


def render_training_report(outcome: TrainingOutcome, *, run_id: str | None = None) -> str:
    """The training report as self-contained HTML."""
    metrics = outcome.metrics
    split, search = metrics.split, metrics.search
    names = metrics.classes
    scores = Table(
        ["metric", "test score"],
        [[name, format_value(value)] for name, value in metrics.test_scores.items()],
        caption=metrics.how_measured,
    )
    sections = [
        Section(
            "Result",
            facts=[
                ("problem", metrics.problem_type),
                ("target", metrics.target),
                ("best model", metrics.best_estimator),
                ("exported model", _exported_model(metrics)),
                (f"test {metrics.metric}", format_value(metrics.test_scores.get(metrics.metric))),
                ("rows (train / test)", f"{split.train_rows} / {split.test_rows}"),
                (
                    "search",
                    f"{search.trials} trials, {search.search_time_s:.1f} s of {search.time_budget_s} s",
                ),
            ],
            paragraphs=[
                text
                for text in (
                    f"Metric optimised: {metrics.metric} ({metrics.metric_direction}). Test split: {split.how}, "
                    f"seed {split.seed}. The exported model is the same configuration refitted on all "
                    f"{split.rows_used} rows.",
                    f"Class imbalance: {metrics.class_imbalance}." if metrics.class_imbalance else "",
                    _rare_classes_text(metrics.rare_classes),
                    search.budget_note,
                )
                if text
            ],
            tables=[scores],
        )
    ]
    if names is not None:
        sections.append(
            Section("Errors by class", figures=[_confusion(outcome, names), *_curves(outcome, names)])
        )
    else:
        sections.append(Section("Errors", figures=_regression_figures(outcome)))
    sure = uncertainty_section(outcome)  # issue 25: intervals / calibration / sets
    if sure is not None:
        sections.append(sure)
    importance = _importance_figure(outcome)
    sections.append(
        Section(
            "What the model relies on",
            paragraphs=["How much the test score drops when one column's values are shuffled across rows."],
            figures=[importance] if importance else [],
            tables=[
                Table(
                    ["column", "importance", "std"],
                    [
                        [r.column, format_value(r.importance), format_value(r.std)]
                        for r in outcome.importance.itertuples()
                    ],
                )
            ],
        )
    )
    ensemble = _ensemble_section(metrics)
    if ensemble is not None:
        sections.append(ensemble)
    board = outcome.leaderboard
    search_fig = _search_figure(outcome)
    sections.append(
        Section(
            "Search",
            paragraphs=[
                f"FLAML searched {', '.join(search.estimators)} for {search.search_time_s:.1f} s "
                f"({metrics.validation['method']} validation inside the training split). "
                "Validation scores choose the model; only the test scores above measure it."
            ],
            tables=[
                Table(
                    list(board.columns),
                    [[format_value(v) for v in row] for row in board.itertuples(index=False)],
                    caption="Best result per estimator",
                    highlight_rows=frozenset({0}) if len(board) else frozenset(),
                )
            ],
            figures=[search_fig] if search_fig else [],
        )
    )
    subtitle = f"Run {run_id}" if run_id else None
    return render_page(f"Training report: {metrics.target}", sections, subtitle=subtitle)
