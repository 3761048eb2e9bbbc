"""Preparing a message: hash, parse and classify, within the parser's limits."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest

from helpdesk_ingest import prepare as prepare_module
from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import ParseLimits
from helpdesk_ingest.prepare import prepare
from helpdesk_ingest.prepared import PrepareSettings, sha256_hex
from helpdesk_ingest.spool import Spool, SpooledBytes, SpoolError

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
    prepared = prepare(raw, PrepareSettings(limits, HygieneSettings().own_mail()))
    assert prepared.sha256 == sha256_hex(raw)
    assert isinstance(prepared.parsed, ParsedMessage)
    assert "over-size-limit" in prepared.parsed.defects
    assert prepared.classification is not None
    assert prepared.classification.kind == "auto-reply"


def test_a_message_within_limits_is_classified_whole() -> None:
    raw = AUTO_REPLY_HEAD + b"I am away.\r\n"
    prepared = prepare(raw, PrepareSettings(ParseLimits(), HygieneSettings().own_mail()))
    assert isinstance(prepared.parsed, ParsedMessage)
    assert "over-size-limit" not in prepared.parsed.defects
    assert prepared.classification is not None
    assert prepared.classification.kind == "auto-reply"


def test_a_spooled_message_is_read_from_its_file_and_its_large_attachment_spooled_beside(
    tmp_path: Path,
) -> None:
    payload = bytes(range(256)) * 1024
    attachment = MIMEApplication(payload, Name="dump.bin")
    message = MIMEMultipart()
    message["From"] = "ann@example.org"
    message["Subject"] = "dump"
    message.attach(MIMEText("see the dump"))
    message.attach(attachment)
    small = MIMEApplication(b"tiny", Name="tiny.bin")
    message.attach(small)
    raw = message.as_bytes()
    with Spool(tmp_path) as spool:
        spooled = spool.write(raw)
        settings = PrepareSettings(
            ParseLimits(), HygieneSettings().own_mail(), spool_over_bytes=64 * 1024
        )
        prepared = prepare(spooled, settings)
        assert prepared.sha256 == sha256_hex(raw) == sha256_hex(spooled)
        assert isinstance(prepared.parsed, ParsedMessage)
        big, tiny = prepared.parsed.attachments
        assert isinstance(big.content, SpooledBytes)
        assert big.content.path.parent == spooled.path.parent
        assert (big.content.read(), big.size) == (payload, len(payload))
        assert tiny.content == b"tiny"
        Spool.release(spooled)
        assert not big.content.path.exists()


def test_an_attachment_that_cannot_be_spooled_stays_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: object) -> SpooledBytes:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(prepare_module, "write_beside", disk_full)
    message = MIMEMultipart()
    message["From"] = "ann@example.org"
    message.attach(MIMEText("see the dump"))
    message.attach(MIMEApplication(b"x" * 100_000, Name="dump.bin"))
    with Spool(tmp_path) as spool:
        settings = PrepareSettings(
            ParseLimits(), HygieneSettings().own_mail(), spool_over_bytes=64 * 1024
        )
        prepared = prepare(spool.write(message.as_bytes()), settings)
    assert isinstance(prepared.parsed, ParsedMessage)
    (attachment,) = prepared.parsed.attachments
    assert attachment.content == b"x" * 100_000


def test_a_spooled_message_is_parsed_and_classified_from_pieces_of_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = MIMEMultipart()
    message["From"] = "ann@example.org"
    message["Subject"] = "the log"
    message.attach(MIMEText("the log, as asked"))
    message.attach(MIMEApplication(b"log line\n" * 200_000, Name="app.log"))
    raw = message.as_bytes()
    # Its attachment stays in memory, so the two preparations compare as they are.
    own_mail = HygieneSettings().own_mail()
    settings = PrepareSettings(ParseLimits(), own_mail, spool_over_bytes=1 << 30)
    in_memory = prepare(raw, settings)

    def read_whole(self: SpooledBytes) -> bytes:
        raise AssertionError(f"{self.path.name} read whole")

    monkeypatch.setattr(SpooledBytes, "read", read_whole)
    with Spool(tmp_path) as spool:
        spooled = spool.write(raw)
        assert prepare(spooled, settings) == in_memory
        Spool.release(spooled)


def test_a_spooled_message_whose_file_cannot_be_read_fails_the_pass_and_is_not_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = a_message_with_a_long_body()
    settings = PrepareSettings(ParseLimits(), HygieneSettings().own_mail())
    with Spool(tmp_path) as spool:
        gone = spool.write(raw)
        gone.path.unlink()
        with pytest.raises(SpoolError, match="cannot read the spooled message"):
            prepare(gone, settings)
        # Read as far as its head, then the disk fails: still the spool's failure.
        spooled = spool.write(raw)
        chunks = SpooledBytes.chunks

        def failing_after_the_head(
            self: SpooledBytes, chunk_bytes: int = 1 << 20, start: int = 0
        ) -> Iterator[bytes]:
            if start:
                raise OSError(errno.EIO, "Input/output error")
            yield from chunks(self, chunk_bytes, start)

        monkeypatch.setattr(SpooledBytes, "chunks", failing_after_the_head)
        with pytest.raises(SpoolError, match="Input/output error"):
            prepare(spooled, settings)
        # Parsed, then the disk fails as the classifier reads it: the same.
        reads_from_the_start = 0

        def failing_at_the_classifiers_read(
            self: SpooledBytes, chunk_bytes: int = 1 << 20, start: int = 0
        ) -> Iterator[bytes]:
            nonlocal reads_from_the_start
            if start == 0:
                # The digest, then the classifier's search: the second is the first after the
                # parse, which reads from the end of the header section.
                reads_from_the_start += 1
                if reads_from_the_start == 2:
                    raise OSError(errno.EIO, "Input/output error")
            yield from chunks(self, chunk_bytes, start)

        monkeypatch.setattr(SpooledBytes, "chunks", failing_at_the_classifiers_read)
        with pytest.raises(SpoolError, match="Input/output error"):
            prepare(spooled, settings)
        assert reads_from_the_start == 2


def a_message_with_a_long_body() -> bytes:
    return AUTO_REPLY_HEAD + b"I am away until Monday.\r\n" * 10_000
