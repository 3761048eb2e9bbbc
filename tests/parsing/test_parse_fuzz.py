"""Damaged messages never make the parser raise, nor fall into its last-resort error path."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from helpdesk_ingest.message import ParsedMessage, ParseFailure
from helpdesk_ingest.parsing import ParseLimits, parse_message
from helpdesk_ingest.parsing.report import parse_report

from . import containers, messages
from .mutations import mutated

SEEDS = [
    messages.plain(),
    messages.ALTERNATIVE,
    messages.HTML_ONLY,
    messages.XSS,
    messages.ATTACHMENTS,
    messages.ENCODED_SUBJECT,
    messages.NO_MESSAGE_ID,
    containers.with_winmail(containers.tnef_container({"a.pdf": b"%PDF", "b.txt": b"text"})),
    containers.uuencoded_in_body(),
    containers.CALENDAR_ALTERNATIVE,
    containers.SMIME_SIGNED,
    containers.SMIME_ENCRYPTED,
    containers.PGP_SIGNED,
    containers.PGP_ENCRYPTED,
    containers.PGP_INLINE,
]


def check(raw: bytes, limits: ParseLimits | None = None) -> None:
    result = parse_message(raw, limits)

    # The catch-all turns a parser bug into "parser-error"; damaged mail must not need it.
    if isinstance(result, ParseFailure):
        assert result.reason == "unparseable", result
    else:
        assert isinstance(result, ParsedMessage)
        parse_report(result)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(SEEDS))
def test_damaged_fixture_messages_parse(raw: bytes) -> None:
    check(raw)


@settings(max_examples=100, deadline=None)
@given(mutated(SEEDS))
def test_damaged_messages_parse_under_tight_limits(raw: bytes) -> None:
    check(raw, ParseLimits(max_message_bytes=600, max_header_bytes=300, max_parts=3, max_depth=2))
