"""Keeping what crosses a state boundary small: the size of a payload, and one way to bound text.

Step Functions refuses a state whose input or output is over 256 KiB
(``States.DataLimitExceeded``, which no ``Catch`` on ``States.ALL`` sees), and limits a
failure's ``Cause``. So the state carries references (S3 keys) and small summaries, and
every piece of text in it that may quote user data (a column name, a value, an error
message) is bounded with :func:`clip_text`, the one truncation function.

Sizes are measured as :func:`json_size`: JSON with every non-ASCII character escaped,
an upper bound on the UTF-8 JSON any service measures (a character is at most 4 UTF-8
bytes, and at most 12 escaped).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator

#: Most JSON bytes of one failure cause (what a user reads in the SNS message, run.json and
#: the execution's Cause): a paragraph naming the problem and the fix, never a dump of data.
MAX_CAUSE_BYTES = 4096
#: Most JSON bytes of a short summary sentence carried in the state (e.g. the problem-type reason).
MAX_SUMMARY_BYTES = 1024
#: Most stack frames a failed handler's error carries (Lambda puts them all in the Cause).
MAX_TRACE_FRAMES = 20
_ELLIPSIS = " [...]"

F = TypeVar("F", bound=Callable[..., Any])


def json_size(value: Any) -> int:
    """Bytes of ``value`` as JSON with non-ASCII escaped: an upper bound of its UTF-8 JSON size.

    Examples
    --------
    >>> json_size({"a": "é"})
    15
    """
    return len(json.dumps(value, ensure_ascii=True, default=str))


def _char_size(ch: str) -> int:
    return len(json.dumps(ch, ensure_ascii=True)) - 2


def clip_text(text: str, max_bytes: int = MAX_CAUSE_BYTES) -> str:
    """``text`` cut so its JSON string body is at most ``max_bytes`` (``" [...]"`` marks a cut).

    Cuts between characters (never inside a UTF-8 sequence or a surrogate pair), so the
    result is always valid text; text that fits is returned unchanged.

    Examples
    --------
    >>> clip_text("abcdefghijklmnop", 12)
    'abcdef [...]'
    >>> clip_text("short", 12)
    'short'
    """
    if len(text) <= max_bytes // 12 or json_size(text) - 2 <= max_bytes:
        return text
    budget = max_bytes - len(_ELLIPSIS)
    used = 0
    end = 0
    for ch in text[:budget]:  # every character costs at least one byte
        cost = _char_size(ch)
        if used + cost > budget:
            break
        used += cost
        end += 1
    return text[:end] + _ELLIPSIS


def bounded_errors(handler: F) -> F:
    """Decorate a Lambda handler so any exception it raises has a bounded message.

    Lambda puts the message in the error's ``Cause``, which the state machine's ``Catch``
    copies into the state: an unforeseen library error quoting a whole CSV line must not
    push the state over its limit. The exception keeps its type (its name is the
    ``Error`` the failure step classifies); only its text is cut, with :func:`clip_text`,
    and its traceback to the innermost :data:`MAX_TRACE_FRAMES` frames.
    """

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as exc:
            text = str(exc)
            clipped = clip_text(text)
            if clipped != text:
                exc.args = (clipped,)
            tb = exc.__traceback__
            depth = 0
            while tb is not None:
                depth, tb = depth + 1, tb.tb_next
            if depth > MAX_TRACE_FRAMES:
                # Lambda copies every frame into the Cause (a deep recursion is thousands):
                # the whole trace goes to the log, the innermost frames travel on.
                logging.getLogger(__name__).error("handler failed (full trace)", exc_info=exc)
                tb = exc.__traceback__
                for _ in range(depth - MAX_TRACE_FRAMES):
                    tb = tb.tb_next  # type: ignore[union-attr]
                raise exc.with_traceback(tb) from exc.__cause__
            raise

    return wrapper  # type: ignore[return-value]


#: A failure cause: bounded, since it may quote user data (:data:`MAX_CAUSE_BYTES`).
Cause = Annotated[str, AfterValidator(lambda text: clip_text(text, MAX_CAUSE_BYTES))]
#: A one-sentence summary carried in the state: bounded the same way (:data:`MAX_SUMMARY_BYTES`).
Summary = Annotated[str, AfterValidator(lambda text: clip_text(text, MAX_SUMMARY_BYTES))]
