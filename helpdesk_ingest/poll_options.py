"""What one pass over a mailbox may do: built from the settings by the runtime."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from helpdesk_ingest.charsets import DEFAULT_FALLBACK_CHARSET
from helpdesk_ingest.parse_limits import ParseLimits
from helpdesk_ingest.prepared import PrepareSettings
from helpdesk_ingest.routing import RoutingRule
from helpdesk_ingest.store.ingest import DEFAULT_POLICY, IngestPolicy


@dataclass(frozen=True)
class PollOptions:
    """What one pass may do; built from Settings by the CLI."""

    queue: str
    ticket_tag_pattern: re.Pattern[str]
    checkpoint_every: int = 500
    max_messages: int = 1000
    routing_rules: tuple[RoutingRule, ...] = ()
    policy: IngestPolicy = DEFAULT_POLICY
    # Failed ingest transactions of one message (over passes) before it goes to quarantine.
    store_attempts: int = 3
    parse_limits: ParseLimits = field(default_factory=ParseLimits)
    # The codec of 8-bit text the message declares no charset for and that is too short to
    # detect one from.
    fallback_charset: str = DEFAULT_FALLBACK_CHARSET
    # Messages stored in one transaction and then deleted together: one COMMIT and one round
    # trip of DELEs per group instead of per message. The invariant holds per group.
    group_size: int = 32
    # A group's bytes, as LIST reports them: what one group may hold in memory.
    group_bytes: int = 4 * 1024 * 1024
    # A message larger than this (as LIST reports it) is downloaded into a file in its own
    # group, and goes from there to the worker and to the database without being held whole.
    spool_over_bytes: int = 1024 * 1024
    # Where those files go (a private directory per pass is made inside); None: the system's.
    spool_dir: Path | None = None

    def prepare_settings(self) -> PrepareSettings:
        return PrepareSettings(
            self.parse_limits,
            self.policy.hygiene.own_mail(),
            self.spool_over_bytes,
            self.fallback_charset,
        )
