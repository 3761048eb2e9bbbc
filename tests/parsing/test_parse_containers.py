"""Files inside other things: TNEF, uuencode, calendars; signed and encrypted mail kept whole."""

from __future__ import annotations

import sys

import pytest

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing import parse_message

from . import containers
from .messages import PNG_BYTES


def parsed(raw: bytes) -> ParsedMessage:
    result = parse_message(raw)
    assert isinstance(result, ParsedMessage), result
    return result


def test_winmail_dat_is_replaced_by_the_files_it_holds() -> None:
    winmail = containers.tnef_container({"report.pdf": b"%PDF-1.4 report", "shot.png": PNG_BYTES})

    message = parsed(containers.with_winmail(winmail))

    assert [(a.filename, a.content_type, a.content) for a in message.attachments] == [
        ("report.pdf", "application/pdf", b"%PDF-1.4 report"),
        ("shot.png", "image/png", PNG_BYTES),
    ]
    assert "tnef-expanded" in message.defects
    assert message.body_text == "Please see the report."


def test_tnef_file_names_are_made_safe() -> None:
    winmail = containers.tnef_container({"..\\..\\evil.exe": b"MZ"})

    message = parsed(containers.with_winmail(winmail))

    assert [a.filename for a in message.attachments] == ["evil.exe"]


def test_winmail_dat_without_files_is_kept_as_it_came() -> None:
    message = parsed(containers.with_winmail(containers.tnef_container({})))

    assert [a.filename for a in message.attachments] == ["winmail.dat"]
    assert "tnef-expanded" not in message.defects


def test_unreadable_winmail_dat_is_kept_and_marked() -> None:
    message = parsed(containers.with_winmail(b"not a TNEF container at all"))

    assert [a.filename for a in message.attachments] == ["winmail.dat"]
    assert message.attachments[0].content == b"not a TNEF container at all"
    assert "tnef-unreadable" in message.defects


@pytest.mark.parametrize("multi_valued", [False, True], ids=["properties", "values"])
def test_a_winmail_dat_counting_far_past_its_data_is_kept_and_marked_at_once(
    multi_valued: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    # tnefparse loops as often as the count says: four billion properties in a 9 KB container
    # ran for hours and logged a warning at each turn, to the worker's stderr; four billion
    # values made an object each until memory ran out. 300,000 here, a few seconds unbounded.
    winmail = containers.tnef_counting_past_its_data(300_000, multi_valued=multi_valued)

    def outer(frame: object, event: str, arg: object) -> None:
        pass

    sys.setprofile(outer)
    try:
        message = parsed(containers.with_winmail(winmail))
        # The bound is lifted after the container: the profile hook in force before is back.
        assert sys.getprofile() is outer
    finally:
        sys.setprofile(None)

    assert [a.filename for a in message.attachments] == ["winmail.dat"]
    assert message.attachments[0].content == winmail
    assert "tnef-unreadable" in message.defects
    assert capfd.readouterr().err == ""


def test_uuencoded_file_in_a_text_body_becomes_an_attachment() -> None:
    message = parsed(containers.uuencoded_in_body())

    assert [(a.filename, a.content_type, a.content) for a in message.attachments] == [
        ("shot.png", "image/png", PNG_BYTES)
    ]
    assert "begin 644" not in message.body_text
    assert "Here is the screenshot." in message.body_text
    assert "Regards" in message.body_text


def test_a_calendar_alternative_is_kept_as_an_ics_file() -> None:
    message = parsed(containers.CALENDAR_ALTERNATIVE)

    assert message.body_text == "You are invited to the review."
    [invitation] = message.attachments
    assert invitation.content_type == "text/calendar"
    assert invitation.filename.endswith(".ics")
    assert b"BEGIN:VEVENT" in invitation.content


@pytest.mark.parametrize(
    ("raw", "mark", "body", "files"),
    [
        (containers.SMIME_SIGNED, "smime-signed", "The signed words.", ["smime.p7s"]),
        (containers.PGP_SIGNED, "pgp-signed", "Signed with PGP.", ["signature.asc"]),
    ],
)
def test_signed_mail_keeps_its_text_and_signature(
    raw: bytes, mark: str, body: str, files: list[str]
) -> None:
    message = parsed(raw)

    assert mark in message.defects
    assert message.body_text == body
    assert [a.filename for a in message.attachments] == files


@pytest.mark.parametrize(
    ("raw", "mark", "kind", "encrypted_file"),
    [
        (containers.SMIME_ENCRYPTED, "smime-encrypted", "S/MIME", "smime.p7m"),
        (containers.PGP_ENCRYPTED, "pgp-encrypted", "PGP", "encrypted.asc"),
        (containers.PGP_INLINE, "pgp-encrypted", "PGP", "encrypted.asc"),
    ],
)
def test_encrypted_mail_explains_itself_and_keeps_the_ciphertext(
    raw: bytes, mark: str, kind: str, encrypted_file: str
) -> None:
    message = parsed(raw)

    assert mark in message.defects
    assert message.body_text.startswith(f"This message is {kind}-encrypted")
    assert encrypted_file in [a.filename for a in message.attachments]
    assert "BEGIN PGP MESSAGE" not in message.body_text


def test_inline_pgp_ciphertext_is_moved_whole_into_the_attachment() -> None:
    message = parsed(containers.PGP_INLINE)

    [armored] = message.attachments
    assert armored.content.startswith(b"-----BEGIN PGP MESSAGE-----")
    assert armored.content.rstrip().endswith(b"-----END PGP MESSAGE-----")
