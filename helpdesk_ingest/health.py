"""`helpdesk-ingest health`: is the daemon doing its job? Reads its own records, never the mailbox.

A second POP3 session would collide with the poller's, so health is judged from the age of the
last successful poll of each mailbox, as recorded in the database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from helpdesk_ingest.config import Settings
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.polls import last_successful_polls


def health_problems(settings: Settings, now: datetime | None = None) -> list[str]:
    """Empty when healthy; otherwise one line per problem."""
    now = now or datetime.now(UTC)
    engine = make_engine(settings.database_url_value)
    try:
        with make_sessionmaker(engine)() as session:
            last_ok = last_successful_polls(session)
    except SQLAlchemyError as exc:
        return [f"database unreachable: {type(exc).__name__}"]
    finally:
        engine.dispose()
    return [
        problem
        for mailbox in settings.mailboxes
        if mailbox.enabled
        and (
            problem := poll_age_problem(
                mailbox.name, last_ok.get(mailbox.name), now, settings.healthy_poll_age_s
            )
        )
    ]


def poll_age_problem(
    mailbox: str, last_success: datetime | None, now: datetime, limit_s: float
) -> str | None:
    """Why a mailbox's last successful poll makes it unhealthy, or None when it is recent."""
    if last_success is None:
        return f"mailbox {mailbox}: no successful poll yet"
    age_s = (now - last_success).total_seconds()
    if age_s > limit_s:
        return f"mailbox {mailbox}: last successful poll {age_s:.0f} s ago (limit {limit_s:.0f} s)"
    return None
