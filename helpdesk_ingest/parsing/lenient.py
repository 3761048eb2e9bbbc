"""The parts of a parsed tree, whose text can be read whatever charset a part names.

``Message.get_payload()`` reads a part's raw 8-bit bytes in the charset its Content-Type names,
falling back to ASCII when Python knows no such codec. It raises for the rest of what a sender
can write there: one of Python's own codecs (``charset=idna``, ``punycode``, ``undefined``), a
name with a NUL character in it, or an RFC 2231 value (``charset*=utf-8''x``, a tuple where a
name is expected). Every reader of the tree calls it, the bounce detectors of flufl.bounce among
them, which log the error with a traceback and miss the bounce. These classes read such text
as the stdlib reads a charset it does not know.

They also read a part's parameters (boundary, charset, file name) from at most the first
``PARAMETER_VALUE_LIMIT`` characters of its Content-Type or Content-Disposition: the stdlib's
parameter splitter counts the quotes before each ``;`` from the start of the value again, and
copies the rest of the value at each parameter, so its time grows with the square of the
value's length (80 KB of ``;`` in a quoted file name took 3.6 s, and every reader of the part's
content type, charset or boundary pays it again).
"""

from __future__ import annotations

import contextlib
import email.message
import threading
from collections.abc import Iterator
from email.message import EmailMessage, Message
from email.policy import compat32
from typing import Any

from helpdesk_ingest.parse_limits import PARAMETER_VALUE_LIMIT


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


_MISSING = object()


def _get_params_preserve(part: Message, failobj: Any, header: str) -> Any:
    """``Message._get_params_preserve``, the reader under every parameter getter (get_param,
    get_params, get_filename, get_boundary, get_content_charset), given at most the first
    ``PARAMETER_VALUE_LIMIT`` characters of the header's value, and not raising."""
    value = part.get(header, _MISSING)
    if value is _MISSING:
        return failobj
    source = part
    text = str(value)
    if len(text) > PARAMETER_VALUE_LIMIT:
        start = text[:PARAMETER_VALUE_LIMIT]
        if (start.count('"') - start.count('\\"')) % 2:
            # Cut inside a quoted value (a file name): close it, so it is read without the quote.
            start += '"'
        source = Message()
        source[header] = start
    try:
        # Not in the type stubs: the stdlib's own method.
        return Message._get_params_preserve(source, failobj, header)  # type: ignore[attr-defined]
    except (TypeError, ValueError, LookupError):
        # Its RFC 2231 decoding raises on some damaged values (TypeError on one name with both
        # a numbered and an unnumbered continuation, title*= beside title*0*=).
        return _params_as_written(str(source.get(header)))


def _params_as_written(value: str) -> list[tuple[str, str]]:
    """The parameters of ``value`` as the stdlib splits them, without RFC 2231's decoding."""
    params = []
    # Not in the type stubs: the stdlib's own splitter, which the method above uses.
    for item in email.message._parseparam(value):  # type: ignore[attr-defined]
        name, _, written = item.partition("=")
        params.append((name.strip(), written.strip()))
    return params


class LenientMessage(Message):
    """A part of a tree parsed with ``compat32`` (``LENIENT_COMPAT32``)."""

    get_payload = _get_payload
    _get_params_preserve = _get_params_preserve

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _one_more_part()
        super().__init__(*args, **kwargs)


class LenientEmailMessage(EmailMessage):
    """A part of a tree parsed with the parser's policy (``policy.PARSE_ONCE``)."""

    get_payload = _get_payload
    _get_params_preserve = _get_params_preserve

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _one_more_part()
        super().__init__(*args, **kwargs)


LENIENT_COMPAT32 = compat32.clone(message_factory=LenientMessage)
