"""The one catalogue of errors a run can end with.

Every error a user can meet is an ``AutomlLiteError`` subclass carrying a stable
``code``. The code is what a failed execution reports as its ``Error``, what the
SNS failure message carries and what the CLI prints; the exception text becomes
the execution's ``Cause`` and must say what was wrong and how to fix it.

In a Lambda, an unhandled exception surfaces in Step Functions with the exception
*class name* as its error; :func:`code_for_error_name` maps that name (and the
code itself) back to the catalogue so the failure step can report the stable code.
"""

from __future__ import annotations

from typing import ClassVar

from automl_lite.payload import MAX_CAUSE_BYTES, clip_text, json_size


class AutomlLiteError(Exception):
    """Base class of every error a user can see.

    Parameters
    ----------
    message:
        What was wrong, naming the file, column or field involved.
    fix:
        How to fix it. Appended to the message to form the cause.
    """

    code: ClassVar[str] = "InternalError"
    #: Whether retrying the same step later may succeed (e.g. a dataset still uploading).
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message.rstrip()
        self.fix = fix.rstrip() if fix else None
        super().__init__(self.cause)

    @property
    def cause(self) -> str:
        """The one-paragraph cause shown to users: the problem, then the fix (bounded: it may quote data)."""
        if not self.fix:
            return clip_text(self.message)
        sep = "" if self.message.endswith((".", "!", "?")) else "."
        # The fix survives a long message: the message is what gets cut.
        fix = clip_text(self.fix, MAX_CAUSE_BYTES // 4)
        message = clip_text(self.message, MAX_CAUSE_BYTES - json_size(fix) - 2)
        return f"{message}{sep} {fix}"


class ManifestInvalidError(AutomlLiteError):
    code = "ManifestInvalid"


class ManifestUnreadableError(AutomlLiteError):
    code = "ManifestUnreadable"


class DatasetNotFoundError(AutomlLiteError):
    code = "DatasetNotFound"
    # The manifest is the trigger, but a CSV uploaded in parallel may land a moment later.
    retryable = True


class DatasetUnreadableError(AutomlLiteError):
    code = "DatasetUnreadable"


class DatasetTooLargeError(AutomlLiteError):
    code = "DatasetTooLarge"


class TargetMissingError(AutomlLiteError):
    code = "TargetMissing"


class TargetInvalidError(AutomlLiteError):
    code = "TargetInvalid"


class TooFewRowsError(AutomlLiteError):
    code = "TooFewRows"


class SingleClassTargetError(AutomlLiteError):
    code = "SingleClassTarget"


class NoUsableFeaturesError(AutomlLiteError):
    code = "NoUsableFeatures"


class TrainingConfigError(AutomlLiteError):
    code = "TrainingConfigInvalid"


class TrainingFailedError(AutomlLiteError):
    code = "TrainingFailed"


class TrainingTimedOutError(AutomlLiteError):
    code = "TrainingTimedOut"


class TrainingOutOfMemoryError(AutomlLiteError):
    code = "TrainingOutOfMemory"


class TrainingNotStartedError(AutomlLiteError):
    """The training job never started: no compute could place it within the queue's time limit."""

    code = "TrainingNotStarted"


class StepTimedOutError(AutomlLiteError):
    """A Lambda step ran past its function's timeout (Lambda's ``Sandbox.Timedout``)."""

    code = "StepTimedOut"


class StepOutOfMemoryError(AutomlLiteError):
    """A Lambda step ran out of its function's memory (Lambda's ``Runtime.OutOfMemory``)."""

    code = "StepOutOfMemory"


class StepOutOfStorageError(AutomlLiteError):
    """A Lambda step filled its function's /tmp (ephemeral storage): a write failed with ENOSPC."""

    code = "StepOutOfStorage"


class ExportFailedError(AutomlLiteError):
    code = "ExportFailed"


class ExportParityFailedError(AutomlLiteError):
    code = "ExportParityFailed"


class ModelInputError(AutomlLiteError):
    """Raised at prediction time when a CSV does not fit the model's input schema."""

    code = "ModelInputInvalid"


class ScoreModelUnavailableError(AutomlLiteError):
    """Scoring: the run named in ``score/<run-id>/`` has no usable model (absent, failed, parity failed)."""

    code = "ScoreModelUnavailable"


class ScoreColumnsMissingError(ModelInputError):
    """Scoring: the dropped CSV lacks a column the model reads."""

    code = "ScoreColumnsMissing"


class ScoreInputInvalidError(AutomlLiteError):
    """Scoring: the dropped file is not a CSV that can be scored (empty, no header, not UTF-8, too large)."""

    code = "ScoreInputInvalid"


class ModelInvalidError(AutomlLiteError):
    """The model file is ONNX but its automl-lite metadata is damaged or inconsistent with its graph."""

    code = "ModelInvalid"


class RunFolderInvalidError(AutomlLiteError):
    """A local run folder's files (run.json) are damaged, so the CLI cannot show the run."""

    code = "RunFolderInvalid"


class UsageError(AutomlLiteError):
    """The command line itself is wrong (a missing file, an output path that would destroy data).

    The CLI exits 2 for these, 1 for every other catalogue error.
    """

    code = "UsageError"


class InternalError(AutomlLiteError):
    code = "InternalError"


def catalogue() -> dict[str, type[AutomlLiteError]]:
    """Every error code, mapped to its class."""
    out: dict[str, type[AutomlLiteError]] = {}
    stack: list[type[AutomlLiteError]] = [AutomlLiteError]
    while stack:
        cls = stack.pop()
        out.setdefault(cls.code, cls)
        stack.extend(cls.__subclasses__())
    return out


def code_for_error_name(name: str | None) -> str | None:
    """Map a Step Functions error name (an exception class name or a code) to a catalogue code."""
    if not name:
        return None
    for code, cls in catalogue().items():
        if name in (code, cls.__name__):
            return code
    return None
