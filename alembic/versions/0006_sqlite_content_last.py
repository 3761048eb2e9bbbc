"""SQLite: the mail bytes become the last column of raw_messages and quarantine.

SQLite writes a spooled message into its row in place (incremental blob I/O into a zero-filled
blob of the final size), and keeps such a blob unexpanded only when it is the record's last
column; elsewhere the zero blob is built in memory at full size first. PostgreSQL does not care
about column order: nothing changes there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ORDER = {
    "raw_messages": (
        "id",
        "mailbox",
        "sha256",
        "size",
        "ticket_id",
        "received_at",
        "pruned_at",
        "content",
    ),
    "quarantine": (
        "id",
        "mailbox",
        "sha256",
        "size",
        "reason",
        "detail",
        "created_at",
        "released_at",
        "content",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in _ORDER.items():
        with op.batch_alter_table(table, recreate="always", partial_reordering=[columns]):
            pass


def downgrade() -> None:
    # Column order carries no meaning to read or write the tables: nothing to undo.
    pass
