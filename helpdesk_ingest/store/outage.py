"""What counts as the database being away, told apart from the database refusing one message.

Kept apart from the storing code so that the backoff can tell a database outage from a mail
server's trouble without loading the ORM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


class DatabaseUnavailable(Exception):
    """The database could not take a message; it stays on the server for the next pass."""


def is_database_outage(exc: BaseException) -> bool:
    """True when the error says the database is unreachable, not that this message is bad."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def database_is_away(exc: BaseException, sessions: sessionmaker[Session]) -> bool:
    """``is_database_outage``, asking the database when the error alone cannot tell.

    An OperationalError on a connection still open is what the driver raises for a database
    gone but also for a statement it refuses: more parameters than PostgreSQL takes, an index
    entry over its size ("program limit exceeded"), a statement cancelled. Those come from one
    message's data, and taken for an outage they stopped the mailbox at that message at every
    pass; when the database still answers, the error is the message's.
    """
    if not is_database_outage(exc):
        return False
    if isinstance(exc, InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return True
    return not database_answers(sessions)


def database_answers(sessions: sessionmaker[Session]) -> bool:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def is_database_failure(exc: BaseException | None) -> bool:
    """True when a pass failed at the database rather than at the mail server."""
    return isinstance(exc, DatabaseUnavailable | SQLAlchemyError)
