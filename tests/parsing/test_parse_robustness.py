"""Input that is not quite mail, or not mail at all: never an exception, always a value."""

from __future__ import annotations

import email.message
import encodings
import encodings.aliases
import json
import logging
import pkgutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_ingest.hygiene.classify import classify
from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.message import Address, ParsedMessage, ParseFailure
from helpdesk_ingest.parse_limits import PARAMETER_VALUE_LIMIT
from helpdesk_ingest.parsing import ParseLimits, parse_message
from helpdesk_ingest.parsing import policy as policy_module
from helpdesk_ingest.parsing.headers import DECODE_RUN_CHARS, decode_words
from helpdesk_ingest.parsing.policy import STRUCTURED_VALUE_LIMIT
from helpdesk_ingest.parsing.report import parse_report

from . import messages


def parsed(raw: bytes) -> ParsedMessage:
    result = parse_message(raw)
    assert isinstance(result, ParsedMessage), result
    return result


def test_empty_bytes_are_unparseable() -> None:
    assert parse_message(b"") == ParseFailure("unparseable", "the message is empty")
    result = parse_message(b"\r\n \r\n")
    assert isinstance(result, ParseFailure)
    assert result.reason == "unparseable"


def test_garbage_bytes_are_unparseable() -> None:
    result = parse_message(bytes(range(256)) * 4)

    assert isinstance(result, ParseFailure)
    assert result.reason == "unparseable"


def test_header_section_over_the_limit_keeps_the_headers_within_it() -> None:
    raw = messages.plain(extra_headers="X-Filler: " + "a" * 2000 + "\r\n")

    result = parsed_with(raw, ParseLimits(max_header_bytes=1000))

    assert "header-too-large" in result.defects
    assert result.subject == "Printer on fire"
    assert result.body_text.startswith("The header section of this message is 2.")
    assert "over the 1000 bytes limit" in result.body_text
    assert "printer is on fire" not in result.body_text


def test_too_many_parts_are_cut_and_recorded() -> None:
    parts = "".join(f"--b\nContent-Type: text/plain\n\npart {n}\n" for n in range(20))
    raw = f"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n{parts}--b--\n"

    message = parsed(raw.encode())

    assert "too-many-parts:5" in parsed_with(raw.encode(), ParseLimits(max_parts=5)).defects
    assert "part 19" in message.body_text


def parsed_with(raw: bytes, limits: ParseLimits) -> ParsedMessage:
    result = parse_message(raw, limits)
    assert isinstance(result, ParsedMessage), result
    return result


def test_deep_nesting_is_cut_and_recorded() -> None:
    depth = 30
    opening = "".join(
        f"Content-Type: multipart/mixed; boundary=b{n}\n\n--b{n}\n" for n in range(depth)
    )
    closing = "".join(f"--b{n}--\n" for n in reversed(range(depth)))
    raw = f"From: a@example.com\n{opening}Content-Type: text/plain\n\ndeep\n{closing}"

    message = parsed_with(raw.encode(), ParseLimits(max_depth=10))

    assert "too-deep:10" in message.defects
    assert "deep" not in message.body_text


def test_missing_from_is_a_defect() -> None:
    message = parsed(b"To: support@example.org\nSubject: who?\n\nbody\n")

    assert message.from_address is None
    assert "missing-from" in message.defects


def test_several_from_addresses_keep_the_first() -> None:
    message = parsed(b"From: a@example.com, b@example.com\nSubject: two\n\nbody\n")

    assert message.from_address == Address("", "a@example.com")
    assert "several-from" in message.defects


def test_group_syntax_recipients() -> None:
    message = parsed(
        b"From: a@example.com\nTo: unlisted-recipients:;\n"
        b"Cc: team: x@example.com, y@example.com;\n\nbody\n"
    )

    assert message.to == ()
    assert [address.email for address in message.cc] == ["x@example.com", "y@example.com"]


def test_mbox_from_line_is_dropped() -> None:
    raw = b"From alice@example.com Tue Sep  3 10:15:00 2024\n" + messages.NO_MESSAGE_ID

    message = parsed(raw)

    assert message.from_address == Address("", "alice@example.com")
    assert message.subject == "No id"
    assert message.body_text == "Body."


def test_cr_only_line_endings() -> None:
    raw = messages.NO_MESSAGE_ID.replace(b"\n", b"\r")

    message = parsed(raw)

    assert message.subject == "No id"
    assert message.body_text == "Body."


def test_raw_8bit_headers_are_decoded() -> None:
    raw = "From: Jürgen <j@example.de>\nSubject: Grüße aus Köln\n\nHallo\n".encode()

    message = parsed(raw)

    assert message.subject == "Grüße aus Köln"
    assert message.from_address == Address("Jürgen", "j@example.de")


def test_raw_latin1_header_is_decoded_by_detection() -> None:
    raw = "From: j@example.de\nSubject: Grüße aus Köln\n\nHallo\n".encode("latin-1")

    assert parsed(raw).subject == "Grüße aus Köln"


def test_broken_encoded_word_keeps_the_text() -> None:
    message = parsed(b"From: a@example.com\nSubject: =?no-such-charset?q?caf=E9?= ok\n\nbody\n")

    assert "ok" in message.subject


@pytest.fixture
def library_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """The records of flufl.bounce, which say whether one of its detectors failed; the daemon
    keeps them out of its own log (``hygiene/bounce.py``)."""
    monkeypatch.setattr(logging.getLogger("flufl.bounce"), "propagate", True)
    return caplog


# Labels that name a codec Python has but no mail is written in: transforms (which raise
# LookupError on decoding) and Python's own codecs (which raise other errors, or read backslash
# escapes as characters).
NO_MAIL_CHARSETS = ["idna", "punycode", "undefined", "rot13", "base64", "unicode_escape"]


def _in_every_part(label: bytes, parameter: bytes = b"charset=") -> bytes:
    """A bounce whose every part, and an attached message's text, carry the label and 8-bit
    bytes: read by the parser's walk, its attachments and the classifier's bounce reading."""
    charset = b"; " + parameter + label + b"\r\n"
    return (
        b"From: MAILER-DAEMON@example.org\r\nSubject: =?" + label + b"?Q?T=E8st?=\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain" + charset + b"\r\nTr\xe8s bien \\u202e\r\n"
        b"--b\r\nContent-Type: message/delivery-status" + charset + b"\r\n"
        b"Reporting-MTA: dns; example.org\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--b\r\nContent-Type: text/rfc822-headers" + charset + b"\r\n"
        b"Message-ID: <sent@example.com>\r\nSubject: \xe8\r\n"
        b"--b\r\nContent-Type: text/csv" + charset + b"Content-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=a.csv\r\n\r\n6Cwx\xe8\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@example.org\r\n"
        b"Content-Type: text/plain" + charset + b"\r\nTr\xe8s\r\n--b--\r\n"
    )


@pytest.mark.parametrize("label", NO_MAIL_CHARSETS)
def test_a_charset_no_mail_is_written_in_is_no_label(
    label: str, library_log: pytest.LogCaptureFixture
) -> None:
    raw = _in_every_part(label.encode())

    message = parsed(raw)

    # Read as text without a label is; a backslash escape stays as written.
    assert message.body_text.startswith("Très bien \\u202e")
    assert f"unknown-charset:{label}" in message.defects
    csv = next(attachment for attachment in message.attachments if attachment.filename == "a.csv")
    assert csv.content == b"\xe8,1"
    verdict = classify(raw, message, HygieneSettings().own_mail())
    assert verdict.kind == "bounce"
    # The bounce detectors (flufl.bounce) read every part too: none of them failed on it.
    assert [record for record in library_log.records if record.name.startswith("flufl")] == []


@pytest.mark.parametrize("charset", [b"charset=idna", b"charset=undefined", b"charset*=utf-8''x"])
def test_the_bounce_detectors_read_a_part_whatever_charset_it_names(
    charset: bytes, library_log: pytest.LogCaptureFixture
) -> None:
    # Not a DSN: flufl.bounce's detectors read the text, line by line, through the email
    # package, which raised on these; the library logged the error and gave up on the message.
    raw = (
        b"From: MAILER-DAEMON@example.org\r\nTo: support@example.com\r\n"
        b"Subject: failure notice\r\nContent-Type: text/plain; " + charset + b"\r\n\r\n"
        b"Hi. This is the qmail-send program at example.org.\r\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        b"This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        b"<gone@example.com>:\r\nSorry, no mailbox here by that name. (#5.1.1) \xe8\r\n"
    )

    verdict = classify(raw, parsed(raw), HygieneSettings().own_mail())

    assert verdict.failed_recipients == ("gone@example.com",)
    assert [record for record in library_log.records if record.name.startswith("flufl")] == []


def test_a_charset_in_rfc_2231_syntax_fails_no_reader(
    library_log: pytest.LogCaptureFixture,
) -> None:
    # The email package hands the value on as a tuple, where a codec name is expected.
    raw = _in_every_part(b"utf-8''%E9", parameter=b"charset*=")

    message = parsed(raw)

    assert message.body_text.startswith("Très bien")
    verdict = classify(raw, message, HygieneSettings().own_mail())
    assert verdict.kind == "bounce"
    assert [record for record in library_log.records if record.name.startswith("flufl")] == []


@pytest.mark.parametrize("label", [b"\x00utf-8", b"utf-8\x00", b'"\x00"'])
def test_a_charset_with_a_nul_in_its_name_fails_no_reader(
    label: bytes, library_log: pytest.LogCaptureFixture
) -> None:
    # Python's codec lookup raises ValueError, not LookupError, for such a name: the email
    # package's reading of the part raised it, and the message went to quarantine.
    raw = _in_every_part(label)

    message = parsed(raw)

    assert message.body_text.startswith("Très bien")
    verdict = classify(raw, message, HygieneSettings().own_mail())
    assert verdict.kind == "bounce"
    assert [record for record in library_log.records if record.name.startswith("flufl")] == []


def _every_codec_name() -> list[str]:
    modules = {module.name for module in pkgutil.iter_modules(encodings.__path__)}
    return sorted(set(encodings.aliases.aliases) | modules | set(NO_MAIL_CHARSETS))


def _labelled_everywhere(label: bytes) -> list[bytes]:
    head = b"From: a@b\r\nSubject: s\r\n"
    return [
        head + b"Content-Type: text/plain; charset=" + label + b"\r\n\r\nTr\xe8s \\u1234\r\n",
        head + b"Content-Type: text/html; charset=" + label + b"\r\n\r\n<p>Tr\xe8s</p>\r\n",
        b"From: =?" + label + b"?Q?J=E8?= <a@b>\r\n"
        b"Subject: =?" + label + b"?B?VHLocw==?=\r\n\r\nhi\r\n",
        head + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=" + label + b"''caf%E9.pdf\r\n\r\n"
        b"x\r\n--b--\r\n",
        b"From: J\xe8 <a@b>\r\nSubject: s\r\n"
        b"Content-Type: text/plain; charset=" + label + b"\r\n\r\nx\r\n",
    ]


def test_no_codec_name_as_a_label_fails_a_message() -> None:
    # Each of Python's codec names and aliases, as a part's charset, an encoded word's, an
    # RFC 2231 file name's, and beside raw 8-bit header bytes: a ticket, never a quarantine.
    own_mail = HygieneSettings().own_mail()
    failed = []
    for name in _every_codec_name():
        for raw in _labelled_everywhere(name.encode()):
            result = parse_message(raw)
            if isinstance(result, ParseFailure):
                failed.append(f"{name}: {result.detail}")
            else:
                classify(raw, result, own_mail)
    assert failed == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    result = parse_message(raw)

    assert isinstance(result, ParsedMessage | ParseFailure)
    json.dumps(parse_report(result))


HEADER_LINES = st.sampled_from(
    [
        b"From: a@example.com\n",
        b"From: =?utf-8?q?broken\n",
        b"To: x:;\n",
        b"Subject: =?gb2312?b?suLK1A==?=\n",
        b"Message-ID: <<>>\n",
        b"Date: Thu, 31 Feb 2024 25:61:00 +9999\n",
        b"Content-Type: multipart/mixed; boundary=b\n",
        b"Content-Type: text/plain; charset=x-unknown\n",
        b"Content-Transfer-Encoding: base64\n",
        b"Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt\n",
        b"\n",
        b"--b\n",
        b"--b--\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(HEADER_LINES | st.binary(max_size=40), max_size=30))
def test_mail_shaped_junk_never_raises(lines: list[bytes]) -> None:
    result = parse_message(b"".join(lines))

    assert isinstance(result, ParsedMessage | ParseFailure)
    json.dumps(parse_report(result))


def test_nesting_beyond_the_email_package_keeps_the_headers() -> None:
    depth = 3000
    opening = "".join(
        f"Content-Type: multipart/mixed; boundary=b{n}\n\n--b{n}\n" for n in range(depth)
    )
    raw = f"From: a@example.com\nSubject: nested\n{opening}Content-Type: text/plain\n\nx\n"

    message = parsed(raw.encode())

    assert message.subject == "nested"
    assert message.from_address == Address("", "a@example.com")
    assert "too-deep:parser" in message.defects


def test_an_unforeseen_error_becomes_a_parser_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise LookupError("no such thing")

    monkeypatch.setattr("helpdesk_ingest.parsing.collect", broken)

    result = parse_message(messages.plain())

    assert result == ParseFailure("parser-error", "LookupError: no such thing")


@pytest.mark.parametrize("filler", [";", '"', "=?utf-8?q?a?= "])
def test_a_long_parameter_header_is_read_as_plain_text(
    filler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Within the structured limit, but at each ";" or '"' of a Content-Disposition the
    # registry's parser goes over every parameter before it: 16 KB of them took 0.7 s.
    value = 'attachment; filename="report.pdf"; x="' + filler * (12_000 // len(filler)) + '"'
    assert PARAMETER_VALUE_LIMIT < len(value) < STRUCTURED_VALUE_LIMIT
    raw = (
        b"From: a@example.org\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: " + value.encode() + b"\r\n\r\nx\r\n--b--\r\n"
    )
    handed: list[tuple[str, int]] = []
    registry_parse = policy_module._parsed

    def spy(header: str, header_value: str) -> object:
        handed.append((header.lower(), len(header_value)))
        return registry_parse(header, header_value)

    monkeypatch.setattr(policy_module, "_parsed", spy)

    (attachment,) = parsed(raw).attachments

    assert attachment.filename == "report.pdf"
    assert ("content-type", len("application/pdf")) in handed
    assert all(length <= PARAMETER_VALUE_LIMIT for _, length in handed)


@pytest.mark.parametrize("filler", [b"a;", b"\xe9;", b"=?;"])
def test_parameters_are_read_from_the_start_of_a_long_value(
    filler: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stdlib's parameter splitter, under every parameter getter, counts the quotes before
    # each ";" from the start of the value again: 80 KB of these took 3.6 s for each reading.
    long_quoted = b'; x="' + filler * 40_000 + b'"'
    raw = (
        b"From: a@example.org\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8"
        + long_quoted
        + b"\r\n\r\n"
        + "Grüße\r\n".encode()
        + b"--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="report.pdf"' + long_quoted + b"\r\n\r\n"
        b"x\r\n--b--\r\n"
    )
    split = email.message._parseparam  # type: ignore[attr-defined]
    handed: list[int] = []

    def spy(value: str) -> list[str]:
        handed.append(len(str(value)))
        return split(value)  # type: ignore[no-any-return]

    monkeypatch.setattr(email.message, "_parseparam", spy)

    message = parsed(raw)

    assert message.body_text == "Grüße"
    assert [attachment.filename for attachment in message.attachments] == ["report.pdf"]
    assert handed
    # The cut closes the quoted value it ends in.
    assert max(handed) <= PARAMETER_VALUE_LIMIT + 1


def test_a_long_value_of_encoded_words_decodes_as_whole() -> None:
    # Decoded in runs (the stdlib's decoder takes time in the square of the words), with the
    # same result: adjacent encoded words join without the space between them.
    value = "=?utf-8?q?a=C3=A9?= " * 5_000
    assert len(value) > 10 * DECODE_RUN_CHARS

    assert decode_words(value) == "aé" * 5_000


def test_a_long_structured_value_is_read_as_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # The header registry's parser takes time in the square of such a value's length: 40,000
    # encoded words in a quoted file name took minutes. Read as compat32 reads it, the name is
    # still found and decoded.
    name = "=?utf-8?q?a?= " * 40_000
    raw = (
        b"From: a@example.org\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="' + name.encode() + b'"\r\n\r\n'
        b"x\r\n--b--\r\n"
    )
    assert len(name) > STRUCTURED_VALUE_LIMIT
    handed: list[int] = []
    registry_parse = policy_module._parsed

    def spy(header: str, value: str) -> object:
        handed.append(len(value))
        return registry_parse(header, value)

    monkeypatch.setattr(policy_module, "_parsed", spy)

    (attachment,) = parsed(raw).attachments

    assert set(attachment.filename) == {"a"}
    assert handed
    assert max(handed) <= STRUCTURED_VALUE_LIMIT
