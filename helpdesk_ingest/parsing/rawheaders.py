"""Repairs to the top-level header section before the email package reads it.

Each repair fixes something real mailers write that would otherwise make the email package treat
the whole message as body, or keep undecodable bytes: a byte order mark, a line of junk before
the first header, white space before a header's colon (obsolete RFC 822 syntax), and raw 8-bit
bytes. RFC 5322 headers are ASCII, yet many mailers write names and subjects in the sender's
charset without RFC 2047 encoding; such a line is decoded as UTF-8 when it is valid UTF-8, else
in the charset the message declares for its text (what the sending program most likely used),
else cp1252, and handed on as UTF-8.
"""

from __future__ import annotations

import re

from helpdesk_ingest.parsing.text import codec_for

_BOM = b"\xef\xbb\xbf"
_DECLARED_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_SPACE_BEFORE_COLON = re.compile(rb"^([!-9;-~]+)[ \t]+:")
_JUNK_LINES_SKIPPED = 3


def _decode_line(line: bytes, hint: str | None) -> str:
    for codec in ("utf-8", hint, "cp1252"):
        if codec:
            try:
                return line.decode(codec)
            except UnicodeDecodeError:
                continue
    return line.decode("latin-1")


def _charset_hint(raw: bytes) -> str | None:
    declared = _DECLARED_CHARSET.search(raw)
    hint = codec_for(declared.group(1).decode("ascii")) if declared else None
    if hint and "From:".encode(hint, errors="replace") != b"From:":
        # UTF-16 and its kin cannot be what an 8-bit header line was written in.
        return None
    return hint


def _skip_leading_junk(lines: list[bytes], defects: list[str]) -> list[bytes]:
    if not lines or _HEADER_LINE.match(lines[0]):
        return lines
    for start in range(1, min(_JUNK_LINES_SKIPPED + 1, len(lines) - 1)):
        if _HEADER_LINE.match(lines[start]) and _HEADER_LINE.match(lines[start + 1]):
            defects.append("junk-before-headers")
            return lines[start:]
    return lines


def repair_header_section(raw: bytes) -> tuple[bytes, list[str]]:
    """``raw`` with its top-level header section repaired, and what was repaired."""
    defects: list[str] = []
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
        defects.append("byte-order-mark")
    end = _HEADER_END.search(raw)
    split = end.start() if end else len(raw)
    head, rest = raw[:split], raw[split:]
    lines = _skip_leading_junk(head.split(b"\n"), defects)
    if any(_SPACE_BEFORE_COLON.match(line) for line in lines):
        defects.append("space-before-colon")
        lines = [_SPACE_BEFORE_COLON.sub(rb"\1:", line) for line in lines]
    if _EIGHT_BIT.search(head):
        defects.append("raw-8bit-header")
        hint = _charset_hint(raw)
        lines = [
            line if line.isascii() else _decode_line(line, hint).encode("utf-8") for line in lines
        ]
    return b"\n".join(lines) + rest, defects
