"""Classification of one message by its headers and MIME structure, with messages written here."""

from __future__ import annotations

import logging

import pytest
from flufl.bounce._detectors.qmail import Qmail

from helpdesk_ingest.hygiene import bounce
from helpdesk_ingest.hygiene.classify import classify
from helpdesk_ingest.hygiene.own_mail import OwnMail
from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.hygiene.verdict import Classification
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message
from tests.hygiene.mails import dsn, mail, out_of_office

OWN_MAIL = HygieneSettings(own_addresses=["Support@Example.com"]).own_mail()


def classified(raw: bytes, own_mail: OwnMail = OWN_MAIL) -> Classification:
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    return classify(raw, parsed, own_mail)


def test_a_customer_mail_is_a_customer_mail() -> None:
    assert classified(mail()) == Classification("customer")


@pytest.mark.parametrize(
    ("header", "flag"),
    [
        ("Auto-Submitted: auto-replied", "auto-submitted"),
        ("auto-submitted: Auto-Generated", "auto-submitted"),
        ("X-Autoreply: yes", "x-autoreply"),
        ("X-AUTORESPOND: vacation", "x-autorespond"),
        ("Precedence: bulk", "precedence"),
        ("Precedence: JUNK", "precedence"),
        ("Precedence: list", "precedence"),
        ("Precedence: auto_reply", "precedence"),
        ("X-Auto-Response-Suppress: All", "x-auto-response-suppress"),
        ("X-MS-Exchange-Inbox-Rules-Loop: alice@example.org", "exchange-rules-loop"),
        ("List-Id: <users.lists.example.org>", "list"),
        ("List-Unsubscribe: <mailto:leave@lists.example.org>", "list"),
        ("Return-Path: <>", "null-return-path"),
    ],
)
def test_each_documented_header_marks_an_auto_reply(header: str, flag: str) -> None:
    verdict = classified(mail(headers=f"{header}\r\n"))
    assert verdict.kind == "auto-reply"
    assert flag in verdict.flags


@pytest.mark.parametrize(
    "header",
    ["Auto-Submitted: no", "Auto-Submitted: NO", "Precedence: first-class", "X-Autoreply: no"],
)
def test_values_that_say_no_are_a_customer_mail(header: str) -> None:
    assert classified(mail(headers=f"{header}\r\n")).kind == "customer"


def test_read_receipt_is_automatic() -> None:
    raw = (
        b"From: alice@example.org\r\nTo: support@example.com\r\nSubject: Read: Printer\r\n"
        b"Message-ID: <mdn@example.org>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="B"\r\n'
        b"\r\n--B\r\nContent-Type: text/plain\r\n\r\nRead.\r\n"
        b"--B\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Final-Recipient: rfc822; alice@example.org\r\n"
        b"Disposition: manual-action/MDN-sent-manually; displayed\r\n"
        b"\r\n--B--\r\n"
    )
    verdict = classified(raw)
    assert (verdict.kind, verdict.flags) == ("auto-reply", ("mdn",))


def test_a_dsn_is_a_bounce_with_its_recipient_status_and_original() -> None:
    verdict = classified(dsn(failed="Bob@Example.net", status="5.1.1"))
    assert verdict.kind == "bounce"
    assert "dsn" in verdict.flags
    assert verdict.failed_recipients == ("bob@example.net",)
    assert verdict.dsn_status == "5.1.1"
    assert verdict.original_message_id == "<agent-reply@helpdesk.example.com>"


def test_a_content_type_the_stdlib_cannot_decode_still_gives_its_parameters() -> None:
    # One name with an unnumbered and a numbered RFC 2231 continuation: the stdlib's decoding
    # of them raises TypeError at every parameter read (the classifier failed on it).
    raw = dsn().replace(
        b"report-type=delivery-status;", b"report-type=delivery-status; x*=a; x*0*=b;"
    )
    assert b"x*0*=b" in raw

    verdict = classified(raw)

    assert verdict.kind == "bounce"
    assert "dsn" in verdict.flags
    assert verdict.failed_recipients == ("bob@example.net",)


def test_a_plain_text_bounce_from_a_mailer_daemon_is_a_bounce() -> None:
    raw = mail(
        sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        subject="Delivery Status Notification (Failure)",
        body="Delivery to the following recipient failed permanently:\r\n\r\n     bob@example.net",
    )
    verdict = classified(raw)
    assert verdict.kind == "bounce"
    assert "mailer-daemon" in verdict.flags


def test_a_failing_bounce_detector_writes_nothing_and_leaves_the_other_evidence(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    def trips(*_: object) -> None:
        raise ValueError("a detector tripping over odd mail")

    monkeypatch.setattr(Qmail, "process", trips)
    caplog.set_level(logging.DEBUG)
    raw = mail(
        sender="MAILER-DAEMON@example.org",
        subject="failure notice",
        body="Hi. This is the qmail-send program at example.org.\r\n\r\n<gone@example.com>:",
    )

    verdict = classified(raw)

    assert verdict.kind == "bounce"
    assert "mailer-daemon" in verdict.flags
    assert verdict.failed_recipients == ()
    # Neither the library's record of the exception, which it raises on, nor its traceback on
    # the process's stderr (a worker's, in the middle of the daemon's log).
    assert [record for record in caplog.records if record.name.startswith("flufl")] == []
    assert capfd.readouterr().err == ""


def test_a_report_of_too_many_parts_is_judged_without_the_bounce_detectors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each lone CR in a delivery report ends a block of fields, and each block is a part: 12,000
    # of them, 23 KB, made the library's seventeen detectors read 24,000 parts (2 s). 3,000 make
    # 3,006 parts, within what the email package may make of a message (MAX_TREE_PARTS).
    read: list[object] = []

    def detectors(message: object) -> tuple[frozenset[bytes], frozenset[bytes]]:
        read.append(message)
        return frozenset(), frozenset()

    monkeypatch.setattr(bounce, "all_failures", detectors)
    report = dsn(failed="bob@example.net")
    flood = report.replace(
        b"Reporting-MTA: dns; mx.example.net", b"Reporting-MTA: x" + b"\r" * 3_000
    )

    verdict = classified(flood)

    assert read == []
    assert verdict.kind == "bounce"
    assert verdict.failed_recipients == ("bob@example.net",)
    # A report of a few parts is still read by them.
    assert classified(report).failed_recipients == ("bob@example.net",)
    assert len(read) == 1


def test_a_customer_quoting_an_error_is_no_bounce() -> None:
    body = "When I send mail I get: 550 5.1.1 <bob@example.net>: Recipient address rejected"
    assert classified(mail(subject="Our mail server", body=body)).kind == "customer"


def test_a_person_called_postmaster_without_bounce_evidence_is_a_customer() -> None:
    assert (
        classified(mail(sender="postmaster@example.org", subject="Invoice 42")).kind == "customer"
    )


def test_mail_from_our_own_address_is_a_loop_whatever_its_case() -> None:
    verdict = classified(mail(sender="SUPPORT@example.COM"))
    assert verdict.kind == "loop"
    assert verdict.flags == ("own-address",)


def test_our_own_loop_header_is_a_loop() -> None:
    verdict = classified(mail(headers="x-helpdesk-loop: 1\r\nAuto-Submitted: auto-replied\r\n"))
    assert verdict.kind == "loop"
    assert verdict.flags[0] == "own-loop-header"


def test_a_bounce_beats_an_auto_reply() -> None:
    raw = dsn().replace(b"MIME-Version", b"Auto-Submitted: auto-replied\r\nMIME-Version")
    verdict = classified(raw)
    assert verdict.kind == "bounce"
    assert "auto-submitted" in verdict.flags


def test_out_of_office_is_an_auto_reply() -> None:
    assert classified(out_of_office("<ooo@example.org>", None)).kind == "auto-reply"


@pytest.mark.parametrize("auto_submitted", ["", "Auto-Submitted: auto-replied\r\n"])
def test_nesting_beyond_the_email_package_is_judged_by_the_top_headers(
    auto_submitted: str,
) -> None:
    # 3,000 messages each attached to the next: the email package's recursion gives out. The
    # parser keeps the headers of such a message; the classifier reads those, as it does for
    # a message without a report part, instead of failing it into quarantine.
    inner = b"From: x@example.org\r\nSubject: inner\r\n\r\ninner"
    for _ in range(3000):
        inner = b"From: x@example.org\r\nContent-Type: message/rfc822\r\n\r\n" + inner
    raw = (
        f"From: a@example.org\r\nSubject: nested\r\n{auto_submitted}".encode()
        + b"Content-Type: message/rfc822\r\n\r\n"
        + inner
    )

    verdict = classified(raw)

    assert verdict.kind == ("auto-reply" if auto_submitted else "customer")
