"""What counts as the database being away, told apart from the database refusing one message.

Kept apart from the storing code so that the backoff can tell a database outage from a mail
server's trouble without loading the ORM.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError


class DatabaseUnavailable(Exception):
    """The database could not take a message; it stays on the server for the next pass."""


def is_database_outage(exc: BaseException) -> bool:
    """True when the error says the database is unreachable, not that this message is bad."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def is_database_failure(exc: BaseException | None) -> bool:
    """True when a pass failed at the database rather than at the mail server."""
    return isinstance(exc, DatabaseUnavailable | SQLAlchemyError)
