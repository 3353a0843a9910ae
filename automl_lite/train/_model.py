"""The fitted model: :class:`NativeModel`, what ``model/model.joblib`` holds (no import of the search or the report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from automl_lite.model.features import InputSpec, prepare_frame
from automl_lite.problem import ProblemType


@dataclass
class NativeModel:
    """The fitted pipeline with what it needs to read raw rows and name its outputs.

    This is what ``model/model.joblib`` holds (our own artifact: a user-supplied
    pickle is never loaded).
    """

    pipeline: Pipeline
    specs: list[InputSpec]
    decisions: list[dict[str, Any]]
    problem_type: str
    target: str
    metric: str
    estimator: str
    class_names: list[str] | None = None
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    #: issue 25: the conformal intervals / calibration / prediction sets
    #: (:class:`automl_lite.train.Uncertainty`), or None (a model trained before them, or too few rows).
    uncertainty: Any = None

    @property
    def is_classification(self) -> bool:
        return ProblemType(self.problem_type).is_classification

    def prepare(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Raw rows -> model inputs (:func:`automl_lite.model.features.prepare_frame`)."""
        return prepare_frame(raw, self.specs)

    def predict(self, raw: pd.DataFrame) -> np.ndarray:
        """Predicted class names (classification) or values (regression) for raw rows."""
        out = self.pipeline.predict(self.prepare(raw))
        if self.class_names is None:
            return np.asarray(out, dtype=np.float64)
        return np.asarray(self.class_names, dtype=object)[np.asarray(out, dtype=np.int64)]

    def predict_proba(self, raw: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in the order of ``class_names``."""
        return np.asarray(self.pipeline.predict_proba(self.prepare(raw)), dtype=np.float64)

    def uncertainty_outputs(self, raw: pd.DataFrame) -> dict[str, np.ndarray]:
        """The graph's extra outputs computed natively: ``lower_<L>``/``upper_<L>`` (regression),
        ``calibrated_probabilities`` and ``set_<L>`` (classification); empty without them."""
        if self.uncertainty is None:
            return {}
        return self.uncertainty.outputs(
            self.predict_proba(raw) if self.is_classification else self.predict(raw)
        )


# ``model/model.joblib`` pickles the class by its public path, so moving it between private modules
# never breaks a stored model.
NativeModel.__module__ = "automl_lite.train"
