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
from collections.abc import Callable, Iterable, Sequence

from helpdesk_ingest.charsets import DEFAULT_FALLBACK_CHARSET, writes_ascii_as_ascii
from helpdesk_ingest.parsing.streamed import matches_in_pieces
from helpdesk_ingest.parsing.text import codec_for, is_multibyte, relatives

_BOM = b"\xef\xbb\xbf"
# A charset parameter (Content-Type, and HTML's <meta>) or an RFC 2047 encoded word's charset
# (with its optional RFC 2231 language). Every repeat is bounded, so a match is sought in the
# pieces of a message read in pieces (streamed.matches_in_pieces): no charset's name is longer
# than 40 characters, so a longer word names none.
_LABEL = rb"([A-Za-z0-9_.:-]{1,40})(?![A-Za-z0-9_.:-])"
DECLARED_CHARSET = re.compile(
    rb"charset\s{0,8}=\s{0,8}[\"']?"
    + _LABEL
    + rb"|=\?"
    + _LABEL
    + rb"(?:\*[A-Za-z0-9-]{0,16})?\?[BQ]\?",
    re.IGNORECASE,
)
# The most any attempt of it reads: "charset", spaces, "=", spaces, a quote, a label and the
# byte after it.
DECLARED_CHARSET_LONGEST = 7 + 8 + 1 + 8 + 1 + 40 + 1
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
# Where the repairs take the header section to end.
HEADER_END = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_SPACE_BEFORE_COLON = re.compile(rb"^([!-9;-~]+)[ \t]+:")
_JUNK_LINES_SKIPPED = 3


def _decode_line(line: bytes, candidates: list[str]) -> str:
    for codec in candidates:
        try:
            return line.decode(codec)
        except UnicodeDecodeError:
            continue
    return line.decode("latin-1")


def declared_charsets(pieces: Iterable[bytes]) -> list[str]:
    """The codecs a message declares anywhere, best evidence first, for 8-bit text without a
    label; the message is given as its bytes in ``pieces`` (one piece when it is in memory).

    A multi-byte charset goes first: that such text decodes in it without error is strong
    evidence; its usual siblings follow. A one-byte charset decodes anything, so it comes last,
    and only the first one declared.
    """
    found = matches_in_pieces(DECLARED_CHARSET, pieces, DECLARED_CHARSET_LONGEST)
    labels = [match.group(1) or match.group(2) for match in found]
    declared = [codec_for(label.decode("ascii")) for label in labels]
    usable = [codec for codec in dict.fromkeys(declared) if codec and writes_ascii_as_ascii(codec)]
    multibyte = [codec for codec in usable if is_multibyte(codec)]
    single = [codec for codec in usable if not is_multibyte(codec)][:1]
    related = [other for codec in multibyte for other in relatives(codec)]
    return list(dict.fromkeys([*multibyte, *related, *single]))


def header_charsets(declared: Sequence[str], fallback: str) -> list[str]:
    """Codecs to try on an 8-bit header line: UTF-8, those the message declares
    (``declared_charsets``), then ``fallback`` (a one-byte charset decodes anything) and, for a
    multi-byte fallback, cp1252."""
    return list(dict.fromkeys(["utf-8", *declared, fallback, DEFAULT_FALLBACK_CHARSET]))


def _skip_leading_junk(lines: list[bytes], defects: list[str]) -> list[bytes]:
    if not lines or _HEADER_LINE.match(lines[0]):
        return lines
    for start in range(1, min(_JUNK_LINES_SKIPPED + 1, len(lines) - 1)):
        if _HEADER_LINE.match(lines[start]) and _HEADER_LINE.match(lines[start + 1]):
            defects.append("junk-before-headers")
            return lines[start:]
    return lines


def _fold_stray_lines(lines: list[bytes], defects: list[str]) -> list[bytes]:
    # A line that is neither a header nor a continuation, with headers after it, is a
    # continuation line that lost its leading white space; the email package would take it as
    # the start of the body and lose every header below it.
    last_header = max(
        (index for index, line in enumerate(lines) if _HEADER_LINE.match(line)), default=-1
    )
    repaired = [
        b" " + line
        if 0 < index < last_header
        and line.strip()
        and not line[:1].isspace()
        and not _HEADER_LINE.match(line)
        else line
        for index, line in enumerate(lines)
    ]
    if repaired != lines:
        defects.append("unfolded-header-line")
    return repaired


def repair_header_section(raw: bytes, charsets: Callable[[], list[str]]) -> tuple[bytes, list[str]]:
    """``raw`` with its top-level header section repaired, and what was repaired; ``charsets``
    as for ``repair_head``."""
    end = HEADER_END.search(raw)
    split = end.start() if end else len(raw)
    head = raw[:split]
    repaired, defects = repair_head(head, charsets)
    if repaired == head:
        # Nothing to repair: no copy of a body that may be megabytes long.
        return raw, defects
    return b"".join((repaired, memoryview(raw)[split:])), defects


def repair_head(head: bytes, charsets: Callable[[], list[str]]) -> tuple[bytes, list[str]]:
    """A top-level header section (up to the line break before the blank line that ends it)
    repaired, and what was repaired; ``charsets`` gives ``header_charsets`` of the whole
    message, asked for only when a header line holds 8-bit bytes."""
    defects: list[str] = []
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
        defects.append("byte-order-mark")
    lines = _fold_stray_lines(_skip_leading_junk(head.split(b"\n"), defects), defects)
    if any(_SPACE_BEFORE_COLON.match(line) for line in lines):
        defects.append("space-before-colon")
        lines = [_SPACE_BEFORE_COLON.sub(rb"\1:", line) for line in lines]
    if _EIGHT_BIT.search(head):
        defects.append("raw-8bit-header")
        candidates = charsets()
        lines = [
            line if line.isascii() else _decode_line(line, candidates).encode("utf-8")
            for line in lines
        ]
    return b"\n".join(lines), defects
