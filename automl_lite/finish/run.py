"""How a run ends, whether it succeeded or failed: ``run.json`` and the notification.

:class:`RunSummary` (:mod:`automl_lite.run_summary`) is ``run.json``'s schema (``docs/schemas/run.schema.json``), and also what the
Export and ReportFailure steps hand to the state machine. :func:`finish_run` is the one place
that writes it and builds the SNS message (:mod:`automl_lite.finish.notify`), for success and failure
alike: Export calls it when a run succeeded, ReportFailure when it failed.
"""

from __future__ import annotations

from automl_lite import layout
from automl_lite.aws import storage
from automl_lite.finish import notify
from automl_lite.run_summary import SUCCEEDED, RunSummary

__all__ = ["finish_run"]


def finish_run(summary: RunSummary) -> tuple[str, str]:
    """Write ``run.json`` (when the run's bucket is known) and build the notification.

    Returns the SNS subject and message: the success message for a ``SUCCEEDED`` summary,
    the failure message (its error code and cause) otherwise.
    """
    if summary.bucket:
        storage.write_text(
            summary.bucket,
            layout.run_key(summary.run_id, layout.RUN_SUMMARY),
            summary.dump_json(),
            content_type="application/json",
        )
    if summary.status == SUCCEEDED:
        return notify.success_message(summary)
    return notify.failure_message(summary)
