"""Bounds on the work one message may cause; beyond them the parser stops and says so."""

from __future__ import annotations

from dataclasses import dataclass

# Parts the email package may make of one message, whatever ``max_parts`` says: it builds its
# whole tree before the parser looks at the first part. Each blank line in a delivery report ends
# a part, and each lone CR is a line: 400 KB of them made 400,000 parts, 176 MB and 8 s of work,
# a megabyte would have made gigabytes. Real mail comes nowhere near; a message past it becomes
# a ticket from its headers, which says so (``parsing.lenient.TreeTooLarge``).
MAX_TREE_PARTS = 10_000

# The characters of a Content-Type or Content-Disposition value whose parameters are read. The
# email package's parsers of parameters take time in the square of a value's length (its header
# registry at each ";" or '"' goes over every parameter before; its older splitter, under every
# parameter getter, counts the quotes from the start again at each ";"). Real values stay far
# shorter: under 400 characters in the shared corpus, a long RFC 2231 file name 2 KB.
PARAMETER_VALUE_LIMIT = 4 * 1024


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """How much one message may ask of the parser: size, header bytes, MIME parts, MIME depth,
    CPU time, memory.

    Over ``max_message_bytes`` (or ``max_header_bytes``) the parser reads only the headers and
    says so in the body; over ``max_parts`` or ``max_depth`` it keeps what it read and records
    a defect. Over ``max_cpu_s`` a parse worker gives the message up, and it is quarantined
    (``worker_process.prepare_within_limit``), as when preparing it needs a parse worker's
    address space past ``max_memory_mb`` (MiB; set at the worker's start). Preparing in the
    daemon's own process has the CPU bound in its main thread only, and no memory bound.
    """

    max_message_bytes: int = 25 * 1024 * 1024
    max_header_bytes: int = 256 * 1024
    max_parts: int = 500
    max_depth: int = 20
    max_cpu_s: float = 120.0
    max_memory_mb: int = 1024
