"""Drain N generated messages from a private Dovecot and print the figures.

    python -m tests.bench --messages 2000 --mix typical --repeat 3 --database both

Measured on fresh mailboxes in the same run: the network floor (poplib RETR + DELE), the parse
floor (the same plus the stdlib email parser) and `helpdesk-ingest poll` into SQLite and/or a
throw-away PostgreSQL database on HELPDESK_TEST_DATABASE_URL. Each case runs in its own process;
seconds are that process's wall time (start-up included), peak RSS its ru_maxrss from wait4.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.bench.mixes import MIXES
from tests.bench.report import render, write_json
from tests.bench.run import BenchOptions, run_benchmark
from tests.support.databases import reachable_admin
from tests.support.dovecot import dovecot_binary, start_dovecot

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--messages", type=int, default=2000, help="messages per mailbox")
    parser.add_argument("--mix", choices=MIXES, default="typical")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions; medians reported")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated mail")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--checkpoint-every", type=int, help="the daemon's checkpoint_every (default: its own)"
    )
    parser.add_argument(
        "--parse-workers", type=int, help="the daemon's parse_workers (default: its own)"
    )
    parser.add_argument(
        "--group-size", type=int, help="the daemon's commit_group_size (default: its own)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = BenchOptions(
        messages=args.messages,
        mix=args.mix,
        repeat=args.repeat,
        seed=args.seed,
        sqlite=args.database in ("sqlite", "both"),
        postgresql=args.database in ("postgresql", "both"),
        checkpoint_every=args.checkpoint_every,
        parse_workers=args.parse_workers,
        commit_group_size=args.group_size,
    )
    binary = dovecot_binary()
    if binary is None:
        print("no dovecot binary; apt-get install dovecot-pop3d", file=sys.stderr)
        return 2
    admin = None
    if options.postgresql:
        url = os.environ.get("HELPDESK_TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)
        admin = reachable_admin(url)
        if admin is None:
            print("no PostgreSQL answers at HELPDESK_TEST_DATABASE_URL", file=sys.stderr)
            return 2
    # Not under a private temp dir: Dovecot's unprivileged processes must reach the Maildirs.
    root = Path(tempfile.mkdtemp(prefix="helpdesk-bench-dovecot-"))
    dovecot = start_dovecot(root, binary)
    try:
        results = run_benchmark(dovecot, admin, options)
    finally:
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)
        if admin is not None:
            admin.dispose()
    print(render(results, options))
    if args.json is not None:
        write_json(args.json, results, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
