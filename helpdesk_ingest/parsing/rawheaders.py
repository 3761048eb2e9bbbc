"""Raw 8-bit bytes in the header section, turned into UTF-8 before the email package sees them.

RFC 5322 headers are ASCII, yet many mailers write names and subjects in the sender's charset
without RFC 2047 encoding. The email package keeps such bytes as surrogates and then guesses
nothing; here each header line is decoded as UTF-8 when it is valid UTF-8, else in the charset
the message declares for its text (what the sending program most likely used), else cp1252.
"""

from __future__ import annotations

import re

from helpdesk_ingest.parsing.text import codec_for

_DECLARED_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _decode_line(line: bytes, hint: str | None) -> str:
    for codec in ("utf-8", hint, "cp1252"):
        if codec:
            try:
                return line.decode(codec)
            except UnicodeDecodeError:
                continue
    return line.decode("latin-1")


def transcode_header_section(raw: bytes) -> bytes:
    """``raw`` with its top-level header lines re-encoded as UTF-8; the body is untouched."""
    end = _HEADER_END.search(raw)
    split = end.start() if end else len(raw)
    head, rest = raw[:split], raw[split:]
    if not _EIGHT_BIT.search(head):
        return raw
    declared = _DECLARED_CHARSET.search(raw)
    hint = codec_for(declared.group(1).decode("ascii")) if declared else None
    if hint and "From:".encode(hint, errors="replace") != b"From:":
        # UTF-16 and its kin cannot be what an 8-bit header line was written in.
        hint = None
    lines = [
        line if line.isascii() else _decode_line(line, hint).encode("utf-8")
        for line in head.split(b"\n")
    ]
    return b"\n".join(lines) + rest
