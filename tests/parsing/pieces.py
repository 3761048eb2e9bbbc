"""Messages handed to the parser as a reader of pieces, cut where a test chooses."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from helpdesk_ingest.parsing import StreamedMessage


def streamed(raw: bytes, head: int, piece: int) -> StreamedMessage:
    """``raw`` known by its first ``head`` bytes and read in pieces of ``piece`` bytes."""

    def pieces_from(start: int) -> Iterator[bytes]:
        for offset in range(start, len(raw), piece):
            yield raw[offset : offset + piece]

    return StreamedMessage(
        head=raw[:head],
        size=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        pieces_from=pieces_from,
        whole=lambda: raw,
    )
