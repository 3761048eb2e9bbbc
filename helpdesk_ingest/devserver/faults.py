"""Misbehaviour the development server can be asked for, to test what real servers rarely do."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Faults:
    """All off by default; message numbers are as the client sees them in its session."""

    drop_after_retr: set[int] = field(default_factory=set)
    err_on_dele: set[int] = field(default_factory=set)
    stall_on_retr: set[int] = field(default_factory=set)
    garbage_greeting: bool = False
    overlong_greeting: bool = False
    no_capa: bool = False
    no_uidl: bool = False
    no_stls: bool = False
    in_use: bool = False
    login_delay: bool = False
    # Seconds announced as the LOGIN-DELAY capability (RFC 2449); None announces none.
    announced_login_delay_s: int | None = None
