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
)


def test_the_command_line_and_the_settings_load_nothing_heavy() -> None:
    assert modules_loaded("import helpdesk_ingest.cli", _HEAVY) == []
