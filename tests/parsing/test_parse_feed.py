"""Fed in pieces, the email parser builds the same tree as from the whole message at once."""

from __future__ import annotations

import email.feedparser
import email.policy
import re
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import Policy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_ingest.parsing import feed
from helpdesk_ingest.parsing.feed import parse_in_pieces

from . import containers, messages
from .mutations import mutated

SEEDS = [
    messages.plain(),
    messages.ALTERNATIVE,
    messages.ATTACHMENTS,
    messages.ENCODED_SUBJECT,
    containers.CALENDAR_ALTERNATIVE,
    containers.SMIME_SIGNED,
    # Line endings of every kind, 8-bit bytes, and a CR LF a small piece size will split.
    b"Subject: x\r\nFrom: a@b\r\n\r\nline\r\n\xe9t\xe9\rlone CR\nlone LF\r\n" * 3,
]
POLICIES = [email.policy.default, email.policy.compat32]


def shape(message: Message[Any, Any]) -> list[object]:
    return [
        (
            list(part.raw_items()),
            part.get_payload() if not part.is_multipart() else None,
            part.defects,
        )
        for part in message.walk()
    ]


def same_tree(raw: bytes, policy: Policy[Any], piece: int) -> None:
    try:
        whole = BytesParser(policy=policy).parsebytes(raw)
    except Exception as exc:
        # Some mutations make the package itself raise (the default policy's Content-Type
        # parser on "c*" cut by a lone CR): fed in pieces, it must raise the same.
        with pytest.raises(type(exc)):
            parse_in_pieces(raw, policy, piece)
        return
    pieces = parse_in_pieces(raw, policy, piece)
    assert type(pieces) is type(whole)
    assert repr(shape(pieces)) == repr(shape(whole))


@pytest.mark.parametrize("policy", POLICIES, ids=["default", "compat32"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=mutated(SEEDS), piece=st.integers(min_value=1, max_value=64))
def test_pieces_of_any_size_give_the_same_tree(raw: bytes, piece: int, policy: Policy[Any]) -> None:
    same_tree(raw, policy, piece)


def test_a_message_the_package_raises_on_raises_the_same_in_pieces() -> None:
    # Found by the test above: a lone CR cuts a Content-Type parameter after "c*".
    raw = messages.plain().replace(b"charset=utf-8", b"c*\rharset=utf-8")
    assert b"c*\rharset" in raw

    same_tree(raw, email.policy.default, 1)
    with pytest.raises(IndexError):
        BytesParser(policy=email.policy.default).parsebytes(raw)


def large_message() -> bytes:
    message = EmailMessage()
    message["From"] = "customer@example.org"
    message["Subject"] = "The log file"
    message.set_content("Attached, as asked.\n")
    message.add_attachment(
        bytes(range(256)) * 4096, maintype="application", subtype="octet-stream", filename="a.log"
    )
    return message.as_bytes(policy=email.policy.SMTP)


@pytest.mark.parametrize("policy", POLICIES, ids=["default", "compat32"])
def test_a_message_of_many_pieces_gives_the_same_tree(policy: Policy[Any]) -> None:
    raw = large_message()
    assert len(raw) > 10 * feed.PIECE_BYTES
    same_tree(raw, policy, feed.PIECE_BYTES)


STDLIB_LINE_BREAK_AT_END = re.compile(feed.LINE_BREAK_AT_END)


def test_importing_the_parser_has_the_email_package_search_line_breaks_from_the_end() -> None:
    # Fails on a Python whose email package searches with another pattern: the search from the
    # end is then not installed, and whether one is still worth having must be looked at again.
    searcher = email.feedparser.NLCRE_eol  # type: ignore[attr-defined]
    assert isinstance(searcher, feed.LineBreakAtEnd)
    assert searcher.pattern.pattern == feed.LINE_BREAK_AT_END


@settings(max_examples=500)
@given(text=st.text(alphabet="\r\nab \t\u00e9", max_size=12))
def test_the_search_from_the_end_finds_what_the_whole_search_finds(text: str) -> None:
    expected = STDLIB_LINE_BREAK_AT_END.search(text)
    found = feed.LineBreakAtEnd(STDLIB_LINE_BREAK_AT_END).search(text)
    assert (found and (found.span(), found.group(0))) == (
        expected and (expected.span(), expected.group(0))
    )


@pytest.mark.parametrize("policy", POLICIES, ids=["default", "compat32"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=mutated(SEEDS))
def test_the_tree_is_the_one_the_stdlib_search_builds(raw: bytes, policy: Policy[Any]) -> None:
    ours = parse_in_pieces(raw, policy)
    with pytest.MonkeyPatch.context() as stdlib:
        stdlib.setattr(email.feedparser, "NLCRE_eol", STDLIB_LINE_BREAK_AT_END)
        theirs = parse_in_pieces(raw, policy)
    assert repr(shape(ours)) == repr(shape(theirs))
