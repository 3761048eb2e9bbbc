"""The writes of an ingest transaction that wait for its one flush at the end.

Flushing after every row costs a round trip to the database per row. The ingest functions add
their rows linked by relationships instead of ids and note here what needs an id first: the new
tickets (their number is derived from the id) and the attachments (their content goes into
``blobs``, one row per SHA-256, written before the attachment rows that refer to it). ``flush``
then writes each table's rows together: a group of messages costs a few statements, not a few
per message.

On PostgreSQL the new rows' ids are taken from their sequences first, in one query. With its
primary key known, a row needs no RETURNING, and the rows of a table go as one pipelined batch
of the same short statement, which the server prepares once, instead of one long INSERT that
the driver must parse anew for every group; every table's batch rides one pipeline, written
with Core rather than the unit of work (see new_rows).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, inspect, text
from sqlalchemy.orm import InstanceState, Mapper, Session

from helpdesk_ingest.message import Attachment
from helpdesk_ingest.spool import SpooledBytes
from helpdesk_ingest.store.concurrency import insert_absent, insert_all_absent
from helpdesk_ingest.store.large_values import fill_column, for_statement, inline_part
from helpdesk_ingest.store.models import (
    CONTENT_TYPE_LENGTH,
    FILENAME_LENGTH,
    MESSAGE_ID_LENGTH,
    Article,
    Blob,
    Ticket,
)
from helpdesk_ingest.store.models import Attachment as AttachmentRow
from helpdesk_ingest.store.new_rows import insert_new_rows
from helpdesk_ingest.store.values import db_text

# Ticket numbers are the row id plus this offset: unique under concurrent writers without a
# sequence (SQLite has none) and far enough from 1 not to look like a list position.
TICKET_NUMBER_OFFSET = 1000


@dataclass
class PendingWrites:
    new_tickets: list[Ticket] = field(default_factory=list)
    attachments: list[tuple[Article, Attachment]] = field(default_factory=list)

    def flush(self, session: Session) -> None:
        """Write everything added so far; afterwards every new row has its id and number."""
        self._write_blobs(session)
        for article, attachment in self.attachments:
            article.attachments.append(_attachment_row(attachment))
        self.attachments.clear()
        if session.get_bind().dialect.name == "postgresql":
            _take_ids(session)
            self._number_tickets()
            insert_new_rows(session)
        # The changes to rows that existed before, and on SQLite every new row too.
        session.flush()
        # Elsewhere the ids came back from the INSERTs; the numbers follow in one more statement.
        self._number_tickets()
        session.flush()

    def _number_tickets(self) -> None:
        for ticket in self.new_tickets:
            if ticket.id is not None and ticket.number is None:
                ticket.number = TICKET_NUMBER_OFFSET + ticket.id
        self.new_tickets = [ticket for ticket in self.new_tickets if ticket.number is None]

    def _write_blobs(self, session: Session) -> None:
        parts = {attachment.sha256: attachment for _, attachment in self.attachments}
        if not parts:
            return
        contents = {sha256: for_statement(session, part.content) for sha256, part in parts.items()}
        rows = [
            {"sha256": sha256, "size": parts[sha256].size, "content": inline_part(content)}
            for sha256, content in contents.items()
        ]
        spooled = any(isinstance(content, SpooledBytes) for content in contents.values())
        # Blobs refer to nothing, so they may go before the rows pending in the session.
        with session.no_autoflush:
            if not spooled:
                # Nothing to fill in afterwards: which rows were new does not matter.
                insert_all_absent(session, Blob, rows)
                return
            inserted = insert_absent(session, Blob, rows)
        for (sha256,) in inserted:
            content = contents[sha256]
            if isinstance(content, SpooledBytes):
                fill_column(session, Blob.content, Blob.sha256 == sha256, content)


# One statement whatever the tables: it is prepared once, like the INSERTs that follow it.
_TAKE_IDS = text(
    "SELECT wanted.name, nextval(pg_get_serial_sequence(wanted.name, wanted.key)) "
    "FROM unnest(CAST(:tables AS text[]), CAST(:keys AS text[]), CAST(:counts AS integer[])) "
    "AS wanted(name, key, count), generate_series(1, wanted.count)"
)


def _take_ids(session: Session) -> None:
    """Give every new row with a sequence-made id its id now, in the order the rows were added."""
    waiting: defaultdict[Mapper[Any], list[InstanceState[Any]]] = defaultdict(list)
    for row in session.new:
        state = inspect(row)
        if _sequence_made(state.mapper) and state.mapper.primary_key_from_instance(row) == (None,):
            waiting[state.mapper].append(state)
    if not waiting:
        return
    keys = [mapper.primary_key[0] for mapper in waiting]
    wanted = {
        "tables": [key.table.name for key in keys],
        "keys": [key.name for key in keys],
        "counts": [len(states) for states in waiting.values()],
    }
    taken: defaultdict[str, list[int]] = defaultdict(list)
    with session.no_autoflush:
        for table, new_id in session.execute(_TAKE_IDS, wanted):
            taken[table].append(new_id)
    for (mapper, states), key in zip(waiting.items(), keys, strict=True):
        attribute = mapper.get_property_by_column(key).key
        in_order = sorted(states, key=lambda state: state.insert_order or 0)
        for state, new_id in zip(in_order, sorted(taken[key.table.name]), strict=True):
            setattr(state.obj(), attribute, new_id)


def _sequence_made(mapper: Mapper[Any]) -> bool:
    keys = mapper.primary_key
    return len(keys) == 1 and isinstance(keys[0].type, Integer)


def _attachment_row(attachment: Attachment) -> AttachmentRow:
    return AttachmentRow(
        blob_sha256=attachment.sha256,
        filename=db_text(attachment.filename, FILENAME_LENGTH),
        content_type=db_text(attachment.content_type, CONTENT_TYPE_LENGTH),
        size=attachment.size,
        inline=attachment.inline,
        content_id=db_text(attachment.content_id, MESSAGE_ID_LENGTH),
    )
