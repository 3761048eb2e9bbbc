"""An error the database raises for one statement is the message's, not an outage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest import storing
from helpdesk_ingest.poller import poll_mailbox
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.models import Article, QuarantinedMessage
from helpdesk_ingest.store.outage import database_is_away
from tests.test_poller import FakeMailbox, mail, options

pytestmark = pytest.mark.postgres


def test_a_statement_the_database_cancels_quarantines_its_message_and_the_rest_go_through(
    pg_sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL raises a cancelled statement as an OperationalError, the class it also raises
    # for a database gone; so are "program limit exceeded" and a statement with too many
    # parameters, which one message's data caused before (see the CHANGELOG).
    stage = storing.stage_message

    def cancelled_for_the_second(session: Session, *args: Any, **kwargs: Any) -> Any:
        if b"body number 2." in kwargs["raw"]:
            session.execute(text("SET LOCAL statement_timeout = '1ms'"))
            session.execute(text("SELECT pg_sleep(1)"))
        return stage(session, *args, **kwargs)

    monkeypatch.setattr(storing, "stage_message", cancelled_for_the_second)
    box = FakeMailbox([mail(n) for n in range(1, 4)], [])

    result = poll_mailbox("support", box.open, pg_sessions, options(store_attempts=1))

    assert result.outcome == "ok"
    assert (result.counts.ingested, result.counts.quarantined) == (2, 1)
    assert box.messages == []
    with pg_sessions() as session:
        held = session.scalars(select(QuarantinedMessage)).one()
        assert held.reason == "store-error"
        assert "OperationalError" in (held.detail or "")
        assert session.scalar(select(func.count()).select_from(Article)) == 2


def test_an_operational_error_from_a_database_that_answers_is_no_outage(
    pg_sessions: sessionmaker[Session],
) -> None:
    with pg_sessions() as session:
        session.execute(text("SET statement_timeout = '1ms'"))
        with pytest.raises(OperationalError) as cancelled:
            session.execute(text("SELECT pg_sleep(1)"))

    assert not database_is_away(cancelled.value, pg_sessions)


def test_an_operational_error_from_a_database_that_does_not_answer_is_an_outage(
    tmp_path: Path,
) -> None:
    # Nothing listens on port 9 of loopback: every connection is refused at once.
    gone = make_sessionmaker(make_engine("postgresql+psycopg://postgres@127.0.0.1:9/none"))
    with gone() as session, pytest.raises(OperationalError) as refused:
        session.execute(text("SELECT 1"))

    assert database_is_away(refused.value, gone)


def test_a_connection_invalidated_is_an_outage_without_asking() -> None:
    def never(*_: object) -> Session:
        raise AssertionError("the database was asked")

    closed = OperationalError("INSERT", {}, Exception("closed"), connection_invalidated=True)

    assert database_is_away(closed, never)  # type: ignore[arg-type]
