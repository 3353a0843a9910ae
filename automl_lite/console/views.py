"""What each page shows, gathered from a run folder or a live execution (plain values only:
the templates escape every string)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_lite import layout
from automl_lite.console.graph import (
    Graph,
    build_graph,
    colour,
    load_definition,
    state_statuses,
    transitions,
)

#: The most of a state's input or output a page shows (the history holds up to 256 KB each).
MAX_PAYLOAD_CHARS = 4000
#: The most of the leaderboard and of the model card a page shows.
MAX_LEADERBOARD_ROWS = 50
MAX_CARD_CHARS = 60_000


def _statemachine_dir() -> Path:
    from automl_lite.aws.asl import STATEMACHINE_DIR

    return Path(STATEMACHINE_DIR)


@dataclass
class StateRow:
    name: str
    type: str
    status: str
    entered: str = ""
    exited: str = ""
    input: str = ""
    output: str = ""
    error: str = ""
    cause: str = ""


@dataclass
class EventRow:
    id: Any
    type: str
    timestamp: str
    step: str
    detail: str


@dataclass
class ExecutionView:
    graph: Graph
    states: list[StateRow]
    events: list[EventRow]
    failed_state: str | None = None
    legend: list[tuple[str, str, str]] = field(default_factory=list)


def bounded(text: Any, limit: int = MAX_PAYLOAD_CHARS) -> str:
    """A payload pretty-printed when it is JSON, cut at ``limit`` characters with a note."""
    if text is None:
        return ""
    raw = str(text)
    with contextlib.suppress(ValueError):
        raw = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    if len(raw) > limit:
        return raw[:limit] + f"\n... ({len(raw) - limit:,} more characters not shown)"
    return raw


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def execution_view(kind: str, events: list[dict[str, Any]], status: str) -> ExecutionView:
    """The graph coloured by ``events``, the table of states and the event list."""
    from automl_lite.console.graph import STATUS_STYLE

    events = [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []
    asl = "score.asl.json" if kind == "scoring" else "pipeline.asl.json"
    graph = build_graph(load_definition(_statemachine_dir() / asl))
    statuses = state_statuses(events, status)
    colour(graph, statuses, transitions(events))
    types = {n.name: n.type for n in graph.all_nodes()}
    states: dict[str, StateRow] = {}
    order: list[str] = []
    rows: list[EventRow] = []
    current: list[str] = []
    failed_state = None
    for event in events:
        kind_ = str(event.get("type", ""))
        details = _details(event)
        name = details.get("name") if isinstance(details.get("name"), str) else None
        if kind_.endswith("StateEntered") and name:
            row = StateRow(name, types.get(name, kind_.removesuffix("StateEntered")), statuses.get(name, ""))
            row.entered, row.input = str(event.get("timestamp", "")), bounded(details.get("input"))
            states[name] = row
            order.append(name)
            current.append(name)
        elif kind_.endswith("StateExited") and name and name in states:
            states[name].exited, states[name].output = (
                str(event.get("timestamp", "")),
                bounded(details.get("output")),
            )
            if name in current:
                current.remove(name)
        elif "error" in details and current:
            target = states[current[-1]]
            target.error, target.cause = str(details.get("error")), bounded(details.get("cause"), 1500)
            if failed_state is None and kind_ != "ExecutionFailed":
                failed_state = current[-1]
        step = name or (current[-1] if current else "")
        detail = ""
        if "error" in details:
            detail = f"{details.get('error')}: {bounded(details.get('cause'), 300)}"
        elif "resource" in details:
            detail = f"{details.get('resourceType', '')} {details.get('resource', '')}".strip()
        rows.append(EventRow(event.get("id", ""), kind_, str(event.get("timestamp", "")), step, detail))
    legend = [(word, fill, stroke) for word, (fill, stroke) in STATUS_STYLE.items()]
    return ExecutionView(graph, [states[n] for n in dict.fromkeys(order)], rows, failed_state, legend)


def leaderboard(folder: Path) -> tuple[list[str], list[list[str]]]:
    path = folder / layout.TRAINING_LEADERBOARD
    if not path.is_file():
        return [], []
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8", errors="replace")))
    rows = list(reader)
    if not rows:
        return [], []
    header = rows[0]
    keep = [i for i, name in enumerate(header) if name != "best_config"]
    body = [
        [_short(row[i]) if i < len(row) else "" for i in keep] for row in rows[1 : MAX_LEADERBOARD_ROWS + 1]
    ]
    return [header[i] for i in keep], body


def _short(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    return value if number.is_integer() and "." not in value else f"{number:.4g}"


def model_card(folder: Path) -> str:
    path = folder / layout.MODEL_CARD
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace")
    return text[:MAX_CARD_CHARS]


#: What a run folder offers to download, in the order shown.
DOWNLOADS = (
    layout.ONNX_MODEL,
    layout.MODEL_CARD,
    layout.TRAINING_LEADERBOARD,
    layout.TRAINING_METRICS,
    layout.EDA_PROFILE,
    layout.VALIDATION,
    layout.RUN_SUMMARY,
    layout.EXECUTION_HISTORY,
)
SCORE_DOWNLOADS = (layout.PREDICTIONS, layout.REJECTED, layout.DRIFT_JSON, layout.SCORE_SUMMARY)
REPORTS = ((layout.EDA_REPORT, "EDA report"), (layout.TRAINING_REPORT, "Training report"))


def existing(folder: Path, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if (folder / name).is_file()]


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def comparison(folder: Path) -> dict[str, Any]:
    """What the side-by-side view of one dataset's runs shows for one run (its profile, its search)."""
    profile = read_json(folder / layout.EDA_PROFILE)
    metrics = read_json(folder / layout.TRAINING_METRICS)
    used = [d.get("name") for d in profile.get("decisions") or [] if isinstance(d, dict) and d.get("use")]
    found = metrics.get("search")
    search: dict[str, Any] = found if isinstance(found, dict) else {}
    return {
        "rows": profile.get("n_rows"),
        "columns": profile.get("n_columns"),
        "features": used,
        "target": profile.get("target"),
        "warnings": profile.get("warnings") or [],
        "budget": search.get("time_budget_s"),
        "training_time_s": metrics.get("training_time_s"),
    }


def scoring_facts(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The facts a scoring's page lists (rows, drift, ignored columns, times), those with a value."""
    facts = [
        (
            "Rows",
            f"{summary.get('rows')} read, {summary.get('rows_scored')} scored, {summary.get('rows_rejected')} not scored"
            if summary.get("rows") is not None
            else "",
        ),
        (
            "Drift",
            ("DRIFT" if summary.get("drifted") else "none") + f" (PSI > {summary.get('drift_threshold')})"
            if "drifted" in summary
            else "",
        ),
        ("Ignored columns", ", ".join(summary.get("ignored_columns") or [])),
        ("Started", str(summary.get("started_at") or "")[:19]),
        ("Ended", str(summary.get("finished_at") or "")[:19]),
        ("Problem type", summary.get("problem_type") or ""),
    ]
    return [(k, v) for k, v in facts if v]
