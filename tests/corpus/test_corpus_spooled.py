"""A message read from the spool, or in pieces, is prepared exactly as the same bytes in memory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from helpdesk_ingest.hygiene.classify import classify
from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import ParseLimits, parse_message
from helpdesk_ingest.prepare import prepare
from helpdesk_ingest.prepared import PreparedMessage, PrepareSettings
from helpdesk_ingest.spool import Spool, SpooledBytes, in_memory
from tests.parsing.pieces import streamed

from .conformance import corpus_dir, manifest_rows

pytestmark = pytest.mark.corpus

CORPUS = corpus_dir()
if not (CORPUS / "manifest.jsonl").is_file():
    pytest.skip(f"no conformance corpus at {CORPUS}", allow_module_level=True)

# Every attachment goes to the spool, however small, so each corpus file exercises that path.
SETTINGS = PrepareSettings(ParseLimits(), HygieneSettings().own_mail(), spool_over_bytes=0)


def read_back(prepared: PreparedMessage) -> PreparedMessage:
    """``prepared`` with every spooled attachment read back into memory."""
    if not isinstance(prepared.parsed, ParsedMessage):
        return prepared
    attachments = tuple(
        dataclasses.replace(attachment, content=in_memory(attachment.content))
        for attachment in prepared.parsed.attachments
    )
    parsed = dataclasses.replace(prepared.parsed, attachments=attachments)
    return dataclasses.replace(prepared, parsed=parsed)


def test_every_corpus_message_prepares_the_same_from_the_spool(tmp_path: Path) -> None:
    rows = list(manifest_rows(CORPUS))
    spooled_attachments = 0
    with Spool(tmp_path) as spool:
        for row in rows:
            raw = (CORPUS / str(row["path"])).read_bytes()
            spooled = spool.write(raw)
            from_file = prepare(spooled, SETTINGS)
            if isinstance(from_file.parsed, ParsedMessage):
                spooled_attachments += sum(
                    isinstance(attachment.content, SpooledBytes)
                    for attachment in from_file.parsed.attachments
                )
            assert read_back(from_file) == prepare(raw, SETTINGS), row["path"]
            Spool.release(spooled)
    assert len(rows) > 600
    assert spooled_attachments > 100


def test_every_corpus_message_read_in_pieces_parses_and_classifies_as_the_whole() -> None:
    own_mail = SETTINGS.own_mail
    for number, row in enumerate(manifest_rows(CORPUS)):
        raw = (CORPUS / str(row["path"])).read_bytes()
        # Heads cut anywhere from inside the header section to past it, pieces of odd sizes.
        message = streamed(raw, head=40 + 37 * number % 2000, piece=1 + 7919 * number % 4093)
        whole = parse_message(raw)
        assert parse_message(message) == whole, row["path"]
        if isinstance(whole, ParsedMessage):
            assert classify(message, whole, own_mail) == classify(raw, whole, own_mail), row["path"]
