"""On PostgreSQL a transaction's new rows go out as Core INSERTs and come back as loaded rows."""

from __future__ import annotations

from unittest import mock

import psycopg
import pytest
from sqlalchemy import event, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.store import new_rows, pending
from helpdesk_ingest.store.models import Article, Contact, RawMessage, Ticket
from helpdesk_ingest.store.models import Attachment as AttachmentRow
from helpdesk_ingest.store.new_rows import insert_new_rows
from helpdesk_ingest.store.outage import is_database_outage
from helpdesk_ingest.store.pending import TICKET_NUMBER_OFFSET
from tests.store.test_ingest import NOW, MakeMessage, attachment, ingest


def test_the_new_rows_refer_to_each_other_and_nothing_is_left_to_flush(
    pg_sessions: sessionmaker[Session], make_message: MakeMessage
) -> None:
    with pg_sessions() as session, session.begin():
        statements: list[str] = []
        event.listen(
            session.connection(),
            "before_cursor_execute",
            lambda *args: statements.append(args[2]),
        )
        written: list[bool] = []

        def recorded(session: Session) -> bool:
            written.append(insert_new_rows(session))
            return written[-1]

        with mock.patch.object(pending, "insert_new_rows", recorded):
            parsed = make_message(attachments=(attachment(b"%PDF"),))
            outcome = ingest(session, parsed, raw=b"first")
        assert written == [True]
        ticket = session.get(Ticket, outcome.ticket_id)
        assert ticket is not None
        rows = list(session.identity_map.values())

        statements.clear()
        session.flush()

        assert statements == []
        assert not session.new
        assert all(inspect(row).persistent and not inspect(row).modified for row in rows)
    assert outcome.ticket_number == TICKET_NUMBER_OFFSET + outcome.ticket_id

    with pg_sessions() as session:
        article, raw, contact, file_row = session.execute(
            select(Article, RawMessage, Contact, AttachmentRow)
            .join(RawMessage, RawMessage.id == Article.raw_message_id)
            .join(Contact, Contact.id == Article.contact_id)
            .join(AttachmentRow, AttachmentRow.article_id == Article.id)
        ).one()
        stored_ticket = session.get(Ticket, outcome.ticket_id)
    assert stored_ticket is not None
    assert (article.ticket_id, raw.ticket_id) == (stored_ticket.id, stored_ticket.id)
    assert stored_ticket.requester_id == contact.id
    assert (article.id, file_row.filename) == (outcome.article_id, "report.pdf")
    # The columns the objects left unset got the tables' defaults.
    assert (stored_ticket.status, stored_ticket.tags, article.is_bounce) == ("new", [], False)


def test_a_follow_up_changes_the_ticket_that_was_there_before(
    pg_sessions: sessionmaker[Session], make_message: MakeMessage
) -> None:
    with pg_sessions() as session, session.begin():
        first = ingest(session, make_message(), raw=b"first")
    with pg_sessions() as session, session.begin():
        parsed = make_message("<reply@example.org>", in_reply_to=("<first@example.org>",))
        reply = ingest(session, parsed, raw=b"reply")
    assert (reply.ticket_id, reply.new_ticket) == (first.ticket_id, False)
    with pg_sessions() as session:
        articles = session.scalars(select(Article).order_by(Article.id)).all()
    assert [article.ticket_id for article in articles] == [first.ticket_id] * 2


def test_rows_without_ids_are_left_to_the_session(pg_sessions: sessionmaker[Session]) -> None:
    with pg_sessions() as session, session.begin():
        contact = Contact(email="alice@example.org", created_at=NOW, updated_at=NOW)
        session.add(contact)

        assert insert_new_rows(session) is False
        assert list(session.new) == [contact]
        session.flush()
        assert contact.id is not None


def test_a_row_the_database_refuses_fails_as_sqlalchemy_reports_it(
    pg_sessions: sessionmaker[Session],
) -> None:
    # A concurrent daemon made the same contact first: the group's transaction must fail with
    # the IntegrityError that sends its messages to be stored one by one, not with an error of
    # the pipeline's that would read as the database being down.
    with pg_sessions() as session, session.begin():
        session.add(Contact(email="alice@example.org", created_at=NOW, updated_at=NOW))
    with pg_sessions() as session, session.begin():
        # The refused row is the last one sent: its error comes with the pipeline's one wait.
        session.add(Contact(email="alice@example.org", created_at=NOW, updated_at=NOW))
        pending._take_ids(session)
        with pytest.raises(IntegrityError) as caught:
            insert_new_rows(session)
        session.rollback()

    assert not is_database_outage(caught.value)


def test_a_connection_lost_at_the_pipeline_end_reads_as_an_outage(
    pg_sessions: sessionmaker[Session],
) -> None:
    # The server cannot be made to drop the connection exactly at the pipeline's wait: the
    # backend is ended before, and the error psycopg then raises is translated as it would be.
    with pg_sessions() as session:
        driver = session.connection().connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        backend = driver.info.backend_pid
        with pg_sessions() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        with pytest.raises(psycopg.OperationalError) as lost:
            driver.execute("SELECT 1")
        error = new_rows._as_sqlalchemy_error(session, lost.value)

        assert isinstance(error, OperationalError)
        assert error.connection_invalidated
        assert is_database_outage(error)
