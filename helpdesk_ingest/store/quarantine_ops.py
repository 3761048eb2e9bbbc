"""Reading and releasing quarantined messages, for operators; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk_ingest.store.models import QuarantinedMessage


@dataclass(frozen=True)
class QuarantineEntry:
    id: int
    mailbox: str
    sha256: str
    reason: str
    size: int
    created_at: datetime
    released_at: datetime | None


def list_quarantined(session: Session, *, include_released: bool = True) -> list[QuarantineEntry]:
    """Every quarantined message, oldest first, without its bytes."""
    query = select(
        QuarantinedMessage.id,
        QuarantinedMessage.mailbox,
        QuarantinedMessage.sha256,
        QuarantinedMessage.reason,
        QuarantinedMessage.size,
        QuarantinedMessage.created_at,
        QuarantinedMessage.released_at,
    ).order_by(QuarantinedMessage.id)
    if not include_released:
        query = query.where(QuarantinedMessage.released_at.is_(None))
    return [QuarantineEntry(*row) for row in session.execute(query)]


def pending_ids(session: Session, reason: str | None = None) -> list[int]:
    """The messages not yet released, oldest first; only those held for ``reason`` if given."""
    query = select(QuarantinedMessage.id).where(QuarantinedMessage.released_at.is_(None))
    if reason is not None:
        query = query.where(QuarantinedMessage.reason == reason)
    return list(session.scalars(query.order_by(QuarantinedMessage.id)))


def get_quarantined(session: Session, quarantine_id: int) -> QuarantinedMessage | None:
    return session.get(QuarantinedMessage, quarantine_id)


def pending_by_reason(session: Session) -> Sequence[tuple[str, str, int]]:
    """(mailbox, reason, count) of quarantined messages not yet released."""
    rows = session.execute(
        select(QuarantinedMessage.mailbox, QuarantinedMessage.reason, func.count())
        .where(QuarantinedMessage.released_at.is_(None))
        .group_by(QuarantinedMessage.mailbox, QuarantinedMessage.reason)
        .order_by(QuarantinedMessage.mailbox, QuarantinedMessage.reason)
    ).all()
    return [(mailbox, reason, count) for mailbox, reason, count in rows]
