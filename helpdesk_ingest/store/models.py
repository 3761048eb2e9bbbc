"""The tables the helpdesk app reads: docs/schema.md is their contract, alembic their author."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names on every dialect, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Lengths of text taken from mail headers; ingest clips values to them, because PostgreSQL
# rejects an over-long value where SQLite would store it.
EMAIL_LENGTH = 320  # RFC 5321: 64 local + @ + 255 domain
NAME_LENGTH = 300
MESSAGE_ID_LENGTH = 998  # RFC 5322 line length limit
FILENAME_LENGTH = 255
CONTENT_TYPE_LENGTH = 255


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every dialect; SQLite would otherwise hand back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)
    display_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    # Set when a bounce names this address; the helpdesk app can warn before mailing it again.
    undeliverable_at: Mapped[datetime | None]
    undeliverable_status: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    queue: Mapped[str] = mapped_column(String(100))
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    mailbox: Mapped[str] = mapped_column(String(64))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    # The ticket this one was split from: a stranger's mail naming it, or a late follow-up.
    linked_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    requester: Mapped[Contact | None] = relationship()
    articles: Mapped[list[Article]] = relationship(
        back_populates="ticket", order_by="Article.id", viewonly=True
    )


class RawMessage(Base):
    __tablename__ = "raw_messages"
    __table_args__ = (UniqueConstraint("mailbox", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    # The ticket this message landed on, also when it added no article (same Message-ID seen
    # through another mailbox).
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    received_at: Mapped[datetime]
    # Set by `prune`: the bytes are gone (content is empty) but the row stays, so a re-download
    # of the same message is still recognised by its (mailbox, sha256) key.
    pruned_at: Mapped[datetime | None]
    # Last, so SQLite can write a large message into it in place (migration 0006).
    content: Mapped[bytes] = mapped_column(LargeBinary)

    ticket: Mapped[Ticket | None] = relationship()


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_message_id", "message_id"),
        Index("ix_articles_contact_id_created_at", "contact_id", "created_at"),
        Index("ix_articles_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    direction: Mapped[str] = mapped_column(String(10), default="inbound")
    raw_message_id: Mapped[int | None] = mapped_column(ForeignKey("raw_messages.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_LENGTH))
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[str | None] = mapped_column(Text)
    from_address: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH))
    from_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    to_addresses: Mapped[list[Any]] = mapped_column(default=list)
    cc_addresses: Mapped[list[Any]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    # The body split by the parser: the new text of a reply, the history it quotes, the signature.
    reply_text: Mapped[str | None] = mapped_column(Text)
    quoted_text: Mapped[str | None] = mapped_column(Text)
    signature: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    defects: Mapped[list[Any]] = mapped_column(default=list)
    # The hygiene verdict: short codes such as "auto-submitted" or "dsn" saying why.
    flags: Mapped[list[Any]] = mapped_column(default=list)
    is_auto_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    is_bounce: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="articles")
    raw_message: Mapped[RawMessage | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")


class Blob(Base):
    """Attachment content, stored once per SHA-256 however many articles carry it."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    filename: Mapped[str] = mapped_column(String(FILENAME_LENGTH))
    content_type: Mapped[str] = mapped_column(String(CONTENT_TYPE_LENGTH))
    size: Mapped[int] = mapped_column(BigInteger)
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    content_id: Mapped[str | None] = mapped_column(String(MESSAGE_ID_LENGTH))


class QuarantinedMessage(Base):
    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("mailbox", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    # Last, so SQLite can write a large message into it in place (migration 0006).
    content: Mapped[bytes] = mapped_column(LargeBinary)


class PollRun(Base):
    __tablename__ = "poll_runs"
    __table_args__ = (Index("ix_poll_runs_mailbox_outcome", "mailbox", "outcome", "finished_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(20), default="running")
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    ingested: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class StoreAttempt(Base):
    """Failed ingest transactions of one message, so a poison message is held after a few."""

    __tablename__ = "store_attempts"
    __table_args__ = (UniqueConstraint("mailbox", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text)
    first_failed_at: Mapped[datetime]
    last_failed_at: Mapped[datetime]
