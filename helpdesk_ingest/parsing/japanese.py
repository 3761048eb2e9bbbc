"""ISO-2022-JP as Windows writes it (CP50220): with the NEC and IBM extensions of JIS X 0208.

Python's iso2022_jp codecs reject those extension characters (circled digits, Roman numerals),
which Japanese Outlook puts in mail labelled plain ISO-2022-JP. Each two-byte JIS character is
mapped to its Shift_JIS bytes, and the whole is decoded as cp932, which has the extensions.
"""

from __future__ import annotations

_ESCAPES = {
    b"\x1b(B": "ascii",
    b"\x1b(J": "ascii",
    b"\x1b(I": "katakana",
    b"\x1b$@": "jis",
    b"\x1b$B": "jis",
}


def _jis_to_sjis(first: int, second: int) -> bytes:
    lead = ((first - 0x21) >> 1) + 0x81
    if lead > 0x9F:
        lead += 0x40
    if first % 2:
        trail = second - 0x21 + 0x40
        if trail >= 0x7F:
            trail += 1
    else:
        trail = second - 0x21 + 0x9F
    return bytes((lead, trail))


def decode_iso2022jp_windows(data: bytes) -> str:
    """Decode ``data``; raises UnicodeDecodeError like any codec when it is not this charset."""
    out = bytearray()
    mode = "ascii"
    position = 0
    while position < len(data):
        escape = _ESCAPES.get(data[position : position + 3])
        if escape is not None:
            mode, position = escape, position + 3
            continue
        byte = data[position]
        if byte >= 0x80:
            raise UnicodeDecodeError("iso-2022-jp", data, position, position + 1, "8-bit byte")
        if mode == "jis" and 0x21 <= byte <= 0x7E and position + 1 < len(data):
            second = data[position + 1]
            if not 0x21 <= second <= 0x7E:
                # A JIS character is two bytes of this range; anything else is not this charset.
                raise UnicodeDecodeError(
                    "iso-2022-jp", data, position, position + 2, "not a JIS character"
                )
            out += _jis_to_sjis(byte, second)
            position += 2
            continue
        out.append(byte + 0x80 if mode == "katakana" and 0x21 <= byte <= 0x5F else byte)
        position += 1
    return bytes(out).decode("cp932")
