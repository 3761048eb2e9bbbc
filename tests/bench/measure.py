"""One measured child process: wall time, CPU time and peak RSS of that child alone.

The child runs its module under `tests.bench.peak`, which writes its own VmHWM (and its
children's ru_maxrss) to a file on the way out; see that module for why the parent's ru_maxrss is
not used. CPU time comes from `os.wait4` on the child's pid, which counts that one child and the
processes it waited for, so measurements in one run never blur together the way
`getrusage(RUSAGE_CHILDREN)` deltas would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.bench.peak import PEAK_FILE_VARIABLE


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float


class MeasuredProcessFailed(RuntimeError):
    pass


def run_measured(
    module: str,
    arguments: Sequence[str],
    log: Path,
    environment: Mapping[str, str] | None = None,
) -> ProcessRun:
    """Run `python -m module arguments` to completion with output to `log`; raise if it fails."""
    peak_file = log.with_suffix(".peak.json")
    peak_file.unlink(missing_ok=True)
    env = {**os.environ, **(environment or {}), PEAK_FILE_VARIABLE: str(peak_file)}
    argv = [sys.executable, "-m", "tests.bench.peak", module, *arguments]
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=env
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    # The child is reaped here, so Popen must not wait for it again.
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise MeasuredProcessFailed(f"{module} exited {process.returncode}:\n{tail}")
    peaks = json.loads(peak_file.read_text())
    return ProcessRun(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=max(peaks["self_kib"], peaks["children_kib"]) / 1024,
    )
