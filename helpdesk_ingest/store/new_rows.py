"""A transaction's new rows written with Core INSERTs in one round trip, on PostgreSQL.

Once every new row has its id (``pending._take_ids``), writing them needs none of the unit of
work's machinery: no RETURNING, no ordering beyond the tables' own, no row count to check. The
unit of work still costs about a third of storing a group, and it waits for the server after
each table's batch. Here each row's foreign keys are copied from the objects it refers to, as
the unit of work would, the rows go out table by table as one psycopg pipeline that waits for
the server once, and the objects are then attached to the session as rows loaded from the
database: the session's flush that follows writes only the changes to rows that existed before.
A refused row's error arrives with that one wait, from psycopg; it is raised as SQLAlchemy's,
which is how the callers tell a bad group from a database outage.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import FromClause, insert, inspect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import InstanceState, Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.interfaces import MANYTOONE, ONETOMANY

from helpdesk_ingest.store.models import Base


def insert_new_rows(session: Session) -> bool:
    """Write the session's new objects; False, writing nothing, when one of them has no id."""
    # Imported here: the driver is loaded with a PostgreSQL database; a SQLite daemon need not.
    import psycopg

    states: list[InstanceState[Any]] = sorted(
        (inspect(row) for row in session.new), key=lambda state: state.insert_order or 0
    )
    if not states or any(_has_no_id(state) for state in states):
        return False
    _copy_foreign_keys(session, states)
    rows: defaultdict[FromClause, list[dict[str, Any]]] = defaultdict(list)
    for state in states:
        rows[state.mapper.local_table].append(_row(state))
    tables = [table for table in Base.metadata.sorted_tables if table in rows]
    driver = session.connection().connection.driver_connection
    if len(tables) != len(rows) or not isinstance(driver, psycopg.Connection):
        return False
    # Held here: once out of the session, an object nothing else refers to would be collected.
    objects = [state.obj() for state in states]
    with session.no_autoflush:
        for row in objects:
            session.expunge(row)
        try:
            with driver.pipeline():
                for table in tables:
                    for same_columns in _runs_by_columns(rows[table]):
                        session.execute(insert(table), same_columns)
        except psycopg.Error as exc:
            # An INSERT's error comes with the pipeline's one wait, outside SQLAlchemy: raise
            # it as SQLAlchemy would have (an IntegrityError, or a lost connection, discarded),
            # which is what the callers tell a bad group from a database outage by.
            raise _as_sqlalchemy_error(session, exc) from exc
        # Every object becomes detached before any is added: adding one cascades to the objects
        # it refers to, which must arrive as written rows, not as new ones.
        for row in objects:
            make_transient_to_detached(row)
        for row in objects:
            session.add(row)
    return True


def _copy_foreign_keys(session: Session, states: list[InstanceState[Any]]) -> None:
    """Set the new rows' foreign keys as the unit of work would, from the objects related."""
    new = {id(state.obj()) for state in states}
    for state in states:
        _copy_from_parents(state)
        _copy_to_children(state, new)
    for row in session.dirty:
        # A row written earlier in this transaction may have gained new rows in a collection
        # since (an article flushed early for a large message gets its attachments after).
        _copy_to_children(inspect(row), new)


def _has_no_id(state: InstanceState[Any]) -> bool:
    return None in state.mapper.primary_key_from_instance(state.obj())


def _attribute(mapper: Mapper[Any], column: Any) -> str:
    return mapper.get_property_by_column(column).key


def _copy_from_parents(state: InstanceState[Any]) -> None:
    """Set the foreign keys the unit of work would take from the objects this row refers to."""
    mapper, row = state.mapper, state.obj()
    for relationship in _written(mapper, MANYTOONE):
        if relationship.key not in state.dict:
            continue
        parent = state.dict[relationship.key]
        for local, remote in relationship.local_remote_pairs or ():
            value = (
                None if parent is None else getattr(parent, _attribute(relationship.mapper, remote))
            )
            setattr(row, _attribute(mapper, local), value)


def _copy_to_children(state: InstanceState[Any], new: set[int]) -> None:
    """Set the foreign keys of the new rows in this row's collections, as the unit of work would."""
    mapper, row = state.mapper, state.obj()
    for relationship in _written(mapper, ONETOMANY):
        for child in state.dict.get(relationship.key) or ():
            if id(child) not in new:
                continue
            for local, remote in relationship.local_remote_pairs or ():
                value = getattr(row, _attribute(mapper, local))
                setattr(child, _attribute(relationship.mapper, remote), value)


def _written(mapper: Mapper[Any], direction: Any) -> list[Any]:
    return [
        relationship
        for relationship in mapper.relationships
        if relationship.direction is direction and not relationship.viewonly
    ]


def _row(state: InstanceState[Any]) -> dict[str, Any]:
    """The values set on the object, by column; the table's defaults fill in the others."""
    values = state.dict
    return {
        prop.columns[0].key: values[prop.key]
        for prop in state.mapper.column_attrs
        if prop.key in values
    }


def _runs_by_columns(rows: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive rows that set the same columns: one batch is one statement with one column
    list, and the rows keep their order (a ticket may refer to one made just before it)."""
    return [list(run) for _, run in itertools.groupby(rows, key=frozenset)]


def _as_sqlalchemy_error(session: Session, error: Exception) -> StatementError:
    import psycopg  # as in insert_new_rows

    connection = session.connection()
    dbapi_error = cast(Any, error)
    lost = connection.dialect.is_disconnect(
        dbapi_error, connection.connection.dbapi_connection, None
    )
    if lost:
        connection.invalidate(error)
    return DBAPIError.instance(
        None,
        None,
        error,
        psycopg.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=connection.dialect,
    )
