"""The benchmark run: every case on a fresh mailbox, repeated, interleaved, medians kept."""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from tests.bench.cases import (
    DAEMON_POSTGRESQL,
    DAEMON_SQLITE,
    NETWORK_FLOOR,
    PARSE_FLOOR,
    READ_FLOOR,
    DaemonOptions,
    Sample,
    fill_mailbox,
    measure_daemon,
    measure_floor,
    postgresql_database,
    sqlite_database,
)
from tests.bench.mixes import messages
from tests.support.dovecot import DovecotServer


@dataclass(frozen=True)
class BenchOptions:
    messages: int
    mix: str = "typical"
    repeat: int = 3
    seed: int = 1
    sqlite: bool = True
    postgresql: bool = True
    checkpoint_every: int | None = None
    parse_workers: int | None = None
    commit_group_size: int | None = None


@dataclass(frozen=True)
class CaseResult:
    case: str
    messages: int
    samples: list[Sample] = field(repr=False)

    @property
    def seconds(self) -> float:
        return statistics.median(sample.run.seconds for sample in self.samples)

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(sample.run.cpu_seconds for sample in self.samples)

    @property
    def own_cpu_seconds(self) -> float:
        return statistics.median(sample.run.own_cpu_seconds for sample in self.samples)

    @property
    def machine_cpu_seconds(self) -> float:
        return statistics.median(sample.run.machine_cpu_seconds for sample in self.samples)

    @property
    def peak_rss_mb(self) -> float:
        # The worst repetition: memory is a ceiling, not an average.
        return max(sample.run.peak_rss_mb for sample in self.samples)

    @property
    def peak_child_rss_mb(self) -> float:
        return max(sample.run.peak_child_rss_mb for sample in self.samples)

    @property
    def stored(self) -> int | None:
        counts = [sample.stored for sample in self.samples]
        return None if None in counts else min(count for count in counts if count is not None)

    @property
    def left_on_server(self) -> int:
        return max(sample.left_on_server for sample in self.samples)


def run_benchmark(
    dovecot: DovecotServer, postgres_admin: Engine | None, options: BenchOptions
) -> list[CaseResult]:
    """Measure every case `options.repeat` times; PostgreSQL only with `postgres_admin`."""
    raws = list(messages(options.mix, options.messages, options.seed))
    daemon = DaemonOptions(
        checkpoint_every=options.checkpoint_every,
        max_messages_per_poll=options.messages,
        parse_workers=options.parse_workers,
        commit_group_size=options.commit_group_size,
    )
    samples: dict[str, list[Sample]] = {}
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-") as directory:
        work_dir = Path(directory)
        for _ in range(options.repeat):
            # Interleaved, so a noisy neighbour slows every case alike rather than one.
            floors = (("none", NETWORK_FLOOR), ("parse", PARSE_FLOOR), ("read", READ_FLOOR))
            for work, case in floors:
                account = fill_mailbox(dovecot, raws)
                sample = measure_floor(dovecot, account, work_dir, work=work)
                samples.setdefault(case, []).append(sample)
            if options.sqlite:
                account = fill_mailbox(dovecot, raws)
                with sqlite_database() as url:
                    sample = measure_daemon(dovecot, account, url, work_dir, daemon)
                samples.setdefault(DAEMON_SQLITE, []).append(sample)
            if options.postgresql:
                if postgres_admin is None:
                    raise ValueError("PostgreSQL asked for but no server given")
                account = fill_mailbox(dovecot, raws)
                with postgresql_database(postgres_admin) as url:
                    sample = measure_daemon(dovecot, account, url, work_dir, daemon)
                samples.setdefault(DAEMON_POSTGRESQL, []).append(sample)
    return [CaseResult(case, options.messages, runs) for case, runs in samples.items()]
