"""Which of Python's codecs a mail charset label may name; light, so the settings can ask too.

Python's codec registry holds more than charsets: transforms (base64, hex, zlib, rot13...), which
are not text encodings and raise LookupError when bytes are decoded with them, and Python's own
codecs, which decode but are no charset any mail software writes: ``unicode_escape`` would turn
a backslash sequence in a customer's text into any character it names (a right-to-left override
among them), ``idna`` and ``punycode`` read host names, ``undefined`` fails on everything. A
label naming one of them is treated as no label at all.
"""

from __future__ import annotations

import codecs

# The codec of 8-bit text nothing declares and too little to detect one from, unless the
# setting fallback_charset names another: windows-1252, as mail clients and browsers in the
# West use.
DEFAULT_FALLBACK_CHARSET = "cp1252"

_PYTHON_ONLY = frozenset(
    {"idna", "mbcs", "oem", "punycode", "raw-unicode-escape", "unicode-escape", "undefined"}
)


def mail_codec(name: str) -> str | None:
    """The codec ``name`` looks up to, or None when it is none or no mail charset."""
    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError):
        # ValueError: a name with a NUL byte in it.
        return None
    if codec in _PYTHON_ONLY:
        return None
    try:
        b"x".decode(codec, errors="replace")
    except LookupError:
        # A transform, not a text encoding.
        return None
    return codec


def writes_ascii_as_ascii(codec: str) -> bool:
    """Whether ``codec`` encodes ASCII as ASCII: UTF-16 and its kin cannot be what 8-bit mail
    text or a header line is written in."""
    return "From: x".encode(codec, errors="replace") == b"From: x"
