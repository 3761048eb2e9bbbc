"""Messages over a size limit become tickets from their headers that say what happened."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_ingest.hygiene.classify import classify
from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import ParseLimits, feed, parse_message, parse_oversized
from helpdesk_ingest.parsing.feed import parse_in_pieces
from helpdesk_ingest.parsing.lenient import LENIENT_COMPAT32, LenientMessage, TreeTooLarge
from helpdesk_ingest.parsing.oversize import header_section, header_section_size, human_size

from . import messages

BIG = messages.plain(body=base64.encodebytes(b"\x00" * 4000).decode("ascii"))


def parsed(result: object) -> ParsedMessage:
    assert isinstance(result, ParsedMessage), result
    return result


def test_a_message_over_the_size_limit_is_read_from_its_headers_only() -> None:
    message = parsed(parse_message(BIG, ParseLimits(max_message_bytes=2048)))

    assert message.defects == ("over-size-limit",)
    assert message.subject == "Printer on fire"
    assert message.from_address is not None
    assert message.from_address.email == "alice@example.com"
    assert message.message_id == "<plain-1@example.com>"
    assert message.body_text == (
        f"This message is {human_size(len(BIG))}, over the 2 KB limit; "
        "its raw bytes are kept; ask an operator."
    )
    assert message.attachments == ()


def test_the_note_names_sizes_as_people_read_them() -> None:
    message = parsed(parse_oversized(messages.plain(body=""), 43_000_000))

    assert message.body_text == (
        "This message is 41 MB, over the 25 MB limit; its raw bytes are kept; ask an operator."
    )


def test_a_message_at_the_limit_is_read_whole() -> None:
    message = parsed(parse_message(BIG, ParseLimits(max_message_bytes=len(BIG))))

    assert "over-size-limit" not in message.defects
    assert message.body_text.startswith("AAAA")


def test_headers_from_top_make_the_same_ticket_as_the_whole_message() -> None:
    headers = BIG.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    limits = ParseLimits(max_message_bytes=2048)

    from_top = parsed(parse_oversized(headers, len(BIG), limits))
    from_retr = parsed(parse_message(BIG, limits))

    assert from_top == from_retr


def test_oversized_message_without_message_id_gets_a_stable_synthetic_one() -> None:
    raw = messages.NO_MESSAGE_ID + b"x" * 5000

    first = parsed(parse_message(raw, ParseLimits(max_message_bytes=1024)))
    second = parsed(parse_message(raw, ParseLimits(max_message_bytes=1024)))

    assert first.message_id_synthetic
    assert first.message_id == second.message_id
    assert {"over-size-limit", "missing-message-id"} <= set(first.defects)


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        (b"A: 1\r\nB: 2\r\n\r\nbody", 100, b"A: 1\r\nB: 2"),
        (b"A: 1\r\nB: 2\r\n\r\nbody", 8, b"A: 1\r"),
        (b"A: 1\nB: 2\n\nbody", 100, b"A: 1\nB: 2"),
        (b"A: 1\nB: 2", 100, b"A: 1\nB: 2"),
    ],
)
def test_header_section_is_cut_at_a_line_end_within_the_limit(
    raw: bytes, limit: int, expected: bytes
) -> None:
    assert header_section(raw, limit) == expected


@given(st.lists(st.sampled_from([b"\r", b"\n", b"a", b"b: c"]), max_size=40).map(b"".join))
def test_the_header_section_ends_at_the_first_blank_line_of_any_kind(raw: bytes) -> None:
    # Whichever line ending the message uses, and wherever several kinds are mixed.
    found = [raw.find(separator) for separator in (b"\r\n\r\n", b"\n\n", b"\r\r")]
    expected = min((position for position in found if position >= 0), default=len(raw))
    assert header_section_size(raw) == expected


def _flat(parts: int) -> bytes:
    body = b"".join(
        b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % number for number in range(parts)
    )
    return (
        b"From: a@example.org\r\nSubject: Many parts\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + body + b"--b--\r\n"
    )


def test_a_message_of_more_parts_than_a_tree_may_hold_is_a_ticket_from_its_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feed, "MAX_TREE_PARTS", 50)

    within = parsed(parse_message(_flat(48)))
    past = parsed(parse_message(_flat(60)))

    assert "too-many-parts:parser" not in within.defects
    assert within.body_text.startswith("part 0")
    assert past.subject == "Many parts"
    assert "too-many-parts:parser" in past.defects
    assert "MIME parts" in past.body_text
    assert "ask an operator" in past.body_text
    verdict = classify(_flat(60), past, HygieneSettings().own_mail())
    assert verdict.kind == "customer"
    # The bound holds only while the email package builds a tree: parts made outside one count
    # for nothing, and the next parse has the whole bound again.
    outside = [LenientMessage() for _ in range(100)]
    assert len(outside) == 100
    assert len(list(parse_in_pieces(_flat(48), LENIENT_COMPAT32).walk())) == 49


def test_a_delivery_report_of_lone_carriage_returns_is_not_made_into_a_part_each() -> None:
    # Each lone CR is a line and each blank line ends a block of report fields, a part each:
    # 400 KB made 400,000 parts, 176 MB and 8 s, where a megabyte would have made gigabytes.
    raw = (
        b"From: MAILER-DAEMON@example.org\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: "
        + b"\r" * 400_000
        + b"\r\n--b--\r\n"
    )

    with pytest.raises(TreeTooLarge):
        parse_in_pieces(raw, LENIENT_COMPAT32)
    message = parsed(parse_message(raw))

    assert "too-many-parts:parser" in message.defects
    assert classify(raw, message, HygieneSettings().own_mail()).kind == "bounce"
