"""Run a Python module in this process and record its peak RSS and own CPU time on the way out.

    BENCH_PEAK_FILE=/tmp/peak.json python -m tests.bench.peak MODULE [ARGS...]

Why not ru_maxrss from the parent's wait4: on Linux a child's ru_maxrss starts from the high-water
mark of the process it was forked from (exec keeps the larger of the old and new figures), so every
child of a 70 MB benchmark would seem to peak at 70 MB. VmHWM in /proc/self/status belongs to the
address space made by exec, so it is this process's own peak. The same holds for the processes
it starts (the parse workers), so the benchmark reads their VmHWM from /proc while they run.
The CPU time is this process's alone (all its threads); what the parent's wait4 reports beyond
it is its children's, the parse workers'.
"""

from __future__ import annotations

import json
import os
import resource
import runpy
import sys
from pathlib import Path

PEAK_FILE_VARIABLE = "BENCH_PEAK_FILE"


def peak_kib(process: int | str = "self") -> int | None:
    """A process's VmHWM in KiB; None once the process is gone."""
    try:
        status = Path(f"/proc/{process}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def own_peak_kib() -> int:
    peak = peak_kib()
    if peak is None:
        raise RuntimeError("no VmHWM in /proc/self/status")
    return peak


def main() -> None:
    module, *arguments = sys.argv[1:]
    sys.argv = [module, *arguments]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        figures = {"self_kib": own_peak_kib(), "self_cpu_s": usage.ru_utime + usage.ru_stime}
        Path(os.environ[PEAK_FILE_VARIABLE]).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
