"""Routing rules: each condition, first match wins, and start-up validation naming the rule."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from helpdesk_ingest.config import Settings
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.routing import RouteDecision, RoutingRule, route
from tests.hygiene.mails import mail


def parsed(raw: bytes) -> ParsedMessage:
    message = parse_message(raw)
    assert isinstance(message, ParsedMessage)
    return message


def rule(**values: Any) -> RoutingRule:
    values.setdefault("name", "test")
    values.setdefault("queue", "matched")
    return RoutingRule(**values)


CUSTOMER = parsed(
    mail(
        sender="Alice <Alice@Big-Customer.example>",
        subject="URGENT: invoice 42 wrong",
        headers="Cc: Billing@Example.com\r\nDelivered-To: vip@example.com\r\nX-Spam-Flag: YES\r\n",
    )
)


@pytest.mark.parametrize(
    ("condition", "hit"),
    [
        ({"mailbox": "support"}, True),
        ({"mailbox": "sales"}, False),
        ({"recipient": "support@example.com"}, True),
        ({"recipient": "billing@example.com"}, True),
        ({"recipient": "VIP@example.com"}, True),
        ({"recipient": "nobody@example.com"}, False),
        ({"sender": "alice@big-customer.example"}, True),
        ({"sender": "big-customer.example"}, True),
        ({"sender": "@Big-Customer.example"}, True),
        ({"sender": "customer.example"}, False),
        ({"subject": r"^urgent\b"}, True),
        ({"subject": r"refund"}, False),
        ({"headers": {"x-spam-flag": "^yes$"}}, True),
        ({"headers": {"X-Spam-Flag": "^NO$"}}, False),
        ({"headers": {"X-Missing": ".*"}}, False),
        ({"mailbox": "support", "subject": "refund"}, False),
    ],
)
def test_each_condition(condition: dict[str, Any], hit: bool) -> None:
    decision = route([rule(**condition)], "support", CUSTOMER)
    assert (decision.rule == "test") is hit


def test_first_match_wins_and_carries_its_actions() -> None:
    rules = [
        rule(name="spam", headers={"X-Spam-Flag": "YES"}, queue=None, quarantine=True),
        rule(name="vip", recipient="vip@example.com", queue="vip", priority="high", tags=["vip"]),
    ]
    assert route(rules, "support", CUSTOMER) == RouteDecision(rule="spam", quarantine=True)
    assert route(rules[1:], "support", CUSTOMER) == RouteDecision(
        rule="vip", queue="vip", priority="high", tags=("vip",)
    )


def test_no_rule_matching_sets_nothing() -> None:
    assert route([rule(mailbox="sales")], "support", CUSTOMER) == RouteDecision()


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"name": "broken", "subject": "(unclosed", "queue": "x"}, "subject is not a valid regex"),
        ({"name": "broken", "headers": {"X-A": "["}, "queue": "x"}, "header X-A is not a valid"),
        ({"name": "broken", "queue": "x"}, "give at least one condition"),
        ({"name": "broken", "mailbox": "support"}, "give an action"),
    ],
)
def test_invalid_rules_stop_start_up_naming_the_rule(values: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(routing=[values])
    assert "routing rule 'broken'" in str(caught.value)
    assert problem in str(caught.value)


def test_unknown_rule_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Settings(routing=[{"name": "typo", "mailbox": "support", "queue": "x", "queeu": "y"}])
