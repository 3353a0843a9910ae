"""The Profile step (EDA): the problem-type rule, column screening, the profile and its report.

One module per job; the pure ones take a frame and return a result, without I/O:

- :mod:`~automl_lite.profile.problem_type`: :func:`detect_problem_type`, THE rule that decides
  binary, multiclass or regression;
- :mod:`~automl_lite.profile.screening`: :func:`screen_columns`, which columns train and why the
  others are left out (:func:`infer_kind`, :func:`identifier_reason`, quasi-constant columns);
- :mod:`~automl_lite.profile.leakage`: :func:`leakage_warnings`, columns that give the target away;
- :mod:`~automl_lite.profile.statistics`: :func:`profile_column`, per-column statistics;
- :mod:`~automl_lite.profile.association`: correlations and :func:`target_association`
  (mutual information with the target);
- :mod:`~automl_lite.profile.codes`: the discretisations leakage and association share, many
  columns at a time;
- :mod:`~automl_lite.profile.frame`: :func:`profile_frame`, the body of ``eda/profile.json``;
- :mod:`~automl_lite.profile.report`: :func:`render_eda_report`, ``eda/report.html``;
- :mod:`~automl_lite.profile.artifact`: :class:`ProfileArtifact`, the typed ``eda/profile.json``;
- :mod:`~automl_lite.profile.step`: :func:`profile_run`, the step: it reads the run's CSV from S3,
  applies them, resolves the metric, writes ``eda/profile.json`` and ``eda/report.html`` and
  returns the :class:`~automl_lite.contracts.ProfileResult` training needs.

The rules are documented for users in ``docs/profile.md``; keep the two in step.
"""

from automl_lite.profile.artifact import ProfileArtifact
from automl_lite.profile.association import mutual_information, target_association
from automl_lite.profile.frame import PROFILE_SCHEMA_VERSION, profile_frame
from automl_lite.profile.leakage import (
    binned_skill,
    column_skills,
    leakage_warnings,
    presence_purity,
    ratio_leaks,
    single_column_skill,
)
from automl_lite.profile.problem_type import (
    MAX_CLASSES,
    MAX_NUMERIC_CLASSES,
    MIN_NUMERIC_CLASS_COUNT,
    detect_problem_type,
)
from automl_lite.profile.report import render_eda_report
from automl_lite.profile.screening import (
    MIN_ROWS_FOR_JUDGEMENT,
    identifier_reason,
    infer_kind,
    rare_values_inform,
    screen_columns,
)
from automl_lite.profile.statistics import profile_column
from automl_lite.profile.step import profile_file, profile_run, resolve_run_metric

__all__ = [
    "MAX_CLASSES",
    "MAX_NUMERIC_CLASSES",
    "MIN_NUMERIC_CLASS_COUNT",
    "MIN_ROWS_FOR_JUDGEMENT",
    "PROFILE_SCHEMA_VERSION",
    "ProfileArtifact",
    "binned_skill",
    "column_skills",
    "detect_problem_type",
    "identifier_reason",
    "infer_kind",
    "leakage_warnings",
    "mutual_information",
    "presence_purity",
    "profile_column",
    "profile_file",
    "profile_frame",
    "profile_run",
    "ratio_leaks",
    "rare_values_inform",
    "render_eda_report",
    "resolve_run_metric",
    "screen_columns",
    "single_column_skill",
    "target_association",
]
