"""What reading the command line and the settings loads: none of the parser, the ORM or alembic.

The parse workers start once the settings are read, and the daemon's own start overlaps theirs;
every module the settings pull in delays both (docs/operations.md, "Processes")."""

from __future__ import annotations

from tests.support.loaded import modules_loaded

# Packages the daemon loads later, or only its workers do.
_HEAVY = (
    "alembic",
    "sqlalchemy.orm",
    "psycopg",
    "helpdesk_ingest.parsing",
    "helpdesk_ingest.hygiene.classify",
    "helpdesk_ingest.store.models",
    "helpdesk_ingest.prepare",
    "helpdesk_ingest.oauth.tokens",
    "nh3",
    "flufl",
    "scramp",
)


def test_the_command_line_and_the_settings_load_nothing_heavy() -> None:
    assert modules_loaded("import helpdesk_ingest.cli", _HEAVY) == []


# What only preparing a message needs: the parser, the classifier and their libraries.
_PARSER = (
    "helpdesk_ingest.parsing",
    "helpdesk_ingest.prepare",
    "helpdesk_ingest.hygiene.classify",
    "nh3",
    "chardet",
    "flufl",
    "ahocorasick",
    "mailparser_reply",
)

_ONE_PASS = """
import io, tempfile
from pathlib import Path
import structlog
from helpdesk_ingest.config import load_settings
from helpdesk_ingest.devserver.server import DevPop3Server
from helpdesk_ingest.runtime import build_runtime

structlog.configure(logger_factory=structlog.PrintLoggerFactory(io.StringIO()))
directory = Path(tempfile.mkdtemp())
mail = (
    b"From: Customer <customer@example.org>\\r\\nTo: support@example.com\\r\\n"
    b"Subject: Printer\\r\\nMessage-ID: <loaded-1@example.org>\\r\\n\\r\\nHelp, please.\\r\\n"
)
with DevPop3Server([mail]) as server:
    config = directory / "c.toml"
    config.write_text(
        f'database_url = "sqlite:///{directory}/helpdesk.db"\\nmigrate_on_start = true\\n'
        f'parse_workers = 1\\n[[mailboxes]]\\nname = "support"\\nhost = "{server.host}"\\n'
        f'port = {server.port}\\nusername = "support"\\npassword = "secret"\\n'
        f'ca_file = "{server.ca_pem_path}"\\n'
    )
    runtime = build_runtime(load_settings(config))
    try:
        result = runtime.poll(runtime.settings.mailbox("support"))
    finally:
        runtime.close()
    assert (result.outcome, result.counts.ingested) == ("ok", 1), result
"""


def test_the_daemon_stores_what_its_workers_prepared_without_loading_the_parser() -> None:
    # Its process holds the database and the mailbox credentials; the parser, the part that
    # reads hostile input, runs in the workers alone, and its code costs the daemon nothing.
    assert modules_loaded(_ONE_PASS, _PARSER) == []
