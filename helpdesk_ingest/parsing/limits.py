"""Bounds on the work one message may cause; beyond them the parser stops and says so."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """How much one message may ask of the parser: header bytes, MIME parts, MIME depth."""

    max_header_bytes: int = 256 * 1024
    max_parts: int = 500
    max_depth: int = 20
