"""The header hint of reply splitting skips the library's search only where it finds nothing.

``split_reply`` skips mail-parser-reply's search for quoted-history headers when
``HEADER_HINT`` finds no line that one of the library's patterns needs. These tests hold the hint
to the library: on text built from attribution lines, Outlook header blocks, separators, quotes
and signatures in every language split, the library's own search finds nothing wherever the hint
finds nothing, and the split is the same as without the hint.
"""

from __future__ import annotations

import hashlib
import re
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mailparser_reply import EmailMessage

from helpdesk_ingest.parsing import reply
from helpdesk_ingest.parsing.reply import HEADER_HINT, LANGUAGES, split_reply

# The header pattern of mail-parser-reply 1.36 for LANGUAGES, which HEADER_HINT was read from.
# When this changes (a new library version, another language), read the new pattern and check
# that each of its alternatives still needs what HEADER_HINT looks for, then update the digest.
REVIEWED_PATTERN_SHA256 = "a3c153453ffa887cf341b5d9762019b665c99e958fde052aae54385d2d795cdb"

# Lines that start, or nearly start, a quoted-history header in the languages split, and lines
# that look like them without being one.
LINES = (
    "On Tue, 3 Sep 2024 at 10:15, Support <support@example.org> wrote:",
    "On Tue, 3 Sep 2024 at 10:15, Support",
    "<support@example.org> wrote:",
    "On on Monday Bob wrote:",
    "on the printer again since yesterday",
    "> On Monday, Bob wrote:",
    "Am 03.09.2024 um 10:15 schrieb Support <support@example.org>:",
    "Am Montag schrieb Bob",
    "am",
    "Le mar. 3 sept. 2024 à 10:15, Support <support@example.org> a écrit :",
    "Le lundi Bob a écrit:",
    "le service client",
    "El lun, 3 sept 2024, Bob escribió:",
    "Il giorno lun 3 set 2024 Bob ha scritto:",
    "Op ma 3 sep 2024 schreef Bob:",
    "-----Original Message-----",
    "----- Original Message -----",
    "-----",
    "From: Support <support@example.org>",
    "*From:* Support",
    "> > From: Support",
    "Sent: Tuesday, September 3, 2024 10:15 AM",
    "To: Alice",
    "Subject: Printer",
    "Date: today",
    "Cc: Bob",
    "Organization: Example",
    "Von: Support",
    "Gesendet: Dienstag",
    "An: Alice",
    "Betreff: Drucker",
    "De : Support",
    "Envoyé : mardi",
    "À : Alice",
    "Objet : Imprimante",
    "  : blank",
    "De: Soporte",
    "Para: Alice",
    "Asunto: Impresora",
    "Da: Supporto",
    "A: Alice",
    "Oggetto: Stampante",
    "Van: Support",
    "Aan: Alice",
    "Onderwerp: Printer",
    "Note: the printer is on",
    "see https://example.org/help",
    "Steps:",
    "> the question asked before",
    ">",
    "",
    "-- ",
    "--",
    "- Alice",
    "________________________________",
    "Best regards,",
    "Thanks,",
    "Grüße",
    "Mit freundlichen Grüßen",
    "Cordialement",
    "Sent from my iPhone",
    "Gesendet von meinem iPad",
    "the printer is broken since yesterday",
)
# Characters the header patterns turn on, for lines no list foresees.
FRAGMENTS = st.text(alphabet="OnAmLeEl wrote:schrieb->*_\t.,", max_size=40)
TEXTS = st.lists(st.one_of(st.sampled_from(LINES), FRAGMENTS), min_size=1, max_size=14).map(
    "\n".join
)


def _normalized(text: str) -> str:
    # The library searches its own copy of the text, with each line stripped.
    normalized: str = EmailMessage(text=text, languages=list(LANGUAGES)).text
    return normalized


def _library_headers(text: str) -> list[object]:
    message = EmailMessage(text=text, languages=list(LANGUAGES))
    found: list[object] = message.HEADER_REGEX.findall(message.text)
    return found


def test_the_hint_was_read_from_the_library_pattern_in_use() -> None:
    pattern = EmailMessage(text="", languages=list(LANGUAGES)).HEADER_REGEX.pattern

    assert hashlib.sha256(pattern.encode()).hexdigest() == REVIEWED_PATTERN_SHA256


def test_the_library_uses_the_header_pattern_it_is_given() -> None:
    # split_reply hands its never-matching pattern over through this field.
    message = EmailMessage(text="From: a\nTo: b\n", languages=list(LANGUAGES))
    nothing = re.compile(r"(?!)")
    message._header_regex = nothing

    assert message.HEADER_REGEX is nothing
    assert len(message.read().replies) == 1


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_the_library_finds_no_header_where_the_hint_finds_nothing(text: str) -> None:
    assert HEADER_HINT.search(_normalized(text)) or not _library_headers(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_the_split_is_the_same_with_and_without_the_hint(text: str) -> None:
    with mock.patch.object(reply, "HEADER_HINT", re.compile("")):
        # An empty pattern is found in every text: the library always searches.
        expected = split_reply(text)

    assert split_reply(text) == expected


def test_each_header_line_is_seen_by_the_hint() -> None:
    # The cases above that must not be skipped, one by one.
    for line in LINES:
        text = f"Thanks.\n\n{line}\n{line}\n> old text\n"
        if _library_headers(text):
            assert HEADER_HINT.search(_normalized(text)), line


def test_prose_without_header_lines_skips_the_search() -> None:
    prose = "on the printer again since yesterday\nam I the only one\nle service client\n"

    assert HEADER_HINT.search(_normalized(prose)) is None
    assert split_reply(prose).reply == prose.strip()
