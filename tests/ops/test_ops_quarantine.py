"""`helpdesk-ingest quarantine list | show | export | retry`."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest import quarantine as quarantine_module
from helpdesk_ingest.cli import main
from helpdesk_ingest.store.ingest import quarantine_message
from helpdesk_ingest.store.models import Article, QuarantinedMessage, RawMessage, Ticket
from tests.ops.conftest import customer_mail

NOT_A_MAIL = b"\x00\x01 not a mail at all"


def hold(sessions: sessionmaker[Session], raw: bytes, reason: str, mailbox: str = "support") -> int:
    with sessions.begin() as session:
        quarantine_message(
            session,
            mailbox=mailbox,
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
            reason=reason,
            detail=f"held for {reason}",
            now=datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
        )
        return session.scalars(select(QuarantinedMessage.id).order_by(QuarantinedMessage.id)).all()[
            -1
        ]


def count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def quarantine(config: Path, *args: str) -> int:
    return main(["--config", str(config), "--log-level", "error", "quarantine", *args])


def test_list_shows_every_entry_with_its_reason(
    config_file: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    first = hold(sessions, NOT_A_MAIL, "empty-or-binary")
    second = hold(sessions, customer_mail(1), "store-error")
    assert quarantine(config_file, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == ["id", "mailbox", "reason", "size", "created_at", "released_at"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [row[:4] for row in rows] == [
        [str(first), "support", "empty-or-binary", str(len(NOT_A_MAIL))],
        [str(second), "support", "store-error", str(len(customer_mail(1)))],
    ]
    assert rows[0][4].startswith("2026-11-02T10:00:00")
    assert rows[0][5] == "-"


def test_show_prints_detail_and_headers(
    config_file: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    entry = hold(sessions, customer_mail(7), "store-error")
    assert quarantine(config_file, "show", str(entry)) == 0
    out = capsys.readouterr().out
    assert "reason: store-error" in out
    assert "detail: held for store-error" in out
    assert f"sha256: {hashlib.sha256(customer_mail(7)).hexdigest()}" in out
    assert "  Subject: Printer 7 is on fire" in out
    assert "  Message-ID: <ops-7@example.org>" in out
    assert quarantine(config_file, "show", "999") == 1
    assert "no quarantined message with id 999" in capsys.readouterr().err


def test_show_writes_the_senders_text_readably_and_without_terminal_controls(
    config_file: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    raw = (
        b"From: Ren\xc3\xa9 <rene@example.org>\r\n"
        b"Subject: caf\xc3\xa9 \x1b]0;owned\x07\x1b[2Jinvoice\xe2\x80\xaefdp.exe\r\n\r\nbody\r\n"
    )
    entry = hold(sessions, raw, "parser-error")

    assert quarantine(config_file, "show", str(entry)) == 0

    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\u202e" not in out
    # Raw 8-bit bytes read as UTF-8; the controls written as escapes.
    assert "  From: René <rene@example.org>" in out
    assert "  Subject: café \\u001b]0;owned\\u0007\\u001b[2Jinvoice\\u202efdp.exe" in out


def test_export_writes_the_raw_bytes_unchanged(
    config_file: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    raw = b"Subject: odd\r\n\r\n\x00\xff\r\n.\r\nlast line without newline"
    entry = hold(sessions, raw, "empty-or-binary")
    target = tmp_path / "held.eml"
    assert quarantine(config_file, "export", str(entry), str(target)) == 0
    assert target.read_bytes() == raw
    assert quarantine(config_file, "export", "999", str(tmp_path / "none.eml")) == 1
    assert not (tmp_path / "none.eml").exists()


def test_retry_ingests_once_and_keeps_the_row_for_audit(
    config_file: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    entry = hold(sessions, customer_mail(3), "store-error")
    assert quarantine(config_file, "retry", str(entry)) == 0
    assert f"{entry}: ingested ticket" in capsys.readouterr().out
    with sessions() as session:
        row = session.get_one(QuarantinedMessage, entry)
        assert row.released_at is not None
        assert row.reason == "store-error"
        article = session.scalars(select(Article)).one()
        assert article.message_id == "<ops-3@example.org>"
    # A second retry changes nothing: the message is released already.
    assert quarantine(config_file, "retry", str(entry)) == 0
    assert f"{entry}: released" in capsys.readouterr().out
    assert (count(sessions, Ticket), count(sessions, RawMessage)) == (1, 1)


def test_retry_of_a_message_stored_meanwhile_is_a_duplicate(
    config_file: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    # The same mail reached the helpdesk through another mailbox after this copy was held.
    entry = hold(sessions, customer_mail(4), "store-error")
    assert quarantine(config_file, "retry", str(entry)) == 0
    other = hold(sessions, customer_mail(4), "store-error", mailbox="billing")
    assert other != entry
    config_file.write_text(config_file.read_text().replace('name = "support"', 'name = "billing"'))
    assert quarantine(config_file, "retry", str(other)) == 0
    assert f"{other}: duplicate" in capsys.readouterr().out
    assert count(sessions, Article) == 1


def test_retry_of_an_unparseable_message_leaves_it_held(
    config_file: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    entry = hold(sessions, NOT_A_MAIL, "empty-or-binary")
    assert quarantine(config_file, "retry", str(entry)) == 1
    assert f"{entry}: unparseable" in capsys.readouterr().out
    with sessions() as session:
        assert session.get_one(QuarantinedMessage, entry).released_at is None
    assert count(sessions, RawMessage) == 0


def test_retry_uses_the_configured_parse_limits(
    config_file: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    big = customer_mail(5).replace(b"Please help", b"A long story. " * 400 + b"Please help")
    entry = hold(sessions, big, "store-error")
    config_file.write_text("max_message_bytes = 2048\n" + config_file.read_text())
    assert quarantine(config_file, "retry", str(entry)) == 0
    assert f"{entry}: ingested ticket" in capsys.readouterr().out
    with sessions() as session:
        article = session.scalars(select(Article)).one()
    # Over the mailbox's limit: a ticket from the headers, as the poller would have made it.
    assert "over-size-limit" in article.defects
    assert "A long story" not in article.body_text


def test_retry_gives_up_a_message_past_its_cpu_limit(
    config_file: Path,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never_done(*_: object) -> None:
        end = time.process_time() + 20
        while time.process_time() < end:
            pass

    monkeypatch.setattr(quarantine_module, "prepare", never_done)
    entry = hold(sessions, customer_mail(6), "over-cpu-limit")
    config_file.write_text("max_parse_cpu_s = 0.2\n" + config_file.read_text())

    assert quarantine(config_file, "retry", str(entry)) == 1

    assert f"{entry}: unparseable: over-cpu-limit: " in capsys.readouterr().out
    with sessions() as session:
        assert session.get_one(QuarantinedMessage, entry).released_at is None


def test_retry_all_takes_every_pending_message(
    config_file: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    held = [hold(sessions, customer_mail(n), "store-error") for n in (10, 11)]
    bad = hold(sessions, NOT_A_MAIL, "empty-or-binary")
    unknown = hold(sessions, customer_mail(12), "store-error", mailbox="retired")
    assert quarantine(config_file, "retry", "--all") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [line for line in out if line.split(":")[0] in map(str, held)]
    assert all(": ingested ticket" in line for line in out[:2])
    assert f"{bad}: unparseable" in out[2]
    assert out[3] == f"{unknown}: failed: mailbox retired is not configured"
    assert count(sessions, Ticket) == 2
    # Only what is still pending is tried again.
    assert quarantine(config_file, "retry", "--all") == 1
    assert len(capsys.readouterr().out.splitlines()) == 2


def from_one_sender(number: int) -> bytes:
    return customer_mail(number).replace(f"customer{number}@".encode(), b"storm@")


def with_one_message_an_hour_per_sender(config: Path) -> None:
    limit = "[hygiene.rate_limits]\nper_sender = { max_messages = 1, window_s = 3600 }\n"
    config.write_text(config.read_text().replace("[[mailboxes]]", limit + "[[mailboxes]]", 1))


def test_retry_holds_again_over_a_rate_limit_unless_told_it_is_no_storm(
    config_file: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    # A sender's backlog after an outage: held at ingest, as it all arrived at once.
    with_one_message_an_hour_per_sender(config_file)
    first, *rest = [hold(sessions, from_one_sender(n), "rate-limit") for n in (20, 21, 22)]
    assert quarantine(config_file, "retry", "--all") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{first}: ingested ticket")
    assert out[1:] == [
        f"{held}: quarantined: held again: rate-limit; --without-rate-limits releases it regardless"
        for held in rest
    ]
    assert quarantine(config_file, "retry", "--all", "--without-rate-limits") == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == [str(held) for held in rest]
    assert all(": ingested ticket" in line for line in out)
    assert count(sessions, Article) == 3
    with sessions() as session:
        pending = session.scalars(
            select(QuarantinedMessage.id).where(QuarantinedMessage.released_at.is_(None))
        ).all()
    assert pending == []


def test_retry_all_with_a_reason_takes_only_the_messages_held_for_it(
    config_file: Path, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = hold(sessions, customer_mail(30), "store-error")
    limited = hold(sessions, customer_mail(31), "rate-limit")
    assert quarantine(config_file, "retry", "--all", "--reason", "rate-limit") == 0
    assert capsys.readouterr().out.splitlines() == [f"{limited}: ingested ticket 1001"]
    with sessions() as session:
        assert session.get_one(QuarantinedMessage, broken).released_at is None
    assert quarantine(config_file, "retry", "--all", "--reason", "rate-limit") == 0
    assert capsys.readouterr().out == (
        "no quarantined message held for rate-limit is waiting to be released\n"
    )
    assert quarantine(config_file, "retry", str(broken), "--reason", "store-error") == 2
    assert "--reason selects among --all" in capsys.readouterr().err
    with sessions() as session:
        assert session.get_one(QuarantinedMessage, broken).released_at is None
