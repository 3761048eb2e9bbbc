"""What a bounce teaches about our contacts: which addresses no longer take mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from helpdesk_ingest.store.contacts import stored_email
from helpdesk_ingest.store.models import Contact
from helpdesk_ingest.store.values import db_text

# A DSN may list tens of thousands of failed recipients, more than PostgreSQL takes parameters
# in one statement (65,535); past that the UPDATE failed, which the daemon took for an
# unreachable database, and the mailbox stopped at that message at every try.
ADDRESSES_PER_UPDATE = 1000


def is_permanent(status: str | None) -> bool:
    """RFC 3464 class 5 is permanent; 4 (delayed, retrying) says nothing about the address yet.

    A bounce without a Status field comes from an MTA that only reports final failures.
    """
    return status is None or status.startswith("5")


def mark_undeliverable(
    session: Session, recipients: tuple[str, ...], status: str | None, now: datetime
) -> int:
    """Flag the known contacts among ``recipients``; returns how many were flagged."""
    if not recipients or not is_permanent(status):
        return 0
    emails = sorted({stored_email(address) for address in recipients})
    flagged = 0
    for start in range(0, len(emails), ADDRESSES_PER_UPDATE):
        result = session.execute(
            update(Contact)
            .where(Contact.email.in_(emails[start : start + ADDRESSES_PER_UPDATE]))
            .values(undeliverable_at=now, undeliverable_status=db_text(status, 32), updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
        flagged += int(getattr(result, "rowcount", 0) or 0)
    return flagged
