"""Repairs for what real mailers write: broken header sections, mislabelled charsets, odd From."""

from __future__ import annotations

import pytest

from helpdesk_ingest.message import Address, ParsedMessage
from helpdesk_ingest.parsing import parse_message


def parsed(raw: bytes) -> ParsedMessage:
    result = parse_message(raw)
    assert isinstance(result, ParsedMessage), result
    return result


def test_byte_order_mark_before_headers() -> None:
    message = parsed(b"\xef\xbb\xbfFrom: a@example.com\nSubject: bom\n\nbody\n")

    assert message.subject == "bom"
    assert "byte-order-mark" in message.defects


def test_junk_line_before_headers() -> None:
    message = parsed(
        b"---- Original email message ----\nFrom: a@example.com\nSubject: forwarded\n\nbody\n"
    )

    assert message.subject == "forwarded"
    assert message.body_text == "body"
    assert "junk-before-headers" in message.defects


def test_space_before_colon() -> None:
    message = parsed(b"From  : John <j@example.com>\nSubject     : Saying Hello\n\nHi\n")

    assert message.from_address == Address("John", "j@example.com")
    assert message.subject == "Saying Hello"


def test_continuation_line_without_indent_keeps_later_headers() -> None:
    message = parsed(
        b"Received: from a by b\nwith SMTP; 5 Apr 2017\nX-Trace: AAAA\nBBBB\n"
        b"From: a@example.com\nSubject: still here\n\nbody\n"
    )

    assert message.subject == "still here"
    assert message.from_address == Address("", "a@example.com")
    assert message.body_text == "body"
    assert "unfolded-header-line" in message.defects


def test_raw_gb2312_header_uses_the_declared_multibyte_charset() -> None:
    raw = (
        b"From: a@example.com\nSubject: " + "整体提升".encode("gb2312") + b"\n"
        b"Content-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nContent-Type: text/plain; charset=iso-8859-1\n\nx\n"
        b"--b\nContent-Type: text/plain; charset=gb2312\n\ny\n--b--\n"
    )

    assert parsed(raw).subject == "整体提升"


def test_shift_jis_labelled_iso_2022_jp() -> None:
    word = "ツール".encode("cp932")
    raw = (
        b"From: =?ISO-2022-JP?B?g2OBW4OL?= <bar@example.org>\nSubject: " + word + b"\n"
        b"Content-Type: text/plain; charset=iso-2022-jp\n\nbody\n"
    )

    message = parsed(raw)

    assert message.subject == "ツール"
    assert message.from_address == Address("ツール", "bar@example.org")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"MAILER-DAEMON (Mail Delivery System)", Address("Mail Delivery System", "MAILER-DAEMON")),
        (b"=?utf-8?Q?agent?=@example.com", Address("", "agent@example.com")),
        (b"Test test@example.com", Address("Test", "test@example.com")),
        (
            b"=?UTF-8?B?bm90aWZpY2FjY2lvbi1jbGllbnRlc0BiYnZhLm14?=\n"
            b" <notificaccion-clientes@bbva.mx>",
            Address("", "notificaccion-clientes@bbva.mx"),
        ),
        (b'"Doe, John" <john@example.com>', Address("Doe, John", "john@example.com")),
    ],
)
def test_odd_from_headers(header: bytes, expected: Address) -> None:
    assert parsed(b"From: " + header + b"\nSubject: s\n\nbody\n").from_address == expected


def test_an_encoded_display_name_with_a_comma_is_one_mailbox() -> None:
    raw = b"From: =?iso-8859-1?Q?B=FCrling,=20Andreas?= <smith@example.com>\nSubject: x\n\nHi\n"

    result = parse_message(raw)

    assert isinstance(result, ParsedMessage)
    assert result.from_address == Address(name="Bürling, Andreas", email="smith@example.com")
    assert "several-from" not in result.defects


def test_of_several_from_headers_the_first_answerable_address_is_the_sender() -> None:
    raw = b"From: [??????]\nFrom: Real Sender <real@example.com>\nSubject: x\n\nHi\n"

    result = parse_message(raw)

    assert isinstance(result, ParsedMessage)
    assert result.from_address == Address(name="Real Sender", email="real@example.com")
    assert "several-from" in result.defects
