"""Search factors (issue 24): what keeps the project's search from the configurations plain FLAML reaches.

On one dataset of the train benchmark (its outer split), the project's own preprocessing
(ordinal/one-hot encodings, date parts, float32) gives the matrix; then FLAML searches it for the
same seconds under variants that each switch one of the project's settings back to FLAML's:

- ``plain``: ``AutoML().fit`` with FLAML's defaults (eval method chosen by FLAML, no starting
  points, ``early_stop=False``), float32 matrix;
- ``plain-f64``: the same on the float64 matrix (the float32 handling);
- ``project``: :func:`automl_lite.train._search.search` as the Train step calls it;
- ``no-early-stop`` / ``no-starts`` / ``flaml-eval`` / ``no-trim``: the project's search with
  ``early_stop=False`` / without the libraries' defaults as starting points / FLAML's own eval
  method / the logged rounds refitted (no cut to the trained rounds);
- ``project-70%``: the project's search with 70% of the seconds (the ensemble's share).

The best configuration is refitted on the whole outer training part as the Train step does and
scored on the outer holdout. Prints one line per variant: trials, best estimator, its trees and
learning rate, the search's best validation loss, the outer score.

    .venv/bin/python benchmarks/search_factors.py --dataset abalone --budget 40
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import train_benchmark as tb  # noqa: E402

from automl_lite.manifest import ESTIMATORS  # noqa: E402
from automl_lite.model.features import input_specs, prepare_frame, used_decisions  # noqa: E402
from automl_lite.model.preprocessing import Float32Cast, build_preprocessor  # noqa: E402
from automl_lite.problem import DEFAULT_METRIC, METRICS, ProblemType  # noqa: E402
from automl_lite.train import _search  # noqa: E402

VARIANTS = ("plain", "plain-f64", "project", "no-early-stop", "no-starts", "flaml-eval", "project-70%")


def matrices(name: str) -> tuple[Any, Any, Any, np.ndarray, np.ndarray, ProblemType, str]:
    from automl_lite.profile import screen_columns

    frame, target, problem = tb.load(name)
    train, test = tb.outer_split(frame, target, problem)
    y_train, y_test, _ = tb.encode_target(train[target], test[target], problem)
    decisions = screen_columns(train, target, ())
    specs = input_specs([d for d in used_decisions(decisions) if d.name != target])
    x_train, x_test = prepare_frame(train, specs), prepare_frame(test, specs)
    pre = build_preprocessor(specs, x_train).fit(x_train)
    m64, t64 = pre.transform(x_train), pre.transform(x_test)
    cast = Float32Cast().fit(m64[:1])
    return m64, cast.transform(m64), cast.transform(t64), y_train, y_test, problem, DEFAULT_METRIC[problem]


def run(
    variant: str,
    m64: Any,
    m32: Any,
    t32: Any,
    y: np.ndarray,
    y_test: np.ndarray,
    problem: ProblemType,
    metric: str,
    budget: float,
) -> dict[str, Any]:
    from flaml import AutoML

    chosen = METRICS[metric]
    task = "regression" if problem is ProblemType.REGRESSION else "classification"
    log = Path(tempfile.mkdtemp()) / "log.jsonl"
    started = time.monotonic()
    if variant.startswith("plain"):
        automl = AutoML()
        automl.fit(
            m64 if variant == "plain-f64" else m32,
            y,
            task=task,
            metric=chosen.flaml_name,
            time_budget=budget,
            estimator_list=list(ESTIMATORS),
            seed=0,
            verbose=0,
            log_file_name=str(log),
            log_type="all",
        )
        name, config = automl.best_estimator, dict(automl.best_config)
        classes = automl._state.learner_classes
    else:
        original = _search.AutoML if hasattr(_search, "AutoML") else None
        import flaml

        real_fit = flaml.AutoML.fit

        def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
            if variant == "no-early-stop":
                kwargs["early_stop"] = False
            if variant == "no-starts":
                kwargs["starting_points"] = "static"
            if variant == "flaml-eval":
                kwargs["eval_method"] = "auto"
            return real_fit(self, *args, **kwargs)

        flaml.AutoML.fit = patched  # type: ignore[method-assign]
        try:
            found = _search.search(
                m32,
                y,
                None,
                problem=problem,
                metric=chosen,
                estimators=ESTIMATORS,
                seed=0,
                time_budget_s=budget * (0.7 if variant == "project-70%" else 1.0),
                log_file=log,
            )
        finally:
            flaml.AutoML.fit = real_fit  # type: ignore[method-assign]
        del original
        automl, name, config, classes = (
            found.automl,
            found.best_name,
            found.best_config,
            found.learner_classes,
        )
    search_s = time.monotonic() - started
    estimator = _search.native_estimator(name, config, problem, classes[name])
    estimator.fit(m32, y)
    prediction = estimator.predict_proba(t32) if problem.is_classification else estimator.predict(t32)
    n_trials = len(log.read_text().splitlines()) if log.exists() else 0
    return {
        "variant": variant,
        "trials": n_trials,
        "best": name,
        "n_estimators": config.get("n_estimators"),
        "learning_rate": None if config.get("learning_rate") is None else round(config["learning_rate"], 4),
        "leaves": config.get("num_leaves", config.get("max_leaves")),
        "val_loss": round(float(automl.best_loss), 5),
        "eval": automl._state.eval_method,
        "search_s": round(search_s, 1),
        "outer": round(
            tb.score(
                metric,
                y_test,
                np.asarray(prediction),
                int(max(y.max(), y_test.max()) + 1) if problem.is_classification else 0,
            ),
            5,
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--budget", type=float, default=40.0)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    args = parser.parse_args()
    m64, m32, t32, y, y_test, problem, metric = matrices(args.dataset)
    print(f"{args.dataset}: {m32.shape} inputs, {metric}, budget {args.budget:g} s", flush=True)
    for variant in args.variants:
        row = run(variant, m64, m32, t32, y, y_test, problem, metric, args.budget)
        print(json.dumps(row), flush=True)
    return 0 if math.isfinite(0.0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
