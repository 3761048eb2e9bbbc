"""Signed and encrypted mail (S/MIME, PGP): kept whole and marked, never mangled.

The parser verifies and decrypts nothing: it has no keys and stays pure. A signed message still
shows its text, and its signature stays an attachment; an encrypted message shows a short note
instead of ciphertext, and the encrypted data stays an attachment an operator can decrypt. The
marks (``smime-signed``, ``smime-encrypted``, ``pgp-signed``, ``pgp-encrypted``) go into the
message's defects, where the store and the helpdesk app can find them.
"""

from __future__ import annotations

import re
from email.message import Message

from helpdesk_ingest.parsing.blocks import delimited_blocks, without_spans
from helpdesk_ingest.parsing.partheaders import filename

SMIME_SIGNED = "smime-signed"
SMIME_ENCRYPTED = "smime-encrypted"
PGP_SIGNED = "pgp-signed"
PGP_ENCRYPTED = "pgp-encrypted"
ENCRYPTED_MARKS = frozenset({SMIME_ENCRYPTED, PGP_ENCRYPTED})

_SMIME_SIGNATURES = ("application/pkcs7-signature", "application/x-pkcs7-signature")
_SMIME_ENVELOPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")
_PGP_BEGIN = "-----BEGIN PGP MESSAGE-----"
_PGP_BEGIN_LINE = re.compile(rf"^{_PGP_BEGIN}\r?$", re.MULTILINE)
_PGP_END_LINE = re.compile(r"^-----END PGP MESSAGE-----[ \t]*\r?$\n?", re.MULTILINE)
_PGP_CLEARSIGNED = "-----BEGIN PGP SIGNED MESSAGE-----"


def part_marks(part: Message) -> list[str]:
    """What the headers of one MIME part say about signing and encryption."""
    content_type = part.get_content_type()
    protocol = str(part.get_param("protocol", "") or "").lower()
    if content_type == "multipart/signed":
        if protocol in _SMIME_SIGNATURES:
            return [SMIME_SIGNED]
        return [PGP_SIGNED] if protocol == "application/pgp-signature" else []
    if content_type == "multipart/encrypted":
        return [PGP_ENCRYPTED]
    if content_type in _SMIME_ENVELOPES or (filename(part) or "").lower() == "smime.p7m":
        # Opaque signed data wraps the text in the signature, so it is as unreadable as ciphertext.
        smime_type = str(part.get_param("smime-type", "") or "").lower()
        return [SMIME_SIGNED] if smime_type in ("signed-data", "certs-only") else [SMIME_ENCRYPTED]
    return []


def extract_inline_pgp(text: str) -> tuple[str, list[str], list[str]]:
    """``text`` without its armored PGP messages, those messages, and the marks found."""
    # The patterns start with a line start, which re tries at every character; the text rarely
    # holds the line they need.
    found = (
        [
            (begin.start(), end.end())
            for begin, end in delimited_blocks(text, _PGP_BEGIN_LINE, _PGP_END_LINE)
        ]
        if _PGP_BEGIN in text
        else []
    )
    blocks = [text[start:end] for start, end in found]
    marks = [PGP_ENCRYPTED] if blocks else []
    if _PGP_CLEARSIGNED in text:
        marks.append(PGP_SIGNED)
    return without_spans(text, found), blocks, marks


def unreadable_note(marks: list[str]) -> str:
    """The body shown instead of ciphertext (or of text wrapped inside an S/MIME signature)."""
    if SMIME_ENCRYPTED in marks or PGP_ENCRYPTED in marks:
        kind = "S/MIME" if SMIME_ENCRYPTED in marks else "PGP"
        what = f"This message is {kind}-encrypted, so its text cannot be shown here."
    else:
        what = "This message is S/MIME-signed with its text inside the signature."
    return (
        f"{what} The encrypted or signed part is kept as an attachment and the original "
        "message is stored unchanged; ask an operator to open it, or ask the sender to send "
        "it again without encryption."
    )
