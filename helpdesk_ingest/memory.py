"""Give the memory of large messages back to the operating system as soon as they are done.

glibc serves large allocations (a multi-megabyte message and its parsed parts) with mmap and
returns them to the system when freed, but after the first such free it raises that threshold
(up to 32 MiB), so later large buffers come from the heap, which rarely shrinks: the resident
size of a long-running daemon then creeps up with every big message. Fixing the threshold keeps
it where it was at start: memory stays flat however many messages pass through.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt parameter number and glibc's own default for it.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024


def return_large_buffers_to_the_system() -> bool:
    """Fix glibc's mmap threshold; False where the C library is not glibc (nothing to do)."""
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
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
