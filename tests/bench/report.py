"""The benchmark's table and its JSON figures."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.bench.cases import (
    DAEMON_POSTGRESQL,
    DAEMON_SQLITE,
    NETWORK_FLOOR,
    PARSE_FLOOR,
    READ_FLOOR,
)
from tests.bench.run import BenchOptions, CaseResult

COLUMNS = (
    "case",
    "N",
    "seconds",
    "msg/s",
    "cpu s",
    "own cpu s",
    "machine cpu s",
    "peak RSS MB",
    "worker RSS MB",
    "stored",
    "left",
    "x parse floor",
    "x read floor",
    "x network floor",
)


def _ratio(result: CaseResult, floor: CaseResult | None) -> float | None:
    return None if floor is None else result.per_second / floor.per_second


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def rows(results: list[CaseResult]) -> list[dict[str, Any]]:
    by_case = {result.case: result for result in results}
    parse_floor = by_case.get(PARSE_FLOOR)
    read_floor = by_case.get(READ_FLOOR)
    network_floor = by_case.get(NETWORK_FLOOR)
    return [
        {
            "case": result.case,
            "N": result.messages,
            "seconds": result.seconds,
            "msg/s": result.per_second,
            "cpu s": result.cpu_seconds,
            "own cpu s": result.own_cpu_seconds,
            "machine cpu s": result.machine_cpu_seconds,
            "peak RSS MB": result.peak_rss_mb,
            "worker RSS MB": result.peak_child_rss_mb or None,
            "stored": result.stored,
            "left": result.left_on_server,
            "x parse floor": _ratio(result, parse_floor),
            "x read floor": _ratio(result, read_floor),
            "x network floor": _ratio(result, network_floor),
        }
        for result in results
    ]


def sqlite_to_postgresql(results: list[CaseResult]) -> float | None:
    """SQLite's throughput as a multiple of PostgreSQL's, when both ran."""
    by_case = {result.case: result for result in results}
    if DAEMON_SQLITE in by_case and DAEMON_POSTGRESQL in by_case:
        return by_case[DAEMON_SQLITE].per_second / by_case[DAEMON_POSTGRESQL].per_second
    return None


def render(results: list[CaseResult], options: BenchOptions) -> str:
    table = [[_cell(row[column]) for column in COLUMNS] for row in rows(results)]
    widths = [max(len(line[i]) for line in [list(COLUMNS), *table]) for i in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    out = [
        f"mix={options.mix} N={options.messages} repeat={options.repeat} seed={options.seed} "
        "(seconds and cpu: medians; cpu: the process and its workers, own cpu: the process "
        "alone, machine cpu: every process on the machine meanwhile, of "
        f"{os.cpu_count()} cores x seconds available; peak RSS of the daemon's process and "
        "of its largest worker: worst repetition)",
        line(list(COLUMNS)),
        *(line(cells) for cells in table),
    ]
    ratio = sqlite_to_postgresql(results)
    if ratio is not None:
        out.append(f"SQLite / PostgreSQL throughput: {ratio:.2f}")
    return "\n".join(out)


def write_json(path: Path, results: list[CaseResult], options: BenchOptions) -> None:
    figures = {
        "mix": options.mix,
        "messages": options.messages,
        "repeat": options.repeat,
        "seed": options.seed,
        "rows": rows(results),
        "runs": {
            result.case: [
                {
                    "seconds": sample.run.seconds,
                    "cpu_seconds": sample.run.cpu_seconds,
                    "own_cpu_seconds": sample.run.own_cpu_seconds,
                    "machine_cpu_seconds": sample.run.machine_cpu_seconds,
                    "peak_rss_mb": sample.run.peak_rss_mb,
                    "peak_worker_rss_mb": sample.run.peak_child_rss_mb,
                    "stored": sample.stored,
                    "quarantined": sample.quarantined,
                    "left_on_server": sample.left_on_server,
                }
                for sample in result.samples
            ]
            for result in results
        },
        "sqlite_to_postgresql": sqlite_to_postgresql(results),
    }
    path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
