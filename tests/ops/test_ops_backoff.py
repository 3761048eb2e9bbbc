"""The pause before the next pass: after a failure it depends on what failed (a refused login
waits long, a database outage no longer than the poll interval); after a pass cut short with a
backlog waiting there is next to none."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from helpdesk_ingest import backoff
from helpdesk_ingest.backoff import DATABASE_UNAVAILABLE, BackoffPolicy, FailureTracker
from helpdesk_ingest.config import load_settings
from helpdesk_ingest.devserver.faults import Faults
from helpdesk_ingest.devserver.server import DevPop3Server
from helpdesk_ingest.poller import PollResult
from helpdesk_ingest.pop3.errors import (
    Pop3AuthError,
    Pop3ConnectionError,
    Pop3Error,
    Pop3InUseError,
    Pop3LoginDelayError,
    Pop3PlaintextRefused,
    Pop3SysTempError,
    Pop3TlsError,
)
from helpdesk_ingest.runtime import BACKLOG_PAUSE_S, Runtime, backoff_policy
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.migrations import upgrade_to_head
from helpdesk_ingest.store.outage import DatabaseUnavailable
from tests.ops.conftest import customer_mail, mailbox_toml
from tests.support.logs import fresh_module_logger

MINUTE = 60.0
POLICY = BackoffPolicy(base_s=2.0, max_s=10.0)


def tracker(seed: int = 1) -> FailureTracker:
    return FailureTracker(policy=POLICY, rng=random.Random(seed))


def delays(exception: BaseException | None, failures: int, seed: int = 1) -> list[float]:
    failing = tracker(seed)
    return [failing.failed("support", "error", exception) for _ in range(failures)]


def test_unclassified_failures_follow_the_configured_policy() -> None:
    for exception in (None, Pop3ConnectionError("refused"), RuntimeError("database")):
        first, second, third, fourth = delays(exception, 4)
        assert 4.0 <= third <= 8.0
        assert 1.0 <= first <= 2.0
        assert 2.0 <= second <= 4.0
        assert 5.0 <= fourth <= 10.0


def test_refused_login_waits_long_regardless_of_the_short_policy() -> None:
    first, second = delays(Pop3AuthError("refused", "-ERR [AUTH] bad password"), 2)
    assert 7.5 * MINUTE <= first <= 15 * MINUTE
    assert 15 * MINUTE <= second <= 30 * MINUTE
    assert delays(Pop3TlsError("certificate expired"), 1)[0] >= 7.5 * MINUTE


def test_sys_temp_backs_off_exponentially_with_jitter() -> None:
    error = Pop3SysTempError("busy", "-ERR [SYS/TEMP] try later")
    first, second, third = delays(error, 3)
    assert 15 <= first <= 30
    assert 30 <= second <= 60
    assert 60 <= third <= 120
    # Jittered: another daemon (another random source) does not come back at the same moment.
    assert delays(error, 1, seed=2)[0] != first


@pytest.mark.parametrize(
    ("exception", "low", "high"),
    [
        (Pop3InUseError("locked", "-ERR [IN-USE] locked"), 30.0, 60.0),
        (Pop3LoginDelayError("wait", "-ERR [LOGIN-DELAY] wait"), 5 * MINUTE, 5.5 * MINUTE),
    ],
)
def test_in_use_and_login_delay_as_the_pop3_client_decides(
    exception: Pop3Error, low: float, high: float
) -> None:
    assert low <= delays(exception, 1)[0] <= high


def test_refused_plaintext_is_never_given_up_but_waits_the_longest_pause() -> None:
    assert delays(Pop3PlaintextRefused("no TLS"), 3) == [POLICY.max_s] * 3


@pytest.mark.parametrize(
    "exception",
    [
        DatabaseUnavailable("OperationalError"),
        OperationalError("SELECT 1", {}, ConnectionRefusedError("refused")),
    ],
)
def test_database_failures_stop_growing_at_the_database_ceiling(exception: Exception) -> None:
    policy = BackoffPolicy(base_s=2.0, max_s=100.0, database_max_s=5.0)
    failing = FailureTracker(policy=policy, rng=random.Random(1))
    pauses = [failing.failed("support", "database unavailable", exception) for _ in range(8)]
    assert 1.0 <= pauses[0] <= 2.0
    assert all(2.5 <= pause <= 5.0 for pause in pauses[2:])
    # The mail server's trouble under the same policy keeps growing past it.
    mail_failing = FailureTracker(policy=policy, rng=random.Random(1))
    refused = Pop3ConnectionError("refused")
    assert max(mail_failing.failed("support", "refused", refused) for _ in range(8)) > 50.0


def test_the_failing_event_names_the_kind_and_the_reason() -> None:
    with capture_logs() as logs:
        tracker().failed("support", "Pop3AuthError: refused", Pop3AuthError("refused"))
        tracker().failed("support", "database unavailable", DatabaseUnavailable("Operational"))
        tracker().failed("support", "Pop3ConnectionError: refused", Pop3ConnectionError("x"))
    assert [(log["event"], log["kind"], log["reason"] is not None) for log in logs] == [
        ("mailbox_failing", "pop3_auth_failed", True),
        ("mailbox_failing", DATABASE_UNAVAILABLE, True),
        ("mailbox_failing", None, False),
    ]


def runtime_on(
    database_url: str, server: DevPop3Server, tmp_path: Path, settings_toml: str
) -> Runtime:
    """A runtime whose database may be away: built as the daemon builds its own, less the
    start-up's schema check, which would stop the daemon instead."""
    config = tmp_path / "c.toml"
    config.write_text(f'database_url = "{database_url}"\n' + settings_toml + mailbox_toml(server))
    settings = load_settings(config)
    engine = make_engine(database_url)
    failures = FailureTracker(policy=backoff_policy(settings), rng=random.Random(1))
    return Runtime(settings, engine, make_sessionmaker(engine), failures=failures)


def runtime_for(
    server: DevPop3Server, sqlite_url: str, tmp_path: Path, settings_toml: str = ""
) -> Runtime:
    backoff = "backoff_base_s = 2\nbackoff_max_s = 10\n"
    runtime = runtime_on(sqlite_url, server, tmp_path, backoff + settings_toml)
    upgrade_to_head(runtime.engine)
    return runtime


def one_pass(
    server: DevPop3Server, sqlite_url: str, tmp_path: Path, settings_toml: str = ""
) -> tuple[PollResult, float | None]:
    """A real pass against ``server``, and the pause the daemon then takes before the next."""
    runtime = runtime_for(server, sqlite_url, tmp_path, settings_toml)
    try:
        result = runtime.poll(runtime.settings.mailbox("support"))
        return result, runtime.observe(result)
    finally:
        runtime.engine.dispose()


def test_a_refused_login_in_a_real_pass_moves_the_next_pass_far_out(
    sqlite_url: str, tmp_path: Path
) -> None:
    with DevPop3Server(password="not-the-configured-one") as server:
        result, delay = one_pass(server, sqlite_url, tmp_path)
    assert result.outcome == "failed"
    assert isinstance(result.exception, Pop3AuthError)
    assert delay is not None
    assert delay >= 7.5 * MINUTE


def test_in_use_in_a_real_pass_waits_as_decided_for_in_use(sqlite_url: str, tmp_path: Path) -> None:
    with DevPop3Server(faults=Faults(in_use=True)) as server:
        result, delay = one_pass(server, sqlite_url, tmp_path)
    assert isinstance(result.exception, Pop3InUseError)
    assert delay is not None
    assert 30.0 <= delay <= 60.0


def test_login_delay_in_a_real_pass_waits_as_long_as_the_server_announced(
    sqlite_url: str, tmp_path: Path
) -> None:
    faults = Faults(login_delay=True, announced_login_delay_s=1800)
    with DevPop3Server(faults=faults) as server:
        result, delay = one_pass(server, sqlite_url, tmp_path)
    assert isinstance(result.exception, Pop3LoginDelayError)
    assert result.exception.announced_delay_s == 1800
    assert delay is not None
    # The server's 30 minutes, not the daemon's own 5-minute minimum.
    assert 30 * MINUTE <= delay <= 33 * MINUTE


def test_a_successful_pass_carries_no_exception(sqlite_url: str, tmp_path: Path) -> None:
    with DevPop3Server() as server:
        result, delay = one_pass(server, sqlite_url, tmp_path)
    assert (result.outcome, result.exception) == ("ok", None)
    assert delay is None


def test_a_pass_cut_short_by_a_backlog_is_followed_at_once(sqlite_url: str, tmp_path: Path) -> None:
    with DevPop3Server([customer_mail(n) for n in range(1, 6)]) as server:
        result, delay = one_pass(server, sqlite_url, tmp_path, "max_messages_per_poll = 2\n")
        assert (result.outcome, result.counts.fetched, result.left_on_server) == ("ok", 2, 3)
        assert result.more_waiting
        assert delay == BACKLOG_PAUSE_S


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


OUTAGE_SETTINGS = "poll_interval_s = 4\nbackoff_base_s = 2\nbackoff_max_s = 600\n"


def test_a_database_outage_is_retried_within_the_poll_interval_until_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_module_logger(monkeypatch, backoff, "helpdesk_ingest.backoff")
    volume = tmp_path / "volume"
    database_url = f"sqlite:///{volume / 'helpdesk.db'}"
    with DevPop3Server([customer_mail(1)]) as server:
        runtime = runtime_on(database_url, server, tmp_path, OUTAGE_SETTINGS)
        # The database's volume goes away under the daemon: SQLite cannot open its file.
        volume.rmdir()
        mailbox = runtime.settings.mailbox("support")
        try:
            with capture_logs() as logs:
                outage = [runtime.poll(mailbox) for _ in range(6)]
                pauses = [runtime.observe(result) for result in outage]
                assert server.sessions_opened == 0
                assert len(server.messages()) == 1
                volume.mkdir()
                upgrade_to_head(runtime.engine)
                back = runtime.poll(mailbox)
                after_return = runtime.observe(back)
        finally:
            runtime.engine.dispose()
    assert all(isinstance(result.exception, OperationalError) for result in outage)
    assert all(pause is not None and 1.0 <= pause <= 4.0 for pause in pauses)
    failing = [log for log in logs if log["event"] == "mailbox_failing"]
    assert [log["kind"] for log in failing] == [DATABASE_UNAVAILABLE] * 6
    assert (back.outcome, back.counts.ingested, after_return) == ("ok", 1, None)
    assert [log["failures_before"] for log in logs if log["event"] == "mailbox_recovered"] == [6]


def test_an_unreachable_postgresql_is_retried_within_the_poll_interval(tmp_path: Path) -> None:
    database_url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test"
    with DevPop3Server([customer_mail(1)]) as server:
        runtime = runtime_on(database_url, server, tmp_path, OUTAGE_SETTINGS)
        mailbox = runtime.settings.mailbox("support")
        try:
            results = [runtime.poll(mailbox) for _ in range(6)]
            pauses = [runtime.observe(result) for result in results]
        finally:
            runtime.engine.dispose()
        assert server.sessions_opened == 0
    assert all(isinstance(result.exception, OperationalError) for result in results)
    assert all(pause is not None and 1.0 <= pause <= 4.0 for pause in pauses)
