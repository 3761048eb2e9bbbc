"""Bytes to text without ever raising: declared charset, then detection, then a safe fallback."""

from __future__ import annotations

import codecs

import charset_normalizer

# Labels seen in real mail that Python does not know, or that understate what the text uses:
# senders label cp932 text shift_jis, gb18030 text gb2312, cp1252 text iso-8859-1.
CHARSET_ALIASES = {
    "x-unknown": "",
    "unknown-8bit": "",
    "uft-8": "utf-8",
    "utf8": "utf-8",
    "iso-gb2312": "gb18030",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
    "windows-874": "cp874",
}


def codec_for(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when the label is useless."""
    if not label:
        return None
    name = CHARSET_ALIASES.get(label.strip().strip('"').lower(), label.strip().strip('"').lower())
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, list[str]]:
    """Decode ``data``; returns the text and the defects met on the way."""
    defects: list[str] = []
    codec = codec_for(declared)
    if declared and codec is None:
        defects.append(f"unknown-charset:{declared[:40]}")
    if codec is not None:
        try:
            return data.decode(codec), defects
        except UnicodeDecodeError:
            defects.append(f"charset-mismatch:{(declared or '')[:40]}")
    try:
        return data.decode("utf-8"), defects
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        defects.append(f"charset-detected:{best.encoding}")
        return str(best), defects
    defects.append("charset-fallback")
    return data.decode("utf-8", errors="replace"), defects


def repair_surrogates(text: str) -> str:
    """Undo the email package's surrogateescape for raw 8-bit bytes in headers."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", errors="surrogateescape")
        return decode_bytes(raw, None)[0]
    return text
