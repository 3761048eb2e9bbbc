"""Messages over spool_over_bytes, from a real Dovecot through files into the database."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk_ingest.cli import main
from helpdesk_ingest.store import large_values
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.models import Attachment, Blob, QuarantinedMessage, RawMessage
from tests.integration.test_end_to_end import counts, customer_mail, write_config
from tests.support.dovecot import DovecotServer

SPOOL_OVER_BYTES = 64 * 1024


def big_mail(number: int, payload: bytes) -> bytes:
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    # Lines that start with a dot are byte-stuffed on the wire: the file must get them back.
    text = b"".join(b".line %d of the text\r\n" % line for line in range(2000))
    return (
        (
            f"From: Ann <ann{number}@example.org>\r\n"
            "To: support@example.com\r\n"
            f"Subject: Log files {number}\r\n"
            f"Message-ID: <big-{number}@example.org>\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b1"\r\n'
            "\r\n"
            "--b1\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
        ).encode()
        + text
        + (
            b"--b1\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="dump.bin"\r\n'
            b"Content-Transfer-Encoding: base64\r\n"
            b"\r\n" + encoded + b"--b1--\r\n"
        )
    )


@pytest.mark.parametrize(
    "inline_bytes",
    [
        large_values.POSTGRESQL_INLINE_BYTES,
        # Over it, PostgreSQL gets each message through a large object, written before the
        # rest of its rows: its article gets its attachment after that early flush.
        SPOOL_OVER_BYTES,
    ],
    ids=["inline", "large-object"],
)
def test_large_messages_go_through_the_spool_and_arrive_whole(
    tmp_path: Path,
    database_url: str,
    dovecot: DovecotServer,
    inline_bytes: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(large_values, "POSTGRESQL_INLINE_BYTES", inline_bytes)
    account = dovecot.new_mailbox()
    payload = os.urandom(3 * 1024 * 1024)
    delivered = [big_mail(1, payload), customer_mail(2), big_mail(3, payload)]
    # Not mail at all, and large: quarantined, its bytes kept from the spooled file.
    junk = b"\x00\x01" + os.urandom(200_000).replace(b"\n", b" ") + b"\r\n"
    for raw in [*delivered, junk]:
        dovecot.deliver(account, raw)
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    extra = f'spool_over_bytes = {SPOOL_OVER_BYTES}\nspool_dir = "{spool_dir}"\n'
    config = write_config(tmp_path, database_url, dovecot, account, extra=extra)

    assert main(["--config", str(config), "poll"]) == 0

    assert dovecot.count(account) == 0
    found = counts(database_url)
    assert (found["RawMessage"], found["Attachment"], found["QuarantinedMessage"]) == (3, 2, 1)
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            raws = session.execute(select(RawMessage.sha256, RawMessage.content)).tuples().all()
            blobs = session.scalars(select(Blob.content)).all()
            held = session.scalar(select(QuarantinedMessage.content))
            attachment_sizes = session.scalars(select(Attachment.size)).all()
    finally:
        engine.dispose()
    for sha256, content in raws:
        assert hashlib.sha256(content).hexdigest() == sha256
    assert sorted(len(content) for _, content in raws) == sorted(len(raw) for raw in delivered)
    # The same attachment twice: one blob, written from the first message's spooled file.
    assert blobs == [payload]
    assert attachment_sizes == [len(payload), len(payload)]
    assert held == junk
    # Every file and directory of the pass is gone.
    assert list(spool_dir.iterdir()) == []
