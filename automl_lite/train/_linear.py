"""The linear member of the ensemble portfolio: standardised inputs, then an L2-regularised
logistic regression (classification) or ridge regression (regression).

Not a search estimator (FLAML never tries it): it joins the ensemble's candidates on small data
(:func:`automl_lite.train._candidates.portfolio`) because its errors differ from the trees', and
the greedy selection keeps it only when it lowers the out-of-fold loss.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from automl_lite.problem import ProblemType

#: The portfolio's (and the leaderboard's) name of the linear member.
LINEAR = "linear"
#: Regularisation strengths tried (out of fold, the lowest loss wins): ``C`` of the logistic
#: regression, ``1 / alpha`` of the ridge. Out of fold on the benchmark's split, the best single
#: strength differed by dataset: vehicle wanted weak regularisation (log loss alone 0.855 at C=0.03,
#: 0.563 at 1, 0.532 at 3), credit-g strong (AUC 0.776 at 0.03, 0.767 at 1).
LINEAR_STRENGTHS = (0.1, 1.0, 10.0)
#: Most iterations of the logistic regression's solver (lbfgs converges in far fewer on scaled inputs).
LINEAR_MAX_ITER = 1000


class LinearPipeline(Pipeline):
    """``Pipeline([scale, model])`` whose ``fit`` takes ``sample_weight`` (for the model).

    ``VotingClassifier.fit`` and the out-of-fold fits pass ``sample_weight`` to every member,
    which a plain ``Pipeline`` refuses (it wants ``model__sample_weight``); skl2onnx converts it
    with its own ``Pipeline`` converter
    (:func:`automl_lite.export._converters.register_converters`).
    """

    def fit(
        self, X: Any, y: Any = None, sample_weight: np.ndarray | None = None, **params: Any
    ) -> LinearPipeline:  # noqa: N803
        from threadpoolctl import threadpool_limits

        if sample_weight is not None:
            params[f"{self.steps[-1][0]}__sample_weight"] = sample_weight
        # One BLAS thread: the problem is small, and on a busy machine two threads fitting credit-g's
        # 750 rows took 0.7-1.3 s for five fits where one took 0.2-0.4 s.
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
            # lbfgs stopping at LINEAR_MAX_ITER still gives a usable model; the selection judges it.
            warnings.simplefilter("ignore", ConvergenceWarning)
            super().fit(X, y, **params)
        return self


def linear_config(problem: ProblemType) -> dict[str, Any]:
    """The member's configuration, as recorded in the leaderboard and ``metrics.json``.

    >>> linear_config(ProblemType.BINARY)
    {'model': 'logistic_regression', 'C': 1.0, 'scaler': 'standard'}
    >>> linear_config(ProblemType.REGRESSION)
    {'model': 'ridge', 'alpha': 1.0, 'scaler': 'standard'}
    """
    if problem.is_classification:
        return {"model": "logistic_regression", "C": 1.0, "scaler": "standard"}
    return {"model": "ridge", "alpha": 1.0, "scaler": "standard"}


def linear_grid(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The configurations :data:`LINEAR_STRENGTHS` make of a :func:`linear_config` one.

    >>> [c["alpha"] for c in linear_grid(linear_config(ProblemType.REGRESSION))]
    [10.0, 1.0, 0.1]
    """
    if config.get("model") == "ridge":
        return [{**config, "alpha": 1.0 / strength} for strength in LINEAR_STRENGTHS]
    return [{**config, "C": strength} for strength in LINEAR_STRENGTHS]


def linear_estimator(problem: ProblemType, config: dict[str, Any]) -> LinearPipeline:
    """The unfitted member for a :func:`linear_config` configuration."""
    if config.get("model") == "logistic_regression":
        model: Any = LogisticRegression(C=float(config["C"]), max_iter=LINEAR_MAX_ITER)
    elif config.get("model") == "ridge":
        model = Ridge(alpha=float(config["alpha"]))
    else:
        raise ValueError(f"unknown linear model {config.get('model')!r}")
    if problem.is_classification != isinstance(model, LogisticRegression):
        raise ValueError(f"{config['model']} does not fit a {problem.value} problem")
    return LinearPipeline([("scale", StandardScaler()), ("model", model)])


# ``model/model.joblib`` pickles the class by its public path (see automl_lite.train._model).
LinearPipeline.__module__ = "automl_lite.train"
