"""A group stored in one transaction behaves exactly like its messages stored one by one."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.poller import PollResult, poll_mailbox
from helpdesk_ingest.store.concurrency import MESSAGE_ID_LOCK_SPACE, lock_message_ids
from helpdesk_ingest.store.database import make_engine
from helpdesk_ingest.store.models import Article, Contact, QuarantinedMessage, Ticket
from helpdesk_ingest.store.pending import TICKET_NUMBER_OFFSET
from helpdesk_ingest.store.threading import MAX_THREAD_REFERENCES, thread_message_ids
from tests.test_poller import FakeMailbox, options


def mail(
    number: int,
    sender: str = "customer@example.org",
    *,
    message_id: str | None = None,
    reply_to: str | None = None,
    body: str = "",
) -> bytes:
    threading = f"In-Reply-To: {reply_to}\r\n" if reply_to else ""
    return (
        f"From: Customer <{sender}>\r\n"
        f"To: support@example.com\r\n"
        f"Subject: Case {number}\r\n"
        f"Message-ID: {message_id or f'<g{number}@example.org>'}\r\n"
        f"{threading}"
        f"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
        f"\r\n"
        f"Body {number}. {body}\r\n"
    ).encode()


def mixed_backlog() -> list[bytes]:
    """Every case where a message of a group depends on one before it in the same group."""
    return [
        mail(1, "alice@example.org"),
        # The same bytes twice: one article, one duplicate.
        mail(1, "alice@example.org"),
        # The same Message-ID with other bytes (another support address): a duplicate.
        mail(2, "bob@example.org", message_id="<g1@example.org>", body="via sales@"),
        # A reply to the first message: a follow-up on its ticket.
        mail(3, "alice@example.org", reply_to="<g1@example.org>"),
        # A new sender, twice: one contact.
        mail(4, "Carol@Example.org"),
        mail(5, "carol@example.org"),
        # Not a message at all: quarantined, and the same bytes again.
        b"\x00\x01 not mail",
        b"\x00\x01 not mail",
        # One sender over the per-sender limit (10 a minute): the eleventh on is held.
        *(mail(100 + n, "storm@example.org") for n in range(13)),
    ]


def outcomes(result: PollResult) -> tuple[int, int, int]:
    return (result.counts.ingested, result.counts.duplicates, result.counts.quarantined)


def database_state(sessions: sessionmaker[Session]) -> dict[str, object]:
    with sessions() as session:
        return {
            "tickets": session.scalar(select(func.count()).select_from(Ticket)),
            "articles": session.scalar(select(func.count()).select_from(Article)),
            "contacts": sorted(session.scalars(select(Contact.email))),
            "held": sorted(
                session.scalars(select(QuarantinedMessage.reason).order_by(QuarantinedMessage.id))
            ),
            "articles per ticket": sorted(
                session.scalars(
                    select(func.count()).select_from(Article).group_by(Article.ticket_id)
                )
            ),
        }


def drain(sessions: sessionmaker[Session], group_size: int) -> PollResult:
    box = FakeMailbox(mixed_backlog(), [])
    commits: list[Session] = []

    def on_commit(session: Session) -> None:
        commits.append(session)

    event.listen(sessions, "after_commit", on_commit)
    try:
        result = poll_mailbox("support", box.open, sessions, options(group_size=group_size))
    finally:
        event.remove(sessions, "after_commit", on_commit)
    assert result.outcome == "ok"
    assert box.messages == []
    if group_size >= len(mixed_backlog()):
        # Start and end of the poll run, and the group's one transaction: it never fell back to
        # storing its messages one by one.
        assert len(commits) == 3
    return result


# Worked out by hand: alice 1 and her reply on one ticket, carol twice (two subjects, one
# contact), ten of the storm; the second copy of mail 1 and bob's copy of it are duplicates; the
# non-mail (twice) and three of the storm are held.
EXPECTED_COUNTS = (1 + 1 + 2 + 10, 2, 2 + 3)
EXPECTED_STATE = {
    "tickets": 1 + 2 + 10,
    "articles": 2 + 2 + 10,
    "contacts": ["alice@example.org", "carol@example.org", "storm@example.org"],
    "held": ["rate-limit", "rate-limit", "rate-limit", "unparseable"],
    "articles per ticket": [1] * 12 + [2],
}


@pytest.mark.parametrize("group_size", [64, 1], ids=["one group", "one by one"])
def test_a_group_stores_what_one_transaction_per_message_stores(
    sessions: sessionmaker[Session], group_size: int
) -> None:
    result = drain(sessions, group_size)
    assert outcomes(result) == EXPECTED_COUNTS
    assert database_state(sessions) == EXPECTED_STATE


def with_references(raw: bytes, references: list[str]) -> bytes:
    return raw.replace(b"Date:", f"References: {' '.join(references)}\r\nDate:".encode(), 1)


@pytest.mark.parametrize("group_size", [64, 1], ids=["one group", "one by one"])
def test_messages_naming_tens_of_thousands_of_references_are_stored(
    sessions: sessionmaker[Session], group_size: int
) -> None:
    # Each within its 256 KB header section; together, more Message-IDs than PostgreSQL takes
    # parameters in one query (65,535): the group's lookup failed, and again at every pass.
    raws = [
        with_references(mail(n), [f"<{n}x{i:x}@b>" for i in range(22_000)]) for n in range(1, 5)
    ]
    # The newest reference names the first message: the second is its follow-up.
    raws[1] = with_references(
        mail(2), [f"<2x{i:x}@b>" for i in range(22_000)] + ["<g1@example.org>"]
    )
    parsed = [parse_message(raw) for raw in raws]
    assert all(isinstance(p, ParsedMessage) and len(p.references) >= 22_000 for p in parsed)
    box = FakeMailbox(raws, [])

    result = poll_mailbox("support", box.open, sessions, options(group_size=group_size))

    assert result.outcome == "ok"
    assert outcomes(result) == (4, 0, 0)
    assert box.messages == []
    assert database_state(sessions)["articles per ticket"] == [1, 1, 2]


def test_a_message_is_threaded_by_its_newest_references() -> None:
    older = [f"<old{i}@example.org>" for i in range(500)]
    newest = [f"<new{i}@example.org>" for i in range(MAX_THREAD_REFERENCES)]
    parsed = ParsedMessage(
        message_id="<m@example.org>",
        message_id_synthetic=False,
        subject="Re: the printer",
        from_address=None,
        in_reply_to=("<parent@example.org>",),
        references=(*older, *newest),
    )

    listed = thread_message_ids(parsed, ["<original@example.org>", None])

    assert listed == [
        "<parent@example.org>",
        *reversed(newest[1:]),
        "<original@example.org>",
    ]


@pytest.mark.postgres
def test_a_groups_message_id_locks_are_held_until_commit(store_postgres_url: str) -> None:
    engine = make_engine(store_postgres_url)
    try:
        with Session(engine) as holder, Session(engine) as other:
            lock_message_ids(holder, ["<a@example.org>", "<b@example.org>", "<a@example.org>"])
            held = holder.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid = :space AND pid = pg_backend_pid()"
                ),
                {"space": MESSAGE_ID_LOCK_SPACE},
            )
            assert held == 2
            # A second transaction cannot take them while the first is open. (Only the
            # holder's: other clients of the server may hold and release locks meanwhile.)
            holder_pid = holder.scalar(text("SELECT pg_backend_pid()"))
            rows = other.execute(
                text(
                    "SELECT objid::int FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid = :space AND pid = :holder"
                ),
                {"space": MESSAGE_ID_LOCK_SPACE, "holder": holder_pid},
            ).scalars()
            keys = list(rows)
            assert len(keys) == 2
            for key in keys:
                taken = other.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:space, :key)"),
                    {"space": MESSAGE_ID_LOCK_SPACE, "key": key},
                )
                assert taken is False
            holder.commit()
    finally:
        engine.dispose()


def test_a_group_downloaded_again_after_a_crash_stores_nothing_new(
    sessions: sessionmaker[Session],
) -> None:
    drain(sessions, group_size=64)
    # The session died before QUIT: the server still has every message.
    again = drain(sessions, group_size=64)
    ingested, duplicates, quarantined = EXPECTED_COUNTS
    assert outcomes(again) == (0, ingested + duplicates, quarantined)
    assert database_state(sessions) == EXPECTED_STATE


def with_attachment(number: int, sender: str) -> bytes:
    return (
        f"From: {sender}\r\n"
        f"To: support@example.com\r\n"
        f"Subject: Case {number}\r\n"
        f"Message-ID: <g{number}@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n'
        "\r\n"
        "--b\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        f"See the log of case {number}.\r\n"
        "--b\r\n"
        'Content-Type: text/plain; name="log.txt"\r\n'
        'Content-Disposition: attachment; filename="log.txt"\r\n'
        "\r\n"
        f"log line {number}\r\n"
        "--b--\r\n"
    ).encode()


def backlog(first: int, size: int) -> list[bytes]:
    """New senders, each writing a message with an attachment and a reply to it."""
    messages: list[bytes] = []
    for number in range(first, first + size, 2):
        sender = f"sender{number}@example.org"
        messages.append(with_attachment(number, sender))
        messages.append(mail(number + 1, sender, reply_to=f"<g{number}@example.org>"))
    return messages


@pytest.mark.postgres
def test_a_groups_statements_do_not_grow_with_its_messages(
    pg_sessions: sessionmaker[Session],
) -> None:
    # On PostgreSQL every statement is a round trip; SQLite runs in this process, and
    # SQLAlchemy hands it the rows of a table one by one.
    sessions = pg_sessions
    engine = sessions.kw["bind"]
    executed: list[str] = []

    def on_execute(*args: object) -> None:
        executed.append(str(args[2]))

    def statements_to_drain(messages: list[bytes]) -> list[str]:
        executed.clear()
        box = FakeMailbox(messages, [])
        result = poll_mailbox("support", box.open, sessions, options(group_size=64))
        assert (result.counts.ingested, box.messages) == (len(messages), [])
        return list(executed)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        small = statements_to_drain(backlog(0, 6))
        large = statements_to_drain(backlog(100, 30))
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    # Each table's new rows go in one statement, whether the group holds 6 messages or 30.
    assert len(large) == len(small)
    # Their ids come from the sequences beforehand: no RETURNING, no UPDATE for the numbers.
    article_inserts = [sql for sql in large if sql.startswith("INSERT INTO articles")]
    assert len(article_inserts) == 1
    assert "RETURNING" not in article_inserts[0]
    assert not [sql for sql in large if sql.startswith("UPDATE tickets SET number")]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 3 + 15
        assert session.scalar(select(func.count()).select_from(Article)) == 36
        numbers = session.scalars(select(Ticket.number).order_by(Ticket.id)).all()
        ids = session.scalars(select(Ticket.id).order_by(Ticket.id)).all()
        assert numbers == [TICKET_NUMBER_OFFSET + ticket_id for ticket_id in ids]
        # Numbered in the order the mail arrived.
        subjects = session.scalars(select(Ticket.subject).order_by(Ticket.id)).all()
        assert subjects == [f"Case {n}" for n in [*range(0, 6, 2), *range(100, 130, 2)]]
        replies = session.scalars(select(Article).where(Article.in_reply_to.is_not(None))).all()
        firsts = {a.message_id: a for a in session.scalars(select(Article))}
        assert all(reply.ticket_id == firsts[reply.in_reply_to].ticket_id for reply in replies)
        assert {len(a.attachments) for a in firsts.values() if a.in_reply_to is None} == {1}


def test_a_senders_articles_from_earlier_passes_count_towards_its_limit(
    sessions: sessionmaker[Session],
) -> None:
    # The per-sender limit is 10 a minute; the group's one query counts what is stored already.
    first = FakeMailbox([mail(200 + n, "storm@example.org") for n in range(6)], [])
    poll_mailbox("support", first.open, sessions, options(group_size=64))
    second = FakeMailbox([mail(300 + n, "storm@example.org") for n in range(6)], [])
    result = poll_mailbox("support", second.open, sessions, options(group_size=64))
    assert (result.counts.ingested, result.counts.quarantined) == (4, 2)
    with sessions() as session:
        held = session.scalars(select(QuarantinedMessage.reason)).all()
    assert held == ["rate-limit", "rate-limit"]
