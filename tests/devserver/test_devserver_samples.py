"""The bundled sample mails: what the demo shows, each sample doing its one job."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from helpdesk_ingest.devserver import sample_messages
from helpdesk_ingest.message import ParsedMessage, ParseFailure
from helpdesk_ingest.parsing import parse_message


def headers(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_samples_are_crlf_mails_in_a_stable_order() -> None:
    samples = sample_messages()

    assert len(samples) == 6
    assert samples == sample_messages()
    for raw in samples:
        assert b"\n" not in raw.replace(b"\r\n", b"")


def test_the_reply_threads_to_the_question() -> None:
    question, _html, reply, *_ = (headers(raw) for raw in sample_messages())

    assert reply["In-Reply-To"] == question["Message-ID"]


def test_one_sample_names_the_first_ticket_in_its_subject() -> None:
    subjects = [str(headers(raw)["Subject"]) for raw in sample_messages()[:-1]]

    assert sum("[#1001]" in subject for subject in subjects) == 1


def test_samples_cover_html_with_attachment_and_a_legacy_charset() -> None:
    parsed = [parse_message(raw) for raw in sample_messages()[:-1]]
    messages = [message for message in parsed if isinstance(message, ParsedMessage)]
    assert len(messages) == len(parsed)

    assert any(message.body_html and message.attachments for message in messages)
    latin = [raw for raw in sample_messages() if b"charset=iso-8859-1" in raw]
    assert len(latin) == 1
    with pytest.raises(UnicodeDecodeError):
        latin[0].decode("utf-8")
    decoded = parse_message(latin[0])
    assert isinstance(decoded, ParsedMessage)
    assert decoded.from_address is not None
    assert decoded.from_address.name == "Jürgen Müller"
    assert "Grüße" in decoded.body_text


def test_the_last_sample_is_for_quarantine() -> None:
    result = parse_message(sample_messages()[-1])

    assert isinstance(result, ParseFailure)
