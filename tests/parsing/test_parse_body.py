"""Which parts make the body, and how they read as text and HTML."""

from __future__ import annotations

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message


def parsed(raw: bytes) -> ParsedMessage:
    result = parse_message(raw)
    assert isinstance(result, ParsedMessage), result
    return result


def multipart(subtype: str, *parts: bytes) -> bytes:
    head = f"From: a@example.com\nContent-Type: multipart/{subtype}; boundary=b\n\n".encode()
    return head + b"".join(b"--b\n" + part + b"\n" for part in parts) + b"--b--\n"


def test_html_part_and_plain_signature_both_make_the_text() -> None:
    message = parsed(
        multipart(
            "mixed",
            b"Content-Type: text/html\n\n<h1>The html message</h1>",
            b"Content-Type: text/plain\n\nThe text signature",
        )
    )

    assert "The html message" in message.body_text
    assert message.body_text.endswith("The text signature")
    assert message.body_html is not None
    assert "The html message" in message.body_html
    assert "<pre>The text signature</pre>" in message.body_html
    assert message.attachments == ()


def test_blank_plain_alternative_falls_back_to_the_html() -> None:
    message = parsed(
        multipart(
            "alternative",
            b"Content-Type: text/plain\n\n\n\n",
            b"Content-Type: text/html\n\n<p>some html text</p>",
        )
    )

    assert message.body_text == "some html text"


def test_text_parts_after_the_root_of_related_are_attachments() -> None:
    message = parsed(
        multipart(
            "related",
            b"Content-Type: text/html\n\n<p>root</p>",
            b"Content-Type: text/html\n\n<p>resource</p>",
        )
    )

    assert message.body_text == "root"
    assert [attachment.content_type for attachment in message.attachments] == ["text/html"]


def test_multipart_without_boundary_is_read_as_text() -> None:
    message = parsed(b"From: a@example.com\nContent-Type: multipart/mixed\n\njust a body\n")

    assert message.body_text == "just a body"
    assert message.attachments == ()


def test_delivery_status_is_one_text_attachment() -> None:
    message = parsed(
        multipart(
            "report; report-type=delivery-status",
            b"Content-Type: text/plain\n\nYour message could not be delivered.",
            b"Content-Type: message/delivery-status\n\n"
            b"Reporting-MTA: dns; mx.example.com\n\n"
            b"Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n",
            b"Content-Type: text/rfc822-headers\n\nFrom: a@example.com\nSubject: hi\n",
        )
    )

    assert message.body_text == "Your message could not be delivered."
    status, headers = message.attachments
    assert status.content_type == "message/delivery-status"
    assert b"Reporting-MTA: dns; mx.example.com" in status.content
    assert b"Status: 5.1.1" in status.content
    assert headers.content_type == "text/rfc822-headers"


def test_iso_2022_jp_with_windows_extensions() -> None:
    raw = (
        b"From: a@example.com\nContent-Type: text/plain; charset=ISO-2022-JP\n\n"
        b'\x1b$B-!#1ET#38)$N03$H!"\x1b(B\n'
    )

    message = parsed(raw)

    assert message.body_text == "①１都３県の鯵と、"
    assert not any(defect.startswith("charset") for defect in message.defects)


def test_iso_2022_jp_with_a_broken_jis_character_is_decoded_another_way() -> None:
    # Found by the corpus fuzz test: in JIS mode, a byte pair whose second byte is 8-bit or a
    # control character is no JIS character; the Windows decoder used to crash on it.
    raw = (
        b"From: a@example.com\nContent-Type: text/plain; charset=ISO-2022-JP\n\n"
        b"\x1b$B%\rF%9%H\x82\x1b(B.\n"
    )

    message = parsed(raw)

    assert message.body_text.endswith(".")
    assert any(defect.startswith("charset") for defect in message.defects)


def test_raw_8bit_filename_in_a_part_header() -> None:
    message = parsed(
        multipart(
            "mixed",
            b"Content-Type: text/plain; charset=gb2312\n\nbody",
            b'Content-Type: application/vnd.ms-excel\nContent-Disposition: attachment; filename="'
            + "绩效管理.xls".encode("gb2312")
            + b'"\n\ndata',
        )
    )

    assert [attachment.filename for attachment in message.attachments] == ["绩效管理.xls"]


def test_filename_keeps_its_inner_white_space() -> None:
    message = parsed(
        multipart(
            "mixed",
            b"Content-Type: text/plain\n\nbody",
            b'Content-Type: application/pdf; name="Tax Invoice  INX4183.PDF"\n'
            b"Content-Disposition: attachment\n\n%PDF",
        )
    )

    assert message.attachments[0].filename == "Tax Invoice  INX4183.PDF"
