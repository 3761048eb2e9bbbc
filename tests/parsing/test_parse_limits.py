"""Messages over a size limit become tickets from their headers that say what happened."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import ParseLimits, parse_message, parse_oversized
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
