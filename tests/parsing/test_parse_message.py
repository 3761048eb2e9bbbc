"""parse_message on well-formed mail: headers, bodies, HTML safety and attachments."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from helpdesk_ingest.message import Address, ParsedMessage
from helpdesk_ingest.parsing import parse_message

from . import messages


def parsed(raw: bytes) -> ParsedMessage:
    result = parse_message(raw)
    assert isinstance(result, ParsedMessage), result
    return result


def test_plain_message_headers_and_body() -> None:
    message = parsed(messages.plain())

    assert message.message_id == "<plain-1@example.com>"
    assert not message.message_id_synthetic
    assert message.subject == "Printer on fire"
    assert message.from_address == Address("Alice Example", "alice@example.com")
    assert message.to == (
        Address("Support", "support@example.org"),
        Address("", "bob@example.org"),
    )
    assert message.cc == (Address("", "carol@example.net"),)
    assert message.date == datetime(2024, 9, 3, 8, 15, tzinfo=UTC)
    assert message.body_text == "Hello,\nthe printer is on fire."
    assert message.body_html is None
    assert message.attachments == ()
    assert message.defects == ()
    assert message.header("content-type") == "text/plain; charset=utf-8"


def test_alternative_prefers_plain_text_and_keeps_html() -> None:
    message = parsed(messages.ALTERNATIVE)

    assert message.body_text == "Plain words."
    assert message.body_html is not None
    assert "<b>words</b>" in message.body_html
    assert message.attachments == ()


def test_html_only_mail_gets_readable_text_with_links() -> None:
    message = parsed(messages.HTML_ONLY)

    assert "Order" in message.body_text
    assert "<h1>" not in message.body_text
    assert "https://shop.example.com/o/42" in message.body_text
    assert message.body_html is not None
    assert 'href="https://shop.example.com/o/42"' in message.body_html


def test_html_is_sanitized() -> None:
    html = parsed(messages.XSS).body_html
    assert html is not None

    lowered = html.lower()
    for dangerous in ("<script", "alert(", "onclick", "onerror", "javascript:", "<iframe"):
        assert dangerous not in lowered
    assert "tracker.example.com" not in html
    assert 'href="https://example.com/ok"' in html


def test_a_documents_title_is_no_part_of_its_body() -> None:
    # Mail clients show an HTML message's <title> nowhere in its body; stripped of its tag, its
    # text stood at the top of the ticket, as if the customer had written it.
    raw = messages.HTML_ONLY.replace(
        b"<html><body>", b"<html><head><title>Shop newsletter #12</title></head><body>"
    )
    assert b"<title>" in raw

    message = parsed(raw)

    assert message.body_html is not None
    assert "Shop newsletter" not in message.body_html
    assert "Shop newsletter" not in message.body_text
    assert "Order" in message.body_text


def test_rfc2047_subject_and_display_name() -> None:
    message = parsed(messages.ENCODED_SUBJECT)

    assert message.subject == "Überweisung für März"
    assert message.from_address == Address("Jürgen Müller", "juergen@example.de")


def test_control_characters_are_no_part_of_a_subject_or_a_name() -> None:
    raw = (
        b"From: =?utf-8?q?Ann=08e_=C2=9BSmith?= <ann@example.org>\r\n"
        b"Subject: Printer\x1b[31m broken\x07 =?utf-8?q?again=1B]0;x=07?=\r\n\r\nbody\r\n"
    )

    message = parse_message(raw)

    assert isinstance(message, ParsedMessage)
    assert message.subject == "Printer[31m broken again]0;x"
    assert message.from_address == Address("Anne Smith", "ann@example.org")
    assert ("Subject", "Printer[31m broken again]0;x") in message.headers


def test_message_ids_keep_brackets_and_tolerate_junk() -> None:
    message = parsed(messages.ENCODED_SUBJECT)

    assert message.in_reply_to == ("<orig-1@example.org>",)
    assert message.references == ("<a@example.org>", "<b@example.org>", "<orig-1@example.org>")


def test_bad_date_is_none_and_a_defect() -> None:
    message = parsed(messages.ENCODED_SUBJECT)

    assert message.date is None
    assert "bad-date" in message.defects


def test_missing_message_id_gets_a_stable_synthetic_one() -> None:
    first = parsed(messages.NO_MESSAGE_ID)
    again = parsed(messages.NO_MESSAGE_ID)
    other = parsed(messages.NO_MESSAGE_ID.replace(b"Body.", b"Other body."))

    digest = hashlib.sha256(messages.NO_MESSAGE_ID).hexdigest()[:32]
    assert first.message_id == f"<{digest}@helpdesk-ingest.invalid>"
    assert first.message_id_synthetic
    assert again.message_id == first.message_id
    assert other.message_id != first.message_id
    assert "missing-message-id" in first.defects


def test_attachments_inline_image_and_embedded_message() -> None:
    message = parsed(messages.ATTACHMENTS)

    assert message.body_text == "See the picture."
    assert message.body_html is not None
    assert 'src="cid:shot@example.com"' in message.body_html
    image, log, blob, embedded = message.attachments

    assert image.inline
    assert image.content_id == "shot@example.com"
    assert image.content_type == "image/png"
    assert image.content == messages.PNG_BYTES
    assert image.sha256 == hashlib.sha256(messages.PNG_BYTES).hexdigest()
    assert image.filename.endswith(".png")

    assert log.filename == "app.log"
    assert log.content.strip() == b"line 1"
    assert not log.inline

    assert blob.content == b"\x00\x01\x02"
    assert blob.filename.endswith(".bin")

    assert embedded.content_type == "message/rfc822"
    assert embedded.filename.endswith(".eml")
    assert b"Subject: the forwarded one" in embedded.content
    assert len({attachment.filename for attachment in message.attachments}) == 4


def test_image_referenced_by_cid_is_inline_even_when_marked_attachment() -> None:
    raw = messages.ATTACHMENTS.replace(
        b"Content-ID: <shot@example.com>",
        b"Content-ID: <shot@example.com>\nContent-Disposition: attachment",
    )

    image = parsed(raw).attachments[0]

    assert image.content_id == "shot@example.com"
    assert image.inline


def test_parsing_is_deterministic() -> None:
    assert parse_message(messages.ATTACHMENTS) == parse_message(messages.ATTACHMENTS)
