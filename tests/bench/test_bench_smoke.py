"""The benchmark still runs end to end; at this size its figures are not checked."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from tests.bench.cases import (
    DAEMON_POSTGRESQL,
    DAEMON_SQLITE,
    NETWORK_FLOOR,
    PARSE_FLOOR,
    READ_FLOOR,
)
from tests.bench.report import render, write_json
from tests.bench.run import BenchOptions, run_benchmark
from tests.support.dovecot import DovecotServer

MESSAGES = 20
CASES = (NETWORK_FLOOR, PARSE_FLOOR, READ_FLOOR, DAEMON_SQLITE, DAEMON_POSTGRESQL)


def test_small_benchmark_drains_every_case_and_prints_every_row(
    dovecot: DovecotServer, postgres_server: Engine, tmp_path: Path
) -> None:
    options = BenchOptions(messages=MESSAGES, repeat=1)

    results = run_benchmark(dovecot, postgres_server, options)

    by_case = {result.case: result for result in results}
    assert tuple(by_case) == CASES
    for case in CASES:
        assert by_case[case].left_on_server == 0, case
        assert by_case[case].peak_rss_mb > 0, case
        # The process's own CPU is part of what it and its workers used, and of the machine's.
        result = by_case[case]
        assert 0 < result.own_cpu_seconds <= result.cpu_seconds, case
        assert result.cpu_seconds <= result.machine_cpu_seconds + 0.1, case
    for case in (DAEMON_SQLITE, DAEMON_POSTGRESQL):
        assert by_case[case].stored == MESSAGES, case
    table = render(results, options).splitlines()
    for case in CASES:
        assert sum(line.startswith(f"{case} ") for line in table) == 1, case
    assert table[-1].startswith("SQLite / PostgreSQL throughput: ")
    write_json(tmp_path / "figures.json", results, options)
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert [row["case"] for row in figures["rows"]] == list(CASES)
    assert figures["rows"][3]["stored"] == MESSAGES
