"""Scoring: a CSV dropped as ``score/<run-id>/<name>.csv`` scored with that run's model, at any size.

The flow (``statemachine/score.asl.json``): Check -> Plan -> Score (a Map over the
chunks) -> Merge -> Drift -> Notify. One module per step; see ``docs/scoring.md``.
"""

from automl_lite.finish.score_failure import report_score_failure
from automl_lite.score.check import check_score
from automl_lite.score.chunk import score_chunk
from automl_lite.score.drift import add_tallies, drift_report, psi, tally_chunk
from automl_lite.score.finish import finish_score, merge_score
from automl_lite.score.merge import MIN_PART_BYTES, merge_objects
from automl_lite.score.plan import Chunk, ScorePlan, plan_chunks, plan_score
from automl_lite.score_contracts import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_DRIFT_THRESHOLD,
    MAP_MAX_CONCURRENCY,
    MAX_CHUNKS,
    ScoreContext,
    ScoreDuplicate,
    ScoreSettings,
)

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_DRIFT_THRESHOLD",
    "MAP_MAX_CONCURRENCY",
    "MAX_CHUNKS",
    "MIN_PART_BYTES",
    "Chunk",
    "ScoreContext",
    "ScoreDuplicate",
    "ScorePlan",
    "ScoreSettings",
    "add_tallies",
    "check_score",
    "drift_report",
    "finish_score",
    "merge_objects",
    "merge_score",
    "plan_chunks",
    "plan_score",
    "psi",
    "report_score_failure",
    "score_chunk",
    "tally_chunk",
]
