"""A helpdesk conversation through a real Dovecot: customer mail, the agent's reply recorded by
the helpdesk app, the customer's answer, an out-of-office and a storm of 200 auto-replies."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from helpdesk_ingest.cli import main
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.models import Article, QuarantinedMessage, Ticket
from tests.hygiene.mails import mail, out_of_office
from tests.integration.crash_matrix import write_config
from tests.support.dovecot import DovecotServer, MailboxAccount

AGENT_REPLY = "<agent-1@helpdesk.example.com>"


def poll(config: Path, dovecot: DovecotServer, account: MailboxAccount) -> None:
    assert main(["--config", str(config), "poll"]) == 0
    assert dovecot.count(account) == 0


def test_conversation_out_of_office_and_storm(
    tmp_path: Path, database_url: str, dovecot: DovecotServer
) -> None:
    account = dovecot.new_mailbox()
    config = write_config(tmp_path / "hygiene.toml", database_url, dovecot, account)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        dovecot.deliver(account, mail(message_id="<q1@example.org>"))
        poll(config, dovecot, account)
        with sessions.begin() as session:
            ticket = session.scalars(select(Ticket)).one()
            # The helpdesk app records the reply an agent sent, outbound, in the same table.
            session.add(
                Article(
                    ticket_id=ticket.id,
                    direction="outbound",
                    message_id=AGENT_REPLY,
                    subject="Re: Printer on fire",
                    created_at=datetime.now(UTC),
                )
            )
        dovecot.deliver(
            account,
            mail(
                message_id="<q2@example.org>",
                subject="Re: Printer on fire",
                in_reply_to=AGENT_REPLY,
            ),
        )
        poll(config, dovecot, account)
        with sessions.begin() as session:
            session.scalars(select(Ticket)).one().status = "closed"
        dovecot.deliver(account, out_of_office("<ooo@example.org>", AGENT_REPLY))
        for number in range(200):
            dovecot.deliver(
                account,
                out_of_office(f"<bot-{number}@bot.example>", AGENT_REPLY, "robot@bot.example"),
            )
        poll(config, dovecot, account)

        with sessions() as session:
            ticket = session.scalars(select(Ticket)).one()
            articles = [(a.direction, a.message_id, a.is_auto_reply) for a in ticket.articles]
            held = session.scalars(select(QuarantinedMessage.reason)).all()
    finally:
        engine.dispose()
    assert ticket.status == "closed"
    assert articles[:4] == [
        ("inbound", "<q1@example.org>", False),
        ("outbound", AGENT_REPLY, False),
        ("inbound", "<q2@example.org>", False),
        ("inbound", "<ooo@example.org>", True),
    ]
    # The reply-loop limit lets a few automatic articles onto one ticket; the storm is held.
    assert all(auto for _, _, auto in articles[3:])
    assert len(articles) + len(held) == 3 + 201
    assert set(held) == {"rate-limit"}
    assert len(held) >= 190
