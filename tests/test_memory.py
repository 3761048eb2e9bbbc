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


def stays_resident_mib(mode: str) -> int:
    completed = subprocess.run(
        [sys.executable, "-c", SCENARIO, mode], capture_output=True, text=True, check=True
    )
    return int(completed.stdout)


@pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc" or ctypes.util.find_library("c") is None,
    reason="the threshold is a glibc setting",
)
def test_large_buffers_are_returned_once_freed() -> None:
    assert stays_resident_mib("fixed") < 5
    # The same scenario keeps about one buffer resident when glibc moves its threshold.
    assert stays_resident_mib("default") >= 15
