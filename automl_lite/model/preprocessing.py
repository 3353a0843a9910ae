"""The preprocessing half of the model: a scikit-learn ``ColumnTransformer`` that ONNX can carry.

Input is the frame from :func:`automl_lite.model.features.prepare_frame` (one column per
model input). Per kind:

- numeric and derived (datetime parts, text lengths): median imputation, plus a
  0/1 missing indicator for each input that had missing values in the data it was
  fitted on (:class:`MedianImputer`);
- string inputs (categorical, boolean, identifier): one-hot encoding when the
  column has at most :data:`ONEHOT_MAX_CATEGORIES` distinct values in the fitting
  data, otherwise ordinal encoding. Categories never seen in fitting become all
  zeros (one-hot) or :data:`UNKNOWN_CODE` (ordinal), in the native pipeline and in
  the ONNX graph alike. Missing values arrive as a category of their own.

The estimator always receives float32 (:class:`Float32Cast`), because ONNX tree
ensembles compute in float32: training and predicting on the same float32 values is
what makes the native model and the exported graph agree. The split thresholds must be
float32 values too (:func:`automl_lite.train._float32.float32_thresholds`, applied to every fitted model): LightGBM
and scikit-learn forests store double thresholds (midpoints of two feature values, or
random draws) and compare the float32 input with them in double, while the graph stores
each threshold rounded to the *nearest* float32. On columns whose neighbouring values are
neighbouring float32 numbers (coordinates, timestamps, large amounts) a row equal to the
rounded-up threshold went left in one and right in the other: 0.4% of the rows of a
52,000-row table with coordinates and dates, with probabilities 0.27 apart.

Both custom transformers have ONNX converters in :mod:`automl_lite.export`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from automl_lite.contracts import ColumnDecision
from automl_lite.exceptions import NoUsableFeaturesError
from automl_lite.model.features import InputSpec, as_specs, prepare_frame

__all__ = [
    "ONEHOT_MAX_CATEGORIES",
    "UNKNOWN_CODE",
    "Float32Cast",
    "MedianImputer",
    "build_preprocessor",
    "prepare_frame",
]

#: Above this many distinct values (in the fitting data) a string column is ordinal-encoded.
ONEHOT_MAX_CATEGORIES = 20
#: The ordinal code of a category never seen in fitting.
UNKNOWN_CODE = -1


class MedianImputer(TransformerMixin, BaseEstimator):
    """Fill missing values with the column median; add indicators for columns that had gaps.

    Learned state: ``statistics_`` (medians, 0.0 for an all-missing column) and
    ``indicator_features_`` (indexes of the columns that had missing values in fit).
    """

    def fit(self, X: Any, y: Any = None) -> MedianImputer:
        values = np.asarray(X, dtype=np.float64)
        missing = np.isnan(values)
        with np.errstate(all="ignore"):
            medians = np.array(
                [
                    np.median(col[~gap]) if (~gap).any() else 0.0
                    for col, gap in zip(values.T, missing.T, strict=True)
                ]
            )
        self.statistics_ = medians.astype(np.float64)
        self.indicator_features_ = np.flatnonzero(missing.any(axis=0))
        self.n_features_in_ = values.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = np.asarray(X, dtype=np.float64)
        missing = np.isnan(values)
        filled = np.where(missing, self.statistics_[np.newaxis, :], values)
        if not len(self.indicator_features_):
            return filled
        return np.hstack([filled, missing[:, self.indicator_features_].astype(np.float64)])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = list(input_features if input_features is not None else getattr(self, "feature_names_in_", []))
        if not names:
            names = [f"x{i}" for i in range(self.n_features_in_)]
        return np.asarray(names + [f"{names[i]}__missing" for i in self.indicator_features_], dtype=object)


class Float32Cast(TransformerMixin, BaseEstimator):
    """Cast features to float32, the precision ONNX tree ensembles compute in."""

    def fit(self, X: Any, y: Any = None) -> Float32Cast:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None else [], dtype=object)


def build_preprocessor(
    decisions: Iterable[ColumnDecision | dict[str, Any]] | Sequence[InputSpec],
    fit_frame: pd.DataFrame,
    *,
    onehot_max_categories: int = ONEHOT_MAX_CATEGORIES,
) -> ColumnTransformer:
    """An unfitted ``ColumnTransformer`` for the used columns.

    Parameters
    ----------
    decisions:
        Column decisions (only ``use: true`` ones count), or the input specs they give.
    fit_frame:
        The *prepared* frame (:func:`prepare_frame`) it will be fitted on: the training
        split when evaluating, all rows for the final model. Only the number of
        distinct values of each string input is read from it, to choose its encoding;
        nothing of any other split is looked at.

    Examples
    --------
    >>> specs = input_specs([{"name": "a", "kind": "numeric", "use": True, "reason": ""}])
    >>> frame = prepare_frame(pd.DataFrame({"a": [1.0, None, 3.0]}), specs)
    >>> build_preprocessor(specs, frame).fit_transform(frame).tolist()
    [[1.0, 0.0], [2.0, 1.0], [3.0, 0.0]]
    """
    specs = as_specs(decisions)
    if not specs:
        raise NoUsableFeaturesError(
            "No column is left to learn from",
            fix="Check the profile's column decisions and the manifest's 'exclude_columns'.",
        )
    numeric = [s.name for s in specs if not s.is_string]
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", MedianImputer(), numeric))
    low = [s.name for s in specs if s.is_string and fit_frame[s.name].nunique() <= onehot_max_categories]
    high = [s.name for s in specs if s.is_string and s.name not in low]
    if low:
        transformers.append(
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64), low)
        )
    if high:
        transformers.append(
            (
                "ordinal",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=UNKNOWN_CODE, dtype=np.float64
                ),
                high,
            )
        )
    # Dense output: tree learners and the ONNX converters both want a dense float matrix.
    return ColumnTransformer(
        transformers, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=True
    )
