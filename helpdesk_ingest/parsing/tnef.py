"""Outlook's TNEF container (winmail.dat) opened into the files it carries, with tnefparse.

Decision: a winmail.dat that holds files is replaced by those files, because an agent can open
them and cannot open winmail.dat; the raw message keeps the original for audit and replay. A
winmail.dat that holds no file (only Outlook's rich-text copy of the body), or that cannot be read,
is kept as it came, so nothing the sender attached is ever silently lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mimetypes
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

from tnefparse import TNEF

from helpdesk_ingest.message import Attachment
from helpdesk_ingest.spool import in_memory, size_of

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})

# tnefparse loops as many times as a count in the container says, whatever data follows it: a
# property count of four billion in a 9 KB winmail.dat ran for hours, logging a warning at each
# turn, and a count of values made an object at each turn until memory ran out. The containers
# of real mail take fewer than one Python call for ten bytes; past one a byte (and a margin for
# small ones) a container is taken for damaged.
CALLS_PER_BYTE = 1
CALLS_AT_LEAST = 10_000

# Its warnings on a damaged container would reach a parse worker's stderr, in the middle of
# the daemon's log; what the container holds, or that it is unreadable, is recorded instead.
_LIBRARY_LOG = logging.getLogger("tnefparse")
_LIBRARY_LOG.propagate = False


class _TooMuchWork(BaseException):
    """A BaseException: tnefparse catches every Exception inside its MAPI decoder and goes on."""


@contextlib.contextmanager
def _python_calls_at_most(limit: int) -> Iterator[None]:
    """Raise _TooMuchWork in this thread at its ``limit``-th Python function call in the block."""
    calls = 0

    def count(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call":
            calls += 1
            if calls > limit:
                raise _TooMuchWork

    previous = sys.getprofile()
    sys.setprofile(count)
    try:
        yield
    finally:
        sys.setprofile(previous)


def is_tnef(attachment: Attachment) -> bool:
    return attachment.content_type in TNEF_TYPES or attachment.filename.lower() == "winmail.dat"


def _file(name: str, content: bytes) -> Attachment:
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Attachment(
        filename=name,
        content_type=content_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def expand_tnef(winmail: Attachment) -> tuple[list[Attachment], str | None]:
    """The files inside ``winmail`` (empty when there are none) and a defect name, if any.

    File names come back as the sender wrote them; the caller makes them safe.
    """
    size = size_of(winmail.content)
    try:
        with _python_calls_at_most(CALLS_AT_LEAST + CALLS_PER_BYTE * size):
            container = TNEF(in_memory(winmail.content), do_checksum=False)
        files = [
            _file(str(item.long_filename() or item.name or ""), bytes(item.data or b""))
            for item in container.attachments
        ]
    except (Exception, _TooMuchWork):
        # tnefparse raises ValueError, struct.error and IndexError on damaged containers; and
        # _TooMuchWork stops it on one whose counts run far past its data.
        return [], "tnef-unreadable"
    return files, ("tnef-expanded" if files else None)
