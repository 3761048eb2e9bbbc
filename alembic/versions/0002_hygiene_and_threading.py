"""Hygiene and threading: article classification, ticket tags and links, undeliverable contacts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    # Batch mode: SQLite can add a foreign key only by rebuilding the table.
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default=EMPTY_LIST))
        batch.add_column(sa.Column("linked_ticket_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_tickets_linked_ticket_id_tickets"), "tickets", ["linked_ticket_id"], ["id"]
        )
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("flags", sa.JSON(), nullable=False, server_default=EMPTY_LIST))
        batch.add_column(
            sa.Column("is_auto_reply", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("is_bounce", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_articles_contact_id_created_at", "articles", ["contact_id", "created_at"], unique=False
    )
    op.create_index("ix_articles_created_at", "articles", ["created_at"], unique=False)
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("undeliverable_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("undeliverable_status", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("undeliverable_status")
        batch.drop_column("undeliverable_at")
    op.drop_index("ix_articles_created_at", table_name="articles")
    op.drop_index("ix_articles_contact_id_created_at", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("is_bounce")
        batch.drop_column("is_auto_reply")
        batch.drop_column("flags")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint(op.f("fk_tickets_linked_ticket_id_tickets"), type_="foreignkey")
        batch.drop_column("linked_ticket_id")
        batch.drop_column("tags")
