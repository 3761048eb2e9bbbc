"""Backoff of failing mailboxes, and the HTTP listener's /healthz and /metrics."""

from __future__ import annotations

import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from helpdesk_ingest.backoff import BackoffPolicy, FailureTracker
from helpdesk_ingest.config import Settings, load_settings
from helpdesk_ingest.devserver.server import DevPop3Server
from helpdesk_ingest.http_health import HealthServer, parse_listen
from helpdesk_ingest.poller import PollResult
from helpdesk_ingest.runtime import Runtime, build_runtime
from helpdesk_ingest.scheduler import run_daemon
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from tests.ops.conftest import customer_mail


def test_backoff_doubles_up_to_the_ceiling_with_jitter() -> None:
    policy = BackoffPolicy(base_s=10, max_s=60)
    rng = random.Random(7)
    for failures, ceiling in [(1, 10), (2, 20), (3, 40), (4, 60), (30, 60), (500, 60)]:
        delays = {policy.delay_s(failures, rng) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1


def test_tracker_logs_every_failure_with_its_count_and_resets_on_success() -> None:
    tracker = FailureTracker(BackoffPolicy(base_s=1, max_s=4))
    with capture_logs() as logs:
        tracker.failed("support", "Pop3ConnectionError: refused")
        tracker.failed("support", "Pop3ConnectionError: refused")
        assert tracker.consecutive_failures("support") == 2
        tracker.succeeded("support")
    assert tracker.consecutive_failures("support") == 0
    failing = [entry for entry in logs if entry["event"] == "mailbox_failing"]
    assert [(e["log_level"], e["consecutive_failures"]) for e in failing] == [
        ("error", 1),
        ("error", 2),
    ]
    assert logs[-1]["event"] == "mailbox_recovered"
    assert logs[-1]["failures_before"] == 2


def test_scheduler_postpones_a_failing_mailbox_but_keeps_polling_it() -> None:
    stop = threading.Event()
    runs = {"bad": 0, "good": 0}

    def job(name: str) -> object:
        def poll(_stop: threading.Event) -> PollResult:
            runs[name] += 1
            return PollResult(name, "failed" if name == "bad" else "ok", error="boom")

        return poll

    def after_poll(result: PollResult) -> float | None:
        return 0.5 if result.outcome == "failed" else None

    timer = threading.Timer(1.2, stop.set)
    timer.start()
    run_daemon(
        {"bad": job("bad"), "good": job("good")},  # type: ignore[dict-item]
        poll_interval_s=0.05,
        stop=stop,
        install_signal_handlers=False,
        after_poll=after_poll,
    )
    timer.cancel()
    # Every 0.5 s instead of every 0.05 s, and never given up.
    assert 2 <= runs["bad"] <= 4
    assert runs["good"] >= 10


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:9464") == ("::1", 9464)
    with pytest.raises(Exception, match="not host:port"):
        parse_listen("9464")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback test
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str, devserver: DevPop3Server) -> Settings:
    config = tmp_path / "c.toml"
    config.write_text(
        f'database_url = "{sqlite_url}"\nmigrate_on_start = true\nhealthy_poll_age_s = 60\n'
        "unhealthy_after_failures = 2\n"
        "[[mailboxes]]\n"
        'name = "support"\n'
        f'host = "{devserver.host}"\nport = {devserver.port}\n'
        'username = "support"\npassword = "secret"\n'
        f'ca_file = "{devserver.ca_pem_path}"\n'
    )
    return load_settings(config)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def listener(runtime: Runtime) -> Iterator[str]:
    server = HealthServer(runtime, "127.0.0.1:0")
    server.start()
    host, port = server.address
    yield f"http://{host}:{port}"
    server.stop()


def test_healthz_follows_polls_and_failures(
    runtime: Runtime, listener: str, devserver: DevPop3Server
) -> None:
    # Just started: no poll yet, but within the grace period.
    assert get(f"{listener}/healthz") == (200, "ok\n")
    devserver.deliver(customer_mail(1))
    runtime.observe(runtime.poll(runtime.settings.mailbox("support")))
    assert get(f"{listener}/healthz") == (200, "ok\n")
    for _ in range(2):
        runtime.observe(PollResult("support", "failed", error="Pop3ConnectionError: refused"))
    status, body = get(f"{listener}/healthz")
    assert status == 503
    assert "mailbox support: 2 failed passes in a row" in body
    assert get(f"{listener}/nothing")[0] == 404


def test_healthz_fails_without_a_recent_successful_poll(runtime: Runtime) -> None:
    from helpdesk_ingest.http_health import HealthCheck

    long_ago = time.monotonic() - 3600
    assert HealthCheck(runtime, started=long_ago).problems() == [
        "mailbox support: no successful poll yet"
    ]


def test_healthz_fails_when_the_database_is_unreachable(settings: Settings) -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    runtime = Runtime(settings, engine, make_sessionmaker(engine))
    server = HealthServer(runtime, "127.0.0.1:0")
    server.start()
    try:
        host, port = server.address
        status, body = get(f"http://{host}:{port}/healthz")
    finally:
        server.stop()
        engine.dispose()
    assert status == 503
    assert body.startswith("database unreachable: OperationalError")


def test_metrics_count_messages_outcomes_and_auth_failures(
    runtime: Runtime, listener: str, devserver: DevPop3Server
) -> None:
    devserver.deliver(customer_mail(1))
    devserver.deliver(customer_mail(2))
    devserver.deliver(b"\x00\x01 not a mail at all")
    mailbox = runtime.settings.mailbox("support")
    runtime.observe(runtime.poll(mailbox))
    wrong = mailbox.model_copy(update={"password": mailbox.password.__class__("wrong")})
    runtime.observe(runtime.poll(wrong))
    status, text = get(f"{listener}/metrics")
    assert status == 200
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    label = '{mailbox="support"}'
    assert samples[f"helpdesk_ingest_messages_fetched_total{label}"] == 3
    assert samples[f"helpdesk_ingest_messages_ingested_total{label}"] == 2
    assert samples[f"helpdesk_ingest_messages_quarantined_total{label}"] == 1
    assert samples[f"helpdesk_ingest_messages_deleted_total{label}"] == 3
    assert samples[f"helpdesk_ingest_fetched_bytes_total{label}"] > 0
    assert samples[f"helpdesk_ingest_messages_left_on_server{label}"] == 0
    assert samples[f"helpdesk_ingest_auth_failures_total{label}"] == 1
    assert samples[f"helpdesk_ingest_consecutive_failures{label}"] == 1
    assert samples[f"helpdesk_ingest_poll_duration_seconds_count{label}"] == 2
    assert samples[f"helpdesk_ingest_last_success_timestamp_seconds{label}"] > time.time() - 60
    assert samples['helpdesk_ingest_polls_total{mailbox="support",outcome="failed"}'] == 1
    pending = [key for key in samples if key.startswith("helpdesk_ingest_quarantine_pending{")]
    assert len(pending) == 1
    assert 'mailbox="support"' in pending[0]
    assert samples[pending[0]] == 1
