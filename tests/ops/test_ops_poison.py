"""Poison messages: an ingest transaction that keeps failing is retried over passes, then held."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest import storing
from helpdesk_ingest.poller import poll_mailbox
from helpdesk_ingest.store.models import Article, QuarantinedMessage, StoreAttempt
from tests.test_poller import FakeMailbox, mail, options

POISON = mail(2)


@pytest.fixture
def poison_ingest(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The store raises for message 2 only, as a bug triggered by its contents would."""
    real_ingest = storing.stage_message
    failed: list[bytes] = []

    def ingest(session: Session, **kwargs: Any) -> Any:
        if kwargs["raw"] == POISON:
            failed.append(kwargs["raw"])
            raise ValueError("a bug this message triggers")
        return real_ingest(session, **kwargs)

    monkeypatch.setattr(storing, "stage_message", ingest)
    return failed


def count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_poison_message_is_retried_then_quarantined_and_deleted(
    sqlite_sessions: sessionmaker[Session], poison_ingest: list[bytes]
) -> None:
    box = FakeMailbox([mail(1), POISON, mail(3)], [])
    limit = options(store_attempts=3)

    first = poll_mailbox("support", box.open, sqlite_sessions, limit)
    # The messages around it are stored and deleted; the poison one waits for the next pass.
    assert first.outcome == "ok"
    assert (first.counts.ingested, first.counts.deferred, first.counts.quarantined) == (2, 1, 0)
    assert box.messages == [POISON]

    second = poll_mailbox("support", box.open, sqlite_sessions, limit)
    assert (second.counts.deferred, second.counts.quarantined) == (1, 0)
    assert box.messages == [POISON]

    third = poll_mailbox("support", box.open, sqlite_sessions, limit)
    assert (third.counts.deferred, third.counts.quarantined, third.counts.deleted) == (0, 1, 1)
    assert box.messages == []
    with sqlite_sessions() as session:
        held = session.scalars(select(QuarantinedMessage)).one()
        assert (held.reason, held.content) == ("store-error", POISON)
        assert "failed 3 times, last with ValueError" in held.detail
        attempt = session.scalars(select(StoreAttempt)).one()
        assert (attempt.attempts, attempt.last_error) == (3, "ValueError")
    assert count(sqlite_sessions, Article) == 2


def test_deferred_message_is_not_retried_within_the_same_pass(
    sqlite_sessions: sessionmaker[Session], poison_ingest: list[bytes]
) -> None:
    # Checkpoints reconnect within one pass; the poison message must cost one attempt per pass.
    box = FakeMailbox([POISON, mail(1), mail(3), mail(4)], [])
    result = poll_mailbox(
        "support", box.open, sqlite_sessions, options(store_attempts=5, checkpoint_every=2)
    )
    assert result.outcome == "ok"
    assert box.sessions_opened >= 2
    assert box.messages == [POISON]
    assert result.counts.ingested == 3
    with sqlite_sessions() as session:
        assert session.scalars(select(StoreAttempt.attempts)).one() == 1


def test_message_that_succeeds_on_a_later_pass_is_stored_once(
    sqlite_sessions: sessionmaker[Session],
    poison_ingest: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box = FakeMailbox([POISON], [])
    poll_mailbox("support", box.open, sqlite_sessions, options(store_attempts=3))
    assert box.messages == [POISON]
    # The fault passes (say, a lock timeout), and the next pass stores the message.
    monkeypatch.undo()
    result = poll_mailbox("support", box.open, sqlite_sessions, options(store_attempts=3))
    assert (result.counts.ingested, result.counts.deleted) == (1, 1)
    assert box.messages == []
    assert count(sqlite_sessions, QuarantinedMessage) == 0
