"""File names safe to offer for download on any operating system."""

from __future__ import annotations

import mimetypes
import re
import unicodedata

from helpdesk_ingest.unicode_controls import TEXT_DIRECTION_CONTROLS

MAX_FILENAME_LENGTH = 180
# Beside what file systems refuse: the Unicode controls of text direction, with which
# "invoice\u202efdp.exe" shows as "invoiceexe.pdf" to the agent about to open it.
_UNSAFE = re.compile(rf'[\x00-\x1f\x7f<>:"/\\|?*{TEXT_DIRECTION_CONTROLS}]+')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_EXTRA_EXTENSIONS = {"message/rfc822": ".eml", "text/calendar": ".ics", "text/plain": ".txt"}


def extension_for(content_type: str) -> str:
    return _EXTRA_EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"


def safe_filename(name: str | None, content_type: str, index: int) -> str:
    """``name`` without path parts, control characters or reserved names; derived when missing."""
    cleaned = unicodedata.normalize("NFC", name or "")
    cleaned = cleaned.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", cleaned).strip(" .")
    if _WINDOWS_RESERVED.match(cleaned):
        cleaned = f"_{cleaned}"
    if not cleaned or set(cleaned) <= {"_"}:
        cleaned = f"attachment-{index}{extension_for(content_type)}"
    if len(cleaned) > MAX_FILENAME_LENGTH:
        stem, dot, suffix = cleaned.rpartition(".")
        if dot and len(suffix) <= 10:
            cleaned = stem[: MAX_FILENAME_LENGTH - len(suffix) - 1] + "." + suffix
        else:
            cleaned = cleaned[:MAX_FILENAME_LENGTH]
    return cleaned
