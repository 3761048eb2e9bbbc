"""One measured child process: wall time, CPU time and peak RSS of it and of its own children.

The child runs its module under `tests.bench.peak`, which writes its own VmHWM to a file on the
way out; see that module for why the parent's ru_maxrss is not used. The processes it starts (the
parse workers) are watched from here: their VmHWM is read from /proc every few milliseconds while
they live, and the largest is kept. CPU time comes from `os.wait4` on the child's pid, which
counts that one child and the processes it waited for, so measurements in one run never blur
together the way `getrusage(RUSAGE_CHILDREN)` deltas would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.bench.peak import PEAK_FILE_VARIABLE, peak_kib

# How often the children's VmHWM is read (a child's peak in its last moments may be missed), and
# every how many reads /proc is scanned for new children (a scan costs far more than a read).
CHILD_SAMPLE_S = 0.05
CHILD_SCAN_EVERY = 10


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    # The process and the processes it started and waited for (the parse workers).
    cpu_seconds: float
    peak_rss_mb: float
    # The largest peak among the processes it started; 0 when it started none.
    peak_child_rss_mb: float = 0.0
    # The process alone.
    own_cpu_seconds: float = 0.0
    # Every process on the machine meanwhile: Dovecot and PostgreSQL included, and whatever
    # else the machine runs, so on a shared machine an upper bound of what the run needed.
    machine_cpu_seconds: float = 0.0


def machine_busy_seconds() -> float:
    """CPU time the machine has spent on anything but idling, over all cores, since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait.
    ticks = [int(value) for value in fields]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class ChildPeaks:
    """Reads the VmHWM of every child of ``pid`` until stopped; keeps the largest."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._stop = threading.Event()
        self.largest_kib = 0
        self._thread = threading.Thread(target=self._run, name="child-peaks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        known: set[int] = set()
        ticks = 0
        while not self._stop.wait(CHILD_SAMPLE_S):
            if ticks % CHILD_SCAN_EVERY == 0:
                known.update(_children(self._pid))
            ticks += 1
            for child in known:
                self.largest_kib = max(self.largest_kib, peak_kib(child) or 0)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.largest_kib / 1024


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
        busy_before = machine_busy_seconds()
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=env
        )
        children = ChildPeaks(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        busy = machine_busy_seconds() - busy_before
        child_peak_mb = children.stop()
    # The child is reaped here, so Popen must not wait for it again.
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise MeasuredProcessFailed(f"{module} exited {process.returncode}:\n{tail}")
    peaks = json.loads(peak_file.read_text())
    return ProcessRun(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=peaks["self_kib"] / 1024,
        peak_child_rss_mb=child_peak_mb,
        own_cpu_seconds=peaks["self_cpu_s"],
        machine_cpu_seconds=busy,
    )
