"""Routing rules: the first rule whose every condition matches decides; pure, no I/O.

A rule matches on any of: the mailbox, a recipient (To, Cc or Delivered-To), the sender address
or domain, a subject regex, any header by a regex. Its actions set the queue, the priority or
tags, or send the mail to quarantine. Rules are validated when the settings load, so a bad rule
stops start-up with a message naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from helpdesk_ingest.message import ParsedMessage


def _compile(rule: str, what: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"routing rule {rule!r}: {what} is not a valid regex: {exc}") from None


class RoutingRule(BaseModel):
    """One rule; every condition given must match (and), the first matching rule wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Shown in logs and in start-up errors.")
    mailbox: str | None = Field(default=None, description="Name of the mailbox polled.")
    recipient: str | None = Field(
        default=None, description="An address in To, Cc or Delivered-To (case-insensitive)."
    )
    sender: str | None = Field(
        default=None,
        description='Sender address, or a domain ("example.org" or "@example.org").',
    )
    subject: str | None = Field(default=None, description="Regex searched in the subject.")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description='Header name to a regex its value must match, e.g. {"X-Spam-Flag": "^YES$"}.',
    )
    queue: str | None = Field(default=None, min_length=1, description="Queue to set.")
    priority: str | None = Field(default=None, min_length=1, description="Priority to set.")
    tags: list[str] = Field(default_factory=list, description="Tags added to a new ticket.")
    quarantine: bool = Field(default=False, description="Keep the mail in quarantine instead.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        conditions = (self.mailbox, self.recipient, self.sender, self.subject)
        if all(value is None for value in conditions) and not self.headers:
            raise ValueError(f"routing rule {self.name!r}: give at least one condition")
        if not (self.queue or self.priority or self.tags or self.quarantine):
            raise ValueError(
                f"routing rule {self.name!r}: give an action (queue, priority, tags, quarantine)"
            )
        if self.subject is not None:
            _compile(self.name, "subject", self.subject)
        for header, pattern in self.headers.items():
            _compile(self.name, f"header {header}", pattern)
        return self

    def matches(self, mailbox: str, parsed: ParsedMessage) -> bool:
        checks = (
            self.mailbox is None or self.mailbox == mailbox,
            self.recipient is None or self.recipient.lower() in _recipients(parsed),
            self.sender is None or _sender_matches(self.sender, parsed),
            self.subject is None or bool(re.search(self.subject, parsed.subject, re.IGNORECASE)),
            all(_header_matches(parsed, name, pattern) for name, pattern in self.headers.items()),
        )
        return all(checks)


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """What the matching rule set; None where it set nothing (the mailbox default applies)."""

    rule: str | None = None
    queue: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    quarantine: bool = False


NO_ROUTE = RouteDecision()


def _recipients(parsed: ParsedMessage) -> set[str]:
    addresses = {address.email.lower() for address in (*parsed.to, *parsed.cc)}
    delivered = (value for name, value in parsed.headers if name.lower() == "delivered-to")
    addresses.update(value.strip().strip("<>").lower() for value in delivered)
    return addresses


def _sender_matches(wanted: str, parsed: ParsedMessage) -> bool:
    if parsed.from_address is None:
        return False
    sender = parsed.from_address.email.lower()
    wanted = wanted.lower()
    if "@" in wanted.lstrip("@"):
        return sender == wanted
    return sender.rpartition("@")[2] == wanted.lstrip("@")


def _header_matches(parsed: ParsedMessage, name: str, pattern: str) -> bool:
    values: Iterable[str] = (v for k, v in parsed.headers if k.lower() == name.lower())
    regex = re.compile(pattern, re.IGNORECASE)
    return any(regex.search(value) for value in values)


def route(rules: Sequence[RoutingRule], mailbox: str, parsed: ParsedMessage) -> RouteDecision:
    """The decision of the first rule that matches, or NO_ROUTE."""
    for rule in rules:
        if rule.matches(mailbox, parsed):
            return RouteDecision(
                rule=rule.name,
                queue=rule.queue,
                priority=rule.priority,
                tags=tuple(rule.tags),
                quarantine=rule.quarantine,
            )
    return NO_ROUTE
