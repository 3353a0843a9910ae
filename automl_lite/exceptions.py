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

import re
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


class StackUnavailableError(AutomlLiteError):
    """``--stack NAME``: the stack does not exist, lacks an output the CLI needs, or cannot be reached
    (credentials, region, endpoint), or its rule started no execution for a dropped file."""

    code = "StackUnavailable"


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


#: Where a native library's message turns into its stack trace (XGBoost, LightGBM, dmlc...).
_TRACE_MARKERS = ("Stack trace:", "Traceback (most recent call last)", "\n  [bt]", '\n  File "')
#: ``[15:56:09] /workspace/src/data/data.cc:99: `` and file paths with a line number.
_NATIVE_PREFIX = re.compile(r"\[\d{1,2}:\d{2}:\d{2}\]\s*")
_SOURCE_PATH = re.compile(r"(?:[A-Za-z]:)?(?:/[\w.+-]+)+\.(?:cc|cpp|cxx|c|h|hpp|cu|py|so)\b(?::\d+)*:?\s*")
#: Longest exception text kept in a cause.
DESCRIBE_MAX_CHARS = 300


def strip_trace(text: str, *, limit: int = DESCRIBE_MAX_CHARS) -> str:
    """A message as a user may read it: cut at the first stack-trace marker, without log
    timestamps or source/library paths, whitespace collapsed, at most ``limit`` characters.

    Examples
    --------
    >>> strip_trace("[15:56:09] /workspace/src/data/gradient_index.h:99: Check failed: valid: Input "
    ...             "data contains `inf`\\nStack trace:\\n  [bt] (0) /x/libxgboost.so(+0x11) [0x7f]")
    'Check failed: valid: Input data contains `inf`'
    """
    cut = min((i for i in (text.find(m) for m in _TRACE_MARKERS) if i >= 0), default=len(text))
    clean = _SOURCE_PATH.sub("", _NATIVE_PREFIX.sub("", text[:cut]))
    clean = " ".join(clean.split())
    return clean if len(clean) <= limit else clean[: limit - 3].rstrip() + "..."


def describe_exception(exc: BaseException, *, limit: int = DESCRIBE_MAX_CHARS) -> str:
    """``Type: message`` of an unexpected exception, for a cause a user reads (:func:`strip_trace`).

    Every cause built from a library's exception goes through this one function, so no native
    stack trace or installation path reaches a run's ``cause``.
    """
    message = strip_trace(str(exc), limit=limit)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
