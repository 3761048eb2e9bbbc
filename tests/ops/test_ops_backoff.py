"""The pause before the next pass: after a failure it depends on what failed (a refused login
waits long); after a pass cut short with a backlog waiting there is next to none."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from helpdesk_ingest.backoff import BackoffPolicy, FailureTracker
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
from helpdesk_ingest.runtime import BACKLOG_PAUSE_S, Runtime
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.migrations import upgrade_to_head
from tests.ops.conftest import customer_mail, mailbox_toml

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


def test_the_failing_event_names_the_kind_and_the_reason() -> None:
    with capture_logs() as logs:
        tracker().failed("support", "Pop3AuthError: refused", Pop3AuthError("refused"))
        tracker().failed("support", "database unavailable")
    assert [(log["event"], log["kind"], log["reason"] is not None) for log in logs] == [
        ("mailbox_failing", "pop3_auth_failed", True),
        ("mailbox_failing", None, False),
    ]


def runtime_for(
    server: DevPop3Server, sqlite_url: str, tmp_path: Path, settings_toml: str = ""
) -> Runtime:
    config = tmp_path / "c.toml"
    config.write_text(
        f'database_url = "{sqlite_url}"\nbackoff_base_s = 2\nbackoff_max_s = 10\n'
        + settings_toml
        + mailbox_toml(server)
    )
    settings = load_settings(config)
    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    return Runtime(settings, engine, make_sessionmaker(engine), failures=tracker())


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
