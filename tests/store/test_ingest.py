"""The ingest transaction: idempotence, threading, contacts, attachments, quarantine."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.message import Address, Attachment, ParsedMessage
from helpdesk_ingest.store.ingest import (
    TICKET_NUMBER_OFFSET,
    IngestOutcome,
    find_stored,
    ingest_message,
    quarantine_message,
)
from helpdesk_ingest.store.models import (
    Article,
    Blob,
    Contact,
    QuarantinedMessage,
    RawMessage,
    Ticket,
)
from helpdesk_ingest.store.models import Attachment as AttachmentRow
from helpdesk_ingest.store.threading import DEFAULT_TICKET_TAG

TAG = re.compile(DEFAULT_TICKET_TAG)
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
MakeMessage = Callable[..., ParsedMessage]


def attachment(content: bytes, filename: str = "report.pdf", **kwargs: Any) -> Attachment:
    return Attachment(
        filename=filename,
        content_type=kwargs.pop("content_type", "application/pdf"),
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        **kwargs,
    )


def ingest(
    session: Session, parsed: ParsedMessage, mailbox: str = "support", raw: bytes | None = None
) -> IngestOutcome:
    raw = raw if raw is not None else f"raw bytes of {parsed.message_id}".encode()
    return ingest_message(
        session,
        mailbox=mailbox,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        parsed=parsed,
        queue="first-line",
        ticket_tag_pattern=TAG,
        now=NOW,
    )


def count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_first_message_opens_a_numbered_ticket(session: Session, make_message: MakeMessage) -> None:
    outcome = ingest(session, make_message(sender="Alice@Example.ORG"))

    assert outcome.kind == "ingested"
    assert outcome.new_ticket
    ticket = session.scalars(select(Ticket)).one()
    assert outcome.ticket_number == ticket.number == TICKET_NUMBER_OFFSET + ticket.id
    assert (ticket.status, ticket.priority, ticket.queue) == ("new", "normal", "first-line")
    assert ticket.requester is not None
    assert ticket.requester.email == "alice@example.org"
    article = session.get_one(Article, outcome.article_id)
    assert article.direction == "inbound"
    assert article.message_id == "<first@example.org>"
    assert article.to_addresses == [{"name": "Support", "email": "support@example.com"}]
    assert article.sent_at == datetime(2026, 11, 2, 9, 58, tzinfo=UTC)


def test_same_bytes_twice_make_one_article(
    sessions: sessionmaker[Session], make_message: MakeMessage
) -> None:
    with sessions.begin() as session:
        first = ingest(session, make_message())
    with sessions.begin() as session:
        second = ingest(session, make_message())
        assert second == IngestOutcome("duplicate", ticket_number=first.ticket_number)
        assert count(session, Article) == 1
        assert count(session, RawMessage) == 1


def test_same_message_id_from_two_mailboxes_makes_one_article(
    sessions: sessionmaker[Session], make_message: MakeMessage
) -> None:
    with sessions.begin() as session:
        first = ingest(session, make_message(), mailbox="support", raw=b"Delivered-To: a\r\n")
    with sessions.begin() as session:
        second = ingest(session, make_message(), mailbox="sales", raw=b"Delivered-To: b\r\n")
    with sessions.begin() as session:
        assert second.kind == "duplicate"
        assert second.ticket_number == first.ticket_number
        assert count(session, Article) == 1
        raws = session.scalars(select(RawMessage).order_by(RawMessage.mailbox)).all()
        assert [(r.mailbox, r.ticket_id) for r in raws] == [
            ("sales", raws[1].ticket_id),
            ("support", raws[1].ticket_id),
        ]


def test_reply_threads_by_in_reply_to(session: Session, make_message: MakeMessage) -> None:
    first = ingest(session, make_message())
    reply = ingest(
        session,
        make_message("<reply@example.org>", "Re: Printer", in_reply_to=("<first@example.org>",)),
    )
    assert reply.kind == "ingested"
    assert not reply.new_ticket
    assert reply.ticket_number == first.ticket_number
    assert count(session, Ticket) == 1


def test_reply_threads_by_references_newest_first(
    session: Session, make_message: MakeMessage
) -> None:
    first = ingest(session, make_message("<a@example.org>", "First"))
    second = ingest(session, make_message("<b@example.org>", "Second"))
    reply = ingest(
        session,
        make_message(
            "<c@example.org>",
            "Re: something",
            in_reply_to=("<unknown@elsewhere>",),
            references=("<a@example.org>", "<b@example.org>"),
        ),
    )
    assert first.ticket_number != second.ticket_number
    assert reply.ticket_number == second.ticket_number
    article = session.get_one(Article, reply.article_id)
    assert article.references == "<a@example.org> <b@example.org>"
    assert article.in_reply_to == "<unknown@elsewhere>"


def test_subject_tag_threads_to_an_existing_ticket(
    session: Session, make_message: MakeMessage
) -> None:
    first = ingest(session, make_message())
    tagged = ingest(
        session, make_message("<tagged@example.org>", f"Re: [#{first.ticket_number}] Printer")
    )
    unknown = ingest(session, make_message("<other@example.org>", "Re: [#999999] Printer"))
    assert tagged.ticket_number == first.ticket_number
    assert not tagged.new_ticket
    assert unknown.new_ticket


def test_answer_to_an_outbound_article_threads(session: Session, make_message: MakeMessage) -> None:
    first = ingest(session, make_message())
    ticket = session.scalars(select(Ticket)).one()
    # What the helpdesk app writes when it sends a reply.
    session.add(
        Article(
            ticket_id=ticket.id,
            direction="outbound",
            message_id="<agent-reply@helpdesk.example.com>",
            subject="Re: Printer on fire",
            body_text="Have you tried water?",
            created_at=NOW,
        )
    )
    session.flush()
    answer = ingest(
        session,
        make_message(
            "<answer@example.org>",
            "Re: Re: Printer on fire",
            in_reply_to=("<agent-reply@helpdesk.example.com>",),
        ),
    )
    assert answer.ticket_number == first.ticket_number
    assert not answer.new_ticket


def test_follow_up_reopens_a_closed_ticket(session: Session, make_message: MakeMessage) -> None:
    ingest(session, make_message())
    ticket = session.scalars(select(Ticket)).one()
    ticket.status = "closed"
    session.flush()
    later = NOW + timedelta(days=3)
    ingest_message(
        session,
        mailbox="support",
        raw=b"later",
        sha256=hashlib.sha256(b"later").hexdigest(),
        parsed=make_message("<again@example.org>", in_reply_to=("<first@example.org>",)),
        queue="first-line",
        ticket_tag_pattern=TAG,
        now=later,
    )
    session.refresh(ticket)
    assert ticket.status == "open"
    assert ticket.updated_at == later


def test_contact_is_found_case_insensitively_and_renamed(
    session: Session, make_message: MakeMessage
) -> None:
    ingest(session, make_message())
    renamed = ParsedMessage(
        message_id="<renamed@example.org>",
        message_id_synthetic=False,
        subject="New subject",
        from_address=Address("Alice Liddell", "ALICE@example.org"),
    )
    ingest(session, renamed)
    contact = session.scalars(select(Contact)).one()
    assert contact.email == "alice@example.org"
    assert contact.display_name == "Alice Liddell"


def test_attachments_are_stored_once_per_hash(session: Session, make_message: MakeMessage) -> None:
    pdf = attachment(b"%PDF-1.7 same bytes")
    logo = attachment(
        b"\x89PNG logo",
        "logo.png",
        content_type="image/png",
        inline=True,
        content_id="logo@example.org",
    )
    ingest(session, make_message("<one@example.org>", attachments=(pdf, logo)))
    ingest(session, make_message("<two@example.org>", attachments=(pdf,)))

    assert count(session, AttachmentRow) == 3
    assert count(session, Blob) == 2
    blob = session.get_one(Blob, pdf.sha256)
    assert (blob.content, blob.size) == (pdf.content, pdf.size)
    inline = session.scalars(select(AttachmentRow).where(AttachmentRow.inline)).one()
    assert (inline.filename, inline.content_id) == ("logo.png", "logo@example.org")


def test_quarantine_is_idempotent(sessions: sessionmaker[Session]) -> None:
    raw = b"\x00 not a mail"
    digest = hashlib.sha256(raw).hexdigest()
    for _ in range(2):
        with sessions.begin() as session:
            outcome = quarantine_message(
                session,
                mailbox="support",
                raw=raw,
                sha256=digest,
                reason="unparseable",
                detail="no header block",
                now=NOW,
            )
            assert outcome == IngestOutcome("quarantined")
    with sessions.begin() as session:
        row = session.scalars(select(QuarantinedMessage)).one()
        assert (row.content, row.size, row.reason, row.released_at) == (
            raw,
            len(raw),
            "unparseable",
            None,
        )
        assert row.created_at == NOW
        assert find_stored(session, "support", digest) == IngestOutcome("quarantined")
        assert find_stored(session, "other", digest) is None


def test_find_stored_names_the_ticket_of_a_stored_message(
    session: Session, make_message: MakeMessage
) -> None:
    outcome = ingest(session, make_message(), raw=b"exact bytes")
    digest = hashlib.sha256(b"exact bytes").hexdigest()
    assert find_stored(session, "support", digest) == IngestOutcome(
        "duplicate", ticket_number=outcome.ticket_number
    )


def test_nul_characters_and_overlong_header_values_are_stored(
    session: Session, make_message: MakeMessage
) -> None:
    long_id = "<" + "x" * 1200 + "@example.org>"
    parsed = ParsedMessage(
        message_id=long_id,
        message_id_synthetic=False,
        subject="Nul\x00in subject",
        from_address=Address("N" * 1000, "odd\x00@example.org"),
        to=(Address("Sup\x00port", "support@example.com"),),
        body_text="body\x00text",
        body_html="<p>body\x00</p>",
        in_reply_to=("<unknown\x00@example.org>",),
        attachments=(attachment(b"x", "f" * 400 + ".txt", content_type="text/" + "p" * 300),),
        # A defect quotes what the message wrote: PostgreSQL's JSON takes no NUL either.
        defects=("unknown-charset:\x00utf-8",),
    )
    outcome = ingest(session, parsed)
    again = ingest(session, parsed, mailbox="sales")

    article = session.get_one(Article, outcome.article_id)
    assert article.subject == "Nulin subject"
    assert (article.body_text, article.body_html) == ("bodytext", "<p>body</p>")
    assert article.from_address == "odd@example.org"
    assert article.from_name == "N" * 300
    assert article.defects == ["unknown-charset:utf-8"]
    assert article.to_addresses == [{"name": "Support", "email": "support@example.com"}]
    assert len(article.message_id) == 998
    assert again.kind == "duplicate"
    stored_attachment = session.scalars(select(AttachmentRow)).one()
    assert len(stored_attachment.filename) == len(stored_attachment.content_type) == 255


def test_a_message_id_of_many_non_ascii_characters_is_stored_and_threads(
    session: Session, make_message: MakeMessage
) -> None:
    # 1,200 characters that do not repeat (so PostgreSQL cannot compress them), three bytes each:
    # its index entry was over PostgreSQL's 2,704 bytes, and the INSERT failed at every pass.
    long_id = "<" + "".join(chr(0x4E00 + (number * 7919) % 20000) for number in range(1200)) + "@x>"
    first = ingest(session, make_message(message_id=long_id))
    again = ingest(session, make_message(message_id=long_id), mailbox="sales")
    reply = ingest(
        session,
        make_message(message_id="<reply@example.org>", in_reply_to=(long_id,), subject="Re: x"),
    )

    article = session.get_one(Article, first.article_id)
    assert len(article.message_id.encode()) <= 998
    assert long_id.startswith(article.message_id)
    assert again.kind == "duplicate"
    assert (reply.ticket_number, reply.new_ticket) == (first.ticket_number, False)


def test_reply_parts_are_kept_apart_on_the_article(
    session: Session, make_message: MakeMessage
) -> None:
    parsed = dataclasses.replace(
        make_message(),
        body_text="Thanks, works now.\n\n-- \nAlice\n\n> Did you restart it?",
        reply_text="Thanks, works now.",
        quoted_text="> Did you restart it?",
        signature="-- \nAlice",
    )
    outcome = ingest(session, parsed)
    article = session.get_one(Article, outcome.article_id)
    assert article.reply_text == "Thanks, works now."
    assert article.quoted_text == "> Did you restart it?"
    assert article.signature == "-- \nAlice"
    assert article.body_text.startswith("Thanks, works now.")


def test_no_reply_split_stores_null(session: Session, make_message: MakeMessage) -> None:
    outcome = ingest(session, make_message())
    article = session.get_one(Article, outcome.article_id)
    assert (article.reply_text, article.quoted_text, article.signature) == (None, None, None)
