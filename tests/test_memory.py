"""The mmap threshold is fixed, so freed large buffers go back to the system."""

from __future__ import annotations

import ctypes.util
import platform
import subprocess
import sys

import pytest

# Free one big buffer (glibc then raises its threshold to that size), then allocate and free
# smaller big ones with small objects allocated after them, as parsing leaves behind; print how
# many MiB stayed resident.
SCENARIO = """
import sys
from pathlib import Path
from helpdesk_ingest.memory import return_large_buffers_to_the_system

def resident_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

if sys.argv[1] == "fixed":
    assert return_large_buffers_to_the_system()
first = bytearray(25 * 1024 * 1024)
del first
before = resident_mib()
kept = []
for _ in range(5):
    buffer = bytearray(20 * 1024 * 1024)
    kept.append(bytearray(1000))
    del buffer
print(resident_mib() - before)
"""


def measured(scenario: str, mode: str) -> int:
    """The number ``scenario`` prints, run in a fresh interpreter in ``mode``."""
    completed = subprocess.run(
        [sys.executable, "-c", scenario, mode], capture_output=True, text=True, check=True
    )
    return int(completed.stdout)


only_on_glibc = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc" or ctypes.util.find_library("c") is None,
    reason="the threshold is a glibc setting",
)


@only_on_glibc
def test_large_buffers_are_returned_once_freed() -> None:
    assert measured(SCENARIO, "fixed") < 5
    # The same scenario keeps about one buffer resident when glibc moves its threshold.
    assert measured(SCENARIO, "default") >= 15


# Allocate, fill and free a 512 KiB buffer many times, as a parse worker does with the parts of a
# message of a few hundred kilobytes; print the page faults that took.
MID_SIZED = """
import ctypes, resource, sys
from helpdesk_ingest.memory import return_large_buffers_to_the_system

if sys.argv[1] == "fixed":
    assert return_large_buffers_to_the_system()
elif sys.argv[1] == "128k":
    assert ctypes.CDLL(None).mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    buffer = bytearray(512 * 1024)
    del buffer
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@only_on_glibc
def test_mid_sized_buffers_are_reused_not_faulted_in_each_time() -> None:
    # Reused from the heap, the first buffer's pages serve them all.
    assert measured(MID_SIZED, "fixed") < 2_000
    # Each buffer served by mmap is 128 fresh pages to fault in: 25,600 for the loop.
    assert measured(MID_SIZED, "128k") > 20_000
