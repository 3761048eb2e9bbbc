from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk_ingest.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "helpdesk-ingest.example.toml"

MINIMAL = """
database_url = "sqlite:///helpdesk.db"
poll_interval_s = 60
[[mailboxes]]
name = "support"
host = "mail.example.com"
port = 995
security = "tls"
username = "support@example.com"
password = "correct horse battery"
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("HELPDESK_INGEST_"):
            monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_defaults_to_sqlite_file() -> None:
    settings = load_settings()
    assert settings.database_url_value == "sqlite:///helpdesk.db"
    assert settings.mailboxes == []
    assert settings.checkpoint_every == 500


def test_documented_keys_load_exactly(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL))
    mailbox = settings.mailbox("support")
    assert (mailbox.host, mailbox.effective_port, mailbox.security) == (
        "mail.example.com",
        995,
        "tls",
    )
    assert mailbox.password_value() == "correct horse battery"
    assert "correct horse battery" not in repr(settings)


def test_example_config_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "pop3"
    secret.write_text("from-a-file\n", encoding="utf-8")
    monkeypatch.setenv("HELPDESK_INGEST_MAILBOXES__0__PASSWORD_FILE", str(secret))
    settings = load_settings(EXAMPLE)
    assert settings.mailboxes[0].password_value() == "from-a-file"
    assert settings.ticket_tag_regex.search("Re: [#1042] printer")["number"] == "1042"  # type: ignore[index]


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_INGEST_POLL_INTERVAL_S", "15")
    monkeypatch.setenv("HELPDESK_INGEST_MAILBOXES__0__PORT", "1995")
    monkeypatch.setenv("HELPDESK_INGEST_CONFIG", str(write(tmp_path, MINIMAL)))
    settings = load_settings()
    assert settings.poll_interval_s == 15
    assert settings.mailboxes[0].effective_port == 1995
    assert settings.mailboxes[0].host == "mail.example.com"


def test_starttls_defaults_to_port_110(tmp_path: Path) -> None:
    text = MINIMAL.replace("port = 995\n", "").replace('"tls"', '"starttls"')
    assert load_settings(write(tmp_path, text)).mailboxes[0].effective_port == 110


def test_secret_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password = tmp_path / "pop3"
    password.write_text("s3cret-from-file\n", encoding="utf-8")
    url = tmp_path / "db_url"
    url.write_text("postgresql+psycopg://helpdesk:pw@db/helpdesk\n", encoding="utf-8")
    text = MINIMAL.replace('password = "correct horse battery"', f'password_file = "{password}"')
    monkeypatch.setenv("HELPDESK_INGEST_DATABASE_URL_FILE", str(url))
    settings = load_settings(write(tmp_path, text))
    assert settings.mailboxes[0].password_value() == "s3cret-from-file"
    assert settings.database_url_value == "postgresql+psycopg://helpdesk:pw@db/helpdesk"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("port = 995", "port = 99999"), "mailboxes.0.port: Input should be less than or equal"),
        (('security = "tls"', 'security = "plain"'), "mailboxes.0.security: Input should be"),
        (('host = "mail.example.com"', 'host = ""'), "mailboxes.0.host:"),
        (('password = "correct horse battery"', ""), "mailboxes.0: set password or password_file"),
        (("poll_interval_s = 60", "poll_interval_s = -1"), "poll_interval_s: Input should be"),
        (("poll_interval_s = 60", 'pol_interval = "x"'), "pol_interval: Extra inputs"),
        (('name = "support"', 'name = "../etc"'), "mailboxes.0: name must be"),
        (('"sqlite:///helpdesk.db"', '"mysql://x/y"'), "database_url: mysql is not supported"),
        (('"sqlite:///helpdesk.db"', '"not a url"'), "database_url is not a database URL"),
        (
            ('password = "correct horse battery"', 'password_file = "/nonexistent/pop3"'),
            "cannot read password_file /nonexistent/pop3",
        ),
        (
            ("poll_interval_s = 60", 'spool_dir = "/nonexistent/spool"'),
            "spool_dir: Path does not point to a directory",
        ),
        (("poll_interval_s = 60", "spool_over_bytes = 1000"), "spool_over_bytes: Input should be"),
        (
            ("poll_interval_s = 60", 'fallback_charset = "windows-9999"'),
            "fallback_charset: 'windows-9999' is not a charset mail is written in",
        ),
        (
            ("poll_interval_s = 60", 'fallback_charset = "rot13"'),
            "fallback_charset: 'rot13' is not a charset mail is written in",
        ),
        (
            ("poll_interval_s = 60", 'fallback_charset = "unicode_escape"'),
            "fallback_charset: 'unicode_escape' is not a charset mail is written in",
        ),
        (
            ("poll_interval_s = 60", 'fallback_charset = "utf-16"'),
            "fallback_charset: 'utf-16' does not write ASCII as ASCII",
        ),
        (("poll_interval_s = 60", "max_parse_cpu_s = 0"), "max_parse_cpu_s: Input should be"),
        (
            ("poll_interval_s = 60", "max_parse_memory_mb = 100"),
            "max_parse_memory_mb: Input should be",
        ),
    ],
)
def test_invalid_config_names_setting(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in MINIMAL
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, MINIMAL.replace(old, new)))
    message = str(caught.value)
    assert expected in message
    assert "correct horse battery" not in message
    assert "\n" not in message


def test_fallback_charset_is_read_as_the_codec_of_its_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(write(tmp_path, MINIMAL)).fallback_charset == "cp1252"
    config = write(tmp_path, 'fallback_charset = "Windows-1250"\n' + MINIMAL)
    assert load_settings(config).fallback_charset == "cp1250"
    monkeypatch.setenv("HELPDESK_INGEST_FALLBACK_CHARSET", "koi8-r")
    assert load_settings(config).fallback_charset == "koi8-r"


def test_max_parse_cpu_s_is_the_parse_limits_cpu_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(write(tmp_path, MINIMAL)).parse_limits.max_cpu_s == 120.0
    monkeypatch.setenv("HELPDESK_INGEST_MAX_PARSE_CPU_S", "7.5")
    assert load_settings(write(tmp_path, MINIMAL)).parse_limits.max_cpu_s == 7.5
    assert load_settings(write(tmp_path, MINIMAL)).parse_limits.max_memory_mb == 1024
    monkeypatch.setenv("HELPDESK_INGEST_MAX_PARSE_MEMORY_MB", "512")
    assert load_settings(write(tmp_path, MINIMAL)).parse_limits.max_memory_mb == 512


def test_ticket_tag_pattern_needs_number_group(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ticket_tag_pattern needs a group named 'number'"):
        load_settings(write(tmp_path, "ticket_tag_pattern = '\\[#\\d+\\]'\n" + MINIMAL))
    with pytest.raises(ConfigError, match="not a valid regex"):
        load_settings(write(tmp_path, "ticket_tag_pattern = '[#('\n" + MINIMAL))


def test_duplicate_mailbox_names_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="repeated: support"):
        load_settings(write(tmp_path, MINIMAL + MINIMAL.split("poll_interval_s = 60")[1]))


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "database_url = \n"))


def test_cli_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    config = write(tmp_path, MINIMAL.replace("port = 995", 'port = "pop3s"'))
    completed = subprocess.run(
        [sys.executable, "-m", "helpdesk_ingest.cli", "--config", str(config), "poll"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert "mailboxes.0.port" in lines[0]
    assert "Traceback" not in completed.stderr
