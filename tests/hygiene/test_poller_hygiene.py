"""End to end through the poller: a conversation, an out-of-office and a storm of auto-replies."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.poller import PollOptions, poll_mailbox
from helpdesk_ingest.store.models import Article, QuarantinedMessage, Ticket
from tests.hygiene.mails import mail, out_of_office
from tests.test_poller import TAG, FakeMailbox

AGENT_REPLY = "<agent-1@helpdesk.example.com>"


def deliver(sqlite_sessions: sessionmaker[Session], *messages: bytes) -> None:
    box = FakeMailbox(list(messages), [])
    result = poll_mailbox("support", box.open, sqlite_sessions, PollOptions("support", TAG))
    assert result.outcome == "ok"
    assert box.messages == []


def test_conversation_with_out_of_office_and_storm(sqlite_sessions: sessionmaker[Session]) -> None:
    deliver(sqlite_sessions, mail(message_id="<q1@example.org>"))
    with sqlite_sessions.begin() as session:
        ticket = session.scalars(select(Ticket)).one()
        # The helpdesk app records the agent's reply in the same table, outbound.
        session.add(
            Article(
                ticket_id=ticket.id,
                direction="outbound",
                message_id=AGENT_REPLY,
                subject="Re: Printer on fire",
                created_at=datetime.now(UTC),
            )
        )
    deliver(
        sqlite_sessions,
        mail(message_id="<q2@example.org>", subject="Re: Printer on fire", in_reply_to=AGENT_REPLY),
    )
    with sqlite_sessions.begin() as session:
        session.scalars(select(Ticket)).one().status = "closed"
    storm = [
        out_of_office(f"<bot-{n}@bot.example>", AGENT_REPLY, sender="robot@bot.example")
        for n in range(200)
    ]
    deliver(sqlite_sessions, out_of_office("<ooo@example.org>", AGENT_REPLY), *storm)

    with sqlite_sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        articles = ticket.articles
        held = session.scalars(select(QuarantinedMessage.reason)).all()
    assert ticket.status == "closed"
    assert [(a.direction, a.message_id) for a in articles[:4]] == [
        ("inbound", "<q1@example.org>"),
        ("outbound", AGENT_REPLY),
        ("inbound", "<q2@example.org>"),
        ("inbound", "<ooo@example.org>"),
    ]
    assert [a.is_auto_reply for a in articles[:4]] == [False, False, False, True]
    # The default reply-loop limit lets five automatic articles onto one ticket per hour.
    assert len(articles) == 4 + 4
    assert all(a.is_auto_reply for a in articles[3:])
    assert held == ["rate-limit"] * 196
