"""The classifier reads a message without report parts by its top-level headers alone.

``classify`` parses the whole message again only when a report part (DSN, MDN, feedback report,
returned message) may be in it, or when the bounce detectors will read its body. These tests
hold the shortcut to the whole parse: same verdict, same top-level headers, and no report part
in a message the shortcut takes for one without.
"""

from __future__ import annotations

import importlib
from email.policy import compat32
from unittest import mock

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpdesk_ingest.hygiene.classify import classify
from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.parsing.feed import parse_in_pieces
from tests.hygiene.mails import dsn, mail, out_of_office
from tests.parsing import messages
from tests.parsing.mutations import mutated

# The module, not the function the package exports under the same name.
classify_module = importlib.import_module("helpdesk_ingest.hygiene.classify")

OWN_MAIL = HygieneSettings(own_addresses=["support@example.com"]).own_mail()
REPORT_TYPES = {
    "message/delivery-status",
    "message/global-delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
    "message/rfc822",
    "message/rfc822-headers",
    "text/rfc822-headers",
}


def _multipart(content_type: str, *parts: str) -> bytes:
    body = "".join(f"--B\r\n{part}\r\n" for part in parts)
    return mail(
        sender="mailer-daemon@mx.example.net",
        subject="Report",
        headers=f'MIME-Version: 1.0\r\nContent-Type: {content_type}; boundary="B"\r\n',
        body=f"{body}--B--",
    )


FORWARDED = (
    "Content-Type: Message/RFC822\r\n\r\nFrom: bob@example.net\r\nMessage-ID: <o@example.net>\r\n"
    "Subject: original\r\n\r\nThe original text."
)
SEEDS = [
    mail(),
    mail(headers="Return-Path: <>\r\n"),
    mail(subject="Undelivered Mail Returned to Sender", body="bob@example.net: user unknown"),
    mail(sender="MAILER-DAEMON@mx.example.net", body="<bob@example.net>: unknown user"),
    mail(sender="postmaster@example.org", subject="Delivery failed"),
    mail(headers="Content-Type: multipart/report; report-type=delivery-status\r\n"),
    mail(sender="Support <support@example.com>"),
    out_of_office("<ooo@example.org>", "<q1@example.org>"),
    dsn(),
    _multipart("multipart/mixed", "Content-Type: text/plain\r\n\r\nSee below.", FORWARDED),
    _multipart("MULTIPART/DIGEST", "From: bob@example.net\r\nSubject: one\r\n\r\nOne."),
    _multipart(
        "multipart/report; report-type=disposition-notification",
        "Content-Type: text/plain\r\n\r\nRead.",
        "Content-Type: message/disposition-notification\r\n\r\nDisposition: displayed",
    ),
    messages.ALTERNATIVE,
    messages.ATTACHMENTS,
]
DAMAGED = st.one_of(st.sampled_from(SEEDS), mutated(SEEDS))
TIGHT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parsed(raw: bytes) -> ParsedMessage:
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    return parsed


@TIGHT
@given(DAMAGED)
def test_the_verdict_is_the_one_of_the_whole_parse(raw: bytes) -> None:
    parsed = parse_message(raw)
    # A message that cannot be parsed goes to quarantine unclassified.
    assume(isinstance(parsed, ParsedMessage))
    assert isinstance(parsed, ParsedMessage)
    with mock.patch.object(classify_module, "_may_hold_report", return_value=True):
        expected = classify(raw, parsed, OWN_MAIL)

    assert classify(raw, parsed, OWN_MAIL) == expected


@TIGHT
@given(DAMAGED)
def test_the_top_level_headers_are_those_of_the_whole_parse(raw: bytes) -> None:
    whole = parse_in_pieces(raw, compat32)
    top = classify_module._top_headers(raw)

    assert top.items() == whole.items()
    assert top.get_unixfrom() == whole.get_unixfrom()
    assert list(top.walk()) == [top]


@TIGHT
@given(DAMAGED)
def test_a_message_taken_for_one_without_reports_has_no_report_part(raw: bytes) -> None:
    types = {part.get_content_type() for part in parse_in_pieces(raw, compat32).walk()}

    assert classify_module._may_hold_report(raw) or not types & REPORT_TYPES


def test_a_customer_mail_is_not_parsed_again() -> None:
    raw = messages.ALTERNATIVE
    with mock.patch.object(classify_module, "parse_in_pieces", wraps=parse_in_pieces) as whole:
        verdict = classify(raw, _parsed(raw), OWN_MAIL)

    assert verdict.kind == "customer"
    whole.assert_not_called()


def test_a_plain_bounce_is_parsed_whole_for_the_bounce_detectors() -> None:
    raw = mail(sender="MAILER-DAEMON@mx.example.net", body="<bob@example.net>: unknown user")
    with mock.patch.object(classify_module, "parse_in_pieces", wraps=parse_in_pieces) as whole:
        verdict = classify(raw, _parsed(raw), OWN_MAIL)

    assert verdict.kind == "bounce"
    whole.assert_called_once()


def test_a_report_is_parsed_whole() -> None:
    raw = dsn()
    with mock.patch.object(classify_module, "parse_in_pieces", wraps=parse_in_pieces) as whole:
        verdict = classify(raw, _parsed(raw), OWN_MAIL)

    assert verdict.kind == "bounce"
    whole.assert_called_once()
