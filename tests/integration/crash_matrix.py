"""The crash matrix: SIGKILL the daemon again and again until the mailbox is drained.

Every kill is a real process death (no `finally`, no QUIT). Afterwards every message delivered
must be stored exactly once and none may be left on the server. Run a larger matrix by hand:

    python -m tests.integration.crash_matrix --messages 500 --random-kills 200 \
        --database postgresql+psycopg://postgres@127.0.0.1:5432/test

(the database named there must exist; a fresh one is created in it per run and dropped.)
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.models import Article, RawMessage
from tests.support.dovecot import DovecotServer, MailboxAccount

HERE = Path(__file__).resolve().parent
PROTOCOL_STEPS = ("after-retr", "after-commit", "after-dele", "before-quit")


# Every fifth message is larger than the spool threshold, so kills also land while a message
# goes through a file.
SPOOL_OVER_BYTES = 64 * 1024
LARGE_EVERY = 5


def numbered_mail(number: int) -> bytes:
    body = f"Body of case {number}.\r\n"
    if number % LARGE_EVERY == 0:
        body += f"Log line {number} of a long attachment pasted inline.\r\n" * 2000
    return (
        f"From: Customer {number} <c{number}@example.org>\r\n"
        f"To: support@example.com\r\n"
        f"Subject: Case {number}\r\n"
        f"Message-ID: <crash-{number}@example.org>\r\n"
        f"\r\n{body}"
    ).encode()


@dataclass
class MatrixResult:
    delivered: int
    kills: int
    stored_raw: int
    stored_articles: int
    distinct_message_ids: int
    left_on_server: int
    # Files and directories left in the spool after the final pass.
    spool_leftovers: int

    @property
    def lost(self) -> int:
        return self.delivered - self.distinct_message_ids

    @property
    def duplicated(self) -> int:
        return self.stored_articles - self.distinct_message_ids


def write_config(
    path: Path,
    database_url: str,
    dovecot: DovecotServer,
    account: MailboxAccount,
    spool_dir: Path | None = None,
) -> Path:
    spooling = (
        f'spool_over_bytes = {SPOOL_OVER_BYTES}\nspool_dir = "{spool_dir}"\n' if spool_dir else ""
    )
    path.write_text(
        f'database_url = "{database_url}"\n'
        'log_format = "json"\n'
        "migrate_on_start = true\n"
        "poll_interval_s = 0.2\n"
        "checkpoint_every = 7\n"
        f"{spooling}"
        "[[mailboxes]]\n"
        'name = "support"\n'
        f'host = "{dovecot.host}"\n'
        f"port = {dovecot.pop3s_port}\n"
        f'username = "{account.username}"\n'
        f'password = "{account.password}"\n'
        f'ca_file = "{dovecot.ca_file}"\n',
        encoding="utf-8",
    )
    return path


def _kill_at_step(config: Path, step: str, victim: int) -> tuple[bool, float]:
    """One `poll` killed at a protocol step: whether the kill happened, and after how long."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(HERE / "crashing_poll.py"), str(config), f"{step}:{victim}"]
        if step != "before-quit"
        else [sys.executable, str(HERE / "crashing_poll.py"), str(config), step],
        capture_output=True,
        timeout=120,
        check=False,
    )
    return completed.returncode == -signal.SIGKILL, time.perf_counter() - started


def _kill_at_random(config: Path, rng: random.Random, within_s: float) -> None:
    daemon = subprocess.Popen(
        [sys.executable, "-m", "helpdesk_ingest", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(rng.uniform(0.1, within_s))
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=30)


def _drain(config: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "helpdesk_ingest", "--config", str(config), "poll"],
        capture_output=True,
        timeout=300,
        check=True,
    )


def run_matrix(
    dovecot: DovecotServer,
    database_url: str,
    work_dir: Path,
    *,
    messages: int,
    random_kills: int,
    seed: int = 1,
) -> MatrixResult:
    rng = random.Random(seed)
    account = dovecot.new_mailbox()
    for number in range(1, messages + 1):
        dovecot.deliver(account, numbered_mail(number))
    spool_dir = work_dir / "spool"
    spool_dir.mkdir()
    config = write_config(work_dir / "crash-matrix.toml", database_url, dovecot, account, spool_dir)
    kills = 0
    # How long a start and the first messages take on this machine (and this database): the
    # random kills land across start-up and the start of the pass whatever the machine's speed,
    # where a fixed window let a fast machine drain the mailbox at the first kills.
    first_messages_s = []
    for step in PROTOCOL_STEPS:
        if dovecot.count(account):
            killed, seconds = _kill_at_step(config, step, rng.randint(1, 5))
            kills += killed
            first_messages_s.append(seconds)
    for _ in range(random_kills):
        if not dovecot.count(account):
            break
        _kill_at_random(config, rng, within_s=min(first_messages_s, default=0.5))
        kills += 1
    _drain(config)
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            stored_raw = session.scalar(select(func.count()).select_from(RawMessage)) or 0
            stored_articles = session.scalar(select(func.count()).select_from(Article)) or 0
            distinct = session.scalar(select(func.count(func.distinct(Article.message_id)))) or 0
    finally:
        engine.dispose()
    return MatrixResult(
        delivered=messages,
        kills=kills,
        stored_raw=stored_raw,
        stored_articles=stored_articles,
        distinct_message_ids=distinct,
        left_on_server=dovecot.count(account),
        spool_leftovers=len(list(spool_dir.iterdir())),
    )


def main() -> int:
    from tests.support.databases import reachable_admin, throwaway_database
    from tests.support.dovecot import start_dovecot

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--random-kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="crash-matrix-"))
    dovecot = start_dovecot(Path(tempfile.mkdtemp(prefix="crash-matrix-dovecot-")))
    try:
        if args.database == "sqlite":
            result = run_matrix(
                dovecot,
                f"sqlite:///{root / 'helpdesk.db'}",
                root,
                messages=args.messages,
                random_kills=args.random_kills,
                seed=args.seed,
            )
        else:
            admin = reachable_admin(args.database)
            if admin is None:
                print(f"no database server answers at {args.database}", file=sys.stderr)
                return 2
            with throwaway_database(admin) as url:
                result = run_matrix(
                    dovecot,
                    url,
                    root,
                    messages=args.messages,
                    random_kills=args.random_kills,
                    seed=args.seed,
                )
            admin.dispose()
    finally:
        dovecot.stop()
    print(
        f"messages {result.delivered}, kills survived {result.kills}, "
        f"stored {result.stored_raw}, lost {result.lost}, duplicated {result.duplicated}, "
        f"left on server {result.left_on_server}, left in the spool {result.spool_leftovers}"
    )
    ok = (
        result.lost == 0
        and result.duplicated == 0
        and result.left_on_server == 0
        and result.spool_leftovers == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
