"""Preparing a message: hash, parse and classify, within the parser's limits."""

from __future__ import annotations

from helpdesk_ingest.hygiene import HygieneSettings
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import ParseLimits
from helpdesk_ingest.prepare import PrepareSettings, prepare, sha256_hex

AUTO_REPLY_HEAD = (
    b"From: away@example.org\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Out of office\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"Message-ID: <away-1@example.org>\r\n"
    b"\r\n"
)


def test_an_oversized_message_is_classified_by_its_headers() -> None:
    raw = AUTO_REPLY_HEAD + b"I am away.\r\n" * 1000
    limits = ParseLimits(max_message_bytes=4096)
    prepared = prepare(raw, PrepareSettings(limits, HygieneSettings()))
    assert prepared.sha256 == sha256_hex(raw)
    assert isinstance(prepared.parsed, ParsedMessage)
    assert "over-size-limit" in prepared.parsed.defects
    assert prepared.classification is not None
    assert prepared.classification.kind == "auto-reply"


def test_a_message_within_limits_is_classified_whole() -> None:
    raw = AUTO_REPLY_HEAD + b"I am away.\r\n"
    prepared = prepare(raw, PrepareSettings(ParseLimits(), HygieneSettings()))
    assert isinstance(prepared.parsed, ParsedMessage)
    assert "over-size-limit" not in prepared.parsed.defects
    assert prepared.classification is not None
    assert prepared.classification.kind == "auto-reply"
