"""Bookkeeping of poll runs, read by `health`, and the ticket summary `demo` prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk_ingest.store.models import Article, Contact, PollRun, Ticket


def start_poll_run(session: Session, *, mailbox: str, now: datetime) -> int:
    run = PollRun(mailbox=mailbox, started_at=now, outcome="running")
    session.add(run)
    session.flush()
    return run.id


def finish_poll_run(
    session: Session,
    run_id: int,
    *,
    outcome: str,
    fetched: int,
    ingested: int,
    duplicates: int,
    quarantined: int,
    deleted: int,
    error: str | None,
    now: datetime,
) -> None:
    run = session.get_one(PollRun, run_id)
    run.outcome = outcome
    run.finished_at = now
    run.fetched = fetched
    run.ingested = ingested
    run.duplicates = duplicates
    run.quarantined = quarantined
    run.deleted = deleted
    run.error = error
    session.flush()


def last_successful_polls(session: Session) -> dict[str, datetime]:
    """Mailbox name → when its newest successful poll finished."""
    rows = session.execute(
        select(PollRun.mailbox, func.max(PollRun.finished_at))
        .where(PollRun.outcome.in_(("ok", "interrupted")))
        .group_by(PollRun.mailbox)
    ).all()
    return {mailbox: finished for mailbox, finished in rows if finished is not None}


@dataclass(frozen=True)
class TicketSummary:
    number: int
    subject: str
    status: str
    requester_email: str
    article_count: int


def recent_tickets(session: Session, limit: int = 20) -> list[TicketSummary]:
    article_count = (
        select(func.count(Article.id)).where(Article.ticket_id == Ticket.id).scalar_subquery()
    )
    rows = session.execute(
        select(Ticket.number, Ticket.subject, Ticket.status, Contact.email, article_count)
        .outerjoin(Contact, Contact.id == Ticket.requester_id)
        .order_by(Ticket.id.desc())
        .limit(limit)
    ).all()
    return [
        TicketSummary(number or 0, subject, status, email or "", count)
        for number, subject, status, email, count in reversed(rows)
    ]
