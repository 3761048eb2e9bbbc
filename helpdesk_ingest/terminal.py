"""Text from mail made safe to write to an operator's terminal.

A sender writes what they like into a Subject or a From name, and the daemon shows such text to
an operator: in its console log, in ``quarantine show``, in ``parse``. Written as it came, an
escape sequence would act on the terminal instead of being read (ESC ] 0 ; ... BEL retitles the
window, ESC [ 2 J clears it, a carriage return or cursor movement writes over the line before,
colours hide text), and a right-to-left override would show the rest of a line reversed.
Such characters are written as ``\\uXXXX`` instead: readable, and valid in a JSON string.
"""

from __future__ import annotations

from helpdesk_ingest.unicode_controls import TEXT_DIRECTION_CONTROLS

# Every C0 control but tab and line feed, DEL, every C1 control (U+009B is a CSI to terminals
# that read 8-bit controls), and the Unicode controls of text direction.
_UNSAFE = [
    *(code for code in range(0x20) if chr(code) not in "\t\n"),
    *range(0x7F, 0xA0),
    *map(ord, TEXT_DIRECTION_CONTROLS),
]
_ESCAPES = {code: f"\\u{code:04x}" for code in _UNSAFE}


def for_terminal(text: str) -> str:
    """``text`` with every character that acts on a terminal written as ``\\uXXXX``."""
    return text.translate(_ESCAPES)
