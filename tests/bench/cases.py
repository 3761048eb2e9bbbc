"""The measured cases, each on a fresh mailbox: the two floors and the daemon per database."""

from __future__ import annotations

import contextlib
import poplib
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.models import QuarantinedMessage, RawMessage
from tests.bench.floor import PASSWORD_VARIABLE, Work
from tests.bench.measure import ProcessRun, run_measured
from tests.support.databases import throwaway_database
from tests.support.dovecot import DovecotServer, MailboxAccount

MAILBOX_NAME = "support"
NETWORK_FLOOR = "network floor"
PARSE_FLOOR = "parse floor"
READ_FLOOR = "read floor"
DAEMON_SQLITE = "daemon sqlite"
DAEMON_POSTGRESQL = "daemon postgresql"


@dataclass(frozen=True)
class Sample:
    """One measured drain of one fresh mailbox."""

    run: ProcessRun
    stored: int | None
    quarantined: int | None
    left_on_server: int


@dataclass(frozen=True)
class DaemonOptions:
    max_messages_per_poll: int
    # None: the daemon's defaults.
    checkpoint_every: int | None = None
    parse_workers: int | None = None
    commit_group_size: int | None = None


def fill_mailbox(dovecot: DovecotServer, raws: list[bytes]) -> MailboxAccount:
    """A new mailbox holding `raws`, already indexed by Dovecot."""
    account = dovecot.new_mailbox()
    for raw in raws:
        dovecot.deliver(account, raw)
    # Dovecot indexes a Maildir at the first login; do it here, outside every measurement.
    client = poplib.POP3_SSL(
        dovecot.host,
        dovecot.pop3s_port,
        context=ssl.create_default_context(cafile=str(dovecot.ca_file)),
        timeout=300,
    )
    try:
        client.user(account.username)
        client.pass_(account.password)
        count, _ = client.stat()
    finally:
        client.quit()
    if count != len(raws):
        raise RuntimeError(f"mailbox holds {count} messages, {len(raws)} delivered")
    return account


def measure_floor(
    dovecot: DovecotServer, account: MailboxAccount, work_dir: Path, *, work: Work
) -> Sample:
    arguments = [
        dovecot.host,
        str(dovecot.pop3s_port),
        account.username,
        str(dovecot.ca_file),
        *([] if work == "none" else [f"--{work}"]),
    ]
    run = run_measured(
        "tests.bench.floor",
        arguments,
        work_dir / "floor.log",
        environment={PASSWORD_VARIABLE: account.password},
    )
    return Sample(run, None, None, dovecot.count(account))


def measure_daemon(
    dovecot: DovecotServer,
    account: MailboxAccount,
    database_url: str,
    work_dir: Path,
    options: DaemonOptions,
) -> Sample:
    config = _write_config(work_dir / "bench.toml", database_url, dovecot, account, options)
    cli = "helpdesk_ingest"
    # The schema is made outside the measurement: a backlog meets a daemon already migrated.
    run_measured(cli, ["--config", str(config), "migrate"], work_dir / "migrate.log")
    run = run_measured(cli, ["--config", str(config), "poll"], work_dir / "poll.log")
    stored, quarantined = _count_stored(database_url)
    return Sample(run, stored + quarantined, quarantined, dovecot.count(account))


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-sqlite-") as directory:
        yield f"sqlite:///{Path(directory) / 'helpdesk.db'}"


@contextlib.contextmanager
def postgresql_database(admin: Engine) -> Iterator[str]:
    with throwaway_database(admin) as url:
        yield url


def _count_stored(database_url: str) -> tuple[int, int]:
    """Messages kept as raw originals, and messages kept in quarantine."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            raw = session.scalar(
                select(func.count())
                .select_from(RawMessage)
                .where(RawMessage.mailbox == MAILBOX_NAME)
            )
            held = session.scalar(
                select(func.count())
                .select_from(QuarantinedMessage)
                .where(QuarantinedMessage.mailbox == MAILBOX_NAME)
            )
    finally:
        engine.dispose()
    return raw or 0, held or 0


def _write_config(
    path: Path,
    database_url: str,
    dovecot: DovecotServer,
    account: MailboxAccount,
    options: DaemonOptions,
) -> Path:
    tuning = {
        "checkpoint_every": options.checkpoint_every,
        "parse_workers": options.parse_workers,
        "commit_group_size": options.commit_group_size,
    }
    lines = [
        f'database_url = "{database_url}"',
        'log_format = "json"',
        # The default level: a line per message, as an operator runs it.
        'log_level = "info"',
        "migrate_on_start = true",
        f"max_messages_per_poll = {options.max_messages_per_poll}",
        *(f"{name} = {value}" for name, value in tuning.items() if value is not None),
        "[[mailboxes]]",
        f'name = "{MAILBOX_NAME}"',
        f'host = "{dovecot.host}"',
        f"port = {dovecot.pop3s_port}",
        f'username = "{account.username}"',
        f'password = "{account.password}"',
        f'ca_file = "{dovecot.ca_file}"',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
