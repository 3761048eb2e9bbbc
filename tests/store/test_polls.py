"""Poll-run bookkeeping read by `health`, and the ticket summary `demo` prints."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from helpdesk_ingest.message import Address, ParsedMessage
from helpdesk_ingest.store.ingest import ingest_message
from helpdesk_ingest.store.models import PollRun
from helpdesk_ingest.store.polls import (
    TicketSummary,
    finish_poll_run,
    last_successful_polls,
    recent_tickets,
    start_poll_run,
)

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def run(session: Session, mailbox: str, outcome: str, minutes: int) -> int:
    run_id = start_poll_run(session, mailbox=mailbox, now=START + timedelta(minutes=minutes))
    finish_poll_run(
        session,
        run_id,
        outcome=outcome,
        fetched=3,
        ingested=1,
        duplicates=1,
        quarantined=1,
        deleted=3 if outcome == "ok" else 0,
        error=None if outcome == "ok" else "connection reset",
        now=START + timedelta(minutes=minutes, seconds=5),
    )
    return run_id


def test_a_run_starts_running_and_records_its_counts(session: Session) -> None:
    run_id = start_poll_run(session, mailbox="support", now=START)
    started = session.get_one(PollRun, run_id)
    assert (started.outcome, started.finished_at, started.fetched) == ("running", None, 0)

    finish_poll_run(
        session,
        run_id,
        outcome="failed",
        fetched=4,
        ingested=2,
        duplicates=1,
        quarantined=1,
        deleted=3,
        error="TimeoutError",
        now=START + timedelta(seconds=9),
    )
    finished = session.get_one(PollRun, run_id)
    assert finished.outcome == "failed"
    assert finished.finished_at == START + timedelta(seconds=9)
    assert (finished.fetched, finished.ingested, finished.duplicates) == (4, 2, 1)
    assert (finished.quarantined, finished.deleted, finished.error) == (1, 3, "TimeoutError")


def test_last_successful_polls_ignores_failures_and_running(session: Session) -> None:
    run(session, "support", "ok", 0)
    run(session, "support", "ok", 10)
    run(session, "support", "failed", 20)
    run(session, "sales", "failed", 5)
    start_poll_run(session, mailbox="billing", now=START)

    assert last_successful_polls(session) == {"support": START + timedelta(minutes=10, seconds=5)}


def test_recent_tickets_summarises_the_newest_tickets(session: Session) -> None:
    tag = re.compile(r"\[#(?P<number>\d+)\]")
    for index, (message_id, in_reply_to) in enumerate(
        [("<a@x.org>", ()), ("<b@x.org>", ()), ("<c@x.org>", ("<a@x.org>",))]
    ):
        raw = message_id.encode()
        ingest_message(
            session,
            mailbox="support",
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
            parsed=ParsedMessage(
                message_id=message_id,
                message_id_synthetic=False,
                subject=f"Subject {index}",
                from_address=Address("Bob", "bob@x.org"),
                in_reply_to=in_reply_to,
            ),
            queue="general",
            ticket_tag_pattern=tag,
            now=START,
        )

    summaries = recent_tickets(session)
    assert [(s.subject, s.article_count) for s in summaries] == [
        ("Subject 0", 2),
        ("Subject 1", 1),
    ]
    assert summaries[0] == TicketSummary(summaries[0].number, "Subject 0", "new", "bob@x.org", 2)
    assert [s.subject for s in recent_tickets(session, limit=1)] == ["Subject 1"]
