"""Two daemons writing to one PostgreSQL database at the same moment."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.message import Address, ParsedMessage
from helpdesk_ingest.store.database import make_engine
from helpdesk_ingest.store.ingest import IngestOutcome, ingest_message
from helpdesk_ingest.store.migrations import upgrade_to_head
from helpdesk_ingest.store.models import Article, Contact
from helpdesk_ingest.store.schema import schema_status
from helpdesk_ingest.store.threading import DEFAULT_TICKET_TAG

pytestmark = pytest.mark.postgres

BLOCKED_S = 0.5


def ingest(session: Session, mailbox: str, message_id: str) -> IngestOutcome:
    raw = f"{mailbox} {message_id}".encode()
    parsed = ParsedMessage(
        message_id=message_id,
        message_id_synthetic=False,
        subject="Printer on fire",
        from_address=Address("Alice", "alice@example.org"),
    )
    return ingest_message(
        session,
        mailbox=mailbox,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        parsed=parsed,
        queue="general",
        ticket_tag_pattern=re.compile(DEFAULT_TICKET_TAG),
        now=datetime.now(UTC),
    )


def race(
    sessions: sessionmaker[Session], first: tuple[str, str], second: tuple[str, str]
) -> IngestOutcome:
    """Ingest ``first`` and hold its transaction open while ``second`` is ingested elsewhere."""
    outcomes: list[IngestOutcome] = []

    def other_daemon() -> None:
        with sessions.begin() as session:
            outcomes.append(ingest(session, *second))

    with sessions.begin() as session:
        ingest(session, *first)
        worker = threading.Thread(target=other_daemon)
        worker.start()
        worker.join(BLOCKED_S)
        # The second writer must wait for this transaction rather than act on what it cannot see.
        assert worker.is_alive()
    worker.join(10)
    assert not worker.is_alive()
    return outcomes[0]


def test_same_message_id_at_the_same_moment_makes_one_article(
    pg_sessions: sessionmaker[Session],
) -> None:
    second = race(pg_sessions, ("support", "<same@example.org>"), ("sales", "<same@example.org>"))

    assert second.kind == "duplicate"
    with pg_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 1


def test_new_contact_at_the_same_moment_is_created_once(
    pg_sessions: sessionmaker[Session],
) -> None:
    second = race(pg_sessions, ("support", "<one@example.org>"), ("sales", "<two@example.org>"))

    assert second.kind == "ingested"
    with pg_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1
        assert session.scalar(select(func.count()).select_from(Article)) == 2


def test_replicas_migrating_together_both_succeed(store_postgres_url: str) -> None:
    engines = [make_engine(store_postgres_url) for _ in range(2)]
    errors: list[BaseException] = []

    def migrate(engine: Engine) -> None:
        try:
            upgrade_to_head(engine)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=migrate, args=(engine,)) for engine in engines]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert errors == []
        assert schema_status(engines[0]).is_current
    finally:
        for engine in engines:
            engine.dispose()
