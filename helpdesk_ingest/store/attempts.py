"""Counting failed ingest transactions per message (mailbox + SHA-256), across passes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk_ingest.store.concurrency import insert_if_absent
from helpdesk_ingest.store.models import StoreAttempt
from helpdesk_ingest.store.values import db_text


def record_failed_attempt(
    session: Session, *, mailbox: str, sha256: str, error: str, now: datetime
) -> int:
    """Count one more failure of this message; returns how many there have been."""
    insert_if_absent(
        session,
        StoreAttempt,
        {
            "mailbox": mailbox,
            "sha256": sha256,
            "attempts": 0,
            "last_error": "",
            "first_failed_at": now,
            "last_failed_at": now,
        },
    )
    key = (StoreAttempt.mailbox == mailbox, StoreAttempt.sha256 == sha256)
    session.execute(
        update(StoreAttempt)
        .where(*key)
        .values(attempts=StoreAttempt.attempts + 1, last_error=db_text(error), last_failed_at=now)
    )
    return session.scalar(select(StoreAttempt.attempts).where(*key)) or 0
