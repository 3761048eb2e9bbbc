"""The hints of reply splitting skip the library's searches only where those find nothing.

``split_reply`` skips mail-parser-reply's search for quoted-history headers when
``HEADER_HINT`` finds no line that one of the library's patterns needs, starts its search for a
signature at the first line ``SIGNATURE_HINT`` finds (and skips it without one), skips its
search for disclaimers when the text lacks the words every disclaimer needs, and its search for
rules of hyphens while normalizing a text without one. These tests hold the hints to the
library: on text built from attribution lines, Outlook header blocks, separators, quotes,
signatures and disclaimers in every language split, the library's own searches find nothing
wherever the hints find nothing, and the split is the same as without the hints.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mailparser_reply import EmailMessage

from helpdesk_ingest.parsing import reply, reply_patterns
from helpdesk_ingest.parsing.reply import (
    DISCLAIMER_OPENINGS,
    DISCLAIMER_WORD,
    HEADER_HINT,
    LANGUAGES,
    SIGNATURE_HINT,
    Searches,
    first_signature_line,
    searches_needed,
    split_reply,
)
from helpdesk_ingest.parsing.reply_patterns import (
    ODD_CASES,
    Found,
    header_search,
    signature_search,
)

from .reply_reference import split_by_the_library_alone

# The header, signature and disclaimer patterns of mail-parser-reply 1.36 for LANGUAGES, which
# the hints were read from. When one changes (a new library version, another language), read the
# new pattern and check that each of its alternatives still needs what the hint looks for, then
# update the digest.
REVIEWED_HEADER_SHA256 = "a3c153453ffa887cf341b5d9762019b665c99e958fde052aae54385d2d795cdb"
REVIEWED_SIGNATURE_SHA256 = "87092c812bd517fed10635a7925b43b08fc611557c896b4aab374760eb04657e"
REVIEWED_DISCLAIMERS_SHA256 = "3a4027a995428e46005b9baf2b9c0ad59385b3eda0d54d5a564124b4c7be8ea1"

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
    "  -_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_",
    "see below________________________________",
    " \t ",
    "Best regards,",
    "Thanks,",
    "Grüße",
    "Mit freundlichen Grüßen",
    "Cordialement",
    "Sent from my iPhone",
    "> --",
    "> > - Bob",
    "> Best regards,",
    ">Sent from my iPhone",
    "Gesendet von meinem iPad",
    "the printer is broken since yesterday",
    "Disclaimer: this e-mail is confidential",
    "CAUTION: This email originated from outside the organization.",
    "Wichtiger Hinweis: Diese E-Mail kann vertrauliche Informationen enthalten.",
    "Confidential Notice:",
    "the intended recipient of this MAIL only",
    "Disclaimer: this e-ma\u0130l is confidential",
    "Warning: this MA\u0131L",
    "Important Information: this e-mail",
    "Descargo de responsabilidad: este correo electrónico (e-mail)",
    "Waarschuwing: deze e-mail",
    "*Disclaimer* e-mail",
    "Achtung: E-Mail",
    "Caution, the mail server is down",
    "CAUTIoN: e-maiL",
    "\u017fensitive Note: e-mail",
)
# Characters the header, signature and disclaimer patterns turn on, for lines no list foresees.
FRAGMENTS = st.text(
    alphabet="OnAmLeEl wrote:schrieb->*_\t.,GrüßDisclaimer mailMAIL\u0130\u0131\u017f", max_size=40
)
TEXTS = st.lists(st.one_of(st.sampled_from(LINES), FRAGMENTS), min_size=1, max_size=14).map(
    "\n".join
)


def _found(text: str) -> Found | None:
    return reply._WORDS.found_in(text)


def _normalized(text: str) -> str:
    # The library searches its own copy of the text, with each line stripped.
    normalized: str = EmailMessage(text=text, languages=list(LANGUAGES)).text
    return normalized


def _library_headers(text: str) -> list[object]:
    message = EmailMessage(text=text, languages=list(LANGUAGES))
    found: list[object] = message.HEADER_REGEX.findall(message.text)
    return found


def _digest(pattern: re.Pattern[str]) -> str:
    return hashlib.sha256(pattern.pattern.encode()).hexdigest()


def test_the_hints_were_read_from_the_library_patterns_in_use() -> None:
    library = EmailMessage(text="", languages=list(LANGUAGES))

    assert _digest(library.HEADER_REGEX) == REVIEWED_HEADER_SHA256
    assert _digest(library.SIGNATURE_REGEX) == REVIEWED_SIGNATURE_SHA256
    assert _digest(library.DISCLAIMERS_REGEX) == REVIEWED_DISCLAIMERS_SHA256


def test_the_alternatives_join_into_the_library_patterns() -> None:
    library = EmailMessage(text="", languages=list(LANGUAGES))

    assert header_search(library).pattern == library.HEADER_REGEX.pattern
    assert signature_search(library).pattern == library.SIGNATURE_REGEX.pattern


def _flat(found: list[Any]) -> list[str]:
    # What the library does with the header search's result, as it does it.
    return [header for header in itertools.chain.from_iterable(found) if header]


def _headers_both_ways(text: str) -> tuple[list[str], list[str]]:
    message = EmailMessage(text=text, languages=list(LANGUAGES))
    whole = message.HEADER_REGEX.findall(message.text)
    cut = header_search(message).for_text(_found(message.text)).findall(message.text)
    return _flat(whole), _flat(cut)


def _span(match: re.Match[str] | None) -> tuple[int, int, str] | None:
    return None if match is None else (*match.span(), match.group())


def _signatures_three_ways(text: str) -> tuple[object, object, object]:
    """The library's signature search, the cut-down one, and that from the first line."""
    # The library searches each reply's part of the text; any part is found alike.
    message = EmailMessage(text=text, languages=list(LANGUAGES))
    found = _found(message.text)
    whole = message.SIGNATURE_REGEX.search(message.text)
    cut = signature_search(message).for_text(found).search(message.text)
    from_line = reply._SIGNATURES_FROM_FIRST_LINE.for_text(found).search(message.text)
    return _span(whole), _span(cut), _span(from_line)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_the_cut_down_searches_find_what_the_whole_ones_find(text: str) -> None:
    assert _headers_both_ways(text)[1] == _headers_both_ways(text)[0]
    whole, cut, from_line = _signatures_three_ways(text)
    assert cut == whole
    assert from_line == whole


def test_each_header_and_signature_line_is_found_by_the_cut_down_searches() -> None:
    for line in LINES:
        text = f"Thanks.\n\n{line}\n{line}\n> old text\n"
        whole, cut = _headers_both_ways(text)
        assert cut == whole, line
        whole_signature, *others = _signatures_three_ways(text)
        assert others == [whole_signature, whole_signature], line


@pytest.mark.parametrize(
    "text",
    [
        "-- \nAlice",  # the first line: the search starts at the text's first character
        # A closing phrase is no signature on the text's first line; the search goes on.
        "Best regards,\nAlice\n-- \nBob",
        "Thanks.\n\n \t\n-- \nAlice",  # the match takes in the blank lines above
        "\n\n\n" + "_" * 40 + "\nAlice",  # a rule after blank lines
        "- first\n- second\n\nBest regards,\nAlice",  # a list: the first hint line matches
        "Note\n>\n> -- \n> Bob",  # a quoted signature
        "ok\nBeste Grüße\nAlice",
    ],
)
def test_the_signature_search_from_the_first_line_finds_what_the_whole_one_finds(
    text: str,
) -> None:
    whole, cut, from_line = _signatures_three_ways(text)

    assert whole is not None
    assert from_line == cut == whole


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_normalizing_without_the_rule_search_gives_the_library_text(text: str) -> None:
    ours = reply._Message(text=text, languages=list(LANGUAGES))

    assert ours.text == EmailMessage(text=text, languages=list(LANGUAGES)).text


def test_a_rule_after_text_is_normalized_by_the_library() -> None:
    text = "See below.\n\n" + "-_" * 20 + "\nFrom: Bob"
    ours = reply._Message(text=text, languages=list(LANGUAGES)).text

    assert ours == EmailMessage(text=text, languages=list(LANGUAGES)).text
    assert ours != "\n".join(line.strip() for line in text.split("\n"))


def test_the_library_uses_the_patterns_it_is_given() -> None:
    # split_reply hands its never-matching pattern over through these fields.
    message = EmailMessage(text="From: a\nTo: b\n\n-- \nAlice\n", languages=list(LANGUAGES))
    nothing = re.compile(r"\A(?!)")
    message._header_regex = nothing
    message._signature_regex = nothing
    message._disclaimers_regex = nothing

    assert message.HEADER_REGEX is nothing
    assert message.SIGNATURE_REGEX is nothing
    assert message.DISCLAIMERS_REGEX is nothing
    assert [reply.signatures for reply in message.read().replies] == [""]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_the_library_finds_no_header_where_the_hint_finds_nothing(text: str) -> None:
    assert HEADER_HINT.search(_normalized(text)) or not _library_headers(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_the_library_finds_no_signature_where_the_hint_finds_nothing(text: str) -> None:
    # Only asked of a text without headers: the library then searches all of it.
    message = EmailMessage(text=text, languages=list(LANGUAGES))

    assert SIGNATURE_HINT.search(message.text) or not message.SIGNATURE_REGEX.search(message.text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_the_library_finds_no_disclaimer_where_the_hint_finds_nothing(text: str) -> None:
    message = EmailMessage(text=text, languages=list(LANGUAGES))

    needed = searches_needed(message.text, _found(message.text))

    assert needed.disclaimers or not message.DISCLAIMERS_REGEX.findall(message.text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_the_signature_hint_finds_the_same_when_searched_line_by_line(text: str) -> None:
    first = SIGNATURE_HINT.search(text)

    assert first_signature_line(text) == (None if first is None else first.start())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_the_split_is_the_same_with_and_without_the_hints(text: str) -> None:
    assert split_reply(text) == split_by_the_library_alone(text)


def test_each_line_is_split_as_by_the_library_alone() -> None:
    for line in LINES:
        text = f"Thanks.\n\n{line}\n{line}\n> old text\n"
        assert split_reply(text) == split_by_the_library_alone(text), line


def test_each_header_line_is_seen_by_the_hint() -> None:
    # The cases above that must not be skipped, one by one.
    for line in LINES:
        text = f"Thanks.\n\n{line}\n{line}\n> old text\n"
        if _library_headers(text):
            assert HEADER_HINT.search(_normalized(text)), line


def test_each_signature_line_is_seen_by_the_hint() -> None:
    for line in LINES:
        text = f"Thanks.\n\n{line}\nAlice\n"
        message = EmailMessage(text=text, languages=list(LANGUAGES))
        if message.SIGNATURE_REGEX.search(message.text):
            assert SIGNATURE_HINT.search(message.text), line


def test_each_disclaimer_line_is_seen_by_the_hint() -> None:
    for line in LINES:
        text = f"Thanks.\n\n{line}\n"
        message = EmailMessage(text=text, languages=list(LANGUAGES))
        if message.DISCLAIMERS_REGEX.findall(message.text):
            assert searches_needed(message.text, _found(message.text)).disclaimers, line


def test_lower_casing_misses_no_spelling_of_the_hint_words_but_the_odd_ones() -> None:
    # The pattern matches case-insensitively, character by character; lower-casing the text
    # finds every spelling of the words but those of the characters the hint checks apart.
    alternatives = [
        *reply_patterns.header_alternatives(reply._LIBRARY),
        *reply_patterns.signature_alternatives(reply._LIBRARY),
    ]
    header_words = [word for _, words in alternatives for word in words]
    letters = sorted(set(DISCLAIMER_WORD).union(*DISCLAIMER_OPENINGS, *header_words) - set(" :"))
    any_letter = re.compile(f"[{re.escape(''.join(letters))}]", re.IGNORECASE)
    odd = [
        chr(code)
        for code in range(0x110000)
        if any_letter.fullmatch(chr(code)) and chr(code).lower() not in letters
    ]

    assert odd == list(ODD_CASES)


def test_prose_without_header_or_signature_lines_skips_the_searches() -> None:
    prose = "on the printer again since yesterday\nam I the only one\nle service client\n"

    assert HEADER_HINT.search(_normalized(prose)) is None
    assert SIGNATURE_HINT.search(_normalized(prose)) is None
    normalized = _normalized(prose)
    assert searches_needed(normalized, _found(normalized)) == Searches(False, False)
    assert first_signature_line(normalized) is None
    assert split_reply(prose).reply == prose.strip()
