"""The auto-reply rules applied to a message's headers: every header against every rule."""

from __future__ import annotations

from email.message import Message

from hypothesis import given
from hypothesis import strategies as st

from helpdesk_ingest.hygiene.autoreply import AUTO_REPLY_HEADERS, auto_reply_flags
from helpdesk_ingest.message import ParsedMessage

NAMES = [rule.header for rule in AUTO_REPLY_HEADERS] + ["Subject", "From", "X-Mailer"]
VALUES = ["", "no", " No ", "yes", "auto-replied", "bulk", "JUNK", "<>", "vacation", "all"]


def every_rule_against_every_header(headers: list[tuple[str, str]]) -> tuple[str, ...]:
    flags = [
        rule.flag
        for name, value in headers
        for rule in AUTO_REPLY_HEADERS
        if name.lower() == rule.header.lower() and rule.matches(value)
    ]
    return tuple(dict.fromkeys(flags))


@given(
    headers=st.lists(
        st.tuples(
            st.sampled_from(NAMES).flatmap(
                lambda name: st.sampled_from([name, name.lower(), name.upper()])
            ),
            st.sampled_from(VALUES),
        ),
        max_size=12,
    )
)
def test_the_flags_are_those_of_every_rule_against_every_header(
    headers: list[tuple[str, str]],
) -> None:
    parsed = ParsedMessage("<a@example.org>", False, "", None, headers=tuple(headers))
    assert auto_reply_flags(parsed, Message()) == every_rule_against_every_header(headers)
