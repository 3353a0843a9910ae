"""How runs of both flows end: ``run.json``, the failure's code and cause, the SNS messages.

- ``run``: :func:`finish_run`, the one writer of ``run.json`` and its message (Export on success,
  ReportFailure on failure).
- ``failure``: the training flow's ReportFailure: whatever failed becomes a stable code and a cause.
- ``score_failure``: the scoring flow's ReportFailure.
- ``notify``: every SNS message, its subject and its one-line escaping.
"""

from automl_lite.finish.run import finish_run

__all__ = ["finish_run"]
