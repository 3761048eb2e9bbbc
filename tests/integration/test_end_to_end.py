"""The whole job against a real Dovecot, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import poplib
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk_ingest.cli import main
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.models import Article, Attachment, QuarantinedMessage, RawMessage, Ticket
from tests.support.dovecot import DovecotServer, MailboxAccount

HERE = Path(__file__).resolve().parent


def customer_mail(number: int, *, reply_to: str | None = None, subject: str | None = None) -> bytes:
    headers = [
        f"From: Customer {number} <customer{number}@example.org>",
        "To: support@example.com",
        f"Subject: {subject or f'Printer {number} is on fire'}",
        f"Message-ID: <customer-{number}@example.org>",
        "Date: Mon, 02 Nov 2026 10:00:00 +0000",
    ]
    if reply_to:
        headers.append(f"In-Reply-To: {reply_to}")
    return ("\r\n".join(headers) + f"\r\n\r\nPlease help, case {number}.\r\n").encode()


MAIL_WITH_ATTACHMENT = (
    b"From: Ann <ann@example.org>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Screenshot attached\r\n"
    b"Message-ID: <attach-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"See the screenshot.\r\n"
    b"--b1\r\n"
    b"Content-Type: image/png\r\n"
    b'Content-Disposition: attachment; filename="screen.png"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n"
    b"--b1--\r\n"
)


def write_config(
    tmp_path: Path,
    database_url: str,
    dovecot: DovecotServer,
    account: MailboxAccount,
    *,
    security: str = "tls",
    extra: str = "",
    ca_file: Path | None = None,
    host: str | None = None,
) -> Path:
    port = dovecot.pop3s_port if security == "tls" else dovecot.pop3_port
    path = tmp_path / "helpdesk-ingest.toml"
    path.write_text(
        f'database_url = "{database_url}"\n'
        'log_format = "json"\n'
        "migrate_on_start = true\n"
        f"{extra}"
        "[[mailboxes]]\n"
        'name = "support"\n'
        f'host = "{host or dovecot.host}"\n'
        f"port = {port}\n"
        f'security = "{security}"\n'
        f'username = "{account.username}"\n'
        f'password = "{account.password}"\n'
        f'ca_file = "{ca_file or dovecot.ca_file}"\n'
        "connect_timeout_s = 10\n"
        "read_timeout_s = 30\n",
        encoding="utf-8",
    )
    return path


def counts(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return {
                model.__name__: _count(session, model)
                for model in (Ticket, Article, RawMessage, Attachment, QuarantinedMessage)
            }
    finally:
        engine.dispose()


def _count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def log_events(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_poll_drains_dovecot_into_tickets(
    tmp_path: Path,
    database_url: str,
    dovecot: DovecotServer,
    security: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    account = dovecot.new_mailbox()
    dovecot.deliver(account, customer_mail(1))
    dovecot.deliver(account, customer_mail(2, reply_to="<customer-1@example.org>"))
    dovecot.deliver(account, MAIL_WITH_ATTACHMENT)
    dovecot.deliver(account, b"\x00\x01 not a mail at all")
    config = write_config(tmp_path, database_url, dovecot, account, security=security)

    assert main(["--config", str(config), "poll"]) == 0

    assert dovecot.count(account) == 0
    assert counts(database_url) == {
        "Ticket": 2,
        "Article": 3,
        "RawMessage": 3,
        "Attachment": 1,
        "QuarantinedMessage": 1,
    }
    events = log_events(capsys.readouterr().out)
    handled = [event for event in events if event["event"] == "message_handled"]
    assert [event["outcome"] for event in handled] == [
        "ingested",
        "ingested",
        "ingested",
        "quarantined",
    ]
    assert all(event["mailbox"] == "support" for event in handled)
    assert account.password not in json.dumps(events)
    (finished,) = [event for event in events if event["event"] == "poll_finished"]
    assert finished["deleted"] == 4
    assert finished["left_on_server"] == 0


def test_a_message_dovecot_will_not_send_holds_up_none_behind_it(
    tmp_path: Path,
    database_url: str,
    dovecot: DovecotServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    account = dovecot.new_mailbox()
    for number in range(1, 5):
        dovecot.deliver(account, customer_mail(number))
    # Indexed by a first login (sizes and all), then a message file Dovecot cannot read: it
    # still lists the message, and answers its RETR with "-ERR Message 2 expunged.", at every
    # pass. The pass failed there each time, and nothing behind it was ever stored.
    client = poplib.POP3_SSL(
        dovecot.host,
        dovecot.pop3s_port,
        context=ssl.create_default_context(cafile=str(dovecot.ca_file)),
    )
    client.user(account.username)
    client.pass_(account.password)
    assert client.stat()[0] == 4
    client.quit()
    sorted((account.maildir / "cur").iterdir())[1].chmod(0)
    config = write_config(tmp_path, database_url, dovecot, account)

    assert main(["--config", str(config), "poll"]) == 0

    assert dovecot.count(account) == 1
    assert counts(database_url)["Article"] == 3
    events = log_events(capsys.readouterr().out)
    (refused,) = [event for event in events if event["event"] == "message_retrieve_refused"]
    assert refused["number"] == 2
    assert refused["level"] == "error"
    assert refused["response"].endswith("refused RETR: Message 2 expunged.")
    (finished,) = [event for event in events if event["event"] == "poll_finished"]
    assert (finished["outcome"], finished["refused"], finished["left_on_server"]) == ("ok", 1, 1)

    # Once the file can be read again, the next pass takes it.
    for sub in ("new", "cur"):
        for path in (account.maildir / sub).iterdir():
            path.chmod(0o600)
    assert main(["--config", str(config), "poll"]) == 0
    assert dovecot.count(account) == 0
    assert counts(database_url)["Article"] == 4


@pytest.mark.parametrize("kill_point", ["before-quit", "after-commit:2"])
def test_killed_poll_then_second_poll_stores_each_message_once(
    tmp_path: Path, database_url: str, dovecot: DovecotServer, kill_point: str
) -> None:
    account = dovecot.new_mailbox()
    for number in range(1, 5):
        dovecot.deliver(account, customer_mail(number))
    # Groups of two: the kill after the commit holding message 2 leaves 3 and 4 unstored.
    config = write_config(tmp_path, database_url, dovecot, account, extra="commit_group_size = 2\n")

    crashed = subprocess.run(
        [sys.executable, str(HERE / "crashing_poll.py"), str(config), kill_point],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    # The session died without QUIT: the server deleted nothing, though some messages are stored.
    assert dovecot.count(account) == 4
    stored_before = counts(database_url)["RawMessage"]
    assert stored_before == (4 if kill_point == "before-quit" else 2)

    assert main(["--config", str(config), "poll"]) == 0

    assert dovecot.count(account) == 0
    after = counts(database_url)
    assert after["RawMessage"] == 4
    assert after["Article"] == 4
    assert after["Ticket"] == 4


def test_unreachable_database_deletes_nothing(
    tmp_path: Path, dovecot: DovecotServer, capsys: pytest.CaptureFixture[str]
) -> None:
    account = dovecot.new_mailbox()
    dovecot.deliver(account, customer_mail(1))
    # Nothing listens on port 1: the database is down before the pass starts.
    config = write_config(
        tmp_path,
        "postgresql+psycopg://postgres@127.0.0.1:1/helpdesk?connect_timeout=2",
        dovecot,
        account,
        extra="",
    )
    config.write_text(config.read_text().replace("migrate_on_start = true\n", ""))
    code = main(["--config", str(config), "poll"])
    assert code != 0
    assert dovecot.count(account) == 1
    assert "database unavailable" in capsys.readouterr().err


def test_untrusted_certificate_is_refused(
    tmp_path: Path, sqlite_url: str, dovecot: DovecotServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import trustme

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    account = dovecot.new_mailbox()
    dovecot.deliver(account, customer_mail(1))
    config = write_config(tmp_path, sqlite_url, dovecot, account, ca_file=other_ca)
    assert main(["--config", str(config), "poll"]) == 1
    assert dovecot.count(account) == 1
    events = log_events(capsys.readouterr().out)
    (error,) = [event for event in events if event["event"] == "mailbox_error"]
    assert error["error_type"] == "Pop3TlsError"
    assert "certificate" in error["error"].lower()


def test_check_reports_tls_and_message_count(
    tmp_path: Path, sqlite_url: str, dovecot: DovecotServer, capsys: pytest.CaptureFixture[str]
) -> None:
    account = dovecot.new_mailbox()
    dovecot.deliver(account, customer_mail(1))
    config = write_config(tmp_path, sqlite_url, dovecot, account)
    assert main(["--config", str(config), "migrate"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert "TLSv1." in out
    assert "1 messages" in out
    assert dovecot.count(account) == 1


def test_sigterm_during_backlog_finishes_message_and_exits_zero(
    tmp_path: Path, database_url: str, dovecot: DovecotServer
) -> None:
    account = dovecot.new_mailbox()
    total = 150
    for number in range(1, total + 1):
        dovecot.deliver(account, customer_mail(number))
    config = write_config(
        tmp_path, database_url, dovecot, account, extra="checkpoint_every = 1000\n"
    )
    daemon = subprocess.Popen(
        [sys.executable, "-m", "helpdesk_ingest", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert daemon.stdout is not None
    for line in daemon.stdout:
        if '"message_handled"' in line:
            daemon.send_signal(signal.SIGTERM)
            break
    try:
        remaining_out, err = daemon.communicate(timeout=30)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, err
    assert '"daemon_stopped"' in remaining_out
    stored = counts(database_url)["RawMessage"]
    left = dovecot.count(account)
    # Each message is stored and deleted, or untouched on the server: never both, never neither.
    assert stored + left == total
    assert 1 <= stored < total
