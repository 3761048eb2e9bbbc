"""Bytes to text without ever raising: declared charset, then detection, then a safe fallback."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import chardet
from chardet import EncodingEra

from helpdesk_ingest.charsets import DEFAULT_FALLBACK_CHARSET, mail_codec
from helpdesk_ingest.parsing.japanese import decode_iso2022jp_windows

# Labels seen in real mail that Python does not know, or that understate what the text uses:
# senders label cp932 text shift_jis, gb18030 text gb2312, cp949 text ks_c_5601-1987.
CHARSET_ALIASES = {
    "x-unknown": "",
    "unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "default": "",
    "uft-8": "utf-8",
    "utf8": "utf-8",
    "utf-8lite": "utf-8",
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
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ansi_x3.4-1968": "utf-8",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
    "windows-874": "cp874",
}
# Text labelled Latin-1 that uses 0x80-0x9f was written on Windows: those bytes are C1 control
# characters in ISO-8859-1 but quotes, dashes and the euro sign in cp1252.
_WINDOWS_SUPERSETS = {"latin-1": "cp1252", "iso8859-1": "cp1252"}
_C1_BYTES = re.compile(rb"[\x80-\x9f]")
# ESC $ or ESC ( or ESC ): an ISO-2022 escape switching character sets (a terminal's colour codes
# are ESC [).
_ISO2022_DESIGNATION = re.compile(rb"\x1b[$()]")
# When text fails to decode in its declared charset, the sender's software most often used a
# sibling of it: Shift_JIS bytes labelled ISO-2022-JP, Big5 labelled GB2312, and so on.
_RELATIVES = {
    "iso2022_jp": ("cp932", "euc_jp"),
    "euc_jp": ("cp932",),
    "cp932": ("euc_jp",),
    "gb18030": ("big5",),
    "big5": ("gb18030",),
    "cp949": ("utf-8",),
}


def codec_for(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when the label is useless."""
    if not label:
        return None
    cleaned = label.strip().strip("\"'").lower()
    name = CHARSET_ALIASES.get(cleaned, cleaned)
    return mail_codec(name) if name else None


def relatives(codec: str) -> tuple[str, ...]:
    return _RELATIVES.get(codec, ())


_ISO2022JP_WINDOWS = "iso2022_jp:windows"
# Today's charsets and the ISO-8859 family, which mail used long after the web moved on.
_MAIL_CHARSETS = EncodingEra.MODERN_WEB | EncodingEra.LEGACY_ISO
_DECODERS: dict[str, Callable[[bytes], str]] = {_ISO2022JP_WINDOWS: decode_iso2022jp_windows}


def _candidates(data: bytes, codec: str) -> list[str]:
    superset = _WINDOWS_SUPERSETS.get(codec)
    first = [superset, codec] if superset and _C1_BYTES.search(data) else [codec]
    if codec == "iso2022_jp":
        first.append(_ISO2022JP_WINDOWS)
    return first + list(_RELATIVES.get(codec, ()))


def _decode(data: bytes, codec: str) -> str:
    decoder = _DECODERS.get(codec)
    return decoder(data) if decoder else data.decode(codec)


def is_multibyte(codec: str) -> bool:
    """Whether ``codec`` can reject 8-bit bytes, so that decoding without error is evidence."""
    try:
        b"\xe4".decode(codec)
    except UnicodeDecodeError:
        return True
    return False


def _utf8_behind_a_single_byte_label(data: bytes, codec: str) -> str | None:
    """``data`` as UTF-8 when it is UTF-8 labelled with a one-byte charset (ISO-8859-1,
    windows-1252, KOI8-R...): software that writes UTF-8 and labels it as it always did is
    common, and the label would decode every byte, into "GrÃ¼ÃŸe" for "Grüße". Text really
    written in such a charset is next to never valid UTF-8 once it holds a character beyond
    ASCII: each would have to be one of UTF-8's lead bytes followed by continuation bytes, which
    in these charsets are signs and rare letters (in ISO-8859-1, a capital with an accent
    followed by a sign such as ©)."""
    if data.isascii() or is_multibyte(codec):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _first_decoding(data: bytes, codec: str) -> tuple[str, str] | None:
    """``data`` decoded by the first of ``codec``'s candidates that can, and that candidate."""
    for candidate in _candidates(data, codec):
        try:
            return _decode(data, candidate), candidate
        except UnicodeDecodeError:
            continue
    return None


# Detection weighs how often letters and pairs of them occur; one or two 8-bit bytes among ASCII
# are too little for that (French "Très bien" came out Baltic, "à demain" Cyrillic). Such text is
# read in what the message declares elsewhere, else, when each of those bytes stands alone as a
# Latin letter with a diacritic does, in the fallback charset, which header bytes fall back to
# too (the setting fallback_charset).
TOO_FEW_TO_DETECT = 2
_EIGHT_BIT_RUN = re.compile(rb"[\x80-\xff]+")
# An HTML part may declare its charset in a <meta> tag or an XML declaration: the detector reads
# those, so such a part goes to it whatever its length.
_MARKUP_DECLARATION = re.compile(
    rb"<(?:meta|\?xml)\b[^<>]{0,300}?(?:charset|encoding)", re.IGNORECASE
)
_MARKUP_DECLARATION_WITHIN = 4096


def _few_lone_bytes(data: bytes) -> tuple[bool, bool]:
    """Whether ``data`` holds one to TOO_FEW_TO_DETECT 8-bit bytes, and whether each of them
    stands alone between ASCII bytes. (Text without any that reaches detection is ISO-2022.)"""
    total = 0
    lone = True
    for run in _EIGHT_BIT_RUN.finditer(data):
        length = run.end() - run.start()
        total += length
        if total > TOO_FEW_TO_DETECT:
            return False, False
        lone = lone and length == 1
    return total > 0, total > 0 and lone


def _too_little_to_detect(
    data: bytes, elsewhere: Callable[[], Sequence[str]], fallback: str
) -> tuple[str, str] | None:
    """``data`` decoded without detection when it is too short for it, and the codec used."""
    few, lone = _few_lone_bytes(data)
    if not few:
        return None
    for codec in elsewhere():
        if not is_multibyte(codec):
            return _first_decoding(data, codec)
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return _first_decoding(data, fallback) if lone else None


def decode_bytes(
    data: bytes,
    declared: str | None,
    elsewhere: Callable[[], Sequence[str]] = tuple,
    *,
    markup: bool = False,
    fallback: str = DEFAULT_FALLBACK_CHARSET,
) -> tuple[str, list[str]]:
    """Decode ``data``; returns the text and the defects met on the way.

    ``elsewhere`` gives the charsets the rest of the message declares (``declared_charsets``),
    asked only for undeclared text too short to detect, which is read in ``fallback`` when it
    declares none; ``markup`` says the text is HTML.
    """
    defects: list[str] = []
    codec = codec_for(declared)
    if declared and codec is None and declared.strip().lower() not in CHARSET_ALIASES:
        defects.append(f"unknown-charset:{declared[:40]}")
    mismatch = f"charset-mismatch:{(declared or '')[:40]}"
    if codec:
        utf8 = _utf8_behind_a_single_byte_label(data, codec)
        if utf8 is not None:
            return utf8, [*defects, mismatch]
        decoded = _first_decoding(data, codec)
        if decoded is not None:
            text, used = decoded
            if used in relatives(codec):
                defects.append(mismatch)
            return text, defects
        defects.append(mismatch)
    # ISO-2022 text (Japanese, Korean, Chinese) is 7-bit, so it would pass for UTF-8 with its
    # escape sequences in it: those send it to detection.
    if not _ISO2022_DESIGNATION.search(data):
        try:
            return data.decode("utf-8"), defects
        except UnicodeDecodeError:
            pass
    declares_itself = markup and _MARKUP_DECLARATION.search(data, 0, _MARKUP_DECLARATION_WITHIN)
    short = None if declares_itself else _too_little_to_detect(data, elsewhere, fallback)
    if short is not None:
        text, short_codec = short
        defects.append(f"charset-assumed:{short_codec}")
        return text, defects
    detected = _detected(data)
    if detected is not None:
        text, detected_codec = detected
        defects.append(f"charset-detected:{detected_codec}")
        return text, defects
    defects.append("charset-fallback")
    return data.decode("utf-8", errors="replace"), defects


def _detected(data: bytes) -> tuple[str, str] | None:
    """``data`` decoded in the charset detection finds for it, and the codec that decoded it.

    Detection weighs only the charsets mail is written in: the DOS, Mac and mainframe code pages
    fit a short text about as well as the right one, and no sender's software uses them. What it
    finds is then read as a declared charset is: ISO-8859-1 with Windows bytes as windows-1252.
    """
    found = chardet.detect(data, encoding_era=_MAIL_CHARSETS, prefer_superset=False)
    codec = codec_for(found["encoding"])
    return _first_decoding(data, codec) if codec else None


def repair_surrogates(text: str, charsets: Sequence[str] = ()) -> str:
    """Undo the email package's surrogateescape for raw 8-bit bytes in headers.

    Detection is unreliable on a few words of a header, so it is not tried: the bytes are read
    as UTF-8, else in ``charsets`` (what the message declares), else as cp1252, the most common
    other charset of header bytes.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", errors="replace").decode("utf-8")
        for label in ("utf-8", *charsets, DEFAULT_FALLBACK_CHARSET):
            codec = codec_for(label)
            if codec is None:
                continue
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                continue
        return raw.decode("latin-1")
    return text
