"""`helpdesk-ingest prune`: old raw bytes go, their rows and quarantine stay."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.cli import main
from helpdesk_ingest.devserver.server import DevPop3Server
from helpdesk_ingest.store.ingest import quarantine_message
from helpdesk_ingest.store.models import Article, QuarantinedMessage, RawMessage, Ticket
from tests.ops.conftest import customer_mail

OLD, NEW = customer_mail(1), customer_mail(2)


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def cli(config: Path, *args: str) -> int:
    return main(["--config", str(config), "--log-level", "error", *args])


def raw_row(sessions: sessionmaker[Session], raw: bytes) -> RawMessage:
    with sessions() as session:
        row = session.scalars(select(RawMessage).where(RawMessage.sha256 == sha(raw))).one()
        session.expunge(row)
        return row


def count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def stored(
    config_file: Path, sessions: sessionmaker[Session], devserver: DevPop3Server
) -> datetime:
    """Two ingested messages, one 40 days old, and a quarantined one as old; returns that age."""
    devserver.deliver(OLD)
    devserver.deliver(NEW)
    assert cli(config_file, "poll") == 0
    assert devserver.messages() == []
    long_ago = datetime.now(UTC) - timedelta(days=40)
    held = b"\x00\x01 not a mail"
    with sessions.begin() as session:
        session.execute(
            update(RawMessage).where(RawMessage.sha256 == sha(OLD)).values(received_at=long_ago)
        )
        quarantine_message(
            session,
            mailbox="support",
            raw=held,
            sha256=sha(held),
            reason="empty-or-binary",
            detail="",
            now=long_ago,
        )
    return long_ago


def test_prune_empties_old_raw_messages_and_keeps_new_ones_and_quarantine(
    config_file: Path,
    sessions: sessionmaker[Session],
    stored: datetime,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    assert cli(config_file, "prune", "--older-than-days", "30") == 0
    assert capsys.readouterr().out.strip() == f"pruned 1 raw message(s), {len(OLD)} bytes"

    old, new = raw_row(sessions, OLD), raw_row(sessions, NEW)
    assert (old.content, old.size, old.sha256) == (b"", len(OLD), sha(OLD))
    assert old.pruned_at is not None
    assert old.ticket_id is not None
    assert (new.content, new.pruned_at) == (NEW, None)
    with sessions() as session:
        held = session.scalars(select(QuarantinedMessage)).one()
        assert held.content == b"\x00\x01 not a mail"
        assert held.released_at is None
    # Tickets and articles are the helpdesk's record; prune leaves them alone.
    assert (count(sessions, Ticket), count(sessions, Article)) == (2, 2)

    # A pruned row is not pruned again.
    assert cli(config_file, "prune", "--older-than-days", "30") == 0
    assert capsys.readouterr().out.strip() == "pruned 0 raw message(s), 0 bytes"


def test_dry_run_counts_and_changes_nothing(
    config_file: Path,
    sessions: sessionmaker[Session],
    stored: datetime,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    assert cli(config_file, "prune", "--older-than-days", "30", "--dry-run") == 0
    assert capsys.readouterr().out.strip() == f"would prune 1 raw message(s), {len(OLD)} bytes"
    assert raw_row(sessions, OLD).content == OLD
    assert raw_row(sessions, OLD).pruned_at is None
    # Forty-one days reaches back past both messages' age: nothing to prune.
    assert cli(config_file, "prune", "--older-than-days", "41", "--dry-run") == 0
    assert capsys.readouterr().out.strip() == "would prune 0 raw message(s), 0 bytes"


def test_redownload_of_a_pruned_message_is_still_a_duplicate(
    config_file: Path,
    sessions: sessionmaker[Session],
    devserver: DevPop3Server,
    stored: datetime,
) -> None:
    assert cli(config_file, "prune", "--older-than-days", "30") == 0
    devserver.deliver(OLD)
    assert cli(config_file, "poll") == 0
    # Recognised by its (mailbox, sha256) key, deleted, and stored nowhere a second time.
    assert devserver.messages() == []
    assert (count(sessions, RawMessage), count(sessions, Article)) == (2, 2)
    assert raw_row(sessions, OLD).content == b""


@pytest.mark.parametrize("days", ["0", "-3", "many"])
def test_older_than_days_must_be_a_positive_number(config_file: Path, days: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli(config_file, "prune", "--older-than-days", days)
    assert exit_info.value.code == 2
