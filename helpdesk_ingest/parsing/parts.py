"""Walk the MIME tree once: choose the body parts, collect everything else as attachments."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from dataclasses import dataclass, field, replace
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.policy import compat32
from urllib.parse import unquote

from helpdesk_ingest.message import Attachment
from helpdesk_ingest.parsing.defects import defect_names
from helpdesk_ingest.parsing.filenames import safe_filename
from helpdesk_ingest.parsing.headers import decode_words
from helpdesk_ingest.parsing.limits import ParseLimits
from helpdesk_ingest.parsing.text import decode_bytes

_CID_REFERENCE = re.compile(r"""cid:([^"'\s<>)]+)""", re.IGNORECASE)


@dataclass
class Collected:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    parts_seen: int = 0


def _payload_bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    return decode_words(str(name)) if name else None


def _content_id(part: Message) -> str | None:
    value = part.get("Content-ID")
    if not value:
        return None
    return str(value).strip().strip("<>").strip() or None


def _attachment(part: Message, content: bytes, index: int, *, inline: bool) -> Attachment:
    content_type = part.get_content_type()
    return Attachment(
        filename=safe_filename(_filename(part), content_type, index),
        content_type=content_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        inline=inline,
        content_id=_content_id(part),
    )


def _embedded_message_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        # compat32 writes headers back as they were read; the default policy would re-parse
        # (and may choke on) every one of them.
        buffer = io.BytesIO()
        with contextlib.suppress(Exception):
            BytesGenerator(buffer, mangle_from_=False, policy=compat32).flatten(payload[0])
            return buffer.getvalue()
    return _payload_bytes(part)


def collect(message: EmailMessage, limits: ParseLimits) -> Collected:
    found = Collected()
    _walk(message, 0, found, limits, in_alternative=False)
    _mark_referenced_inline(found)
    return found


def _mark_referenced_inline(found: Collected) -> None:
    # An image the HTML body shows through cid: is part of the text, whatever its disposition says.
    referenced = {unquote(cid) for html in found.html for cid in _CID_REFERENCE.findall(html)}
    found.attachments = [
        replace(attachment, inline=True)
        if attachment.content_id in referenced and not attachment.inline
        else attachment
        for attachment in found.attachments
    ]


def _walk(
    part: Message, depth: int, found: Collected, limits: ParseLimits, *, in_alternative: bool
) -> None:
    found.parts_seen += 1
    if depth > 0:
        found.defects.extend(defect_names(part.defects))
    if found.parts_seen > limits.max_parts:
        if found.parts_seen == limits.max_parts + 1:
            found.defects.append(f"too-many-parts:{limits.max_parts}")
        return
    content_type = part.get_content_type()
    if part.is_multipart() and content_type != "message/rfc822":
        if depth >= limits.max_depth:
            found.defects.append(f"too-deep:{limits.max_depth}")
            return
        children = part.get_payload()
        alternative = content_type == "multipart/alternative"
        for child in children if isinstance(children, list) else []:
            if isinstance(child, Message):
                _walk(child, depth + 1, found, limits, in_alternative=alternative)
        return
    index = len(found.attachments) + 1
    if content_type == "message/rfc822":
        content = _embedded_message_bytes(part)
        attachment = _attachment(part, content, index, inline=False)
        if not _filename(part):
            attachment = replace(attachment, filename=f"message-{index}.eml")
        found.attachments.append(attachment)
        return
    disposition = part.get_content_disposition()
    content = _payload_bytes(part)
    is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment"
    if is_body_text and not (_filename(part) and disposition == "inline" and not in_alternative):
        text, defects = decode_bytes(content, part.get_content_charset())
        found.defects.extend(defects)
        (found.plain if content_type == "text/plain" else found.html).append(text)
        return
    inline = disposition == "inline" or (disposition is None and _content_id(part) is not None)
    found.attachments.append(_attachment(part, content, index, inline=inline))
