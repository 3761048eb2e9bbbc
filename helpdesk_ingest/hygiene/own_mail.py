"""What marks mail as the helpdesk's own coming back: the part of the hygiene settings that the
classifier reads.

A plain value rather than the settings model: the parse workers, which classify, receive it with
every batch, and unpickling a pydantic model would have each of them load pydantic (about a fifth
of a second of CPU at every start) for two fields.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LOOP_HEADER = "X-Helpdesk-Loop"


@dataclass(frozen=True, slots=True)
class OwnMail:
    # Lower-cased, as the classifier compares them.
    addresses: frozenset[str]
    loop_header: str = DEFAULT_LOOP_HEADER
