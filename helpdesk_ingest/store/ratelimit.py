"""Storm protection with sliding windows counted in the database.

The state is the articles table itself (their ``created_at``), so the limits hold across
restarts and across replicas sharing one database, with no extra table to clean up. Only mail
that became an article counts: once a sender is over the limit, everything it sends is held until
the window has slid past its earlier articles. Times are ingest times, so a backlog fetched after
an outage counts as arriving at once (held mail can be released from quarantine, with the limits
lifted: `quarantine retry --without-rate-limits`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, func, inspect, select
from sqlalchemy.orm import Session

from helpdesk_ingest.hygiene.settings import RateLimits, SlidingWindow
from helpdesk_ingest.store.lookups import GroupLookups
from helpdesk_ingest.store.models import Article, Contact, Ticket

log = structlog.get_logger("helpdesk_ingest.ratelimit")

RATE_LIMIT_REASON = "rate-limit"


def _over(
    session: Session, window: SlidingWindow, now: datetime, *where: ColumnElement[bool]
) -> bool:
    since = now - timedelta(seconds=window.window_s)
    counted = session.scalar(
        select(func.count(Article.id)).where(
            Article.direction == "inbound", Article.created_at >= since, *where
        )
    )
    return (counted or 0) >= window.max_messages


def sender_over_limit(
    session: Session,
    limits: RateLimits,
    contact: Contact | None,
    now: datetime,
    lookups: GroupLookups | None = None,
) -> str | None:
    """Why a new article from this sender would break a limit, or None.

    With ``lookups`` the counts come from the group's one query plus the articles the group has
    added since (see store.lookups); without, from a query now.
    """
    per_sender = limits.per_sender
    if per_sender is not None and contact is not None:
        if lookups is not None:
            over = lookups.recent_by_sender[contact.email] >= per_sender.max_messages
        else:
            over = _over(session, per_sender, now, Article.contact_id == contact.id)
        if over:
            return _held("per-sender", per_sender, contact=contact.email)
    if limits.global_ is not None:
        if lookups is not None:
            over = lookups.recent_total >= limits.global_.max_messages
        else:
            over = _over(session, limits.global_, now)
        if over:
            return _held("global", limits.global_)
    return None


def reply_loop_on_ticket(
    session: Session, limits: RateLimits, ticket: Ticket, now: datetime
) -> str | None:
    """Why one more automatic article on this ticket would be a reply loop, or None."""
    window = limits.auto_replies_per_ticket
    if window is None:
        return None
    if inspect(ticket).pending:
        # Made by this transaction and not written yet: the count below needs its id.
        session.flush()
    automatic = Article.is_auto_reply.is_(True) | Article.is_bounce.is_(True)
    if _over(session, window, now, Article.ticket_id == ticket.id, automatic):
        return _held("auto-replies-per-ticket", window, ticket=ticket.number)
    return None


def _held(limit: str, window: SlidingWindow, **context: object) -> str:
    log.warning(
        "rate_limited",
        limit=limit,
        max_messages=window.max_messages,
        window_s=window.window_s,
        **context,
    )
    return f"{limit}: more than {window.max_messages} in {window.window_s:g} s"
