"""The ingest transaction with hygiene verdicts, follow-up rules, routing and rate limits."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from structlog.testing import capture_logs

from helpdesk_ingest.hygiene.classify import classify
from helpdesk_ingest.hygiene.settings import HygieneSettings, RateLimits, SlidingWindow
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.routing import RouteDecision
from helpdesk_ingest.store import ratelimit
from helpdesk_ingest.store.bounces import mark_undeliverable
from helpdesk_ingest.store.ingest import IngestOutcome, IngestPolicy, ingest_message
from helpdesk_ingest.store.models import Article, Contact, QuarantinedMessage, Ticket
from helpdesk_ingest.store.threading import DEFAULT_TICKET_TAG, normalise_subject
from helpdesk_ingest.store.threading_settings import FollowUpSettings
from tests.hygiene.mails import dsn, mail, out_of_office
from tests.support.databases import migrated_sessions
from tests.support.logs import fresh_module_logger

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
TAG = re.compile(DEFAULT_TICKET_TAG)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    with migrated_sessions(database_url) as sessions, sessions.begin() as session:
        yield session


def ingest(
    session: Session,
    raw: bytes,
    *,
    now: datetime = NOW,
    policy: IngestPolicy | None = None,
    decision: RouteDecision | None = None,
) -> IngestOutcome:
    policy = policy or IngestPolicy()
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    return ingest_message(
        session,
        mailbox="support",
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        parsed=parsed,
        queue="support",
        ticket_tag_pattern=TAG,
        now=now,
        classification=classify(raw, parsed, policy.hygiene.own_mail()),
        decision=decision or RouteDecision(),
        policy=policy,
    )


def ticket(session: Session, number: int | None) -> Ticket:
    found = session.scalars(select(Ticket).where(Ticket.number == number)).one()
    session.refresh(found)
    return found


def reason_of(session: Session, raw: bytes) -> str:
    digest = hashlib.sha256(raw).hexdigest()
    return session.scalars(
        select(QuarantinedMessage.reason).where(QuarantinedMessage.sha256 == digest)
    ).one()


def test_customer_article_records_an_empty_classification(session: Session) -> None:
    outcome = ingest(session, mail())
    article = session.get(Article, outcome.article_id)
    assert article is not None
    assert (article.flags, article.is_auto_reply, article.is_bounce) == ([], False, False)


def test_auto_reply_attaches_without_reopening_or_touching_the_ticket(session: Session) -> None:
    first = ingest(session, mail())
    asked = ticket(session, first.ticket_number)
    asked.status = "closed"
    session.flush()
    later = NOW + timedelta(hours=1)
    reply = ingest(session, out_of_office("<ooo@example.org>", "<q1@example.org>"), now=later)
    assert (reply.kind, reply.ticket_number, reply.new_ticket) == (
        "ingested",
        first.ticket_number,
        False,
    )
    article = session.get(Article, reply.article_id)
    assert article is not None
    assert article.is_auto_reply
    assert "auto-submitted" in article.flags
    assert (ticket(session, first.ticket_number).status, asked.updated_at) == ("closed", NOW)


def test_auto_reply_to_nothing_known_is_quarantined(session: Session) -> None:
    raw = out_of_office("<ooo@example.org>", None)
    assert ingest(session, raw).kind == "quarantined"
    assert reason_of(session, raw) == "auto-reply"
    assert session.scalars(select(Ticket)).all() == []


def test_auto_reply_may_open_a_ticket_when_configured(session: Session) -> None:
    policy = IngestPolicy(hygiene=HygieneSettings(auto_reply_opens_ticket=True))
    outcome = ingest(session, out_of_office("<ooo@example.org>", None), policy=policy)
    assert outcome.new_ticket


def test_bounce_attaches_by_its_original_and_marks_the_contact(session: Session) -> None:
    first = ingest(session, mail(sender="bob@example.net"))
    session.add(
        Article(
            ticket_id=ticket(session, first.ticket_number).id,
            direction="outbound",
            message_id="<agent-reply@helpdesk.example.com>",
            created_at=NOW,
        )
    )
    session.flush()
    bounce = ingest(session, dsn(failed="Bob@example.net"))
    assert (bounce.ticket_number, bounce.new_ticket) == (first.ticket_number, False)
    article = session.get(Article, bounce.article_id)
    assert article is not None
    assert article.is_bounce
    assert {"dsn", "status:5.1.1", "failed:bob@example.net"} <= set(article.flags)
    bob = session.scalars(select(Contact).where(Contact.email == "bob@example.net")).one()
    assert (bob.undeliverable_at, bob.undeliverable_status) == (NOW, "5.1.1")


def test_a_bounce_listing_more_recipients_than_a_statement_takes_marks_them(
    session: Session,
) -> None:
    # 70,000 addresses, more than PostgreSQL's 65,535 parameters of one statement: the UPDATE
    # failed, the daemon took it for an unreachable database and stopped at the message.
    recipients = tuple(f"user{number:05}@example.net" for number in range(70_000))
    known = ("user00000@example.net", "user69999@example.net", "User35000@Example.net")
    session.add_all(Contact(email=email.lower(), created_at=NOW, updated_at=NOW) for email in known)
    session.flush()

    assert mark_undeliverable(session, recipients, "5.1.1", NOW) == 3

    marked = session.scalars(select(Contact).where(Contact.undeliverable_at.is_not(None))).all()
    assert sorted(contact.email for contact in marked) == sorted(email.lower() for email in known)


def test_a_delayed_dsn_does_not_mark_the_contact(session: Session) -> None:
    ingest(session, mail(sender="bob@example.net"))
    ingest(
        session, dsn(status="4.4.7"), policy=IngestPolicy(HygieneSettings(bounce_opens_ticket=True))
    )
    bob = session.scalars(select(Contact).where(Contact.email == "bob@example.net")).one()
    assert bob.undeliverable_at is None


def test_bounce_to_nothing_known_is_quarantined(session: Session) -> None:
    raw = dsn(original_id="<unknown@elsewhere>")
    assert ingest(session, raw).kind == "quarantined"
    assert reason_of(session, raw) == "bounce"


def test_our_own_mail_is_quarantined_as_a_loop(session: Session) -> None:
    raw = mail(sender="support@example.com")
    policy = IngestPolicy(HygieneSettings(own_addresses=["support@example.com"]))
    assert ingest(session, raw, policy=policy).kind == "quarantined"
    assert reason_of(session, raw) == "loop"


def test_tag_from_the_requester_threads(session: Session) -> None:
    first = ingest(session, mail())
    follow = ingest(session, mail(message_id="<q2@e>", subject=f"[#{first.ticket_number}] more"))
    assert follow.ticket_number == first.ticket_number


def test_tag_from_a_previous_participant_threads(session: Session) -> None:
    first = ingest(session, mail())
    ingest(
        session,
        mail(sender="carol@example.org", message_id="<c1@e>", in_reply_to="<q1@example.org>"),
    )
    tagged = mail(
        sender="carol@example.org", message_id="<c2@e>", subject=f"[#{first.ticket_number}]"
    )
    assert ingest(session, tagged).ticket_number == first.ticket_number


def test_tag_from_a_stranger_opens_a_linked_ticket(session: Session) -> None:
    first = ingest(session, mail())
    raw = mail(
        sender="mallory@evil.example", message_id="<m@e>", subject=f"Re: [#{first.ticket_number}]"
    )
    hijack = ingest(session, raw)
    assert hijack.new_ticket
    assert (
        ticket(session, hijack.ticket_number).linked_ticket_id
        == ticket(session, first.ticket_number).id
    )


def test_tag_from_anyone_threads_when_trust_is_off(session: Session) -> None:
    first = ingest(session, mail())
    policy = IngestPolicy(follow_up=FollowUpSettings(trust_tag_from_participants_only=False))
    raw = mail(
        sender="mallory@evil.example", message_id="<m@e>", subject=f"[#{first.ticket_number}]"
    )
    assert ingest(session, raw, policy=policy).ticket_number == first.ticket_number


@pytest.mark.parametrize(
    ("subject", "normalised"),
    [
        ("Re: AW: WG: Printer", "printer"),
        ("Fwd: SV: Antw: Printer", "printer"),
        ("RE[2]: fw:  Printer   on fire", "printer on fire"),
        ("Printer: Re: broken", "printer: re: broken"),
    ],
)
def test_subject_normalisation(subject: str, normalised: str) -> None:
    assert normalise_subject(subject) == normalised


def test_same_sender_and_subject_threads_only_when_enabled_and_within_the_window(
    session: Session,
) -> None:
    ingest(session, mail())
    again = mail(message_id="<q2@e>", subject="AW: Printer on fire")
    second = ingest(session, again, now=NOW + timedelta(minutes=5))
    assert second.new_ticket
    policy = IngestPolicy(follow_up=FollowUpSettings(same_subject_window_h=24))
    third = mail(message_id="<q3@e>", subject="Re: printer on FIRE")
    threaded = ingest(session, third, now=NOW + timedelta(hours=2), policy=policy)
    # The sender's most recent ticket with that subject.
    assert (threaded.new_ticket, threaded.ticket_number) == (False, second.ticket_number)
    stranger = mail(sender="dave@example.org", message_id="<d@e>", subject="Re: Printer on fire")
    assert ingest(session, stranger, now=NOW + timedelta(hours=2), policy=policy).new_ticket
    late = mail(message_id="<q4@e>", subject="Re: Printer on fire")
    assert ingest(session, late, now=NOW + timedelta(days=3), policy=policy).new_ticket


def test_follow_up_on_a_long_closed_ticket_opens_a_linked_one(session: Session) -> None:
    first = ingest(session, mail())
    closed = ticket(session, first.ticket_number)
    closed.status = "closed"
    session.flush()
    answer = mail(message_id="<q2@e>", in_reply_to="<q1@example.org>")
    policy = IngestPolicy(follow_up=FollowUpSettings(reopen_within_days=14))
    outcome = ingest(session, answer, now=NOW + timedelta(days=15), policy=policy)
    assert outcome.new_ticket
    assert ticket(session, outcome.ticket_number).linked_ticket_id == closed.id
    assert ticket(session, first.ticket_number).status == "closed"


def test_routing_sets_queue_priority_and_tags_or_quarantines(session: Session) -> None:
    routed = ingest(session, mail(), decision=RouteDecision("vip", "vip", "high", ("vip", "b2b")))
    made = ticket(session, routed.ticket_number)
    assert (made.queue, made.priority, made.tags) == ("vip", "high", ["vip", "b2b"])
    spam = mail(message_id="<spam@e>")
    assert (
        ingest(session, spam, decision=RouteDecision("spam", quarantine=True)).kind == "quarantined"
    )
    assert reason_of(session, spam) == "routing"


def test_more_than_ten_mails_from_one_sender_in_a_minute_are_held(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_module_logger(monkeypatch, ratelimit, "helpdesk_ingest.ratelimit")
    outcomes = [
        ingest(
            session, mail(message_id=f"<s{n}@e>", subject=f"n{n}"), now=NOW + timedelta(seconds=n)
        )
        for n in range(12)
    ]
    with capture_logs() as logs:
        held = ingest(session, mail(message_id="<s12@e>"), now=NOW + timedelta(seconds=30))
    assert [o.kind for o in outcomes] == ["ingested"] * 10 + ["quarantined"] * 2
    assert held.kind == "quarantined"
    assert reason_of(session, mail(message_id="<s12@e>")) == "rate-limit"
    assert any(entry["event"] == "rate_limited" for entry in logs)
    # A minute later the window has slid past the first articles.
    assert (
        ingest(session, mail(message_id="<late@e>"), now=NOW + timedelta(seconds=75)).kind
        == "ingested"
    )


def test_reply_loop_on_one_ticket_is_held(session: Session) -> None:
    first = ingest(session, mail())
    limits = RateLimits(
        per_sender=None, auto_replies_per_ticket=SlidingWindow(max_messages=3, window_s=3600)
    )
    policy = IngestPolicy(hygiene=HygieneSettings(rate_limits=limits))
    kinds = [
        ingest(
            session,
            out_of_office(f"<ooo{n}@bot.example>", "<q1@example.org>", sender="bot@bot.example"),
            policy=policy,
        ).kind
        for n in range(5)
    ]
    assert kinds == ["ingested"] * 3 + ["quarantined"] * 2
    assert len(ticket(session, first.ticket_number).articles) == 4
