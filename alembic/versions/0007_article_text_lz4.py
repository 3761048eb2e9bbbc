"""PostgreSQL: the articles' long text columns are compressed with lz4 instead of pglz.

A typical support mail's text goes into four or five columns (body, HTML, reply, quoted
history), each compressed on its own when large; with pglz that was half the time PostgreSQL
spent storing a message. lz4 takes a fraction of the CPU for a slightly larger value. Rows
already stored keep their compression until rewritten; SQLite has no such setting.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPRESSED_TEXT_COLUMNS = (
    "body_text",
    "body_html",
    "reply_text",
    "quoted_text",
    "signature",
    "references",
)


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or (bind.dialect.server_version_info or (0,)) < (14,):
        return False
    # A server built without lz4 lists only pglz among the allowed values.
    return bool(
        bind.execute(
            sa.text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'"
            )
        ).scalar()
    )


def _set_compression(method: str) -> None:
    if not _lz4_available():
        return
    for column in COMPRESSED_TEXT_COLUMNS:
        op.execute(f'ALTER TABLE articles ALTER COLUMN "{column}" SET COMPRESSION {method}')


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("DEFAULT")
