"""Outlook's TNEF container (winmail.dat) opened into the files it carries, with tnefparse.

Decision: a winmail.dat that holds files is replaced by those files, because an agent can open
them and cannot open winmail.dat; the raw message keeps the original for audit and replay. A
winmail.dat that holds no file (only Outlook's rich-text copy of the body), or that cannot be read,
is kept as it came, so nothing the sender attached is ever silently lost.
"""

from __future__ import annotations

import hashlib
import mimetypes

from tnefparse import TNEF

from helpdesk_ingest.message import Attachment
from helpdesk_ingest.spool import in_memory

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})


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
    try:
        container = TNEF(in_memory(winmail.content), do_checksum=False)
        files = [
            _file(str(item.long_filename() or item.name or ""), bytes(item.data or b""))
            for item in container.attachments
        ]
    except Exception:
        # tnefparse raises ValueError, struct.error and IndexError on damaged containers.
        return [], "tnef-unreadable"
    return files, ("tnef-expanded" if files else None)
