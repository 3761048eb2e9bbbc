from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk_ingest.health import poll_age_problem

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def test_recent_poll_is_healthy() -> None:
    assert poll_age_problem("support", NOW - timedelta(seconds=30), NOW, 600) is None


def test_stale_poll_names_mailbox_age_and_limit() -> None:
    problem = poll_age_problem("support", NOW - timedelta(seconds=900), NOW, 600)
    assert problem == "mailbox support: last successful poll 900 s ago (limit 600 s)"


def test_never_polled() -> None:
    assert poll_age_problem("support", None, NOW, 600) == "mailbox support: no successful poll yet"
