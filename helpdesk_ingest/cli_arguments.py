"""The arguments of the `quarantine` and `prune` commands.

Apart from the commands' code, which loads the parser and the database layer: building the
command line must not, or every command, the daemon's start included, would pay for them."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_quarantine_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list quarantined messages")
    listing.add_argument("--pending", action="store_true", help="only those not released")
    show = actions.add_parser("show", help="the reason, detail and headers of one message")
    show.add_argument("id", type=int)
    export = actions.add_parser("export", help="write the raw message, byte for byte, to FILE")
    export.add_argument("id", type=int)
    export.add_argument("file", type=Path, metavar="FILE")
    retry = actions.add_parser("retry", help="re-ingest messages once the cause is fixed")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", type=int, default=[], metavar="ID")
    which.add_argument("--all", action="store_true", help="every message not yet released")
    retry.add_argument(
        "--reason",
        metavar="REASON",
        help="with --all: only the messages held for this reason (as `list` shows it)",
    )
    retry.add_argument(
        "--without-rate-limits",
        action="store_true",
        help="store them even over a rate limit (mail you have judged no storm)",
    )


def _positive_days(text: str) -> int:
    days = int(text)
    if days < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return days


def add_prune_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than-days",
        type=_positive_days,
        required=True,
        metavar="N",
        help="prune raw messages received more than N days ago",
    )
    parser.add_argument("--dry-run", action="store_true", help="only report what would be pruned")
