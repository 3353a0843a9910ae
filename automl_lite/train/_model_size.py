"""How big a fitted model is, in tree nodes per library: what the Export step's conversion costs.

The Export step walks every node of every tree in Python (skl2onnx for scikit-learn's forests,
onnxmltools for LightGBM and XGBoost) and checks parity with onnxruntime; its seconds grow with the
node count (``benchmarks/export_cost.py``: about 7 us per node of a random forest, several times
that for LightGBM's JSON dump). The budget plan sizes the work after ``train()`` from this count
(:func:`automl_lite.train.after_train_s`), so that a model of a million nodes leaves itself the
seconds its export takes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The libraries whose converters walk trees, as :func:`tree_nodes` names them.
LIGHTGBM, XGBOOST, SKLEARN = "lightgbm", "xgboost", "sklearn"

_NUM_LEAVES = re.compile(rb"^num_leaves=(\d+)$", re.MULTILINE)


def tree_nodes(model: Any) -> Counter[str]:
    """Tree nodes of a fitted ``model``, by library (``lightgbm``, ``xgboost``, ``sklearn``).

    Walks pipelines, voting ensembles, wrappers with a fitted ``classifier_`` / ``estimator_`` and
    forests. A model without trees (a linear model, a scaler) counts nothing; an unfitted one too.

    >>> from sklearn.tree import DecisionTreeRegressor
    >>> tree = DecisionTreeRegressor(max_leaf_nodes=4).fit([[0], [1], [2], [3]], [0, 1, 2, 3])
    >>> dict(tree_nodes(tree))
    {'sklearn': 7}
    """
    nodes: Counter[str] = Counter()
    _count(model, nodes)
    return nodes


def _count(model: Any, nodes: Counter[str]) -> None:
    if model is None:
        return
    if hasattr(model, "steps"):  # a Pipeline
        for _, step in model.steps:
            _count(step, nodes)
        return
    booster = getattr(model, "booster_", None)
    if booster is not None and hasattr(booster, "model_to_string"):  # LightGBM
        text = booster.model_to_string().encode()
        nodes[LIGHTGBM] += sum(2 * int(k) - 1 for k in _NUM_LEAVES.findall(text))
        return
    if hasattr(model, "get_booster"):  # XGBoost
        try:
            dumps = model.get_booster().get_dump()
        except Exception:  # not fitted
            return
        nodes[XGBOOST] += sum(d.count("\n") for d in dumps)
        return
    tree = getattr(model, "tree_", None)
    if tree is not None:
        nodes[SKLEARN] += int(tree.node_count)
        return
    members = getattr(model, "estimators_", None)
    if members is not None:  # a forest (trees), a voting ensemble (models), one-vs-rest
        for member in members:
            # A voting ensemble's estimators_ are its fitted members, a forest's its trees, a
            # scikit-learn gradient boosting's rows of trees (an array).
            if isinstance(member, (list, tuple)) or type(member).__name__ == "ndarray":
                for part in member:
                    _count(part, nodes)
            else:
                _count(member, nodes)
        return
    # A fitted wrapper (after estimators_: a forest's estimator_ is its unfitted template tree).
    for name in ("classifier_", "estimator_", "regressor_"):
        if hasattr(model, name):
            _count(getattr(model, name), nodes)
            return


def refit_nodes(model: Any, rows_scale: float = 1.0) -> Counter[str]:
    """:func:`tree_nodes` of ``model`` once refitted on ``rows_scale`` times its rows: a forest's
    trees grow with the rows, a booster's leaves are bounded by its configuration."""
    nodes = tree_nodes(model)
    if SKLEARN in nodes:
        nodes[SKLEARN] = round(nodes[SKLEARN] * rows_scale)
    return nodes


@dataclass
class ExportTally:
    """What the Export step will cost for the candidates an ensemble kept so far: their seconds
    (``seconds_of(fold model, rows_scale)``) and their tree nodes, at most ``max_nodes``."""

    seconds_of: Callable[[Any, float], float] | None
    max_nodes: int | None
    rows_scale: float = 1.0
    seconds: float = 0.0
    nodes: int = 0
    too_big: int = 0

    def price(self, model: Any | None, required: bool) -> tuple[float, int] | None:
        """Seconds and nodes of ``model`` (a fold's fit), or None when it would take the model past
        ``max_nodes`` (counted in :attr:`too_big`; a ``required`` candidate is always priced)."""
        nodes = sum(refit_nodes(model, self.rows_scale).values()) if model is not None else 0
        if not required and self.max_nodes is not None and self.nodes + nodes > self.max_nodes:
            self.too_big += 1
            return None
        seconds = self.seconds_of(model, self.rows_scale) if self.seconds_of and model is not None else 0.0
        return seconds, nodes

    def add(self, seconds: float, nodes: int) -> None:
        self.seconds += seconds
        self.nodes += nodes

    def record(self) -> dict[str, Any]:
        """``metrics.json``'s ``ensemble`` keys: the export's estimate and the model's nodes."""
        out: dict[str, Any] = {"export_estimate_s": round(self.seconds, 3), "export_tree_nodes": self.nodes}
        if self.too_big:
            out["skipped_for_export_size"] = self.too_big
        return out
