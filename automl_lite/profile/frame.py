"""The profile of a dataset (pure: frame in, the body of ``eda/profile.json`` out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from automl_lite import rules
from automl_lite.contracts import ColumnKind
from automl_lite.data.columnar import Scan
from automl_lite.profile.artifact import ProfileArtifact
from automl_lite.profile.association import correlations, target_association
from automl_lite.profile.leakage import leakage_warnings
from automl_lite.profile.problem_type import detect_problem_type, fmt_values
from automl_lite.profile.screening import infer_kind, screen_columns
from automl_lite.profile.statistics import numeric_summaries, profile_column, target_summary

#: eda/profile.json's schema version (its home: ProfileArtifact).
PROFILE_SCHEMA_VERSION = ProfileArtifact.SCHEMA_VERSION


def profile_frame(
    frame: pd.DataFrame,
    *,
    target: str,
    requested_problem_type: str = "auto",
    exclude_columns: Sequence[str] = (),
    scan: Scan | None = None,
) -> dict[str, Any]:
    """Profile a dataset: problem type, screening decisions, per-column statistics and warnings.

    Pure (no I/O). Returns the body of ``eda/profile.json`` without the metric and
    run facts (see :func:`profile_run`).

    With ``scan`` (one streaming pass over a file, :func:`automl_lite.data.columnar.scan_csv_file`),
    ``frame`` is ``scan.sample``: the problem type, the target summary, row counts,
    duplicate rows and the per-column counts are the whole file's; value shapes,
    quantiles, mutual information, correlations and leakage are judged on the sample.

    Raises
    ------
    TargetMissingError
        ``target`` is not a column.
    TargetInvalidError, SingleClassTargetError
        The target cannot be learned (see :func:`detect_problem_type`).
    """
    rules.require_target_column(target, list(frame.columns))
    full_target = frame[target] if scan is None else scan.target
    stats = None if scan is None else scan.columns
    problem_type, reason = detect_problem_type(full_target, requested_problem_type)
    decisions = screen_columns(frame, target, exclude_columns, stats=stats)
    kinds = {d.name: d.kind for d in decisions}
    target_kind = infer_kind(full_target)[0] if full_target.notna().any() else ColumnKind.CATEGORICAL
    association = target_association(frame, target, decisions, problem_type)
    numbers = numeric_summaries(frame, list(frame.columns))
    columns = [
        profile_column(
            frame[name],
            kinds.get(name, target_kind),
            None if stats is None else stats[name],
            numbers.get(name),
        )
        | {"is_target": name == target}
        | ({"target_association": association[name]} if name in association else {})
        for name in frame.columns
    ]
    warnings = leakage_warnings(frame, target, decisions, problem_type)
    n_rows = len(frame) if scan is None else scan.n_rows
    n_missing_target = int(full_target.isna().sum())
    if n_missing_target:
        warnings.append(
            f"{n_missing_target} of {n_rows} rows have no {target!r} value; they are left out of training."
        )
    duplicate_rows = int(frame.duplicated().sum()) if scan is None else scan.duplicate_rows
    if duplicate_rows:
        warnings.append(
            f"{duplicate_rows} rows are exact duplicates of earlier rows; they may repeat across the "
            "training and holdout splits and flatter the holdout score."
        )
    summary = target_summary(full_target, problem_type)
    if problem_type.is_classification:
        classes = summary["classes"]
        smallest = classes[-1]
        if smallest["share"] is not None and smallest["share"] < 0.05:
            warnings.append(
                f"The classes are imbalanced: {smallest['value']!r} is only {smallest['share']:.1%} of the rows "
                f"({smallest['count']})."
            )
        tiny = [c["value"] for c in classes if c["count"] < 2]
        if tiny:
            warnings.append(
                f"Class(es) {fmt_values(tiny)} occur only once; a model cannot be evaluated on them."
            )
    used = {d.name for d in decisions if d.use}
    for col in columns:
        if col["name"] in used and col["missing_share"] >= 0.5:
            warnings.append(f"Column {col['name']!r} is {col['missing_share']:.0%} missing.")
    return {
        "schema_version": PROFILE_SCHEMA_VERSION,
        "target": target,
        "problem_type": problem_type.value,
        "problem_type_reason": reason,
        "n_rows": n_rows,
        "n_columns": int(frame.shape[1]),
        "n_rows_with_target": n_rows - n_missing_target,
        "duplicate_rows": duplicate_rows,
        "target_summary": summary,
        "decisions": [d.model_dump(mode="json") for d in decisions],
        "feature_columns": [d.name for d in decisions if d.use],
        "columns": columns,
        "correlations": correlations(frame, decisions, target, problem_type),
        "warnings": warnings,
        # Which facts rest on a sample (see docs/profile.md, "Scale").
        "sample": {"rows": len(frame), "of_rows": n_rows, "sampled": len(frame) < n_rows},
    }
