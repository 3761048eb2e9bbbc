"""Retention of raw message bytes: drop the original of ingested messages past a cut-off.

Only ``raw_messages`` is touched, never ``quarantine``: a quarantined message's bytes are the
only copy there is until an operator has dealt with it. A pruned row keeps its mailbox, SHA-256,
size and ticket, so the idempotency key still recognises a re-download of the same message.
The caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from helpdesk_ingest.store.models import RawMessage


@dataclass(frozen=True)
class PruneSummary:
    messages: int
    bytes: int


def _prunable(received_before: datetime) -> ColumnElement[bool]:
    return (RawMessage.received_at < received_before) & RawMessage.pruned_at.is_(None)


def count_prunable(session: Session, *, received_before: datetime) -> PruneSummary:
    """How many raw messages, and how many of their bytes, a prune would drop."""
    messages, size = session.execute(
        select(func.count(), func.coalesce(func.sum(RawMessage.size), 0)).where(
            _prunable(received_before)
        )
    ).one()
    return PruneSummary(int(messages), int(size))


def prune_raw_messages(
    session: Session, *, received_before: datetime, now: datetime
) -> PruneSummary:
    """Empty the content of raw messages received before the cut-off; returns what was dropped."""
    summary = count_prunable(session, received_before=received_before)
    session.execute(
        update(RawMessage)
        .where(_prunable(received_before))
        .values(content=b"", pruned_at=now)
        .execution_options(synchronize_session=False)
    )
    return summary
