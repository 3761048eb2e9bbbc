from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from helpdesk_ingest.logs import SecretRedactor, configure_logging, redactor


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    output = io.StringIO()
    configure_logging("json", "info", stream=output)
    yield output
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_our_events_are_json_lines_with_context(stream: io.StringIO) -> None:
    with structlog.contextvars.bound_contextvars(mailbox="support"):
        structlog.get_logger("helpdesk_ingest.test").info("message_handled", size=123)
    (line,) = lines(stream)
    assert line["event"] == "message_handled"
    assert line["mailbox"] == "support"
    assert line["size"] == 123
    assert line["level"] == "info"
    assert "timestamp" in line


def test_stdlib_loggers_render_the_same_way(stream: io.StringIO) -> None:
    logging.getLogger("alembic.runtime.migration").warning("Running upgrade %s", "abc")
    (line,) = lines(stream)
    assert line["event"] == "Running upgrade abc"
    assert line["logger"] == "alembic.runtime.migration"
    assert line["level"] == "warning"


def test_sql_statements_are_not_logged_at_info(stream: io.StringIO) -> None:
    logging.getLogger("sqlalchemy.engine.Engine").info("SELECT 1")
    assert stream.getvalue() == ""


def test_registered_secrets_are_masked(stream: io.StringIO) -> None:
    redactor.register(["hunter2-secret"])
    structlog.get_logger("x").error("mailbox_error", error="-ERR bad password hunter2-secret")
    logging.getLogger("lib").error("echo hunter2-secret")
    output = stream.getvalue()
    assert "hunter2-secret" not in output
    assert output.count("***") == 2


def test_short_values_are_not_registered() -> None:
    local = SecretRedactor()
    local.register(["ab", ""])
    assert local.clean_text("a cab") == "a cab"


def test_console_format_on_request() -> None:
    output = io.StringIO()
    configure_logging("console", "info", stream=output)
    try:
        structlog.get_logger("x").info("poll_finished", fetched=2)
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    text = output.getvalue()
    assert "poll_finished" in text
    assert "fetched" in text
    assert not text.startswith("{")


def test_the_console_does_not_write_terminal_controls() -> None:
    output = io.StringIO()
    configure_logging("console", "info", stream=output)
    try:
        structlog.get_logger("x").error(
            "mailbox_error", error="-ERR \x1b]0;owned\x07 \x1b[2J\u202eevil", name="\x1b[8m"
        )
        logging.getLogger("lib").warning("echo \x1b[31mred")
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    written = output.getvalue()
    # The renderer's own colours are the only escape sequences: none of the text's.
    assert "owned\x07" not in written
    assert "\x1b[2J" not in written
    assert "\x1b[31mred" not in written
    # Without a space, the renderer writes a value as it is.
    assert "\x1b[8m" not in written
    assert "\\u001b[8m" in written
    assert "\u202e" not in written
    # Written as escapes (which the renderer quotes, its backslashes doubled, in a value with
    # spaces).
    assert "u001b]0;owned" in written
    assert "u202eevil" in written
    assert "echo \\u001b[31mred" in written
