"""`helpdesk-ingest prune`: drop the raw bytes of ingested messages older than N days."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from helpdesk_ingest.store.retention import PruneSummary, count_prunable, prune_raw_messages

if TYPE_CHECKING:
    from helpdesk_ingest.runtime import Runtime

log = structlog.get_logger("helpdesk_ingest.prune")


def run_prune(
    runtime: Runtime, *, older_than_days: int, dry_run: bool, now: datetime | None = None
) -> PruneSummary:
    """Prune (or, dry, only count) in one transaction; logs one `raw_messages_pruned` event."""
    now = now or datetime.now(UTC)
    received_before = now - timedelta(days=older_than_days)
    with runtime.sessions.begin() as session:
        if dry_run:
            summary = count_prunable(session, received_before=received_before)
        else:
            summary = prune_raw_messages(session, received_before=received_before, now=now)
    log.info(
        "raw_messages_pruned",
        messages=summary.messages,
        bytes=summary.bytes,
        received_before=received_before.isoformat(),
        dry_run=dry_run,
    )
    return summary


def run_command(runtime: Runtime, args: argparse.Namespace) -> int:
    summary = run_prune(runtime, older_than_days=args.older_than_days, dry_run=args.dry_run)
    verb = "would prune" if args.dry_run else "pruned"
    print(f"{verb} {summary.messages} raw message(s), {summary.bytes} bytes")
    return 0
