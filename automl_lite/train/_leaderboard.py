"""The search history (every trial of FLAML's log) and the leaderboard (one row per estimator,
and one for the ensemble)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_lite.artifacts import jsonable
from automl_lite.problem import Metric
from automl_lite.train._ensemble import EnsembleResult
from automl_lite.train._flaml_log import trial_records


def search_history(log_path: Path, metric: Metric) -> pd.DataFrame:
    rows = [
        {
            "trial": record.get("record_id"),
            "estimator": record["learner"],
            "wall_clock_s": float(record.get("wall_clock_time", float("nan"))),
            "trial_time_s": float(record.get("trial_time", float("nan"))),
            "validation_loss": float(record["validation_loss"]),
            "config": json.dumps(record.get("config", {}), sort_keys=True),
        }
        for record in trial_records(log_path)
    ]
    history = pd.DataFrame(
        rows, columns=["trial", "estimator", "wall_clock_s", "trial_time_s", "validation_loss", "config"]
    )
    history["best_loss_so_far"] = history["validation_loss"].cummin()
    return history


def build_leaderboard(automl: Any, history: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    """One row per estimator: best validation score, trials, time spent and best configuration."""
    rows = []
    losses = automl.best_loss_per_estimator
    configs = automl.best_config_per_estimator
    for name, loss in losses.items():
        trials = history[history["estimator"] == name]
        finite = loss is not None and np.isfinite(loss)
        rows.append(
            {
                "estimator": name,
                f"validation_{metric.name}": metric.from_flaml_loss(float(loss)) if finite else None,
                "validation_loss": float(loss) if finite else None,
                "trials": int(len(trials)),
                "search_time_s": round(float(trials["trial_time_s"].sum()), 3) if len(trials) else 0.0,
                "best_config": json.dumps(jsonable(configs.get(name) or {}), sort_keys=True),
            }
        )
    board = pd.DataFrame(rows)
    if not board.empty:
        board = board.sort_values("validation_loss", na_position="last", kind="stable").reset_index(drop=True)
        board.insert(0, "rank", range(1, len(board) + 1))
    return board


def ensemble_leaderboard(board: pd.DataFrame, result: EnsembleResult, metric: Metric) -> pd.DataFrame:
    """The leaderboard with each estimator's weight in the exported model and one ``ensemble`` row.

    The ensemble row's validation figures are out-of-fold (the candidates' are FLAML's); its
    ``status`` says whether it was kept and ``gain_over_best_single`` by how much it beat the
    best single model (out-of-fold, in the metric's own direction).
    """
    board = board.copy()
    weight: dict[str, float] = {}
    for name, _, w in result.members:
        weight[name] = weight.get(name, 0.0) + w
    if "estimator" in board:
        board["weight_in_model"] = [round(weight.get(str(name), 0.0), 4) for name in board["estimator"]]
    record = result.record
    if record.get("ensemble_oof_loss") is None:
        return board
    loss = float(record["ensemble_oof_loss"])
    row = {
        "rank": None,
        "estimator": "ensemble",
        # The out-of-fold loss back to the metric's value (negating is its own inverse).
        f"validation_{metric.name}": metric.as_loss(loss),
        # FLAML's convention (1 - score for metrics where higher is better), as in the other rows.
        "validation_loss": metric.to_flaml_loss(metric.as_loss(loss)),
        "trials": None,
        "search_time_s": record.get("search_time_s"),
        "best_config": json.dumps(record.get("members", []), sort_keys=True, default=str),
        "weight_in_model": 1.0 if record.get("kept") else 0.0,
        "status": "kept" if record.get("kept") else "dropped: " + str(record.get("reason", "")),
        "gain_over_best_single": record.get("gain"),
    }
    return pd.concat([board, pd.DataFrame([row])], ignore_index=True)
