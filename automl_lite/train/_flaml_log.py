"""FLAML's search log: one JSON record a line, the trials among them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def trial_records(log_path: Path) -> list[dict[str, Any]]:
    """The trials of FLAML's search log (records with a ``validation_loss`` and a ``learner``), in
    log order; lines that are not JSON are passed over, and a missing log has none.

    Examples
    --------
    >>> import tempfile
    >>> log = Path(tempfile.mkdtemp()) / "log.jsonl"
    >>> _ = log.write_text('{"curr_best_record_id": 0}\\nnot json\\n{"learner": "rf", "validation_loss": 0.5}\\n')
    >>> trial_records(log)
    [{'learner': 'rf', 'validation_loss': 0.5}]
    >>> trial_records(log.with_name("missing.jsonl"))
    []
    """
    records = []
    if log_path.exists():
        for line in log_path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "validation_loss" in record and "learner" in record:
                records.append(record)
    return records
