"""Files uuencoded into a text body (``begin 644 name`` … ``end``), as old mailers sent them.

The stdlib decodes a part whose Content-Transfer-Encoding says uuencode; this module finds the
blocks that sit inside ordinary text, which no header announces.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

from helpdesk_ingest.parsing.blocks import delimited_blocks, without_spans

_BEGIN = re.compile(r"^begin[ \t]+[0-7]{3,4}[ \t]+(?P<name>[^\r\n]+?)[ \t]*\r?\n", re.MULTILINE)
_END = re.compile(r"^end[ \t]*\r?$\n?", re.MULTILINE)
# The block's lines end in LF or CR LF; a CR alone ends none of them.
_LONE_CR = re.compile(r"\r(?!\n)")


@dataclass(frozen=True, slots=True)
class UuencodedFile:
    name: str
    content: bytes


def _decode_line(line: str) -> bytes:
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        # Some encoders pad lines short or long; the length byte says how much is meant.
        length = (ord(line[0]) - 32) & 63 if line else 0
        try:
            return binascii.a2b_uu(line[: (length + 2) // 3 * 4 + 1])
        except binascii.Error:
            return b""


def _decode(data: str) -> bytes | None:
    lines = data.splitlines()
    try:
        encoded = "".join(lines).encode("ascii")
    except UnicodeEncodeError:
        return None
    if not encoded.strip():
        return None
    return b"".join(_decode_line(line) for line in lines if line.strip())


def extract_uuencoded(text: str) -> tuple[str, list[UuencodedFile]]:
    """``text`` without its uuencoded blocks, and the files those blocks held."""
    if "begin " not in text:
        return text, []
    files: list[UuencodedFile] = []
    taken: list[tuple[int, int]] = []
    for begin, end in delimited_blocks(text, _BEGIN, _END, _LONE_CR):
        content = _decode(text[begin.end() : end.start()])
        if content is None:
            continue
        files.append(UuencodedFile(begin["name"].strip(), content))
        taken.append((begin.start(), end.end()))
    return without_spans(text, taken), files
