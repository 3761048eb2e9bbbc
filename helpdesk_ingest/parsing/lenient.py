"""The parts of a parsed tree, whose text can be read whatever charset a part names.

``Message.get_payload()`` reads a part's raw 8-bit bytes in the charset its Content-Type names,
falling back to ASCII when Python knows no such codec. It raises for the rest of what a sender
can write there: one of Python's own codecs (``charset=idna``, ``punycode``, ``undefined``), a
name with a NUL character in it, or an RFC 2231 value (``charset*=utf-8''x``, a tuple where a
name is expected). Every reader of the tree calls it, the bounce detectors of flufl.bounce among
them, which log the error with a traceback and miss the bounce. These classes read such text
as the stdlib reads a charset it does not know.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from email.message import EmailMessage, Message
from email.policy import compat32
from typing import Any


class TreeTooLarge(Exception):
    """A parse made more parts than ``parts_at_most`` allows."""


_budget = threading.local()


@contextlib.contextmanager
def parts_at_most(limit: int) -> Iterator[None]:
    """Make the parts created in this block, in this thread, raise TreeTooLarge past ``limit``."""
    _budget.left = limit
    try:
        yield
    finally:
        _budget.left = None


def _one_more_part() -> None:
    left = getattr(_budget, "left", None)
    if left is None:
        return
    if left <= 0:
        raise TreeTooLarge
    _budget.left = left - 1


def _get_payload(part: Message, i: int | None = None, decode: bool = False) -> Any:
    """``Message.get_payload``, reading 8-bit text as ASCII where the part's charset makes the
    stdlib raise. Neither EmailMessage nor its base MIMEPart has a get_payload of its own, so
    Message's is the one both classes below would inherit."""
    try:
        # The stubs' overloads take literal arguments only.
        return Message.get_payload(part, i, decode)  # type: ignore[call-overload]
    # ValueError: a UnicodeError, or a name with a NUL in it ("\x00utf-8") for the codec lookup.
    except (ValueError, TypeError):
        # Not in the type stubs: the stdlib's own attribute, which get_payload reads.
        payload = vars(part).get("_payload")
        if i is not None or decode or not isinstance(payload, str):
            raise
        return payload.encode("ascii", "surrogateescape").decode("ascii", "replace")


class LenientMessage(Message):
    """A part of a tree parsed with ``compat32`` (``LENIENT_COMPAT32``)."""

    get_payload = _get_payload

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _one_more_part()
        super().__init__(*args, **kwargs)


class LenientEmailMessage(EmailMessage):
    """A part of a tree parsed with the parser's policy (``policy.PARSE_ONCE``)."""

    get_payload = _get_payload

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _one_more_part()
        super().__init__(*args, **kwargs)


LENIENT_COMPAT32 = compat32.clone(message_factory=LenientMessage)
