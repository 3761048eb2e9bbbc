from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from helpdesk_ingest.check import check_database, check_spool
from helpdesk_ingest.cli import main
from helpdesk_ingest.config import load_settings

CUSTOMER_MAIL = (
    b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.org>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: =?utf-8?q?Drucker_druckt_nicht?=\r\n"
    b"Message-ID: <abc@example.org>\r\n"
    b"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
    b"\r\n"
    b"Hallo, der Drucker druckt nicht.\r\n"
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    import os

    for key in list(os.environ):
        if key.startswith("HELPDESK_INGEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def config_file(tmp_path: Path, database: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'database_url = "sqlite:///{database}"\n'
        'log_format = "json"\n'
        f"{extra}"
        "[[mailboxes]]\n"
        'name = "support"\n'
        'host = "127.0.0.1"\n'
        "port = 1\n"
        'username = "support"\n'
        'password = "not-used-here"\n'
        "connect_timeout_s = 2\n",
        encoding="utf-8",
    )
    return path


def test_parse_prints_one_json_object_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "one.eml"
    first.write_bytes(CUSTOMER_MAIL)
    second = tmp_path / "garbage.eml"
    second.write_bytes(b"")
    assert main(["parse", str(first), str(second)]) == 0
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert reports[0]["file"] == str(first)
    assert reports[0]["subject"] == "Drucker druckt nicht"
    assert reports[0]["from"] == {"name": "Jürgen Müller", "email": "jm@example.org"}
    assert reports[0]["message_id"] == "<abc@example.org>"
    assert "quarantine" in reports[1]


def test_parse_writes_no_character_that_acts_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The parser keeps a text-direction control in a Subject, and every control in a body.
    subject = "invoice\u202efdp.exe"
    body = "see \x9b2J \x1b[2J"
    message = tmp_path / "controls.eml"
    message.write_bytes(
        b"From: a@example.org\r\nSubject: " + subject.encode() + b"\r\n\r\n" + body.encode()
    )

    assert main(["parse", str(message)]) == 0

    out = capsys.readouterr().out
    assert not {"\u202e", "\x9b", "\x1b"} & set(out)
    # Still JSON, and still the sender's text once read.
    report = json.loads(out)
    assert report["subject"] == subject
    assert report["body_text"] == body


def test_parse_missing_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", str(tmp_path / "absent.eml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_poll_refuses_an_unmigrated_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, tmp_path / "fresh.db")
    assert main(["--config", str(config), "poll"]) == 2
    assert "helpdesk-ingest migrate" in capsys.readouterr().err


def test_migrate_then_health_reports_missing_poll(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, tmp_path / "helpdesk.db")
    assert main(["--config", str(config), "migrate"]) == 0
    assert main(["--config", str(config), "health"]) == 1
    assert "support: no successful poll yet" in capsys.readouterr().out


def test_poll_against_unreachable_server_fails_and_is_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, tmp_path / "helpdesk.db", "migrate_on_start = true\n")
    assert main(["--config", str(config), "poll"]) == 1
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finished = [event for event in events if event["event"] == "poll_finished"]
    assert finished[0]["outcome"] == "failed"
    assert "Pop3ConnectionError" in finished[0]["error"]
    assert all("not-used-here" not in json.dumps(event) for event in events)


def test_check_reports_unreachable_mailbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, tmp_path / "helpdesk.db")
    assert main(["--config", str(config), "migrate"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "check"]) == 1
    out = capsys.readouterr().out
    assert "ok    database" in out
    assert "ok    spool " in out
    assert "MiB free" in out
    assert "FAIL  mailbox support (127.0.0.1:1 tls)" in out


def test_check_reports_a_database_with_several_revisions(tmp_path: Path) -> None:
    database = tmp_path / "helpdesk.db"
    config = config_file(tmp_path, database)
    assert main(["--config", str(config), "migrate"]) == 0
    with sqlite3.connect(database) as connection:
        connection.execute("INSERT INTO alembic_version (version_num) VALUES ('elsewhere')")

    line = check_database(load_settings(config))

    assert not line.ok
    assert "several revisions: " in line.text
    assert "elsewhere" in line.text


def test_check_reports_a_spool_directory_that_is_gone(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    config = config_file(tmp_path, tmp_path / "helpdesk.db")
    config.write_text(f'spool_dir = "{spool_dir}"\n' + config.read_text())
    settings = load_settings(config)
    assert check_spool(settings).ok
    # Removed after start-up found it: `check` says so, as the daemon's next pass would.
    spool_dir.rmdir()
    line = check_spool(settings)
    assert not line.ok
    assert "cannot make a spool directory" in line.text
    assert str(spool_dir) in line.text


def test_demo_makes_tickets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--log-format", "json", "demo", "--directory", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "demo" / "helpdesk.db").is_file()
    assert "0 left on the server" in out
    assert "quarantined" in out
    assert "#" in out
