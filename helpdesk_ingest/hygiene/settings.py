"""Settings of the hygiene step: who we are, what automatic mail may do, and rate limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from helpdesk_ingest.hygiene.own_mail import DEFAULT_LOOP_HEADER, OwnMail


class SlidingWindow(BaseModel):
    """At most ``max_messages`` accepted in any ``window_s`` seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_messages: int = Field(ge=1, description="Messages accepted per window; more are held.")
    window_s: float = Field(gt=0, description="Length of the sliding window in seconds.")


class RateLimits(BaseModel):
    """Storm protection; mail over a limit is quarantined with reason "rate-limit"."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    per_sender: SlidingWindow | None = Field(
        default=SlidingWindow(max_messages=10, window_s=60),
        description="Articles from one sender address; null turns the limit off.",
    )
    auto_replies_per_ticket: SlidingWindow | None = Field(
        default=SlidingWindow(max_messages=5, window_s=3600),
        description="Auto-replies and bounces on one ticket (a reply loop); null turns it off.",
    )
    global_: SlidingWindow | None = Field(
        default=None,
        alias="global",
        description=(
            "Articles from everyone; off by default, because a backlog drained after an outage "
            "arrives all at once."
        ),
    )


class HygieneSettings(BaseModel):
    """How automatic mail is recognised and what it may do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    own_addresses: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses the helpdesk sends from; mail from them is a loop and is quarantined."
        ),
    )
    loop_header: str = Field(
        default=DEFAULT_LOOP_HEADER,
        min_length=1,
        description="Header the helpdesk app adds to every mail it sends; seen inbound, a loop.",
    )
    auto_reply_opens_ticket: bool = Field(
        default=False,
        description="An auto-reply that answers no known ticket opens one instead of quarantine.",
    )
    bounce_opens_ticket: bool = Field(
        default=False,
        description="A bounce that answers no known ticket opens one instead of quarantine.",
    )
    rate_limits: RateLimits = Field(default_factory=RateLimits, description="Storm protection.")

    def own_mail(self) -> OwnMail:
        """What the classifier needs of these settings to tell the helpdesk's own mail."""
        addresses = frozenset(address.strip().lower() for address in self.own_addresses)
        return OwnMail(addresses, self.loop_header)
