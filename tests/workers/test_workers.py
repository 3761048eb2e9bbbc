"""The worker pool: order kept, a dying worker costs no message, no worker outlives the daemon."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from helpdesk_ingest import prepare as prepare_module
from helpdesk_ingest import workers
from helpdesk_ingest.config import MailboxSettings, Settings
from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.message import ParsedMessage, ParseFailure
from helpdesk_ingest.parsing import ParseLimits
from helpdesk_ingest.prepare import prepare
from helpdesk_ingest.prepared import PrepareSettings, sha256_hex
from helpdesk_ingest.runtime import Runtime
from helpdesk_ingest.spool import SpooledBytes, SpoolError
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.workers import (
    BATCHES_PER_WORKER,
    InlinePreparer,
    WorkerPool,
    batches,
    make_preparer,
)
from tests.support.logs import fresh_module_logger
from tests.workers.tasks import (
    BLOAT,
    CRASH,
    SPIN,
    daemon_libraries_loaded,
    frozen_objects,
    prepare_or_bloat,
    prepare_or_die,
    prepare_or_spin,
)

SETTINGS = PrepareSettings(ParseLimits(), HygieneSettings().own_mail())
ROOT = Path(__file__).resolve().parents[2]


def message(number: int) -> bytes:
    return (
        f"From: c{number}@example.org\r\nSubject: case {number}\r\n"
        f"Message-ID: <w{number}@example.org>\r\n\r\nbody {number}\r\n"
    ).encode()


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(SETTINGS, 2, task=prepare_or_die)
    yield workers
    workers.close()


def subjects(prepared: list[object]) -> list[str]:
    found = []
    for item in prepared:
        parsed = getattr(item, "parsed", None)
        found.append(parsed.subject if isinstance(parsed, ParsedMessage) else "FAILED")
    return found


def test_results_come_back_in_the_order_given(pool: WorkerPool) -> None:
    raws = [message(number) for number in range(40)]
    prepared = pool.submit(raws).results()
    assert subjects(list(prepared)) == [f"case {number}" for number in range(40)]
    assert [item.sha256 for item in prepared] == [sha256_hex(raw) for raw in raws]
    # The same value as preparing in the daemon's own thread.
    assert prepared[3] == prepare(raws[3], SETTINGS)


def test_a_message_that_kills_its_worker_is_quarantined_and_the_rest_prepared(
    pool: WorkerPool,
) -> None:
    raws = [message(1), CRASH, message(3), message(4)]
    prepared = pool.submit(raws).results()
    assert subjects(list(prepared)) == ["case 1", "FAILED", "case 3", "case 4"]
    failure = prepared[1].parsed
    assert isinstance(failure, ParseFailure)
    assert failure.reason == "parser-crash"
    assert prepared[1].sha256 == sha256_hex(CRASH)
    # The pool was rebuilt and goes on working.
    assert subjects(list(pool.submit([message(5)]).results())) == ["case 5"]


def test_only_the_message_that_kills_its_worker_is_reported_dying(
    pool: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_module_logger(monkeypatch, workers, "helpdesk_ingest.workers")
    raws = [message(1), CRASH, message(3)]
    with capture_logs() as logs:
        pool.submit(raws).results()
    reported = [
        (entry["event"], entry.get("size"), entry.get("attempt"))
        for entry in logs
        if entry["event"] in {"workers_broken", "worker_died"}
    ]
    # The group's pool broke once; then each message was tried alone in a working pool, and
    # only the culprit died there, twice.
    assert reported == [
        ("workers_broken", None, None),
        ("worker_died", len(CRASH), 1),
        ("worker_died", len(CRASH), 2),
    ]


def test_a_message_past_its_cpu_limit_is_quarantined_and_the_rest_prepared() -> None:
    # Well over what preparing any of the other messages takes, well under the spinning one.
    settings = dataclasses.replace(SETTINGS, limits=ParseLimits(max_cpu_s=1.0))
    pool = WorkerPool(settings, 2, task=prepare_or_spin)
    try:
        raws = [message(1), SPIN, message(3), message(4)]
        prepared = pool.submit(raws).results()

        assert subjects(list(prepared)) == ["case 1", "FAILED", "case 3", "case 4"]
        failure = prepared[1].parsed
        assert isinstance(failure, ParseFailure)
        assert failure.reason == "over-cpu-limit"
        assert "more than 1 s of CPU (max_parse_cpu_s)" in failure.detail
        assert prepared[1].sha256 == sha256_hex(SPIN)
        # The worker was not lost: the next message is prepared, and so is one tried alone.
        assert subjects(list(pool.submit([message(5)]).results())) == ["case 5"]
        alone = pool.prepare_alone(SPIN).parsed
        assert isinstance(alone, ParseFailure)
        assert alone.reason == "over-cpu-limit"
    finally:
        pool.close()


def test_a_message_past_the_workers_memory_is_quarantined_and_the_rest_prepared() -> None:
    settings = dataclasses.replace(SETTINGS, limits=ParseLimits(max_memory_mb=400))
    pool = WorkerPool(settings, 1, task=prepare_or_bloat)
    try:
        prepared = pool.submit([message(1), BLOAT, message(3)]).results()

        assert subjects(list(prepared)) == ["case 1", "FAILED", "case 3"]
        failure = prepared[1].parsed
        assert isinstance(failure, ParseFailure)
        assert failure.reason == "over-memory-limit"
        assert "400 MiB, max_parse_memory_mb" in failure.detail
        # The same worker goes on: no death, no rebuilt pool.
        assert subjects(list(pool.submit([message(4)]).results())) == ["case 4"]
    finally:
        pool.close()


def test_preparing_inline_a_message_out_of_memory_is_given_up_not_the_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = prepare_module.prepare

    def out_of_memory_on_one(raw: bytes, settings: PrepareSettings) -> object:
        if raw == BLOAT:
            raise MemoryError
        return real(raw, settings)

    monkeypatch.setattr(prepare_module, "prepare", out_of_memory_on_one)

    prepared = InlinePreparer(SETTINGS).submit([message(1), BLOAT, message(3)]).results()

    assert subjects(list(prepared)) == ["case 1", "FAILED", "case 3"]
    failure = prepared[1].parsed
    assert isinstance(failure, ParseFailure)
    assert failure.reason == "over-memory-limit"


def test_zero_workers_prepares_inline() -> None:
    preparer = make_preparer(SETTINGS, 0)
    assert isinstance(preparer, InlinePreparer)
    assert subjects(list(preparer.submit([message(7)]).results())) == ["case 7"]


def test_workers_exit_when_the_daemon_is_killed() -> None:
    daemon = subprocess.Popen(
        [sys.executable, "-m", "tests.workers.orphan"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        pids = _reported_pids(daemon)
        assert all(_alive(pid) for pid in pids)
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids), "a worker outlived its daemon"


def _reported_pids(daemon: subprocess.Popen[bytes]) -> list[int]:
    assert daemon.stdout is not None
    with daemon.stdout:
        for line in daemon.stdout:
            if line.startswith(b"PIDS"):
                return [int(pid) for pid in line.split()[1:]]
    raise AssertionError("the pool reported no workers")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its (new) parent to collect it.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(("count", "workers"), [(0, 2), (1, 2), (5, 2), (32, 2), (33, 4), (3, 8)])
def test_batches_cover_every_position_once_in_order(count: int, workers: int) -> None:
    cut = batches(count, workers)
    assert [i for batch in cut for i in batch] == list(range(count))
    assert all(len(batch) > 0 for batch in cut)
    assert len(cut) <= workers * BATCHES_PER_WORKER


def test_a_group_goes_to_the_workers_in_a_few_batches(
    pool: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = pool._running()
    handed: list[int] = []
    submit = executor.submit

    def counting_submit(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        handed.append(len(args[1]))
        return submit(fn, *args, **kwargs)

    monkeypatch.setattr(executor, "submit", counting_submit)
    raws = [message(number) for number in range(32)]
    assert subjects(list(pool.submit(raws).results())) == [f"case {n}" for n in range(32)]
    assert handed == [8, 8, 8, 8]


def test_start_spawns_the_workers_before_the_first_group(pool: WorkerPool) -> None:
    before = {child.pid for child in multiprocessing.active_children()}
    pool.start()
    spawned = {child.pid for child in multiprocessing.active_children()} - before
    assert len(spawned) == 2
    pool.start()
    assert {child.pid for child in multiprocessing.active_children()} - before == spawned
    assert subjects(list(pool.submit([message(8)]).results())) == ["case 8"]


def test_a_worker_freezes_what_it_loaded_at_start() -> None:
    # Frozen, the parser's modules are walked neither by the worker's collections nor at its
    # exit (helpdesk_ingest.collector).
    frozen_pool = WorkerPool(SETTINGS, 1, task=frozen_objects)
    try:
        (prepared,) = frozen_pool.submit([message(1)]).results()
    finally:
        frozen_pool.close()
    assert int(prepared.sha256) > 10_000


def test_a_worker_prepares_with_the_daemons_settings_loading_none_of_the_daemons_libraries() -> (
    None
):
    # Each costs every worker CPU at each start: unpickling a settings model would load pydantic
    # for the two values the classifier reads (hygiene/own_mail.py), and the functions a worker
    # is handed would load structlog if they lived beside the pool (worker_process.py).
    settings = Settings(
        hygiene=HygieneSettings(own_addresses=["support@example.com"]),
        mailboxes=[
            MailboxSettings(name="support", host="127.0.0.1", username="u", password=SecretStr("p"))
        ],
    )
    daemons_pool = workers.preparer_for(settings)
    assert isinstance(daemons_pool, WorkerPool)
    own_mail = message(1).replace(b"c1@example.org", b"Support@Example.com")
    pool = WorkerPool(daemons_pool.settings, 1, task=daemon_libraries_loaded)
    try:
        (prepared,) = pool.submit([own_mail]).results()
    finally:
        pool.close()
    assert prepared.sha256 == ""
    # The settings arrived whole: the helpdesk's own address is still recognised.
    assert prepared.classification is not None
    assert prepared.classification.kind == "loop"


def test_the_configured_fallback_charset_reaches_the_workers_and_the_pass() -> None:
    settings = Settings(
        fallback_charset="windows-1251",
        mailboxes=[
            MailboxSettings(name="support", host="127.0.0.1", username="u", password=SecretStr("p"))
        ],
    )
    engine = make_engine("sqlite://")
    try:
        options = Runtime(settings, engine, make_sessionmaker(engine)).poll_options(
            settings.mailbox("support")
        )
    finally:
        engine.dispose()
    # The settings a pass prepares with when it has no pool (and a quarantine retry).
    assert options.prepare_settings().fallback_charset == "cp1251"
    pool = workers.preparer_for(settings)
    raw = "From: a@example.org\r\nSubject: Счёт\r\n\r\nbody\r\n".encode("cp1251")
    try:
        (prepared,) = pool.submit([raw]).results()
    finally:
        pool.close()
    assert isinstance(prepared.parsed, ParsedMessage)
    assert prepared.parsed.subject == "Счёт"


def test_a_spooled_message_a_worker_cannot_read_is_the_spools_failure(
    pool: WorkerPool, tmp_path: Path
) -> None:
    # Not a parse failure to quarantine: the pass fails as when the spool cannot be written,
    # and the message stays on the server.
    missing = SpooledBytes(tmp_path / "gone.eml", 2 << 20)
    with pytest.raises(SpoolError, match=r"gone\.eml"):
        pool.submit([missing]).results()
