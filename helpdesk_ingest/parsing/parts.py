"""Walk the MIME tree once: body pieces in reading order, everything else as attachments."""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import io
import mimetypes
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from urllib.parse import unquote

from helpdesk_ingest.charsets import DEFAULT_FALLBACK_CHARSET
from helpdesk_ingest.message import Attachment
from helpdesk_ingest.parse_limits import ParseLimits
from helpdesk_ingest.parsing.body import BodyPiece, alternative
from helpdesk_ingest.parsing.defects import defect_names
from helpdesk_ingest.parsing.filenames import safe_filename
from helpdesk_ingest.parsing.headers import Undeclared
from helpdesk_ingest.parsing.html import text_without_markup
from helpdesk_ingest.parsing.nesting import MAX_TREE_WORK, tree_work
from helpdesk_ingest.parsing.partheaders import content_id, filename
from helpdesk_ingest.parsing.secure import (
    ENCRYPTED_MARKS,
    SMIME_SIGNED,
    extract_inline_pgp,
    part_marks,
    unreadable_note,
)
from helpdesk_ingest.parsing.text import decode_bytes
from helpdesk_ingest.parsing.tnef import expand_tnef, is_tnef
from helpdesk_ingest.parsing.uuencode import extract_uuencoded
from helpdesk_ingest.spool import in_memory

HTML_TOO_DEEP = "html-too-deep"
_CID_REFERENCE = re.compile(r"""cid:([^"'\s<>)]+)""", re.IGNORECASE)
_BODY_TYPES = ("text/plain", "text/html")
# Parts the email package splits into header blocks, but which an agent reads as one file.
_BLOCK_TYPES = ("message/delivery-status", "message/disposition-notification")


@dataclass
class Collected:
    pieces: list[BodyPiece] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    # What the message declares (rawheaders.declared_charsets), for names in raw 8-bit bytes
    # (partheaders.filename) and for text without a label too short to detect (decode_bytes).
    charsets: Callable[[], Sequence[str]] = tuple
    # What reads such text and names when the message declares nothing that does.
    fallback_charset: str = DEFAULT_FALLBACK_CHARSET
    parts_seen: int = 0
    # What building the trees of its HTML parts costs so far (parsing/nesting.py).
    tree_work: int = 0

    @property
    def undeclared(self) -> Undeclared:
        return Undeclared(self.charsets, self.fallback_charset)

    @property
    def html(self) -> list[str]:
        return [piece.html for piece in self.pieces if piece.html is not None]


# Base64 text of at least this many characters is decoded by _plain_base64.
_LARGE_BASE64_CHARS = 1024 * 1024
# Only the alphabet and line breaks, then at most two padding characters.
_PLAIN_BASE64 = re.compile(r"[A-Za-z0-9+/\r\n]*(?:=[\r\n]*){0,2}")


def _plain_base64(part: Message) -> bytes | None:
    """A large, well-formed base64 body decoded in one pass; None leaves it to the package.

    The email package encodes the text to bytes, splits that into lines and joins them again
    before decoding: three more copies of a body that can be 20 MB. For base64 made of the
    alphabet and line breaks alone, correctly padded, binascii gives the same bytes straight
    from the text; anything else is decoded the package's way, with its defects.
    """
    if str(part.get("content-transfer-encoding", "")).strip().lower() != "base64":
        return None
    text = part.get_payload()
    if not isinstance(text, str) or len(text) < _LARGE_BASE64_CHARS:
        return None
    if not _PLAIN_BASE64.fullmatch(text):
        return None
    if (len(text) - text.count("\n") - text.count("\r")) % 4:
        return None
    return binascii.a2b_base64(text)


def _payload_bytes(part: Message) -> bytes:
    decoded = _plain_base64(part)
    if decoded is not None:
        return decoded
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _flattened(message: Message) -> bytes:
    # compat32 writes headers back as they were read; the default policy would re-parse
    # (and may choke on) every one of them.
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=compat32).flatten(message)
    return buffer.getvalue()


def _container_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):
        with contextlib.suppress(Exception):
            inner = [_flattened(item) for item in payload if isinstance(item, Message)]
            if part.get_content_type() == "message/rfc822":
                return inner[0] if inner else b""
            return b"\n".join(inner)
    return _payload_bytes(part)


def _attachment(part: Message, found: Collected, *, inline: bool) -> Attachment:
    content_type = part.get_content_type()
    is_container = content_type == "message/rfc822" or content_type in _BLOCK_TYPES
    content = _container_bytes(part) if is_container else _payload_bytes(part)
    return Attachment(
        filename=safe_filename(
            filename(part, found.undeclared),
            content_type,
            len(found.attachments) + 1,
        ),
        content_type=content_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        inline=inline,
        content_id=content_id(part),
    )


def _file(found: Collected, name: str | None, content_type: str, content: bytes) -> None:
    found.attachments.append(
        Attachment(
            filename=safe_filename(name, content_type, len(found.attachments) + 1),
            content_type=content_type,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
        )
    )


def collect(
    message: Message,
    limits: ParseLimits,
    charsets: Callable[[], Sequence[str]] = tuple,
    fallback_charset: str = DEFAULT_FALLBACK_CHARSET,
) -> Collected:
    found = Collected(charsets=charsets, fallback_charset=fallback_charset)
    found.pieces = _walk(message, 0, found, limits, resource=False)
    _mark_referenced_inline(found)
    _explain_unreadable(found)
    return found


def _explain_unreadable(found: Collected) -> None:
    # Without a key there is no text to show; say so rather than show an empty ticket.
    marks = [mark for mark in found.defects if mark in ENCRYPTED_MARKS or mark == SMIME_SIGNED]
    unreadable = any(mark in ENCRYPTED_MARKS for mark in marks) or any(
        attachment.content_type.endswith("pkcs7-mime") for attachment in found.attachments
    )
    if unreadable and not any(piece.as_text().strip() for piece in found.pieces):
        found.pieces.insert(0, BodyPiece(plain=unreadable_note(marks)))


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
    part: Message, depth: int, found: Collected, limits: ParseLimits, *, resource: bool
) -> list[BodyPiece]:
    found.parts_seen += 1
    if found.parts_seen > limits.max_parts:
        if found.parts_seen == limits.max_parts + 1:
            found.defects.append(f"too-many-parts:{limits.max_parts}")
        return []
    if depth > 0:
        found.defects.extend(defect_names(part.defects))
    found.defects.extend(part_marks(part))
    content_type = part.get_content_type()
    children = part.get_payload()
    if content_type.startswith("multipart/") and isinstance(children, list):
        if depth >= limits.max_depth:
            found.defects.append(f"too-deep:{limits.max_depth}")
            return []
        return _walk_multipart(content_type, children, depth, found, limits, resource=resource)
    return _leaf(part, found, resource=resource)


def _walk_multipart(
    content_type: str,
    children: Sequence[object],
    depth: int,
    found: Collected,
    limits: ParseLimits,
    *,
    resource: bool,
) -> list[BodyPiece]:
    parts = [child for child in children if isinstance(child, Message)]
    if content_type == "multipart/alternative":
        choices = [_walk(child, depth + 1, found, limits, resource=resource) for child in parts]
        return alternative(choices)
    pieces: list[BodyPiece] = []
    for position, child in enumerate(parts):
        # In multipart/related only the first part is the body; the rest are what it shows.
        child_is_resource = resource or (content_type == "multipart/related" and position > 0)
        pieces += _walk(child, depth + 1, found, limits, resource=child_is_resource)
    return pieces


def _is_body_text(part: Message, content_type: str, *, resource: bool) -> bool:
    if resource or part.get_content_disposition() == "attachment":
        return False
    if content_type.startswith("multipart/"):
        # A multipart without a usable boundary: the email package keeps it as one text.
        return True
    if content_type not in _BODY_TYPES:
        return False
    # A named text part marked inline is a file shown inline, not the writer's words.
    return not (filename(part) and part.get_content_disposition() == "inline")


def _leaf(part: Message, found: Collected, *, resource: bool) -> list[BodyPiece]:
    content_type = part.get_content_type()
    if _is_body_text(part, content_type, resource=resource):
        text, defects = decode_bytes(
            _payload_bytes(part),
            part.get_content_charset(),
            found.charsets,
            markup=content_type == "text/html",
            fallback=found.fallback_charset,
        )
        found.defects.extend(defects)
        if content_type == "text/html":
            return [_html_piece(text, found)]
        return [BodyPiece(plain=_files_out_of_text(text, found))]
    disposition = part.get_content_disposition()
    inline = disposition == "inline" or (disposition is None and content_id(part) is not None)
    attachment = _attachment(part, found, inline=inline)
    if is_tnef(attachment):
        _add_tnef(attachment, found)
    else:
        found.attachments.append(attachment)
    return []


def _html_piece(html: str, found: Collected) -> BodyPiece:
    # Past the budget the tree builder would take seconds to hours (parsing/nesting.py).
    found.tree_work += tree_work(html)
    if found.tree_work <= MAX_TREE_WORK:
        return BodyPiece(html=html)
    if HTML_TOO_DEEP not in found.defects:
        found.defects.append(HTML_TOO_DEEP)
    return BodyPiece(plain=text_without_markup(html))


def _files_out_of_text(text: str, found: Collected) -> str:
    """Text without the files written into it: uuencoded blocks and armored PGP messages."""
    text, uuencoded = extract_uuencoded(text)
    for item in uuencoded:
        _file(
            found,
            item.name,
            mimetypes.guess_type(item.name)[0] or "application/octet-stream",
            item.content,
        )
    text, armored, marks = extract_inline_pgp(text)
    found.defects.extend(marks)
    for block in armored:
        _file(found, "encrypted.asc", "application/pgp-encrypted", block.encode("ascii", "replace"))
    return text


def _add_tnef(winmail: Attachment, found: Collected) -> None:
    files, defect = expand_tnef(winmail)
    if defect:
        found.defects.append(defect)
    if not files:
        found.attachments.append(winmail)
    for item in files:
        _file(found, item.filename, item.content_type, in_memory(item.content))
