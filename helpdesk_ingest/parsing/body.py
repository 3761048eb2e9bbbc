"""The body of a message as an agent reads it: its text pieces in order, as text and as HTML.

A piece is one inline text part, or one multipart/alternative seen as a whole (its plain text
and its HTML form). A message that has both an HTML part and a plain-text signature part in a
multipart/mixed has two pieces, and both belong to the body.
"""

from __future__ import annotations

import html as html_escaping
from collections.abc import Sequence
from dataclasses import dataclass

from helpdesk_ingest.parsing.html import html_to_text, sanitize_html


@dataclass(frozen=True, slots=True)
class BodyPiece:
    plain: str | None = None
    html: str | None = None

    def as_text(self) -> str:
        if self.plain is not None and (self.plain.strip() or not self.html):
            return self.plain.replace("\r\n", "\n").strip("\n")
        return html_to_text(self.html) if self.html else ""

    def as_html(self) -> str:
        if self.html is not None:
            return self.html
        return f"<pre>{html_escaping.escape(self.plain or '')}</pre>"


def alternative(choices: Sequence[Sequence[BodyPiece]]) -> list[BodyPiece]:
    """One piece for a multipart/alternative: its first plain form and its last HTML form.

    RFC 2046 orders alternatives from plainest to richest; plain text is what the ticket's text
    shows, the richest HTML is what its HTML view shows.
    """
    plain = next(
        (
            "\n\n".join(piece.plain or "" for piece in choice)
            for choice in choices
            if choice and all(piece.html is None for piece in choice)
        ),
        None,
    )
    html = next(
        (
            "\n".join(piece.as_html() for piece in choice)
            for choice in reversed(choices)
            if any(piece.html is not None for piece in choice)
        ),
        None,
    )
    return [BodyPiece(plain=plain, html=html)] if plain is not None or html is not None else []


def body_text(pieces: Sequence[BodyPiece]) -> str:
    return "\n\n".join(text for text in (piece.as_text() for piece in pieces) if text.strip())


def body_html(pieces: Sequence[BodyPiece]) -> str | None:
    """Sanitized HTML of the whole body; None when no part of it was HTML."""
    if all(piece.html is None for piece in pieces):
        return None
    return sanitize_html("\n".join(piece.as_html() for piece in pieces))
