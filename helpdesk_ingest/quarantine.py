"""`helpdesk-ingest quarantine …`: see why messages were held, export them, re-ingest them.

A retry follows the poller's path: parse, then one transaction that classifies, routes and
stores the message idempotently. The quarantine row is kept for audit; ``released_at`` records
when its message became a ticket or article. A retry that fails changes nothing.

The rate limits apply to a retry as to the poller, so of a sender's messages held after a
backlog the first few go through and the rest are held again. An operator who has judged them
no storm retries them with the limits off (``--without-rate-limits``), and picks them with
``--all --reason rate-limit``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.hygiene.settings import RateLimits
from helpdesk_ingest.message import ParseFailure
from helpdesk_ingest.parsing.text import repair_surrogates
from helpdesk_ingest.poll_options import PollOptions
from helpdesk_ingest.prepare import prepare
from helpdesk_ingest.store.models import QuarantinedMessage
from helpdesk_ingest.store.quarantine_ops import (
    QuarantineEntry,
    get_quarantined,
    list_quarantined,
    pending_ids,
)
from helpdesk_ingest.store.ratelimit import RATE_LIMIT_REASON
from helpdesk_ingest.storing import store_prepared
from helpdesk_ingest.terminal import for_terminal
from helpdesk_ingest.worker_process import prepare_within_limit

if TYPE_CHECKING:
    from helpdesk_ingest.runtime import Runtime

log = structlog.get_logger("helpdesk_ingest.quarantine")

SUMMARY_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID")
NO_RATE_LIMITS = RateLimits(per_sender=None, auto_replies_per_ticket=None, global_=None)

RetryKind = Literal[
    "ingested", "duplicate", "quarantined", "unparseable", "released", "not-found", "failed"
]


@dataclass(frozen=True)
class RetryResult:
    quarantine_id: int
    kind: RetryKind
    detail: str = ""
    ticket_number: int | None = None

    @property
    def ok(self) -> bool:
        return self.kind in ("ingested", "duplicate", "released")

    def render(self) -> str:
        ticket = f" ticket {self.ticket_number}" if self.ticket_number is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.quarantine_id}: {self.kind}{ticket}{detail}"


class _HeldAgain(Exception):
    """The message would go back to quarantine; the retry's transaction is rolled back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def retry_one(
    sessions: sessionmaker[Session],
    quarantine_id: int,
    options_for: dict[str, PollOptions],
) -> RetryResult:
    """Re-ingest one quarantined message; ``options_for`` maps a mailbox name to its options."""
    with sessions() as session:
        row = get_quarantined(session, quarantine_id)
        if row is None:
            return RetryResult(quarantine_id, "not-found")
        if row.released_at is not None:
            return RetryResult(quarantine_id, "released", f"already at {row.released_at:%F %T}")
        mailbox, raw = row.mailbox, row.content
    options = options_for.get(mailbox)
    if options is None:
        # Queue, routing, hygiene and parse limits come from the mailbox's settings.
        return RetryResult(quarantine_id, "failed", f"mailbox {mailbox} is not configured")
    # Prepared as the poller's workers prepare it: the same limits (CPU time included), the same
    # classification.
    prepared = prepare_within_limit(prepare, raw, options.prepare_settings())
    parsed = prepared.parsed
    if isinstance(parsed, ParseFailure):
        return RetryResult(quarantine_id, "unparseable", f"{parsed.reason}: {parsed.detail}")
    try:
        with sessions.begin() as session:
            held = session.get_one(QuarantinedMessage, quarantine_id, with_for_update=True)
            if held.released_at is not None:
                return RetryResult(quarantine_id, "released", "by a concurrent retry")
            # Released first, so the store no longer sees these bytes as quarantined.
            held.released_at = datetime.now(UTC)
            session.flush()
            outcome = store_prepared(session, mailbox, raw, prepared, options)
            if outcome.kind == "quarantined":
                raise _HeldAgain(outcome.reason or "quarantined")
    except _HeldAgain as exc:
        hint = (
            "; --without-rate-limits releases it regardless"
            if exc.reason == RATE_LIMIT_REASON
            else ""
        )
        return RetryResult(quarantine_id, "quarantined", f"held again: {exc.reason}{hint}")
    except SQLAlchemyError as exc:
        return RetryResult(quarantine_id, "failed", type(exc).__name__)
    return RetryResult(quarantine_id, outcome.kind, ticket_number=outcome.ticket_number)


def without_rate_limits(options: PollOptions) -> PollOptions:
    """``options`` with every rate limit off, for messages an operator releases on purpose."""
    hygiene = options.policy.hygiene.model_copy(update={"rate_limits": NO_RATE_LIMITS})
    return dataclasses.replace(options, policy=dataclasses.replace(options.policy, hygiene=hygiene))


def headers_summary(raw: bytes) -> list[tuple[str, str]]:
    """The headers an operator looks at first, as they appear in the raw message (encoded words
    left encoded; raw 8-bit bytes read as UTF-8, else windows-1252)."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    # Raw, as read: compat32 hands out a header with 8-bit bytes as replacement characters.
    items = [(key.lower(), str(value)) for key, value in headers.raw_items()]
    return [
        (name, " ".join(repair_surrogates(value).split()))
        for name in SUMMARY_HEADERS
        for key, value in items
        if key == name.lower()
    ]


def render_list(entries: list[QuarantineEntry]) -> list[str]:
    lines = ["id\tmailbox\treason\tsize\tcreated_at\treleased_at"]
    for entry in entries:
        released = entry.released_at.isoformat(timespec="seconds") if entry.released_at else "-"
        lines.append(
            f"{entry.id}\t{entry.mailbox}\t{entry.reason}\t{entry.size}\t"
            f"{entry.created_at.isoformat(timespec='seconds')}\t{released}"
        )
    return lines


def render_detail(row: QuarantinedMessage) -> list[str]:
    released = row.released_at.isoformat(timespec="seconds") if row.released_at else "-"
    lines = [
        f"id: {row.id}",
        f"mailbox: {row.mailbox}",
        f"reason: {row.reason}",
        f"detail: {row.detail}",
        f"size: {row.size}",
        f"sha256: {row.sha256}",
        f"created_at: {row.created_at.isoformat(timespec='seconds')}",
        f"released_at: {released}",
        "headers:",
    ]
    lines.extend(f"  {name}: {value}" for name, value in headers_summary(row.content))
    # The sender's text, and the parser's error about it, must not act on the terminal.
    return [for_terminal(line) for line in lines]


def export_raw(sessions: sessionmaker[Session], quarantine_id: int, target: Path) -> bool:
    """Write the message's bytes unchanged to ``target``; False when there is no such entry."""
    with sessions() as session:
        row = get_quarantined(session, quarantine_id)
        if row is None:
            return False
        target.write_bytes(row.content)
    return True


def run_command(runtime: Runtime, args: argparse.Namespace) -> int:
    """Carry out one `quarantine` action and print its result; returns the exit code."""
    sessions = runtime.sessions
    if args.action == "list":
        with sessions() as session:
            entries = list_quarantined(session, include_released=not args.pending)
        print("\n".join(render_list(entries)))
        return 0
    if args.action == "retry":
        return _retry(runtime, args)
    if args.action == "export":
        if not export_raw(sessions, args.id, args.file):
            return _not_found(args.id)
        print(f"{args.id}: written to {args.file}")
        return 0
    with sessions() as session:
        row = get_quarantined(session, args.id)
        if row is None:
            return _not_found(args.id)
        print("\n".join(render_detail(row)))
    return 0


def _retry(runtime: Runtime, args: argparse.Namespace) -> int:
    if args.reason is not None and not args.all:
        print("helpdesk-ingest: --reason selects among --all, not among given ids", file=sys.stderr)
        return 2
    if args.all:
        with runtime.sessions() as session:
            ids = pending_ids(session, reason=args.reason)
        if not ids:
            held_for = f" held for {args.reason}" if args.reason is not None else ""
            print(f"no quarantined message{held_for} is waiting to be released")
            return 0
    else:
        ids = args.ids
    options_for = {
        mailbox.name: runtime.poll_options(mailbox) for mailbox in runtime.settings.mailboxes
    }
    if args.without_rate_limits:
        options_for = {name: without_rate_limits(options) for name, options in options_for.items()}
    results = [retry_one(runtime.sessions, quarantine_id, options_for) for quarantine_id in ids]
    for result in results:
        print(result.render())
        log.info(
            "quarantine_retried",
            quarantine_id=result.quarantine_id,
            outcome=result.kind,
            ticket=result.ticket_number,
            without_rate_limits=args.without_rate_limits,
        )
    return 0 if all(result.ok for result in results) else 1


def _not_found(quarantine_id: int) -> int:
    print(f"helpdesk-ingest: no quarantined message with id {quarantine_id}", file=sys.stderr)
    return 1
